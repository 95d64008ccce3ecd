//! Compiling and running CEL expressions from spec fields, with errors that
//! name the field and the node.

use weir_codecs::{ErrorValue, Expression, Value};
use weir_engine::FieldError;

/// Compiles the expression in field `path`.
pub fn compile(path: &str, source: &str) -> Result<Expression, FieldError> {
    Expression::compile(source)
        .map_err(|e| FieldError::new(path, format!("expression does not compile: {e}")))
}

/// Evaluates `expression` on `payload`; a failure names the node.
pub fn eval(node: &str, expression: &Expression, payload: &Value) -> Result<Value, ErrorValue> {
    expression
        .eval(payload)
        .map_err(|e| failure(node, expression, e))
}

/// Evaluates a condition; a non-boolean result is a failure.
pub fn eval_bool(node: &str, expression: &Expression, payload: &Value) -> Result<bool, ErrorValue> {
    expression
        .eval_bool(payload)
        .map_err(|e| failure(node, expression, e))
}

fn failure(node: &str, expression: &Expression, error: impl std::fmt::Display) -> ErrorValue {
    ErrorValue::new(format!("node `{node}`: `{}`: {error}", expression.source()))
        .with_code("expression")
}
