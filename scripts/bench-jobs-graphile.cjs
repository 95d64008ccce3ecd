// The graphile-worker side of scripts/bench-jobs.sh: the same workload as
// examples/bench_jobs.rs, through graphile-worker's own API (run + addJob,
// unbatched), on the same PostgreSQL database. Prints one line of JSON.
//   NODE_PATH=<dir>/node_modules node bench-jobs-graphile.cjs URL [N] [C] [L]
const { run, makeWorkerUtils } = require("graphile-worker");
const { performance } = require("node:perf_hooks");

const [url, n = "5000", c = "16", l = "300"] = process.argv.slice(2);
const count = Number(n), concurrency = Number(c), samples = Number(l);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const started = new Map();
  let ran = 0;
  const runner = await run({
    connectionString: url,
    concurrency,
    noHandleSignals: true,
    pollInterval: 1000,
    logger: new (require("graphile-worker").Logger)(() => () => {}),
    taskList: {
      noop: async (payload) => {
        const at = performance.now();
        if (payload && payload.n !== undefined) started.set(payload.n, at);
        ran += 1;
      },
    },
  });
  const utils = await makeWorkerUtils({ connectionString: url });
  await utils.withPgClient((pg) => pg.query("delete from graphile_worker.jobs"));
  await sleep(300);

  // Throughput: 4 producers, one addJob each.
  const begin = performance.now();
  await Promise.all(
    [0, 1, 2, 3].map(async (p) => {
      for (let i = p; i < count; i += 4) await utils.addJob("noop", {});
    })
  );
  const enqueued = performance.now() - begin;
  // A finished job is deleted.
  for (;;) {
    const { rows } = await utils.withPgClient((pg) =>
      pg.query("select count(*)::int as left from graphile_worker.jobs")
    );
    if (ran >= count && rows[0].left === 0) break;
    await sleep(2);
  }
  const elapsed = performance.now() - begin;

  // Latency.
  const sent = new Map();
  for (let i = 0; i < samples; i++) {
    const at = performance.now();
    await utils.addJob("noop", { n: i });
    sent.set(i, at);
    await sleep(5);
  }
  await sleep(500);
  const latencies = [...sent]
    .filter(([i]) => started.has(i))
    .map(([i, at]) => started.get(i) - at)
    .sort((a, b) => a - b);
  const pick = (q) => latencies[Math.round((latencies.length - 1) * q)];
  await utils.release();
  await runner.stop();
  console.log(
    JSON.stringify({
      engine: "graphile-worker",
      jobs: count,
      concurrency,
      enqueue_s: enqueued / 1e3,
      total_s: elapsed / 1e3,
      jobs_per_s: count / (elapsed / 1e3),
      latency_samples: latencies.length,
      p50_ms: pick(0.5),
      p99_ms: pick(0.99),
    })
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
