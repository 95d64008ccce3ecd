//! [`Document`]: what the store keeps, specs and values alike.
//!
//! Both are stored the same way (id, namespace, name, the whole document as
//! JSON, a revision), plus one column each for filtering: a spec's `kind`,
//! a value's `secret` flag. One implementation of every store operation
//! serves both through this trait.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::spec::{NamedValue, Spec};

/// The two tables the change stream covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Entity {
    /// Node specs.
    Spec,
    /// Named values and secrets.
    Value,
}

impl Entity {
    /// The table's name, quoted where SQL needs it.
    pub(crate) fn table(self) -> &'static str {
        match self {
            Entity::Spec => "specs",
            Entity::Value => "\"values\"",
        }
    }

    /// The extra column kept for filtering.
    pub(crate) fn extra_column(self) -> &'static str {
        match self {
            Entity::Spec => "kind",
            Entity::Value => "secret",
        }
    }

    /// How the change stream names it.
    pub fn label(self) -> &'static str {
        match self {
            Entity::Spec => "spec",
            Entity::Value => "value",
        }
    }
}

/// The filter column's value for one document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Extra {
    /// A spec's kind.
    Text(String),
    /// A value's secret flag.
    Flag(bool),
}

/// A thing the store keeps.
pub trait Document: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// Which table.
    const ENTITY: Entity;
    /// Its identity.
    fn id(&self) -> Uuid;
    /// Sets its identity (to keep the stored one on re-apply).
    fn set_id(&mut self, id: Uuid);
    /// Its namespace.
    fn namespace(&self) -> &str;
    /// Its name in the namespace.
    fn name(&self) -> String;
    /// The filter column's value.
    fn extra(&self) -> Extra;
}

impl Document for Spec {
    const ENTITY: Entity = Entity::Spec;

    fn id(&self) -> Uuid {
        self.id
    }

    fn set_id(&mut self, id: Uuid) {
        self.id = id;
    }

    fn namespace(&self) -> &str {
        &self.namespace
    }

    fn name(&self) -> String {
        self.key()
    }

    fn extra(&self) -> Extra {
        Extra::Text(self.kind.clone())
    }
}

impl Document for NamedValue {
    const ENTITY: Entity = Entity::Value;

    fn id(&self) -> Uuid {
        self.id
    }

    fn set_id(&mut self, id: Uuid) {
        self.id = id;
    }

    fn namespace(&self) -> &str {
        &self.namespace
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn extra(&self) -> Extra {
        Extra::Flag(self.secret)
    }
}
