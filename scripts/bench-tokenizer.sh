#!/usr/bin/env bash
# The native tokenizer alone beside CPython 3.11's tokenize.tokenize, over every .py
# file of this machine's standard library, in one run: CPU time of what
# tokenize.tokenize does (decode, every token ENCODING to ENDMARKER, in memory).
# native/tools/tokenize_bench.cpp is linked against the library cargo builds (its C++
# is built at -O2 in every profile); native/tools/tokenize_cpython.py is the CPython
# half. Both count the tokens, which must agree. Rounds alternate the two sides; each
# side's best is kept. Figures go to docs/benchmarks.md by hand.
# Usage: scripts/bench-tokenizer.sh [ROUNDS=2]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}
python3 -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' \
  || { echo "bench-tokenizer: needs python3 = CPython 3.11" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/weir-bench-tokenizer.XXXXXX")
trap 'rm -rf "$work"' EXIT
cargo build --quiet --locked -p weir-native
target="${CARGO_TARGET_DIR:-target}"
lib=$(ls -t "$target"/debug/build/weir-native-*/out/libweir_native.a | head -1)
g++ -O2 -std=c++17 native/tools/tokenize_bench.cpp "$lib" -o "$work/tokenize_bench"
python3 native/oracle/oracle.py stdlib > "$work/files.txt"
echo "bench-tokenizer: $(wc -l < "$work/files.txt") files, $rounds rounds"
weir_best=0 cpython_best=0 weir_tokens="" cpython_tokens=""
best() { python3 -c "print(max($1, $2))"; }
for _ in $(seq "$rounds"); do
  w=$("$work/tokenize_bench" "$work/files.txt" 5)
  c=$(python3 native/tools/tokenize_cpython.py "$work/files.txt" 1)
  echo "  weir:    $w"
  echo "  CPython: $c"
  weir_tokens=$(awk '{print $4}' <<< "$w") cpython_tokens=$(awk '{print $4}' <<< "$c")
  weir_best=$(best "$weir_best" "$(awk '{print $NF}' <<< "$w")")
  cpython_best=$(best "$cpython_best" "$(awk '{print $NF}' <<< "$c")")
done
if [[ "$weir_tokens" != "$cpython_tokens" ]]; then
  echo "bench-tokenizer: token counts differ (weir $weir_tokens, CPython $cpython_tokens)" >&2
  exit 1
fi
python3 -c "print(f'tokenizer alone: weir {$weir_best:.1f} MB/s, CPython tokenize {$cpython_best:.2f} MB/s of CPU time: {$weir_best / $cpython_best:.0f}x ($weir_tokens tokens each)')"
