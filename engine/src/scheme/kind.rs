//! [`Kind`]: the one shape every node kind has.
//!
//! A kind is a typed spec struct (serde + JSON Schema), the ports a spec of
//! it has, and a compile step from typed spec to an [`Activate`], which
//! starts a fresh node for every activation. The engine wraps
//! each kind in a [`Codec`](super::Codec) so that it can decode, validate
//! and compile specs without knowing the kind.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use super::Context;
use crate::diagnostic::FieldError;
use crate::port::Ports;
use crate::runtime::Activate;

/// A node kind, registered into a [`Scheme`](super::Scheme).
pub trait Kind: Send + Sync + 'static {
    /// The kind's own fields. Use `#[serde(deny_unknown_fields)]` so that a
    /// misspelt field is an error, not silently ignored.
    type Spec: DeserializeOwned + JsonSchema;

    /// The name specs use in `kind:`.
    fn name(&self) -> &'static str;

    /// One line on what the kind does, for the kind reference.
    fn summary(&self) -> &'static str;

    /// Top-level fields whose `{{ }}` are evaluated per packet by the node
    /// itself, so the loader must not render them with the env.
    fn runtime_templates(&self) -> &'static [&'static str] {
        &[]
    }

    /// The ports a spec of this kind has. Most kinds: `in` → `out`.
    fn ports(&self, _spec: &Self::Spec) -> Ports {
        Ports::default()
    }

    /// Checks the typed spec beyond what its type says, and builds what
    /// starts its nodes: [`crate::runtime::shared`] for a node that keeps
    /// nothing from its activation. Report every problem found, each with
    /// its field path.
    fn compile(
        &self,
        spec: Self::Spec,
        cx: &Context<'_>,
    ) -> Result<Arc<dyn Activate>, Vec<FieldError>>;
}
