//! `switch`: writes the payload to the port of the first case that holds.
//!
//! No case holding is a failure (code `no_match`), which goes to the `error`
//! port when linked; add a last case `when: "true"` for a default branch.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;
use weir_codecs::{ErrorValue, Expression};
use weir_engine::runtime::BoxFuture;
use weir_engine::{Activate, shared};
use weir_engine::{
    Call, FieldError, Kind, Node, Packet, Port, PortPattern, Ports, scheme::Context,
};

use super::duration::Duration;
use super::expr;
use super::limit::Limit;

/// The fields of a `switch` spec.
///
/// Ports: `in` → the `port` of each case (any out-port name); the answer is
/// what the matching branch answers. No case holding is an error (code
/// `no_match`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(example = super::example("matches:\n  - {when: self < 0, port: 'out[0]'}\n  - {when: 'true', port: 'out[1]'}"))]
pub struct SwitchSpec {
    /// Cases tried in order; the first whose `when` holds wins.
    #[schemars(length(min = 1))]
    pub matches: Vec<Case>,
    /// The longest the conditions may take per packet; no limit when absent.
    #[serde(default)]
    pub timeout: Option<Duration>,
}

/// One case of a `switch`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// A CEL condition over the payload.
    #[schemars(extend("format" = "cel"))]
    pub when: String,
    /// The out-port to write to, e.g. `out[0]` or `big`.
    #[schemars(regex(pattern = weir_engine::port::Port::PATTERN))]
    pub port: String,
}

pub(super) struct Switch;

impl Kind for Switch {
    type Spec = SwitchSpec;

    fn name(&self) -> &'static str {
        "switch"
    }

    fn summary(&self) -> &'static str {
        "Writes the payload to the port of the first case whose CEL condition holds; no match is an error."
    }

    fn ports(&self, spec: &SwitchSpec) -> Ports {
        Ports::new()
            .input(PortPattern::Exact(Port::input()))
            .outputs_named(spec.matches.iter().map(|case| case.port.as_str()))
    }

    fn compile(
        &self,
        spec: SwitchSpec,
        cx: &Context<'_>,
    ) -> Result<Arc<dyn Activate>, Vec<FieldError>> {
        let mut cases = Vec::new();
        let mut errors = Vec::new();
        if spec.matches.is_empty() {
            errors.push(FieldError::new(
                "matches",
                "a switch needs at least one case",
            ));
        }
        for (i, case) in spec.matches.iter().enumerate() {
            let when = expr::compile(&format!("matches[{i}].when"), &case.when);
            let port = Port::parse(&case.port)
                .map_err(|e| FieldError::new(format!("matches[{i}].port"), e.to_string()));
            match (when, port) {
                (Ok(when), Ok(port)) => cases.push((when, port)),
                (when, port) => errors.extend(when.err().into_iter().chain(port.err())),
            }
        }
        match errors.is_empty() {
            true => Ok(shared(SwitchNode {
                limit: Limit::new(&cx.name(), spec.timeout),
                cases: Arc::new(cases),
            })),
            false => Err(errors),
        }
    }
}

struct SwitchNode {
    limit: Limit,
    cases: Arc<Vec<(Arc<Expression>, Port)>>,
}

impl Node for SwitchNode {
    fn call<'a>(
        &'a self,
        call: &'a Call,
        input: Packet,
    ) -> BoxFuture<'a, Result<Packet, ErrorValue>> {
        Box::pin(async move {
            let (node, cases, payload) = (
                self.limit.node().clone(),
                self.cases.clone(),
                input.payload().clone(),
            );
            let matched = self
                .limit
                .run(move || {
                    for (i, (when, _)) in cases.iter().enumerate() {
                        if expr::eval_bool(&node, when, &payload)? {
                            return Ok(Some(i));
                        }
                    }
                    Ok(None)
                })
                .await?;
            match matched {
                Some(i) => Ok(call.write(&self.cases[i].1, input).await),
                None => Err(ErrorValue::new(format!(
                    "node `{}`: no case matched",
                    self.limit.node()
                ))
                .with_code("no_match")),
            }
        })
    }
}
