//! Resolving a link's target, and why a link is broken.
//!
//! Shared by the static checks (`weir validate`), which report a broken link
//! as an error, and the symbol table, which keeps the source inactive until
//! the link can be resolved. Nothing here runs or stores anything.

use std::fmt;

use uuid::Uuid;

use crate::port::{self, Port, Ports};
use crate::spec::Target;

/// What a namespace tells about a name or id it may hold.
pub trait Namespace {
    /// What the namespace knows a symbol by (its id in a symbol table).
    type Key;
    /// The namespace's name.
    fn name(&self) -> &str;
    /// The key of the symbol with this name or id, and its ports (`None`
    /// when the symbol is known but did not compile).
    fn find(&self, name: Option<&str>, id: Option<Uuid>) -> Option<(Self::Key, Option<&Ports>)>;
}

/// Why a link cannot be resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkError {
    /// The target names another namespace; links never cross one.
    OtherNamespace { target: String, namespace: String },
    /// No node in the namespace has that name or id.
    Missing { target: String, namespace: String },
    /// The target exists but has no such in-port.
    NoSuchPort {
        target: String,
        port: String,
        inputs: String,
    },
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::OtherNamespace { target, namespace } => write!(
                f,
                "link to {target} in namespace `{namespace}`: links cannot cross namespaces"
            ),
            LinkError::Missing { target, namespace } => {
                write!(
                    f,
                    "link to {target}: no such node in namespace `{namespace}`"
                )
            }
            LinkError::NoSuchPort {
                target,
                port,
                inputs,
            } => {
                write!(
                    f,
                    "link to {target}: it has no input `{port}` (inputs: {inputs})"
                )
            }
        }
    }
}

/// Resolves `target` in `namespace`: the target's key and the in-port.
/// The port text was checked when the source compiled; a bad one here is
/// reported as a missing port.
pub fn resolve<N: Namespace>(namespace: &N, target: &Target) -> Result<(N::Key, Port), LinkError> {
    if let Some(other) = target
        .namespace
        .as_deref()
        .filter(|ns| *ns != namespace.name())
    {
        return Err(LinkError::OtherNamespace {
            target: target.label(),
            namespace: other.to_string(),
        });
    }
    let (key, ports) = namespace
        .find(target.name.as_deref(), target.id)
        .ok_or_else(|| LinkError::Missing {
            target: target.label(),
            namespace: namespace.name().to_string(),
        })?;
    let no_port = |inputs: String| LinkError::NoSuchPort {
        target: target.label(),
        port: target.port.clone(),
        inputs,
    };
    let port = Port::parse(&target.port).map_err(|_| no_port(String::from("?")))?;
    match ports {
        Some(ports) if !ports.accepts(&port) => Err(no_port(port::describe(ports.inputs()))),
        _ => Ok((key, port)),
    }
}
