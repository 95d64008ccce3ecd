//! A model-based test of live changes, on PostgreSQL and on SQLite.
//!
//! A seeded generator makes random operations over two namespaces of a few
//! names each (create, update, link and unlink, specs that fail to compile,
//! delete with and without the cascade, delete and re-create with a new id
//! in one transaction or two, rename with and without the cascade, values
//! that specs bind), commits them in random batches at random speeds while
//! a loader follows the store, and after each quiescence compares the
//! running engine with a model computed from what the store was told alone:
//!
//! - the table holds exactly the specs that ever compiled and still exist;
//! - every name answers a probe with the chain of versions it runs and that
//!   its links lead to (a stale link or an old version shows), or an error
//!   when it must not run;
//! - every stored spec has a reported status, an inactive one naming the
//!   link it misses;
//! - a delete or a rename without the cascade is refused exactly when it
//!   would take another spec down.
//!
//! `WEIR_MODEL_SEED` replays a seed; `WEIR_MODEL_STEPS` sets how many
//! operations each backend gets (default 600), and `WEIR_MODEL_SECONDS`
//! runs for a duration instead (`scripts/soak.sh`). A failure prints the
//! seed and the operations up to the first round that diverged: every
//! earlier round matched, so that prefix is the shortest that fails.

mod support;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use support::db::TestDb;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;
use weir_codecs::Value;
use weir_engine::loader::Loader;
use weir_engine::runtime::Limits;
use weir_engine::spec::NamedValue;
use weir_engine::spec::source::{Format, parse};
use weir_engine::store::{Changeset, Key, Store, StoreError};
use weir_engine::{Packet, Process, Spec};

const NAMESPACES: [&str; 2] = ["a", "b"];
const NAMES: usize = 6;

/// xorshift64*: small, seedable, good enough to pick operations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// One operation, as the generator chose it.
#[derive(Clone, Debug)]
enum Op {
    /// Creates `name`, or updates it (same id); `link` to a lower name.
    Put {
        ns: usize,
        name: usize,
        link: Option<usize>,
        binds: bool,
        broken: bool,
    },
    /// Deletes `name`, with or without the cascade.
    Delete {
        ns: usize,
        name: usize,
        cascade: bool,
    },
    /// Deletes `name` and creates it again with a new id: in one
    /// transaction, or in two.
    Recreate {
        ns: usize,
        name: usize,
        link: Option<usize>,
        one_transaction: bool,
    },
    /// Renames `from` to the free name `to` (same id), with a new link,
    /// with or without the cascade (a rename breaks links by the old name).
    Rename {
        ns: usize,
        from: usize,
        to: usize,
        link: Option<usize>,
        cascade: bool,
    },
    /// Sets the namespace's `tag` value, which binding specs show.
    Tag { ns: usize, tag: u64 },
}

/// A stored spec, as the model knows it.
#[derive(Clone, Debug)]
struct Row {
    id: Uuid,
    name: usize,
    link: Option<usize>,
    version: u64,
    binds: bool,
    broken: bool,
}

/// The version a symbol table runs for an id: the last one that compiled.
#[derive(Clone, Debug)]
struct Good {
    name: usize,
    link: Option<usize>,
    answer: String,
}

#[derive(Default)]
struct Model {
    rows: [Vec<Row>; 2],
    good: [HashMap<Uuid, Good>; 2],
    tags: [u64; 2],
    version: u64,
}

impl Model {
    fn row(&self, ns: usize, name: usize) -> Option<&Row> {
        self.rows[ns].iter().find(|r| r.name == name)
    }

    fn answer(&self, ns: usize, row: &Row) -> String {
        match row.binds {
            true => format!("t{}:n{}@{}", self.tags[ns], row.name, row.version),
            false => format!("n{}@{}", row.name, row.version),
        }
    }

