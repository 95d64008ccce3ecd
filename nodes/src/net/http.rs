//! `http`: an HTTP client. Each packet makes one request; the answer is
//! `{status, header, body}`, the body decoded by its content type with the
//! listener's own rules ([`super::message`]).
//!
//! The request's `method`, `url`, `query`, `header` and `body` come from
//! the spec, whose strings may be `{{ }}` templates rendered per packet over
//! `payload` and the env ([`super::templated`]). A spec without `url` takes
//! the request from the payload, `{url, method?, query?, header?, body?}`,
//! for whatever it does not set itself. Every node shares one connection
//! pool ([`client_builder`] makes it). The process's cancellation and deadline, and the
//! node's `timeout_ms`, abort the request in flight.
//!
//! Errors and logs name the node, the method and the URL's origin, never
//! its path or query, a header value or a body: any of them may carry a
//! secret bound from a value. This module owns the client side only; it
//! serves nothing.

use crate::ceiling;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use reqwest::Url;
use schemars::JsonSchema;
use serde::Deserialize;
use weir_codecs::{ErrorValue, Value};
use weir_engine::runtime::BoxFuture;
use weir_engine::scheme::Context;
use weir_engine::{Activate, shared};
use weir_engine::{Call, FieldError, Kind, Node, Packet};

use super::message;
use super::templated::{self, Templated};

/// The fields of an `http` spec.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpSpec {
    /// `GET` (the default), `HEAD`, `POST`, `PUT`, `PATCH`, `DELETE` or
    /// `OPTIONS`; may be a template.
    #[serde(default)]
    #[schemars(extend("enum" = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", null]))]
    pub method: Option<String>,
    /// An `http://` or `https://` URL, e.g.
    /// `"{{ API }}/items/{{ payload.id }}"`. Without it, the payload is the
    /// request: `{url, method?, query?, header?, body?}`.
    #[serde(default)]
    #[schemars(extend("format" = "http-url"), regex(pattern = crate::net::HTTP_URL))]
    pub url: Option<String>,
    /// Query parameters added to the URL, encoded: name → value (a list
    /// repeats the name; null leaves it out). Values may be templates.
    #[serde(default)]
    #[schemars(extend("additionalProperties" = {"anyOf": [
        {"type": ["string", "number", "boolean", "null"]},
        {"type": "array", "items": {"type": ["string", "number", "boolean", "null"]}}
    ]}))]
    pub query: Option<serde_json::Map<String, serde_json::Value>>,
    /// Request headers: name → value (null leaves it out). Values may be
    /// templates, e.g. `authorization: "Bearer {{ TOKEN }}"` with `TOKEN`
    /// bound from a secret value.
    #[serde(default)]
    #[schemars(extend(
        "propertyNames" = {"pattern": "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"},
        // A header value holds no control character but tab.
        "additionalProperties" = {"anyOf": [
            {"type": "string", "pattern": "^[^\\u0000-\\u0008\\u000a-\\u001f\\u007f]*$"},
            {"type": ["number", "boolean", "null"]}
        ]}
    ))]
    pub header: Option<serde_json::Map<String, serde_json::Value>>,
    /// The body: a string is sent as text, bytes as they are, anything else
    /// as JSON (`body: "{{ payload }}"` sends the packet). A `content-type`
    /// header overrides the type chosen.
    #[serde(default)]
    pub body: Option<serde_json::Value>,
    /// Milliseconds the whole exchange may take (connect, send, read the
    /// answer); beyond it the call fails with `timeout` (504).
    #[serde(default = "default_timeout_ms")]
    #[schemars(range(min = 1), transform = crate::ceiling::time_ms)]
    pub timeout_ms: u64,
    /// Largest answer body read, in bytes; a larger one fails the call with
    /// `too_large` (502).
    #[serde(default = "default_body_limit")]
    #[schemars(transform = crate::ceiling::body_bytes)]
    pub body_limit: u64,
    /// Whether a status outside 2xx fails the call (code `status`, with that
    /// status) instead of being answered like any other.
    #[serde(default)]
    pub fail_on_status: bool,
}

