//! Weir's node kinds, one module per family.
//!
//! Each family exposes `register(&mut Scheme)`; the [`host::Host`] registers
//! every family this build has and lends them their resources. Every kind
//! has the same shape: a typed spec struct (serde + JSON Schema), a
//! [`Kind`](weir_engine::Kind) impl that checks it and compiles it into an
//! [`Activate`](weir_engine::Activate), and a [`Node`](weir_engine::Node)
//! per activation that runs it. Nothing here reaches into the engine's
//! internals.

#[cfg(feature = "container")]
pub mod container;

pub mod ceiling;
pub mod compiler;
pub mod control;
pub mod host;
pub mod job;
pub mod llm;
pub mod net;
pub mod reference;
pub mod sql;
pub mod system;

pub use host::Host;
use weir_engine::Scheme;

/// A scheme with every kind of this build and no database: shorthand for
/// [`Host::offline`]'s scheme, for checks and tests.
pub fn scheme() -> Scheme {
    Scheme::clone(Host::offline().scheme())
}
