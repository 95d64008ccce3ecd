//! Engine benchmarks: a self-timed binary (`harness = false`) that prints
//! Markdown tables. Run with `cargo bench --bench engine`, or add
//! `-- --quick` for a smoke run with fewer iterations, and `-- --only
//! chain,fan,namespace,throughput` (any of them) to run a part, e.g. under
//! a profiler; `-- --threads N` sets the runtime's worker threads (default:
//! one per core). See
//! docs/benchmarks.md for the method and the latest results.
//!
//! Every Weir measurement runs beside a baseline in the same process and on
//! the same runtime: raw tokio tasks, one per stage, each with a bounded
//! `mpsc` inbox of `(value, oneshot reply)`, forwarding to the next stage
//! with a new oneshot, awaiting it and replying. That is the least a
//! request/response hop through tasks can cost, so the ratio is the price of
//! the engine (processes, cancellation, ports, hot-swappable slots).

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::future::join_all;
use futures_util::stream::FuturesUnordered;
use tokio::sync::{mpsc, oneshot};
use weir_codecs::{ErrorValue, Value};
use weir_engine::env::NoValues;
use weir_engine::runtime::{BoxFuture, Limits, Slot};
use weir_engine::spec::source::{Format, parse};
use weir_engine::symbol::{Status, SymbolTable};
use weir_engine::{Bundle, Call, FieldError, Kind, Node, Packet, Port, Process, Scheme};

/// The allocator the `weir` binary runs on (src/main.rs), so the engine is
/// measured as it runs; the raw baseline gets it too. `--allocator system`
/// is not offered: a global allocator is chosen at build time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Chain lengths of the round-trip benchmark.
const CHAINS: [usize; 3] = [1, 10, 100];
/// Targets of the fan-out benchmark.
const FAN_OUT: usize = 8;
/// Concurrent processes of the throughput benchmark.
const WORKERS: usize = 1_000;
/// Nodes in the throughput chain.
const THROUGHPUT_CHAIN: usize = 10;
/// Specs compiled and activated at once.
const NAMESPACE_SPECS: usize = 10_000;
/// Nodes per chain in that namespace.
const NAMESPACE_CHAIN: usize = 10;
/// Inbox size of the raw baseline stages, as Weir's default.
const RAW_INBOX: usize = 256;

/// How much work each benchmark does.
struct Plan {
    quick: bool,
    /// The parts to run, by name; all when empty.
    only: Vec<String>,
    /// Alternating Weir/baseline rounds for the latency benchmarks.
    rounds: usize,
    /// Sequential round trips per round through a chain of one node
    /// (longer chains do proportionally fewer).
    chain_trips: usize,
    /// Sequential round trips per fan-out round.
    fan_trips: usize,
    /// Packets per throughput round, over all workers.
    packets: usize,
    /// Throughput rounds per engine.
    throughput_rounds: usize,
    /// Compile-and-activate runs of the namespace benchmark.
    namespace_runs: usize,
}

impl Plan {
    fn new(quick: bool, only: Vec<String>) -> Plan {
        match quick {
            false => Plan {
                quick,
                only,
                rounds: 5,
                chain_trips: 40_000,
                fan_trips: 20_000,
                packets: 200_000,
                throughput_rounds: 3,
                namespace_runs: 3,
            },
            true => Plan {
                quick,
                only,
                rounds: 2,
                chain_trips: 4_000,
                fan_trips: 2_000,
                packets: 20_000,
                throughput_rounds: 1,
                namespace_runs: 1,
            },
        }
    }

    fn runs(&self, part: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|p| p == part)
    }
}

fn main() {
    // `cargo bench` passes `--bench`; everything but `--quick` is ignored.
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let only = args
        .iter()
        .skip_while(|a| *a != "--only")
        .nth(1)
        .map(|parts| parts.split(',').map(String::from).collect())
        .unwrap_or_default();
    let plan = Plan::new(quick, only);
    let workers = args
        .iter()
        .skip_while(|a| *a != "--threads")
        .nth(1)
        .map(|n| n.parse().expect("--threads takes a number"))
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    // Measure on a worker thread, as a server's tasks would run, not on the
    // thread that blocks on the runtime.
    let report = runtime
        .block_on(async move { tokio::spawn(run(plan)).await })
        .expect("the benchmarks ran");
    println!("# Weir engine benchmarks\n");
    println!(
        "Mode: {}; tokio multi-thread runtime, {workers} worker threads.\n",
        if quick { "quick (smoke run)" } else { "full" }
    );
    print!("{report}");
}

