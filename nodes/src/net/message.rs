//! HTTP messages as values, both ways.
//!
//! A request becomes the payload `{method, path, query, header, params,
//! body}`, its body decoded by content type (JSON, form, text, else bytes).
//! An answer becomes a response: a map shaped `{status, header?, body?}` is
//! taken as the response itself; an error answers its `status` (else 500)
//! with `{"error": {...}}`; any other value is a 200 with it as JSON.
//! The `http` client reads and writes bodies with the same rules
//! ([`decode_body`], [`encode_body`]). This module does no I/O.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use weir_codecs::{ErrorValue, Value};

/// Why a request body was refused, as the client will be told.
pub fn bad_request(message: impl Into<String>) -> ErrorValue {
    ErrorValue::new(message)
        .with_code("bad_request")
        .with_status(400)
}

/// The payload of one request.
pub fn request(
    method: &Method,
    uri: &http::Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Value, ErrorValue> {
    let query = form(uri.query().unwrap_or(""))
        .map_err(|key| bad_request(format!("query parameter `{key}` is repeated")))?;
    Ok(Value::map([
        ("method", Value::string(method.as_str())),
        ("path", Value::string(uri.path())),
        ("query", query),
        ("header", header_value(headers)),
        ("params", Value::map(Vec::<(&str, Value)>::new())),
        ("body", body_value(headers, body)?),
    ]))
}

/// Headers as a map: each name (lower case) to its values joined by `, `.
/// A value with bytes outside visible ASCII is kept (as UTF-8, invalid
/// sequences replaced), never dropped: a dropped value reads as an absent
/// header, so a malformed `If-Match` would expect nothing instead of being
/// refused.
pub fn header_value(headers: &HeaderMap) -> Value {
    Value::map(headers.keys().map(|name| {
        let joined: Vec<std::borrow::Cow<'_, str>> = headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()))
            .collect();
        (name.as_str(), Value::string(joined.join(", ")))
    }))
}

fn body_value(headers: &HeaderMap, body: Bytes) -> Result<Value, ErrorValue> {
    decode_body(headers, body).map_err(|e| bad_request(format!("request body is {e}")))
}

/// A body as a value, by its content type: JSON (and `+json`), form,
/// `text/*`, else bytes; an empty body is null. The error says what the body
/// is not (`not valid JSON: …`), for the caller to say whose body it was.
pub fn decode_body(headers: &HeaderMap, body: Bytes) -> Result<Value, String> {
    if body.is_empty() {
        return Ok(Value::Null);
    }
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let json = |body: &Bytes| {
        weir_codecs::json::from_str(text(body)?).map_err(|e| format!("not valid JSON: {e}"))
    };
    match essence.as_str() {
        "application/json" => json(&body),
        "application/x-www-form-urlencoded" => form(text(&body)?)
            .map_err(|key| format!("not a valid form: the key `{key}` is repeated")),
        t if t.starts_with("text/") => Ok(Value::string(text(&body)?)),
        t if t.ends_with("+json") => json(&body),
        _ => Ok(Value::Bytes(body)),
    }
}

fn text(body: &Bytes) -> Result<&str, String> {
    std::str::from_utf8(body).map_err(|e| format!("not valid UTF-8: {e}"))
}

/// How a value travels as a body, with its content type: null is no body,
/// a string is UTF-8 text, bytes are octets, anything else is JSON.
pub fn encode_body(value: &Value) -> Option<(&'static str, Bytes)> {
    match value {
        Value::Null => None,
        Value::String(text) => Some((
            "text/plain; charset=utf-8",
            Bytes::copy_from_slice(text.as_bytes()),
        )),
        Value::Bytes(bytes) => Some(("application/octet-stream", bytes.clone())),
        other => Some((
            "application/json",
            Bytes::from(weir_codecs::json::to_string(other)),
        )),
    }
}

/// Parses `a=1&b=x%20y` into a map. A repeated key is refused (the error
/// is the key), as a repeated key of a JSON body is: keeping one of the
/// values would silently drop the others.
pub fn form(text: &str) -> Result<Value, String> {
    let mut map = weir_codecs::Map::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = Value::string(percent_decode(value, Plus::Space));
        let key = percent_decode(key, Plus::Space);
        if map.contains_key(key.as_str()) {
            return Err(key);
        }
        map.insert(key.into(), value);
    }
    Ok(Value::Map(std::sync::Arc::new(map)))
}

/// How `+` reads when decoding: a space in forms and queries, itself in
/// paths.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Plus {
    /// `a+b` is `a b`.
    Space,
    /// `a+b` is `a+b`.
    Literal,
}

/// Decodes `%XX` escapes; a bad escape stays as written.
pub fn percent_decode(text: &str, plus: Plus) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (bytes[i], escaped) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                i += 3;
            }
            (b'+', _) if plus == Plus::Space => {
                out.push(b' ');
                i += 1;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A response: status, headers and body.
pub struct Reply {
    /// The status code.
    pub status: StatusCode,
    /// Headers to send (content type included).
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

/// The response for a workflow's answer.
pub fn reply(answer: &Value) -> Reply {
    if let Some(error) = answer.as_error() {
        return error_reply(error);
    }
    match response_shape(answer) {
        Some((status, header, body)) => {
            let mut reply = body_reply(status, body);
            if let Some(header) = header.and_then(Value::as_map) {
                for (name, value) in header.iter() {
                    let text = value
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| value.to_string());
                    if let (Ok(name), Ok(value)) = (
                        HeaderName::try_from(name.as_ref()),
                        HeaderValue::try_from(text),
                    ) {
                        reply.headers.insert(name, value);
                    }
                }
            }
            reply
        }
        None => json_reply(StatusCode::OK, answer),
    }
}

/// `{status, header?, body?}` with a valid status and nothing else.
fn response_shape(value: &Value) -> Option<(StatusCode, Option<&Value>, Option<&Value>)> {
    let map = value.as_map()?;
    let status = map.get("status")?.as_i64()?;
    let status = u16::try_from(status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())?;
    map.keys()
        .all(|k| matches!(k.as_ref(), "status" | "header" | "body"))
        .then(|| (status, map.get("header"), map.get("body")))
}

fn body_reply(status: StatusCode, body: Option<&Value>) -> Reply {
    match body.and_then(encode_body) {
        None => Reply {
            status,
            headers: HeaderMap::new(),
            body: Bytes::new(),
        },
        Some((content_type, body)) => typed(status, content_type, body),
    }
}

fn json_reply(status: StatusCode, value: &Value) -> Reply {
    typed(
        status,
        "application/json",
        Bytes::from(weir_codecs::json::to_string(value)),
    )
}

fn typed(status: StatusCode, content_type: &'static str, body: Bytes) -> Reply {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    Reply {
        status,
        headers,
        body,
    }
}

