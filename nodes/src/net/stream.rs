//! Streamed HTTP responses: how any node answers a request with a body that
//! is still being written (Server-Sent Events, a long download).
//!
//! A node calls [`open`] while it handles the request: the request's
//! process then holds the receiving end, and the node answers at once with
//! the response's status and headers (`{status, header}`, plus an optional
//! first `body`). The listener, seeing the stream, sends the answer and
//! then every chunk written to the returned sender, for as long as the
//! sender lives; the request's process lives until the client goes (or the
//! listener stops), which cancels it and closes the sender. The node's
//! writer notices through `Sender::closed` or a failed send, and stops.
//! This module only hands the stream from node to listener; it does no
//! I/O.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::mpsc;
use weir_engine::Process;

/// The body a node streams for its request's response, kept in the root
/// process's typed state until the listener takes it.
#[derive(Default)]
struct Pending(Mutex<Option<mpsc::Receiver<Bytes>>>);

/// Streams the response of `process`'s request: the listener sends every
/// chunk written to the returned sender, after the node's answer, until the
/// sender is dropped. At most `capacity` chunks wait unsent; a slow client
/// slows the writer. Opening again replaces the previous stream.
pub fn open(process: &Arc<Process>, capacity: usize) -> mpsc::Sender<Bytes> {
    let (sender, receiver) = mpsc::channel(capacity.max(1));
    let pending = root(process).state::<Pending>();
    *lock(&pending) = Some(receiver);
    sender
}

/// The stream a node opened for `process`'s response, if any; the
/// listener takes it once.
pub(crate) fn take(process: &Arc<Process>) -> Option<mpsc::Receiver<Bytes>> {
    let pending = root(process).state::<Pending>();
    lock(&pending).take()
}

/// The request's own process: a node may run in a child (a `fork`), but the
/// listener answers for the root.
fn root(process: &Arc<Process>) -> &Arc<Process> {
    let mut current = process;
    while let Some(parent) = current.parent() {
        current = parent;
    }
    current
}

fn lock(pending: &Pending) -> std::sync::MutexGuard<'_, Option<mpsc::Receiver<Bytes>>> {
    // Only ever replaced or taken whole: consistent after a panic.
    pending.0.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stream_opened_in_a_child_is_taken_from_the_root() {
        let root = Process::new();
        let child = root.child();
        let sender = open(&child, 4);
        sender.send(Bytes::from_static(b"one")).await.unwrap();
        let mut receiver = take(&root).expect("the root holds it");
        assert!(take(&root).is_none(), "taken once");
        assert_eq!(receiver.recv().await.as_deref(), Some(&b"one"[..]));
        drop(receiver);
        assert!(sender.is_closed(), "the writer sees the reader go");
    }
}
