//! Durable jobs against a real PostgreSQL database and a real SQLite file,
//! each test on its own fresh database: the queue's operations one by one,
//! workers running handlers, a model-based test of random operation
//! sequences over two engines, and a crash test with a second process
//! killed with SIGKILL while it holds a job.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::AnyPool;
use support::db::TestDb;
use tokio_util::sync::CancellationToken;
use weir_engine::store::Backend;
use weir_engine::store::jobs::{
    Backoff, Failure, Job, JobError, JobFilter, Lease, NewJob, Queue, QueueConfig, Status, Worker,
    WorkerConfig,
};

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

/// A queue with `lease`, and retries an hour apart (so a retried job waits
/// until a test moves time).
async fn queue(db: &TestDb, lease: Duration) -> Queue {
    Queue::new(
        db.store().await,
        QueueConfig {
            lease,
            backoff: Backoff {
                base: Duration::from_secs(3600),
                max: Duration::from_secs(3600),
            },
        },
    )
    .expect("valid config")
}

/// Edits the jobs table as a person with psql would, to make time pass.
struct Hand {
    pool: AnyPool,
    backend: Backend,
}

impl Hand {
    async fn new(db: &TestDb) -> Hand {
        sqlx::any::install_default_drivers();
        let backend = match db.url.starts_with("postgres") {
            true => Backend::Postgres,
            false => Backend::Sqlite,
        };
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .connect(&db.url)
            .await
            .expect("connects");
        Hand { pool, backend }
    }