    /// What the engine runs once it has seen every row as it is now.
    fn settle(&mut self) {
        for ns in 0..2 {
            let ids: HashSet<Uuid> = self.rows[ns].iter().map(|r| r.id).collect();
            self.good[ns].retain(|id, _| ids.contains(id));
            for row in self.rows[ns].clone() {
                if !row.broken {
                    let answer = self.answer(ns, &row);
                    let good = Good {
                        name: row.name,
                        link: row.link,
                        answer,
                    };
                    self.good[ns].insert(row.id, good);
                }
            }
        }
    }

    fn good_named(&self, ns: usize, name: usize) -> Option<&Good> {
        self.good[ns].values().find(|g| g.name == name)
    }

    /// The chain `name` answers, or why it does not run (the first link
    /// it misses).
    fn chain(&self, ns: usize, name: usize) -> Result<Vec<String>, usize> {
        let good = self.good_named(ns, name).ok_or(name)?;
        let mut chain = vec![good.answer.clone()];
        if let Some(target) = good.link {
            chain.extend(self.chain(ns, target).map_err(|_| target)?);
        }
        Ok(chain)
    }

    /// Whether deleting `name` would take another stored spec down: the
    /// rule of the store's impact check, written for this model alone.
    fn takes_down(&self, ns: usize, name: usize) -> bool {
        let linked = |rows: &[&Row]| -> HashSet<usize> {
            let mut ok: HashSet<usize> = rows.iter().map(|r| r.name).collect();
            loop {
                let broken: Vec<usize> = rows
                    .iter()
                    .filter(|r| ok.contains(&r.name))
                    .filter(|r| r.link.is_some_and(|t| !ok.contains(&t)))
                    .map(|r| r.name)
                    .collect();
                if broken.is_empty() {
                    return ok;
                }
                for b in broken {
                    ok.remove(&b);
                }
            }
        };
        let before: Vec<&Row> = self.rows[ns].iter().collect();
        let after: Vec<&Row> = before.iter().copied().filter(|r| r.name != name).collect();
        let (was, is) = (linked(&before), linked(&after));
        after
            .iter()
            .any(|r| was.contains(&r.name) && !is.contains(&r.name))
    }
}

fn spec(ns: usize, id: Uuid, row: &Row) -> Spec {
    let behave = if row.broken { "nope" } else { "chain" };
    let answer = match row.binds {
        true => format!("\"{{{{ TAG }}}}:n{}@{}\"", row.name, row.version),
        false => format!("\"n{}@{}\"", row.name, row.version),
    };
    let env = match row.binds {
        true => ", env: {TAG: {from: tag}}",
        false => "",
    };
    let ports = match row.link {
        Some(t) => format!(", ports: {{out: [{{name: n{t}}}]}}"),
        None => String::new(),
    };
    let yaml = format!(
        "{{kind: probe, id: {id}, namespace: {}, name: n{}, behave: {behave}, answer: {answer}{env}{ports}}}",
        NAMESPACES[ns], row.name
    );
    parse(&yaml, Format::Yaml, None)
        .unwrap_or_else(|e| panic!("{yaml}: {e}"))
        .remove(0)
        .spec
}

fn tag_value(ns: usize, tag: u64) -> NamedValue {
    NamedValue {
        id: Uuid::now_v7(),
        namespace: NAMESPACES[ns].into(),
        name: "tag".into(),
        annotations: Default::default(),
        data: serde_json::json!(format!("t{tag}")),
        secret: false,
    }
}

