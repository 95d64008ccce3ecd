//! Processes: one execution each (an HTTP request, a job, a `weir run`).
//!
//! A process carries an id, its parent, a cancellation signal, an optional
//! deadline, a small store of values and a typed state for nodes to keep
//! per-execution state (an open SQL transaction, a response stream), and
//! exit hooks that release that state. Child processes
//! are cancelled with their parent. This module does not move packets.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use weir_codecs::{ErrorValue, Value};

use crate::type_map::TypeMap;

/// How a process ended, handed to its exit hooks (commit or roll back).
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The process answered a non-error value.
    Ok,
    /// The process answered an error, was cancelled or timed out.
    Failed(ErrorValue),
}

/// A boxed future, as exit hooks and node calls return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What an exit hook does with the outcome: release what it holds, and
/// fail if it could not (a transaction that would not commit).
type ExitHook = Box<dyn FnOnce(Outcome) -> BoxFuture<'static, Result<(), ErrorValue>> + Send>;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// One execution flowing through a workflow.
pub struct Process {
    id: u64,
    parent: Option<Arc<Process>>,
    cancel: CancellationToken,
    deadline: Option<Instant>,
    store: Mutex<HashMap<String, Value>>,
    state: Mutex<TypeMap>,
    exit_hooks: Mutex<Vec<ExitHook>>,
    exited: AtomicBool,
}

impl Process {
    /// A new root process with no deadline.
    pub fn new() -> Arc<Process> {
        Process::build(None, CancellationToken::new(), None)
    }

    /// A new root process that times out at `deadline`.
    pub fn with_deadline(deadline: Instant) -> Arc<Process> {
        Process::build(None, CancellationToken::new(), Some(deadline))
    }

    /// A child: cancelled when `self` is, and never outliving its deadline.
    pub fn child(self: &Arc<Self>) -> Arc<Process> {
        Process::build(Some(self.clone()), self.cancel.child_token(), self.deadline)
    }

    fn build(
        parent: Option<Arc<Process>>,
        cancel: CancellationToken,
        deadline: Option<Instant>,
    ) -> Arc<Process> {
        Arc::new(Process {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            parent,
            cancel,
            deadline,
            store: Mutex::new(HashMap::new()),
            state: Mutex::new(TypeMap::default()),
            exit_hooks: Mutex::new(Vec::new()),
            exited: AtomicBool::new(false),
        })
    }

    /// A number unique within this engine.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The process that started this one, if any.
    pub fn parent(&self) -> Option<&Arc<Process>> {
        self.parent.as_ref()
    }

    /// When the process times out, if it has a deadline.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Stops the process and all its children: calls in flight for it end
    /// with a "cancelled" error and their downstream work is dropped.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Whether the process was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Resolves when the process must stop: cancelled, or past its deadline.
    /// The error says which, and is what interrupted calls answer.
    pub async fn stopped(&self) -> ErrorValue {
        match self.deadline {
            None => {
                self.cancel.cancelled().await;
                cancelled()
            }
            Some(deadline) => tokio::select! {
                _ = self.cancel.cancelled() => cancelled(),
                _ = tokio::time::sleep_until(deadline) => timed_out(),
            },
        }
    }

    /// Reads a value from the per-process store.
    pub fn load(&self, key: &str) -> Option<Value> {
        lock(&self.store).get(key).cloned()
    }

    /// Writes a value into the per-process store.
    pub fn store(&self, key: impl Into<String>, value: Value) {
        lock(&self.store).insert(key.into(), value);
    }

    /// This process's one instance of `T`, made with `T::default()` on
    /// first use. For state that is not a [`Value`]: the transactions a
    /// process holds open, the stream its HTTP response is read from.
    /// Children have their own state; reach a parent's through
    /// [`Process::parent`].
    pub fn state<T: std::any::Any + Send + Sync + Default>(&self) -> Arc<T> {
        lock(&self.state).get_or_insert_with(T::default)
    }

    /// Registers a hook run once when the process exits, with its outcome.
    /// Hooks run in reverse order of registration (last acquired, first
    /// released). A hook may fail (a commit the database refused): the
    /// hooks after it are then told the process failed, and
    /// [`Process::exit`] returns the failure, so the process's answer can
    /// say so. A hook added after exit runs at once, told the process
    /// failed.
    pub fn on_exit<F, Fut>(&self, hook: F)
    where
        F: FnOnce(Outcome) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), ErrorValue>> + Send + 'static,
    {
        let hook: ExitHook = Box::new(move |outcome| Box::pin(hook(outcome)));
        if self.exited.load(Ordering::Acquire) {
            let late = Outcome::Failed(ErrorValue::new("process had already exited"));
            tokio::spawn(run_hooks(vec![hook], late));
            return;
        }
        lock(&self.exit_hooks).push(hook);
    }

    /// Ends the process: cancels what still runs for it, then runs the exit
    /// hooks in reverse order. Calling it twice runs the hooks once. The
    /// first hook failure is returned: the process did not end as its
    /// outcome said (its answer was a success, its commit failed).
    pub async fn exit(&self, outcome: Outcome) -> Result<(), ErrorValue> {
        if self.exited.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        self.cancel.cancel();
        let hooks = std::mem::take(&mut *lock(&self.exit_hooks));
        run_hooks(hooks, outcome).await
    }
}

