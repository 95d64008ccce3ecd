//! `auth`: lets a request through to `out` only with a bearer token that
//! allows it.
//!
//! Each token has a scope: `read` allows `GET`, `HEAD` and `OPTIONS`;
//! `write` allows every method. No token, or one no entry knows, answers
//! 401 with `WWW-Authenticate: Bearer`; a read token on a write answers
//! 403. Tokens come from the spec (bound from the env or stored secrets) or
//! from files read when the node loads. Presented tokens are compared with
//! every known token in constant time, and no token, presented or known,
//! ever appears in an answer, a log line or an error.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;
use weir_codecs::{ErrorValue, Value};
use weir_engine::Activate;
use weir_engine::runtime::{BoxFuture, Outputs};
use weir_engine::scheme::Context;
use weir_engine::{Call, FieldError, Kind, Node, Packet, Port, PortPattern, Ports};

/// The fields of an `auth` spec.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(example = serde_json::json!({"tokens": [{"file": "/run/secrets/weir-token", "scope": "write"}]}))]
pub struct AuthSpec {
    /// The tokens accepted. An entry whose `token` or `file` is empty is
    /// left out, so an unset environment variable disables its entry.
    pub tokens: Vec<TokenSpec>,
    /// The realm named in `WWW-Authenticate`: non-empty, without quotes,
    /// backslashes or control characters.
    #[serde(default = "default_realm")]
    #[schemars(regex(pattern = r#"^[^"\\\u0000-\u001f\u007f-\u009f]+$"#))]
    pub realm: String,
}

/// One accepted token: give `token` or `file`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [
    {"required": ["token"], "properties": {"token": {"type": "string"}}},
    {"required": ["file"], "properties": {"file": {"type": "string"}}}
]))]
pub struct TokenSpec {
    /// The token itself, usually bound from the env: `"{{ TOKEN }}"`.
    #[serde(default)]
    pub token: Option<String>,
    /// A file holding the token (surrounding whitespace ignored), read when
    /// the node loads.
    #[serde(default)]
    pub file: Option<String>,
    /// What the token allows.
    pub scope: Scope,
}

/// What a token allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// `GET`, `HEAD` and `OPTIONS` only.
    Read,
    /// Every method.
    Write,
}

fn default_realm() -> String {
    "weir".into()
}

pub(super) struct Auth;

impl Kind for Auth {
    type Spec = AuthSpec;

    fn name(&self) -> &'static str {
        "auth"
    }

    fn summary(&self) -> &'static str {
        "Lets a request through to `out` only with a bearer token whose scope (`read`: GET/HEAD, `write`: all) allows its method; 401 or 403 otherwise."
    }

    fn ports(&self, _: &AuthSpec) -> Ports {
        Ports::new()
            .input(PortPattern::Exact(Port::input()))
            .output(PortPattern::Exact(Port::output()))
    }

    fn compile(
        &self,
        spec: AuthSpec,
        cx: &Context<'_>,
    ) -> Result<Arc<dyn Activate>, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut sources = Vec::new();
        for (i, entry) in spec.tokens.into_iter().enumerate() {
            let path = format!("tokens[{i}]");
            match (entry.token, entry.file) {
                (Some(_), Some(_)) | (None, None) => {
                    errors.push(FieldError::new(path, "give either `token` or `file`"))
                }
                (Some(token), None) if token.trim().is_empty() => {}
                (Some(token), None) => sources.push((Source::Inline(token), entry.scope)),
                (None, Some(file)) if file.trim().is_empty() => {}
                (None, Some(file)) => sources.push((Source::File(file), entry.scope)),
            }
        }
        if spec.realm.is_empty()
            || spec.realm.contains(['"', '\\'])
            || spec.realm.contains(char::is_control)
        {
            errors.push(FieldError::new(
                "realm",
                "must be non-empty text without quotes or backslashes",
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Arc::new(AuthActivate {
            name: cx.name(),
            sources,
            realm: spec.realm,
        }))
    }
}

/// Where a token comes from.
enum Source {
    Inline(String),
    File(String),
}

/// A known token; its `Debug` never shows it.
struct Token {
    secret: Vec<u8>,
    scope: Scope,
}

/// A compiled `auth`: each activation reads its tokens afresh (token
/// files are read then).
struct AuthActivate {
    name: String,
    sources: Vec<(Source, Scope)>,
    realm: String,
}

