//! Spec fields rendered per packet: a field's JSON whose strings may hold
//! `{{ }}` templates, compiled once when the spec compiles and rendered for
//! each packet over the packet (`payload`) and the spec's bound env.
//!
//! A kind lists such fields in `Kind::runtime_templates`, so the loader
//! leaves them alone; this module owns compiling and rendering them (every
//! error with its field path), not choosing the fields or reading what they
//! render to. A part with no template inside is kept as its value, so
//! rendering it costs a clone of shared buffers.

use std::sync::Arc;

use weir_codecs::{Template, Value};
use weir_engine::FieldError;

/// A field compiled for rendering per packet.
#[derive(Debug)]
pub enum Templated {
    /// Nothing to render: the value itself.
    Constant(Value),
    /// A string holding a template.
    Template(Template),
    /// A list with a template somewhere inside.
    List(Vec<Templated>),
    /// A map with a template somewhere inside; keys are never rendered.
    Map(Vec<(Arc<str>, Templated)>),
}

impl Templated {
    /// Compiles every template in `json`, the field at `path`; every
    /// failure is reported with its own path (`header.authorization`).
    pub fn compile(path: &str, json: serde_json::Value) -> Result<Templated, Vec<FieldError>> {
        let mut errors = Vec::new();
        let compiled = compile_at(json, &mut path.to_string(), &mut errors);
        match errors.is_empty() {
            true => Ok(compiled),
            false => Err(errors),
        }
    }

    /// The value when nothing inside is a template, for checks at compile
    /// time.
    pub fn constant(&self) -> Option<&Value> {
        match self {
            Templated::Constant(value) => Some(value),
            _ => None,
        }
    }

    /// Renders the field over `context` (see [`context`]). The error names
    /// the failing path and says why, never the values rendered.
    pub fn render(&self, path: &str, context: &Value) -> Result<Value, String> {
        self.render_at(&mut path.to_string(), context)
    }

    fn render_at(&self, path: &mut String, context: &Value) -> Result<Value, String> {
        match self {
            Templated::Constant(value) => Ok(value.clone()),
            Templated::Template(template) => {
                template.render(context).map_err(|e| format!("{path}: {e}"))
            }
            Templated::List(items) => {
                let mut rendered = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    rendered.push(item.render_at(path, context)?);
                    path.truncate(len);
                }
                Ok(Value::list(rendered))
            }
            Templated::Map(entries) => {
                let mut rendered = Vec::with_capacity(entries.len());
                for (key, item) in entries {
                    let len = path.len();
                    path.push('.');
                    path.push_str(key);
                    rendered.push((key.clone(), item.render_at(path, context)?));
                    path.truncate(len);
                }
                Ok(Value::map(rendered))
            }
        }
    }
}

fn compile_at(
    json: serde_json::Value,
    path: &mut String,
    errors: &mut Vec<FieldError>,
) -> Templated {
    match json {
        serde_json::Value::String(text) if weir_codecs::template::is_template(&text) => {
            match Template::compile(&text) {
                Ok(template) => Templated::Template(template),
                Err(e) => {
                    errors.push(FieldError::new(path.clone(), e.to_string()));
                    Templated::Constant(Value::Null)
                }
            }
        }
        serde_json::Value::Array(items) => {
            let items: Vec<Templated> = items
                .into_iter()
                .enumerate()
                .map(|(i, item)| {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    let compiled = compile_at(item, path, errors);
                    path.truncate(len);
                    compiled
                })
                .collect();
            let constant: Option<Vec<Value>> =
                items.iter().map(|item| item.constant().cloned()).collect();
            match constant {
                Some(values) => Templated::Constant(Value::list(values)),
                None => Templated::List(items),
            }
        }
        serde_json::Value::Object(fields) => {
            let entries: Vec<(Arc<str>, Templated)> = fields
                .into_iter()
                .map(|(key, field)| {
                    let len = path.len();
                    path.push('.');
                    path.push_str(&key);
                    let compiled = compile_at(field, path, errors);
                    path.truncate(len);
                    (Arc::from(key), compiled)
                })
                .collect();
            let constant: Option<Vec<(Arc<str>, Value)>> = entries
                .iter()
                .map(|(key, item)| Some((key.clone(), item.constant()?.clone())))
                .collect();
            match constant {
                Some(values) => Templated::Constant(Value::map(values)),
                None => Templated::Map(entries),
            }
        }
        other => Templated::Constant(weir_codecs::json::from_json(other)),
    }
}

/// What per-packet templates see: the spec's env variables by name, and the
/// packet as `payload` (which wins over an env variable of that name).
pub fn context(env: &Value, payload: &Value) -> Value {
    let variables = env.as_map().into_iter().flat_map(|map| map.iter());
    Value::map(
        variables
            .map(|(name, value)| (name.clone(), value.clone()))
            .chain([(Arc::from("payload"), payload.clone())]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_fold_and_templates_render_with_their_types() {
        let field = Templated::compile(
            "body",
            serde_json::json!({"fixed": [1, "a"], "id": "{{ payload.id }}", "who": "x-{{ USER }}"}),
        )
        .unwrap();
        let Templated::Map(entries) = &field else {
            panic!("{field:?}")
        };
        assert!(
            entries[0].1.constant().is_some(),
            "a part without templates is constant"
        );
        let env = Value::map([("USER", Value::string("ann"))]);
        let payload = Value::map([("id", Value::Int(7))]);
        let rendered = field.render("body", &context(&env, &payload)).unwrap();
        assert_eq!(rendered.get("id"), Some(&Value::Int(7)));
        assert_eq!(rendered.get("who").and_then(Value::as_str), Some("x-ann"));
        assert_eq!(
            rendered.get("fixed"),
            Some(&Value::list([Value::Int(1), Value::string("a")]))
        );
    }

    #[test]
    fn errors_name_their_path() {
        let errors = Templated::compile(
            "header",
            serde_json::json!({"ok": "{{ 1 }}", "bad": "{{ 1 + }}", "list": ["{% if %}"]}),
        )
        .unwrap_err();
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["header.bad", "header.list[0]"]);

        let field =
            Templated::compile("url", serde_json::json!(["{{ payload.missing }}"])).unwrap();
        let error = field
            .render("url", &context(&Value::Null, &Value::Null))
            .unwrap_err();
        assert!(error.starts_with("url[0]: "), "{error}");
        assert!(error.contains("undefined"), "{error}");
    }
}
