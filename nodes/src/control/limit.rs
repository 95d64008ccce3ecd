//! The `timeout` of kinds that run user code (`snippet`, `if`, `switch`):
//! one limit per call, one error when it is reached.
//!
//! CEL always terminates, but a comprehension over a large payload can take
//! long; with a `timeout` set, [`Limit::run`] evaluates it on a blocking
//! thread and answers a `timeout` error when the limit passes first (the
//! evaluation, bound to end, finishes there and is discarded). With no
//! `timeout` the code runs inline, at no cost. JavaScript enforces its limit
//! inside the engine instead (`super::js`), and only borrows [`Limit`]'s
//! error. This module knows nothing of any language.

use std::sync::Arc;

use weir_codecs::ErrorValue;

use super::duration::Duration;

/// A node's per-call time limit for its user code.
#[derive(Clone, Debug)]
pub struct Limit {
    node: Arc<str>,
    timeout: Option<Duration>,
}

impl Limit {
    /// The limit of `node`: `timeout`, or none.
    pub fn new(node: &str, timeout: Option<Duration>) -> Limit {
        Limit {
            node: node.into(),
            timeout,
        }
    }

    /// The node's name, for messages.
    pub fn node(&self) -> &Arc<str> {
        &self.node
    }

    /// The error of a call that ran past `limit`.
    pub fn timed_out(&self, limit: Duration) -> ErrorValue {
        ErrorValue::new(format!(
            "node `{}`: ran past its time limit of {limit}",
            self.node
        ))
        .with_code("timeout")
        .with_status(504)
    }

    /// Runs `work`, code that always terminates, within the limit.
    pub async fn run<T, F>(&self, work: F) -> Result<T, ErrorValue>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T, ErrorValue> + Send + 'static,
    {
        let Some(limit) = self.timeout else {
            return work();
        };
        let task = tokio::task::spawn_blocking(work);
        match tokio::time::timeout(limit.get(), task).await {
            Ok(Ok(result)) => result,
            Ok(Err(failed)) => Err(ErrorValue::new(format!(
                "node `{}`: evaluation failed: {failed}",
                self.node
            ))),
            Err(_) => Err(self.timed_out(limit)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_past_the_limit_is_a_timeout_error() {
        let limit = Limit::new("slow", Some(Duration::from_millis(10)));
        // The work cannot end before the test lets it, so only the limit can.
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let error = limit
            .run(move || {
                let _ = wait.recv();
                Ok(())
            })
            .await
            .unwrap_err();
        let _ = release.send(());
        assert_eq!(
            (error.code.as_deref(), error.status),
            (Some("timeout"), Some(504))
        );
        assert_eq!(
            error.message,
            "node `slow`: ran past its time limit of 10ms"
        );
        assert_eq!(Limit::new("n", None).run(|| Ok(1)).await, Ok(1));
    }
}