async fn run(plan: Plan) -> String {
    let mut chains = String::new();
    let mut fan = String::new();
    let mut throughput = String::new();
    let mut namespace = String::new();
    if plan.runs("chain") {
        chains = bench_chains(&plan).await;
    }
    if plan.runs("fan") {
        fan = bench_fan_out(&plan).await;
    }
    // Throughput before the big namespace: its peak memory is measured from
    // a heap that has not yet grown for 10,000 nodes.
    if plan.runs("throughput") {
        throughput = bench_throughput(&plan).await;
    }
    if plan.runs("namespace") {
        namespace = bench_namespace(&plan).await;
    }
    [chains, fan, namespace, throughput].concat()
}

// ---------------------------------------------------------------------------
// A bench-local pass-through kind.

/// `pass`: writes the payload to `out` and answers what comes back; with
/// `out` unlinked that is the payload itself. No fields of its own.
struct Pass;

impl Kind for Pass {
    type Spec = serde_json::Map<String, serde_json::Value>;

    fn name(&self) -> &'static str {
        "pass"
    }

    fn summary(&self) -> &'static str {
        "Benchmark node: relays the payload to `out` and answers what comes back."
    }

    fn compile(
        &self,
        fields: Self::Spec,
        _: &weir_engine::scheme::Context<'_>,
    ) -> Result<Arc<dyn weir_engine::Activate>, Vec<FieldError>> {
        match fields.keys().next() {
            Some(field) => Err(vec![FieldError::new(field.as_str(), "pass has no fields")]),
            None => Ok(weir_engine::shared(PassNode)),
        }
    }
}

struct PassNode;

impl Node for PassNode {
    fn call<'a>(
        &'a self,
        call: &'a Call,
        input: Packet,
    ) -> BoxFuture<'a, Result<Packet, ErrorValue>> {
        // As the control kinds and the test probe do: build the port per call.
        Box::pin(async move { Ok(call.write(&Port::output(), input).await) })
    }
}

fn pass_scheme() -> Scheme {
    let mut scheme = Scheme::new();
    scheme.register(Pass);
    scheme
}

/// Parses, compiles and starts `yaml` (one namespace, `default`).
async fn start(scheme: &Scheme, yaml: &str) -> Arc<SymbolTable> {
    let specs = parse(yaml, Format::Yaml, None).unwrap_or_else(|e| panic!("{e}"));
    let bundle = Bundle::compile(scheme, specs, &NoValues).unwrap_or_else(|e| panic!("{e}"));
    let mut tables = bundle.start(Limits::default()).await;
    let table = tables.remove("default").expect("the default namespace");
    let problems: Vec<_> = table
        .statuses()
        .await
        .into_iter()
        .filter(|(_, _, s)| *s != Status::Active)
        .collect();
    assert!(problems.is_empty(), "inactive nodes: {problems:?}");
    table
}

/// `len` pass nodes `{prefix}0 → {prefix}1 → …`.
fn chain_yaml(prefix: &str, len: usize) -> String {
    let mut yaml = String::new();
    for i in 0..len {
        yaml.push_str(&format!("- kind: pass\n  name: {prefix}{i}\n"));
        if i + 1 < len {
            yaml.push_str(&format!(
                "  ports:\n    out:\n      - name: {prefix}{}\n",
                i + 1
            ));
        }
    }
    yaml
}

/// One pass node `fan` whose `out` links to `n` pass nodes `leaf0…`.
fn fan_yaml(n: usize) -> String {
    let mut yaml = String::from("- kind: pass\n  name: fan\n  ports:\n    out:\n");
    for i in 0..n {
        yaml.push_str(&format!("      - name: leaf{i}\n"));
    }
    for i in 0..n {
        yaml.push_str(&format!("- kind: pass\n  name: leaf{i}\n"));
    }
    yaml
}

// ---------------------------------------------------------------------------
// The raw tokio baseline.

