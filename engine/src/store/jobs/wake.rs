//! Knowing when to try a claim: a job enqueued by this engine (any
//! backend), a `NOTIFY weir_jobs` from any engine (PostgreSQL), or the poll
//! interval running out, in case a notification was missed or a retry's
//! backoff ended. The listener reconnects with backoff when it drops, as
//! the change stream's does ([`crate::store::stream`]).

use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::watch;

use super::Queue;
use crate::store::Backend;

/// The channel the jobs trigger notifies.
const CHANNEL: &str = "weir_jobs";

/// One worker's wake-ups.
pub struct Wakeups {
    backend: Backend,
    url: std::sync::Arc<str>,
    local: watch::Receiver<u64>,
    listener: Option<PgListener>,
    retry: Duration,
    poll: Duration,
}

impl Wakeups {
    /// Wake-ups for jobs of `queue`, polling every `poll` at least.
    pub fn new(queue: &Queue, poll: Duration) -> Wakeups {
        Wakeups {
            backend: queue.store().backend(),
            url: queue.store().url().into(),
            local: queue.enqueued(),
            listener: None,
            retry: Duration::from_millis(100),
            poll,
        }
    }

    /// Call before looking for jobs: an enqueue after this wakes the next
    /// [`Wakeups::wait`] at once.
    pub fn mark(&mut self) {
        self.local.borrow_and_update();
    }

    /// Returns when there may be new ready jobs.
    pub async fn wait(&mut self) {
        if self.backend == Backend::Postgres && self.listener.is_none() {
            match self.listen().await {
                Ok(listener) => {
                    self.listener = Some(listener);
                    self.retry = Duration::from_millis(100);
                    // Jobs may have arrived while no one listened.
                    return;
                }
                Err(error) => {
                    tracing::warn!(%error, retry_in = ?self.retry, "cannot listen for jobs; polling");
                    self.retry = (self.retry * 2).min(self.poll);
                }
            }
        }
        let poll = match self.listener {
            Some(_) => self.poll,
            None if self.backend == Backend::Postgres => self.retry.min(self.poll),
            None => self.poll,
        };
        let Wakeups {
            listener, local, ..
        } = self;
        let listened = async {
            match listener.as_mut() {
                Some(listener) => listener.try_recv().await.err(),
                None => std::future::pending().await,
            }
        };
        // Ok(None) from the listener: the connection dropped; sqlx
        // reconnects on the next call, and jobs queued meanwhile are
        // claimed now.
        let failed = tokio::select! {
            failed = listened => failed,
            _ = async {
                if local.changed().await.is_err() {
                    // No enqueuer left in this engine: only the others.
                    std::future::pending::<()>().await;
                }
            } => None,
            _ = tokio::time::sleep(poll) => None,
        };
        if let Some(error) = failed {
            tracing::warn!(%error, "job listener failed; reconnecting");
            self.listener = None;
        }
    }

    async fn listen(&self) -> Result<PgListener, sqlx::Error> {
        let mut listener = PgListener::connect(&self.url).await?;
        listener.listen(CHANNEL).await?;
        Ok(listener)
    }
}
