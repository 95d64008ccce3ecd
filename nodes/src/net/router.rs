//! `router`: sends a request to the port of the first route that matches
//! its method and path, with the path's `:param` and `*rest` segments in
//! `params`.
//!
//! An unknown path answers 404; a known path with another method answers
//! 405 with `Allow`. A path is known by its most specific patterns (a
//! literal segment before a `:param`, a `:param` before a `*rest`), so
//! `PUT /v1/specs/apply` with only `POST /v1/specs/apply` and
//! `PUT /v1/specs/:id` routed is a 405, not an update of the id `apply`. Each version of a router holds its own immutable route
//! table, so a hot swap replaces the whole table at once.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;
use weir_codecs::{ErrorValue, Value};
use weir_engine::runtime::BoxFuture;
use weir_engine::scheme::Context;
use weir_engine::{Activate, shared};
use weir_engine::{Call, FieldError, Kind, Node, Packet, Port, PortPattern, Ports};

use super::message::{Plus, percent_decode};

/// The fields of a `router` spec.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouterSpec {
    /// Routes tried in order.
    pub routes: Vec<Route>,
}

/// One route.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// `GET`, `POST`, … or `*` for any.
    #[schemars(regex(pattern = r"^([A-Za-z]+|\*)$"))]
    pub method: String,
    /// `/items/:id` or `/files/*rest`: `:name` matches one segment, `*name`
    /// (last only) the rest of the path.
    #[schemars(regex(
        pattern = r"^((/([^/:*][^/]*)?|/:[A-Za-z_][A-Za-z0-9_]*)+(/\*[A-Za-z_][A-Za-z0-9_]*)?|/\*[A-Za-z_][A-Za-z0-9_]*)$"
    ))]
    pub path: String,
    /// The out-port to write the request to, e.g. `out[0]`.
    #[schemars(regex(pattern = weir_engine::port::Port::PATTERN))]
    pub port: String,
}

pub(super) struct Router;

impl Kind for Router {
    type Spec = RouterSpec;

    fn name(&self) -> &'static str {
        "router"
    }

    fn summary(&self) -> &'static str {
        "Routes a request by method and path (`:param`, `*rest`) to a port; 404 for unknown paths, 405 with `Allow` for other methods."
    }

    fn ports(&self, spec: &RouterSpec) -> Ports {
        Ports::new()
            .input(PortPattern::Exact(Port::input()))
            .outputs_named(spec.routes.iter().map(|route| route.port.as_str()))
    }

    fn compile(
        &self,
        spec: RouterSpec,
        _: &Context<'_>,
    ) -> Result<Arc<dyn Activate>, Vec<FieldError>> {
        let mut routes = Vec::new();
        let mut errors = Vec::new();
        for (i, route) in spec.routes.into_iter().enumerate() {
            let path = Pattern::parse(&route.path)
                .map_err(|e| FieldError::new(format!("routes[{i}].path"), e));
            let port = Port::parse(&route.port)
                .map_err(|e| FieldError::new(format!("routes[{i}].port"), e.to_string()));
            let method = route.method.to_ascii_uppercase();
            if method != "*"
                && (method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()))
            {
                errors.push(FieldError::new(
                    format!("routes[{i}].method"),
                    format!("`{}` is not an HTTP method", route.method),
                ));
            }
            match (path, port) {
                (Ok(path), Ok(port)) => routes.push(Compiled {
                    method,
                    rank: path.rank(),
                    path,
                    port,
                }),
                (path, port) => errors.extend(path.err().into_iter().chain(port.err())),
            }
        }
        match errors.is_empty() {
            true => Ok(shared(RouterNode { routes })),
            false => Err(errors),
        }
    }
}

struct Compiled {
    method: String,
    path: Pattern,
    /// `path.rank()`, kept.
    rank: Vec<u8>,
    port: Port,
}

/// A parsed route path.
#[derive(Debug)]
struct Pattern(Vec<Segment>);

#[derive(Debug)]
enum Segment {
    Literal(String),
    Param(String),
    Rest(String),
}