type Request = (Value, oneshot::Sender<Value>);

/// Starts a raw stage task that answers with what its targets answer: the
/// value itself with no target, the one answer with one, a list with many
/// (as Weir merges). Like a Weir node, it serves many requests at once.
fn raw_stage(targets: Vec<mpsc::Sender<Request>>) -> mpsc::Sender<Request> {
    let (tx, rx) = mpsc::channel(RAW_INBOX);
    tokio::spawn(raw_serve(rx, targets));
    tx
}

async fn raw_serve(mut inbox: mpsc::Receiver<Request>, targets: Vec<mpsc::Sender<Request>>) {
    if targets.is_empty() {
        while let Some((value, reply)) = inbox.recv().await {
            let _ = reply.send(value);
        }
        return;
    }
    let mut waiting = FuturesUnordered::new();
    loop {
        tokio::select! {
            biased;
            Some(()) = waiting.next(), if !waiting.is_empty() => {}
            request = inbox.recv() => match request {
                Some((value, reply)) => waiting.push(raw_forward(&targets, value, reply)),
                None => break,
            },
        }
    }
    while waiting.next().await.is_some() {}
}

async fn raw_forward(
    targets: &[mpsc::Sender<Request>],
    value: Value,
    reply: oneshot::Sender<Value>,
) {
    let answer = match targets {
        [one] => raw_ask(one, value).await,
        many => Value::list(join_all(many.iter().map(|t| raw_ask(t, value.clone()))).await),
    };
    let _ = reply.send(answer);
}

async fn raw_ask(target: &mpsc::Sender<Request>, value: Value) -> Value {
    let (reply, answer) = oneshot::channel();
    if target.send((value, reply)).await.is_err() {
        return Value::error_msg("stage gone");
    }
    answer
        .await
        .unwrap_or_else(|_| Value::error_msg("stage dropped"))
}

/// A raw chain of `len` stages; returns the first stage's inbox.
fn raw_chain(len: usize) -> mpsc::Sender<Request> {
    let mut head = raw_stage(Vec::new());
    for _ in 1..len {
        head = raw_stage(vec![head]);
    }
    head
}

/// A raw fan stage linked to `n` answering stages.
fn raw_fan(n: usize) -> mpsc::Sender<Request> {
    raw_stage((0..n).map(|_| raw_stage(Vec::new())).collect())
}

// ---------------------------------------------------------------------------
// Sending, timing and statistics.

/// Where a benchmark's requests enter.
#[derive(Clone)]
enum Entry {
    /// A Weir node: one new process per request, as a listener would make.
    Weir(Arc<Slot>, Port),
    /// A raw stage.
    Raw(mpsc::Sender<Request>),
}

impl Entry {
    fn weir(table: &SymbolTable, name: &str) -> Entry {
        Entry::Weir(table.slot(name).expect("the node exists"), Port::input())
    }

    async fn ask(&self, value: Value) -> Value {
        match self {
            Entry::Weir(slot, port) => slot
                .send(Process::new(), port.clone(), Packet::new(value))
                .await
                .into_payload(),
            Entry::Raw(inbox) => raw_ask(inbox, value).await,
        }
    }
}

/// Latency samples of sequential round trips, in nanoseconds.
#[derive(Default)]
struct Samples {
    nanos: Vec<u64>,
    total: Duration,
}

impl Samples {
    /// Sends `n` requests one after the other, checking every answer.
    async fn record(&mut self, entry: &Entry, n: usize, check: impl Fn(&Value, &Value) -> bool) {
        let started = Instant::now();
        for i in 0..n {
            let value = Value::Int(i as i64);
            let t = Instant::now();
            let answer = entry.ask(value.clone()).await;
            self.nanos.push(t.elapsed().as_nanos() as u64);
            assert!(
                check(&value, &answer),
                "wrong answer {answer:?} to {value:?}"
            );
        }
        self.total += started.elapsed();
    }

    fn mean(&self) -> f64 {
        self.nanos.iter().sum::<u64>() as f64 / self.nanos.len() as f64
    }

