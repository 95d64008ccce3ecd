//! The control family: computing, branching and failing, as specs.
//!
//! `snippet` computes a value, `if` and `switch` choose an out-port, `try`
//! catches errors from its branch, `throw` fails on purpose and `log`
//! records what passes, `schema` validates the payload against a JSON Schema.
//! Expressions are CEL (see `weir_codecs::expression`).

mod duration;
mod expr;
mod r#if;
mod js;
mod limit;
mod log;
mod schema;
mod snippet;
mod switch;
mod throw;
mod r#try;

pub use duration::Duration;
pub use r#if::IfSpec;
pub use log::{Level, LogSpec};
pub use schema::SchemaSpec;
pub use snippet::{Language, SnippetSpec};
pub use switch::{Case, SwitchSpec};
pub use throw::ThrowSpec;
pub use r#try::TrySpec;

use weir_engine::Scheme;

/// Registers the control family's kinds.
pub fn register(scheme: &mut Scheme) {
    scheme
        .register(snippet::Snippet)
        .register(r#if::If)
        .register(switch::Switch)
        .register(r#try::Try)
        .register(throw::Throw)
        .register(log::Log)
        .register(schema::Schema);
}

/// A spec example for the kind reference, written as YAML. Examples are
/// constants of this crate, and a test compiles every one of them.
fn example(yaml: &str) -> serde_json::Value {
    weir_codecs::yaml::from_str(yaml)
        .map(|v| weir_codecs::json::to_json(&v))
        .unwrap_or_else(|e| serde_json::Value::String(format!("invalid example: {e}")))
}

#[cfg(test)]
mod tests;
