//! Where a statement's parameter values come from: the payload's keys (or
//! items), one CEL expression giving them all, or one CEL expression per
//! parameter. Values are only ever bound, never written into the SQL.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use weir_codecs::{Expression, Value};
use weir_engine::FieldError;

use super::run::Bound;
use super::statement::Placeholders;

/// The `params` field of a `sql` spec.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(
    untagged,
    expecting = "a CEL expression, a map from parameter name to CEL expression, or a list of CEL expressions"
)]
pub enum Params {
    /// One CEL expression over the payload that gives every parameter: a
    /// map for `:name` parameters, a list for `$1`, `$2`, …
    All(#[schemars(extend("format" = "cel"))] String),
    /// A CEL expression over the payload per `:name` parameter; a parameter
    /// not listed takes the payload's key of its name.
    Named(
        #[schemars(extend("additionalProperties" = {"type": "string", "format": "cel"}))]
        BTreeMap<String, String>,
    ),
    /// A CEL expression over the payload per `$n` parameter, in order.
    Positional(#[schemars(extend("items" = {"type": "string", "format": "cel"}))] Vec<String>),
}

/// How to get one parameter's value.
enum Getter {
    /// The key of this name in the source map.
    Key(String),
    /// The item at this index of the source list.
    Index(usize),
    /// A field path over the payload (`body.name`): what most expressions
    /// in `params` are, read without starting the CEL interpreter.
    Path(Vec<String>),
    /// An expression over the payload.
    Expression(Expression),
}

/// How to read the expression `source` of spec field `field`.
fn getter(field: &str, source: &str) -> Result<Getter, FieldError> {
    match path(source) {
        Some(keys) => Ok(Getter::Path(keys)),
        None => expression(field, source).map(Getter::Expression),
    }
}

/// `a.b.c` as its keys, if `source` is only that: identifiers joined by
/// dots, none of them a CEL keyword. `self` at the start is the payload.
fn path(source: &str) -> Option<Vec<String>> {
    let keys: Vec<String> = source.trim().split('.').map(str::to_string).collect();
    let identifier = |key: &String| {
        let mut chars = key.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !matches!(
                key.as_str(),
                "true" | "false" | "null" | "in" | "as" | "let"
            )
    };
    keys.iter().all(identifier).then_some(keys)
}

/// Reads `keys` out of `payload`, as CEL would: the first key names a
/// variable (a key of the payload, or `self`), each next one a map key.
fn follow(payload: &Value, keys: &[String]) -> Result<Value, String> {
    let (first, rest) = keys.split_first().ok_or("an empty path")?;
    let mut at = match first.as_str() {
        "self" => payload,
        name => payload
            .get(name)
            .ok_or_else(|| format!("the payload has no key `{name}`"))?,
    };
    for (i, key) in rest.iter().enumerate() {
        let walked = keys[..=i].join(".");
        at = match at {
            Value::Map(map) => map
                .get(key.as_str())
                .ok_or_else(|| format!("`{walked}` has no key `{key}`"))?,
            other => {
                return Err(format!(
                    "`{walked}` is {} {}, not a map",
                    article(other),
                    other.type_name()
                ));
            }
        };
    }
    Ok(at.clone())
}

/// A compiled `params`, for one statement.
pub struct Plan {
    /// Evaluated first: its result is the source, instead of the payload.
    all: Option<Expression>,
    /// Each parameter's label (`:name`, `$n`) and where its value comes from.
    params: Vec<(String, Getter)>,
}

fn expression(path: &str, source: &str) -> Result<Expression, FieldError> {
    Expression::compile(source)
        .map_err(|e| FieldError::new(path, format!("expression does not compile: {e}")))
}

impl Plan {
    /// The plan for a statement with `placeholders`; errors name their
    /// field under `params`. A named parameter missing from `params` is
    /// not an error (it comes from the payload); unused names are checked
    /// across all of a spec's statements by [`unused`]. `params` of the
    /// other style than the query's, or a list of another length, is a
    /// warning (a schema cannot compare them with the query's text): what
    /// does not fit is left out, and what is missing comes from the payload.
    pub fn compile(
        params: Option<&Params>,
        placeholders: &Placeholders,
        warnings: &mut Vec<FieldError>,
    ) -> Result<Plan, Vec<FieldError>> {
        let from_source = || -> Vec<(String, Getter)> {
            match placeholders {
                Placeholders::None => Vec::new(),
                Placeholders::Named(names) => names
                    .iter()
                    .map(|n| (format!(":{n}"), Getter::Key(n.clone())))
                    .collect(),
                Placeholders::Positional(count) => (0..*count)
                    .map(|i| (format!("${}", i + 1), Getter::Index(i)))
                    .collect(),
            }
        };
        match params {
            None => Ok(Plan {
                all: None,
                params: from_source(),
            }),
            Some(Params::All(source)) => Ok(Plan {
                all: Some(expression("params", source).map_err(|e| vec![e])?),
                params: from_source(),
            }),
            Some(Params::Named(map)) => {
                let Placeholders::Named(names) = placeholders else {
                    warnings.push(FieldError::warning(
                        "params",
                        "a map of expressions binds `:name` parameters, but the query has none: it is left out",
                    ));
                    return Plan::compile(None, placeholders, warnings);
                };
                let mut errors = Vec::new();
                let mut params = Vec::new();
                for name in names {
                    let getter = match map.get(name) {
                        None => Getter::Key(name.clone()),
                        Some(source) => match getter(&format!("params.{name}"), source) {
                            Ok(getter) => getter,
                            Err(e) => {
                                errors.push(e);
                                continue;
                            }
                        },
                    };
                    params.push((format!(":{name}"), getter));
                }
                match errors.is_empty() {
                    true => Ok(Plan { all: None, params }),
                    false => Err(errors),
                }
            }
            Some(Params::Positional(list)) => {
                let count = match placeholders {
                    Placeholders::Positional(count) => *count,
                    _ => {
                        warnings.push(FieldError::warning(
                            "params",
                            "a list of expressions binds `$1`, `$2`, … but the query has none: it is left out",
                        ));
                        return Plan::compile(None, placeholders, warnings);
                    }
                };
                if count != list.len() {
                    let rest = match count > list.len() {
                        true => "the rest come from the payload's items",
                        false => "the extra ones are left out",
                    };
                    warnings.push(FieldError::warning(
                        "params",
                        format!(
                            "the query has {count} parameters ($1…${count}) but `params` lists {}: {rest}",
                            list.len()
                        ),
                    ));
                }
                let mut errors = Vec::new();
                let mut params = Vec::new();
                for i in 0..count {
                    let label = format!("${}", i + 1);
                    match list.get(i).map(|s| getter(&format!("params[{i}]"), s)) {
                        None => params.push((label, Getter::Index(i))),
                        Some(Ok(getter)) => params.push((label, getter)),
                        Some(Err(e)) => errors.push(e),
                    }
                }
                match errors.is_empty() {
                    true => Ok(Plan { all: None, params }),
                    false => Err(errors),
                }
            }
        }
    }

    /// The values to bind for `payload`, in parameter order. A failure
    /// names the parameter and says what was missing or wrong.
    pub fn bind(&self, payload: &Value) -> Result<Vec<Bound>, (String, String)> {
        let computed;
        let (source, from) = match &self.all {
            None => (payload, "the payload"),
            Some(all) => {
                computed = all.eval(payload).map_err(|e| {
                    let label = self
                        .params
                        .first()
                        .map_or(String::new(), |(l, _)| l.clone());
                    (label, format!("`{}` failed: {e}", all.source()))
                })?;
                (&computed, "`params`")
            }
        };
        let count = self.params.len();
        self.params
            .iter()
            .map(|(label, getter)| {
                let value = match getter {
                    Getter::Path(keys) => follow(payload, keys),
                    Getter::Expression(e) => e
                        .eval(payload)
                        .map_err(|error| format!("`{}` failed: {error}", e.source())),
                    Getter::Key(key) => match source {
                        Value::Map(map) => map
                            .get(key.as_str())
                            .cloned()
                            .ok_or_else(|| format!("{from} has no key `{key}`")),
                        other => Err(format!(
                            "named parameters are read from {from}'s keys, but it is {} {}",
                            article(other),
                            other.type_name()
                        )),
                    },
                    Getter::Index(i) => match source {
                        Value::List(items) => items.get(*i).cloned().ok_or_else(|| {
                            format!("{from} is a list of {} items, not {count}", items.len())
                        }),
                        // One parameter may be given as the value itself.
                        scalar if count == 1 && scalar.as_map().is_none() => Ok(scalar.clone()),
                        other => Err(format!(
                            "numbered parameters are read from {from}'s items, but it is {} {}",
                            article(other),
                            other.type_name()
                        )),
                    },
                };
                match value {
                    Ok(Value::Error(e)) => {
                        Err((label.clone(), format!("is an error: {}", e.message)))
                    }
                    Ok(value) if holds_nul(&value) => Err((label.clone(), NUL.to_string())),
                    Ok(value) => Ok(Bound {
                        label: label.clone(),
                        value,
                    }),
                    Err(message) => Err((label.clone(), message)),
                }
            })
            .collect()
    }
}

/// Why text holding NUL is refused. PostgreSQL cannot store it in text
/// (nor in `jsonb`), while SQLite would: refusing it on both backends alike
/// keeps a workflow's answers the same whichever database it runs on.
const NUL: &str = "holds a NUL character (U+0000), which text in a database cannot hold";

/// Whether any text in `value` (keys included) holds NUL.
fn holds_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::List(items) => items.iter().any(holds_nul),
        Value::Map(map) => map.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

fn article(value: &Value) -> &'static str {
    match value {
        Value::Int(_) | Value::Error(_) => "an",
        _ => "a",
    }
}

/// Names in a `params` map that no statement of the spec uses.
pub fn unused(params: Option<&Params>, statements: &[&Placeholders]) -> Vec<FieldError> {
    let Some(Params::Named(map)) = params else {
        return Vec::new();
    };
    // A statement without `:name` parameters is reported by `Plan::compile`.
    if !statements
        .iter()
        .any(|p| matches!(p, Placeholders::Named(_)))
    {
        return Vec::new();
    }
    map.keys()
        .filter(|key| {
            !statements.iter().any(|p| match p {
                Placeholders::Named(names) => names.contains(key),
                _ => false,
            })
        })
        .map(|key| {
            FieldError::warning(
                format!("params.{key}"),
                format!("the query has no `:{key}`: it is left out"),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(params: &str, names: &[&str]) -> Plan {
        let params: Params = serde_json::from_str(params).unwrap();
        let names = Placeholders::Named(names.iter().map(|n| n.to_string()).collect());
        Plan::compile(Some(&params), &names, &mut Vec::new()).unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn request() -> Value {
        weir_codecs::json::from_str(
            r#"{"params": {"id": "7"}, "body": {"name": "n", "tags": ["a"]}, "n": 2}"#,
        )
        .unwrap()
    }

    #[test]
    fn paths_and_expressions_read_the_payload() {
        assert_eq!(
            path(" body.name "),
            Some(vec!["body".into(), "name".into()])
        );
        assert_eq!(path("has(body.x)"), None);
        assert_eq!(path("true"), None);
        assert_eq!(path("a..b"), None);
        let plan = plan(
            r#"{"id": "params.id", "name": "self.body.name", "twice": "n * 2", "n": "n"}"#,
            &["id", "name", "twice", "n", "body"],
        );
        let bound = plan.bind(&request()).unwrap();
        let values: Vec<(&str, &Value)> =
            bound.iter().map(|b| (b.label.as_str(), &b.value)).collect();
        assert_eq!(values[0], (":id", &Value::string("7")));
        assert_eq!(values[1], (":name", &Value::string("n")));
        assert_eq!(values[2], (":twice", &Value::Int(4)));
        assert_eq!(values[3], (":n", &Value::Int(2)));
        assert_eq!(values[4].0, ":body", "unlisted: the payload's key");
    }

    #[test]
    fn missing_values_name_what_is_missing() {
        let missing = |source: &str| {
            let plan = plan(&format!(r#"{{"x": "{source}"}}"#), &["x"]);
            plan.bind(&request()).unwrap_err()
        };
        assert_eq!(
            missing("body.nope"),
            (":x".into(), "`body` has no key `nope`".into())
        );
        assert_eq!(
            missing("nope.x"),
            (":x".into(), "the payload has no key `nope`".into())
        );
        assert_eq!(
            missing("body.tags.x"),
            (":x".into(), "`body.tags` is a list, not a map".into())
        );
        assert!(
            missing("body.nope + 1")
                .1
                .starts_with("`body.nope + 1` failed")
        );
        let unlisted = Plan::compile(
            None,
            &Placeholders::Named(vec!["who".into()]),
            &mut Vec::new(),
        )
        .unwrap();
        assert_eq!(
            unlisted.bind(&Value::Int(1)).unwrap_err().1,
            "named parameters are read from the payload's keys, but it is an int"
        );
        let positional =
            Plan::compile(None, &Placeholders::Positional(2), &mut Vec::new()).unwrap();
        assert_eq!(
            positional.bind(&Value::list([Value::Int(1)])).unwrap_err(),
            (
                "$2".into(),
                "the payload is a list of 1 items, not 2".into()
            )
        );
        let one = Plan::compile(None, &Placeholders::Positional(1), &mut Vec::new()).unwrap();
        assert_eq!(one.bind(&Value::Int(5)).unwrap()[0].value, Value::Int(5));
    }
}
