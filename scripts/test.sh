#!/usr/bin/env bash
# The whole test suite, exactly what CI runs: formatting, lints, then every
# test of the workspace in the dev profile (one build serves all tests).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-postgres.sh
scripts/ensure-docker.sh
# The container kind's tests run this image (nodes/tests/container.rs finds it by the same tag).
WEIR_SANDBOX_IMAGE=$(scripts/sandbox-image.sh)
export WEIR_SANDBOX_IMAGE
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