impl Pattern {
    fn parse(path: &str) -> Result<Pattern, String> {
        let Some(rest) = path.strip_prefix('/') else {
            return Err(format!("`{path}` must start with `/`"));
        };
        let parts: Vec<&str> = if rest.is_empty() {
            Vec::new()
        } else {
            rest.split('/').collect()
        };
        let mut segments = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            let segment = match (part.strip_prefix(':'), part.strip_prefix('*')) {
                (Some(name), _) => Segment::Param(identifier(name, path)?),
                (_, Some(name)) if i + 1 == parts.len() => Segment::Rest(identifier(name, path)?),
                (_, Some(_)) => return Err(format!("`{path}`: a `*rest` segment must come last")),
                _ => Segment::Literal((*part).to_string()),
            };
            segments.push(segment);
        }
        Ok(Pattern(segments))
    }

    /// How specific the pattern is, segment by segment: patterns that match
    /// the same path compare by this, the greatest winning.
    fn rank(&self) -> Vec<u8> {
        self.0
            .iter()
            .map(|segment| match segment {
                Segment::Literal(_) => 2,
                Segment::Param(_) => 1,
                Segment::Rest(_) => 0,
            })
            .collect()
    }

    /// The params if `path` matches.
    fn matches(&self, path: &str) -> Option<Vec<(String, Value)>> {
        let rest = path.strip_prefix('/')?;
        let parts: Vec<&str> = if rest.is_empty() {
            Vec::new()
        } else {
            rest.split('/').collect()
        };
        let mut params = Vec::new();
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Literal(text) => (parts.get(i)? == text).then_some(())?,
                Segment::Param(name) => {
                    let part = parts.get(i).filter(|p| !p.is_empty())?;
                    params.push((
                        name.clone(),
                        Value::string(percent_decode(part, Plus::Literal)),
                    ));
                }
                Segment::Rest(name) => {
                    let tail = parts.get(i..).unwrap_or_default().join("/");
                    params.push((
                        name.clone(),
                        Value::string(percent_decode(&tail, Plus::Literal)),
                    ));
                    return Some(params);
                }
            }
        }
        (parts.len() == self.0.len()).then_some(params)
    }
}

fn identifier(name: &str, path: &str) -> Result<String, String> {
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    match valid {
        true => Ok(name.to_string()),
        false => Err(format!("`{path}`: `{name}` is not a parameter name")),
    }
}

struct RouterNode {
    routes: Vec<Compiled>,
}

impl Node for RouterNode {
    fn call<'a>(
        &'a self,
        call: &'a Call,
        input: Packet,
    ) -> BoxFuture<'a, Result<Packet, ErrorValue>> {
        Box::pin(async move {
            let request = input.payload();
            let method = request.get("method").and_then(Value::as_str).unwrap_or("");
            let path = request.get("path").and_then(Value::as_str).unwrap_or("");
            Ok(match self.choose(method, path) {
                Choice::Route(route, params) => {
                    // The listener sends an empty `params`: only add found ones.
                    let routed = match params.is_empty() {
                        true => input,
                        false => Packet::new(with_params(request, params)),
                    };
                    call.write(&route.port, routed).await
                }
                Choice::NotFound => {
                    Packet::new(refusal(404, &format!("no route for {path}"), None))
                }
                Choice::NotAllowed(allow) => Packet::new(refusal(
                    405,
                    &format!("{method} is not allowed on {path}"),
                    Some(allow),
                )),
            })
        })
    }
}

/// Where a request goes.
enum Choice<'a> {
    /// This route, with the path's params.
    Route(&'a Compiled, Vec<(String, Value)>),
    /// No route knows the path.
    NotFound,
    /// Routes know the path, for these methods only (`Allow`).
    NotAllowed(String),
}

impl RouterNode {
    /// The first route for `method` among the most specific that match
    /// `path`.
    fn choose(&self, method: &str, path: &str) -> Choice<'_> {
        let matching: Vec<_> = self
            .routes
            .iter()
            .filter_map(|route| Some((route, route.path.matches(path)?)))
            .collect();
        let Some(best) = matching.iter().map(|(route, _)| &route.rank).max().cloned() else {
            return Choice::NotFound;
        };
        let mut allowed: Vec<&str> = Vec::new();
        for (route, params) in matching {
            if route.rank != best {
                continue;
            }
            if route.method != "*" && route.method != method {
                allowed.push(&route.method);
                continue;
            }
            return Choice::Route(route, params);
        }
        allowed.sort();
        allowed.dedup();
        Choice::NotAllowed(allowed.join(", "))
    }
}

