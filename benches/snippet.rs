//! Snippet benchmarks: the same small map transformation as a JavaScript
//! snippet and as a CEL snippet, in calls per second, through real
//! `snippet` nodes of `weir_nodes::scheme()`. A self-timed binary
//! (`harness = false`) that prints a Markdown table. Run with
//! `cargo bench --bench snippet` (`-- --quick` for a smoke run). See
//! docs/benchmarks.md for the method and the latest results.
//!
//! Baselines, measured in the same run and on the same runtime: a `json`
//! constant snippet (the engine's own cost per call, no code run), and a
//! JavaScript snippet that returns its payload untouched (what a
//! JavaScript call costs before the transformation: the pool hand-off, a
//! fresh context, loading the module, converting the values).

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use weir_codecs::Value;
use weir_engine::env::NoValues;
use weir_engine::runtime::{Limits, Slot};
use weir_engine::spec::source::{Format, parse};
use weir_engine::symbol::{Status, SymbolTable};
use weir_engine::{Bundle, Packet, Port, Process};

/// The allocator the `weir` binary runs with (QuickJS allocates through it
/// too), so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Calls in flight at once in the concurrent measurement.
const IN_FLIGHT: usize = 64;

/// The workloads: a node name, what it is, and its spec.
const NODES: &str = r#"
- kind: snippet
  name: js
  language: javascript
  code: |
    export default (p) => ({
      total: p.price * p.qty,
      tags: p.tags.map((t) => t + "!"),
      vip: p.price * p.qty > 5,
    })
- kind: snippet
  name: cel
  language: cel
  code: '{"total": price * qty, "tags": tags.map(t, t + "!"), "vip": price * qty > 5}'
- kind: snippet
  name: js_identity
  language: javascript
  code: 'export default (p) => p'
- kind: snippet
  name: constant
  language: json
  code: '{"total": 6, "tags": ["b!", "a!"], "vip": true}'
"#;

const WORKLOADS: [(&str, &str); 4] = [
    ("cel", "CEL map transformation"),
    ("js", "JavaScript map transformation"),
    (
        "js_identity",
        "JavaScript `p => p` (baseline: fixed cost of a JS call)",
    ),
    (
        "constant",
        "JSON constant (baseline: the node alone, no code)",
    ),
];

