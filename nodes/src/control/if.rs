//! `if`: writes the payload to `out[0]` when `when` holds, else `out[1]`.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;
use weir_codecs::{ErrorValue, Expression};
use weir_engine::runtime::BoxFuture;
use weir_engine::{Activate, shared};
use weir_engine::{Call, FieldError, Kind, Node, Packet, Port, Ports, scheme::Context};

use super::duration::Duration;
use super::expr;
use super::limit::Limit;

/// The fields of an `if` spec.
///
/// Ports: `in` → `out[0]` when `when` holds, else `out[1]`; the answer is
/// what that branch answers.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(example = super::example("when: self.age >= 18"))]
pub struct IfSpec {
    /// A CEL condition over the payload; must evaluate to a boolean.
    #[schemars(extend("format" = "cel"))]
    pub when: String,
    /// The longest the condition may take per packet; no limit when absent.
    #[serde(default)]
    pub timeout: Option<Duration>,
}

pub(super) struct If;

impl Kind for If {
    type Spec = IfSpec;

    fn name(&self) -> &'static str {
        "if"
    }

    fn summary(&self) -> &'static str {
        "Writes the payload to `out[0]` when the CEL condition `when` is true, to `out[1]` when false."
    }

    fn ports(&self, _: &IfSpec) -> Ports {
        Ports::two_branches()
    }

    fn compile(
        &self,
        spec: IfSpec,
        cx: &Context<'_>,
    ) -> Result<Arc<dyn Activate>, Vec<FieldError>> {
        let when = expr::compile("when", &spec.when).map_err(|e| vec![e])?;
        Ok(shared(IfNode {
            limit: Limit::new(&cx.name(), spec.timeout),
            when,
            branches: [Port::indexed("out", 0), Port::indexed("out", 1)],
        }))
    }
}

struct IfNode {
    limit: Limit,
    when: Arc<Expression>,
    branches: [Port; 2],
}

impl Node for IfNode {
    fn call<'a>(
        &'a self,
        call: &'a Call,
        input: Packet,
    ) -> BoxFuture<'a, Result<Packet, ErrorValue>> {
        Box::pin(async move {
            let (node, when, payload) = (
                self.limit.node().clone(),
                self.when.clone(),
                input.payload().clone(),
            );
            let holds = self
                .limit
                .run(move || expr::eval_bool(&node, &when, &payload))
                .await?;
            let port = &self.branches[usize::from(!holds)];
            Ok(call.write(port, input).await)
        })
    }
}
