#!/usr/bin/env bash
# Fuzzes spec decoding (YAML and JSON → specs) for a bounded time:
#   scripts/fuzz.sh [SECONDS]        (default 60; WEIR_FUZZ_SECONDS too)
# Installs cargo-fuzz (crates.io) if it is missing and uses the nightly
# toolchain, which libFuzzer's instrumentation needs. The committed corpus
# (fuzz/corpus/spec_decode) seeds the run; new inputs the fuzzer finds are
# kept in a scratch corpus, so the committed one stays small. Every input
# must end, within the per-input time and memory limits, with specs or
# diagnostics: a crash, a timeout or running out of memory fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-${WEIR_FUZZ_SECONDS:-60}}"
toolchain="${WEIR_FUZZ_TOOLCHAIN:-nightly}"

if ! rustup run "$toolchain" rustc --version >/dev/null 2>&1; then
    rustup toolchain install "$toolchain" --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

scratch="${WEIR_FUZZ_SCRATCH:-${CARGO_TARGET_DIR:-target}/fuzz-corpus}"
mkdir -p "$scratch"
# Safe Rust throughout the decoders: no sanitizer, for build speed; the
# fuzzer still finds panics, hangs (-timeout) and blow-ups (-rss_limit_mb).
cargo "+$toolchain" fuzz run --fuzz-dir fuzz --sanitizer none spec_decode \
    "$scratch" fuzz/corpus/spec_decode -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536
