//! Symbols: compiled specs, and the per-namespace table that runs them.
//!
//! A [`Symbol`] is a spec compiled by its kind's codec: what activates its
//! nodes, its ports and its out-links as written. The [`SymbolTable`] of a namespace decides
//! which symbols are active and runs them; [`link`] resolves links, for both
//! the table and the static checks of [`crate::bundle`].

pub mod link;
mod order;
mod table;

use std::sync::Arc;

pub use table::{ApplyReport, Change, Status, SymbolTable};

use crate::port::{Port, Ports};
use crate::runtime::Activate;
use crate::spec::{Spec, Target};

/// A compiled spec.
#[derive(Clone)]
pub struct Symbol {
    spec: Arc<Spec>,
    env: weir_codecs::Value,
    activate: Arc<dyn Activate>,
    ports: Ports,
    links: Vec<(Port, Vec<Target>)>,
    warnings: Vec<crate::FieldError>,
}

impl Symbol {
    pub(crate) fn new(
        spec: Arc<Spec>,
        env: weir_codecs::Value,
        activate: Arc<dyn Activate>,
        ports: Ports,
        links: Vec<(Port, Vec<Target>)>,
        warnings: Vec<crate::FieldError>,
    ) -> Symbol {
        Symbol {
            spec,
            env,
            activate,
            ports,
            links,
            warnings,
        }
    }

    /// What compiling it warned of: it may not work as written.
    pub fn warnings(&self) -> &[crate::FieldError] {
        &self.warnings
    }

    /// The spec it was compiled from.
    pub fn spec(&self) -> &Arc<Spec> {
        &self.spec
    }

    /// Whether `other` was compiled from the same spec with the same bound
    /// env: then it would run exactly the same, and need not replace it.
    pub fn same_source(&self, other: &Symbol) -> bool {
        self.spec == other.spec && self.env == other.env
    }

    /// The name it is known by in its namespace (its id when unnamed).
    pub fn key(&self) -> String {
        self.spec.key()
    }

    /// What starts this symbol's nodes, one fresh node per activation.
    pub fn activate(&self) -> &Arc<dyn Activate> {
        &self.activate
    }

    /// Its id, the identity the table and the store know it by.
    pub fn id(&self) -> uuid::Uuid {
        self.spec.id
    }

    /// Its namespace.
    pub fn namespace(&self) -> &str {
        &self.spec.namespace
    }

    /// Its ports.
    pub fn ports(&self) -> &Ports {
        &self.ports
    }

    /// Its out-links as written in the spec: out-port to targets.
    pub fn links(&self) -> &[(Port, Vec<Target>)] {
        &self.links
    }
}

impl std::fmt::Debug for Symbol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Symbol")
            .field("name", &self.key())
            .field("kind", &self.spec.kind)
            .finish()
    }
}