/// Picks an operation on a name not yet touched this round.
fn generate(rng: &mut Rng, model: &Model, touched: &HashSet<(usize, usize)>) -> Option<Op> {
    let ns = rng.below(2);
    let name = rng.below(NAMES);
    if touched.contains(&(ns, name)) {
        return None;
    }
    let lower_link = |rng: &mut Rng, name: usize| match name {
        0 => None,
        n if rng.chance(70) => Some(rng.below(n)),
        _ => None,
    };
    let exists = model.row(ns, name).is_some();
    let op = match rng.below(100) {
        0..=4 => Op::Tag {
            ns,
            tag: rng.next() % 1000,
        },
        5..=49 => Op::Put {
            ns,
            name,
            link: lower_link(rng, name),
            binds: rng.chance(30),
            broken: exists && rng.chance(15),
        },
        50..=64 if exists => Op::Delete {
            ns,
            name,
            cascade: rng.chance(60),
        },
        65..=84 if exists => Op::Recreate {
            ns,
            name,
            link: lower_link(rng, name),
            one_transaction: rng.chance(70),
        },
        85..=99 if exists => {
            let to = rng.below(NAMES);
            if model.row(ns, to).is_some() || touched.contains(&(ns, to)) {
                return None;
            }
            Op::Rename {
                ns,
                from: name,
                to,
                link: lower_link(rng, to),
                cascade: rng.chance(60),
            }
        }
        _ => return None,
    };
    Some(op)
}

