#!/usr/bin/env bash
# The native compiler's throughput benchmark, with tree-sitter-python (PyPI wheels)
# in a cached venv beside CPython's tokenize and ast.parse. Figures go to
# docs/benchmarks.md by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${XDG_CACHE_HOME:-$HOME/.cache}/weir/venv-bench-native"
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import tree_sitter, tree_sitter_python' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'tree-sitter>=0.25,<0.27' 'tree-sitter-python==0.25.*'
fi
WEIR_BENCH_PYTHON="$venv/bin/python" cargo bench -p weir-native --bench throughput
