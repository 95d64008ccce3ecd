//! `fork`: starts its `out` branch in a child process, in the background,
//! and answers the payload at once.
//!
//! The child shares its parent's cancellation and deadline, so the branch
//! runs alongside the rest of the execution and ends with it at the latest
//! (work that must outlive a request belongs in a `job`). The fork watches
//! its child: when the branch answers, or the child is stopped, the child
//! exits with that outcome and its exit hooks run. A branch can hand its
//! result back through a `merge`, whose rounds are per execution.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;
use weir_codecs::ErrorValue;
use weir_engine::runtime::{Activate, BoxFuture, Outcome, Outputs};
use weir_engine::{Call, FieldError, Kind, Node, Packet, Port, scheme::Context};

/// The fields of a `fork` spec (it has none of its own).
///
/// Ports: `in` → `out`, written in a child process in the background; the
/// answer is the payload itself, at once.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForkSpec {}

pub(super) struct Fork;

impl Kind for Fork {
    type Spec = ForkSpec;

    fn name(&self) -> &'static str {
        "fork"
    }

    fn summary(&self) -> &'static str {
        "Writes the payload to `out` in a child process in the background and answers the payload at once."
    }

    fn compile(&self, _: ForkSpec, cx: &Context<'_>) -> Result<Arc<dyn Activate>, Vec<FieldError>> {
        Ok(Arc::new(ForkActivate { name: cx.name() }))
    }
}

/// A compiled fork: each activation keeps its own out-links.
struct ForkActivate {
    name: String,
}

impl Activate for ForkActivate {
    fn activate<'a>(
        &'a self,
        outputs: &'a Arc<Outputs>,
    ) -> BoxFuture<'a, Result<Arc<dyn Node>, ErrorValue>> {
        let node: Arc<dyn Node> = Arc::new(ForkNode {
            name: self.name.clone(),
            outputs: outputs.clone(),
        });
        Box::pin(async move { Ok(node) })
    }
}

struct ForkNode {
    name: String,
    /// This activation's out-links: the branch outlives the call that
    /// started it, so it cannot write through the call.
    outputs: Arc<Outputs>,
}

impl Node for ForkNode {
    fn call<'a>(
        &'a self,
        call: &'a Call,
        input: Packet,
    ) -> BoxFuture<'a, Result<Packet, ErrorValue>> {
        Box::pin(async move {
            let outputs = self.outputs.clone();
            let child = call.process().child();
            let packet = input.clone();
            let node = self.name.clone();
            tokio::spawn(async move {
                let answer = outputs.write_watched(&child, &Port::output(), packet).await;
                let outcome = match answer.as_error() {
                    Some(error) => {
                        tracing::debug!(node = %node, process = child.id(), %error, "forked branch failed");
                        Outcome::Failed(error.clone())
                    }
                    None => Outcome::Ok,
                };
                if let Err(error) = child.exit(outcome).await {
                    tracing::debug!(node = %node, process = child.id(), %error, "forked branch did not end well");
                }
            });
            Ok(input)
        })
    }
}