fn default_timeout_ms() -> u64 {
    30_000
}

fn default_body_limit() -> u64 {
    10 * 1024 * 1024
}

/// The methods a request may use. `CONNECT` and `TRACE` make no sense for
/// a workflow, and an unknown token is more likely a typo than an extension.
const METHODS: [Method; 7] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::OPTIONS,
];

/// The request fields, in the order they are built.
const PARTS: [&str; 5] = ["method", "url", "query", "header", "body"];

pub(super) struct Http;

impl Kind for Http {
    type Spec = HttpSpec;

    fn name(&self) -> &'static str {
        "http"
    }

    fn summary(&self) -> &'static str {
        "Makes an HTTP request per packet (`method`, `url`, `query`, `header`, `body` from the spec, with `{{ payload }}` templates, or from the payload) and answers `{status, header, body}`."
    }

    fn runtime_templates(&self) -> &'static [&'static str] {
        &PARTS
    }

    fn compile(
        &self,
        spec: HttpSpec,
        cx: &Context<'_>,
    ) -> Result<Arc<dyn Activate>, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut compile = |name: &str, field: Option<serde_json::Value>| {
            let compiled = Templated::compile(name, field?);
            compiled.map_err(|e| errors.extend(e)).ok()
        };
        let request = Request {
            method: compile("method", spec.method.map(serde_json::Value::String)),
            url: compile("url", spec.url.map(serde_json::Value::String)),
            query: compile("query", spec.query.map(serde_json::Value::Object)),
            header: compile("header", spec.header.map(serde_json::Value::Object)),
            body: compile("body", spec.body),
        };
        errors.extend(request.check());
        if spec.timeout_ms == 0 {
            errors.push(FieldError::new("timeout_ms", "must be more than 0"));
        }
        errors.extend(
            [
                ceiling::TIME.check("timeout_ms", spec.timeout_ms),
                ceiling::BODY.check("body_limit", spec.body_limit),
            ]
            .into_iter()
            .flatten(),
        );
        // The loader bound the env already and stopped on any error; this
        // binds it again for the templates rendered per packet.
        let env = weir_engine::env::bind(cx.spec(), cx.values());
        let env = env.map_err(|e| errors.extend(e)).unwrap_or_default();
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(shared(HttpNode {
            name: cx.name(),
            request,
            env,
            timeout: Duration::from_millis(spec.timeout_ms),
            body_limit: spec.body_limit,
            fail_on_status: spec.fail_on_status,
            client: cx
                .resource::<reqwest::Client>()
                .map(|client| Ok((*client).clone()))
                .unwrap_or_else(|| SHARED.clone()),
        }))
    }
}

/// The connection pool of every `http` node, unless the host provides its
/// own `reqwest::Client` ([`weir_engine::Scheme::provide`]) to add proxies
/// or trusted roots. Made on first use; a failure (no TLS roots, say) is
/// kept and answered by every call.
static SHARED: LazyLock<Result<reqwest::Client, String>> = LazyLock::new(|| {
    client_builder()
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {}", causes(&e)))
});

/// How Weir's clients are built: rustls with the Mozilla roots, HTTP/2 by
/// ALPN where a TLS server offers it, redirects followed (up to 10; reqwest
/// drops `authorization` and cookies when one leaves the origin).
pub fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .use_rustls_tls()
        .user_agent(concat!("weir/", env!("CARGO_PKG_VERSION")))
}

/// The request parts a spec sets; `None` parts come from the payload when
/// the spec has no `url`. (No `Debug`: parts may hold secrets.)
struct Request {
    method: Option<Templated>,
    url: Option<Templated>,
    query: Option<Templated>,
    header: Option<Templated>,
    body: Option<Templated>,
}

