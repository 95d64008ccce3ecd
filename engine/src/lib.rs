//! Weir's engine: specs, the scheme of node kinds, symbol tables and the
//! packet runtime (ARCHITECTURE §2 and §4).
//!
//! The engine knows no node kind: kinds arrive through [`scheme::Scheme::register`].
//! It knows no database either: the store and loader feed it [`symbol::Change`]s.
//! Data types (the [`Value`](weir_codecs::Value) packets carry, expressions,
//! templates) come from `weir-codecs`.

pub mod admission;
pub mod bundle;
pub mod diagnostic;
pub mod env;
pub mod loader;
pub mod port;
pub mod runtime;
pub mod scheme;
pub mod spec;
pub mod store;
pub mod symbol;
pub mod type_map;

pub use bundle::Bundle;
pub use diagnostic::{Diagnostic, Diagnostics, FieldError, Origin, Severity};
pub use port::{Port, PortPattern, Ports};
pub use runtime::{Activate, Call, Node, Packet, Process, shared};
pub use scheme::{Kind, Scheme};
pub use spec::Spec;
pub use symbol::{Symbol, SymbolTable};
