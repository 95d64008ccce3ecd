#!/usr/bin/env bash
# libFuzzer over the native compiler's C ABI (native/fuzz/fuzz_compile.cpp), with
# AddressSanitizer and UndefinedBehaviorSanitizer, seeded from the standard library.
# Usage: scripts/fuzz-native.sh [SECONDS=300]. Installs clang from Debian if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
if ! command -v clang++ >/dev/null || ! ls /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-rt-14-dev >/dev/null
fi
cache="${WEIR_FUZZ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/weir-native-fuzz}"
mkdir -p "$cache/corpus" "$cache/artifacts"
bin="$cache/fuzz_compile"
clang++ -std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -Inative/cpp native/fuzz/fuzz_compile.cpp native/cpp/*.cpp -o "$bin"
if [[ -z "$(ls -A "$cache/corpus")" ]]; then
  # Seed: the 300 smallest stdlib files.
  python3 native/oracle/oracle.py stdlib | xargs ls -S | tail -300 | while read -r f; do
    cp "$f" "$cache/corpus/$(sha256sum "$f" | cut -c1-16).py"
  done
fi
work=$(mktemp -d /dev/shm/weir-fuzz.XXXXXX 2>/dev/null || mktemp -d)
trap 'rm -rf "$work"' EXIT
WEIR_FUZZ_DIR="$work" ASAN_OPTIONS=detect_leaks=1 "$bin" -max_total_time="$seconds" \
  -max_len=65536 -timeout=20 -rss_limit_mb=2048 -artifact_prefix="$cache/artifacts/" \
  -print_final_stats=1 "$cache/corpus" 2>&1 | tail -25
