//! [`Slot`]: the stable address of a symbol, and the task that runs it.
//!
//! A slot points at the inbox of the symbol's running version, or at nothing
//! while the symbol is inactive. Hot swap is one atomic pointer store: new
//! sends reach the new version, while the old version's task keeps its
//! inbox until the packets already sent to it are answered, then ends.
//! Reading a slot takes no lock.
//!
//! Each running version is one tokio task that takes envelopes from a
//! bounded inbox and runs up to `max_in_flight` calls at once, so different
//! processes proceed in parallel while a full node makes its writers wait.
//! Calls start in arrival order, so the packets a process writes to a port
//! are handled in the order written; calls do not wait for one another, so
//! a workflow may loop back into a node within one process. (Writes made
//! concurrently, without awaiting one another, keep their order while the
//! inbox has room; writers that must wait for room race, as any concurrent
//! operations do.)

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, StreamExt};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use weir_codecs::ErrorValue;

use super::call::Call;
use super::node::Node;
use super::outputs::Outputs;
use super::packet::Packet;
use super::process::Process;
use crate::port::Port;

/// Queue sizes of a running node: they bound the memory a stalled node can
/// make the workflow hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Packets waiting in a node's inbox before writers wait.
    pub inbox: usize,
    /// Calls a node runs at once before it stops taking from its inbox.
    pub max_in_flight: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            inbox: 256,
            max_in_flight: 1024,
        }
    }
}

/// A packet on its way into a node, with the channel for its answer.
pub(crate) struct Envelope {
    process: Arc<Process>,
    port: Port,
    packet: Packet,
    reply: oneshot::Sender<Packet>,
}

type Inbox = mpsc::Sender<Envelope>;

/// The stable address of a symbol in a symbol table.
pub struct Slot {
    name: Arc<str>,
    inbox: ArcSwapOption<Inbox>,
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slot")
            .field("name", &self.name)
            .field("active", &self.is_active())
            .finish()
    }
}

impl Slot {
    /// An empty (inactive) slot for the symbol `name`.
    pub fn new(name: &str) -> Slot {
        Slot {
            name: name.into(),
            inbox: ArcSwapOption::empty(),
        }
    }

    /// The symbol's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether a version is running behind this slot.
    pub fn is_active(&self) -> bool {
        self.inbox.load().is_some()
    }

    /// Starts `node` as this slot's running version and points the slot at
    /// it. The previous version, if any, drains and ends on its own; the
    /// returned handle ends when the new version has drained in its turn.
    pub fn start(
        &self,
        node: Arc<dyn Node>,
        outputs: Arc<Outputs>,
        limits: Limits,
    ) -> JoinHandle<()> {
        let (inbox, envelopes) = mpsc::channel(limits.inbox.max(1));
        let task = tokio::spawn(run(node, outputs, envelopes, limits.max_in_flight.max(1)));
        self.inbox.store(Some(Arc::new(inbox)));
        task
    }

    /// Points the slot at nothing: sends answer "not active" from now on.
    pub fn stop(&self) {
        self.inbox.store(None);
    }

    /// Sends `packet` to `port` of the running version in `process` and
    /// waits for its answer.
    ///
    /// This does not watch the process: whoever starts a process watches it
    /// (see [`Slot::send_watched`]). When the watcher gives up, it drops
    /// this future, the node sees its caller gone and drops its own call,
    /// and so on down the chain, so cancellation costs nothing per hop.
    pub async fn send(&self, process: Arc<Process>, port: Port, packet: Packet) -> Packet {
        let (reply, answer) = oneshot::channel();
        let envelope = Envelope {
            process,
            port,
            packet,
            reply,
        };
        // The fast path borrows the inbox: no reference count to contend on.
        let full = match self.inbox.load().as_deref() {
            None => return Packet::error(self.inactive()),
            Some(inbox) => match inbox.try_send(envelope) {
                Ok(()) => None,
                Err(mpsc::error::TrySendError::Closed(_)) => return Packet::error(self.inactive()),
                Err(mpsc::error::TrySendError::Full(envelope)) => Some(envelope),
            },
        };
        // Boxed: every node that writes holds this future inside its own,
        // and the wait (a semaphore's future and the envelope) would make
        // each of them larger for a path that is rarely taken.
        if let Some(envelope) = full
            && let Err(error) = Box::pin(self.wait_for_room(envelope)).await
        {
            return Packet::error(error);
        }
        answer
            .await
            .unwrap_or_else(|_| Packet::error(self.dropped()))
    }

