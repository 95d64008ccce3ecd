//! `sse`: answers the request as Server-Sent Events and runs its `out`
//! branch in the background, streaming what the branch's nodes emit.
//!
//! The node opens the response stream ([`super::stream`]), answers the
//! head at once, and writes its payload to `out` in a child process (as
//! `fork` does) with the stream attached to it ([`super::events`]): every
//! node of the branch, however many run side by side, may write events to
//! it (the `event` kind, the `llm` kind's `emit`). When the branch answers,
//! the node writes the answer as one last event (`done`, or `error` for an
//! error answer), lets go of the stream and exits the child with that
//! outcome. The client going away cancels the request's process, hence the
//! branch. This file owns that sequence; it frames no event but the last
//! and must not decide what the branch emits.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;
use weir_codecs::{ErrorValue, Value};
use weir_engine::runtime::{Activate, BoxFuture, Outcome, Outputs};
use weir_engine::{Call, FieldError, Kind, Node, Packet, Port, scheme::Context};

use super::{events, stream};

/// The most events that may wait for a slow client before writers wait.
const MAX_CAPACITY: usize = 4096;

/// The fields of an `sse` spec.
///
/// Ports: `in` → `out`, written in a child process in the background; the
/// answer is the response's head (200, `text/event-stream`), at once.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(example = serde_json::json!({"done": "done"}))]
pub struct SseSpec {
    /// The name of the last event, whose data is the branch's answer.
    #[serde(default = "default_done")]
    #[schemars(regex(pattern = r"^[^\r\n]+$"))]
    pub done: String,
    /// The name of the last event when the branch answers an error; its
    /// data is `{message, code, status, details}`.
    #[serde(default = "default_error")]
    #[schemars(regex(pattern = r"^[^\r\n]+$"))]
    pub error: String,
    /// How many events may wait for a slow client (1 to 4096) before the
    /// writers wait for it.
    #[serde(default = "default_capacity")]
    #[schemars(range(min = 1, max = 4096))]
    pub capacity: usize,
}

fn default_done() -> String {
    "done".to_string()
}
fn default_error() -> String {
    "error".to_string()
}
fn default_capacity() -> usize {
    64
}

pub(super) struct Sse;

impl Kind for Sse {
    type Spec = SseSpec;

    fn name(&self) -> &'static str {
        "sse"
    }

    fn summary(&self) -> &'static str {
        "Answers the request as Server-Sent Events at once and runs `out` in the background; the branch's nodes emit events into the stream, and its answer is the last event (`done`, or `error`)."
    }

    fn compile(
        &self,
        spec: SseSpec,
        cx: &Context<'_>,
    ) -> Result<Arc<dyn Activate>, Vec<FieldError>> {
        let mut errors = Vec::new();
        for (field, name) in [("done", &spec.done), ("error", &spec.error)] {
            if !events::valid_name(name) {
                errors.push(FieldError::new(
                    field,
                    "an event name must not be empty or hold a line break",
                ));
            }
        }
        if !(1..=MAX_CAPACITY).contains(&spec.capacity) {
            errors.push(FieldError::new("capacity", "must be 1 to 4096"));
        }
        match errors.is_empty() {
            true => Ok(Arc::new(SseActivate {
                name: cx.name(),
                spec: Arc::new(spec),
            })),
            false => Err(errors),
        }
    }
}

struct SseActivate {
    name: String,
    spec: Arc<SseSpec>,
}

impl Activate for SseActivate {
    fn activate<'a>(
        &'a self,
        outputs: &'a Arc<Outputs>,
    ) -> BoxFuture<'a, Result<Arc<dyn Node>, ErrorValue>> {
        let node: Arc<dyn Node> = Arc::new(SseNode {
            name: self.name.clone().into(),
            spec: self.spec.clone(),
            outputs: outputs.clone(),
        });
        Box::pin(async move { Ok(node) })
    }
}

struct SseNode {
    name: Arc<str>,
    spec: Arc<SseSpec>,
    /// This activation's out-links: the branch outlives the call.
    outputs: Arc<Outputs>,
}

impl Node for SseNode {
    fn call<'a>(
        &'a self,
        call: &'a Call,
        input: Packet,
    ) -> BoxFuture<'a, Result<Packet, ErrorValue>> {
        Box::pin(async move {
            let sender = stream::open(call.process(), self.spec.capacity);
            let child = call.process().child();
            let events = events::attach(&child, sender);
            let (outputs, spec, node) =
                (self.outputs.clone(), self.spec.clone(), self.name.clone());
            tokio::spawn(async move {
                let answer = outputs.write_watched(&child, &Port::output(), input).await;
                let (name, data, outcome) = match answer.as_error() {
                    Some(error) => (
                        &spec.error,
                        error_data(error),
                        Outcome::Failed(error.clone()),
                    ),
                    None => (
                        &spec.done,
                        weir_codecs::json::to_json(answer.payload()),
                        Outcome::Ok,
                    ),
                };
                events.send(name, &data).await;
                drop(events);
                events::detach(&child);
                if let Err(error) = child.exit(outcome).await {
                    tracing::debug!(node = %node, process = child.id(), %error, "streamed branch did not end well");
                }
            });
            Ok(Packet::new(head()))
        })
    }
}

/// An error as event data: `{message, code, status, details}`.
fn error_data(error: &ErrorValue) -> serde_json::Value {
    let value = weir_codecs::json::to_json(&Value::error(error.clone()));
    match value {
        serde_json::Value::Object(mut map) => map.remove("error").unwrap_or_default(),
        other => other,
    }
}

/// The response's head: Server-Sent Events, never cached or buffered by a
/// proxy; a comment as the first bytes so the client sees the head now.
pub(super) fn head() -> Value {
    let header = Value::map([
        ("content-type", Value::string("text/event-stream")),
        ("cache-control", Value::string("no-store")),
        ("x-accel-buffering", Value::string("no")),
    ]);
    Value::map([
        ("status", Value::Int(200)),
        ("header", header),
        ("body", Value::string(": streaming\n\n")),
    ])
}
