#!/usr/bin/env bash
# The browser tests of the web panes (ui/tests/, docs/ui.md): Debian's
# Chromium driven by playwright-core, against target/debug/weir (built by
# `cargo test`) running the bundled examples in temporary folders.
# Checks first that the committed ui/dist matches its sources.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/ensure-chromium.sh"
"$here/ui-build.sh" --check
cd "$here/.."
if [ ! -x target/debug/weir ]; then
  cargo build --locked --bin weir
fi
cd ui
node --test --test-concurrency=1 tests/
