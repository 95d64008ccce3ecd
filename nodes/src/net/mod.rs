//! The net family: HTTP in and out.
//!
//! `listener` serves HTTP and starts a process per request; `router` picks a
//! branch by method and path; `static` serves a folder's files. Requests and answers are plain values
//! ([`message`]), so every other kind can build or read them.

mod files;
mod listener;
pub mod message;
mod router;
mod socket;

pub use files::StaticSpec;
pub use listener::ListenerSpec;
pub use router::{Route, RouterSpec};

use weir_engine::Scheme;

/// Registers the net family's kinds.
pub fn register(scheme: &mut Scheme) {
    scheme
        .register(listener::Listener)
        .register(router::Router)
        .register(files::Static);
}
