//! Weir's node kinds, one module per family.
//!
//! Each family exposes `register(&mut Scheme)`; [`register_all`] registers
//! every family this build has. Every kind has the same shape: a typed spec
//! struct (serde + JSON Schema), a [`Kind`](weir_engine::Kind) impl that
//! checks and compiles it, and a [`Node`](weir_engine::Node) that runs it.
//! Nothing here reaches into the engine's internals.

#[cfg(feature = "container")]
pub mod container;
pub mod control;
pub mod net;
pub mod reference;
pub mod sql;
pub mod system;

use weir_engine::Scheme;

/// A scheme with every kind of this build.
pub fn scheme() -> Scheme {
    let mut scheme = Scheme::new();
    register_all(&mut scheme);
    scheme
}

/// Registers every family of this build into `scheme`.
pub fn register_all(scheme: &mut Scheme) {
    #[cfg(feature = "container")]
    container::register(scheme);
    control::register(scheme);
    net::register(scheme);
    sql::register(scheme);
    system::register(scheme);
}
