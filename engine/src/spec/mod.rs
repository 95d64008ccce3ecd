//! The spec model: what a user writes in YAML, before any kind looks at it.
//!
//! A [`Spec`] holds the fields every kind shares (`id`, `kind`, `namespace`,
//! `name`, `annotations`, `env`, `ports`) and keeps the kind's own fields
//! untyped in [`Spec::fields`]; the kind's codec types them. Reading specs
//! from files lives in [`source`]. This module compiles nothing.

pub mod source;
pub mod value;

pub use value::NamedValue;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::diagnostic::FieldError;

/// The namespace a spec belongs to when it names none.
pub const DEFAULT_NAMESPACE: &str = "default";

/// One node specification.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Spec {
    /// Stable identity; a UUID v7 is assigned when the spec has none.
    #[serde(default = "Uuid::now_v7")]
    pub id: Uuid,
    /// The node kind, e.g. `snippet` or `listener`.
    pub kind: String,
    /// The namespace; links never cross it.
    #[serde(default = "default_namespace")]
    #[schemars(regex(pattern = NAME_PATTERN))]
    pub namespace: String,
    /// Unique within the namespace; links and the CLI refer to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = NAME_PATTERN))]
    pub name: Option<String>,
    /// Free-form labels for people and tools; the engine ignores them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Variables for `{{ }}` templates in the spec's fields.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, EnvVar>,
    /// Out-port name (`out`, `out[0]`, `error`) to the in-ports it feeds.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("propertyNames" = {"pattern": crate::port::Port::PATTERN}))]
    pub ports: BTreeMap<String, Vec<Target>>,
    /// The kind's own fields, typed by its codec.
    #[serde(flatten)]
    #[schemars(skip)]
    pub fields: serde_json::Map<String, serde_json::Value>,
}

impl Spec {
    /// The name links and people use: the `name`, else the id.
    pub fn key(&self) -> String {
        match &self.name {
            Some(name) => name.clone(),
            None => self.id.to_string(),
        }
    }
}

fn default_namespace() -> String {
    DEFAULT_NAMESPACE.to_string()
}

/// What [`check_name`] accepts, as a JSON Schema pattern (for the API's
/// schemas): at least one character, none of them `/` or a control.
pub const NAME_PATTERN: &str = "^[^/\\u0000-\\u001f\\u007f-\\u009f]+$";

/// Names and namespaces are how people, links and URLs refer to specs and
/// values: they must be non-empty, without `/` or control characters (the
/// CLI prints `namespace/name`). The error, if any, is at `field`.
pub fn check_name(field: &str, value: &str) -> Option<FieldError> {
    let bad = value.is_empty() || value.contains('/') || value.chars().any(char::is_control);
    bad.then(|| {
        FieldError::new(
            field,
            format!("`{value}` is not a valid {field}: it must be non-empty, without `/`"),
        )
    })
}

/// Where an out-port's packets go: a node (by `name` or `id`) and its in-port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend(
    "anyOf" = [
        {"required": ["name"], "properties": {"name": {"type": "string"}}},
        {"required": ["id"], "properties": {"id": {"type": "string"}}}
    ]
))]
pub struct Target {
    /// The target's name in the same namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The target's id, when it has no name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    /// The source's own namespace, if given: links never cross it (naming
    /// another is a warning, and the source does not load).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The target's in-port, `in` unless said otherwise.
    #[serde(default = "default_in_port")]
    #[schemars(regex(pattern = crate::port::Port::PATTERN))]
    pub port: String,
}

fn default_in_port() -> String {
    "in".to_string()
}

impl Target {
    /// How the target is referred to in messages.
    pub fn label(&self) -> String {
        match (&self.name, &self.id) {
            (Some(name), _) => format!("`{name}`"),
            (None, Some(id)) => format!("id {id}"),
            (None, None) => "a target with neither name nor id".to_string(),
        }
    }
}

/// Where one `env` variable's value comes from, tried in this order: a stored
/// value of the namespace (`from` by name, or `id`), the engine's own
/// environment (`os`), then `default`.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("anyOf" = [
    {"required": ["from"], "properties": {"from": {"type": "string"}}},
    {"required": ["id"], "properties": {"id": {"type": "string"}}},
    {"required": ["os"], "properties": {"os": {"type": "string"}}},
    {"required": ["default"], "properties": {"default": {"not": {"type": "null"}}}}
]))]
pub struct EnvVar {
    /// The name of a stored value in the spec's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The id of a stored value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    /// A variable of the engine's process environment, e.g. `PORT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    /// Used when no other source has a value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
}

/// The targets `ports` name in `namespace` itself: a link naming another
/// namespace is a warning (its source does not load), and never followed.
pub fn local_targets<'a>(
    namespace: &'a str,
    ports: &'a BTreeMap<String, Vec<Target>>,
) -> impl Iterator<Item = &'a Target> + 'a {
    ports
        .values()
        .flatten()
        .filter(move |t| t.namespace.as_deref().is_none_or(|ns| ns == namespace))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_in() {
        let spec: Spec = serde_json::from_value(serde_json::json!({
            "kind": "snippet", "name": "a", "code": "1",
            "ports": {"out": [{"name": "b"}]}
        }))
        .unwrap();
        assert_eq!(spec.namespace, "default");
        assert_eq!(spec.id.get_version_num(), 7);
        assert_eq!(spec.ports["out"][0].port, "in");
        assert_eq!(spec.fields["code"], "1");
        assert_eq!(spec.key(), "a");
    }

    #[test]
    fn round_trips_through_json() {
        let spec: Spec = serde_json::from_value(serde_json::json!({
            "kind": "if", "name": "x", "when": "true",
            "env": {"PORT": {"os": "PORT", "default": 8000}}
        }))
        .unwrap();
        let back: Spec = serde_json::from_value(serde_json::to_value(&spec).unwrap()).unwrap();
        assert_eq!(back, spec);
    }
}
