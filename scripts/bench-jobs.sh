#!/usr/bin/env bash
# Durable jobs benchmark on PostgreSQL, one run: Weir's queue and worker
# (examples/bench_jobs.rs, release build) beside graphile-worker (from the
# npm registry, cached under ~/.cache/weir) on the same database of the
# same server, in alternating rounds. Each side: no-op jobs, 4 producers
# enqueueing one job per call while a worker of concurrency C runs them
# (jobs/s from the first enqueue to the last completion), then enqueue →
# handler start latency of L jobs sent 5 ms apart (p50/p99, one clock).
#   scripts/bench-jobs.sh [N] [C] [L] [ROUNDS]   (default 5000, 16, 300, 3)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-5000}
concurrency=${2:-16}
samples=${3:-300}
rounds=${4:-3}
server=${WEIR_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}
db=weir_bench_jobs
cache=${XDG_CACHE_HOME:-$HOME/.cache}/weir/graphile-worker
graphile_version=0.16.6

command -v node >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; }
scripts/ensure-postgres.sh
if [ ! -f "$cache/node_modules/graphile-worker/package.json" ] ||
  ! grep -q "\"version\": \"$graphile_version\"" "$cache/node_modules/graphile-worker/package.json"; then
  mkdir -p "$cache"
  (cd "$cache" && npm install --no-audit --no-fund --silent "graphile-worker@$graphile_version")
fi
cargo build --release --quiet --example bench_jobs
sql() { psql -qAtX "$server/$1" -c "$2"; }
cleanup() { sql postgres "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true; }
trap cleanup EXIT
sql postgres "DROP DATABASE IF EXISTS $db WITH (FORCE)" 2>/dev/null
sql postgres "CREATE DATABASE $db"

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
results=$(mktemp)
for round in $(seq 1 "$rounds"); do
  target/release/examples/bench_jobs "$server/$db" "$count" "$concurrency" "$samples" | sed "s/^{/{\"round\":$round,/" >>"$results"
  NODE_PATH="$cache/node_modules" node scripts/bench-jobs-graphile.cjs "$server/$db" "$count" "$concurrency" "$samples" | sed "s/^{/{\"round\":$round,/" >>"$results"
done
echo "PostgreSQL $(psql -qAtX "$server/postgres" -c 'SHOW server_version'), graphile-worker $graphile_version, node $(node --version), $(nproc) cores, load before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$count no-op jobs, concurrency $concurrency, $samples latency samples per round"
echo
echo "| round | engine | jobs/s | enqueue-only s | p50 ms | p99 ms |"
echo "|---|---|---:|---:|---:|---:|"
node -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
for (const r of lines) console.log(`| ${r.round} | ${r.engine} | ${r.jobs_per_s.toFixed(0)} | ${r.enqueue_s.toFixed(2)} | ${r.p50_ms.toFixed(2)} | ${r.p99_ms.toFixed(2)} |`);
const by = {};
for (const r of lines) (by[r.engine] ??= []).push(r);
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log("");
for (const [e, rs] of Object.entries(by))
  console.log(`${e}: mean ${mean(rs.map((r) => r.jobs_per_s)).toFixed(0)} jobs/s, p50 ${mean(rs.map((r) => r.p50_ms)).toFixed(2)} ms, p99 ${mean(rs.map((r) => r.p99_ms)).toFixed(2)} ms`);
' "$results"
rm -f "$results"