impl Request {
    /// Checks, at compile time, every part that holds no template.
    fn check(&self) -> Vec<FieldError> {
        fn constant(part: &Option<Templated>) -> Option<&Value> {
            part.as_ref().and_then(Templated::constant)
        }
        let mut errors = Vec::new();
        if let Some(method) = constant(&self.method) {
            errors.extend(
                parse_method(method)
                    .err()
                    .map(|e| FieldError::new("method", e)),
            );
        }
        if let Some(url) = constant(&self.url) {
            errors.extend(parse_url(url).err().map(|e| FieldError::new("url", e)));
        }
        // Every name, and the values that hold no template (a templated
        // one is checked as null: only its name).
        let header: Vec<(&str, &Value)> = match &self.header {
            Some(Templated::Constant(header)) => (header.as_map().into_iter())
                .flat_map(|map| map.iter())
                .map(|(name, value)| (name.as_ref(), value))
                .collect(),
            Some(Templated::Map(entries)) => (entries.iter())
                .map(|(name, value)| (name.as_ref(), value.constant().unwrap_or(&Value::Null)))
                .collect(),
            _ => Vec::new(),
        };
        for (name, value) in header {
            if let Err(e) = header_pair(name, value) {
                errors.push(FieldError::new(format!("header.{name}"), e));
            }
        }
        errors
    }
}

struct HttpNode {
    name: String,
    request: Request,
    env: Value,
    timeout: Duration,
    body_limit: u64,
    fail_on_status: bool,
    client: Result<reqwest::Client, String>,
}

/// A request ready to send, and what errors may say about it.
struct Prepared {
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Option<Bytes>,
}

impl Prepared {
    /// `GET http://host:port`: the method and origin, never the path, the
    /// query or credentials.
    fn shown(&self) -> String {
        format!(
            "{} {}",
            self.method,
            self.url.origin().ascii_serialization()
        )
    }
}

impl Node for HttpNode {
    fn call<'a>(
        &'a self,
        call: &'a Call,
        input: Packet,
    ) -> BoxFuture<'a, Result<Packet, ErrorValue>> {
        Box::pin(async move {
            let request = self.prepare(input.payload()).map_err(|e| {
                ErrorValue::new(format!("http `{}`: {e}", self.name)).with_code("invalid_request")
            })?;
            let client = self.client.as_ref().map_err(|e| {
                ErrorValue::new(format!("http `{}`: {e}", self.name)).with_code("client")
            })?;
            let shown = request.shown();
            let context = |error: ErrorValue| ErrorValue {
                message: format!("http `{}`: {shown}: {}", self.name, error.message),
                ..error
            };
            // Whichever ends first; the others' futures are dropped, and with
            // them the request in flight.
            let (status, answer) = tokio::select! {
                answer = self.exchange(client, request) => answer,
                () = tokio::time::sleep(self.timeout) => {
                    let ms = self.timeout.as_millis();
                    Err(failure(format!("no answer within {ms} ms"), "timeout", 504))
                }
                stopped = call.process().stopped() => Err(stopped),
            }
            .map_err(context)?;
            tracing::debug!(node = %self.name, request = %shown, %status, "http answered");
            if self.fail_on_status && !status.is_success() {
                let shown_status = match status.is_client_error() || status.is_server_error() {
                    true => status.as_u16(),
                    false => 502,
                };
                let details = Value::map([
                    ("status", Value::Int(status.as_u16().into())),
                    ("body", answer.get("body").cloned().unwrap_or_default()),
                ]);
                let error = failure(
                    format!("answered {}", status.as_u16()),
                    "status",
                    shown_status,
                );
                return Err(context(error.with_details(details)));
            }
            Ok(Packet::new(answer))
        })
    }
}

