//! Reading the request a router passes to a system node, and answering it.
//!
//! The payload is the listener's `{method, path, query, header, params,
//! body}` ([`crate::net::message`]). This module turns its parts into what
//! the store takes (an id, a filter, an expected revision, documents) and
//! store results and failures into answers, every refusal with a status, a
//! stable code and what was wrong. It touches no store itself.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use weir_codecs::{ErrorValue, Value};
use weir_engine::Diagnostics;
use weir_engine::admission::Refused;
use weir_engine::store::{Filter, StoreError};

/// The request payload a router passed on.
pub(super) struct Request<'a>(pub &'a Value);

impl<'a> Request<'a> {
    fn part(&self, name: &str) -> Option<&'a Value> {
        self.0.get(name)
    }

    /// A request header (names are lower case).
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.part("header")?.get(name)?.as_str()
    }

    /// The `:id` segment of the route, as a UUID.
    pub fn id(&self) -> Result<Uuid, ErrorValue> {
        let id = self
            .part("params")
            .and_then(|p| p.get("id"))
            .and_then(Value::as_str)
            .ok_or_else(|| bad_request("the route gives no `:id`"))?;
        Uuid::parse_str(id).map_err(|_| bad_request(format!("`{id}` is not an id (a UUID)")))
    }

    /// The query parameters, each checked against `allowed`: an unknown
    /// one is refused rather than ignored, so a misspelt filter never
    /// silently lists everything.
    pub fn query(&self, allowed: &[&str]) -> Result<Vec<(&'a str, &'a str)>, ErrorValue> {
        let Some(query) = self.part("query").and_then(Value::as_map) else {
            return Ok(Vec::new());
        };
        let mut found = Vec::new();
        for (name, value) in query.iter() {
            if !allowed.contains(&name.as_ref()) {
                return Err(bad_request(format!(
                    "unknown query parameter `{name}` (known: {})",
                    allowed.join(", ")
                )));
            }
            found.push((name.as_ref(), value.as_str().unwrap_or("")));
        }
        Ok(found)
    }

    /// The filter the query gives: `namespace`, `name`, `id`, and `kind`
    /// when `kinds` is true; other parameters in `also` are let through
    /// for the caller.
    pub fn filter(&self, kinds: bool, also: &[&str]) -> Result<Filter, ErrorValue> {
        let mut allowed = vec!["namespace", "name", "id"];
        if kinds {
            allowed.push("kind");
        }
        allowed.extend_from_slice(also);
        let mut filter = Filter::default();
        for (name, value) in self.query(&allowed)? {
            let text = Some(value.to_string());
            match name {
                "namespace" => filter.namespace = text,
                "name" => filter.name = text,
                "kind" => filter.kind = text,
                "id" => {
                    filter.id =
                        Some(Uuid::parse_str(value).map_err(|_| {
                            bad_request(format!("query `id`: `{value}` is not a UUID"))
                        })?)
                }
                _ => {}
            }
        }
        Ok(filter)
    }

    /// A request header, an empty one (or only spaces) read as absent, as
    /// the OpenAPI document allows any string.
    pub fn given_header(&self, name: &str) -> Option<&'a str> {
        self.header(name).filter(|h| !h.trim().is_empty())
    }

    /// The revision `If-Match` expects: `"3"`, `W/"3"` or `3` (exactly
    /// [`IF_MATCH_PATTERN`]); `*`, an empty header or none expects none.
    pub fn if_match(&self) -> Result<Option<i64>, ErrorValue> {
        let Some(header) = self.given_header("if-match") else {
            return Ok(None);
        };
        let tag = header.trim_matches([' ', '\t']);
        if tag == "*" {
            return Ok(None);
        }
        let weak = tag.strip_prefix("W/");
        let quoted = weak
            .unwrap_or(tag)
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'));
        let bare = match (weak, quoted) {
            (_, Some(bare)) => bare,
            (None, None) => tag,
            (Some(_), None) => "",
        };
        sequence(bare).map(Some).ok_or_else(|| {
            bad_request("If-Match must be a revision, such as \"3\" (the ETag answered)")
                .with_code("bad_if_match")
        })
    }

    /// The body as JSON: a JSON body as sent, a YAML body
    /// (`application/yaml`, `text/yaml`) parsed. An empty body is refused.
    pub fn documents(&self) -> Result<serde_json::Value, ErrorValue> {
        let yaml = |text: &str| {
            weir_codecs::yaml::from_str(text)
                .map(|v| weir_codecs::json::to_json(&v))
                .map_err(|e| bad_request(format!("request body is not valid YAML: {e}")))
        };
        let body = self.part("body").unwrap_or(&Value::Null);
        let content_type = self
            .header("content-type")
            .unwrap_or("")
            .to_ascii_lowercase();
        let is_yaml = content_type.contains("yaml");
        match body {
            Value::Null => Err(bad_request(
                "the request needs a body (JSON, or YAML with `Content-Type: application/yaml`)",
            )),
            Value::Bytes(bytes) if is_yaml => match std::str::from_utf8(bytes) {
                Ok(text) => yaml(text),
                Err(_) => Err(bad_request("request body is not valid UTF-8")),
            },
            Value::String(text) if is_yaml => yaml(text),
            Value::Map(_) | Value::List(_) => Ok(weir_codecs::json::to_json(body)),
            _ if content_type.contains("json") => Err(bad_request(format!(
                "the body must be a JSON object or list, not {}",
                body.type_name()
            ))),
            _ => Err(bad_request(
                "the body must be JSON (`Content-Type: application/json`) or YAML (`application/yaml`)",
            )
            .with_status(415)
            .with_code("unsupported_media_type")),
        }
    }
}