/// Runs `hooks` last first; after a failure the rest are told the process
/// failed with it, and the first failure is returned.
async fn run_hooks(hooks: Vec<ExitHook>, mut outcome: Outcome) -> Result<(), ErrorValue> {
    let mut result = Ok(());
    for hook in hooks.into_iter().rev() {
        if let Err(error) = hook(outcome.clone()).await
            && result.is_ok()
        {
            outcome = Outcome::Failed(error.clone());
            result = Err(error);
        }
    }
    result
}

impl Drop for Process {
    /// A process dropped without `exit` still releases what it holds: the
    /// hooks run in the background with a failed outcome (roll back).
    fn drop(&mut self) {
        let hooks = std::mem::take(&mut *lock(&self.exit_hooks));
        if hooks.is_empty() {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let outcome = Outcome::Failed(ErrorValue::new("process dropped without exit"));
            // Nobody is left to tell of a failure: the hooks log their own.
            runtime.spawn(async move {
                let _ = run_hooks(hooks, outcome).await;
            });
        }
    }
}

impl std::fmt::Debug for Process {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Process")
            .field("id", &self.id)
            .field("parent", &self.parent.as_ref().map(|p| p.id))
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

/// The error a call answers when its process was cancelled.
pub fn cancelled() -> ErrorValue {
    ErrorValue::new("process cancelled").with_code("cancelled")
}

/// The error a call answers when its process ran past its deadline.
pub fn timed_out() -> ErrorValue {
    ErrorValue::new("process timed out")
        .with_code("timeout")
        .with_status(504)
}

/// Locks a mutex, recovering the data if a panicking holder poisoned it:
/// the maps here stay consistent after any single insert or take.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn typed_state_is_made_once_per_process() {
        #[derive(Default)]
        struct Seen(Mutex<Vec<u32>>);
        let (one, two) = (Process::new(), Process::new());
        lock(&one.state::<Seen>().0).push(1);
        lock(&one.state::<Seen>().0).push(2);
        assert_eq!(*lock(&one.state::<Seen>().0), vec![1, 2]);
        assert!(lock(&two.state::<Seen>().0).is_empty(), "not shared");
        assert!(
            lock(&one.child().state::<Seen>().0).is_empty(),
            "nor with children"
        );
    }

    #[tokio::test]
    async fn exit_hooks_run_once_in_reverse_order() {
        let process = Process::new();
        let seen = Arc::new(Mutex::new(Vec::new()));
        for i in 0..3 {
            let seen = seen.clone();
            process.on_exit(move |outcome| async move {
                lock(&seen).push((i, outcome));
                Ok(())
            });
        }
        assert_eq!(process.exit(Outcome::Ok).await, Ok(()));
        assert_eq!(process.exit(Outcome::Ok).await, Ok(()));
        let seen = lock(&seen).clone();
        assert_eq!(seen.iter().map(|s| s.0).collect::<Vec<_>>(), [2, 1, 0]);
        assert!(seen.iter().all(|s| s.1 == Outcome::Ok));
        assert!(process.is_cancelled());
    }

    #[tokio::test]
    async fn a_failed_hook_fails_the_exit_and_the_hooks_after_it() {
        let process = Process::new();
        let seen = Arc::new(Mutex::new(Vec::new()));
        for i in 0..3 {
            let seen = seen.clone();
            process.on_exit(move |outcome| async move {
                lock(&seen).push((i, outcome));
                match i {
                    1 => Err(ErrorValue::new("commit refused").with_code("23505")),
                    _ => Ok(()),
                }
            });
        }
        let failed = process.exit(Outcome::Ok).await.unwrap_err();
        assert_eq!(failed.code.as_deref(), Some("23505"));
        let seen = lock(&seen).clone();
        assert_eq!(seen[0], (2, Outcome::Ok));
        assert_eq!(seen[1], (1, Outcome::Ok));
        assert_eq!(seen[2], (0, Outcome::Failed(failed)), "told of the failure");
    }

    #[tokio::test]
    async fn dropped_process_rolls_back() {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let process = Process::new();
        process.on_exit(move |outcome| async move {
            let _ = tx.send(outcome);
            Ok(())
        });
        drop(process);
        assert!(matches!(rx.await, Ok(Outcome::Failed(_))));
    }

    #[tokio::test]
    async fn children_end_with_their_parent() {
        let parent = Process::new();
        let child = parent.child();
        assert_eq!(child.parent().map(|p| p.id()), Some(parent.id()));
        assert_ne!(child.id(), parent.id());
        parent.cancel();
        assert_eq!(child.stopped().await.code.as_deref(), Some("cancelled"));
    }

    #[tokio::test(start_paused = true)]
    async fn deadline_stops_the_process() {
        let process = Process::with_deadline(Instant::now() + Duration::from_millis(50));
        assert_eq!(process.stopped().await.code.as_deref(), Some("timeout"));
        assert_eq!(process.child().deadline(), process.deadline());
    }

    #[test]
    fn store_keeps_values_per_process() {
        let a = Process::new();
        let b = Process::new();
        a.store("k", Value::Int(1));
        assert_eq!(a.load("k"), Some(Value::Int(1)));
        assert_eq!(b.load("k"), None);
    }
}
