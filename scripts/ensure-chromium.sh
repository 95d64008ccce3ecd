#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed (/usr/bin/chromium), for the
# browser tests of the web panes (scripts/test-ui.sh). Idempotent: prints
# nothing and does nothing when it is already there.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
echo "ensure-chromium: installing Debian's chromium package" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
