//! Durable jobs when engines die: two `weir start` engines on one
//! PostgreSQL database running tests/fixtures/jobs/work.yaml, whose branch
//! sleeps, then records its run in `job_runs` (committed with the run's
//! process, so a killed run records nothing).
//!
//! - The engine running a job is killed (SIGKILL): the other takes the job
//!   over once the lease runs out and finishes it; it is recorded as
//!   succeeded once, by the second run.
//! - N jobs (`WEIR_TEST_JOBS`, 1,000 by default) over two engines while
//!   one is killed and restarted and every connection of the database is
//!   terminated (`pg_terminate_backend`): every job ends in exactly one final state,
//!   success; none is lost or enqueued twice; no run is recorded that the
//!   job's attempts do not account for.
//! - A PostgreSQL server of the test's own ([`support::cluster`]) crashes
//!   (`pg_ctl stop -m immediate`) and restarts while jobs are enqueued and
//!   run: the same holds.

mod support;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::Row;
use support::db::TestDb;
use support::{Client, Options, Server, root};

const LEASE_MS: &str = "2000";

fn engine(db: &TestDb, sleep: &str) -> Server {
    engine_on(&db.url, sleep)
}

fn engine_on(url: &str, sleep: &str) -> Server {
    Server::launch(Options {
        files: vec![root().join("tests/fixtures/jobs/work.yaml")],
        database: Some(url.to_string()),
        env: vec![
            ("WEIR_TEST_SLEEP".into(), sleep.into()),
            ("WEIR_JOB_LEASE_MS".into(), LEASE_MS.into()),
        ],
        wait_for: Some("/ping"),
        ..Options::default()
    })
}

/// Runs `f` on a pool of the test's database.
fn on_db<T>(url: &str, f: impl AsyncFnOnce(&sqlx::PgPool) -> T) -> T {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let pool = sqlx::PgPool::connect(url).await.expect("connects");
        let out = f(&pool).await;
        pool.close().await;
        out
    })
}

