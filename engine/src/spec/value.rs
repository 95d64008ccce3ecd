//! [`NamedValue`]: a named piece of configuration or a secret.
//!
//! Specs bind values through their `env` (`from: NAME`). A secret value's
//! data never leaves the engine in clear: listings print `<redacted>`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::DEFAULT_NAMESPACE;

/// A stored value, as written in YAML (`weir apply values -f …`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NamedValue {
    /// Stable identity; a UUID v7 is assigned when missing.
    #[serde(default = "Uuid::now_v7")]
    pub id: Uuid,
    /// The namespace whose specs may bind it.
    #[serde(default = "default_namespace")]
    #[schemars(regex(pattern = super::NAME_PATTERN))]
    pub namespace: String,
    /// Unique within the namespace.
    #[schemars(regex(pattern = super::NAME_PATTERN))]
    pub name: String,
    /// Free-form labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// The value itself: any JSON/YAML data.
    pub data: serde_json::Value,
    /// A secret is never shown in clear by the CLI or the API.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub secret: bool,
}

fn default_namespace() -> String {
    DEFAULT_NAMESPACE.to_string()
}

/// What listings show instead of a secret's data.
pub const REDACTED: &str = "<redacted>";

impl NamedValue {
    /// What is wrong with the value's name and namespace, each error with
    /// its field.
    pub fn check(&self) -> Vec<crate::diagnostic::FieldError> {
        let name = super::check_name("name", &self.name);
        name.into_iter()
            .chain(super::check_name("namespace", &self.namespace))
            .collect()
    }

    /// The value as it may be shown: a secret's data replaced by `<redacted>`.
    pub fn redacted(&self) -> NamedValue {
        let mut shown = self.clone();
        if shown.secret {
            shown.data = serde_json::Value::String(REDACTED.to_string());
        }
        shown
    }
}