    /// The `p`-th percentile (0–100), nearest rank.
    fn percentile(&mut self, p: f64) -> f64 {
        self.nanos.sort_unstable();
        let rank = ((p / 100.0) * self.nanos.len() as f64).ceil() as usize;
        self.nanos[rank.clamp(1, self.nanos.len()) - 1] as f64
    }

    /// Round trips per second, over the whole measured time.
    fn rate(&self) -> f64 {
        self.nanos.len() as f64 / self.total.as_secs_f64()
    }
}

async fn warm_up(entry: &Entry, n: usize) {
    for i in 0..n {
        entry.ask(Value::Int(i as i64)).await;
    }
}

/// Weir and baseline samples, measured in alternating rounds so drift hits
/// both alike.
async fn alternate(
    plan: &Plan,
    weir: &Entry,
    raw: &Entry,
    per_round: usize,
    check: impl Fn(&Value, &Value) -> bool + Copy,
) -> (Samples, Samples) {
    warm_up(weir, per_round / 5 + 10).await;
    warm_up(raw, per_round / 5 + 10).await;
    let (mut w, mut r) = (Samples::default(), Samples::default());
    for round in 0..plan.rounds {
        // Alternate which goes first, too.
        if round % 2 == 0 {
            w.record(weir, per_round, check).await;
            r.record(raw, per_round, check).await;
        } else {
            r.record(raw, per_round, check).await;
            w.record(weir, per_round, check).await;
        }
    }
    (w, r)
}

fn micros(nanos: f64) -> String {
    format!("{:.2}", nanos / 1_000.0)
}

fn thousands(n: f64) -> String {
    let digits = format!("{:.0}", n);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resets VmHWM to the current RSS (Linux `clear_refs` 5); false if refused.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Hands the allocator's free pages back to the kernel, so that an RSS
/// measured next starts from what is live, not from what an earlier
/// benchmark left cached in the heap.
fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> i32;
        }
        // SAFETY: glibc's `malloc_trim` takes no pointers and may be called
        // at any time from any thread.
        unsafe {
            malloc_trim(0);
        }
    }
}

fn mib(kb: u64) -> String {
    format!("{:.1}", kb as f64 / 1024.0)
}

// ---------------------------------------------------------------------------
// 1. Round trips through chains.

