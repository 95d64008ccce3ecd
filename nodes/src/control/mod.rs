//! The control family: computing, branching, iterating, composing and
//! failing, as specs.
//!
//! Computing: `snippet` (CEL, JavaScript or a constant), `schema` (checks
//! the payload against a JSON Schema), `template` (renders a template that
//! comes with the data). Branching: `if`, `switch`.
//! Iterating and fanning: `split`, `merge`, `for`, `fork`. Composing:
//! `pipe`, `step`, `block`. Failing and waiting: `try`, `throw`, `retry`,
//! `sleep`. Watching: `log`. Expressions are CEL (see
//! `weir_codecs::expression`), scripts JavaScript (see [`js`]); both run
//! within a `timeout` ([`limit`]).

mod block;
mod duration;
mod expr;
mod r#for;
mod fork;
mod r#if;
mod inline;
mod js;
mod limit;
mod log;
mod merge;
mod pipe;
mod retry;
mod schema;
mod sleep;
mod snippet;
mod split;
mod step;
mod switch;
mod template;
mod throw;
mod r#try;

pub use block::{BlockSpec, Entry, Exit};
pub use duration::{Duration, between as duration_between};
pub use r#for::ForSpec;
pub use fork::ForkSpec;
pub use r#if::IfSpec;
pub use log::{Level, LogSpec};
pub use merge::MergeSpec;
pub use pipe::PipeSpec;
pub use retry::RetrySpec;
pub use schema::SchemaSpec;
pub use sleep::SleepSpec;
pub use snippet::{Code, Language, SnippetSpec};
pub use split::SplitSpec;
pub use step::StepSpec;
pub use switch::{Case, SwitchSpec};
pub use template::TemplateSpec;
pub use throw::ThrowSpec;
pub use r#try::TrySpec;

use weir_codecs::{ErrorValue, Value};
use weir_engine::{Packet, Port, Scheme};

/// Registers the control family's kinds.
pub fn register(scheme: &mut Scheme) {
    scheme
        .register(snippet::Snippet)
        .register(schema::Schema)
        .register(r#if::If)
        .register(switch::Switch)
        .register(split::Split)
        .register(merge::Merge)
        .register(r#for::For)
        .register(fork::Fork)
        .register(pipe::Pipe)
        .register(step::Step)
        .register(block::Block)
        .register(retry::Retry)
        .register(r#try::Try)
        .register(throw::Throw)
        .register(sleep::Sleep)
        .register(log::Log)
        .register(template::TemplateKind);
}

/// The payload as a list, for the kinds that iterate one.
fn list<'a>(node: &str, payload: &'a Value) -> Result<&'a [Value], ErrorValue> {
    payload.as_list().ok_or_else(|| {
        ErrorValue::new(format!(
            "node `{node}`: expected a list, got {}",
            payload.type_name()
        ))
        .with_code("type")
    })
}

/// `base[i]`, or an error past the last port index there can be.
fn indexed(node: &str, base: &str, i: usize) -> Result<Port, ErrorValue> {
    u32::try_from(i)
        .map(|i| Port::indexed(base, i))
        .map_err(|_| ErrorValue::new(format!("node `{node}`: no port `{base}[{i}]`")))
}

/// Answers collected in order into one list; an error answer, the first,
/// wins (as the runtime merges a fan-out, but a list even of one).
fn collect(answers: Vec<Packet>) -> Packet {
    if let Some(error) = answers.iter().find(|p| p.is_error()) {
        return error.clone();
    }
    Packet::new(Value::list(answers.into_iter().map(Packet::into_payload)))
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
