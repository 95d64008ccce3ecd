//! Event streams: one Server-Sent Events response that many nodes write
//! to, each event under a name of its own.
//!
//! [`super::stream`] gives one node a request's response body. An event
//! stream is built on it for the case where several nodes, running side by
//! side, all have something to say to the same client (two model calls
//! relaying their tokens, then a summary). The `sse` kind [`attach`]es the
//! stream's sender to the child process its branch runs in; any node
//! running in that process or below it finds the stream with [`find`] and
//! writes whole events (`event: NAME`, `data: JSON`), which never
//! interleave within an event. A node that finds no stream (the request is
//! not streamed) skips its events, so one workflow serves plain and
//! streamed requests alike. The stream ends when the `sse` node
//! [`detach`]es it after its branch answered and the last writer holding a
//! clone is gone.
//!
//! This module only hands senders around and frames events; it does no
//! I/O and does not answer the response's head.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::mpsc;
use weir_engine::Process;

/// A writer of whole events to one response stream. Cloning shares the
/// stream.
#[derive(Clone, Debug)]
pub struct Events {
    sender: mpsc::Sender<Bytes>,
}

impl Events {
    /// Writes one event; false when the client has gone.
    pub async fn send(&self, name: &str, data: &serde_json::Value) -> bool {
        self.sender.send(frame(name, data)).await.is_ok()
    }

    /// Resolves when the client has gone.
    pub async fn closed(&self) {
        self.sender.closed().await
    }
}

/// Where a process keeps the event stream its branch writes to.
#[derive(Default)]
struct Attached(Mutex<Option<Events>>);

/// Makes `sender` the event stream of `process` and every process below
/// it.
pub fn attach(process: &Arc<Process>, sender: mpsc::Sender<Bytes>) -> Events {
    let events = Events { sender };
    *lock(&process.state::<Attached>()) = Some(events.clone());
    events
}

/// Lets go of `process`'s event stream: it ends once the writers that
/// still hold a clone are done.
pub fn detach(process: &Arc<Process>) {
    lock(&process.state::<Attached>()).take();
}

/// The event stream of the nearest process, from `process` up, that has
/// one attached; none when the request is not streamed.
pub fn find(process: &Arc<Process>) -> Option<Events> {
    let mut current = Some(process);
    while let Some(process) = current {
        if let Some(events) = lock(&process.state::<Attached>()).as_ref() {
            return Some(events.clone());
        }
        current = process.parent();
    }
    None
}

/// One event: its name on one line, its data (JSON, which never holds a
/// raw newline) on the next.
pub fn frame(name: &str, data: &serde_json::Value) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}

/// Whether `name` can be an event's name: not empty, no line breaks (which
/// would end the field and let a name inject events of its own).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(['\n', '\r'])
}

fn lock(attached: &Attached) -> std::sync::MutexGuard<'_, Option<Events>> {
    // Only ever replaced or taken whole: consistent after a panic.
    attached.0.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writers_below_the_attaching_process_share_its_stream() {
        let root = Process::new();
        let branch = root.child();
        let (sender, mut receiver) = mpsc::channel(4);
        attach(&branch, sender);
        assert!(find(&root).is_none(), "only the branch and below");
        let writer = find(&branch.child()).expect("a grandchild finds it");
        assert!(writer.send("a", &serde_json::json!({"delta": "x"})).await);
        assert_eq!(
            receiver.recv().await.as_deref(),
            Some(&b"event: a\ndata: {\"delta\":\"x\"}\n\n"[..])
        );
        detach(&branch);
        assert!(find(&branch).is_none());
        drop(writer);
        assert!(receiver.recv().await.is_none(), "ends with the last writer");
    }

    #[test]
    fn names_with_line_breaks_are_refused() {
        assert!(valid_name("side"));
        assert!(!valid_name(""));
        assert!(!valid_name("a\ndata: x"));
    }
}
