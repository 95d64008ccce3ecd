//! The node contract: [`Activate`] is what a spec compiles into, [`Node`]
//! is one activation of it.
//!
//! Every time the symbol table starts a symbol (it became active, its spec
//! changed, or a link target was replaced), it asks the symbol's
//! [`Activate`] for a fresh [`Node`], handing it this activation's
//! out-links. Whatever the node keeps (its outputs, a socket, background
//! tasks) belongs to that activation alone, so a reload can never see an
//! earlier activation's state; unloading is [`Node::unload`] and then
//! dropping the node. Kinds whose nodes keep nothing from activation wrap
//! them in [`shared`], which hands out the same immutable node each time.

use weir_codecs::ErrorValue;

use std::sync::Arc;

use super::call::Call;
use super::outputs::Outputs;
use super::packet::Packet;
use super::process::BoxFuture;

/// One activation of a compiled spec: it answers the packets sent to it.
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

    /// Runs once, after this activation's last packet has been answered and
    /// before the nodes it links to unload. It releases what this
    /// activation holds, and only that: a newer activation may already run.
    fn unload(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

/// What a kind compiles a spec into: it makes a fresh [`Node`] for each
/// activation.
pub trait Activate: Send + Sync + 'static {
    /// Starts one activation, after every node it links to has started.
    /// `outputs` are this activation's out-links: a source (a listener, a
    /// timer) keeps them to start processes of its own. A failure keeps the
    /// symbol inactive (an older activation, if any, keeps running).
    fn activate<'a>(
        &'a self,
        outputs: &'a Arc<Outputs>,
    ) -> BoxFuture<'a, Result<Arc<dyn Node>, ErrorValue>>;
}

/// The [`Activate`] of a node that keeps nothing from its activation: every
/// activation shares it (it reaches its outputs through the [`Call`]).
pub fn shared(node: impl Node) -> Arc<dyn Activate> {
    Arc::new(Shared(Arc::new(node)))
}

/// See [`shared`]. Its activations are the node itself; because they are
/// shared, retiring one must not unload the node, so [`Node::unload`] of a
/// shared node is never called (a node with something to release is not a
/// shared one).
struct Shared(Arc<dyn Node>);

impl Activate for Shared {
    fn activate<'a>(
        &'a self,
        _: &'a Arc<Outputs>,
    ) -> BoxFuture<'a, Result<Arc<dyn Node>, ErrorValue>> {
        let node: Arc<dyn Node> = Arc::new(SharedNode(self.0.clone()));
        Box::pin(async move { Ok(node) })
    }
}

/// A shared node seen as one activation: calls pass through, unloading
/// releases nothing.
struct SharedNode<N: ?Sized>(Arc<N>);

impl<N: Node + ?Sized> Node for SharedNode<N> {
    fn call<'a>(
        &'a self,
        call: &'a Call,
        input: Packet,
    ) -> BoxFuture<'a, Result<Packet, ErrorValue>> {
        self.0.call(call, input)
    }
}

/// A shared node that must check or prepare something before each
/// activation (a resource it needs is there, a table exists), while its
/// packets need nothing from the activation.
pub trait Prepare: Node {
    /// Runs before each activation; a failure keeps the symbol inactive.
    fn prepare(&self) -> BoxFuture<'_, Result<(), ErrorValue>>;
}

/// The [`Activate`] of a shared node with a [`Prepare`] step.
pub fn prepared(node: impl Prepare) -> Arc<dyn Activate> {
    Arc::new(Prepared(Arc::new(node)))
}

/// See [`prepared`].
struct Prepared<N>(Arc<N>);

impl<N: Prepare> Activate for Prepared<N> {
    fn activate<'a>(
        &'a self,
        _: &'a Arc<Outputs>,
    ) -> BoxFuture<'a, Result<Arc<dyn Node>, ErrorValue>> {
        Box::pin(async move {
            self.0.prepare().await?;
            let node: Arc<dyn Node> = Arc::new(SharedNode(self.0.clone()));
            Ok(node)
        })
    }
}
