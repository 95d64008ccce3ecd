//! Compiling and running CEL expressions from spec fields, with errors that
//! name the field and the node, within the node's [`Limit`].

use std::sync::Arc;

use weir_codecs::{ErrorValue, Expression, Value};
use weir_engine::FieldError;

use super::limit::Limit;

/// Compiles the expression in field `path`.
pub fn compile(path: &str, source: &str) -> Result<Arc<Expression>, FieldError> {
    Expression::compile(source)
        .map(Arc::new)
        .map_err(|e| FieldError::new(path, format!("expression does not compile: {e}")))
}

/// Evaluates `expression` on `payload` within `limit`.
pub async fn eval(
    limit: &Limit,
    expression: &Arc<Expression>,
    payload: &Value,
) -> Result<Value, ErrorValue> {
    let (node, expression, payload) = (limit.node().clone(), expression.clone(), payload.clone());
    limit
        .run(move || {
            expression
                .eval(&payload)
                .map_err(|e| failure(&node, &expression, e))
        })
        .await
}

/// Evaluates a condition now; a non-boolean result is a failure. For a
/// caller already inside [`Limit::run`].
pub fn eval_bool(node: &str, expression: &Expression, payload: &Value) -> Result<bool, ErrorValue> {
    expression
        .eval_bool(payload)
        .map_err(|e| failure(node, expression, e))
}

fn failure(node: &str, expression: &Expression, error: impl std::fmt::Display) -> ErrorValue {
    ErrorValue::new(format!("node `{node}`: `{}`: {error}", expression.source()))
        .with_code("expression")
}
