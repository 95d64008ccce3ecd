//! The store, change stream and loader against a real PostgreSQL database
//! and a real SQLite file, each test on its own fresh database.

mod support;

use std::sync::Arc;
use std::time::Duration;

use support::db::{TestDb, by_hand};
use tokio_util::sync::CancellationToken;
use weir_codecs::Value;
use weir_engine::loader::Loader;
use weir_engine::runtime::Limits;
use weir_engine::spec::source::{Format, parse};
use weir_engine::store::{Backend, Entity, Filter, Store, StoreError};
use weir_engine::{Packet, Process, Spec};

/// Runs `scenario` on PostgreSQL and on SQLite.
macro_rules! on_both {
    ($scenario:ident, $pg:ident, $sqlite:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $pg() {
            $scenario(TestDb::postgres().await).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $sqlite() {
            $scenario(TestDb::sqlite()).await;
        }
    };
}

fn probe(name: &str, answer: i64) -> Spec {
    let yaml = format!("{{kind: probe, name: {name}, behave: answer, answer: {answer}}}");
    parse(&yaml, Format::Yaml, None)
        .expect("parses")
        .remove(0)
        .spec
}

struct Engine {
    loader: Arc<Loader>,
    shared: Arc<support::Shared>,
    stop: CancellationToken,
}

impl Engine {
    async fn start(db: &TestDb) -> Engine {
        let (scheme, shared) = support::scheme();
        let loader = Arc::new(Loader::new(
            db.store().await,
            Arc::new(scheme),
            None,
            Limits::default(),
        ));
        loader.sync().await.expect("snapshot");
        let stop = CancellationToken::new();
        tokio::spawn({
            let (loader, stop) = (loader.clone(), stop.clone());
            async move { loader.run(stop).await }
        });
        Engine {
            loader,
            shared,
            stop,
        }
    }

    /// The answer of `name` in `default`, or None when it does not run.
    async fn answer(&self, name: &str) -> Option<Value> {
        let table = self.loader.table("default")?;
        let answer = table
            .send(name, Process::new(), Packet::new(Value::Null))
            .await;
        (!answer.is_error()).then(|| answer.into_payload())
    }

    fn loads(&self, name: &str) -> Vec<Value> {
        self.shared
            .loads
            .lock()
            .unwrap()
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Waits (up to 20 s) until `check` holds.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn specs_go_live_swap_and_unload(db: TestDb) {
    let engine = Engine::start(&db).await;
    let store = db.store().await;
    store.apply(vec![probe("a", 1)], false).await.unwrap();
    eventually("a is live", || async {
        engine.answer("a").await == Some(Value::Int(1))
    })
    .await;
    store.apply(vec![probe("a", 2)], false).await.unwrap();
    eventually("a is swapped", || async {
        engine.answer("a").await == Some(Value::Int(2))
    })
    .await;
    store
        .delete(Entity::Spec, &[("default".into(), "a".into())])
        .await
        .unwrap();
    eventually("a is gone", || async { engine.answer("a").await.is_none() }).await;
    engine.loader.table("default").unwrap().settled().await;
    assert_eq!(
        engine.loads("a"),
        [Value::Int(1), Value::Int(2)],
        "each version loaded once"
    );
    let events = engine.shared.events();
    assert_eq!(
        events.iter().filter(|e| *e == "a: unload").count(),
        2,
        "{events:?}"
    );
}
on_both!(
    specs_go_live_swap_and_unload,
    live_changes_postgres,
    live_changes_sqlite
);

async fn stale_revisions_are_refused(db: TestDb) {
    let store = db.store().await;
    store.apply(vec![probe("r", 1)], false).await.unwrap();
    let row = store
        .list(Entity::Spec, &Filter::namespace("default"))
        .await
        .unwrap()
        .remove(0);
    let mut spec: Spec = row.decode().unwrap();
    spec.fields.insert("answer".into(), 2.into());
    let updated = store
        .update(spec.clone(), Some(row.revision), false)
        .await
        .unwrap();
    assert_eq!(updated.revision, row.revision + 1);
    spec.fields.insert("answer".into(), 3.into());
    let stale = store
        .update(spec, Some(row.revision), false)
        .await
        .unwrap_err();
    assert!(
        matches!(
            stale,
            StoreError::Conflict {
                expected: 1,
                current: 2,
                ..
            }
        ),
        "{stale}"
    );
    assert!(
        stale
            .to_string()
            .contains("`default/r` is at revision 2, not 1"),
        "{stale}"
    );
    let kept: Spec = store
        .get(Entity::Spec, row.id)
        .await
        .unwrap()
        .unwrap()
        .decode()
        .unwrap();
    assert_eq!(kept.fields["answer"], 2, "the refused update wrote nothing");
}
on_both!(
    stale_revisions_are_refused,
    stale_revision_postgres,
    stale_revision_sqlite
);

async fn a_failed_apply_stores_nothing(db: TestDb) {
    let store = db.store().await;
    store.apply(vec![probe("x", 1)], false).await.unwrap();
    // The last document breaks a constraint after the others were written.
    let mut nameless = probe("tmp", 1);
    nameless.name = Some(String::new());
    let result = store
        .apply(vec![probe("fresh", 1), probe("x", 2), nameless], false)
        .await;
    assert!(matches!(result, Err(StoreError::Database(_))), "{result:?}");
    let rows = store.list(Entity::Spec, &Filter::default()).await.unwrap();
    assert_eq!(
        rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        ["x"],
        "nothing of the failed apply was stored"
    );
    assert_eq!(rows[0].revision, 1);
}
on_both!(
    a_failed_apply_stores_nothing,
    atomic_apply_postgres,
    atomic_apply_sqlite
);

/// A new name whose id another row already has (stored, or taken by an
/// earlier document of the same batch) is `Exists`, a 409 for the API; it
/// once reached the database's unique constraint and answered 503.
async fn an_apply_reusing_a_taken_id_is_refused_as_taken(db: TestDb) {
    let store = db.store().await;
    let first = probe("x", 1);
    store.apply(vec![first.clone()], false).await.unwrap();
    let mut same_id = probe("y", 1);
    same_id.id = first.id;
    let result = store.apply(vec![same_id.clone()], false).await;
    assert!(
        matches!(&result, Err(StoreError::Exists { key, .. }) if key.contains(&first.id.to_string())),
        "{result:?}"
    );
    let mut fresh = probe("fresh", 1);
    fresh.id = uuid::Uuid::now_v7();
    let mut again = probe("fresh-again", 1);
    again.id = fresh.id;
    let result = store.apply(vec![fresh, again], false).await;
    assert!(
        matches!(result, Err(StoreError::Exists { .. })),
        "{result:?}"
    );
    let rows = store.list(Entity::Spec, &Filter::default()).await.unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["x"], "nothing of either apply was stored");
}
on_both!(
    an_apply_reusing_a_taken_id_is_refused_as_taken,
    taken_id_postgres,
    taken_id_sqlite
);

/// A batch naming one spec twice stores the later, as applying them in
/// turn would: one row, one revision, listed once in the plan.
async fn a_name_given_twice_in_a_batch_stores_the_later(db: TestDb) {
    let store = db.store().await;
    let plan = store
        .apply(vec![probe("twin", 1), probe("twin", 2)], false)
        .await
        .unwrap();
    assert_eq!(plan.created, ["default/twin"], "{plan:?}");
    assert!(plan.updated.is_empty(), "{plan:?}");
    let rows = store.list(Entity::Spec, &Filter::default()).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].document["answer"], 2);
    // Stored, a first copy unchanged and a second changed: updated once.
    let plan = store
        .apply(vec![probe("twin", 2), probe("twin", 3)], false)
        .await
        .unwrap();
    assert!(plan.unchanged.is_empty(), "{plan:?}");
    assert_eq!(plan.updated, ["default/twin"], "{plan:?}");
}
on_both!(
    a_name_given_twice_in_a_batch_stores_the_later,
    twice_in_a_batch_postgres,
    twice_in_a_batch_sqlite
);