async fn bench_chains(plan: &Plan) -> String {
    let scheme = pass_scheme();
    let yaml: String = CHAINS
        .iter()
        .map(|&len| chain_yaml(&format!("c{len}_"), len))
        .collect();
    let table = start(&scheme, &yaml).await;
    let same = |sent: &Value, got: &Value| sent == got;
    let mut rows = Vec::new();
    for &len in &CHAINS {
        eprintln!("chain of {len}…");
        let weir = Entry::weir(&table, &format!("c{len}_0"));
        let raw = Entry::Raw(raw_chain(len));
        let per_round = (plan.chain_trips / len).max(if plan.quick { 40 } else { 400 });
        let (w, r) = alternate(plan, &weir, &raw, per_round, same).await;
        rows.push((len, w, r));
    }
    table.shutdown().await;

    let mut out = String::from(
        "## 1. Request/response round trip through a chain of pass-through nodes\n\n\
         Sequential round trips (one in flight), one new process per request.\n\
         A chain of N nodes is N hops; ns/hop is the round trip over N. The\n\
         ratios compare Weir's ns/hop with the raw chain's, by mean and by median.\n\n\
         | nodes | engine | round trips | mean µs | p50 µs | p99 µs | ns/hop (mean) | ns/hop (p50) | Weir/raw per hop (mean) | Weir/raw per hop (p50) |\n\
         |---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut means = Vec::new();
    for (len, mut w, mut r) in rows {
        let (wm, rm) = (w.mean(), r.mean());
        let (wp, rp) = (w.percentile(50.0), r.percentile(50.0));
        means.push((len, wm, rm));
        for (name, s, mean, p50) in [("Weir", &mut w, wm, wp), ("raw tokio", &mut r, rm, rp)] {
            let ratios = match name {
                "Weir" => format!("{:.2}× | {:.2}×", wm / rm, wp / rp),
                _ => String::from(" | "),
            };
            out.push_str(&format!(
                "| {len} | {name} | {} | {} | {} | {} | {:.0} | {:.0} | {ratios} |\n",
                thousands(s.nanos.len() as f64),
                micros(mean),
                micros(p50),
                micros(s.percentile(99.0)),
                mean / len as f64,
                p50 / len as f64,
            ));
        }
    }
    // The marginal cost of a hop, free of the fixed cost of entering.
    let at = |n: usize| means.iter().find(|m| m.0 == n).copied();
    if let (Some((a, wa, ra)), Some((b, wb, rb))) = (at(10), at(100)) {
        let hops = (b - a) as f64;
        let (w, r) = ((wb - wa) / hops, (rb - ra) / hops);
        out.push_str(&format!(
            "\nMarginal cost per hop, from the {a}- and {b}-node chains: \
             Weir {w:.0} ns, raw tokio {r:.0} ns, ratio {:.2}×.\n",
            w / r
        ));
    }
    out.push('\n');
    out
}

// ---------------------------------------------------------------------------
// 2. Fan-out with merged answers.

async fn bench_fan_out(plan: &Plan) -> String {
    eprintln!("fan-out to {FAN_OUT}…");
    let table = start(&pass_scheme(), &fan_yaml(FAN_OUT)).await;
    let weir = Entry::weir(&table, "fan");
    let raw = Entry::Raw(raw_fan(FAN_OUT));
    let merged = |sent: &Value, got: &Value| {
        got.as_list()
            .is_some_and(|l| l.len() == FAN_OUT && l.iter().all(|v| v == sent))
    };
    let (mut w, mut r) = alternate(plan, &weir, &raw, plan.fan_trips, merged).await;
    table.shutdown().await;

    let mut out = format!(
        "## 2. Fan-out to {FAN_OUT} targets, answers merged\n\n\
         Sequential round trips: entry node → {FAN_OUT} answering nodes → merged list.\n\
         The baseline has the same shape: a raw stage that sends to {FAN_OUT} raw\n\
         stages and joins their oneshot answers with `join_all`.\n\n\
         | engine | round trips | round trips/s | mean µs | p50 µs | p99 µs | Weir/raw (mean) |\n\
         |---|---:|---:|---:|---:|---:|---:|\n"
    );
    let ratio = w.mean() / r.mean();
    for (name, s) in [("Weir", &mut w), ("raw tokio", &mut r)] {
        let ratio = match name {
            "Weir" => format!("{ratio:.2}×"),
            _ => String::new(),
        };
        out.push_str(&format!(
            "| {name} | {} | {} | {} | {} | {} | {ratio} |\n",
            thousands(s.nanos.len() as f64),
            thousands(s.rate()),
            micros(s.mean()),
            micros(s.percentile(50.0)),
            micros(s.percentile(99.0)),
        ));
    }
    out.push('\n');
    out
}

// ---------------------------------------------------------------------------
// 3. Compiling and activating a large namespace.

/// `chains` chains of `len` control nodes, alternating a CEL `snippet`
/// (`self + 1`) and an `if` (`self > 0`, `out[0]` to the next).
fn namespace_yaml(chains: usize, len: usize) -> String {
    let mut yaml = String::new();
    for c in 0..chains {
        for j in 0..len {
            let name = format!("n{c}_{j}");
            let (head, port) = match j % 2 {
                0 => (
                    format!(
                        "- kind: snippet\n  name: {name}\n  language: cel\n  code: \"self + 1\"\n"
                    ),
                    "out",
                ),
                _ => (
                    format!("- kind: if\n  name: {name}\n  when: \"self > 0\"\n"),
                    "out[0]",
                ),
            };
            yaml.push_str(&head);
            if j + 1 < len {
                yaml.push_str(&format!(
                    "  ports:\n    {port}:\n      - name: n{c}_{}\n",
                    j + 1
                ));
            }
        }
    }
    yaml
}

struct NamespaceRun {
    parse: Duration,
    compile: Duration,
    activate: Duration,
    shutdown: Duration,
    rss_growth_kb: Option<u64>,
}

async fn namespace_run(scheme: &Scheme, yaml: &str, specs: usize) -> NamespaceRun {
    trim_heap();
    let rss_before = status_kb("VmRSS:");
    let t = Instant::now();
    let parsed = parse(yaml, Format::Yaml, None).unwrap_or_else(|e| panic!("{e}"));
    let parse_time = t.elapsed();
    assert_eq!(parsed.len(), specs);
    let t = Instant::now();
    let bundle = Bundle::compile(scheme, parsed, &NoValues).unwrap_or_else(|e| panic!("{e}"));
    let compile = t.elapsed();
    let t = Instant::now();
    let mut tables = bundle.start(Limits::default()).await;
    let activate = t.elapsed();
    let rss_after = status_kb("VmRSS:");
    let table = tables.remove("default").expect("the default namespace");
    // Every chain is live: 1 in, five `+ 1`s, out.
    let answer = table.send("n0_0", Process::new(), Packet::new(1i64)).await;
    assert_eq!(
        answer.payload(),
        &Value::Int(1 + NAMESPACE_CHAIN as i64 / 2)
    );
    let last = format!("n{}_0", specs / NAMESPACE_CHAIN - 1);
    assert!(
        !table
            .send(&last, Process::new(), Packet::new(1i64))
            .await
            .is_error()
    );
    drop(bundle);
    let t = Instant::now();
    table.shutdown().await;
    NamespaceRun {
        parse: parse_time,
        compile,
        activate,
        shutdown: t.elapsed(),
        rss_growth_kb: rss_before.zip(rss_after).map(|(b, a)| a.saturating_sub(b)),
    }
}

async fn bench_namespace(plan: &Plan) -> String {
    eprintln!("namespace of {NAMESPACE_SPECS} specs…");
    let scheme = weir_nodes::scheme();
    let chains = NAMESPACE_SPECS / NAMESPACE_CHAIN;
    // Warm up on a tenth of the size (allocator, CEL parser, code paths).
    let small = namespace_yaml(chains / 10, NAMESPACE_CHAIN);
    namespace_run(&scheme, &small, NAMESPACE_SPECS / 10).await;
    let yaml = namespace_yaml(chains, NAMESPACE_CHAIN);
    let mut runs = Vec::new();
    for _ in 0..plan.namespace_runs {
        runs.push(namespace_run(&scheme, &yaml, NAMESPACE_SPECS).await);
    }
    runs.sort_by_key(|r| r.parse + r.compile + r.activate);
    let median = &runs[runs.len() / 2];
    let worst = &runs[runs.len() - 1];
    let ms = |d: Duration| format!("{:.1}", d.as_secs_f64() * 1_000.0);
    let total = |r: &NamespaceRun| r.parse + r.compile + r.activate;
    let mut out = format!(
        "## 3. Compile and activate a namespace of {} specs\n\n\
         {} chains of {NAMESPACE_CHAIN} alternating `snippet` (`language: cel`) and `if`\n\
         nodes from `weir_nodes::scheme()`, {} KiB of YAML. Parse is\n\
         `spec::source::parse`; compile is `Bundle::compile`; activate is\n\
         `bundle.start(Limits::default())`. Median of {} run(s) by total\n\
         (after a warm-up at a tenth of the size); the worst run beside it.\n\n\
         | run | parse ms | compile ms | parse+compile ms | activate ms | total ms | RSS growth MiB | shutdown ms |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n",
        thousands(NAMESPACE_SPECS as f64),
        thousands(chains as f64),
        yaml.len() / 1024,
        runs.len(),
    );
    for (label, r) in [("median", median), ("worst", worst)] {
        out.push_str(&format!(
            "| {label} | {} | {} | {} | {} | **{}** | {} | {} |\n",
            ms(r.parse),
            ms(r.compile),
            ms(r.parse + r.compile),
            ms(r.activate),
            ms(total(r)),
            r.rss_growth_kb.map_or("?".into(), mib),
            ms(r.shutdown),
        ));
    }
    out.push('\n');
    out
}

// ---------------------------------------------------------------------------
// 4. Throughput with many concurrent processes.

struct Flood {
    elapsed: Duration,
    rss_before_kb: Option<u64>,
    peak_kb: Option<u64>,
}

/// `WORKERS` tasks each send `per_worker` requests one after the other, so
/// `WORKERS` requests (processes, for Weir) are in flight at any time.
async fn flood(entry: &Entry, per_worker: usize) -> Duration {
    let started = Instant::now();
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let entry = entry.clone();
            tokio::spawn(async move {
                for i in 0..per_worker {
                    let value = Value::Int((w * per_worker + i) as i64);
                    let answer = entry.ask(value.clone()).await;
                    assert_eq!(answer, value);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("worker finished");
    }
    started.elapsed()
}

async fn measured_flood(entry: &Entry, per_worker: usize, peaks: bool) -> Flood {
    trim_heap();
    let rss_before_kb = status_kb("VmRSS:");
    let peaks = peaks && reset_peak();
    let elapsed = flood(entry, per_worker).await;
    Flood {
        elapsed,
        rss_before_kb,
        peak_kb: if peaks { status_kb("VmHWM:") } else { None },
    }
}

async fn bench_throughput(plan: &Plan) -> String {
    eprintln!("throughput, {WORKERS} concurrent processes…");
    let table = start(&pass_scheme(), &chain_yaml("t", THROUGHPUT_CHAIN)).await;
    let weir = Entry::weir(&table, "t0");
    let raw = Entry::Raw(raw_chain(THROUGHPUT_CHAIN));
    let per_worker = (plan.packets / WORKERS).max(1);
    let hwm_start = status_kb("VmHWM:");
    flood(&weir, per_worker / 10 + 1).await;
    flood(&raw, per_worker / 10 + 1).await;
    let peaks = reset_peak();
    let (mut w, mut r) = (Vec::new(), Vec::new());
    for round in 0..plan.throughput_rounds {
        if round % 2 == 0 {
            w.push(measured_flood(&weir, per_worker, peaks).await);
            r.push(measured_flood(&raw, per_worker, peaks).await);
        } else {
            r.push(measured_flood(&raw, per_worker, peaks).await);
            w.push(measured_flood(&weir, per_worker, peaks).await);
        }
    }
    table.shutdown().await;
    let packets = per_worker * WORKERS;
    let mut out = format!(
        "## 4. Throughput: {} concurrent processes through a {THROUGHPUT_CHAIN}-node chain\n\n\
         {} tasks each send {per_worker} requests one after the other ({} packets\n\
         per round, one new process per packet for Weir); median of {} round(s).\n\
         Before each round the heap is trimmed (`malloc_trim`) and VmHWM reset\n\
         (`/proc/self/clear_refs`); peak RSS is VmHWM after the round (the largest\n\
         of the rounds), Δ is that peak minus the RSS when the round began.\n\n\
         | engine | packets | packets/s | ns/packet | peak RSS MiB | Δ peak MiB | Weir/raw (packets/s) |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
        thousands(WORKERS as f64),
        thousands(WORKERS as f64),
        thousands(packets as f64),
        plan.throughput_rounds,
    );
    let median = |runs: &mut Vec<Flood>| {
        runs.sort_by_key(|f| f.elapsed);
        let peak = runs.iter().filter_map(|f| f.peak_kb).max();
        let delta = runs
            .iter()
            .filter_map(|f| Some(f.peak_kb?.saturating_sub(f.rss_before_kb?)))
            .max();
        (runs[runs.len() / 2].elapsed, peak, delta)
    };
    let (we, wp, wd) = median(&mut w);
    let (re, rp, rd) = median(&mut r);
    let rate = |d: Duration| packets as f64 / d.as_secs_f64();
    for (name, elapsed, peak, delta) in [("Weir", we, wp, wd), ("raw tokio", re, rp, rd)] {
        let ratio = match name {
            "Weir" => format!("{:.2}×", rate(we) / rate(re)),
            _ => String::new(),
        };
        out.push_str(&format!(
            "| {name} | {} | {} | {:.0} | {} | {} | {ratio} |\n",
            thousands(packets as f64),
            thousands(rate(elapsed)),
            elapsed.as_nanos() as f64 / packets as f64,
            peak.map_or("?".into(), mib),
            delta.map_or("?".into(), mib),
        ));
    }
    if !peaks {
        out.push_str(&format!(
            "\nVmHWM could not be reset here; process peak before/after: {} / {} MiB.\n",
            hwm_start.map_or("?".into(), mib),
            status_kb("VmHWM:").map_or("?".into(), mib),
        ));
    }
    out.push('\n');
    out
}
