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

/// The pattern of an absolute `http`/`https` URL a spec may name (format
/// `http-url`): a host name (its last label not a number, which the URL
/// parser would read as an IPv4 address) or a dotted IPv4 address, a port
/// the parser takes, then any path. A little narrower than the parser: no
/// IPv6 literal, no user info.
pub const HTTP_URL: &str = concat!(
    r"^https?://",
    r"(([A-Za-z0-9-]+\.)*[A-Za-z][A-Za-z0-9-]*\.?",
    r"|((25[0-5]|2[0-4][0-9]|1?[0-9]{1,2})\.){3}(25[0-5]|2[0-4][0-9]|1?[0-9]{1,2}))",
    r"(:([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?",
    r"([/?#]\S*)?$"
);

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