async fn a_row_that_no_longer_decodes_is_reported(db: TestDb) {
    let engine = Engine::start(&db).await;
    let store = db.store().await;
    store
        .apply(vec![probe("a", 1), probe("b", 1)], false)
        .await
        .unwrap();
    eventually("a and b live", || async {
        engine.answer("a").await.is_some() && engine.answer("b").await.is_some()
    })
    .await;
    let edit = match store.backend() {
        Backend::Postgres => {
            "UPDATE specs SET kind = 'nope', document = jsonb_set(document, '{kind}', '\"nope\"'), revision = revision + 1 WHERE name = 'a'"
        }
        Backend::Sqlite => {
            "UPDATE specs SET kind = 'nope', document = json_set(document, '$.kind', 'nope'), revision = revision + 1 WHERE name = 'a'"
        }
    };
    by_hand(&db, edit).await;
    eventually("the broken row is reported", || async {
        store
            .statuses()
            .await
            .unwrap()
            .iter()
            .any(|s| s.status == "failed" && s.message.contains("unknown kind `nope`"))
    })
    .await;
    assert_eq!(
        engine.answer("a").await,
        Some(Value::Int(1)),
        "the previous version keeps running"
    );
    store.apply(vec![probe("b", 2)], false).await.unwrap();
    eventually("b still follows changes", || async {
        engine.answer("b").await == Some(Value::Int(2))
    })
    .await;
}
on_both!(
    a_row_that_no_longer_decodes_is_reported,
    broken_row_postgres,
    broken_row_sqlite
);

