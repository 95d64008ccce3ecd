//! `for`: sends each element of a list to `out[0]`, then the list of their
//! answers to `out[1]`, and answers what `out[1]` answers.
//!
//! Elements run `concurrency` at a time (one by one by default), and their
//! answers keep the list's order. The first error answer stops the loop and
//! is the answer (elements still running are dropped).

use std::sync::Arc;

use futures_util::StreamExt;
use futures_util::stream;
use schemars::JsonSchema;
use serde::Deserialize;
use weir_codecs::{ErrorValue, Value};
use weir_engine::runtime::BoxFuture;
use weir_engine::{Activate, shared};
use weir_engine::{Call, FieldError, Kind, Node, Packet, Port, Ports, scheme::Context};

/// The fields of a `for` spec.
///
/// Ports: `in` takes a list; each element goes to `out[0]`; the list of
/// their answers goes to `out[1]`, whose answer is the answer (the list
/// itself when `out[1]` is unlinked).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(example = super::example("concurrency: 4"))]
pub struct ForSpec {
    /// How many elements run at once.
    #[serde(default = "one")]
    #[schemars(range(min = 1), transform = crate::ceiling::concurrency)]
    pub concurrency: u32,
}

fn one() -> u32 {
    1
}

pub(super) struct For;

impl Kind for For {
    type Spec = ForSpec;

    fn name(&self) -> &'static str {
        "for"
    }

    fn summary(&self) -> &'static str {
        "Sends each element of a list payload to `out[0]` (`concurrency` at a time), then the list of answers to `out[1]`."
    }

    fn ports(&self, _: &ForSpec) -> Ports {
        Ports::two_branches()
    }

    fn compile(
        &self,
        spec: ForSpec,
        cx: &Context<'_>,
    ) -> Result<Arc<dyn Activate>, Vec<FieldError>> {
        if let Some(error) =
            crate::ceiling::CONCURRENCY.check("concurrency", spec.concurrency.into())
        {
            return Err(vec![error]);
        }
        if spec.concurrency == 0 {
            return Err(vec![FieldError::new("concurrency", "must be at least 1")]);
        }
        Ok(shared(ForNode {
            name: cx.name(),
            concurrency: spec.concurrency as usize,
            each: Port::indexed("out", 0),
            done: Port::indexed("out", 1),
        }))
    }
}

struct ForNode {
    name: String,
    concurrency: usize,
    each: Port,
    done: Port,
}

impl Node for ForNode {
    fn call<'a>(
        &'a self,
        call: &'a Call,
        input: Packet,
    ) -> BoxFuture<'a, Result<Packet, ErrorValue>> {
        Box::pin(async move {
            let items = super::list(&self.name, input.payload())?;
            let mut answers = stream::iter(items.iter().cloned())
                .map(|item| call.write(&self.each, Packet::new(item)))
                .buffered(self.concurrency);
            let mut collected = Vec::with_capacity(items.len());
            while let Some(answer) = answers.next().await {
                if answer.is_error() {
                    return Ok(answer);
                }
                collected.push(answer.into_payload());
            }
            drop(answers);
            Ok(call
                .write(&self.done, Packet::new(Value::list(collected)))
                .await)
        })
    }
}
