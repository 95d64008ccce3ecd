#!/usr/bin/env bash
# HTTP benchmark, one run, same load generator and settings for everyone:
# Weir (release build, specs/examples: http, ping and echo .yaml), a bare hyper server (the
# ceiling) and Node-RED 4 (scripts/node-red/, installed from npm), each against
# GET /ping and POST /echo with wrk. Prints a Markdown table: req/s, p50,
# p99 and the server's peak RSS.
#   scripts/bench-http.sh [DURATION] [CONNECTIONS]   (default 10s, 32)
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10s}
connections=${2:-32}

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release --quiet --bin weir --example bare_hyper
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

wait_for() { for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$1/ping" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "nothing answers on $1" >&2; return 1; }
peak_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }

echo_body="$work/echo.lua"
cat > "$echo_body" <<'LUA'
wrk.method = "POST"
wrk.body   = '{"name":"weir","items":[1,2,3],"nested":{"ok":true}}'
wrk.headers["Content-Type"] = "application/json"
LUA

# measure NAME PORT PID: warm up, then wrk on both routes.
measure() {
  local name=$1 port=$2 pid=$3
  wrk -t2 -c"$connections" -d3s "http://127.0.0.1:$port/ping" >/dev/null
  for route in ping echo; do
    local script=() url="http://127.0.0.1:$port/$route"
    [[ $route == echo ]] && script=(-s "$echo_body")
    local out
    out=$(wrk -t2 -c"$connections" -d"$duration" --latency "${script[@]}" "$url")
    local rps p50 p99 errors
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    errors=$(awk '/Non-2xx|Socket errors/ {printf "%s ", $0}' <<<"$out")
    printf '| %s | %s | %s | %s | %s | %s MiB | %s |\n' "$name" "$route" "$rps" "$p50" "$p99" "$(( $(peak_kib "$pid") / 1024 ))" "${errors:-none}"
  done
}

echo "| server | route | req/s | p50 | p99 | peak RSS | errors |"
echo "|---|---|---:|---:|---:|---:|---|"

(cd "$work" && PORT=18100 WEIR_SYSTEM_ADDR=127.0.0.1:18103 WEIR_LOG=warn exec "$OLDPWD/target/release/weir" start -f "$OLDPWD/specs/examples" >"$work/weir.log" 2>&1) &
pids+=($!); wait_for 18100; measure weir 18100 "${pids[-1]}"

target/release/examples/bare_hyper 18101 & pids+=($!); wait_for 18101; measure "bare hyper" 18101 "${pids[-1]}"

if command -v node >/dev/null; then
  red=$(scripts/node-red/start.sh 18102) && pids+=("$red") && measure node-red 18102 "$red"
else
  echo "| node-red | - | skipped: node not found | | | | |"
fi
echo
echo "wrk -t2 -c$connections -d$duration --latency, after a 3 s warm-up; $(nproc) cores shared by server and wrk."
