#!/usr/bin/env bash
# Starts Node-RED (from the npm registry, cached under ~/.cache/weir/node-red)
# with the /ping and /echo flows of flows.json on 127.0.0.1:PORT, waits until
# it answers, and prints its pid. The baseline of scripts/bench-http.sh.
#   scripts/node-red/start.sh PORT
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
port=${1:?usage: start.sh PORT}
cache=${WEIR_CACHE:-$HOME/.cache/weir}/node-red
version=4.1.8
if [[ ! -x $cache/node_modules/.bin/node-red ]] || [[ $(cat "$cache/version" 2>/dev/null) != "$version" ]]; then
  mkdir -p "$cache"
  (cd "$cache" && npm install --silent --no-audit --no-fund "node-red@$version" >/dev/null)
  echo "$version" >"$cache/version"
fi
user_dir=$(mktemp -d)
cp "$here/flows.json" "$user_dir/flows.json"
PORT=$port NODE_RED_FLOWS="$user_dir/flows.json" NODE_RED_USER_DIR="$user_dir" \
  "$cache/node_modules/.bin/node-red" --settings "$here/settings.js" >"$user_dir/log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do
  curl -fsS "http://127.0.0.1:$port/ping" >/dev/null 2>&1 && { echo "$pid"; exit 0; }
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
echo "node-red did not answer on $port; its log:" >&2
cat "$user_dir/log" >&2
exit 1