/// What `If-Match` may hold: nothing, `*`, or one revision (`3`, `"3"`,
/// `W/"3"`), with spaces or tabs around.
pub const IF_MATCH_PATTERN: &str = r#"^[ \t]*(\*|(W/)?"[0-9]{1,18}"|[0-9]{1,18})?[ \t]*$"#;

/// What a change position may hold (`Last-Event-ID`): nothing, or a
/// sequence number, with spaces or tabs around.
pub const POSITION_PATTERN: &str = r"^[ \t]*([0-9]{1,18})?[ \t]*$";

/// A revision or sequence number: 1 to 18 ASCII digits (so it always fits).
pub fn sequence(text: &str) -> Option<i64> {
    let digits = (1..=18).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| text.parse().ok()).flatten()
}

/// A boolean query flag: `true` or `false` (absent is false).
pub fn flag(query: &[(&str, &str)], name: &str) -> Result<bool, ErrorValue> {
    match query.iter().find(|(n, _)| *n == name).map(|(_, v)| *v) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(bad_request(format!(
            "query parameter `{name}` must be `true` or `false`, not `{other}`"
        ))),
    }
}

/// A refused request: 400, code `bad_request`.
pub(super) fn bad_request(message: impl Into<String>) -> ErrorValue {
    ErrorValue::new(message)
        .with_code("bad_request")
        .with_status(400)
}

/// One problem of an invalid document, as the API answers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Problem {
    /// The document's position in the request (0 for a single document,
    /// else its position in the list or `items`).
    pub index: usize,
    /// The document's name, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The document's kind, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The field, e.g. `ports.out[0].name`; empty for the whole document.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    /// Each of `diagnostics`, as the API answers it.
    pub fn all(diagnostics: &Diagnostics) -> Vec<Problem> {
        diagnostics
            .0
            .iter()
            .map(|d| Problem {
                index: d.origin.index,
                name: d.origin.name.clone(),
                kind: d.origin.kind.clone(),
                path: d.error.path.clone(),
                message: d.error.message.clone(),
            })
            .collect()
    }
}

