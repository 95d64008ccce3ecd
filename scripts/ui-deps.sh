#!/usr/bin/env bash
# Installs the web panes' npm packages (ui/package-lock.json, exact) into
# ui/node_modules, once: skipped while the installed lock matches the
# committed one. Needs Node.js 20+ and npm; prints nothing when all is well.
set -euo pipefail
cd "$(dirname "$0")/../ui"
if ! command -v npm >/dev/null; then
  echo "ui-deps: npm is missing (install Node.js 20+)" >&2
  exit 1
fi
stamp=node_modules/.weir-lock
if [ -f "$stamp" ] && cmp -s package-lock.json "$stamp"; then
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error >&2
cp package-lock.json "$stamp"
