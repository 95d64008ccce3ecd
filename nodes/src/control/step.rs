//! `step`: runs inline specs one after another, each answer the next one's
//! payload, and writes the last answer to `out`.
//!
//! The steps behave as if they were written outside and linked in order:
//! an error answer stops the sequence and is the answer, untouched (catch
//! it with `try`). Steps are chained by their order, so they have no
//! `ports` of their own.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;
use weir_codecs::ErrorValue;
use weir_engine::runtime::{Activate, BoxFuture, Outputs, Slot};
use weir_engine::{Call, FieldError, Kind, Node, Packet, Port, Spec, scheme::Context};

use super::inline::{self, Inline};

/// The fields of a `step` spec.
///
/// Ports: `in` → the first step; the last step's answer → `out`, whose
/// answer is the answer.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(example = super::example("steps:\n  - {kind: schema, schema: {type: number}}\n  - {kind: snippet, language: cel, code: self * 2}\n  - {kind: snippet, language: javascript, code: 'export default (n) => `${n} doubled`'}"))]
pub struct StepSpec {
    /// The steps: whole specs without `ports`, run in order. Each is
    /// compiled like any spec (its own `env` and templates).
    #[schemars(length(min = 1))]
    #[schemars(transform = super::inline::chained)]
    pub steps: Vec<Spec>,
}

pub(super) struct Step;

impl Kind for Step {
    type Spec = StepSpec;

    fn name(&self) -> &'static str {
        "step"
    }

    fn summary(&self) -> &'static str {
        "Runs inline specs in sequence, each answer the next one's payload, and writes the last answer to `out`."
    }

    fn runtime_templates(&self) -> &'static [&'static str] {
        &["steps"]
    }

    fn compile(
        &self,
        spec: StepSpec,
        cx: &Context<'_>,
    ) -> Result<Arc<dyn Activate>, Vec<FieldError>> {
        let linked: Vec<FieldError> = spec
            .steps
            .iter()
            .enumerate()
            .filter(|(_, step)| !step.ports.is_empty())
            .map(|(i, _)| {
                FieldError::new(
                    format!("steps[{i}].ports"),
                    "steps are chained in order and have no `ports`",
                )
            })
            .collect();
        if !linked.is_empty() {
            return Err(linked);
        }
        let inline = Inline::compile(cx, cx.scheme(), "steps", spec.steps, Vec::new(), |_, _| {
            None
        })?;
        // The schema cannot say which kinds take `in` (a `merge` takes
        // `in[0]`…, a `block` what its `inputs` name).
        for (i, step) in inline.symbols().iter().enumerate() {
            if !step.ports().accepts(&Port::input()) {
                cx.warn(
                    format!("steps[{i}].kind"),
                    format!(
                        "kind `{}` has no input `in`: a packet reaching this step fails",
                        step.spec().kind
                    ),
                );
            }
        }
        Ok(Arc::new(StepActivate {
            name: cx.name(),
            keys: inline.symbols().iter().map(|s| s.key()).collect(),
            inline,
        }))
    }
}

/// A compiled step: each activation runs its own inline nodes.
struct StepActivate {
    name: String,
    keys: Vec<String>,
    inline: Inline,
}

impl Activate for StepActivate {
    fn activate<'a>(
        &'a self,
        _: &'a Arc<Outputs>,
    ) -> BoxFuture<'a, Result<Arc<dyn Node>, ErrorValue>> {
        Box::pin(async move {
            let running = self.inline.start(&self.name, Vec::new()).await?;
            let slots = self.keys.iter().filter_map(|k| running.slot(k)).collect();
            let node: Arc<dyn Node> = Arc::new(StepNode { running, slots });
            Ok(node)
        })
    }
}

/// One activation of a step: its inline nodes, in order.
struct StepNode {
    running: inline::Running,
    slots: Vec<Arc<Slot>>,
}

impl Node for StepNode {
    fn unload(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.running.stop())
    }

    fn call<'a>(
        &'a self,
        call: &'a Call,
        input: Packet,
    ) -> BoxFuture<'a, Result<Packet, ErrorValue>> {
        Box::pin(async move {
            let mut packet = input;
            for slot in &self.slots {
                packet = slot
                    .send(call.process().clone(), Port::input(), packet)
                    .await;
                if packet.is_error() {
                    return Ok(packet);
                }
            }
            Ok(call.write(&Port::output(), packet).await)
        })
    }
}
