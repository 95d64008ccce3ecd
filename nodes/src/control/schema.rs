//! `schema`: checks the payload against a JSON Schema, then passes it on.
//!
//! The schema is compiled once, when the spec compiles; a schema that is
//! itself invalid (or names a remote `$ref`: nothing is fetched) is an
//! error of the field `schema`. At run time a valid payload goes to `out`
//! unchanged; an invalid one is this node's failure: an error with code
//! `invalid` and status 400 whose message names every violation with its
//! JSON pointer and whose `details` list them as `{pointer, message}`.
//! Violations are worded without the offending value (`value is not of
//! type "integer"`), so an answer never echoes what a client sent (a
//! password, say) back into logs. This module owns only that check.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;
use weir_codecs::{ErrorValue, Value};
use weir_engine::runtime::BoxFuture;
use weir_engine::{Activate, shared};
use weir_engine::{Call, FieldError, Kind, Node, Packet, Port, scheme::Context};

/// The fields of a `schema` spec.
///
/// Ports: `in` → `out` when the payload is valid; the answer is what `out`
/// answers. An invalid payload is an error: code `invalid`, status 400,
/// `details` a list of `{pointer, message}`, one per violation.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(example = super::example("schema:\n  type: object\n  required: [name]\n  properties:\n    name: {type: string, minLength: 1}\n    email: {type: string, format: email}"))]
pub struct SchemaSpec {
    /// The JSON Schema the payload must satisfy. The draft comes from its
    /// `$schema` (2020-12 when absent); `format` keywords are checked.
    #[schemars(extend("type" = ["object", "boolean"]))]
    pub schema: serde_json::Value,
}

pub(super) struct Schema;

impl Kind for Schema {
    type Spec = SchemaSpec;

    fn name(&self) -> &'static str {
        "schema"
    }

    fn summary(&self) -> &'static str {
        "Validates the payload against the JSON Schema `schema` and writes it to `out`; an invalid payload is an error (code `invalid`, status 400) listing every violation with its JSON pointer."
    }

    fn compile(
        &self,
        spec: SchemaSpec,
        cx: &Context<'_>,
    ) -> Result<Arc<dyn Activate>, Vec<FieldError>> {
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&spec.schema)
            .map_err(|e| {
                let path = field_path(&spec.schema, e.instance_path().as_str());
                vec![FieldError::new(
                    path,
                    format!("not a valid JSON Schema: {e}"),
                )]
            })?;
        Ok(shared(SchemaNode {
            name: cx.name(),
            validator,
        }))
    }
}

/// The spec field a JSON pointer into the schema names, e.g. `/required/0`
/// → `schema.required[0]`, walking the schema to tell indexes from keys.
fn field_path(schema: &serde_json::Value, pointer: &str) -> String {
    let mut path = String::from("schema");
    let mut at = Some(schema);
    for token in pointer.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        match at {
            Some(serde_json::Value::Array(items)) => {
                path.push_str(&format!("[{token}]"));
                at = token.parse::<usize>().ok().and_then(|i| items.get(i));
            }
            _ => {
                path.push('.');
                path.push_str(&token);
                at = at.and_then(|v| v.get(&token));
            }
        }
    }
    path
}

struct SchemaNode {
    name: String,
    validator: jsonschema::Validator,
}

impl SchemaNode {
    /// Every violation of `payload`, as `(pointer, message)`.
    fn violations(&self, payload: &Value) -> Vec<(String, String)> {
        let json = weir_codecs::json::to_json(payload);
        if self.validator.is_valid(&json) {
            return Vec::new();
        }
        self.validator
            .iter_errors(&json)
            .map(|e| {
                (
                    e.instance_path().as_str().to_string(),
                    e.masked().to_string(),
                )
            })
            .collect()
    }
}

/// The error answered for a payload with `violations` (none empty).
fn invalid(node: &str, violations: Vec<(String, String)>) -> ErrorValue {
    let listed = violations
        .iter()
        .map(|(pointer, message)| match pointer.is_empty() {
            true => format!("(root): {message}"),
            false => format!("{pointer}: {message}"),
        })
        .collect::<Vec<_>>()
        .join("; ");
    let details = Value::list(violations.into_iter().map(|(pointer, message)| {
        Value::map([
            ("pointer", Value::string(pointer)),
            ("message", Value::string(message)),
        ])
    }));
    ErrorValue::new(format!("node `{node}`: invalid payload: {listed}"))
        .with_code("invalid")
        .with_status(400)
        .with_details(details)
}

impl Node for SchemaNode {
    fn call<'a>(
        &'a self,
        call: &'a Call,
        input: Packet,
    ) -> BoxFuture<'a, Result<Packet, ErrorValue>> {
        Box::pin(async move {
            let violations = self.violations(input.payload());
            if !violations.is_empty() {
                return Err(invalid(&self.name, violations));
            }
            Ok(call.write(&Port::output(), input).await)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_into_the_schema_become_field_paths() {
        let schema = serde_json::json!({"required": ["a"], "properties": {"a/b": {"type": 1}}});
        assert_eq!(field_path(&schema, ""), "schema");
        assert_eq!(field_path(&schema, "/required/0"), "schema.required[0]");
        assert_eq!(
            field_path(&schema, "/properties/a~1b/type"),
            "schema.properties.a/b.type"
        );
    }
}