impl Activate for AuthActivate {
    fn activate<'a>(
        &'a self,
        _: &'a Arc<Outputs>,
    ) -> BoxFuture<'a, Result<Arc<dyn Node>, ErrorValue>> {
        Box::pin(async move {
            let tokens = self.resolve()?;
            tracing::debug!(node = %self.name, "tokens loaded");
            let node: Arc<dyn Node> = Arc::new(AuthNode {
                realm: self.realm.clone(),
                tokens,
            });
            Ok(node)
        })
    }
}

/// One activation of `auth`, with the tokens it read.
struct AuthNode {
    realm: String,
    tokens: Vec<Token>,
}

impl AuthActivate {
    fn resolve(&self) -> Result<Vec<Token>, ErrorValue> {
        let mut tokens = Vec::new();
        for (source, scope) in &self.sources {
            let secret = match source {
                Source::Inline(token) => token.trim().to_string(),
                Source::File(path) => std::fs::read_to_string(path)
                    .map_err(|e| {
                        ErrorValue::new(format!("cannot read the token file {path}: {e}"))
                            .with_code("token_file")
                    })?
                    .trim()
                    .to_string(),
            };
            if secret.is_empty() {
                let which = match source {
                    Source::File(path) => format!("the token file {path} is empty"),
                    Source::Inline(_) => "a token is empty".to_string(),
                };
                return Err(ErrorValue::new(which).with_code("token_file"));
            }
            tokens.push(Token {
                secret: secret.into_bytes(),
                scope: *scope,
            });
        }
        if tokens.is_empty() {
            return Err(
                ErrorValue::new("no token is set: every request would be refused")
                    .with_code("no_token"),
            );
        }
        Ok(tokens)
    }
}

impl AuthNode {
    /// The widest scope among the known tokens equal to `presented`. Every
    /// known token is compared, each in time independent of where it
    /// differs.
    fn scope_of(&self, presented: &[u8]) -> Option<Scope> {
        let mut best = None;
        for token in &self.tokens {
            if constant_time_eq(&token.secret, presented) {
                best = best.max(Some(token.scope));
            }
        }
        best
    }

    fn refuse(&self, status: i64, code: &str, message: &str, challenge: Option<&str>) -> Value {
        let body = Value::map([(
            "error",
            Value::map([
                ("message", Value::string(message)),
                ("code", Value::string(code)),
            ]),
        )]);
        let mut response = vec![("status", Value::Int(status)), ("body", body)];
        if let Some(error) = challenge {
            let mut header = format!("Bearer realm=\"{}\"", self.realm);
            if !error.is_empty() {
                header.push_str(&format!(", error=\"{error}\""));
            }
            response.push((
                "header",
                Value::map([("www-authenticate", Value::string(header))]),
            ));
        }
        Value::map(response)
    }
}

/// Whether `a == b`, in time that depends only on their lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut differ = u8::from(a.len() != b.len());
    for (i, byte) in b.iter().enumerate() {
        // Compare against something of the same length either way, so a
        // wrong length takes as long as a wrong byte.
        let known = a.get(i).copied().unwrap_or(!*byte);
        differ |= known ^ byte;
    }
    std::hint::black_box(differ) == 0
}

/// `Bearer <token>` (scheme case-insensitive), else `None`.
fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

fn needs(method: &str) -> Scope {
    match method {
        "GET" | "HEAD" | "OPTIONS" => Scope::Read,
        _ => Scope::Write,
    }
}

impl Node for AuthNode {
    fn call<'a>(
        &'a self,
        call: &'a Call,
        input: Packet,
    ) -> BoxFuture<'a, Result<Packet, ErrorValue>> {
        Box::pin(async move {
            let request = input.payload();
            let presented = request
                .get("header")
                .and_then(|h| h.get("authorization"))
                .and_then(Value::as_str)
                .and_then(bearer);
            let Some(presented) = presented else {
                return Ok(Packet::new(self.refuse(
                    401,
                    "unauthorized",
                    "this needs `Authorization: Bearer <token>`",
                    Some(""),
                )));
            };
            let Some(scope) = self.scope_of(presented.as_bytes()) else {
                return Ok(Packet::new(self.refuse(
                    401,
                    "unauthorized",
                    "the bearer token is not valid",
                    Some("invalid_token"),
                )));
            };
            let method = request.get("method").and_then(Value::as_str).unwrap_or("");
            if scope < needs(method) {
                return Ok(Packet::new(self.refuse(
                    403,
                    "forbidden",
                    "this token may only read",
                    None,
                )));
            }
            Ok(call.write(&Port::output(), input).await)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_by_content_only() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"secret", b"secre"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(!constant_time_eq(b"x", b""));
    }

    #[test]
    fn bearer_headers_are_parsed() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("abc"), None);
    }
}
