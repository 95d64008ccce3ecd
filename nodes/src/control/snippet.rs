//! `snippet`: computes a value from the payload and writes it to `out`.
//!
//! Languages: `cel` (an expression over `self` and the payload's keys),
//! `javascript` (an ES module whose default export is called with the
//! payload, see `super::js`), `json` and `yaml` (a constant, parsed once at
//! compile time) and `text` (a constant string). An unlinked `out` answers
//! the value itself. Code runs within the spec's `timeout` (`super::limit`).
//! A `json` or `yaml` constant may also be written as a value instead of
//! text (say a YAML alias of a schema another spec of the file declares), so
//! one document can be both enforced and served.

use crate::ceiling;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;
use weir_codecs::{ErrorValue, Expression, Value};
use weir_engine::runtime::BoxFuture;
use weir_engine::{Activate, shared};
use weir_engine::{Call, FieldError, Kind, Node, Packet, Port, scheme::Context};

use super::duration::Duration;
use super::expr;
use super::js::{self, Script};
use super::limit::Limit;

/// The shortest `timeout` a JavaScript snippet may set: below it the
/// module's own evaluation, checked when the spec compiles, may not finish
/// on a busy machine, and no call could.
const JS_SHORTEST: std::time::Duration = std::time::Duration::from_millis(10);

/// How long a JavaScript call may run when the spec sets no `timeout`.
const JS_TIMEOUT: Duration = Duration::from_secs(1);

/// How much memory a JavaScript call may use when the spec sets none.
const JS_MEMORY_MIB: u32 = 64;

/// The fields of a `snippet` spec.
///
/// Ports: `in` → `out`; the answer is what `out` answers (the computed
/// value itself when `out` is unlinked).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = by_language()))]
#[schemars(example = super::example("language: javascript\ncode: 'export default function (p) { return p.a + p.b }'"))]
pub struct SnippetSpec {
    /// How `code` is read.
    pub language: Language,
    /// The expression, the module (`javascript`), or the constant. A
    /// `json` or `yaml` constant may also be written as the value itself
    /// (a map or a list in the spec), so a YAML anchor can share it with
    /// another spec.
    pub code: Code,
    /// The longest one call may run (`cel`: no limit when absent;
    /// `javascript`: 1s when absent, and at most the engine's ceiling, 30s
    /// unless the operator sets `WEIR_JS_MAX_TIMEOUT_MS`). A call past it
    /// answers a `timeout` error.
    #[serde(default)]
    pub timeout: Option<Duration>,
    /// The memory one JavaScript call may use, in MiB (default 64, at most
    /// the engine's ceiling: 512 unless the operator sets
    /// `WEIR_JS_MAX_MEMORY_MIB`); past it the call answers a `memory`
    /// error. Only for `javascript`.
    #[serde(default)]
    pub memory_mib: Option<u32>,
}

/// A snippet's code: text, or (for a constant) the value itself.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Code {
    /// The code as text.
    Text(String),
    /// A `json` or `yaml` constant written as a value.
    Value(serde_json::Value),
}

/// The languages a snippet may be written in.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// A CEL expression; the payload is `self`, a map's keys are variables.
    Cel,
    /// An ES module: `export default function (payload) { return ... }`,
    /// called per packet (async functions are awaited). Only the
    /// ECMAScript built-ins: no imports, files, network or processes.
    Javascript,
    /// A JSON constant.
    Json,
    /// A YAML constant.
    Yaml,
    /// A constant string.
    Text,
}

/// What each `language` allows of the other fields (the rules `compile`
/// checks), as the schema's `oneOf`. Code that must compile has a format
/// (`cel`, `javascript`, `json-text`, `yaml-text`).
fn by_language() -> serde_json::Value {
    use serde_json::json;
    let none = json!({"type": "null"});
    let text = |format: &str| json!({"anyOf": [{"type": "string", "format": format}, {"not": {"type": "string"}}]});
    let constant = |language: &str, code: serde_json::Value| {
        let none = &none;
        json!({"properties": {"language": {"const": language}, "code": code, "timeout": none, "memory_mib": none}})
    };
    json!([
        {"properties": {"language": {"const": "cel"}, "code": {"type": "string", "format": "cel"}, "memory_mib": none}},
        {"properties": {
            "language": {"const": "javascript"},
            "code": {"type": "string", "format": "javascript"},
            "timeout": {"anyOf": [Duration::schema_between(JS_SHORTEST.as_millis() as u64, ceiling::JS_TIME.value()), none]},
            "memory_mib": {"anyOf": [{"type": "integer", "minimum": 1, "maximum": ceiling::JS_MEMORY.value()}, none]}
        }},
        constant("json", text("json-text")),
        constant("yaml", text("yaml-text")),
        constant("text", json!({"type": "string"})),
    ])
}

