#!/usr/bin/env bash
# Prompt Registry benchmark on PostgreSQL, one run: Weir (release build,
# `weir start -f specs/examples --database …`) beside the hand-written
# axum + sqlx service of examples/prompts_axum.rs, twice: as one would write
# it (`axum`: each statement on its own) and with Weir's transaction per
# request (`axum-tx`: BEGIN, INSERT, COMMIT), each on its own database of
# the same PostgreSQL server. Workloads, with wrk:
#   create  POST /api/prompts, a new name per request (201)
#   read    GET /api/prompts/:id, one of 1000 seeded prompts at random (200)
# After a warm-up, rounds rotate the servers on each workload so drift and
# noise hit all alike. Prints a Markdown table: req/s, p50, p99 and errors
# per round, then the mean req/s and Weir's share of each baseline.
#   scripts/bench-prompts.sh [DURATION] [CONNECTIONS] [ROUNDS]   (default 10s, 32, 3)
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10s}
connections=${2:-32}
rounds=${3:-3}
server=${WEIR_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}
weir_db=weir_bench_prompts_weir
axum_db=weir_bench_prompts_axum
tx_db=weir_bench_prompts_axum_tx
databases=("$weir_db" "$axum_db" "$tx_db")

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
scripts/ensure-postgres.sh
cargo build --release --quiet --bin weir --example prompts_axum
work=$(mktemp -d)
pids=()
sql() { psql -qAtX "$server/$1" -c "$2"; }
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for db in "${databases[@]}"; do sql postgres "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true; done
  rm -rf "$work"
}
trap cleanup EXIT
for db in "${databases[@]}"; do
  sql postgres "DROP DATABASE IF EXISTS $db WITH (FORCE)" 2>/dev/null
  sql postgres "CREATE DATABASE $db"
done

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
wait_for() { for _ in $(seq 1 200); do curl -fsS "http://127.0.0.1:$1/ping" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "nothing answers on $1" >&2; return 1; }

(cd "$work" && PORT=18200 WEIR_LOG=warn exec "$OLDPWD/target/release/weir" start -f "$OLDPWD/specs/examples" --database "$server/$weir_db" >"$work/weir.log" 2>&1) &
pids+=($!); weir_pid=$!
target/release/examples/prompts_axum 18201 "$server/$axum_db" >"$work/axum.log" 2>&1 &
pids+=($!); axum_pid=$!
target/release/examples/prompts_axum 18202 "$server/$tx_db" transaction >"$work/axum-tx.log" 2>&1 &
pids+=($!); tx_pid=$!
wait_for 18200; wait_for 18201; wait_for 18202
# All created the same table when they started; seed the same rows.
for db in "${databases[@]}"; do
  sql "$db" "INSERT INTO prompts (id, name, description, prompt_a, prompt_b, model, temperature, max_tokens)
             SELECT 'bench-' || g, 'bench-' || g, 'seeded', 'Say hi.', 'Say hello.', 'llama3', 0.7, 256
             FROM generate_series(1, 1000) g"
done

cat > "$work/create.lua" <<'LUA'
-- A new name per request: the run's tag, the thread, a counter.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end
function init(args)
  prefix = (args[1] or "run") .. "-t" .. id .. "-"
  counter = 0
end
function request()
  counter = counter + 1
  local body = '{"name":"' .. prefix .. counter .. '","description":"bench","prompt_a":"Say hi.",'
    .. '"prompt_b":"Say hello.","model":"llama3","temperature":0.7,"max_tokens":256}'
  return wrk.format("POST", "/api/prompts", {["Content-Type"] = "application/json"}, body)
end
LUA
cat > "$work/read.lua" <<'LUA'
function request()
  return wrk.format("GET", "/api/prompts/bench-" .. math.random(1000))
end
LUA

# run NAME PORT WORKLOAD TAG DURATION: one wrk run; prints a table row and
# records req/s in $work/rps.
run() {
  local name=$1 port=$2 workload=$3 tag=$4 length=$5
  local out rps p50 p99 errors
  out=$(wrk -t2 -c"$connections" -d"$length" --latency -s "$work/$workload.lua" "http://127.0.0.1:$port" -- "$tag")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx|Socket errors/ {printf "%s ", $0}' <<<"$out")
  echo "$name $workload $rps" >>"$work/rps"
  printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "$workload" "$rps" "$p50" "$p99" "${errors:-none}"
}

port_of() { case $1 in weir) echo 18200 ;; axum) echo 18201 ;; axum-tx) echo 18202 ;; esac; }
servers=(weir axum axum-tx)
for workload in create read; do
  for name in "${servers[@]}"; do run "$name" "$(port_of "$name")" "$workload" warm "3s" >/dev/null; done
done
: >"$work/rps"

echo "| server | workload | req/s | p50 | p99 | errors |"
echo "|---|---|---:|---:|---:|---|"
for round in $(seq 1 "$rounds"); do
  for workload in create read; do
    # Each round starts with the next server.
    for i in 0 1 2; do
      name=${servers[$(( (round + i) % 3 ))]}
      run "$name" "$(port_of "$name")" "$workload" "r$round" "$duration"
    done
  done
done
echo
echo "| workload | Weir req/s | axum req/s | axum-tx req/s | Weir / axum | Weir / axum-tx |"
echo "|---|---:|---:|---:|---:|---:|"
for workload in create read; do
  awk -v w="$workload" '
    $2 == w { sum[$1] += $3; n[$1]++ }
    END { weir = sum["weir"] / n["weir"]; axum = sum["axum"] / n["axum"]; tx = sum["axum-tx"] / n["axum-tx"];
          printf "| %s | %.0f | %.0f | %.0f | %.0f%% | %.0f%% |\n", w, weir, axum, tx, 100 * weir / axum, 100 * weir / tx }' "$work/rps"
done
echo
peak() { awk '/VmHWM/ {print int($2 / 1024)}' "/proc/$1/status"; }
echo "Means of $rounds rounds of wrk -t2 -c$connections -d$duration --latency, after a 3 s warm-up per server and workload; peak RSS weir $(peak "$weir_pid") MiB, axum $(peak "$axum_pid") MiB, axum-tx $(peak "$tx_pid") MiB; $(nproc) cores shared by PostgreSQL, the servers and wrk; load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)."
