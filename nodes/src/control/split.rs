//! `split`: sends element `i` of a list to `out[i]`, all at once, and
//! answers the list of their answers (any error answer wins, the first by
//! index, as the runtime merges a fan-out).

use std::sync::Arc;

use futures_util::future::join_all;
use schemars::JsonSchema;
use serde::Deserialize;
use weir_codecs::ErrorValue;
use weir_engine::runtime::BoxFuture;
use weir_engine::{Activate, shared};
use weir_engine::{
    Call, FieldError, Kind, Node, Packet, Port, PortPattern, Ports, scheme::Context,
};

/// The fields of a `split` spec (it has none of its own).
///
/// Ports: `in` takes a list; its element `i` goes to `out[i]` (an unlinked
/// `out[i]` answers the element itself). The answer is the list of the
/// answers, in order; an error answer from any branch is the answer.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitSpec {}

pub(super) struct Split;

impl Kind for Split {
    type Spec = SplitSpec;

    fn name(&self) -> &'static str {
        "split"
    }

    fn summary(&self) -> &'static str {
        "Sends element `i` of a list payload to `out[i]`, concurrently, and answers the list of their answers."
    }

    fn ports(&self, _: &SplitSpec) -> Ports {
        Ports::new()
            .input(PortPattern::Exact(Port::input()))
            .output(PortPattern::Indexed("out".into()))
    }

    fn compile(
        &self,
        _: SplitSpec,
        cx: &Context<'_>,
    ) -> Result<Arc<dyn Activate>, Vec<FieldError>> {
        Ok(shared(SplitNode { name: cx.name() }))
    }
}

struct SplitNode {
    name: String,
}

impl Node for SplitNode {
    fn call<'a>(
        &'a self,
        call: &'a Call,
        input: Packet,
    ) -> BoxFuture<'a, Result<Packet, ErrorValue>> {
        Box::pin(async move {
            let items = super::list(&self.name, input.payload())?;
            let mut sends = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let port = super::indexed(&self.name, "out", i)?;
                sends.push(async move { call.write(&port, Packet::new(item.clone())).await });
            }
            Ok(super::collect(join_all(sends).await))
        })
    }
}
