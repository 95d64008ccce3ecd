//! Knowing when to look at the change stream.
//!
//! The `changes` table is the truth; this only says when it may have grown.
//! On PostgreSQL a `LISTEN weir_changes` connection wakes the loader within
//! milliseconds of a commit, with a slow poll behind it in case the listener
//! is down (it reconnects with backoff). On SQLite the loader polls.

use std::time::Duration;

use sqlx::postgres::PgListener;

use super::{Backend, Store};

/// How often SQLite is polled.
const SQLITE_POLL: Duration = Duration::from_millis(20);
/// How often PostgreSQL is polled when no notification arrives.
const POSTGRES_POLL: Duration = Duration::from_millis(1_000);
/// The NOTIFY channel the change trigger uses.
const CHANNEL: &str = "weir_changes";

/// Wakes a loader when the change stream may have new entries.
pub struct Wakeups {
    backend: Backend,
    url: std::sync::Arc<str>,
    listener: Option<PgListener>,
    backoff: Duration,
}

impl Wakeups {
    /// Wake-ups for `store`. The PostgreSQL listener connects lazily.
    pub fn new(store: &Store) -> Wakeups {
        Wakeups {
            backend: store.backend(),
            url: store.url().into(),
            listener: None,
            backoff: Duration::from_millis(100),
        }
    }

    /// Returns when there may be new changes (or after the poll interval).
    pub async fn wait(&mut self) {
        match self.backend {
            Backend::Sqlite => tokio::time::sleep(SQLITE_POLL).await,
            Backend::Postgres => self.wait_postgres().await,
        }
    }

    async fn wait_postgres(&mut self) {
        if self.listener.is_none() {
            match self.listen().await {
                Ok(listener) => {
                    self.listener = Some(listener);
                    self.backoff = Duration::from_millis(100);
                    // Changes may have landed while no one listened.
                    return;
                }
                Err(error) => {
                    tracing::warn!(%error, retry_in = ?self.backoff, "cannot listen for changes; polling");
                    tokio::time::sleep(self.backoff).await;
                    self.backoff = (self.backoff * 2).min(POSTGRES_POLL);
                    return;
                }
            }
        }
        let Some(listener) = self.listener.as_mut() else {
            return;
        };
        tokio::select! {
            received = listener.try_recv() => match received {
                Ok(Some(_)) => {}
                // None: the connection dropped; sqlx reconnects on the next
                // call, and changes made meanwhile are read now.
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(%error, "change listener failed; reconnecting");
                    self.listener = None;
                }
            },
            _ = tokio::time::sleep(POSTGRES_POLL) => {}
        }
    }

    async fn listen(&self) -> Result<PgListener, sqlx::Error> {
        let mut listener = PgListener::connect(&self.url).await?;
        listener.listen(CHANNEL).await?;
        Ok(listener)
    }
}