/// Commits `op` and records it in the model.
async fn perform(store: &Store, model: &mut Model, op: &Op) -> Result<(), String> {
    model.version += 1;
    let version = model.version;
    match op.clone() {
        Op::Tag { ns, tag } => {
            model.tags[ns] = tag;
            store
                .apply(vec![tag_value(ns, tag)], false)
                .await
                .map_err(|e| e.to_string())?;
        }
        Op::Put {
            ns,
            name,
            link,
            binds,
            broken,
        } => {
            let id = model.row(ns, name).map_or_else(Uuid::now_v7, |r| r.id);
            let row = Row {
                id,
                name,
                link,
                version,
                binds,
                broken,
            };
            // An update may take down what links to it (a new link that
            // leads nowhere): the model follows with the cascade.
            let changes = Changeset {
                apply: vec![spec(ns, id, &row)],
                cascade: true,
                ..Changeset::default()
            };
            store
                .commit(changes, false)
                .await
                .map_err(|e| e.to_string())?;
            model.rows[ns].retain(|r| r.name != name);
            model.rows[ns].push(row);
        }
        Op::Delete { ns, name, cascade } => {
            let refused = !cascade && model.takes_down(ns, name);
            let changes = Changeset::<Spec> {
                cascade,
                ..Changeset::delete(vec![Key::named(NAMESPACES[ns], format!("n{name}"))])
            };
            match (store.commit(changes, false).await, refused) {
                (Ok(_), false) => model.rows[ns].retain(|r| r.name != name),
                (Err(StoreError::WouldDeactivate { .. }), true) => {}
                (outcome, refused) => {
                    return Err(format!(
                        "delete n{name}: expected refused={refused}, got {outcome:?}"
                    ));
                }
            }
        }
        Op::Recreate {
            ns,
            name,
            link,
            one_transaction,
        } => {
            let row = Row {
                id: Uuid::now_v7(),
                name,
                link,
                version,
                binds: false,
                broken: false,
            };
            let key = Key::named(NAMESPACES[ns], format!("n{name}"));
            let document = spec(ns, row.id, &row);
            let result = match one_transaction {
                true => {
                    let changes = Changeset {
                        apply: vec![document],
                        delete: vec![key],
                        cascade: true,
                    };
                    store.commit(changes, false).await.map(drop)
                }
                false => {
                    let delete = Changeset::<Spec> {
                        cascade: true,
                        ..Changeset::delete(vec![key])
                    };
                    let create = Changeset {
                        apply: vec![document],
                        cascade: true,
                        ..Changeset::default()
                    };
                    match store.commit(delete, false).await {
                        Ok(_) => store.commit(create, false).await.map(drop),
                        Err(e) => Err(e),
                    }
                }
            };
            result.map_err(|e| e.to_string())?;
            model.rows[ns].retain(|r| r.name != name);
            model.rows[ns].push(row);
        }
        Op::Rename {
            ns,
            from,
            to,
            link,
            cascade,
        } => {
            let old = model.row(ns, from).cloned().ok_or("rename of nothing")?;
            // Links by the old name break: a rename takes down what a
            // delete of the old name would.
            let refused = !cascade && model.takes_down(ns, from);
            let row = Row {
                name: to,
                link,
                version,
                broken: false,
                ..old
            };
            match (
                store.update(spec(ns, row.id, &row), None, cascade).await,
                refused,
            ) {
                (Ok(_), false) => {
                    model.rows[ns].retain(|r| r.name != from);
                    model.rows[ns].push(row);
                }
                (Err(StoreError::WouldDeactivate { .. }), true) => {}
                (outcome, refused) => {
                    return Err(format!(
                        "rename n{from} to n{to}: expected refused={refused}, got {outcome:?}"
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Waits until the loader has applied everything committed.
async fn quiesce(store: &Store, loader: &Loader) -> Result<(), String> {
    let head = store.head().await.map_err(|e| e.to_string())?;
    for _ in 0..1000 {
        if loader.position().await >= head {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Err(format!(
        "the loader did not reach change {head} in 5 s (it is at {})",
        loader.position().await
    ))
}

/// Compares the engine with the model; the first difference found.
async fn check(store: &Store, loader: &Loader, model: &Model) -> Result<(), String> {
    let statuses: HashMap<Uuid, (String, String)> = store
        .statuses()
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|s| (s.id, (s.status, s.message)))
        .collect();
    for (ns, namespace) in NAMESPACES.iter().enumerate() {
        let table = loader.table(namespace);
        let mut running: Vec<Uuid> = match &table {
            Some(table) => table.statuses().await.into_iter().map(|s| s.0).collect(),
            None => Vec::new(),
        };
        running.sort();
        let mut expected: Vec<Uuid> = model.good[ns].keys().copied().collect();
        expected.sort();
        if running != expected {
            return Err(format!(
                "{namespace}: the table holds {running:?}, the model {expected:?}"
            ));
        }
        for name in 0..NAMES {
            let want = model.chain(ns, name);
            let got = match &table {
                None => None,
                Some(table) => {
                    let key = format!("n{name}");
                    let sent = table.send(&key, Process::new(), Packet::new(Value::Null));
                    let answer = tokio::time::timeout(Duration::from_secs(5), sent)
                        .await
                        .map_err(|_| format!("{namespace}/n{name} did not answer in 5 s"))?;
                    (!answer.is_error()).then(|| strings(answer.payload()))
                }
            };
            match (&want, &got) {
                (Ok(want), Some(got)) if want == got => {}
                (Err(_), None) => {}
                _ => {
                    return Err(format!(
                        "{namespace}/n{name}: the model says {want:?}, the engine answers {got:?}"
                    ));
                }
            }
        }
        for row in &model.rows[ns] {
            let label = format!("{namespace}/n{}", row.name);
            let (status, message) = statuses
                .get(&row.id)
                .ok_or_else(|| format!("{label} has no reported status"))?;
            let want = match (row.broken, model.chain(ns, row.name)) {
                (true, _) => "failed",
                (false, Ok(_)) => "active",
                (false, Err(missing)) => {
                    if status == "inactive" && !message.contains(&format!("n{missing}")) {
                        return Err(format!(
                            "{label} is inactive for want of n{missing}, but says: {message}"
                        ));
                    }
                    "inactive"
                }
            };
            if status != want {
                return Err(format!(
                    "{label}: status {status} ({message}), expected {want}"
                ));
            }
        }
    }
    Ok(())
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_list()
        .into_iter()
        .flatten()
        .map(|v| v.as_str().unwrap_or("?").to_string())
        .collect()
}

fn setting(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

async fn run_model(db: TestDb) {
    let seed = setting("WEIR_MODEL_SEED").unwrap_or_else(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        nanos | 1
    });
    let steps = setting("WEIR_MODEL_STEPS").unwrap_or(600);
    let deadline =
        setting("WEIR_MODEL_SECONDS").map(|s| std::time::Instant::now() + Duration::from_secs(s));
    eprintln!("model: seed {seed} on {}", db.url);
    let store = db.store().await;
    let (scheme, _) = support::scheme();
    let loader = Arc::new(Loader::new(
        store.clone(),
        Arc::new(scheme),
        None,
        Limits::default(),
    ));
    let mut model = Model::default();
    for ns in 0..2 {
        store
            .apply(vec![tag_value(ns, 0)], false)
            .await
            .expect("values");
    }
    loader.sync().await.expect("snapshot");
    let stop = CancellationToken::new();
    let follow = tokio::spawn({
        let (loader, stop) = (loader.clone(), stop.clone());
        async move { loader.run(stop).await }
    });
    let mut rng = Rng(seed);
    let mut done: Vec<Op> = Vec::new();
    let mut round = 0;
    let more = |done: usize| match deadline {
        Some(deadline) => std::time::Instant::now() < deadline,
        None => (done as u64) < steps,
    };
    while more(done.len()) {
        round += 1;
        let mut touched = HashSet::new();
        for _ in 0..1 + rng.below(4) {
            let Some(op) = generate(&mut rng, &model, &touched) else {
                continue;
            };
            for (ns, name) in names_of(&op) {
                touched.insert((ns, name));
            }
            let result = perform(&store, &mut model, &op).await;
            done.push(op);
            if let Err(error) = result {
                fail(seed, round, &done, &error);
            }
            if rng.chance(30) {
                tokio::time::sleep(Duration::from_millis(rng.below(8) as u64)).await;
            }
        }
        model.settle();
        let checked = match quiesce(&store, &loader).await {
            Ok(()) => check(&store, &loader, &model).await,
            Err(e) => Err(e),
        };
        if let Err(error) = checked {
            fail(seed, round, &done, &error);
        }
    }
    eprintln!(
        "model: {} operations in {round} rounds, 0 divergences",
        done.len()
    );
    stop.cancel();
    let _ = follow.await;
    loader.shutdown().await;
}

fn names_of(op: &Op) -> Vec<(usize, usize)> {
    match *op {
        Op::Put { ns, name, .. } | Op::Delete { ns, name, .. } | Op::Recreate { ns, name, .. } => {
            vec![(ns, name)]
        }
        Op::Rename { ns, from, to, .. } => vec![(ns, from), (ns, to)],
        // A new tag recompiles every spec that binds it: no spec may also
        // change in the round.
        Op::Tag { ns, .. } => (0..NAMES).map(|n| (ns, n)).collect(),
    }
}

fn fail(seed: u64, round: usize, done: &[Op], error: &str) -> ! {
    let ops: Vec<String> = done.iter().map(|op| format!("  {op:?}")).collect();
    panic!(
        "diverged in round {round}: {error}\nreplay with WEIR_MODEL_SEED={seed}; the {} operations up to here:\n{}",
        done.len(),
        ops.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_changes_match_the_model_on_postgres() {
    run_model(TestDb::postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_changes_match_the_model_on_sqlite() {
    run_model(TestDb::sqlite()).await;
}

/// The model's own rule for refused deletes, on a hand-made namespace.
#[test]
fn the_model_refuses_deletes_that_take_others_down() {
    let mut model = Model::default();
    let row = |name, link| Row {
        id: Uuid::now_v7(),
        name,
        link,
        version: 1,
        binds: false,
        broken: false,
    };
    model.rows[0] = vec![row(0, None), row(1, Some(0)), row(2, Some(5))];
    assert!(model.takes_down(0, 0), "n1 links to n0");
    assert!(!model.takes_down(0, 1), "nothing links to n1");
    assert!(!model.takes_down(0, 2), "n2 runs already without n5");
}