async fn a_loader_behind_the_pruning_resynchronises(db: TestDb) {
    let (scheme, _) = support::scheme();
    let store = db.store().await;
    let loader = Loader::new(db.store().await, Arc::new(scheme), None, Limits::default());
    store.apply(vec![probe("p", 1)], false).await.unwrap();
    loader.sync().await.unwrap();
    for i in 2..=5 {
        store
            .apply(vec![probe("p", i), probe(&format!("q{i}"), i)], false)
            .await
            .unwrap();
    }
    store
        .delete(Entity::Spec, &[("default".into(), "q2".into())])
        .await
        .unwrap();
    assert!(store.prune_changes(1).await.unwrap() > 0);
    loader.poll().await.unwrap();
    assert_eq!(loader.position().await, store.head().await.unwrap());
    let table = loader.table("default").unwrap();
    let answer = table
        .send("p", Process::new(), Packet::new(Value::Null))
        .await;
    assert_eq!(answer.payload(), &Value::Int(5));
    let keys: Vec<String> = table
        .statuses()
        .await
        .into_iter()
        .map(|(_, k, _)| k)
        .collect();
    assert_eq!(keys, ["p", "q3", "q4", "q5"]);
}
on_both!(
    a_loader_behind_the_pruning_resynchronises,
    pruned_postgres,
    pruned_sqlite
);

