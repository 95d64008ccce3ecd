#!/usr/bin/env bash
# The whole test suite, exactly what CI runs: formatting, lints, then every
# test of the workspace in the dev profile (one build serves all tests).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-postgres.sh
scripts/llm-server.sh 8081 # the real local model for the llm kind's tests
export LLM_BASE_URL=http://127.0.0.1:8081/v1
scripts/ensure-docker.sh
# The container kind's tests run this image (nodes/tests/container.rs finds it by the same tag).
WEIR_SANDBOX_IMAGE=$(scripts/sandbox-image.sh)
export WEIR_SANDBOX_IMAGE
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
# The web panes in Debian's Chromium, against target/debug/weir (docs/ui.md).
scripts/test-ui.sh
# CPython 3.11 as the oracle over the whole standard library (docs/native.md).
scripts/oracle-native.sh
# schemathesis against a live `weir start`: every check, every phase (docs/testing.md).
scripts/schemathesis.sh