impl HttpNode {
    /// Renders the spec's parts (or takes the payload's) into a request.
    fn prepare(&self, payload: &Value) -> Result<Prepared, String> {
        let from_payload = self.request.url.is_none();
        if from_payload && payload.as_map().is_none() {
            return Err(format!(
                "the spec has no `url`, so the payload must be a request `{{url, method?, query?, header?, body?}}`, not {}",
                payload.type_name()
            ));
        }
        let context = templated::context(&self.env, payload);
        let part = |name: &str, compiled: &Option<Templated>| match compiled {
            Some(field) => field.render(name, &context).map(Some),
            None if from_payload => Ok(payload.get(name).filter(|v| !v.is_null()).cloned()),
            None => Ok(None),
        };
        let method = match part("method", &self.request.method)? {
            Some(method) => parse_method(&method).map_err(|e| format!("method: {e}"))?,
            None => Method::GET,
        };
        let url = part("url", &self.request.url)?.ok_or("the payload has no `url`")?;
        let mut url = parse_url(&url).map_err(|e| format!("url: {e}"))?;
        if let Some(query) = part("query", &self.request.query)? {
            add_query(&mut url, &query)?;
        }
        let mut headers = HeaderMap::new();
        if let Some(header) = part("header", &self.request.header)? {
            let map = header
                .as_map()
                .ok_or_else(|| format!("header: must be a map, not {}", header.type_name()))?;
            for (name, value) in map.iter() {
                let pair = header_pair(name, value).map_err(|e| format!("header.{name}: {e}"))?;
                if let Some((name, value)) = pair {
                    headers.append(name, value);
                }
            }
        }
        let body = part("body", &self.request.body)?
            .as_ref()
            .and_then(message::encode_body)
            .map(|(content_type, body)| {
                if !headers.contains_key(CONTENT_TYPE) {
                    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
                }
                body
            });
        Ok(Prepared {
            method,
            url,
            headers,
            body,
        })
    }

    /// Sends the request and reads the answer, whole, into a value.
    async fn exchange(
        &self,
        client: &reqwest::Client,
        request: Prepared,
    ) -> Result<(StatusCode, Value), ErrorValue> {
        let mut builder = client
            .request(request.method, request.url)
            .headers(request.headers);
        if let Some(body) = request.body {
            builder = builder.body(body);
        }
        let response = builder.send().await.map_err(|e| classify(&e))?;
        let status = response.status();
        let mut headers = response.headers().clone();
        let body = read_body(response, self.body_limit).await?;
        let body = message::decode_body(&headers, body)
            .map_err(|e| failure(format!("the answer's body is {e}"), "upstream", 502))?;
        strip_transport_headers(&mut headers);
        let answer = Value::map([
            ("status", Value::Int(i64::from(status.as_u16()))),
            ("header", message::header_value(&headers)),
            ("body", body),
        ]);
        Ok((status, answer))
    }
}

/// Reads a body of at most `limit` bytes.
async fn read_body(mut response: reqwest::Response, limit: u64) -> Result<Bytes, ErrorValue> {
    let too_large = || {
        let message = format!("the answer's body is larger than {limit} bytes");
        failure(message, "too_large", 502)
    };
    if response
        .content_length()
        .is_some_and(|length| length > limit)
    {
        return Err(too_large());
    }
    let mut first: Option<Bytes> = None;
    let mut rest = BytesMut::new();
    let mut read: u64 = 0;
    while let Some(chunk) = response.chunk().await.map_err(|e| classify(&e))? {
        read += chunk.len() as u64;
        if read > limit {
            return Err(too_large());
        }
        // Most bodies arrive in one chunk: keep it without copying.
        match first.take() {
            None if rest.is_empty() => first = Some(chunk),
            None => rest.extend_from_slice(&chunk),
            Some(earlier) => {
                rest.extend_from_slice(&earlier);
                rest.extend_from_slice(&chunk);
            }
        }
    }
    Ok(first.unwrap_or_else(|| rest.freeze()))
}

/// Headers about this one hop's transfer, which mean nothing once the
/// answer is a value (its body decoded) and would be wrong if a listener
/// sent the answer on as a response.
fn strip_transport_headers(headers: &mut HeaderMap) {
    for name in [
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "content-length",
    ] {
        headers.remove(name);
    }
}

/// A failed exchange; the caller adds which node and request.
fn failure(message: String, code: &str, status: u16) -> ErrorValue {
    ErrorValue::new(message).with_code(code).with_status(status)
}