fn payload() -> Value {
    weir_codecs::json::from_str(r#"{"price": 2, "qty": 3, "tags": ["b", "a"], "note": "small"}"#)
        .expect("the payload")
}

struct Plan {
    quick: bool,
    /// Alternating rounds over the workloads.
    rounds: usize,
    /// Sequential calls per workload per round.
    calls: usize,
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let plan = match quick {
        false => Plan {
            quick,
            rounds: 5,
            calls: 20_000,
        },
        true => Plan {
            quick,
            rounds: 2,
            calls: 2_000,
        },
    };
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let report = runtime
        .block_on(async move { tokio::spawn(run(plan)).await })
        .expect("the benchmarks ran");
    println!("# Weir snippet benchmarks\n");
    println!(
        "Mode: {}; tokio multi-thread runtime, {workers} worker threads; \
         JavaScript pool: {workers} threads.\n",
        if quick { "quick (smoke run)" } else { "full" }
    );
    print!("{report}");
}

async fn start() -> Arc<SymbolTable> {
    let specs = parse(NODES, Format::Yaml, None).unwrap_or_else(|e| panic!("{e}"));
    let bundle =
        Bundle::compile(&weir_nodes::scheme(), specs, &NoValues).unwrap_or_else(|e| panic!("{e}"));
    let mut tables = bundle.start(Limits::default()).await;
    let table = tables.remove("default").expect("the default namespace");
    let inactive: Vec<_> = table
        .statuses()
        .await
        .into_iter()
        .filter(|(_, _, s)| *s != Status::Active)
        .collect();
    assert!(inactive.is_empty(), "inactive nodes: {inactive:?}");
    table
}

/// One call in a new process, as a listener makes one per request.
async fn call(slot: &Slot, payload: &Value) -> Value {
    let answer = slot
        .send(Process::new(), Port::input(), Packet::new(payload.clone()))
        .await;
    assert!(!answer.is_error(), "{answer:?}");
    answer.into_payload()
}

#[derive(Default)]
struct Tally {
    calls: usize,
    busy: Duration,
    latencies: Vec<u64>,
    concurrent_calls: usize,
    concurrent_busy: Duration,
}

impl Tally {
    async fn sequential(&mut self, slot: &Slot, payload: &Value, n: usize) {
        let started = Instant::now();
        for _ in 0..n {
            let one = Instant::now();
            std::hint::black_box(call(slot, payload).await);
            self.latencies.push(one.elapsed().as_nanos() as u64);
        }
        self.busy += started.elapsed();
        self.calls += n;
    }

    async fn concurrent(&mut self, slot: &Slot, payload: &Value, n: usize) {
        let per_task = n / IN_FLIGHT;
        let started = Instant::now();
        join_all((0..IN_FLIGHT).map(|_| async move {
            for _ in 0..per_task {
                std::hint::black_box(call(slot, payload).await);
            }
        }))
        .await;
        self.concurrent_busy += started.elapsed();
        self.concurrent_calls += per_task * IN_FLIGHT;
    }

    fn row(&mut self, label: &str) -> String {
        self.latencies.sort_unstable();
        let p = |q: f64| self.latencies[((self.latencies.len() - 1) as f64 * q) as usize] as f64;
        format!(
            "| {label} | {} | {} | {} | {} |\n",
            thousands(self.calls as f64 / self.busy.as_secs_f64()),
            micros(p(0.5)),
            micros(p(0.99)),
            thousands(self.concurrent_calls as f64 / self.concurrent_busy.as_secs_f64()),
        )
    }
}

async fn run(plan: Plan) -> String {
    let table = start().await;
    let payload = payload();
    let slots: Vec<Arc<Slot>> = WORKLOADS
        .iter()
        .map(|(node, _)| table.slot(node).expect("the node"))
        .collect();
    // Both programs give the same answer (map order aside).
    let js = call(&slots[1], &payload).await;
    let cel = call(&slots[0], &payload).await;
    assert_eq!(js, cel, "the two snippets transform alike");
    for slot in &slots {
        let mut warm = Tally::default();
        warm.sequential(slot, &payload, plan.calls / 5 + 10).await;
    }
    let mut tallies: Vec<Tally> = WORKLOADS.iter().map(|_| Tally::default()).collect();
    for round in 0..plan.rounds {
        // Rotate which workload goes first, so drift hits all alike.
        for k in 0..slots.len() {
            let i = (k + round) % slots.len();
            tallies[i].sequential(&slots[i], &payload, plan.calls).await;
            tallies[i].concurrent(&slots[i], &payload, plan.calls).await;
        }
    }
    table.shutdown().await;
    let mut out = format!(
        "## The same small map transformation, CEL and JavaScript\n\n\
         Payload `{payload}`; answer `{cel}`. {} rounds of {} sequential calls \
         (one in flight) and {} calls {IN_FLIGHT} at a time, per workload.\n\n\
         | snippet | calls/s, one at a time | median µs | p99 µs | calls/s, {IN_FLIGHT} in flight |\n\
         |---|---:|---:|---:|---:|\n",
        plan.rounds, plan.calls, plan.calls,
    );
    for (tally, (_, label)) in tallies.iter_mut().zip(WORKLOADS) {
        out.push_str(&tally.row(label));
    }
    if plan.quick {
        out.push_str("\n(quick run: small samples)\n");
    }
    out
}

fn micros(nanos: f64) -> String {
    format!("{:.1}", nanos / 1_000.0)
}

fn thousands(n: f64) -> String {
    let digits = format!("{n:.0}");
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
