//! `try`: runs its `out` branch and, when that answers an error, hands the
//! error to its `error` branch, whose answer becomes the answer.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;
use weir_codecs::ErrorValue;
use weir_engine::runtime::BoxFuture;
use weir_engine::{Activate, shared};
use weir_engine::{Call, FieldError, Kind, Node, Packet, Port, scheme::Context};

/// The fields of a `try` spec (it has none of its own).
///
/// Ports: `in` → `out`; an error answer from that branch → `error`, whose
/// answer is then the answer.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrySpec {}

pub(super) struct Try;

impl Kind for Try {
    type Spec = TrySpec;

    fn name(&self) -> &'static str {
        "try"
    }

    fn summary(&self) -> &'static str {
        "Writes the payload to `out`; an error answer from that branch goes to `error`, whose answer is returned."
    }

    fn compile(&self, _: TrySpec, _: &Context<'_>) -> Result<Arc<dyn Activate>, Vec<FieldError>> {
        Ok(shared(TryNode {
            out: Port::output(),
            error: Port::error(),
        }))
    }
}

struct TryNode {
    out: Port,
    error: Port,
}

impl Node for TryNode {
    fn call<'a>(
        &'a self,
        call: &'a Call,
        input: Packet,
    ) -> BoxFuture<'a, Result<Packet, ErrorValue>> {
        Box::pin(async move {
            let answer = call.write(&self.out, input).await;
            match answer.is_error() && call.is_linked(&self.error) {
                true => Ok(call.write(&self.error, answer).await),
                false => Ok(answer),
            }
        })
    }
}
