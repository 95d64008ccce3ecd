//! `try`: runs its `out` branch and, when that answers an error, hands the
//! error to its `error` branch, whose answer becomes the answer. With
//! `into`, the `error` branch gets the payload that failed, the error
//! beside it, so it knows what it is handling.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;
use weir_codecs::{ErrorValue, Value};
use weir_engine::runtime::BoxFuture;
use weir_engine::{Activate, shared};
use weir_engine::{Call, FieldError, Kind, Node, Packet, Port, scheme::Context};

/// The fields of a `try` spec.
///
/// Ports: `in` → `out`; an error answer from that branch → `error`, whose
/// answer is then the answer.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrySpec {
    /// When set, `error` gets the (map) payload that was written to `out`
    /// with the error under this key, as `{message, code, status,
    /// details}`, instead of the bare error.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub into: Option<String>,
}

pub(super) struct Try;

impl Kind for Try {
    type Spec = TrySpec;

    fn name(&self) -> &'static str {
        "try"
    }

    fn summary(&self) -> &'static str {
        "Writes the payload to `out`; an error answer from that branch goes to `error`, whose answer is returned."
    }

    fn compile(
        &self,
        spec: TrySpec,
        _: &Context<'_>,
    ) -> Result<Arc<dyn Activate>, Vec<FieldError>> {
        if spec.into.as_deref().is_some_and(str::is_empty) {
            return Err(vec![FieldError::new("into", "must not be empty")]);
        }
        Ok(shared(TryNode {
            out: Port::output(),
            error: Port::error(),
            into: spec.into.map(Arc::from),
        }))
    }
}

struct TryNode {
    out: Port,
    error: Port,
    into: Option<Arc<str>>,
}

impl Node for TryNode {
    fn call<'a>(
        &'a self,
        call: &'a Call,
        input: Packet,
    ) -> BoxFuture<'a, Result<Packet, ErrorValue>> {
        Box::pin(async move {
            let kept = self.into.as_ref().map(|_| input.payload().clone());
            let answer = call.write(&self.out, input).await;
            if !answer.is_error() || !call.is_linked(&self.error) {
                return Ok(answer);
            }
            let handed = match (&self.into, kept, answer.as_error()) {
                (Some(key), Some(payload), Some(error)) => Packet::new(beside(payload, key, error)),
                _ => answer,
            };
            Ok(call.write(&self.error, handed).await)
        })
    }
}

/// `payload` (a map; anything else becomes an empty one) with `error`
/// under `key` as `{message, code, status, details}`.
fn beside(payload: Value, key: &Arc<str>, error: &ErrorValue) -> Value {
    let mut map = match payload {
        Value::Map(map) => Arc::unwrap_or_clone(map),
        _ => Default::default(),
    };
    let fields = [
        ("message", Value::string(error.message.clone())),
        (
            "code",
            error.code.as_deref().map_or(Value::Null, Value::string),
        ),
        (
            "status",
            error.status.map_or(Value::Null, |s| Value::Int(s.into())),
        ),
        ("details", error.details.clone()),
    ];
    map.insert(key.clone(), Value::map(fields));
    Value::from(map)
}
