#!/usr/bin/env bash
# Builds the web panes (ui/src, ui/pages, ui/samples) into ui/dist, which is
# committed: the engine serves it with no npm at run time (docs/ui.md).
#   scripts/ui-build.sh          rebuild ui/dist
#   scripts/ui-build.sh --check  fail if ui/dist differs from a fresh build
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/ui-deps.sh"
cd "$here/../ui"
node build.mjs "$@"
