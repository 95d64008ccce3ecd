#!/usr/bin/env bash
# The container runner's benchmark (docs/benchmarks.md): run-to-answer time
# of a trivial script beside `docker run --rm` of the same image, and runs a
# second at a few concurrencies. Usage: [PROFILE=dev] scripts/bench-container.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-docker.sh
image=$(scripts/sandbox-image.sh)
cargo run --quiet --profile "${PROFILE:-release}" -p weir-nodes --example container_bench -- "$image" "${1:-50}"
