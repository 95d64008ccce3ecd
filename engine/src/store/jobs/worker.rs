//! A worker: claims jobs and runs a caller's handler on each, at most
//! `concurrency` at once, renewing each lease while its handler runs.
//!
//! The handler gets the job and a [`CancellationToken`]; the token fires
//! when the job is cancelled (seen at a heartbeat), its lease is lost
//! (taken over, or not renewed in time), its deadline passes, or the
//! engine shuts down past its drain time. A handler that does not return
//! within the grace period after that is dropped. Outcomes are reported
//! with the run's lease, so a run that lost its lease changes nothing.
//! The worker also sweeps expired leases for every engine. It knows no
//! node kind: a `job` kind or the system namespace supplies the handler.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{Claimed, Failure, Job, JobError, Queue, Wakeups};

/// What runs a job: its answer is the job's result, its failure the job's
/// last error.
pub type Handler = Arc<
    dyn Fn(Job, CancellationToken) -> BoxFuture<'static, Result<serde_json::Value, Failure>>
        + Send
        + Sync,
>;

/// How a worker runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerConfig {
    /// This engine's id, recorded as the lease holder.
    pub holder: String,
    /// Jobs run at once (1 to 10,000).
    pub concurrency: usize,
    /// How often a running job's lease is renewed (under the lease).
    pub heartbeat: Duration,
    /// How often to look for jobs when no notification comes.
    pub poll: Duration,
    /// How often to take back jobs whose lease ran out.
    pub sweep: Duration,
    /// Only jobs of this namespace, if set.
    pub namespace: Option<String>,
    /// How long a stopped handler may take to return before it is dropped.
    pub grace: Duration,
    /// On shutdown, how long running jobs may go on before they are
    /// stopped and given back.
    pub drain: Duration,
}

impl WorkerConfig {
    /// Defaults for `holder` under `queue`'s lease: heartbeats at a third
    /// of the lease, sweeps every second.
    pub fn new(holder: &str, queue: &Queue) -> WorkerConfig {
        let lease = queue.config().lease;
        WorkerConfig {
            holder: holder.to_string(),
            concurrency: 16,
            heartbeat: lease / 3,
            poll: Duration::from_secs(1),
            sweep: Duration::from_secs(1),
            namespace: None,
            grace: Duration::from_secs(5).min(lease / 3),
            drain: Duration::from_secs(10),
        }
    }
}

/// Claims and runs jobs until stopped.
pub struct Worker {
    queue: Queue,
    config: WorkerConfig,
    handler: Handler,
}

/// Why a run was stopped before its handler returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    Cancelled,
    LeaseLost,
    Deadline,
    Shutdown,
}

impl Worker {
    /// A worker running `handler` on `queue`'s jobs.
    pub fn new<F, Fut>(queue: Queue, config: WorkerConfig, handler: F) -> Result<Worker, JobError>
    where
        F: Fn(Job, CancellationToken) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<serde_json::Value, Failure>> + Send + 'static,
    {
        let invalid = |field, message: String| JobError::Invalid { field, message };
        if !(1..=10_000).contains(&config.concurrency) {
            return Err(invalid(
                "concurrency",
                format!("must be 1 to 10000, not {}", config.concurrency),
            ));
        }
        let lease = queue.config().lease;
        if config.heartbeat.is_zero() || config.heartbeat >= lease {
            return Err(invalid(
                "heartbeat",
                format!(
                    "{:?} must be above 0 and under the lease, {lease:?}",
                    config.heartbeat
                ),
            ));
        }
        for (field, span) in [("poll", config.poll), ("sweep", config.sweep)] {
            if span < Duration::from_millis(1) {
                return Err(invalid(field, "must be at least 1ms".into()));
            }
        }
        let handler: Handler = Arc::new(move |job, token| Box::pin(handler(job, token)));
        Ok(Worker {
            queue,
            config,
            handler,
        })
    }

    /// Runs until `stop` fires, then lets running jobs finish for the
    /// drain time, stops the rest and gives them back.
    pub async fn run(self, stop: CancellationToken) {
        let shutdown = CancellationToken::new();
        let mut running = JoinSet::new();
        let mut wakeups = Wakeups::new(&self.queue, self.config.poll);
        let mut swept = Instant::now() - self.config.sweep;
        let mut trouble = Duration::from_millis(100);
        let me = Arc::new(self);
        while !stop.is_cancelled() {
            while running.try_join_next().is_some() {}
            if swept.elapsed() >= me.config.sweep {
                swept = Instant::now();
                if let Err(error) = me.queue.sweep().await {
                    tracing::warn!(%error, "cannot sweep expired job leases");
                }
            }
            let free = me.config.concurrency.saturating_sub(running.len());
            let mut full = free == 0;
            if free > 0 {
                wakeups.mark();
                let claimed = me
                    .queue
                    .claim(
                        &me.config.holder,
                        u32::try_from(free).unwrap_or(u32::MAX),
                        me.config.namespace.as_deref(),
                    )
                    .await;
                match claimed {
                    Ok(jobs) => {
                        trouble = Duration::from_millis(100);
                        full = jobs.len() == free;
                        for claimed in jobs {
                            running.spawn(me.clone().run_one(claimed, shutdown.clone()));
                        }
                    }
                    Err(error) => {
                        tracing::warn!(%error, retry_in = ?trouble, "cannot claim jobs");
                        tokio::select! {
                            _ = stop.cancelled() => break,
                            _ = tokio::time::sleep(trouble) => {}
                        }
                        trouble = (trouble * 2).min(Duration::from_secs(5));
                        continue;
                    }
                }
            }
            if full && free > 0 {
                // A full batch: there may be more at once.
                continue;
            }
            let until_sweep = me.config.sweep.saturating_sub(swept.elapsed());
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = wakeups.wait(), if !full => {}
                _ = running.join_next(), if full => {}
                _ = tokio::time::sleep(until_sweep) => {}
            }
        }
        let drained = tokio::time::timeout(me.config.drain, async {
            while running.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::info!(
                running = running.len(),
                "drain time over; stopping the jobs still running"
            );
            shutdown.cancel();
            while running.join_next().await.is_some() {}
        }
    }

