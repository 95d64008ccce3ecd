//! The container family: user scripts run in Docker containers, driven
//! through `bollard`, locked down whatever the spec says.
//!
//! The heavy part knows no node contract: [`Runner`] runs a [`Job`] (a
//! script, its stdin and arguments) under a [`ContainerSpec`] (image,
//! command, limits) in a fresh container and answers an [`Outcome`], or a
//! [`RunStream`] of its lines. The pieces: `spec` (limits and their
//! ceilings), `runner` (the Docker requests and the lockdown),
//! `guard` (removal however a run ends), `identity` (which engine owns a
//! container, for the sweep at start), `output` (bounded capture), `stream`.
//! The `container` kind (`kind`) only turns a spec and a packet into a run
//! on the engine's one [`Sandbox`]. Nothing here runs user code in the
//! engine's process.

mod guard;
mod identity;
mod kind;
mod outcome;
mod output;
mod runner;
mod sandbox;
mod spec;
mod stream;

pub use identity::{ENGINE_LABEL, Engine, PROCESS_LABEL, Verdict};
pub use outcome::{Channel, Event, Job, Line, Outcome, RunError};
pub use runner::{BOOTSTRAP, Runner, SOCKET, SOURCE_LIMIT, STDIN_LIMIT, USER, host_config};
pub use sandbox::Sandbox;
pub use spec::{ContainerSpec, Limits, Network, Problem};
pub use stream::RunStream;

use std::sync::Arc;

use weir_engine::Scheme;

/// Registers the `container` kind and the [`Sandbox`] its nodes share (it
/// connects to Docker when the first node loads).
pub fn register(scheme: &mut Scheme) {
    scheme
        .register(kind::Container)
        .provide(Arc::new(Sandbox::new()));
}
