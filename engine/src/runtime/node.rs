//! The [`Node`] trait: what every compiled node kind implements.
//!
//! A node answers each packet it receives with exactly one packet. It may
//! write to its out-ports through the [`Call`] while it works, and it may
//! hold resources that its load and unload hooks acquire and release. The
//! runtime, not the node, decides where packets go and on which task.

use weir_codecs::ErrorValue;

use std::sync::Arc;

use super::call::Call;
use super::outputs::Outputs;
use super::packet::Packet;
use super::process::BoxFuture;

/// A compiled, runnable node.
pub trait Node: Send + Sync + 'static {
    /// Handles one packet that arrived on `call.port()` and answers it.
    ///
    /// `Err` means this node itself failed: the runtime sends the error to
    /// the node's `error` port when it is linked and answers with what that
    /// branch answers, else it answers the error. An error packet that came
    /// back from downstream is returned as `Ok` and passes through.
    fn call<'a>(
        &'a self,
        call: &'a Call,
        input: Packet,
    ) -> BoxFuture<'a, Result<Packet, ErrorValue>>;

    /// Runs before the node receives its first packet, after every node it
    /// links to has loaded. A failure keeps the node inactive.
    ///
    /// `outputs` are the node's out-links for this version. Most nodes only
    /// write while handling a packet (through [`Call`]); a source, such as an
    /// HTTP listener or a timer, keeps them to start processes of its own
    /// until it unloads.
    fn load(&self, outputs: &Arc<Outputs>) -> BoxFuture<'_, Result<(), ErrorValue>> {
        let _ = outputs;
        Box::pin(async { Ok(()) })
    }

    /// Runs after the node's last packet has been answered, before the nodes
    /// it links to unload.
    fn unload(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}