/// An error as a response: its status (500 if none or not an error status)
/// and `{"error": {message, code?, details?}}`. Internal errors (500) do not
/// echo details, which may hold data the client should not see.
pub fn error_reply(error: &ErrorValue) -> Reply {
    let status = error
        .status
        .and_then(|s| StatusCode::from_u16(s).ok())
        .filter(|s| s.is_client_error() || s.is_server_error())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut shown = vec![("message", Value::string(error.message.as_str()))];
    if let Some(code) = &error.code {
        shown.push(("code", Value::string(code.as_str())));
    }
    if status.is_client_error() && !error.details.is_null() {
        shown.push(("details", error.details.clone()));
    }
    json_reply(status, &Value::map([("error", Value::map(shown))]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(content_type: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
        h
    }

    #[test]
    fn bodies_decode_by_content_type() {
        let json = body_value(
            &headers("application/json; charset=utf-8"),
            Bytes::from(r#"{"a":1}"#),
        )
        .unwrap();
        assert_eq!(json.get("a"), Some(&Value::Int(1)));
        let form = body_value(
            &headers("application/x-www-form-urlencoded"),
            Bytes::from("a=1&b=x+y%21"),
        )
        .unwrap();
        assert_eq!(form.get("b").and_then(Value::as_str), Some("x y!"));
        let text = body_value(&headers("text/plain"), Bytes::from("hi")).unwrap();
        assert_eq!(text, Value::string("hi"));
        let bytes = body_value(&headers("image/png"), Bytes::from_static(b"\x89PNG")).unwrap();
        assert!(matches!(bytes, Value::Bytes(_)));
        let bad = body_value(&headers("application/json"), Bytes::from("{nope")).unwrap_err();
        assert_eq!(bad.status, Some(400));
        assert!(bad.message.contains("not valid JSON"), "{bad}");
    }

    #[test]
    fn repeated_keys_are_refused_naming_the_key() {
        let bad = body_value(
            &headers("application/json"),
            Bytes::from(r#"{"id": 1, "id": 2}"#),
        )
        .unwrap_err();
        assert_eq!(bad.status, Some(400));
        assert!(bad.message.contains("duplicate key `id`"), "{bad}");
        let bad = body_value(
            &headers("application/x-www-form-urlencoded"),
            Bytes::from("a=1&a%20b=2&a+b=3"),
        )
        .unwrap_err();
        assert_eq!(
            bad.message,
            "request body is not a valid form: the key `a b` is repeated"
        );
        let uri: http::Uri = "/x?name=a&kind=b&name=c".parse().unwrap();
        let bad = request(&Method::GET, &uri, &HeaderMap::new(), Bytes::new()).unwrap_err();
        assert_eq!(
            (bad.status, bad.message.as_str()),
            (Some(400), "query parameter `name` is repeated")
        );
        let uri: http::Uri = "/x?name=a&kind=b".parse().unwrap();
        let ok = request(&Method::GET, &uri, &HeaderMap::new(), Bytes::new()).unwrap();
        assert_eq!(
            ok.get("query").and_then(|q| q.get("kind")),
            Some(&Value::string("b"))
        );
    }

    #[test]
    fn percent_decoding_keeps_bad_escapes() {
        assert_eq!(percent_decode("a%20b%zz%4", Plus::Literal), "a b%zz%4");
        assert_eq!(percent_decode("%E2%82%AC+", Plus::Literal), "€+");
        assert_eq!(percent_decode("a+b", Plus::Space), "a b");
    }

    #[test]
    fn answers_become_responses() {
        let plain = reply(&Value::map([("x", Value::Int(1))]));
        assert_eq!(
            (plain.status, &plain.body[..]),
            (StatusCode::OK, &br#"{"x":1}"#[..])
        );
        let shaped = reply(&Value::map([
            ("status", Value::Int(201)),
            ("header", Value::map([("x-id", Value::string("7"))])),
            ("body", Value::string("made")),
        ]));
        assert_eq!(shaped.status, StatusCode::CREATED);
        assert_eq!(shaped.headers["x-id"], "7");
        assert_eq!(shaped.headers[CONTENT_TYPE], "text/plain; charset=utf-8");
        let failed = reply(&Value::error(
            ErrorValue::new("nope")
                .with_status(404)
                .with_code("not_found"),
        ));
        assert_eq!(failed.status, StatusCode::NOT_FOUND);
        assert_eq!(
            &failed.body[..],
            br#"{"error":{"message":"nope","code":"not_found"}}"#
        );
        let internal = reply(&Value::error(
            ErrorValue::new("boom").with_details(Value::string("secret")),
        ));
        assert_eq!(internal.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!String::from_utf8_lossy(&internal.body).contains("secret"));
    }
}
