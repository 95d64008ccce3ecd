//! [`JobService`]: the host's job queue and worker. The host provides it
//! as a scheme resource when it has the engine's store; the first
//! enqueueing `job` node to load starts the worker, so an engine running
//! no such node never claims a job. The host's stop token ends it (no new
//! claims, running jobs drain, the rest are given back).
//!
//! The operator sets the lease (`WEIR_JOB_LEASE_MS`, default 30 s; how
//! long a dead engine's job waits before another engine takes it) and how
//! many jobs one engine runs at once (`WEIR_JOB_CONCURRENCY`, default 16).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use weir_engine::store::Store;
use weir_engine::store::jobs::{JobError, Queue, QueueConfig, Worker, WorkerConfig};

use super::registry::Registry;

/// The job queue of the engine's database and this engine's worker on it.
pub struct JobService {
    queue: Queue,
    registry: Arc<Registry>,
    holder: String,
    concurrency: usize,
    stop: CancellationToken,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl JobService {
    /// The jobs of `store`; the worker (once started) stops with `stop`.
    pub fn new(store: Store, stop: CancellationToken) -> Result<JobService, JobError> {
        let lease = operator("WEIR_JOB_LEASE_MS", 30_000);
        let config = QueueConfig {
            lease: Duration::from_millis(lease),
            ..QueueConfig::default()
        };
        Ok(JobService {
            queue: Queue::new(store, config)?,
            registry: Arc::default(),
            holder: format!("engine-{}-{}", std::process::id(), uuid::Uuid::now_v7()),
            concurrency: usize::try_from(operator("WEIR_JOB_CONCURRENCY", 16)).unwrap_or(16),
            stop,
            worker: Mutex::new(None),
        })
    }

    /// The queue.
    pub fn queue(&self) -> &Queue {
        &self.queue
    }

    /// This engine's name as a lease holder.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    pub(super) fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// Starts the worker unless it runs already (or the host is stopping).
    pub(super) fn ensure_worker(&self) -> Result<(), JobError> {
        let mut worker = lock(&self.worker);
        if worker.is_some() || self.stop.is_cancelled() {
            return Ok(());
        }
        let mut config = WorkerConfig::new(&self.holder, &self.queue);
        config.concurrency = self.concurrency;
        let registry = self.registry.clone();
        let run = Worker::new(self.queue.clone(), config, move |job, token| {
            super::run::run(registry.clone(), job, token)
        })?;
        tracing::info!(holder = %self.holder, "job worker started");
        *worker = Some(tokio::spawn(run.run(self.stop.clone())));
        Ok(())
    }

    /// Waits for the worker to end (after the host's stop token fired).
    pub async fn stopped(&self) {
        let worker = lock(&self.worker).take();
        if let Some(worker) = worker {
            let _ = worker.await;
        }
    }
}

/// A positive whole number from the engine's environment, else `default`
/// (a bad one is ignored with a warning).
fn operator(variable: &str, default: u64) -> u64 {
    match std::env::var(variable) {
        Err(_) => default,
        Ok(text) => match text.trim().parse::<u64>() {
            Ok(n) if n > 0 => n,
            _ => {
                tracing::warn!(%variable, %text, default, "not a positive whole number; using the default");
                default
            }
        },
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Replaced or taken whole only: consistent after a panic.
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}
