//! The Weir side of `scripts/bench-jobs.sh`: no-op durable jobs on
//! PostgreSQL through `weir_engine::store::jobs`.
//!
//! - throughput: a worker (concurrency C) runs while 4 producers enqueue N
//!   jobs one by one (unbatched); jobs/s from the first enqueue to the last
//!   job recorded `success`;
//! - latency: L jobs enqueued one at a time, 5 ms apart, into an idle
//!   worker; enqueue call → handler start, p50/p99, on one clock.
//!
//! Prints one line of JSON. Usage:
//! `bench_jobs <database url> [N] [C] [L]` (default 5000, 16, 300).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use weir_engine::store::Store;
use weir_engine::store::jobs::{NewJob, Queue, QueueConfig, Worker, WorkerConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let url = args
        .get(1)
        .ok_or("usage: bench_jobs <database url> [N] [C] [L]")?;
    let arg =
        |i: usize, default: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (count, concurrency, samples) = (arg(2, 5000), arg(3, 16), arg(4, 300));
    let store = Store::connect(url).await?;
    store.migrate().await?;
    sqlx::any::install_default_drivers();
    let raw = sqlx::AnyPool::connect(url).await?;
    sqlx::query("DELETE FROM jobs").execute(&raw).await?;
    let queue = Queue::new(store, QueueConfig::default())?;

    // Who started when: the handler records its start by payload number.
    let started: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let ran = Arc::new(AtomicUsize::new(0));
    let stop = CancellationToken::new();
    let config = WorkerConfig {
        concurrency,
        ..WorkerConfig::new("bench", &queue)
    };
    let worker = Worker::new(queue.clone(), config, {
        let (started, ran) = (started.clone(), ran.clone());
        move |job, _| {
            let at = Instant::now();
            if let Some(n) = job.payload["n"].as_u64() {
                started.lock().unwrap().insert(n, at);
            }
            ran.fetch_add(1, Ordering::Relaxed);
            async { Ok(serde_json::Value::Null) }
        }
    })?;
    let running = tokio::spawn(worker.run(stop.clone()));
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Throughput.
    let begin = Instant::now();
    let producers: Vec<_> = (0..4)
        .map(|p| {
            let queue = queue.clone();
            tokio::spawn(async move {
                for _ in (p..count).step_by(4) {
                    queue
                        .enqueue(NewJob::new("bench", "noop", serde_json::json!({})))
                        .await
                        .expect("enqueues");
                }
            })
        })
        .collect();
    for producer in producers {
        producer.await?;
    }
    let enqueued = begin.elapsed();
    loop {
        let done: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE status = 'success'")
            .fetch_one(&raw)
            .await?;
        if done as usize >= count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let elapsed = begin.elapsed();

    // Latency.
    let mut sent = HashMap::new();
    for n in 0..samples as u64 {
        let at = Instant::now();
        queue
            .enqueue(NewJob::new("bench", "noop", serde_json::json!({"n": n})))
            .await?;
        sent.insert(n, at);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = started.lock().unwrap().clone();
    let mut latencies: Vec<f64> = sent
        .iter()
        .filter_map(|(n, at)| {
            started
                .get(n)
                .map(|s| s.duration_since(*at).as_secs_f64() * 1e3)
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let pick = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];
    stop.cancel();
    running.await?;
    println!(
        "{}",
        serde_json::json!({
            "engine": "weir",
            "jobs": count,
            "concurrency": concurrency,
            "enqueue_s": enqueued.as_secs_f64(),
            "total_s": elapsed.as_secs_f64(),
            "jobs_per_s": count as f64 / elapsed.as_secs_f64(),
            "latency_samples": latencies.len(),
            "p50_ms": pick(0.5),
            "p99_ms": pick(0.99),
        })
    );
    Ok(())
}