    /// The slow path of [`Slot::send`]: the inbox is full, so the writer
    /// waits (back-pressure). Kept apart, and boxed there, so the common
    /// future stays small.
    async fn wait_for_room(&self, envelope: Envelope) -> Result<(), ErrorValue> {
        let inbox = self.inbox.load_full().ok_or_else(|| self.inactive())?;
        inbox.send(envelope).await.map_err(|_| self.inactive())
    }

    /// [`Slot::send`] for whoever starts `process`: gives up with an error
    /// answer as soon as the process is cancelled or past its deadline,
    /// which stops everything it started downstream.
    pub async fn send_watched(&self, process: Arc<Process>, port: Port, packet: Packet) -> Packet {
        tokio::select! {
            biased;
            answer = self.send(process.clone(), port, packet) => answer,
            error = process.stopped() => Packet::error(error),
        }
    }

    fn inactive(&self) -> ErrorValue {
        ErrorValue::new(format!("node `{}` is not active", self.name))
            .with_code("inactive")
            .with_status(503)
    }

    fn dropped(&self) -> ErrorValue {
        ErrorValue::new(format!("node `{}` stopped before answering", self.name))
            .with_code("dropped")
    }
}

/// The task of one running version: takes envelopes, runs calls
/// concurrently, and ends once its inbox is closed and every call answered.
async fn run(
    node: Arc<dyn Node>,
    outputs: Arc<Outputs>,
    mut envelopes: mpsc::Receiver<Envelope>,
    max_in_flight: usize,
) {
    let mut in_flight = FuturesUnordered::new();
    loop {
        tokio::select! {
            biased;
            Some(()) = in_flight.next(), if !in_flight.is_empty() => {}
            envelope = envelopes.recv(), if in_flight.len() < max_in_flight => match envelope {
                // The call borrows the node: no shared reference count
                // to update per packet.
                Some(envelope) => in_flight.push(answer(&*node, outputs.clone(), envelope)),
                None => break,
            },
        }
    }
    while in_flight.next().await.is_some() {}
}

/// Runs one call and sends its answer back, routing the node's own failure
/// to its `error` port when that is linked. A caller that stops waiting
/// (its process was cancelled or timed out upstream) drops the call.
///
/// Every call in flight is one of these futures, moved into the slot's set
/// as it starts: the failure path (a write to the `error` port, itself a
/// whole send) is boxed so that it does not make every call's future, and
/// that move, several times larger.
async fn answer(node: &dyn Node, outputs: Arc<Outputs>, envelope: Envelope) {
    let Envelope {
        process,
        port,
        packet,
        mut reply,
    } = envelope;
    let call = Call::new(process, port, outputs);
    let result = tokio::select! {
        biased;
        // A panic is a bug in the node, but it fails this call only: the
        // task (and every other call in flight) keeps running.
        result = AssertUnwindSafe(node.call(&call, packet)).catch_unwind() => result,
        () = reply.closed() => return,
    };
    let error = match result {
        Ok(Ok(packet)) => {
            let _ = reply.send(packet);
            return;
        }
        Ok(Err(error)) => error,
        Err(_) => {
            tracing::error!("a node's call panicked; it answered 500 and the node stays active");
            ErrorValue::new("the node failed unexpectedly; the engine's log says where")
                .with_code("panic")
                .with_status(500)
        }
    };
    let _ = reply.send(Box::pin(fail(&call, error)).await);
}

async fn fail(call: &Call, error: ErrorValue) -> Packet {
    let port = Port::error();
    match call.is_linked(&port) {
        true => call.write(&port, Packet::error(error)).await,
        false => Packet::error(error),
    }
}