/// What went wrong, by reqwest's classification, with the causes' text
/// (which carries no URL, header or body).
fn classify(error: &reqwest::Error) -> ErrorValue {
    let causes = causes(error);
    if error.is_timeout() {
        failure(format!("timed out: {causes}"), "timeout", 504)
    } else if error.is_connect() {
        failure(format!("cannot connect: {causes}"), "connect", 502)
    } else if error.is_redirect() {
        failure(format!("bad redirect: {causes}"), "upstream", 502)
    } else {
        failure(format!("the exchange failed: {causes}"), "upstream", 502)
    }
}

/// The chain of causes under a reqwest error, `a: b: c`, without the URL
/// reqwest's own message adds.
fn causes(error: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        parts.push(cause.to_string());
        source = cause.source();
    }
    match parts.is_empty() {
        true => "no cause given".to_string(),
        false => parts.join(": "),
    }
}

fn parse_method(value: &Value) -> Result<Method, String> {
    let text = value
        .as_str()
        .ok_or_else(|| format!("must be a string, not {}", value.type_name()))?;
    let upper = text.to_ascii_uppercase();
    METHODS
        .iter()
        .find(|method| method.as_str() == upper)
        .cloned()
        .ok_or_else(|| {
            let known: Vec<&str> = METHODS.iter().map(Method::as_str).collect();
            format!("`{text}` is not an HTTP method ({})", known.join(", "))
        })
}

/// Parses an absolute `http`/`https` URL. The message quotes no part of the
/// URL, which may hold a secret.
fn parse_url(value: &Value) -> Result<Url, String> {
    let text = value
        .as_str()
        .ok_or_else(|| format!("must be a string, not {}", value.type_name()))?;
    let url = Url::parse(text).map_err(|e| format!("not a valid URL: {e}"))?;
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Ok(url),
        "http" | "https" => Err("the URL has no host".to_string()),
        other => Err(format!(
            "the scheme must be `http` or `https`, not `{other}`"
        )),
    }
}

/// Appends `query` (name → value; a list repeats the name, null leaves it
/// out) to `url`, encoded.
fn add_query(url: &mut Url, query: &Value) -> Result<(), String> {
    let map = query
        .as_map()
        .ok_or_else(|| format!("query: must be a map, not {}", query.type_name()))?;
    let mut pairs = url.query_pairs_mut();
    for (name, value) in map.iter() {
        let values = match value {
            Value::List(items) => items.as_slice(),
            single => std::slice::from_ref(single),
        };
        for value in values {
            match value {
                Value::Null => {}
                Value::String(text) => {
                    pairs.append_pair(name, text);
                }
                Value::Bool(_) | Value::Int(_) | Value::Float(_) => {
                    pairs.append_pair(name, &value.to_string());
                }
                other => {
                    return Err(format!(
                        "query.{name}: must be text, a number or a boolean, not {}",
                        other.type_name()
                    ));
                }
            }
        }
    }
    drop(pairs);
    // `query_pairs_mut` leaves a bare `?` behind when nothing was added.
    if url.query() == Some("") {
        url.set_query(None);
    }
    Ok(())
}

/// One request header; `None` for a null value (left out). Values are
/// marked sensitive, so HTTP/2 never indexes them: any may be a secret.
/// The message never quotes the value.
fn header_pair(name: &str, value: &Value) -> Result<Option<(HeaderName, HeaderValue)>, String> {
    let name = HeaderName::try_from(name).map_err(|_| format!("`{name}` is not a header name"))?;
    let text = match value {
        Value::Null => return Ok(None),
        Value::String(text) => text.to_string(),
        Value::Bool(_) | Value::Int(_) | Value::Float(_) => value.to_string(),
        other => {
            return Err(format!(
                "must be text, a number or a boolean, not {}",
                other.type_name()
            ));
        }
    };
    let mut value = HeaderValue::try_from(text)
        .map_err(|_| "the value holds characters a header cannot carry".to_string())?;
    value.set_sensitive(true);
    Ok(Some((name, value)))
}
