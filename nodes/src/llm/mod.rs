//! The llm family: chat completions from an OpenAI-compatible server
//! (OpenAI, llama.cpp's server and the like).
//!
//! The [`client`] makes one call, `POST {base_url}/chat/completions`:
//! messages rendered from templates ([`prompt`]), the request's options
//! ([`request`]), structured output checked against a JSON Schema
//! ([`structured`]), the answer whole or streamed ([`sse`], [`answer`]),
//! retries ([`retry`]), a concurrency limit per server ([`limit`]) and an
//! API key that shows nowhere ([`secret`]). None of that knows about nodes;
//! the `llm` kind is a thin layer over it.

pub mod answer;
pub mod client;
pub mod error;
pub mod limit;
pub mod prompt;
pub mod request;
pub mod retry;
pub mod secret;
pub mod sse;
pub mod structured;

pub use answer::{Answer, Usage};
pub use client::{Client, Config};
pub use error::{CallError, Failure};
pub use prompt::Prompt;
pub use request::{ChatRequest, Flavour, Message};
pub use retry::Retry;
pub use secret::ApiKey;
pub use structured::Structured;

mod kind;

pub use kind::{LlmSpec, MessageSpec, ResponseFormatSpec, Stop};

use weir_engine::Scheme;

/// Registers the llm family's kind.
pub fn register(scheme: &mut Scheme) {
    scheme.register(kind::Llm);
}