pub(super) struct Snippet;

impl Kind for Snippet {
    type Spec = SnippetSpec;

    fn name(&self) -> &'static str {
        "snippet"
    }

    fn summary(&self) -> &'static str {
        "Computes a value from the payload (CEL or JavaScript) or emits a constant (JSON, YAML, text), then writes it to `out`."
    }

    fn compile(
        &self,
        spec: SnippetSpec,
        cx: &Context<'_>,
    ) -> Result<Arc<dyn Activate>, Vec<FieldError>> {
        let name = cx.name();
        let mut errors = Vec::new();
        let constant = matches!(
            spec.language,
            Language::Json | Language::Yaml | Language::Text
        );
        if constant && spec.timeout.is_some() {
            errors.push(FieldError::new(
                "timeout",
                "a constant runs no code: `timeout` applies to `cel` and `javascript`",
            ));
        }
        if spec.language != Language::Javascript && spec.memory_mib.is_some() {
            errors.push(FieldError::new(
                "memory_mib",
                "`memory_mib` applies to `javascript` only",
            ));
        }
        if spec.memory_mib == Some(0) {
            errors.push(FieldError::new("memory_mib", "must be at least 1"));
        }
        if spec.language == Language::Javascript {
            let memory = spec.memory_mib.map(u64::from);
            errors.extend(memory.and_then(|mib| ceiling::JS_MEMORY.check("memory_mib", mib)));
            let timeout = spec.timeout.map(|t| t.get());
            errors.extend(timeout.and_then(|t| ceiling::JS_TIME.check_duration("timeout", t)));
            if timeout.is_some_and(|t| t < JS_SHORTEST) {
                errors.push(FieldError::new(
                    "timeout",
                    format!("must be at least {}", Duration(JS_SHORTEST)),
                ));
            }
        }
        let limits = js::Limits {
            time: spec.timeout.unwrap_or(JS_TIMEOUT).get(),
            memory: (spec.memory_mib.unwrap_or(JS_MEMORY_MIB) as usize) << 20,
        };
        let code = match spec.code {
            Code::Text(text) => text,
            Code::Value(value) if matches!(spec.language, Language::Json | Language::Yaml) => {
                let constant = Program::Constant(weir_codecs::json::from_json(value));
                return match errors.is_empty() {
                    true => Ok(shared(SnippetNode {
                        limit: Limit::new(&name, spec.timeout),
                        program: constant,
                    })),
                    false => Err(errors),
                };
            }
            Code::Value(_) => {
                errors.push(FieldError::new(
                    "code",
                    "must be text (only a `json` or `yaml` constant may be written as a value)",
                ));
                return Err(errors);
            }
        };
        let program = match spec.language {
            // Over a ceiling, the code is not even checked under the limits.
            Language::Javascript if !errors.is_empty() => return Err(errors),
            Language::Cel => expr::compile("code", &code).map(Program::Cel),
            Language::Javascript => Script::compile(&name, &code, limits)
                .map(|script| Program::JavaScript(script, limits))
                .map_err(|e| FieldError::new("code", format!("JavaScript: {e}"))),
            Language::Json => weir_codecs::json::from_str(&code)
                .map(Program::Constant)
                .map_err(|e| FieldError::new("code", format!("invalid JSON: {e}"))),
            Language::Yaml => weir_codecs::yaml::from_str(&code)
                .map(Program::Constant)
                .map_err(|e| FieldError::new("code", format!("invalid YAML: {e}"))),
            Language::Text => Ok(Program::Constant(Value::string(code))),
        };
        let program = program.map_err(|e| errors.push(e));
        match (program, errors.is_empty()) {
            (Ok(program), true) => Ok(shared(SnippetNode {
                limit: Limit::new(&name, spec.timeout),
                program,
            })),
            _ => Err(errors),
        }
    }
}

enum Program {
    Cel(Arc<Expression>),
    JavaScript(Script, js::Limits),
    Constant(Value),
}

struct SnippetNode {
    limit: Limit,
    program: Program,
}

impl SnippetNode {
    async fn run(&self, payload: &Value) -> Result<Value, ErrorValue> {
        match &self.program {
            Program::Cel(expression) => expr::eval(&self.limit, expression, payload).await,
            Program::JavaScript(script, limits) => {
                let answer = script.call(payload.clone(), *limits).await;
                answer.map_err(|failure| js::failure(&self.limit, failure, *limits))
            }
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
            let output = self.run(input.payload()).await?;
            Ok(call.write(&Port::output(), Packet::new(output)).await)
        })
    }
}
