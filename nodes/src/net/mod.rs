//! The net family: HTTP in and out.
//!
//! `listener` serves HTTP and starts a process per request; `router` picks a
//! branch by method and path; `auth` lets only requests with a bearer token
//! through; `static` serves a folder's files; `http` is the client side: a
//! request per packet, its answer a value. Requests and answers are plain
//! values ([`message`]), so every other kind can build or read them; a kind
//! streams a response body through [`stream`]; `sse` streams a branch as
//! Server-Sent Events that any of its nodes (`event`, the `llm` kind's
//! `emit`) may write to ([`events`]).

mod auth;
mod bundle;
mod event;
pub mod events;
mod files;
mod head_errors;
mod http;
mod listener;
pub mod message;
mod router;
mod socket;
mod sse;
pub mod stream;
pub(crate) mod templated;
mod tls;

pub use auth::{AuthSpec, Scope, TokenSpec};
pub use event::EventSpec;
pub use files::StaticSpec;
pub use http::{HttpSpec, client_builder};
pub use listener::ListenerSpec;
pub use router::{Route, RouterSpec};
pub use sse::SseSpec;
pub use tls::TlsSpec;

use weir_engine::Scheme;

/// Registers the net family's kinds.
pub fn register(scheme: &mut Scheme) {
    scheme
        .register(listener::Listener)
        .register(router::Router)
        .register(auth::Auth)
        .register(files::Static)
        .register(http::Http)
        .register(sse::Sse)
        .register(event::Event);
}

#[cfg(test)]
mod tests;