    /// Moves `column` back by `seconds` in the rows `filter` selects.
    async fn back(&self, column: &str, seconds: i64, filter: &str) {
        let sql = match self.backend {
            Backend::Postgres => format!(
                "UPDATE jobs SET {column} = {column} - interval '{seconds} seconds' WHERE {filter}"
            ),
            Backend::Sqlite => format!(
                "UPDATE jobs SET {column} = strftime('%Y-%m-%dT%H:%M:%fZ', {column}, '-{seconds} seconds') WHERE {filter}"
            ),
        };
        sqlx::query(&sql)
            .execute(&self.pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Runs out the lease of job `id`.
    async fn expire(&self, id: uuid::Uuid) {
        self.back(
            "lease_expires_at",
            3600 * 24,
            &format!("id = '{id}' AND status = 'building'"),
        )
        .await;
    }
}

fn new(payload: serde_json::Value) -> NewJob {
    NewJob::new("default", "work", payload)
}

async fn claim_one(queue: &Queue, holder: &str) -> weir_engine::store::jobs::Claimed {
    let mut claimed = queue.claim(holder, 1, None).await.expect("claims");
    assert_eq!(claimed.len(), 1, "one job ready");
    claimed.remove(0)
}

async fn whole_cycle(db: TestDb) {
    let queue = queue(&db, Duration::from_secs(30)).await;
    let enqueued = queue.enqueue(new(json!({"n": 1}))).await.expect("enqueues");
    assert!(enqueued.created);
    let job = enqueued.job;
    assert_eq!(job.status, Status::Queued);
    assert_eq!((job.attempt, job.max_attempts, job.lease_token), (0, 3, 0));
    assert_eq!(job.payload, json!({"n": 1}));
    assert!(job.started_at.is_none() && job.lease_holder.is_none());

    let claimed = claim_one(&queue, "engine-a").await;
    assert_eq!(claimed.job.id, job.id);
    assert_eq!(claimed.job.status, Status::Building);
    assert_eq!(claimed.job.attempt, 1);
    assert_eq!(claimed.lease.token, 1);
    assert_eq!(claimed.job.lease_holder.as_deref(), Some("engine-a"));
    assert!(claimed.job.lease_expires_at.is_some() && claimed.job.started_at.is_some());
    assert!(claimed.deadline_in.is_none());
    // Nothing else is ready.
    assert!(queue.claim("engine-b", 5, None).await.unwrap().is_empty());

    let beat = queue.heartbeat(&claimed.lease).await.expect("renews");
    assert!(!beat.cancel_requested);
    let done = queue
        .complete(&claimed.lease, json!({"answer": 42}))
        .await
        .expect("completes");
    assert_eq!(done.status, Status::Success);
    assert_eq!(done.result, Some(json!({"answer": 42})));
    assert!(done.finished_at.is_some() && done.lease_expires_at.is_none());
    assert_eq!(queue.get(job.id).await.unwrap(), Some(done.clone()));

    // Listings filter and page, newest first.
    let second = queue.enqueue(new(json!(2))).await.unwrap().job;
    let third = queue
        .enqueue(NewJob::new("other", "work", json!(3)))
        .await
        .unwrap()
        .job;
    let all = queue.list(&JobFilter::default()).await.unwrap();
    let ids: Vec<_> = all.iter().map(|j| j.id).collect();
    assert_eq!(ids, vec![third.id, second.id, job.id]);
    let queued = JobFilter {
        status: Some(Status::Queued),
        namespace: Some("default".into()),
        ..JobFilter::default()
    };
    let listed = queue.list(&queued).await.unwrap();
    assert_eq!(
        listed.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![second.id]
    );
    let page = JobFilter {
        before: Some(second.id),
        limit: Some(5),
        ..JobFilter::default()
    };
    let listed = queue.list(&page).await.unwrap();
    assert_eq!(
        listed.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![job.id]
    );
    // A namespace filter on claims.
    let other = queue.claim("engine-a", 5, Some("other")).await.unwrap();
    assert_eq!(other.len(), 1);
    assert_eq!(other[0].job.id, third.id);
}
on_both!(whole_cycle, whole_cycle_postgres, whole_cycle_sqlite);

async fn idempotency(db: TestDb) {
    let queue = queue(&db, Duration::from_secs(30)).await;
    let first = queue
        .enqueue(new(json!(1)).idempotency_key("order-7"))
        .await
        .unwrap();
    let again = queue
        .enqueue(new(json!("different")).idempotency_key("order-7"))
        .await
        .unwrap();
    assert!(first.created && !again.created);
    assert_eq!(again.job, first.job);
    let elsewhere = queue
        .enqueue(NewJob::new("other", "work", json!(1)).idempotency_key("order-7"))
        .await
        .unwrap();
    assert!(elsewhere.created && elsewhere.job.id != first.job.id);
    let plain_a = queue.enqueue(new(json!(1))).await.unwrap();
    let plain_b = queue.enqueue(new(json!(1))).await.unwrap();
    assert!(plain_a.created && plain_b.created && plain_a.job.id != plain_b.job.id);
    // Still the same job once it ran.
    let claimed = claim_one(&queue, "a").await;
    assert_eq!(claimed.job.id, first.job.id);
    queue.complete(&claimed.lease, json!(null)).await.unwrap();
    let after = queue
        .enqueue(new(json!(1)).idempotency_key("order-7"))
        .await
        .unwrap();
    assert!(!after.created);
    assert_eq!(after.job.status, Status::Success);
}
on_both!(idempotency, idempotency_postgres, idempotency_sqlite);

async fn fencing(db: TestDb) {
    let queue = queue(&db, Duration::from_secs(30)).await;
    let hand = Hand::new(&db).await;
    let id = queue.enqueue(new(json!(1))).await.unwrap().job.id;
    let paused = claim_one(&queue, "engine-a").await;
    // Engine a pauses past its lease; engine b sweeps and takes over.
    hand.expire(id).await;
    let swept = queue.sweep().await.unwrap();
    assert_eq!(swept.requeued, 1);
    let requeued = queue.get(id).await.unwrap().unwrap();
    assert_eq!(requeued.status, Status::Queued);
    assert_eq!(
        requeued.last_error.as_ref().and_then(|e| e.code.as_deref()),
        Some("lease_expired")
    );
    let current = claim_one(&queue, "engine-b").await;
    assert_eq!((current.lease.token, current.job.attempt), (2, 2));

    // Every late word from a is refused, and changes nothing.
    let late = queue.complete(&paused.lease, json!("stale")).await;
    match late {
        Err(JobError::Fenced {
            status, current, ..
        }) => {
            assert_eq!(status, Status::Building);
            assert_eq!(current, Some(("engine-b".to_string(), 2)));
        }
        other => panic!("expected a fenced refusal, got {other:?}"),
    }
    assert!(matches!(
        queue.heartbeat(&paused.lease).await,
        Err(JobError::Fenced { .. })
    ));
    assert!(matches!(
        queue.fail(&paused.lease, Failure::new("late")).await,
        Err(JobError::Fenced { .. })
    ));
    assert!(matches!(
        queue.release(&paused.lease).await,
        Err(JobError::Fenced { .. })
    ));
    // The same token from another holder is refused too.
    let forged = Lease {
        holder: "engine-a".into(),
        ..current.lease.clone()
    };
    assert!(matches!(
        queue.complete(&forged, json!("forged")).await,
        Err(JobError::Fenced { .. })
    ));
    let done = queue.complete(&current.lease, json!("b")).await.unwrap();
    assert_eq!(done.result, Some(json!("b")));
    match queue.complete(&paused.lease, json!("stale")).await {
        Err(error @ JobError::Fenced { .. }) => {
            let message = error.to_string();
            assert!(message.contains("is success"), "{message}");
        }
        other => panic!("expected a fenced refusal, got {other:?}"),
    }
    assert_eq!(
        queue.get(id).await.unwrap().unwrap().result,
        Some(json!("b"))
    );
    // A lease of a job that does not exist.
    let unknown = Lease {
        job: uuid::Uuid::now_v7(),
        holder: "a".into(),
        token: 1,
    };
    assert!(matches!(
        queue.heartbeat(&unknown).await,
        Err(JobError::NotFound(_))
    ));
}
on_both!(fencing, fencing_postgres, fencing_sqlite);

async fn lease_expiry_takeover(db: TestDb) {
    // Real time, by the database's clock: a one-second lease runs out.
    let queue = queue(&db, Duration::from_millis(1_000)).await;
    let id = queue.enqueue(new(json!(1))).await.unwrap().job.id;
    let first = claim_one(&queue, "engine-a").await;
    assert_eq!(queue.sweep().await.unwrap().requeued, 0, "lease still runs");
    // A heartbeat after expiry but before anyone took over still renews.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    queue.heartbeat(&first.lease).await.expect("still current");
    assert_eq!(queue.sweep().await.unwrap().requeued, 0, "renewed");
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(queue.sweep().await.unwrap().requeued, 1);
    let second = claim_one(&queue, "engine-b").await;
    assert_eq!(second.job.id, id);
    assert_eq!(second.lease.token, 2);
    assert!(matches!(
        queue.heartbeat(&first.lease).await,
        Err(JobError::Fenced { .. })
    ));
}
on_both!(
    lease_expiry_takeover,
    lease_expiry_takeover_postgres,
    lease_expiry_takeover_sqlite
);

async fn retries_then_failed(db: TestDb) {
    let queue = queue(&db, Duration::from_secs(30)).await;
    let hand = Hand::new(&db).await;
    let id = queue
        .enqueue(new(json!(1)).max_attempts(3))
        .await
        .unwrap()
        .job
        .id;
    for attempt in 1..=3 {
        let claimed = claim_one(&queue, "a").await;
        assert_eq!(claimed.job.attempt, attempt);
        let failed = queue
            .fail(&claimed.lease, Failure::new(format!("boom {attempt}")))
            .await
            .unwrap();
        assert_eq!(
            failed.last_error.unwrap().message,
            format!("boom {attempt}")
        );
        if attempt < 3 {
            assert_eq!(failed.status, Status::Queued);
            assert!(failed.finished_at.is_none());
            // The retry waits its backoff (an hour, jittered, here)...
            assert!(queue.claim("a", 1, None).await.unwrap().is_empty());
            // ...until time passes.
            hand.back("scheduled_at", 2 * 3600, "status = 'queued'")
                .await;
        } else {
            assert_eq!(failed.status, Status::Failed);
            assert!(failed.finished_at.is_some());
        }
    }
    assert!(queue.claim("a", 1, None).await.unwrap().is_empty());
    // The backoff grows: 1s, 2s, 4s … capped, plus up to half as jitter.
    let backoff = Backoff {
        base: Duration::from_secs(1),
        max: Duration::from_secs(10),
    };
    for (attempt, plain) in [(1, 1), (2, 2), (3, 4), (4, 8), (5, 10), (40, 10)] {
        let delay = backoff.delay(attempt);
        let plain = Duration::from_secs(plain);
        assert!(
            delay >= plain && delay <= plain * 3 / 2,
            "{attempt}: {delay:?}"
        );
    }
    // A permanent failure does not retry; a lease lost on the last
    // attempt fails the job with that reason.
    let permanent = queue.enqueue(new(json!(2))).await.unwrap().job.id;
    let claimed = claim_one(&queue, "a").await;
    let failed = queue
        .fail(&claimed.lease, Failure::new("bad payload").permanent())
        .await
        .unwrap();
    assert_eq!(
        (failed.id, failed.status, failed.attempt),
        (permanent, Status::Failed, 1)
    );
    let once = queue
        .enqueue(new(json!(3)).max_attempts(1))
        .await
        .unwrap()
        .job
        .id;
    claim_one(&queue, "a").await;
    hand.expire(once).await;
    let swept = queue.sweep().await.unwrap();
    assert_eq!((swept.failed, swept.requeued), (1, 0));
    let job = queue.get(once).await.unwrap().unwrap();
    assert_eq!(job.status, Status::Failed);
    assert_eq!(
        job.last_error.unwrap().code.as_deref(),
        Some("lease_expired")
    );
    let _ = id;
}
on_both!(
    retries_then_failed,
    retries_then_failed_postgres,
    retries_then_failed_sqlite
);

async fn cancel(db: TestDb) {
    let queue = queue(&db, Duration::from_secs(30)).await;
    let hand = Hand::new(&db).await;
    // Queued: cancelled at once, never claimed.
    let queued = queue.enqueue(new(json!(1))).await.unwrap().job.id;
    let cancelled = queue.cancel(queued).await.unwrap();
    assert_eq!(cancelled.status, Status::Cancelled);
    assert!(cancelled.finished_at.is_some());
    assert!(queue.claim("a", 5, None).await.unwrap().is_empty());
    // Again: answered as it is.
    assert_eq!(
        queue.cancel(queued).await.unwrap().status,
        Status::Cancelled
    );

    // Building: requested, seen by the holder's heartbeat; its failure
    // report ends it cancelled, not retried.
    let running = queue.enqueue(new(json!(2))).await.unwrap().job.id;
    let claimed = claim_one(&queue, "a").await;
    let requested = queue.cancel(running).await.unwrap();
    assert_eq!(requested.status, Status::Building);
    assert!(requested.cancel_requested);
    assert!(
        queue
            .heartbeat(&claimed.lease)
            .await
            .unwrap()
            .cancel_requested
    );
    let over = queue
        .fail(&claimed.lease, Failure::new("stopped"))
        .await
        .unwrap();
    assert_eq!(over.status, Status::Cancelled);

    // Building, holder gone: cancelled when the lease runs out.
    let orphan = queue.enqueue(new(json!(3))).await.unwrap().job.id;
    claim_one(&queue, "a").await;
    queue.cancel(orphan).await.unwrap();
    hand.expire(orphan).await;
    assert_eq!(queue.sweep().await.unwrap().cancelled, 1);
    assert_eq!(
        queue.get(orphan).await.unwrap().unwrap().status,
        Status::Cancelled
    );

    // Finished: unchanged.
    let finished = queue.enqueue(new(json!(4))).await.unwrap().job.id;
    let claimed = claim_one(&queue, "a").await;
    queue.complete(&claimed.lease, json!(1)).await.unwrap();
    let job = queue.cancel(finished).await.unwrap();
    assert_eq!(job.status, Status::Success);
    assert!(!job.cancel_requested);

    let unknown = uuid::Uuid::now_v7();
    assert!(matches!(
        queue.cancel(unknown).await,
        Err(JobError::NotFound(id)) if id == unknown
    ));
}
on_both!(cancel, cancel_postgres, cancel_sqlite);

async fn prune(db: TestDb) {
    let queue = queue(&db, Duration::from_secs(30)).await;
    let hand = Hand::new(&db).await;
    let done = queue.enqueue(new(json!(1))).await.unwrap().job.id;
    let claimed = claim_one(&queue, "a").await;
    queue.complete(&claimed.lease, json!(1)).await.unwrap();
    let cancelled = queue.enqueue(new(json!(2))).await.unwrap().job.id;
    queue.cancel(cancelled).await.unwrap();
    let waiting = queue.enqueue(new(json!(3))).await.unwrap().job.id;
    let day = Duration::from_secs(24 * 3600);
    assert_eq!(queue.prune(day).await.unwrap(), 0, "all recent");
    hand.back("finished_at", 2 * 24 * 3600, &format!("id = '{done}'"))
        .await;
    hand.back("created_at", 2 * 24 * 3600, "TRUE").await;
    assert_eq!(queue.prune(day).await.unwrap(), 1);
    assert!(queue.get(done).await.unwrap().is_none());
    assert!(queue.get(cancelled).await.unwrap().is_some());
    assert!(
        queue.get(waiting).await.unwrap().is_some(),
        "unfinished jobs stay"
    );
}
on_both!(prune, prune_postgres, prune_sqlite);

async fn deadlines(db: TestDb) {
    let queue = queue(&db, Duration::from_secs(30)).await;
    let hand = Hand::new(&db).await;
    let late = queue
        .enqueue(new(json!(1)).deadline(Duration::from_secs(60)))
        .await
        .unwrap()
        .job
        .id;
    hand.back("deadline", 120, &format!("id = '{late}'")).await;
    assert!(queue.claim("a", 1, None).await.unwrap().is_empty());
    assert_eq!(queue.sweep().await.unwrap().failed, 1);
    let job = queue.get(late).await.unwrap().unwrap();
    assert_eq!(job.status, Status::Failed);
    assert_eq!(job.last_error.unwrap().code.as_deref(), Some("deadline"));
    // A claim says how long is left, by the database's clock.
    queue
        .enqueue(new(json!(2)).deadline(Duration::from_secs(60)))
        .await
        .unwrap();
    let claimed = claim_one(&queue, "a").await;
    let left = claimed.deadline_in.expect("has a deadline");
    assert!(left > Duration::from_secs(50) && left <= Duration::from_secs(60));
    // A retry that would start after the deadline is not made.
    let failed = queue
        .fail(&claimed.lease, Failure::new("boom"))
        .await
        .unwrap();
    assert_eq!(failed.status, Status::Failed);
}
on_both!(deadlines, deadlines_postgres, deadlines_sqlite);

async fn bad_input(db: TestDb) {
    let queue = queue(&db, Duration::from_secs(30)).await;
    fn refused<T: std::fmt::Debug>(result: Result<T, JobError>, field: &str) {
        match result {
            Err(JobError::Invalid { field: f, message }) => {
                assert_eq!(f, field, "{message}");
            }
            other => panic!("expected {field} refused, got {other:?}"),
        }
    }
    refused(
        queue.enqueue(NewJob::new("", "n", json!(1))).await,
        "namespace",
    );
    refused(queue.enqueue(NewJob::new("d", "", json!(1))).await, "node");
    refused(
        queue
            .enqueue(NewJob::new("d", &"n".repeat(300), json!(1)))
            .await,
        "node",
    );
    refused(
        queue.enqueue(new(json!(1)).max_attempts(0)).await,
        "max_attempts",
    );
    refused(
        queue.enqueue(new(json!(1)).max_attempts(1_000)).await,
        "max_attempts",
    );
    refused(
        queue.enqueue(new(json!(1)).idempotency_key("a\nb")).await,
        "idempotency_key",
    );
    refused(
        queue.enqueue(new(json!(1)).deadline(Duration::ZERO)).await,
        "deadline",
    );
    refused(
        queue
            .enqueue(new(json!(1)).delay(Duration::from_secs(400 * 24 * 3600)))
            .await,
        "delay",
    );
    refused(
        queue.enqueue(new(json!("x".repeat(2 << 20)))).await,
        "payload",
    );
    refused(queue.claim("", 1, None).await, "holder");
    let config = QueueConfig {
        lease: Duration::from_millis(10),
        ..QueueConfig::default()
    };
    assert!(matches!(
        Queue::new(queue.store().clone(), config),
        Err(JobError::Invalid { field: "lease", .. })
    ));
    // A result too large is refused; the run can still report a failure.
    queue.enqueue(new(json!(1))).await.unwrap();
    let claimed = claim_one(&queue, "a").await;
    refused(
        queue
            .complete(&claimed.lease, json!("x".repeat(2 << 20)))
            .await,
        "result",
    );
    let job = queue.get(claimed.job.id).await.unwrap().unwrap();
    assert_eq!(job.status, Status::Building, "nothing half-written");
    // An oversized failure is cut to fit.
    let huge = Failure {
        details: json!("d".repeat(2 << 20)),
        ..Failure::new("m".repeat(100_000))
    };
    let failed = queue.fail(&claimed.lease, huge).await.unwrap();
    let kept = failed.last_error.unwrap();
    assert!(kept.details.is_null() && kept.message.len() < 70_000);
    assert_eq!(queue.claim("a", 0, None).await.unwrap().len(), 0);
}
on_both!(bad_input, bad_input_postgres, bad_input_sqlite);

/// A worker config for tests: quick heartbeats and sweeps.
fn worker_config(holder: &str, queue: &Queue) -> WorkerConfig {
    WorkerConfig {
        concurrency: 8,
        heartbeat: Duration::from_millis(200),
        poll: Duration::from_millis(200),
        sweep: Duration::from_millis(200),
        grace: Duration::from_millis(500),
        drain: Duration::from_secs(2),
        ..WorkerConfig::new(holder, queue)
    }
}

/// Waits until every job is final; panics after `limit`.
async fn all_final(queue: &Queue, limit: Duration) -> Vec<Job> {
    let started = Instant::now();
    loop {
        let jobs = queue
            .list(&JobFilter {
                limit: Some(1_000),
                ..JobFilter::default()
            })
            .await
            .unwrap();
        if jobs.iter().all(|j| j.status.is_final()) {
            return jobs;
        }
        assert!(
            started.elapsed() < limit,
            "jobs still running after {limit:?}: {:?}",
            jobs.iter()
                .filter(|j| !j.status.is_final())
                .map(|j| (j.id, j.status))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn workers_run_each_job_once(db: TestDb) {
    let queue = queue(&db, Duration::from_secs(5)).await;
    let runs: Arc<Mutex<HashMap<uuid::Uuid, Vec<String>>>> = Arc::default();
    let stop = CancellationToken::new();
    let mut engines = Vec::new();
    for holder in ["engine-a", "engine-b"] {
        // Each engine has its own store, as two processes would.
        let own = Queue::new(db.store().await, queue.config()).unwrap();
        let runs = runs.clone();
        let worker = Worker::new(own.clone(), worker_config(holder, &own), move |job, _| {
            let runs = runs.clone();
            let holder = holder.to_string();
            async move {
                runs.lock().unwrap().entry(job.id).or_default().push(holder);
                let n = job.payload["n"].as_i64().unwrap_or(0);
                tokio::time::sleep(Duration::from_millis((n % 5) as u64)).await;
                match n % 10 {
                    // Every tenth fails for good.
                    9 => Err(Failure::new(format!("job {n} refuses")).permanent()),
                    _ => Ok(json!({"n": n})),
                }
            }
        })
        .unwrap();
        engines.push(tokio::spawn(worker.run(stop.clone())));
    }
    let count = 200;
    for n in 0..count {
        queue.enqueue(new(json!({"n": n}))).await.unwrap();
    }
    let jobs = all_final(&queue, Duration::from_secs(60)).await;
    stop.cancel();
    for engine in engines {
        engine.await.unwrap();
    }
    assert_eq!(jobs.len(), count);
    let runs = runs.lock().unwrap();
    for job in &jobs {
        let n = job.payload["n"].as_i64().unwrap();
        assert_eq!(runs.get(&job.id).map(Vec::len), Some(1), "job {n} ran once");
        assert_eq!(job.attempt, 1);
        match n % 10 {
            9 => assert_eq!(job.status, Status::Failed),
            _ => {
                assert_eq!(job.status, Status::Success);
                assert_eq!(job.result, Some(json!({"n": n})));
            }
        }
    }
}
on_both!(
    workers_run_each_job_once,
    workers_run_each_job_once_postgres,
    workers_run_each_job_once_sqlite
);

async fn worker_stops_handlers(db: TestDb) {
    let queue = queue(&db, Duration::from_secs(3)).await;
    let hand = Hand::new(&db).await;
    let seen: Arc<Mutex<Vec<(i64, &'static str)>>> = Arc::default();
    let stop = CancellationToken::new();
    let worker = Worker::new(queue.clone(), worker_config("engine-a", &queue), {
        let seen = seen.clone();
        move |job, token: CancellationToken| {
            let seen = seen.clone();
            async move {
                let n = job.payload.as_i64().unwrap_or(0);
                match n {
                    // Fails twice, then succeeds.
                    1 if job.attempt < 3 => Err(Failure::new("not yet")),
                    // Waits for its token.
                    2 | 3 => {
                        token.cancelled().await;
                        seen.lock().unwrap().push((n, "stopped"));
                        Err(Failure::new("stopped"))
                    }
                    // Ignores its token: dropped after the grace period.
                    4 => std::future::pending().await,
                    5 => panic!("handler bug"),
                    _ => Ok(json!({"attempt": job.attempt})),
                }
            }
        }
    })
    .unwrap();
    let running = tokio::spawn(worker.run(stop.clone()));
    let wait_for = |id: uuid::Uuid, status: Status| {
        let queue = queue.clone();
        async move {
            for _ in 0..400 {
                let job = queue.get(id).await.unwrap().unwrap();
                if job.status == status {
                    return job;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            panic!("job never became {status}");
        }
    };
    // Retries run after their backoff.
    let flaky = queue.enqueue(new(json!(1))).await.unwrap().job.id;
    for failed in 1..=2 {
        for _ in 0..400 {
            let job = queue.get(flaky).await.unwrap().unwrap();
            if job.status == Status::Queued && job.attempt == failed {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        hand.back("scheduled_at", 2 * 3600, "status = 'queued'")
            .await;
    }
    let job = wait_for(flaky, Status::Success).await;
    assert_eq!(job.result, Some(json!({"attempt": 3})));
    // Cancelled while running: the handler sees its token.
    let cancelled = queue.enqueue(new(json!(2))).await.unwrap().job.id;
    wait_for(cancelled, Status::Building).await;
    queue.cancel(cancelled).await.unwrap();
    wait_for(cancelled, Status::Cancelled).await;
    // Lease lost (taken over by hand): the handler is stopped and its
    // outcome not recorded.
    let lost = queue.enqueue(new(json!(3))).await.unwrap().job.id;
    wait_for(lost, Status::Building).await;
    sqlx::query(&format!(
        "UPDATE jobs SET lease_holder = 'engine-z', lease_token = lease_token + 1 WHERE id = '{lost}'"
    ))
    .execute(&hand.pool)
    .await
    .unwrap();
    for _ in 0..200 {
        if seen.lock().unwrap().contains(&(3, "stopped")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(seen.lock().unwrap().contains(&(3, "stopped")));
    let job = queue.get(lost).await.unwrap().unwrap();
    assert_eq!(
        (job.status, job.lease_holder.as_deref()),
        (Status::Building, Some("engine-z"))
    );
    // A handler that ignores cancellation is dropped after the grace.
    let stubborn = queue.enqueue(new(json!(4))).await.unwrap().job.id;
    wait_for(stubborn, Status::Building).await;
    queue.cancel(stubborn).await.unwrap();
    wait_for(stubborn, Status::Cancelled).await;
    // A panicking handler fails its run.
    let buggy = queue
        .enqueue(new(json!(5)).max_attempts(1))
        .await
        .unwrap()
        .job
        .id;
    let job = wait_for(buggy, Status::Failed).await;
    assert_eq!(job.last_error.unwrap().code.as_deref(), Some("panic"));
    // A deadline stops the run and fails the job.
    let timed = queue
        .enqueue(new(json!(4)).deadline(Duration::from_millis(300)))
        .await
        .unwrap()
        .job
        .id;
    let job = wait_for(timed, Status::Failed).await;
    assert_eq!(job.last_error.unwrap().code.as_deref(), Some("deadline"));
    // Shutdown: a running job past the drain time is given back, its run
    // not counted.
    let interrupted = queue.enqueue(new(json!(4))).await.unwrap().job.id;
    wait_for(interrupted, Status::Building).await;
    stop.cancel();
    running.await.unwrap();
    let job = queue.get(interrupted).await.unwrap().unwrap();
    assert_eq!((job.status, job.attempt), (Status::Queued, 0));
}
on_both!(
    worker_stops_handlers,
    worker_stops_handlers_postgres,
    worker_stops_handlers_sqlite
);

// ---------------------------------------------------------------------------
// The model-based test.

/// A small, seedable generator (SplitMix64): the sequence is the seed's.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        (!items.is_empty()).then(|| &items[self.below(items.len())])
    }
}

/// What the model knows of one job.
#[derive(Clone, Debug, PartialEq)]
struct Model {
    status: Status,
    attempt: i64,
    max_attempts: i64,
    token: i64,
    holder: Option<String>,
    cancel_requested: bool,
    key: Option<String>,
    /// Queued and past its scheduled time.
    ready: bool,
    /// Building with its lease run out.
    expired: bool,
}

#[derive(Debug)]
enum Op {
    Enqueue {
        key: Option<String>,
        attempts: i64,
    },
    Claim {
        engine: usize,
        n: u32,
    },
    Heartbeat {
        engine: usize,
        lease: Lease,
    },
    Complete {
        engine: usize,
        lease: Lease,
    },
    Fail {
        engine: usize,
        lease: Lease,
        permanent: bool,
    },
    Release {
        engine: usize,
        lease: Lease,
    },
    Expire {
        job: uuid::Uuid,
    },
    Sweep,
    TimePasses,
    Cancel {
        job: uuid::Uuid,
    },
    Prune,
}

const ENGINES: [&str; 2] = ["engine-a", "engine-b"];

async fn model_based(db: TestDb, steps: usize) {
    let seed = std::env::var("WEIR_JOBS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(7, |d| d.as_nanos() as u64)
        });
    eprintln!("model-based jobs test: seed {seed} (set WEIR_JOBS_SEED to replay)");
    let mut rng = Rng(seed);
    // Two engines, each with its own store, as two processes.
    let queues = [
        queue(&db, Duration::from_secs(600)).await,
        queue(&db, Duration::from_secs(600)).await,
    ];
    let hand = Hand::new(&db).await;
    let mut model: BTreeMap<uuid::Uuid, Model> = BTreeMap::new();
    // Every lease each engine ever got, current or stale.
    let mut leases: [Vec<Lease>; 2] = [Vec::new(), Vec::new()];
    for step in 0..steps {
        let engine = rng.below(2);
        let ids: Vec<uuid::Uuid> = model.keys().copied().collect();
        let building: Vec<uuid::Uuid> = model
            .iter()
            .filter(|(_, m)| m.status == Status::Building)
            .map(|(id, _)| *id)
            .collect();
        let lease = rng.pick(&leases[engine]).cloned();
        let op = match (rng.below(20), lease) {
            (0..=3, _) => Op::Enqueue {
                key: (rng.below(3) == 0).then(|| format!("key-{}", rng.below(4))),
                attempts: 1 + rng.below(3) as i64,
            },
            (4..=7, _) => Op::Claim {
                engine,
                n: 1 + rng.below(3) as u32,
            },
            (8, Some(lease)) => Op::Heartbeat { engine, lease },
            (9 | 10, Some(lease)) => Op::Complete { engine, lease },
            (11 | 12, Some(lease)) => Op::Fail {
                engine,
                lease,
                permanent: rng.below(4) == 0,
            },
            (13, Some(lease)) => Op::Release { engine, lease },
            (14, _) if !building.is_empty() => Op::Expire {
                job: *rng.pick(&building).unwrap(),
            },
            (15, _) => Op::Sweep,
            (16, _) => Op::TimePasses,
            (17 | 18, _) if !ids.is_empty() => Op::Cancel {
                job: *rng.pick(&ids).unwrap(),
            },
            (19, _) => Op::Prune,
            _ => Op::Claim { engine, n: 1 },
        };
        let context = format!("seed {seed}, step {step}: {op:?}");
        apply(&queues, &hand, &mut model, &mut leases, op, &context).await;
        check(&queues[0], &model, &context).await;
    }
}

/// Applies `op` to the store and the model, checking what the store answers.
async fn apply(
    queues: &[Queue; 2],
    hand: &Hand,
    model: &mut BTreeMap<uuid::Uuid, Model>,
    leases: &mut [Vec<Lease>; 2],
    op: Op,
    context: &str,
) {
    let current = |model: &BTreeMap<uuid::Uuid, Model>, engine: usize, lease: &Lease| {
        model.get(&lease.job).is_some_and(|m| {
            m.status == Status::Building
                && m.holder.as_deref() == Some(ENGINES[engine])
                && m.token == lease.token
        })
    };
    fn refused<T: std::fmt::Debug>(
        result: &Result<T, JobError>,
        model: &BTreeMap<uuid::Uuid, Model>,
        lease: &Lease,
        context: &str,
    ) {
        match (result, model.contains_key(&lease.job)) {
            (Err(JobError::Fenced { .. }), true) | (Err(JobError::NotFound(_)), false) => {}
            (other, _) => panic!("{context}: expected a refusal, got {other:?}"),
        }
    }
    match op {
        Op::Enqueue { key, attempts } => {
            let mut job = new(json!({"attempts": attempts})).max_attempts(attempts);
            job.idempotency_key = key.clone();
            let enqueued = queues[0].enqueue(job).await.expect(context);
            let existing = key.as_ref().and_then(|key| {
                model
                    .iter()
                    .find(|(_, m)| m.key.as_ref() == Some(key))
                    .map(|(id, _)| *id)
            });
            match existing {
                Some(id) => {
                    assert!(!enqueued.created, "{context}: key taken");
                    assert_eq!(enqueued.job.id, id, "{context}");
                }
                None => {
                    assert!(enqueued.created, "{context}: new");
                    model.insert(
                        enqueued.job.id,
                        Model {
                            status: Status::Queued,
                            attempt: 0,
                            max_attempts: attempts,
                            token: 0,
                            holder: None,
                            cancel_requested: false,
                            key,
                            ready: true,
                            expired: false,
                        },
                    );
                }
            }
        }
        Op::Claim { engine, n } => {
            let ready: Vec<uuid::Uuid> = model
                .iter()
                .filter(|(_, m)| m.status == Status::Queued && m.ready)
                .map(|(id, _)| *id)
                .collect();
            let claimed = queues[engine]
                .claim(ENGINES[engine], n, None)
                .await
                .expect(context);
            assert_eq!(claimed.len(), ready.len().min(n as usize), "{context}");
            for claim in claimed {
                assert!(
                    ready.contains(&claim.job.id),
                    "{context}: claimed a job not ready"
                );
                let m = model.get_mut(&claim.job.id).expect(context);
                m.status = Status::Building;
                m.attempt += 1;
                m.token += 1;
                m.holder = Some(ENGINES[engine].to_string());
                m.expired = false;
                assert_eq!(claim.lease.token, m.token, "{context}");
                leases[engine].push(claim.lease);
            }
        }
        Op::Heartbeat { engine, lease } => {
            let beat = queues[engine].heartbeat(&lease).await;
            if current(model, engine, &lease) {
                let m = model.get_mut(&lease.job).expect(context);
                let beat = beat.expect(context);
                assert_eq!(beat.cancel_requested, m.cancel_requested, "{context}");
                m.expired = false;
            } else {
                refused(&beat, model, &lease, context);
            }
        }
        Op::Complete { engine, lease } => {
            let done = queues[engine].complete(&lease, json!("done")).await;
            if current(model, engine, &lease) {
                assert_eq!(done.expect(context).status, Status::Success, "{context}");
                model.get_mut(&lease.job).expect(context).status = Status::Success;
            } else {
                refused(&done, model, &lease, context);
            }
        }
        Op::Fail {
            engine,
            lease,
            permanent,
        } => {
            let mut failure = Failure::new("boom");
            failure.permanent = permanent;
            let done = queues[engine].fail(&lease, failure).await;
            if current(model, engine, &lease) {
                let m = model.get_mut(&lease.job).expect(context);
                m.status = if m.cancel_requested {
                    Status::Cancelled
                } else if permanent || m.attempt >= m.max_attempts {
                    Status::Failed
                } else {
                    Status::Queued
                };
                m.ready = false;
                assert_eq!(done.expect(context).status, m.status, "{context}");
            } else {
                refused(&done, model, &lease, context);
            }
        }
        Op::Release { engine, lease } => {
            let done = queues[engine].release(&lease).await;
            if current(model, engine, &lease) {
                let m = model.get_mut(&lease.job).expect(context);
                if m.cancel_requested {
                    m.status = Status::Cancelled;
                } else {
                    m.status = Status::Queued;
                    m.attempt -= 1;
                    m.ready = true;
                }
                assert_eq!(done.expect(context).status, m.status, "{context}");
            } else {
                refused(&done, model, &lease, context);
            }
        }
        Op::Expire { job } => {
            hand.expire(job).await;
            model.get_mut(&job).expect(context).expired = true;
        }
        Op::Sweep => {
            let swept = queues[0].sweep().await.expect(context);
            let mut expected = (0, 0, 0);
            for m in model.values_mut() {
                if m.status == Status::Building && m.expired {
                    m.expired = false;
                    m.status = if m.cancel_requested {
                        expected.2 += 1;
                        Status::Cancelled
                    } else if m.attempt >= m.max_attempts {
                        expected.1 += 1;
                        Status::Failed
                    } else {
                        expected.0 += 1;
                        m.ready = true;
                        Status::Queued
                    };
                }
            }
            assert_eq!(
                (swept.requeued, swept.failed, swept.cancelled),
                expected,
                "{context}"
            );
        }
        Op::TimePasses => {
            hand.back("scheduled_at", 2 * 3600, "status = 'queued'")
                .await;
            for m in model.values_mut() {
                m.ready |= m.status == Status::Queued;
            }
        }
        Op::Cancel { job } => {
            let answer = queues[0].cancel(job).await.expect(context);
            let m = model.get_mut(&job).expect(context);
            match m.status {
                Status::Queued => {
                    m.status = Status::Cancelled;
                    m.cancel_requested = true;
                }
                Status::Building => m.cancel_requested = true,
                _ => {}
            }
            assert_eq!(answer.status, m.status, "{context}");
        }
        Op::Prune => {
            hand.back("finished_at", 2 * 24 * 3600, "finished_at IS NOT NULL")
                .await;
            let pruned = queues[0]
                .prune(Duration::from_secs(24 * 3600))
                .await
                .expect(context);
            let before = model.len();
            model.retain(|_, m| !m.status.is_final());
            assert_eq!(pruned as usize, before - model.len(), "{context}");
        }
    }
}

/// The store holds exactly what the model says.
async fn check(queue: &Queue, model: &BTreeMap<uuid::Uuid, Model>, context: &str) {
    let stored = queue
        .list(&JobFilter {
            limit: Some(1_000),
            ..JobFilter::default()
        })
        .await
        .expect(context);
    assert_eq!(stored.len(), model.len(), "{context}: job count");
    for job in stored {
        let m = model
            .get(&job.id)
            .unwrap_or_else(|| panic!("{context}: unknown job {}", job.id));
        let seen = (
            job.status,
            job.attempt,
            job.lease_token,
            job.cancel_requested,
            &job.idempotency_key,
        );
        let expected = (m.status, m.attempt, m.token, m.cancel_requested, &m.key);
        assert_eq!(seen, expected, "{context}: job {}", job.id);
        if job.status == Status::Building {
            assert_eq!(job.lease_holder, m.holder, "{context}");
            assert!(job.lease_expires_at.is_some(), "{context}");
        } else {
            assert!(job.lease_expires_at.is_none(), "{context}");
        }
        assert_eq!(
            job.finished_at.is_some(),
            job.status.is_final(),
            "{context}"
        );
        assert!(job.attempt <= job.max_attempts, "{context}");
    }
}

fn model_steps() -> usize {
    std::env::var("WEIR_JOBS_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_based_postgres() {
    model_based(TestDb::postgres().await, model_steps()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_based_sqlite() {
    model_based(TestDb::sqlite(), model_steps()).await;
}

// ---------------------------------------------------------------------------
// The crash test: two real processes on one PostgreSQL database.

/// Not a test on its own: the crash test runs this test binary again as a
/// worker process with this test selected (and returns at once without).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a worker process for crash_takeover_postgres"]
async fn crash_child() {
    let (Ok(url), Ok(holder), Ok(mode), Ok(lease)) = (
        std::env::var("WEIR_JOBS_CHILD_URL"),
        std::env::var("WEIR_JOBS_CHILD_HOLDER"),
        std::env::var("WEIR_JOBS_CHILD_MODE"),
        std::env::var("WEIR_JOBS_CHILD_LEASE_MS"),
    ) else {
        return;
    };
    let store = weir_engine::store::Store::connect(&url)
        .await
        .expect("connects");
    let lease = Duration::from_millis(lease.parse().expect("lease in ms"));
    let queue = Queue::new(
        store,
        QueueConfig {
            lease,
            ..QueueConfig::default()
        },
    )
    .expect("config");
    let config = WorkerConfig {
        heartbeat: lease / 4,
        sweep: Duration::from_millis(100),
        poll: Duration::from_millis(100),
        ..WorkerConfig::new(&holder, &queue)
    };
    let worker = Worker::new(queue, config, move |_job, _token| {
        let (holder, mode) = (holder.clone(), mode.clone());
        async move {
            if mode == "hang" {
                // Holds the job until the process is killed.
                std::future::pending::<()>().await;
            }
            Ok(json!({"by": holder}))
        }
    })
    .expect("worker");
    worker.run(CancellationToken::new()).await;
}

/// A worker process, killed with SIGKILL when dropped.
struct Child(std::process::Child);

impl Child {
    fn start(db: &TestDb, holder: &str, mode: &str, lease: Duration) -> Child {
        let exe = std::env::current_exe().expect("test binary");
        let child = std::process::Command::new(exe)
            .args(["--exact", "crash_child", "--ignored", "--nocapture"])
            .env("WEIR_JOBS_CHILD_URL", &db.url)
            .env("WEIR_JOBS_CHILD_HOLDER", holder)
            .env("WEIR_JOBS_CHILD_MODE", mode)
            .env("WEIR_JOBS_CHILD_LEASE_MS", lease.as_millis().to_string())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("starts a worker process");
        Child(child)
    }

    /// kill -9.
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_takeover_postgres() {
    let db = TestDb::postgres().await;
    let lease = Duration::from_secs(2);
    let queue = queue(&db, lease).await;
    let id = queue.enqueue(new(json!(1))).await.unwrap().job.id;
    let mut a = Child::start(&db, "engine-a", "hang", lease);
    let started = Instant::now();
    loop {
        let job = queue.get(id).await.unwrap().unwrap();
        if job.status == Status::Building {
            assert_eq!(job.lease_holder.as_deref(), Some("engine-a"));
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "a never claimed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _b = Child::start(&db, "engine-b", "finish", lease);
    // Let b come up and find nothing to do, then kill a while it holds the
    // job.
    tokio::time::sleep(Duration::from_millis(500)).await;
    a.kill();
    let killed = Instant::now();
    let job = loop {
        let job = queue.get(id).await.unwrap().unwrap();
        if job.status.is_final() {
            break job;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(60),
            "never taken over"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let took = killed.elapsed();
    eprintln!("job finished by engine-b {took:?} after engine-a was killed (lease {lease:?})");
    assert_eq!(job.status, Status::Success);
    assert_eq!(job.result, Some(json!({"by": "engine-b"})));
    assert_eq!((job.attempt, job.lease_token), (2, 2), "one takeover");
    assert_eq!(
        job.last_error.and_then(|e| e.code),
        Some("lease_expired".to_string())
    );
    // The bound: within the lease plus a second of the kill.
    assert!(took < lease + Duration::from_secs(1), "took {took:?}");
}