fn with_params(request: &Value, params: Vec<(String, Value)>) -> Value {
    let mut map = request.as_map().cloned().unwrap_or_default();
    map.insert("params".into(), Value::map(params));
    Value::Map(Arc::new(map))
}

/// A 404 or 405 response, with `Allow` for a 405.
fn refusal(status: i64, message: &str, allow: Option<String>) -> Value {
    let code = if status == 404 {
        "not_found"
    } else {
        "method_not_allowed"
    };
    let body = Value::map([(
        "error",
        Value::map([
            ("message", Value::string(message)),
            ("code", Value::string(code)),
        ]),
    )]);
    let mut response = vec![("status", Value::Int(status)), ("body", body)];
    if let Some(allow) = allow {
        response.push(("header", Value::map([("allow", Value::string(allow))])));
    }
    Value::map(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pattern: &str, path: &str) -> Option<Vec<(String, String)>> {
        let found = Pattern::parse(pattern).unwrap().matches(path)?;
        Some(
            found
                .into_iter()
                .map(|(k, v)| (k, v.as_str().unwrap().to_string()))
                .collect(),
        )
    }

    #[test]
    fn patterns_match_literals_params_and_rest() {
        assert_eq!(params("/ping", "/ping"), Some(vec![]));
        assert_eq!(params("/ping", "/pong"), None);
        assert_eq!(params("/", "/"), Some(vec![]));
        assert_eq!(
            params("/items/:id", "/items/a%20b"),
            Some(vec![("id".into(), "a b".into())])
        );
        assert_eq!(params("/items/:id", "/items/"), None);
        assert_eq!(params("/items/:id", "/items/1/more"), None);
        assert_eq!(
            params("/files/*rest", "/files/a/b.txt"),
            Some(vec![("rest".into(), "a/b.txt".into())])
        );
        assert_eq!(
            params("/files/*rest", "/files"),
            Some(vec![("rest".into(), String::new())])
        );
    }

    #[test]
    fn the_most_specific_patterns_own_a_path() {
        let route = |method: &str, path: &str| Compiled {
            method: method.to_string(),
            rank: Pattern::parse(path).unwrap().rank(),
            path: Pattern::parse(path).unwrap(),
            port: Port::output(),
        };
        let router = RouterNode {
            routes: vec![
                route("GET", "/v1/specs/:id"),
                route("PUT", "/v1/specs/:id"),
                route("POST", "/v1/specs/apply"),
                route("GET", "/v1/*rest"),
            ],
        };
        let chosen = |method, path| match router.choose(method, path) {
            Choice::Route(route, _) => format!("{} {:?}", route.method, route.rank),
            Choice::NotFound => "404".to_string(),
            Choice::NotAllowed(allow) => format!("405 {allow}"),
        };
        assert_eq!(chosen("PUT", "/v1/specs/apply"), "405 POST");
        assert_eq!(chosen("POST", "/v1/specs/apply"), "POST [2, 2, 2]");
        assert_eq!(chosen("PUT", "/v1/specs/x"), "PUT [2, 2, 1]");
        assert_eq!(chosen("DELETE", "/v1/specs/x"), "405 GET, PUT");
        assert_eq!(chosen("GET", "/v1/other"), "GET [2, 0]");
        assert_eq!(chosen("GET", "/v2"), "404");
    }

    #[test]
    fn bad_patterns_are_refused() {
        assert!(
            Pattern::parse("ping")
                .unwrap_err()
                .contains("must start with `/`")
        );
        assert!(
            Pattern::parse("/*rest/x")
                .unwrap_err()
                .contains("must come last")
        );
        assert!(
            Pattern::parse("/:1d")
                .unwrap_err()
                .contains("not a parameter name")
        );
    }
}
