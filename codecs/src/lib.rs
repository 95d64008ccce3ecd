//! Weir's data codecs: the [`Value`] every packet carries, its JSON and YAML
//! forms, and the two small languages specs embed, CEL expressions and
//! minijinja templates.
//!
//! This crate owns data representation and conversion only. It must not know
//! about specs, nodes, ports or the runtime: the engine depends on it, never
//! the other way round.

pub mod expression;
pub mod json;
pub mod limits;
pub mod template;
pub mod value;
pub mod yaml;

pub use expression::{Expression, ExpressionError};
pub use template::{Bounds, Rendered, Template, TemplateError, render_untrusted};
pub use value::{ErrorValue, Map, Value};