/// Enqueues with `key` as the idempotency key, retrying through failures
/// (a killed engine, a lost connection); answers the job's id.
fn enqueue(port: u16, key: &str) -> String {
    let body = json!({"key": key}).to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let reply = Client::open(port)
            .and_then(|mut c| c.send("POST", "/jobs", Some(body.as_bytes()), &[support::JSON]));
        match reply {
            Ok(reply) if reply.status == 202 => {
                return reply.json()["job_id"].as_str().unwrap().to_string();
            }
            other => {
                assert!(Instant::now() < deadline, "cannot enqueue {key}: {other:?}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// Enqueues `job-0` … `job-<n-1>` through `port` in a thread of its own,
/// recording each key's job id in `ids`.
fn produce(
    port: u16,
    n: usize,
    ids: &Arc<Mutex<HashMap<String, String>>>,
) -> std::thread::JoinHandle<()> {
    let ids = ids.clone();
    std::thread::spawn(move || {
        for i in 0..n {
            let key = format!("job-{i}");
            let id = enqueue(port, &key);
            ids.lock().unwrap().insert(key, id);
        }
    })
}

#[test]
fn a_killed_engines_job_is_finished_by_the_other_exactly_once() {
    let db = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(TestDb::postgres());
    let first = engine(&db, "3s");
    let second = engine(&db, "3s");
    let id = enqueue(first.port, "one");
    let deadline = Instant::now() + Duration::from_secs(30);
    let holder = loop {
        let holder: Option<String> = on_db(&db.url, async |pool| {
            sqlx::query("SELECT lease_holder FROM jobs WHERE id = $1::uuid AND status = 'building'")
                .bind(&id)
                .fetch_optional(pool)
                .await
                .unwrap()
                .map(|r| r.get(0))
        });
        if let Some(holder) = holder {
            break holder;
        }
        assert!(Instant::now() < deadline, "never claimed");
        std::thread::sleep(Duration::from_millis(20));
    };
    let (victim, survivor) = match holder.starts_with(&format!("engine-{}-", first.pid())) {
        true => (first, second),
        false => (second, first),
    };
    let killed = Instant::now();
    victim.stop();
    let deadline = Instant::now() + Duration::from_secs(60);
    let job = loop {
        let reply = survivor
            .api()
            .send(
                "GET",
                &format!("/v1/jobs/{id}"),
                None,
                &[("Authorization", &survivor.bearer())],
            )
            .unwrap();
        let job = reply.json();
        if job["status"] == "success" || job["status"] == "failed" {
            break job;
        }
        assert!(Instant::now() < deadline, "never finished: {job}");
        std::thread::sleep(Duration::from_millis(20));
    };
    eprintln!(
        "finished {:?} after the kill (lease {LEASE_MS} ms, branch 3 s)",
        killed.elapsed()
    );
    assert_eq!(job["status"], "success", "{job}");
    assert_eq!(job["attempts"], 2, "{job}");
    assert_eq!(job["result"]["attempt"], 2, "{job}");
    let runs: Vec<i32> = on_db(&db.url, async |pool| {
        sqlx::query("SELECT attempt FROM job_runs WHERE job_id = $1")
            .bind(&id)
            .fetch_all(pool)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    });
    assert_eq!(runs, [2], "recorded once, by the run that took over");
}

#[test]
fn n_jobs_survive_a_killed_engine_a_restart_and_lost_connections() {
    let n: usize = std::env::var("WEIR_TEST_JOBS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    let db = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(TestDb::postgres());
    let started = Instant::now();
    let first = engine(&db, "20ms");
    let mut second = Some(engine(&db, "20ms"));
    let ids = Arc::new(Mutex::new(HashMap::new()));
    let producer = produce(first.port, n, &ids);
    let enqueued = || ids.lock().unwrap().len();
    let wait_for = |count: usize| {
        while enqueued() < count && !producer.is_finished() {
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    wait_for(n / 4);
    second.take().unwrap().stop();
    wait_for(n / 2);
    let terminated: i64 = on_db(&support::db::admin_url(), async |pool| {
        let name = db.url.rsplit('/').next().unwrap().to_string();
        sqlx::query("SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()) t")
            .bind(name)
            .fetch_one(pool)
            .await
            .unwrap()
            .get(0)
    });
    let restarted = engine(&db, "20ms");
    producer.join().unwrap();
    let ids = ids.lock().unwrap().clone();
    let (retried, runs) = every_job_succeeded_once(&db.url, &ids);
    let elapsed = started.elapsed();
    eprintln!(
        "{n} jobs over two engines (one killed and restarted, {terminated} connections terminated): all succeeded in {elapsed:?}; {retried} ran more than once, {runs} runs recorded"
    );
    drop(restarted);
    drop(first);
}

/// Waits (at most 5 minutes) until no job of `url` is open, then checks
/// that the jobs are exactly those `ids` answered, each a success whose
/// recorded runs its attempts account for. Answers how many ran more than
/// once and how many runs were recorded.
fn every_job_succeeded_once(url: &str, ids: &HashMap<String, String>) -> (usize, usize) {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let open: i64 = on_db(url, async |pool| {
            sqlx::query("SELECT count(*) FROM jobs WHERE status IN ('queued', 'building')")
                .fetch_one(pool)
                .await
                .unwrap()
                .get(0)
        });
        if open == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{open} jobs never finished");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (jobs, runs) = on_db(url, async |pool| {
        let jobs: Vec<(String, String, i64)> =
            sqlx::query("SELECT id::text, status, attempt FROM jobs WHERE namespace = 'work'")
                .fetch_all(pool)
                .await
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2)))
                .collect();
        let runs: Vec<(String, i32)> = sqlx::query("SELECT job_id, attempt FROM job_runs")
            .fetch_all(pool)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        (jobs, runs)
    });
    // None lost, none twice: exactly the ids answered, one per key.
    let stored: HashSet<&str> = jobs.iter().map(|(id, ..)| id.as_str()).collect();
    let lost: Vec<(&String, &String)> = ids
        .iter()
        .filter(|(_, id)| !stored.contains(id.as_str()))
        .collect();
    assert!(lost.is_empty(), "answered 202 but not stored: {lost:?}");
    let answered: HashSet<&str> = ids.values().map(String::as_str).collect();
    assert_eq!(stored, answered);
    assert_eq!(jobs.len(), ids.len(), "one job per key");
    let mut by_job: HashMap<&str, Vec<i32>> = HashMap::new();
    for (job, attempt) in &runs {
        by_job.entry(job.as_str()).or_default().push(*attempt);
    }
    let mut retried = 0;
    for (id, status, attempts) in &jobs {
        assert_eq!(status, "success", "job {id} ended {status}");
        let recorded = by_job.get(id.as_str()).cloned().unwrap_or_default();
        assert!(
            !recorded.is_empty(),
            "job {id} succeeded with no run recorded"
        );
        assert!(
            recorded.iter().all(|a| i64::from(*a) <= *attempts)
                && recorded.len() as i64 <= *attempts,
            "job {id}: runs {recorded:?} beyond its {attempts} attempts"
        );
        if *attempts == 1 {
            assert_eq!(recorded, [1], "job {id}");
        }
        retried += usize::from(*attempts > 1);
    }
    (retried, runs.len())
}

#[test]
fn a_postgresql_crash_and_restart_mid_run_loses_nothing() {
    let n = 150;
    let cluster = support::cluster::Cluster::start();
    let url = cluster.url();
    let server = engine_on(&url, "20ms");
    let ids = Arc::new(Mutex::new(HashMap::new()));
    let producer = produce(server.port, n, &ids);
    while ids.lock().unwrap().len() < n / 3 && !producer.is_finished() {
        std::thread::sleep(Duration::from_millis(10));
    }
    let crashed = Instant::now();
    cluster.crash_and_restart();
    let down = crashed.elapsed();
    producer.join().unwrap();
    let ids = ids.lock().unwrap().clone();
    let (retried, runs) = every_job_succeeded_once(&url, &ids);
    eprintln!(
        "{n} jobs, PostgreSQL crashed and back in {down:?}: all succeeded once; {retried} ran more than once, {runs} runs recorded"
    );
    // The engine is still serving on the restarted server.
    assert_eq!(server.get("/ping").unwrap().status, 200);
}
