#!/usr/bin/env bash
# CPython 3.11 as the oracle for the native compiler: runs the library over every .py
# file of this machine's standard library (site-packages excluded) and compares token
# streams, outlines and stripped ASTs with CPython's tokenize and ast. Prints counts;
# exits non-zero unless all are 100%.
# Usage: scripts/oracle-native.sh [--sanitize] [LISTFILE]
# --sanitize builds the C++ library with AddressSanitizer and UndefinedBehaviorSanitizer
# (WEIR_NATIVE_SANITIZE, read by native/build.rs); any finding aborts the run.
set -euo pipefail
cd "$(dirname "$0")/.."
run_env=()
if [[ "${1:-}" == "--sanitize" ]]; then
  shift
  export WEIR_NATIVE_SANITIZE=address,undefined
  run_env=(env "LD_PRELOAD=$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1)
fi

python3 -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' \
  || { echo "oracle-native: needs python3 = CPython 3.11" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/weir-oracle.XXXXXX")
trap 'rm -rf "$work"' EXIT
if [[ $# -ge 1 ]]; then cp "$1" "$work/files.txt"; else python3 native/oracle/oracle.py stdlib > "$work/files.txt"; fi
echo "oracle-native: $(wc -l < "$work/files.txt") files"
cargo build --quiet -p weir-native --example compile
target="${CARGO_TARGET_DIR:-target}"
start=$(date +%s.%N)
"${run_env[@]}" "$target/debug/examples/compile" "$work/out" --list "$work/files.txt" > "$work/manifests.jsonl"
lib=$(date +%s.%N)
status=0
python3 native/oracle/oracle.py compare "$work/out" "$work/files.txt" "$work/manifests.jsonl" || status=$?
end=$(date +%s.%N)
printf 'oracle-native: library %.1fs, CPython comparison %.1fs\n' "$(echo "$lib - $start" | bc)" "$(echo "$end - $lib" | bc)"
exit $status
