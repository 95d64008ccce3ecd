//! `throw`: fails on purpose with an error built from the spec and payload.
//!
//! The message is the spec's `message`, else the payload when it is a
//! string, else "thrown"; the payload travels as the error's details.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;
use weir_codecs::{ErrorValue, Value};
use weir_engine::runtime::BoxFuture;
use weir_engine::{Activate, shared};
use weir_engine::{
    Call, FieldError, Kind, Node, Packet, Port, PortPattern, Ports, scheme::Context,
};

/// The fields of a `throw` spec.
///
/// Ports: `in` only; the answer is the error (sent to `error` first when
/// that is linked).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(example = super::example("message: not found\ncode: missing\nstatus: 404"))]
pub struct ThrowSpec {
    /// The error message; defaults to the payload when it is a string.
    #[serde(default)]
    pub message: Option<String>,
    /// A machine-readable error code.
    #[serde(default)]
    pub code: Option<String>,
    /// The HTTP status the error maps to (400–599).
    #[serde(default)]
    #[schemars(range(min = 400, max = 599))]
    pub status: Option<u16>,
}

pub(super) struct Throw;

impl Kind for Throw {
    type Spec = ThrowSpec;

    fn name(&self) -> &'static str {
        "throw"
    }

    fn summary(&self) -> &'static str {
        "Answers an error: `message` (or the payload), with an optional `code` and HTTP `status`."
    }

    fn ports(&self, _: &ThrowSpec) -> Ports {
        Ports::new().input(PortPattern::Exact(Port::input()))
    }

    fn compile(
        &self,
        spec: ThrowSpec,
        _: &Context<'_>,
    ) -> Result<Arc<dyn Activate>, Vec<FieldError>> {
        if let Some(status) = spec.status.filter(|s| !(400..=599).contains(s)) {
            return Err(vec![FieldError::new(
                "status",
                format!("{status} is not an error status (400–599)"),
            )]);
        }
        Ok(shared(ThrowNode { spec }))
    }
}

struct ThrowNode {
    spec: ThrowSpec,
}

impl Node for ThrowNode {
    fn call<'a>(&'a self, _: &'a Call, input: Packet) -> BoxFuture<'a, Result<Packet, ErrorValue>> {
        Box::pin(async move {
            let payload = input.into_payload();
            let message = match (&self.spec.message, &payload) {
                (Some(message), _) => message.clone(),
                (None, Value::String(text)) => text.to_string(),
                (None, _) => "thrown".to_string(),
            };
            let mut error = ErrorValue::new(message).with_details(payload);
            if let Some(code) = &self.spec.code {
                error = error.with_code(code);
            }
            if let Some(status) = self.spec.status {
                error = error.with_status(status);
            }
            Err(error)
        })
    }
}
