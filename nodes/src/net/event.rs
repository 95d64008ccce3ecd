//! `event`: writes one Server-Sent Event to the stream of the `sse` node
//! whose branch it runs in, then passes the payload on.
//!
//! `event` (its name) and `data` are rendered per packet over `payload` and the env
//! ([`super::templated`]); a `data` that is one `{{ expr }}` keeps its
//! type, so it is sent as that JSON value. When the request is not
//! streamed (no `sse` node above), nothing is written: one workflow serves
//! both. This file owns rendering and writing the one event; the stream
//! itself is [`super::events`]'.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;
use weir_codecs::{ErrorValue, Value};
use weir_engine::runtime::{BoxFuture, shared};
use weir_engine::{Activate, Call, FieldError, Kind, Node, Packet, Port, scheme::Context};

use super::events;
use super::templated::{self, Templated};

/// The fields of an `event` spec.
///
/// Ports: `in` → `out` (the payload, unchanged); the answer is what `out`
/// answers (the payload itself when `out` is unlinked).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(example = serde_json::json!({"event": "progress", "data": {"done": "{{ payload.count }}"}}))]
pub struct EventSpec {
    /// The event's name, a template over `payload` and the env
    /// (`"{{ payload.side }}"`); it must not be empty or hold a line break.
    pub event: String,
    /// The event's data, sent as JSON: a value whose strings may be
    /// templates (`"{{ payload.result }}"` keeps its type). Default: the
    /// payload.
    #[serde(default)]
    pub data: Option<serde_json::Value>,
}

/// The fields rendered per packet.
const PER_PACKET: [&str; 2] = ["event", "data"];

pub(super) struct Event;

impl Kind for Event {
    type Spec = EventSpec;

    fn name(&self) -> &'static str {
        "event"
    }

    fn summary(&self) -> &'static str {
        "Writes one Server-Sent Event (`event`, `data` templates over `payload`) to the stream of the `sse` node it runs under, if any, and passes the payload on to `out`."
    }

    fn runtime_templates(&self) -> &'static [&'static str] {
        &PER_PACKET
    }

    fn compile(
        &self,
        spec: EventSpec,
        cx: &Context<'_>,
    ) -> Result<Arc<dyn Activate>, Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = Templated::compile("event", serde_json::Value::String(spec.event))
            .map_err(|e| errors.extend(e))
            .ok();
        let data = match spec.data {
            None => None,
            Some(data) => Templated::compile("data", data)
                .map_err(|e| errors.extend(e))
                .ok(),
        };
        let env = weir_engine::env::bind(cx.spec(), cx.values());
        let env = env.map_err(|e| errors.extend(e)).unwrap_or_default();
        match (name, errors.is_empty()) {
            (Some(name), true) => Ok(shared(EventNode {
                node: cx.name(),
                name,
                data,
                env,
            })),
            _ => Err(errors),
        }
    }
}

struct EventNode {
    node: String,
    name: Templated,
    data: Option<Templated>,
    env: Value,
}

impl EventNode {
    fn render(&self, payload: &Value) -> Result<(String, serde_json::Value), ErrorValue> {
        let fail = |message: String| {
            ErrorValue::new(format!("event `{}`: {message}", self.node)).with_code("invalid_event")
        };
        let context = templated::context(&self.env, payload);
        let name = self.name.render("event", &context).map_err(fail)?;
        let name = match name.as_str() {
            Some(name) if events::valid_name(name) => name.to_string(),
            _ => {
                return Err(fail(
                    "event: must render to text, not empty, without line breaks".to_string(),
                ));
            }
        };
        let data = match &self.data {
            None => payload.clone(),
            Some(data) => data.render("data", &context).map_err(fail)?,
        };
        Ok((name, weir_codecs::json::to_json(&data)))
    }
}

impl Node for EventNode {
    fn call<'a>(
        &'a self,
        call: &'a Call,
        input: Packet,
    ) -> BoxFuture<'a, Result<Packet, ErrorValue>> {
        Box::pin(async move {
            if let Some(events) = events::find(call.process()) {
                let (name, data) = self.render(input.payload())?;
                // A client that went away cancels the process; the event is
                // simply not seen.
                events.send(&name, &data).await;
            }
            Ok(call.write(&Port::output(), input).await)
        })
    }
}
