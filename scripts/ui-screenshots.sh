#!/usr/bin/env bash
# Refreshes the screenshots of the panes in docs/ui/*.png (linked from the
# README and docs/ui.md): a real engine on the bundled examples, Debian's
# Chromium, one PNG per pane.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/ensure-chromium.sh"
"$here/ui-deps.sh"
cd "$here/.."
cargo build --bin weir
LLM_BASE_URL=${LLM_BASE_URL:-http://127.0.0.1:8081/v1} node ui/tests/screenshots.mjs
