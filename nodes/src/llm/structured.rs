//! Structured output: the JSON Schema an answer must match, how it is asked
//! for, and the check of what came back.
//!
//! This module owns compiling the schema once, the `response_format` sent,
//! and parsing and validating an answer's content (each violation with its
//! JSON pointer). It must not send anything.

use serde_json::{Value, json};

/// A compiled JSON Schema for answers.
pub struct Structured {
    name: String,
    schema: Value,
    strict: bool,
    validator: jsonschema::Validator,
}

/// One way an answer breaks the schema: where (a JSON pointer into the
/// answer, empty for the whole) and what.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub pointer: String,
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.pointer.is_empty() {
            true => write!(f, "(root): {}", self.message),
            false => write!(f, "{}: {}", self.pointer, self.message),
        }
    }
}

/// Why an answer's content is not what the schema asks.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Mismatch {
    #[error("the answer is not JSON: {0}")]
    NotJson(String),
    #[error("the answer does not match the schema: {}", list(.0))]
    Invalid(Vec<Violation>),
}

fn list(violations: &[Violation]) -> String {
    let shown: Vec<String> = violations.iter().map(Violation::to_string).collect();
    shown.join("; ")
}

impl Structured {
    /// Compiles `schema`; `name` is what OpenAI calls it (letters, digits,
    /// `_`, `-`), `strict` asks OpenAI to enforce it exactly.
    pub fn new(name: &str, schema: Value, strict: bool) -> Result<Structured, String> {
        let validator = jsonschema::options()
            .build(&schema)
            .map_err(|e| format!("not a valid JSON Schema: {e}"))?;
        if name.is_empty()
            || name.len() > 64
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(format!(
                "the schema's name must be 1 to 64 letters, digits, `_` or `-`, not `{name}`"
            ));
        }
        Ok(Structured {
            name: name.to_string(),
            schema,
            strict,
            validator,
        })
    }

    /// The request's `response_format`.
    pub fn response_format(&self) -> Value {
        json!({
            "type": "json_schema",
            "json_schema": {"name": self.name, "schema": self.schema, "strict": self.strict},
        })
    }

    /// Parses `content` and checks it against the schema.
    pub fn check(&self, content: &str) -> Result<Value, Mismatch> {
        let value: Value =
            serde_json::from_str(content).map_err(|e| Mismatch::NotJson(e.to_string()))?;
        if self.validator.is_valid(&value) {
            return Ok(value);
        }
        let violations = self
            .validator
            .iter_errors(&value)
            .map(|e| Violation {
                pointer: e.instance_path().as_str().to_string(),
                message: e.masked().to_string(),
            })
            .collect();
        Err(Mismatch::Invalid(violations))
    }
}

impl std::fmt::Debug for Structured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Structured")
            .field("name", &self.name)
            .field("schema", &self.schema)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violations_carry_their_pointer() {
        let schema = json!({"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string"}}}, "required": ["tags"]});
        let structured = Structured::new("answer", schema, false).unwrap();
        assert_eq!(
            structured.check(r#"{"tags": ["a"]}"#),
            Ok(json!({"tags": ["a"]}))
        );
        let Err(Mismatch::Invalid(violations)) = structured.check(r#"{"tags": ["a", 2]}"#) else {
            panic!("expected a violation");
        };
        assert_eq!(violations[0].pointer, "/tags/1");
        assert!(matches!(structured.check("{"), Err(Mismatch::NotJson(_))));
        let Err(Mismatch::Invalid(violations)) = structured.check("{}") else {
            panic!()
        };
        assert!(
            violations[0].to_string().starts_with("(root): "),
            "{violations:?}"
        );
        assert!(Structured::new("a b", json!({}), false).is_err());
        assert!(Structured::new("x", json!({"type": 5}), false).is_err());
    }
}