    /// Runs one claimed job to its report.
    async fn run_one(self: Arc<Self>, claimed: Claimed, shutdown: CancellationToken) {
        let Claimed {
            job,
            lease,
            deadline_in,
        } = claimed;
        let span =
            tracing::info_span!("job", id = %job.id, node = %job.node, attempt = job.attempt);
        let token = CancellationToken::new();
        let mut handle = tokio::spawn((self.handler)(job, token.clone()));
        let lease_span = self.queue.config().lease;
        let mut renewed = Instant::now();
        let mut beats = tokio::time::interval_at(
            tokio::time::Instant::now() + self.config.heartbeat,
            self.config.heartbeat,
        );
        beats.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let deadline = async {
            match deadline_in {
                Some(left) => tokio::time::sleep(left).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(deadline);
        let mut stopped = None;
        let outcome = loop {
            tokio::select! {
                outcome = &mut handle => break Some(outcome),
                _ = beats.tick() => match self.queue.heartbeat(&lease).await {
                    Ok(beat) => {
                        renewed = Instant::now();
                        if beat.cancel_requested {
                            stopped = Some(Stop::Cancelled);
                        }
                    }
                    Err(JobError::Database(error)) => {
                        tracing::warn!(parent: &span, %error, "cannot renew the job's lease");
                        if renewed.elapsed() >= lease_span {
                            stopped = Some(Stop::LeaseLost);
                        }
                    }
                    Err(error) => {
                        tracing::warn!(parent: &span, %error, "lost the job's lease; stopping it");
                        stopped = Some(Stop::LeaseLost);
                    }
                },
                _ = &mut deadline => stopped = Some(Stop::Deadline),
                _ = shutdown.cancelled() => stopped = Some(Stop::Shutdown),
            }
            if stopped.is_some() {
                token.cancel();
                match tokio::time::timeout(self.config.grace, &mut handle).await {
                    Ok(outcome) => break Some(outcome),
                    Err(_) => {
                        handle.abort();
                        break None;
                    }
                }
            }
        };
        let answer = match outcome {
            Some(Ok(answer)) => Some(answer),
            Some(Err(joined)) if joined.is_panic() => Some(Err(Failure::new(
                "the job's handler panicked",
            )
            .with_code("panic"))),
            Some(Err(_)) | None => None,
        };
        self.report(&lease, stopped, answer, &span).await;
    }

    /// Reports a run's outcome, retrying while the database is unreachable
    /// (the lease is still ours until it runs out).
    async fn report(
        &self,
        lease: &super::Lease,
        stopped: Option<Stop>,
        answer: Option<Result<serde_json::Value, Failure>>,
        span: &tracing::Span,
    ) {
        enum Report {
            Complete(serde_json::Value),
            Fail(Failure),
            Release,
        }
        let report = match (stopped, answer) {
            (Some(Stop::LeaseLost), _) => return,
            (_, Some(Ok(result))) => Report::Complete(result),
            (Some(Stop::Shutdown), _) => Report::Release,
            (Some(Stop::Cancelled), _) => {
                Report::Fail(Failure::new("cancelled while running").with_code("cancelled"))
            }
            (Some(Stop::Deadline), _) => Report::Fail(
                Failure::new("the deadline passed while the job ran")
                    .with_code("deadline")
                    .permanent(),
            ),
            (None, Some(Err(failure))) => Report::Fail(failure),
            (None, None) => Report::Fail(Failure::new("the job's handler stopped")),
        };
        let mut wait = Duration::from_millis(100);
        let started = Instant::now();
        loop {
            let done = match &report {
                Report::Complete(result) => {
                    match self.queue.complete(lease, result.clone()).await {
                        Err(JobError::Invalid { message, .. }) => {
                            let failure = Failure::new(format!("the job's result {message}"))
                                .with_code("invalid_result")
                                .permanent();
                            self.queue.fail(lease, failure).await
                        }
                        other => other,
                    }
                }
                Report::Fail(failure) => self.queue.fail(lease, failure.clone()).await,
                Report::Release => self.queue.release(lease).await,
            };
            match done {
                Ok(job) => {
                    tracing::debug!(parent: span, status = %job.status, "job run reported");
                    return;
                }
                Err(JobError::Database(error))
                    if started.elapsed() + wait < self.queue.config().lease =>
                {
                    tracing::warn!(parent: span, %error, retry_in = ?wait, "cannot report the job's outcome");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(2));
                }
                Err(error) => {
                    tracing::warn!(parent: span, %error, "the job's outcome was not recorded");
                    return;
                }
            }
        }
    }
}