async fn values_reload_exactly_the_specs_bound_to_them(db: TestDb) {
    let engine = Engine::start(&db).await;
    let store = db.store().await;
    let value = |data: &str| weir_engine::spec::NamedValue {
        id: uuid::Uuid::now_v7(),
        namespace: "default".into(),
        name: "greeting".into(),
        annotations: Default::default(),
        data: data.into(),
        secret: true,
    };
    store.apply(vec![value("hello")], false).await.unwrap();
    let bound = "{kind: probe, name: bound, behave: answer, answer: '{{ GREETING }}', env: {GREETING: {from: greeting}}}";
    let bound = parse(bound, Format::Yaml, None).unwrap().remove(0).spec;
    store
        .apply(vec![bound, probe("free", 1)], false)
        .await
        .unwrap();
    eventually("bound is live", || async {
        engine.answer("bound").await == Some(Value::string("hello"))
    })
    .await;
    store.apply(vec![value("bonjour")], false).await.unwrap();
    eventually("bound follows its value", || async {
        engine.answer("bound").await == Some(Value::string("bonjour"))
    })
    .await;
    assert_eq!(
        engine.loads("free").len(),
        1,
        "an unbound spec is left alone"
    );
    assert_eq!(engine.loads("bound").len(), 2);
}
on_both!(
    values_reload_exactly_the_specs_bound_to_them,
    values_postgres,
    values_sqlite
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_engines_on_one_postgres_converge() {
    let db = TestDb::postgres().await;
    let (one, two) = (Engine::start(&db).await, Engine::start(&db).await);
    let store = db.store().await;
    for batch in 0..5 {
        let specs = (0..10)
            .map(|i| probe(&format!("s{i}"), batch * 10 + i))
            .collect();
        store.apply(specs, false).await.unwrap();
    }
    store
        .delete(Entity::Spec, &[("default".into(), "s9".into())])
        .await
        .unwrap();
    for engine in [&one, &two] {
        eventually("converged", || async {
            let mut all = true;
            for i in 0..9 {
                all &= engine.answer(&format!("s{i}")).await == Some(Value::Int(40 + i));
            }
            all && engine.answer("s9").await.is_none()
        })
        .await;
    }
}

/// Writes `count` updates of spec `name`, retrying each until it commits:
/// the writer's own connections are killed too.
async fn write_through_kills(store: &Store, name: &str, count: i64) {
    for i in 1..=count {
        while store.apply(vec![probe(name, i)], false).await.is_err() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_connections_lose_no_change_and_apply_none_twice() {
    let db = TestDb::postgres().await;
    let engine = Engine::start(&db).await;
    let store = db.store().await;
    let writers = tokio::spawn({
        let store = store.clone();
        async move {
            let names = ["k0", "k1", "k2", "k3"];
            futures_util::future::join_all(
                names.iter().map(|n| write_through_kills(&store, n, 40)),
            )
            .await;
        }
    });
    for _ in 0..15 {
        tokio::time::sleep(Duration::from_millis(30)).await;
        by_hand(&db, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()").await;
    }
    writers.await.unwrap();
    for name in ["k0", "k1", "k2", "k3"] {
        eventually("every last version live", || async {
            engine.answer(name).await == Some(Value::Int(40))
        })
        .await;
        let loads: Vec<i64> = engine
            .loads(name)
            .iter()
            .filter_map(Value::as_i64)
            .collect();
        let mut sorted = loads.clone();
        sorted.dedup();
        assert_eq!(
            loads, sorted,
            "no version of {name} applied twice, none out of order: {loads:?}"
        );
        assert!(loads.windows(2).all(|w| w[0] < w[1]), "{loads:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_committing_out_of_order_skip_no_change() {
    let db = TestDb::postgres().await;
    let engine = Engine::start(&db).await;
    let insert = |name: &str| {
        format!(
            "INSERT INTO specs (id, namespace, name, kind, document) VALUES ('{id}', 'default', '{name}', 'probe', \
             '{{\"id\": \"{id}\", \"kind\": \"probe\", \"namespace\": \"default\", \"name\": \"{name}\", \"behave\": \"answer\", \"answer\": 7}}')",
            id = uuid::Uuid::now_v7()
        )
    };
    // The slow transaction starts first and commits last; the fast ones
    // start while it is open. Without ordering, a loader reading between
    // the commits would advance past the slow one's change and skip it.
    let slow_sql = format!("BEGIN; {}; SELECT pg_sleep(0.5); COMMIT;", insert("slow"));
    let fast_sql: Vec<String> = (0..8)
        .map(|i| format!("BEGIN; {}; COMMIT;", insert(&format!("fast{i}"))))
        .collect();
    let store = db.store().await;
    let others = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let fast = futures_util::future::join_all(fast_sql.iter().map(|sql| by_hand(&db, sql)));
        // Meanwhile, many concurrent writers through the store API.
        let api = futures_util::future::join_all((0..8).map(|i| {
            let store = store.clone();
            async move {
                store
                    .apply(vec![probe(&format!("api{i}"), i)], false)
                    .await
                    .unwrap()
            }
        }));
        tokio::join!(fast, api);
    };
    tokio::join!(by_hand(&db, &slow_sql), others);
    let mut names = vec!["slow".to_string()];
    names.extend((0..8).map(|i| format!("fast{i}")));
    names.extend((0..8).map(|i| format!("api{i}")));
    for name in &names {
        eventually("every change applied", || async {
            engine.answer(name).await.is_some()
        })
        .await;
    }
}

async fn single_row_writes_check_what_the_row_is_now(db: TestDb) {
    let store = db.store().await;
    let created = store.create(probe("one", 1)).await.unwrap();
    assert_eq!(created.revision, 1);
    let taken = store.create(probe("one", 2)).await.unwrap_err();
    assert!(
        matches!(taken, StoreError::Exists { .. })
            && taken.to_string().contains("`default/one` already exists"),
        "{taken}"
    );
    // An update to the same document changes nothing, not even the revision.
    let same: Spec = created.decode().unwrap();
    assert_eq!(
        store.update(same, Some(1), false).await.unwrap().revision,
        1
    );
    // A rename onto a taken name is refused.
    store.create(probe("two", 2)).await.unwrap();
    let mut renamed: Spec = created.decode().unwrap();
    renamed.name = Some("two".into());
    let clash = store.update(renamed, None, false).await.unwrap_err();
    assert!(matches!(clash, StoreError::Exists { .. }), "{clash}");
    // Removing checks the revision, then answers the row as it was.
    let stale = store
        .remove(Entity::Spec, created.id, Some(7), false)
        .await
        .unwrap_err();
    assert!(
        matches!(stale, StoreError::Conflict { current: 1, .. }),
        "{stale}"
    );
    let gone = store
        .remove(Entity::Spec, created.id, Some(1), false)
        .await
        .unwrap();
    assert_eq!(gone.name, "one");
    let again = store
        .remove(Entity::Spec, created.id, None, false)
        .await
        .unwrap_err();
    assert!(matches!(again, StoreError::NotFound { .. }), "{again}");
}
on_both!(
    single_row_writes_check_what_the_row_is_now,
    single_row_postgres,
    single_row_sqlite
);

async fn a_changeset_deletes_then_applies_in_one_transaction(db: TestDb) {
    use weir_engine::store::{Changeset, Key};
    let store = db.store().await;
    store
        .apply(vec![probe("a", 1), probe("b", 1)], false)
        .await
        .unwrap();
    let b = store
        .list(Entity::Spec, &Filter::namespace("default"))
        .await
        .unwrap()
        .remove(1);
    let changes = Changeset {
        apply: vec![probe("a", 2), probe("c", 1)],
        delete: vec![Key::id(b.id), Key::named("default", "ghost")],
        cascade: false,
    };
    let dry = store.commit(changes.clone(), true).await.unwrap();
    assert_eq!(
        (dry.deleted.clone(), dry.missing.clone()),
        (
            vec!["default/b".to_string()],
            vec!["default/ghost".to_string()]
        )
    );
    assert_eq!(
        store
            .list(Entity::Spec, &Filter::default())
            .await
            .unwrap()
            .len(),
        2,
        "a dry run writes nothing"
    );
    let plan = store.commit(changes, false).await.unwrap();
    assert_eq!(
        (plan.created, plan.updated),
        (vec!["default/c".to_string()], vec!["default/a".to_string()])
    );
    let names: Vec<String> = store
        .list(Entity::Spec, &Filter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, ["a", "c"]);
    // Filters select by every field given.
    let filter = Filter {
        name: Some("c".into()),
        kind: Some("probe".into()),
        ..Filter::default()
    };
    assert_eq!(store.list(Entity::Spec, &filter).await.unwrap().len(), 1);
    let other_kind = Filter {
        kind: Some("snippet".into()),
        ..Filter::default()
    };
    assert!(
        store
            .list(Entity::Spec, &other_kind)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .list(Entity::Value, &other_kind)
            .await
            .unwrap()
            .is_empty(),
        "values have no kind"
    );
}
on_both!(
    a_changeset_deletes_then_applies_in_one_transaction,
    changeset_postgres,
    changeset_sqlite
);

async fn watchers_follow_the_change_stream_from_where_they_ask(db: TestDb) {
    let store = db.store().await;
    store.apply(vec![probe("before", 1)], false).await.unwrap();
    let head = store.head().await.unwrap();
    let mut from_now = store.watch(None).await.unwrap();
    let mut from_start = store.watch(Some(0)).await.unwrap();
    assert_eq!(from_now.position(), head);
    let waiting = tokio::spawn(async move { from_now.next().await.unwrap() });
    store.apply(vec![probe("after", 1)], false).await.unwrap();
    let seen = tokio::time::timeout(Duration::from_secs(20), waiting)
        .await
        .expect("woken by the change")
        .unwrap();
    assert_eq!(
        seen.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["after"]
    );
    let all = from_start.next().await.unwrap();
    assert_eq!(
        all.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["before", "after"]
    );
    let ahead = store.watch(Some(head + 100)).await.unwrap_err();
    assert!(matches!(ahead, StoreError::Ahead { .. }), "{ahead}");
    store.prune_changes(1).await.unwrap();
    let pruned = store.watch(Some(0)).await.unwrap_err();
    assert!(
        matches!(pruned, StoreError::Pruned { .. }) && pruned.to_string().contains("list again"),
        "{pruned}"
    );
}
on_both!(
    watchers_follow_the_change_stream_from_where_they_ask,
    watch_postgres,
    watch_sqlite
);
