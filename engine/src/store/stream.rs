//! Knowing when to look at the change stream, and following it.
//!
//! The `changes` table is the truth; [`Wakeups`] only says when it may have
//! grown. On PostgreSQL a `LISTEN weir_changes` connection wakes the loader
//! within milliseconds of a commit, with a slow poll behind it in case the
//! listener is down (it reconnects with backoff). On SQLite the loader
//! polls.
//!
//! A [`Watch`] follows the stream from a position for a client (the system
//! API's watch endpoints). Watchers of one store share one [`Feed`]: one
//! task that wakes up as a loader does and publishes the stream's head, so
//! a hundred watchers cost one LISTEN connection, not a hundred. The feed
//! stops when the last watcher goes.

use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::watch;
use tokio::task::AbortHandle;

use super::{Backend, ChangeRow, Store, StoreError};

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

/// The head of the change stream, published for every watcher of a store.
pub(crate) struct Feed {
    head: watch::Receiver<i64>,
    task: AbortHandle,
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Feed {
    fn start(store: &Store, head: i64) -> Feed {
        let (publish, receiver) = watch::channel(head);
        let store = store.clone();
        let task = tokio::spawn(async move {
            let mut wakeups = Wakeups::new(&store);
            loop {
                wakeups.wait().await;
                match store.head().await {
                    Ok(now) => {
                        publish.send_if_modified(|seen| std::mem::replace(seen, now) != now);
                    }
                    Err(error) => {
                        tracing::warn!(%error, "cannot read the change stream's head; retrying");
                        tokio::time::sleep(POSTGRES_POLL).await;
                    }
                }
            }
        });
        Feed {
            head: receiver,
            task: task.abort_handle(),
        }
    }
}

/// A client's place in the change stream: [`Watch::next`] answers the
/// changes after it, waiting for some when there are none yet.
pub struct Watch {
    store: Store,
    _feed: Arc<Feed>,
    head: watch::Receiver<i64>,
    position: i64,
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch")
            .field("position", &self.position)
            .finish_non_exhaustive()
    }
}

impl Watch {
    /// The last change answered (or the starting position).
    pub fn position(&self) -> i64 {
        self.position
    }

    /// The changes after the position, oldest first; waits until there is
    /// at least one. Dropping the future loses nothing: the position moves
    /// only when changes are returned.
    pub async fn next(&mut self) -> Result<Vec<ChangeRow>, StoreError> {
        loop {
            // Mark the head seen before reading, so a change committed
            // after the read still wakes the wait below.
            self.head.borrow_and_update();
            let changes = self.store.changes_since(self.position).await?;
            if let Some(last) = changes.last() {
                self.position = last.seq;
                return Ok(changes);
            }
            if self.head.changed().await.is_err() {
                // The feed's task ended (only on shutdown): poll slowly.
                tokio::time::sleep(POSTGRES_POLL).await;
            }
        }
    }
}

impl Store {
    /// Follows the change stream after change `after` (`None`: from now).
    /// A position older than the oldest change kept is refused with
    /// [`StoreError::Pruned`] (changes were lost to it: list again), one
    /// beyond the newest with [`StoreError::Ahead`].
    pub async fn watch(&self, after: Option<i64>) -> Result<Watch, StoreError> {
        let head = self.head().await?;
        let position = after.unwrap_or(head);
        if position > head {
            return Err(StoreError::Ahead {
                after: position,
                head,
            });
        }
        if let Some(oldest) = self.oldest_change().await?
            && position + 1 < oldest
        {
            return Err(StoreError::Pruned {
                after: position,
                oldest,
            });
        }
        let feed = {
            let mut shared = self.feed.lock().unwrap_or_else(|p| p.into_inner());
            match shared.upgrade() {
                Some(feed) => feed,
                None => {
                    let feed = Arc::new(Feed::start(self, head));
                    *shared = Arc::downgrade(&feed);
                    feed
                }
            }
        };
        Ok(Watch {
            store: self.clone(),
            head: feed.head.clone(),
            _feed: feed,
            position,
        })
    }
}

/// Keeps the type's name in one place for the store's field.
pub(crate) type SharedFeed = std::sync::Mutex<Weak<Feed>>;
