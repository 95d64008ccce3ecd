//! Binding a spec's `env`: where each variable's value comes from.
//!
//! Values come from a [`ValueSource`] (the store's values, or nothing when
//! specs are run from files), then the engine's process environment, then
//! the variable's default. The result is the context `{{ }}` templates in
//! the spec's fields are rendered with. Secrets bound here never appear in
//! error messages: only variable and value names do.

use std::collections::HashMap;

use uuid::Uuid;
use weir_codecs::Value;

use crate::diagnostic::FieldError;
use crate::spec::{EnvVar, NamedValue, Spec};

/// Where stored values are looked up.
pub trait ValueSource: Send + Sync {
    /// The data of the value named `name` (or with `id`) in `namespace`.
    fn value(&self, namespace: &str, name: Option<&str>, id: Option<Uuid>) -> Option<Value>;

    /// The environment variable `name` of the engine that binds: by
    /// default this process's. [`Admitting`] answers [`Os::Unknown`].
    fn os(&self, name: &str) -> Os {
        match std::env::var(name) {
            Ok(value) => Os::Set(value),
            Err(_) => Os::Unset,
        }
    }
}

/// What the environment says of one variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Os {
    Set(String),
    Unset,
    /// Not this process's to say: only the engine that loads a spec binds
    /// its `os` variables, each in its own environment.
    Unknown,
}

/// The stored values of `values`, and no environment: what admission
/// checks specs with (`weir apply`, the system API), since the shell that
/// applies is not the engine that runs. An `os` variable with a `default`
/// is checked with its default; one without is left to the engine
/// ([`engine_bound`]).
pub struct Admitting<'a>(pub &'a dyn ValueSource);

impl ValueSource for Admitting<'_> {
    fn value(&self, namespace: &str, name: Option<&str>, id: Option<Uuid>) -> Option<Value> {
        self.0.value(namespace, name, id)
    }

    fn os(&self, _: &str) -> Os {
        Os::Unknown
    }
}

/// The `env` variables of `spec` that only the engine loading it can bind:
/// no stored value, no `default`, and an `os` variable `values` cannot see
/// ([`Os::Unknown`]). A spec with any is compiled by each engine as it
/// loads, where a missing one becomes the spec's status.
pub fn engine_bound(spec: &Spec, values: &dyn ValueSource) -> Vec<String> {
    spec.env
        .iter()
        .filter(|(_, var)| {
            var.os
                .as_deref()
                .is_some_and(|name| values.os(name) == Os::Unknown)
                && resolve(&spec.namespace, var, values).is_none()
        })
        .map(|(name, _)| name.clone())
        .collect()
}

/// No stored values: for specs run straight from files.
pub struct NoValues;

impl ValueSource for NoValues {
    fn value(&self, _: &str, _: Option<&str>, _: Option<Uuid>) -> Option<Value> {
        None
    }
}

/// Stored values held in memory, by namespace and name and by id.
#[derive(Clone, Default)]
pub struct ValueMap {
    by_name: HashMap<(String, String), Value>,
    by_id: HashMap<Uuid, (String, String)>,
}

impl ValueMap {
    /// Adds or replaces a value.
    pub fn insert(&mut self, value: NamedValue) {
        self.remove(value.id);
        let key = (value.namespace, value.name);
        self.by_name
            .insert(key.clone(), weir_codecs::json::from_json(value.data));
        self.by_id.insert(value.id, key);
    }

    /// Removes the value with `id`; returns its namespace and name.
    pub fn remove(&mut self, id: Uuid) -> Option<(String, String)> {
        let key = self.by_id.remove(&id)?;
        self.by_name.remove(&key);
        Some(key)
    }
}

impl ValueSource for ValueMap {
    fn value(&self, namespace: &str, name: Option<&str>, id: Option<Uuid>) -> Option<Value> {
        let key = match (name, id) {
            (Some(name), _) => (namespace.to_string(), name.to_string()),
            (None, Some(id)) => self.by_id.get(&id)?.clone(),
            (None, None) => return None,
        };
        self.by_name.get(&key).cloned()
    }
}

/// Resolves every `env` variable of `spec` into one map.
pub fn bind(spec: &Spec, values: &dyn ValueSource) -> Result<Value, Vec<FieldError>> {
    let mut bound = Vec::new();
    let mut errors = Vec::new();
    for (name, var) in &spec.env {
        match resolve(&spec.namespace, var, values) {
            Some(value) => bound.push((name.as_str(), value)),
            None => {
                let path = format!("env.{name}");
                let message = missing(&spec.namespace, var);
                // Naming a value that is not stored is fixed by storing it.
                errors.push(match var.from.is_some() || var.id.is_some() {
                    true => FieldError::unresolved(path, message),
                    false => FieldError::new(path, message),
                })
            }
        }
    }
    match errors.is_empty() {
        true => Ok(Value::map(bound)),
        false => Err(errors),
    }
}

