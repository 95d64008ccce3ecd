//! Store, change stream and loader benchmarks (issue 4), each beside a
//! floor measured in the same run:
//!
//! - change propagation, commit → live in a running loader, p50/p99, on
//!   PostgreSQL (beside a bare INSERT → LISTEN/NOTIFY round trip) and SQLite
//!   (beside a bare INSERT → poll detection);
//! - `apply` of 10,000 specs (beside raw INSERTs of the same documents in
//!   one transaction);
//! - cold start with 10,000 specs: snapshot → every node active (beside a
//!   raw SELECT of the same rows).
//!
//! Run: `cargo bench --bench store` (`-- --quick` for a smoke run). Needs
//! PostgreSQL on 127.0.0.1:5432 (scripts/ensure-postgres.sh) or
//! WEIR_TEST_POSTGRES_URL; creates and drops its own database.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::Connection;
use tokio_util::sync::CancellationToken;
use weir_codecs::Value;
use weir_engine::loader::Loader;
use weir_engine::runtime::Limits;
use weir_engine::spec::source::{Format, parse};
use weir_engine::store::Store;
use weir_engine::{Packet, Process, Spec};

fn admin_url() -> String {
    std::env::var("WEIR_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn snippet(name: &str, text: &str) -> Spec {
    let yaml = format!("{{kind: snippet, name: {name}, language: text, code: '{text}'}}");
    parse(&yaml, Format::Yaml, None)
        .expect("parses")
        .remove(0)
        .spec
}

/// Chains of 10 snippets: `c{n}-0 → c{n}-1 → … → c{n}-9`.
fn many_specs(count: usize) -> Vec<Spec> {
    (0..count)
        .map(|i| {
            let (chain, link) = (i / 10, i % 10);
            let ports = match link {
                9 => String::new(),
                _ => format!(", ports: {{out: [{{name: c{chain}-{}}}]}}", link + 1),
            };
            let yaml = format!(
                "{{kind: snippet, name: c{chain}-{link}, language: cel, code: 'self + 1'{ports}}}"
            );
            parse(&yaml, Format::Yaml, None)
                .expect("parses")
                .remove(0)
                .spec
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

struct Database {
    url: String,
    cleanup: Option<String>,
    dir: Option<std::path::PathBuf>,
}

impl Database {
    async fn postgres() -> Database {
        let name = format!("weir_bench_{}", uuid::Uuid::now_v7().simple());
        admin(&format!("CREATE DATABASE {name}")).await;
        let base = admin_url();
        let url = format!(
            "{}/{name}",
            &base[..base.rfind('/').expect("URL has a database")]
        );
        Database {
            url,
            cleanup: Some(name),
            dir: None,
        }
    }

    fn sqlite() -> Database {
        let dir =
            std::env::temp_dir().join(format!("weir-bench-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let url = format!("sqlite://{}", dir.join("weir.db").display());
        Database {
            url,
            cleanup: None,
            dir: Some(dir),
        }
    }

    async fn drop_it(self) {
        if let Some(name) = &self.cleanup {
            admin(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
        }
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

async fn admin(sql: &str) {
    let mut conn = sqlx::PgConnection::connect(&admin_url())
        .await
        .expect("PostgreSQL runs");
    sqlx::raw_sql(sql)
        .execute(&mut conn)
        .await
        .expect("admin statement");
}

/// Commit → live through a running loader: (p50, p99).
async fn propagation(db: &Database, rounds: usize) -> (Duration, Duration) {
    let store = Store::connect(&db.url).await.expect("connects");
    store.migrate().await.expect("migrates");
    store
        .apply(vec![snippet("probe", "v0")], false)
        .await
        .expect("applies");
    let loader = Arc::new(Loader::new(
        store.clone(),
        Arc::new(weir_nodes::scheme()),
        None,
        Limits::default(),
    ));
    loader.sync().await.expect("syncs");
    let stop = CancellationToken::new();
    let follow = tokio::spawn({
        let (loader, stop) = (loader.clone(), stop.clone());
        async move { loader.run(stop).await }
    });
    let table = loader.table("default").expect("table");
    let mut latencies = Vec::with_capacity(rounds);
    for i in 1..=rounds {
        let want = Value::string(format!("v{i}"));
        store
            .apply(vec![snippet("probe", &format!("v{i}"))], false)
            .await
            .expect("applies");
        let committed = Instant::now();
        loop {
            let answer = table
                .send("probe", Process::new(), Packet::new(Value::Null))
                .await;
            if *answer.payload() == want {
                break;
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        latencies.push(committed.elapsed());
    }
    stop.cancel();
    let _ = follow.await;
    loader.shutdown().await;
    store.close().await;
    latencies.sort();
    (percentile(&latencies, 0.5), percentile(&latencies, 0.99))
}

/// The floor for PostgreSQL: INSERT + NOTIFY committed → a LISTEN connection
/// has it.
async fn notify_floor(db: &Database, rounds: usize) -> (Duration, Duration) {
    let mut listener = sqlx::postgres::PgListener::connect(&db.url)
        .await
        .expect("listens");
    listener.listen("weir_bench").await.expect("listens");
    let mut conn = sqlx::PgConnection::connect(&db.url)
        .await
        .expect("connects");
    sqlx::raw_sql("CREATE TABLE IF NOT EXISTS bench_floor (n bigint)")
        .execute(&mut conn)
        .await
        .expect("table");
    let mut latencies = Vec::with_capacity(rounds);
    for i in 0..rounds as i64 {
        let sql = format!(
            "BEGIN; INSERT INTO bench_floor VALUES ({i}); SELECT pg_notify('weir_bench', '{i}'); COMMIT;"
        );
        sqlx::raw_sql(&sql)
            .execute(&mut conn)
            .await
            .expect("notifies");
        let committed = Instant::now();
        listener.recv().await.expect("receives");
        latencies.push(committed.elapsed());
    }
    latencies.sort();
    (percentile(&latencies, 0.5), percentile(&latencies, 0.99))
}

/// The floor for SQLite: INSERT committed → a poller every 20 ms sees it
/// (the loader's interval).
async fn poll_floor(db: &Database, rounds: usize) -> (Duration, Duration) {
    let url = format!("{}?mode=rwc", db.url);
    let mut writer = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("connects");
    let mut reader = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("connects");
    sqlx::raw_sql("CREATE TABLE IF NOT EXISTS bench_floor (n INTEGER)")
        .execute(&mut writer)
        .await
        .expect("table");
    let mut latencies = Vec::with_capacity(rounds);
    for i in 0..rounds as i64 {
        sqlx::query("INSERT INTO bench_floor VALUES (?)")
            .bind(i)
            .execute(&mut writer)
            .await
            .expect("inserts");
        let committed = Instant::now();
        loop {
            let seen: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(n), -1) FROM bench_floor")
                .fetch_one(&mut reader)
                .await
                .expect("reads");
            if seen == i {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        latencies.push(committed.elapsed());
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    latencies.sort();
    (percentile(&latencies, 0.5), percentile(&latencies, 0.99))
}

/// `apply` of `count` specs, then a cold start on them: (apply, raw insert,
/// cold start, raw select).
async fn bulk(db: &Database, count: usize) -> (Duration, Duration, Duration, Duration) {
    let store = Store::connect(&db.url).await.expect("connects");
    store.migrate().await.expect("migrates");
    let specs = many_specs(count);
    let started = Instant::now();
    let plan = store.apply(specs.clone(), false).await.expect("applies");
    let apply = started.elapsed();
    assert_eq!(plan.created.len(), count);

    // Floor: the same documents inserted raw, in one transaction.
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&db.url)
        .await
        .expect("connects");
    sqlx::raw_sql("CREATE TABLE bench_raw (id TEXT PRIMARY KEY, document TEXT NOT NULL)")
        .execute(&mut conn)
        .await
        .expect("table");
    let insert = match db.cleanup {
        Some(_) => "INSERT INTO bench_raw (id, document) VALUES ($1, $2)",
        None => "INSERT INTO bench_raw (id, document) VALUES (?1, ?2)",
    };
    let started = Instant::now();
    let mut tx = conn.begin().await.expect("begins");
    for spec in &specs {
        let document = serde_json::to_string(spec).expect("serialises");
        sqlx::query(insert)
            .bind(spec.id.to_string())
            .bind(document)
            .execute(&mut *tx)
            .await
            .expect("inserts");
    }
    tx.commit().await.expect("commits");
    let raw_insert = started.elapsed();

    let started = Instant::now();
    let loader = Loader::new(
        store.clone(),
        Arc::new(weir_nodes::scheme()),
        None,
        Limits::default(),
    );
    let loaded = loader.sync().await.expect("syncs");
    assert!(loaded.failed.is_empty());
    let statuses = loader.table("default").expect("table").statuses().await;
    let cold = started.elapsed();
    assert!(
        statuses
            .iter()
            .all(|(_, _, s)| *s == weir_engine::symbol::Status::Active)
    );

    let started = Instant::now();
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT id, document FROM bench_raw")
        .fetch_all(&mut conn)
        .await
        .expect("selects");
    let parsed: Vec<serde_json::Value> = rows
        .iter()
        .map(|(_, d)| serde_json::from_str(d).expect("json"))
        .collect();
    let raw_select = started.elapsed();
    assert_eq!(parsed.len(), count);

    loader.shutdown().await;
    store.close().await;
    (apply, raw_insert, cold, raw_select)
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (rounds, count) = if quick { (20, 1_000) } else { (300, 10_000) };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        println!("| measurement | Weir | floor (same run) | goal |");
        println!("|---|---|---|---|");
        let pg = Database::postgres().await;
        let (p50, p99) = propagation(&pg, rounds).await;
        let (f50, f99) = notify_floor(&pg, rounds).await;
        println!(
            "| PostgreSQL commit → live, p50 / p99 ({rounds} changes) | {} / {} | {} / {} (INSERT → NOTIFY received) | p99 < 50 ms |",
            ms(p50), ms(p99), ms(f50), ms(f99)
        );
        pg.drop_it().await;
        let lite = Database::sqlite();
        let (p50, p99) = propagation(&lite, rounds / 3).await;
        let (f50, f99) = poll_floor(&lite, rounds / 3).await;
        println!(
            "| SQLite commit → live, p50 / p99 ({} changes) | {} / {} | {} / {} (INSERT → a poll query sees it; no interval) | p99 < 250 ms |",
            rounds / 3, ms(p50), ms(p99), ms(f50), ms(f99)
        );
        lite.drop_it().await;
        for (label, db) in [("PostgreSQL", Database::postgres().await), ("SQLite", Database::sqlite())] {
            let (apply, raw_insert, cold, raw_select) = bulk(&db, count).await;
            println!("| {label}: `apply` of {count} specs (one transaction) | {} | {} (raw INSERTs, one transaction) | |", ms(apply), ms(raw_insert));
            println!("| {label}: cold start, {count} specs → all active | {} | {} (raw SELECT + JSON parse) | < 2 s |", ms(cold), ms(raw_select));
            db.drop_it().await;
        }
    });
}
