//! `pipe`: writes the payload to `out[0]`, then what that answers to
//! `out[1]`, and answers what `out[1]` answers. An error answer from
//! `out[0]` is the answer; `out[1]` is not written.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;
use weir_codecs::ErrorValue;
use weir_engine::runtime::BoxFuture;
use weir_engine::{Activate, shared};
use weir_engine::{Call, FieldError, Kind, Node, Packet, Port, Ports, scheme::Context};

/// The fields of a `pipe` spec (it has none of its own).
///
/// Ports: `in` → `out[0]`; its answer → `out[1]`, whose answer is the
/// answer.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PipeSpec {}

pub(super) struct Pipe;

impl Kind for Pipe {
    type Spec = PipeSpec;

    fn name(&self) -> &'static str {
        "pipe"
    }

    fn summary(&self) -> &'static str {
        "Writes the payload to `out[0]`, then that branch's answer to `out[1]`, and answers what `out[1]` answers."
    }

    fn ports(&self, _: &PipeSpec) -> Ports {
        Ports::two_branches()
    }

    fn compile(&self, _: PipeSpec, _: &Context<'_>) -> Result<Arc<dyn Activate>, Vec<FieldError>> {
        Ok(shared(PipeNode {
            first: Port::indexed("out", 0),
            then: Port::indexed("out", 1),
        }))
    }
}

struct PipeNode {
    first: Port,
    then: Port,
}

impl Node for PipeNode {
    fn call<'a>(
        &'a self,
        call: &'a Call,
        input: Packet,
    ) -> BoxFuture<'a, Result<Packet, ErrorValue>> {
        Box::pin(async move {
            let answer = call.write(&self.first, input).await;
            match answer.is_error() {
                true => Ok(answer),
                false => Ok(call.write(&self.then, answer).await),
            }
        })
    }
}
