//! `snippet`: computes a value from the payload and writes it to `out`.
//!
//! Languages: `cel` (an expression over `self` and the payload's keys),
//! `json` and `yaml` (a constant, parsed once at compile time) and `text`
//! (a constant string). An unlinked `out` answers the value itself.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;
use weir_codecs::{ErrorValue, Expression, Value};
use weir_engine::runtime::BoxFuture;
use weir_engine::{Call, FieldError, Kind, Node, Packet, Port, scheme::Context};

use super::expr;

/// The fields of a `snippet` spec.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SnippetSpec {
    /// How `code` is read.
    pub language: Language,
    /// The expression, or the constant.
    pub code: String,
}

/// The languages a snippet may be written in.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// A CEL expression; the payload is `self`, a map's keys are variables.
    Cel,
    /// A JSON constant.
    Json,
    /// A YAML constant.
    Yaml,
    /// A constant string.
    Text,
}

pub(super) struct Snippet;

impl Kind for Snippet {
    type Spec = SnippetSpec;

    fn name(&self) -> &'static str {
        "snippet"
    }

    fn summary(&self) -> &'static str {
        "Computes a value from the payload (CEL) or emits a constant (JSON, YAML, text), then writes it to `out`."
    }

    fn compile(
        &self,
        spec: SnippetSpec,
        cx: &Context<'_>,
    ) -> Result<Arc<dyn Node>, Vec<FieldError>> {
        let program = match spec.language {
            Language::Cel => Program::Cel(expr::compile("code", &spec.code).map_err(|e| vec![e])?),
            Language::Json => Program::Constant(
                weir_codecs::json::from_str(&spec.code)
                    .map_err(|e| vec![FieldError::new("code", format!("invalid JSON: {e}"))])?,
            ),
            Language::Yaml => Program::Constant(
                weir_codecs::yaml::from_str(&spec.code)
                    .map_err(|e| vec![FieldError::new("code", format!("invalid YAML: {e}"))])?,
            ),
            Language::Text => Program::Constant(Value::string(spec.code)),
        };
        Ok(Arc::new(SnippetNode {
            name: cx.name(),
            program,
        }))
    }
}

enum Program {
    Cel(Expression),
    Constant(Value),
}

struct SnippetNode {
    name: String,
    program: Program,
}

impl SnippetNode {
    fn run(&self, payload: &Value) -> Result<Value, ErrorValue> {
        match &self.program {
            Program::Cel(expression) => expr::eval(&self.name, expression, payload),
            Program::Constant(value) => Ok(value.clone()),
        }
    }
}

impl Node for SnippetNode {
    fn call<'a>(
        &'a self,
        call: &'a Call,
        input: Packet,
    ) -> BoxFuture<'a, Result<Packet, ErrorValue>> {
        Box::pin(async move {
            let output = self.run(input.payload())?;
            Ok(call.write(&Port::output(), Packet::new(output)).await)
        })
    }
}
