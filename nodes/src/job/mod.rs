//! The job family: the `job` kind, durable work handed to the store's job
//! queue (`weir_engine::store::jobs`) and run later, by whichever engine
//! sharing the database claims it.
//!
//! A `job` node's `op` says what it does: `enqueue` (the default) stores
//! the packet as a job and answers `202` at once, and its `out` branch runs
//! the job later as a root process of its own; `get`, `events`, `cancel`
//! and `list` read or cancel jobs ([`view`] is the shape they answer). The
//! worker that claims jobs is a host service ([`JobService`]), started by
//! the first enqueueing node to load; it finds a job's node through the
//! [`registry`] of enqueueing nodes this engine runs. This module owns the
//! kind and that service; the queue itself (leases, fencing, retries) is
//! the engine's, and the HTTP around the nodes is the net family's.

mod events;
mod kind;
mod node;
mod registry;
mod run;
mod service;
mod view;

pub use kind::{JobOp, JobSpec};
pub use service::JobService;
pub use view::{JobErrorView, JobListing, JobView};

use weir_engine::Scheme;

/// Registers the job family's kinds.
pub fn register(scheme: &mut Scheme) {
    scheme.register(kind::JobKind);
}
