//! The packet runtime: processes, packets, nodes and how packets move.
//!
//! ARCHITECTURE §4 is the contract: exactly one answer per packet written,
//! merged fan-out answers, `error`-port routing, order per process and port,
//! bounded queues, cancellation and deadlines flowing downstream, and hot
//! swap through [`Slot`]s. Nothing here knows a node kind or a spec.

pub mod call;
pub mod node;
pub mod outputs;
pub mod packet;
pub mod process;
pub mod slot;

pub use call::Call;
pub use node::{Activate, Node, Prepare, prepared, shared};
pub use outputs::{Link, Outputs};
pub use packet::Packet;
pub use process::{BoxFuture, Outcome, Process};
pub use slot::{Limits, Slot};
