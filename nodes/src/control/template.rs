//! `template`: renders a minijinja template that comes with the data (a
//! stored prompt, a message body), not with the spec, and writes
//! `{text, uses}` to `out`.
//!
//! `template` and `context` are CEL expressions over the payload: the
//! first yields the template's text, the second the map it is rendered
//! over (the payload by default). The render runs within a fuel budget and
//! an output size (`weir_codecs::render_untrusted`), since the text is
//! anyone's. `uses` lists the top-level names the template reads, so a
//! workflow can tell whether it used a value (and append it otherwise).
//! Templates in spec fields are the loader's business, not this file's.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;
use weir_codecs::{Bounds, ErrorValue, Expression, Value};
use weir_engine::runtime::BoxFuture;
use weir_engine::{Activate, shared};
use weir_engine::{Call, FieldError, Kind, Node, Packet, Port, scheme::Context};

use super::expr;
use super::limit::Limit;

/// The highest `fuel` a spec may set.
const MAX_FUEL: u64 = 10_000_000;

/// The highest `max_bytes` a spec may set.
const MAX_BYTES: usize = 16 << 20;

/// The fields of a `template` spec.
///
/// Ports: `in` → `out` (`{text, uses}`, or the payload with it under
/// `into`); the answer is what `out` answers.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(example = super::example("template: prompt\ncontext: '{\"name\": name}'\ninto: rendered"))]
pub struct TemplateSpec {
    /// A CEL expression yielding the template's text
    /// (`prompt_pair.prompt_a`).
    #[schemars(extend("format" = "cel"))]
    pub template: String,
    /// A CEL expression yielding the map the template is rendered over.
    /// Default: the payload.
    #[serde(default)]
    #[schemars(extend("format" = "cel"))]
    pub context: Option<String>,
    /// When set, the answer is the (map) payload with `{text, uses}` under
    /// this key.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub into: Option<String>,
    /// How much work a render may do (minijinja's fuel, roughly one unit
    /// per instruction; at most 10000000). Past it the render fails.
    #[serde(default = "default_fuel")]
    #[schemars(range(min = 1, max = 10_000_000))]
    pub fuel: u64,
    /// The longest text a render may produce, in bytes (at most 16 MiB).
    #[serde(default = "default_max_bytes")]
    #[schemars(range(min = 1, max = 16_777_216))]
    pub max_bytes: usize,
}

fn default_fuel() -> u64 {
    100_000
}
fn default_max_bytes() -> usize {
    1 << 20
}

pub(super) struct TemplateKind;

impl Kind for TemplateKind {
    type Spec = TemplateSpec;

    fn name(&self) -> &'static str {
        "template"
    }

    fn summary(&self) -> &'static str {
        "Renders a minijinja template taken from the payload (a CEL expression) over a context, within a fuel and size budget; writes `{text, uses}` to `out`."
    }

    fn compile(
        &self,
        spec: TemplateSpec,
        cx: &Context<'_>,
    ) -> Result<Arc<dyn Activate>, Vec<FieldError>> {
        let mut errors = Vec::new();
        let template = expr::compile("template", &spec.template)
            .map_err(|e| errors.push(e))
            .ok();
        let context = spec.context.as_deref().and_then(|source| {
            expr::compile("context", source)
                .map_err(|e| errors.push(e))
                .ok()
        });
        if !(1..=MAX_FUEL).contains(&spec.fuel) {
            errors.push(FieldError::new("fuel", "must be 1 to 10000000"));
        }
        if !(1..=MAX_BYTES).contains(&spec.max_bytes) {
            errors.push(FieldError::new("max_bytes", "must be 1 to 16777216"));
        }
        if spec.into.as_deref().is_some_and(str::is_empty) {
            errors.push(FieldError::new("into", "must not be empty"));
        }
        let name = cx.name();
        match (template, errors.is_empty()) {
            (Some(template), true) => Ok(shared(TemplateNode {
                limit: Limit::new(&name, None),
                template,
                context,
                into: spec.into.map(Arc::from),
                bounds: Bounds {
                    fuel: spec.fuel,
                    max_bytes: spec.max_bytes,
                },
            })),
            _ => Err(errors),
        }
    }
}

struct TemplateNode {
    limit: Limit,
    template: Arc<Expression>,
    context: Option<Arc<Expression>>,
    into: Option<Arc<str>>,
    bounds: Bounds,
}

impl TemplateNode {
    async fn render(&self, payload: &Value) -> Result<Value, ErrorValue> {
        let source = expr::eval(&self.limit, &self.template, payload).await?;
        let Some(source) = source.as_str() else {
            return Err(self.invalid(format!(
                "must yield the template's text, not {}",
                source.type_name()
            )));
        };
        let context = match &self.context {
            Some(context) => expr::eval(&self.limit, context, payload).await?,
            None => payload.clone(),
        };
        let rendered = weir_codecs::render_untrusted(source, &context, self.bounds)
            .map_err(|e| self.invalid(e.to_string()))?;
        Ok(Value::map([
            ("text", Value::string(rendered.text)),
            (
                "uses",
                Value::list(rendered.uses.into_iter().map(Value::string)),
            ),
        ]))
    }

    /// The template (the data's, so the client's to fix): 422 naming the
    /// expression it came from.
    fn invalid(&self, message: String) -> ErrorValue {
        ErrorValue::new(format!(
            "node `{}`: `{}`: {message}",
            self.limit.node(),
            self.template.source()
        ))
        .with_code("invalid_template")
        .with_status(422)
    }
}

impl Node for TemplateNode {
    fn call<'a>(
        &'a self,
        call: &'a Call,
        input: Packet,
    ) -> BoxFuture<'a, Result<Packet, ErrorValue>> {
        Box::pin(async move {
            let rendered = self.render(input.payload()).await?;
            let output = match &self.into {
                None => rendered,
                Some(key) => {
                    let mut map = input.payload().as_map().cloned().unwrap_or_default();
                    map.insert(key.clone(), rendered);
                    Value::from(map)
                }
            };
            Ok(call.write(&Port::output(), Packet::new(output)).await)
        })
    }
}