/// The `env` variables of `spec` that name no source and have no
/// `default`: wrong in themselves, whatever is stored or set. Found
/// without binding anything, for a spec checked for its shape only
/// ([`crate::Scheme::check_unbound`]); [`bind`] reports the same.
pub fn unsourced(spec: &Spec) -> Vec<FieldError> {
    spec.env
        .iter()
        .filter(|(_, var)| {
            var.from.is_none() && var.id.is_none() && var.os.is_none() && var.default.is_none()
        })
        .map(|(name, var)| FieldError::new(format!("env.{name}"), missing(&spec.namespace, var)))
        .collect()
}

fn resolve(namespace: &str, var: &EnvVar, values: &dyn ValueSource) -> Option<Value> {
    if (var.from.is_some() || var.id.is_some())
        && let Some(value) = values.value(namespace, var.from.as_deref(), var.id)
    {
        return Some(value);
    }
    if let Some(name) = var.os.as_deref()
        && let Os::Set(value) = values.os(name)
    {
        return Some(os_value(&value));
    }
    var.default.clone().map(weir_codecs::json::from_json)
}

/// Environment variables are text; one that reads as a number or boolean is
/// bound as one, so `port: "{{ PORT }}"` yields an integer.
fn os_value(text: &str) -> Value {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => {
            weir_codecs::json::from_json(v)
        }
        _ => Value::string(text),
    }
}

fn missing(namespace: &str, var: &EnvVar) -> String {
    let mut tried = Vec::new();
    if let Some(name) = &var.from {
        tried.push(format!("no value `{name}` in namespace `{namespace}`"));
    }
    if let Some(id) = &var.id {
        tried.push(format!("no value with id {id}"));
    }
    if let Some(os) = &var.os {
        tried.push(format!("environment variable `{os}` is not set"));
    }
    if tried.is_empty() {
        return "names no source (`from`, `id`, `os`) and has no `default`".to_string();
    }
    format!("{} and there is no `default`", tried.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(env: serde_json::Value) -> Spec {
        serde_json::from_value(serde_json::json!({"kind": "k", "env": env})).unwrap()
    }

    struct OneValue;
    impl ValueSource for OneValue {
        fn value(&self, ns: &str, name: Option<&str>, _: Option<Uuid>) -> Option<Value> {
            (ns == "default" && name == Some("db")).then(|| Value::string("postgres://secret"))
        }
    }

    #[test]
    fn sources_are_tried_in_order() {
        let s = spec(serde_json::json!({
            "DB": {"from": "db"},
            "PORT": {"os": "WEIR_TEST_SURELY_UNSET", "default": 8000},
            "PATH_SET": {"os": "PATH"},
        }));
        let env = bind(&s, &OneValue).unwrap();
        assert_eq!(
            env.get("DB").and_then(Value::as_str),
            Some("postgres://secret")
        );
        assert_eq!(env.get("PORT"), Some(&Value::Int(8000)));
        assert!(env.get("PATH_SET").and_then(Value::as_str).is_some());
        assert_eq!(os_value("8001"), Value::Int(8001));
        assert_eq!(os_value("true"), Value::Bool(true));
        assert_eq!(os_value("abc"), Value::string("abc"));
    }

    #[test]
    fn admission_binds_no_os_variable_and_leaves_them_to_the_engine() {
        let s = spec(serde_json::json!({
            "PORT": {"os": "PATH"},
            "ADDR": {"os": "PATH", "default": "127.0.0.1:1"},
            "DB": {"from": "db", "os": "PATH"},
        }));
        assert_eq!(engine_bound(&s, &OneValue), Vec::<String>::new());
        let admitting = Admitting(&OneValue);
        assert_eq!(engine_bound(&s, &admitting), vec!["PORT".to_string()]);
        let errors = bind(&s, &admitting).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].path, "env.PORT");
        let without_port = spec(serde_json::json!({
            "ADDR": {"os": "PATH", "default": "127.0.0.1:1"},
            "DB": {"from": "db", "os": "PATH"},
        }));
        let env = bind(&without_port, &admitting).unwrap();
        assert_eq!(env.get("ADDR").and_then(Value::as_str), Some("127.0.0.1:1"));
        assert_eq!(
            env.get("DB").and_then(Value::as_str),
            Some("postgres://secret")
        );
    }

    #[test]
    fn missing_values_are_errors_that_name_the_variable() {
        let s = spec(
            serde_json::json!({"X": {"from": "nope", "os": "WEIR_TEST_SURELY_UNSET"}, "Y": {}}),
        );
        let errors = bind(&s, &NoValues).unwrap_err();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].path, "env.X");
        assert!(
            errors[0]
                .message
                .contains("no value `nope` in namespace `default`")
        );
        assert!(errors[1].message.contains("names no source"));
    }
}