/// A write's answer: what was stored (or, in a dry run, what would be),
/// and what admitting it warned of (stored, but it may not work as
/// written; the node says so again when it loads).
#[derive(Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "{T}Admitted")]
pub struct Admitted<T> {
    #[serde(flatten)]
    pub stored: T,
    /// Warnings, each like a refusal's problem; absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Problem>,
}

impl<T> Admitted<T> {
    pub fn new(stored: T, warnings: &Diagnostics) -> Admitted<T> {
        Admitted {
            stored,
            warnings: Problem::all(warnings),
        }
    }
}

/// The details of a `would_deactivate` refusal.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct Deactivated {
    /// Each spec the write would take down, as `namespace/name`.
    pub deactivated: Vec<String>,
}

/// Every problem of invalid documents: 400, code `invalid`, the problems
/// as details, the first one in the message; 409 `unresolved` when each
/// problem is a reference to something not stored.
pub(super) fn invalid(diagnostics: &Diagnostics) -> ErrorValue {
    let problems = Problem::all(diagnostics);
    let count = problems.len();
    let first = diagnostics
        .0
        .first()
        .map(ToString::to_string)
        .unwrap_or_default();

    let details = serde_json::to_value(&problems).unwrap_or(serde_json::Value::Null);
    // Documents whose only fault is naming what the namespace does not hold
    // (yet) conflict with its state; they are not malformed.
    let (status, code) = match diagnostics.all_unresolved() {
        true => (409, "unresolved"),
        false => (400, "invalid"),
    };
    let message = match count {
        1 => format!("{code}: {first}"),
        n => format!("{n} problems, the first: {first}"),
    };
    ErrorValue::new(message)
        .with_code(code)
        .with_status(status)
        .with_details(weir_codecs::json::from_json(details))
}

/// A store failure as an answer. Database failures say no more than that
/// (the engine's log has the cause).
pub(super) fn store_error(error: StoreError) -> ErrorValue {
    let message = error.to_string();
    let (status, code) = match &error {
        StoreError::Conflict { .. } => (409, "conflict"),
        StoreError::Exists { .. } => (409, "exists"),
        StoreError::NotFound { .. } => (404, "not_found"),
        StoreError::Invalid { .. } => (400, "invalid"),
        // A well-formed position the stream has not reached: it conflicts
        // with the stream's state, not with the request's shape.
        StoreError::Ahead { .. } => (409, "ahead"),
        StoreError::Pruned { .. } => (410, "gone"),
        StoreError::WouldDeactivate { specs } => {
            let details = json(&Deactivated {
                deactivated: specs.clone(),
            });
            return ErrorValue::new(message)
                .with_code("would_deactivate")
                .with_status(409)
                .with_details(details);
        }
        StoreError::Database(_) | StoreError::UnsupportedUrl => {
            tracing::warn!(%error, "system API: the store failed");
            return ErrorValue::new("the database failed; the engine's log says why")
                .with_code("database")
                .with_status(503);
        }
    };
    ErrorValue::new(message).with_code(code).with_status(status)
}

/// A refusal from admission as an answer.
pub(super) fn refused(refusal: Refused) -> ErrorValue {
    match refusal {
        Refused::Invalid(diagnostics) => invalid(&diagnostics),
        Refused::Store(error) => store_error(error),
    }
}

/// A response: `status`, headers, a JSON body.
pub(super) fn answer(status: i64, headers: &[(&str, String)], body: Value) -> Value {
    let mut response = vec![("status", Value::Int(status)), ("body", body)];
    if !headers.is_empty() {
        let header = Value::map(
            headers
                .iter()
                .map(|(name, value)| (*name, Value::string(value.as_str()))),
        );
        response.push(("header", header));
    }
    Value::map(response)
}

/// Any serialisable answer body as a value.
pub(super) fn json<T: Serialize>(body: &T) -> Value {
    serde_json::to_value(body)
        .map(weir_codecs::json::from_json)
        .unwrap_or(Value::Null)
}
