//! The system family: the kinds the modification API is built from.
//!
//! `specs` and `values` serve the store's rows ([`records`]), `schemas`
//! the kinds' JSON Schemas and `openapi` a description of the API. They
//! reach the store through the scheme's resources (`weir start` provides
//! it), and they compile only in the `system` namespace: a workflow
//! elsewhere cannot be given the power to rewrite every workflow. Without
//! a store (`weir validate`, `weir run`) they still compile, so specs can
//! be checked anywhere, and fail when they load. The HTTP around them
//! (listener, router, `auth`) is the net family's.

mod openapi;
mod records;
mod request;
mod schemas;
mod watch;

pub use openapi::OpenApiSpec;
pub use records::{Batch, Listing, Op, Ready, RecordsSpec};
pub use request::{Admitted, Problem};
pub use schemas::{KindSchema, SchemasAnswer, SchemasSpec};

use std::sync::Arc;

use weir_codecs::ErrorValue;
use weir_engine::scheme::Context;
use weir_engine::spec::{NamedValue, Spec};
use weir_engine::store::Store;
use weir_engine::{FieldError, Scheme};

/// The only namespace system kinds compile in.
pub const NAMESPACE: &str = "system";

/// The family's kinds: each compiles only in [`NAMESPACE`].
pub(crate) const KINDS: [&str; 4] = ["specs", "values", "schemas", "openapi"];

/// Registers the system family's kinds.
pub fn register(scheme: &mut Scheme) {
    scheme
        .register(records::Records::<Spec>::new())
        .register(records::Records::<NamedValue>::new())
        .register(schemas::Schemas)
        .register(openapi::OpenApi);
}

/// Refuses a spec outside the `system` namespace, at its `namespace`.
fn only_in_system(kind: &str, cx: &Context<'_>) -> Result<(), Vec<FieldError>> {
    let namespace = &cx.spec().namespace;
    match namespace == NAMESPACE {
        true => Ok(()),
        false => Err(vec![FieldError::new(
            "namespace",
            format!("kind `{kind}` runs only in the `{NAMESPACE}` namespace, not in `{namespace}`"),
        )]),
    }
}

/// The store the host provided, if any.
fn store(cx: &Context<'_>) -> Option<Arc<Store>> {
    cx.resource::<Store>()
}

/// Why a system node cannot run here.
fn no_store(kind: &str) -> ErrorValue {
    ErrorValue::new(format!(
        "kind `{kind}` needs the engine's store: it runs under `weir start`, not from files"
    ))
    .with_code("no_store")
}

#[cfg(test)]
mod tests;
