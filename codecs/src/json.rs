//! JSON conversions of [`Value`]: to and from `serde_json::Value` and text.
//!
//! This module owns the JSON data model of a value, i.e. how the kinds JSON
//! lacks are written: bytes become a standard base64 string (with padding),
//! non-finite floats become `null`, and an error becomes
//! `{"error": {"message", "code", "status", "details"}}`. Reading JSON never
//! produces bytes or errors: base64 text stays a string, since nothing in
//! JSON says it was bytes. The YAML module writes through the same model.
//! It must not touch the shape of [`Value`] itself (that is `value.rs`).

use std::sync::Arc;

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::value::{ErrorValue, Map, Value};

/// A JSON text that failed to parse, with where it failed (both 1-based).
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[error("line {line} column {column}: {message}")]
pub struct JsonError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl From<serde_json::Error> for JsonError {
    fn from(e: serde_json::Error) -> Self {
        let (line, column) = (e.line(), e.column());
        // serde_json appends the position to its message; we carry it in
        // fields instead, so drop it from the text to avoid saying it twice.
        let full = e.to_string();
        let suffix = format!(" at line {line} column {column}");
        let message = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
        let message = match crate::limits::is_recursion_limit(&message) {
            true => format!(
                "lists and maps nest deeper than {} levels",
                crate::limits::MAX_DEPTH
            ),
            false => message,
        };
        JsonError {
            line,
            column,
            message,
        }
    }
}

/// Converts a parsed JSON document. Integers beyond `i64` become floats.
pub fn from_json(v: serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            // Not an i64: a large u64 or a float; both read as f64 (a u64
            // beyond 2^53 rounds, which is what JSON readers generally do).
            None => n.as_f64().map_or(Value::Null, Value::Float),
        },
        serde_json::Value::String(s) => Value::String(s.into()),
        serde_json::Value::Array(items) => {
            Value::List(Arc::new(items.into_iter().map(from_json).collect()))
        }
        serde_json::Value::Object(entries) => Value::Map(Arc::new(
            entries
                .into_iter()
                .map(|(k, v)| (Arc::from(k), from_json(v)))
                .collect::<Map>(),
        )),
    }
}

/// Converts to a JSON document, in the JSON data model described above.
pub fn to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Int(i) => serde_json::Value::from(*i),
        // `From<f64>` already maps NaN and the infinities to null.
        Value::Float(f) => serde_json::Value::from(*f),
        Value::String(s) => serde_json::Value::String(s.to_string()),
        Value::Bytes(b) => serde_json::Value::String(base64(b)),
        Value::List(items) => serde_json::Value::Array(items.iter().map(to_json).collect()),
        Value::Map(map) => serde_json::Value::Object(
            map.iter()
                .map(|(k, v)| (k.to_string(), to_json(v)))
                .collect(),
        ),
        Value::Error(e) => {
            let mut fields = serde_json::Map::new();
            fields.insert("message".into(), e.message.clone().into());
            if let Some(code) = &e.code {
                fields.insert("code".into(), code.clone().into());
            }
            if let Some(status) = e.status {
                fields.insert("status".into(), status.into());
            }
            if !e.details.is_null() {
                fields.insert("details".into(), to_json(&e.details));
            }
            let mut outer = serde_json::Map::new();
            outer.insert("error".into(), serde_json::Value::Object(fields));
            serde_json::Value::Object(outer)
        }
    }
}

/// Parses JSON text straight into a [`Value`] (no intermediate document).
/// A map that repeats a key is refused, naming the key; nesting deeper than
/// [`crate::limits::MAX_DEPTH`] is refused.
pub fn from_str(s: &str) -> Result<Value, JsonError> {
    Ok(serde_json::from_str(s)?)
}

/// Compact JSON text.
pub fn to_string(v: &Value) -> String {
    // Serialising to a String can only fail on a non-string map key or an
    // error raised by a `Serialize` impl; `JsonView` produces neither.
    serde_json::to_string(&JsonView(v)).expect("JsonView has string keys and no failing impls")
}

/// Indented JSON text, for people to read.
pub fn to_string_pretty(v: &Value) -> String {
    // Infallible for the same reason as `to_string`.
    serde_json::to_string_pretty(&JsonView(v))
        .expect("JsonView has string keys and no failing impls")
}

/// A value seen through the JSON data model: serialising it writes bytes as
/// base64 text. Text formats without a bytes type (JSON, YAML) serialise
/// through this view instead of [`Value`]'s generic `Serialize`.
pub(crate) struct JsonView<'a>(pub(crate) &'a Value);

impl Serialize for JsonView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Bytes(b) => serializer.serialize_str(&base64(b)),
            Value::List(items) => serializer.collect_seq(items.iter().map(JsonView)),
            Value::Map(map) => serializer.collect_map(map.iter().map(|(k, v)| (&**k, JsonView(v)))),
            Value::Error(e) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("error", &ErrorView(e))?;
                map.end()
            }
            // Scalars serialise the same in every model; serde_json writes
            // non-finite floats as null.
            other => other.serialize(serializer),
        }
    }
}

struct ErrorView<'a>(&'a ErrorValue);

impl Serialize for ErrorView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let e = self.0;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("message", &e.message)?;
        if let Some(code) = &e.code {
            map.serialize_entry("code", code)?;
        }
        if let Some(status) = &e.status {
            map.serialize_entry("status", status)?;
        }
        if !e.details.is_null() {
            map.serialize_entry("details", &JsonView(&e.details))?;
        }
        map.end()
    }
}

/// Standard base64 (RFC 4648 alphabet, `=` padding). Written here rather
/// than pulled in as a dependency: encoding is a dozen lines, and JSON is
/// the only place bytes need to become text.
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b0 = chunk[0];
        let b1 = chunk.get(1).copied().unwrap_or(0);
        let b2 = chunk.get(2).copied().unwrap_or(0);
        let n = (u32::from(b0) << 16) | (u32::from(b1) << 8) | u32::from(b2);
        // Each index is masked to 6 bits, so it is always within ALPHABET.
        let sextet = |shift: u32| char::from(ALPHABET[((n >> shift) & 0x3f) as usize]);
        out.push(sextet(18));
        out.push(sextet(12));
        out.push(if chunk.len() > 1 { sextet(6) } else { '=' });
        out.push(if chunk.len() > 2 { sextet(0) } else { '=' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn round_trip_nested_unicode_and_numbers() -> TestResult {
        let text = r#"{"z":1,"a":{"list":[1,-9223372036854775808,9223372036854775807,1.5,-0.25,1e+300,true,null],"unicode":"héllo wörld ✓ 🦀","escaped":"line\nbreak \"quoted\""},"empty":{},"none":[]}"#;
        let v = from_str(text)?;
        assert_eq!(to_string(&v), text);
        // Insertion order is kept, not sorted.
        let keys: Vec<&str> = v
            .as_map()
            .into_iter()
            .flat_map(|m| m.keys())
            .map(|k| &**k)
            .collect();
        assert_eq!(keys, ["z", "a", "empty", "none"]);
        // Through serde_json::Value as well.
        let doc: serde_json::Value = serde_json::from_str(text)?;
        assert_eq!(from_json(doc.clone()), v);
        assert_eq!(to_json(&v), doc);
        Ok(())
    }

    #[test]
    fn large_integers_and_floats() -> TestResult {
        let v = from_str("[9223372036854775807, 9223372036854775808, 1.0, 2.5e-3]")?;
        assert_eq!(
            v,
            Value::list([
                Value::Int(i64::MAX),
                Value::Float(9223372036854775808.0),
                Value::Float(1.0),
                Value::Float(0.0025),
            ])
        );
        // A float stays a float when written back.
        assert_eq!(to_string(&Value::Float(1.0)), "1.0");
        let doc: serde_json::Value = serde_json::from_str("18446744073709551615")?;
        assert_eq!(from_json(doc), Value::Float(18446744073709551615.0));
        Ok(())
    }

    #[test]
    fn non_finite_floats_become_null() {
        let v = Value::list([
            Value::Float(f64::NAN),
            Value::Float(f64::INFINITY),
            Value::Float(f64::NEG_INFINITY),
        ]);
        assert_eq!(to_string(&v), "[null,null,null]");
        assert_eq!(to_json(&v), serde_json::json!([null, null, null]));
    }

    #[test]
    fn bytes_become_base64() {
        let cases: [(&[u8], &str); 7] = [
            (b"", ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
            (b"fooba", "Zm9vYmE="),
            (b"\xff\xfe\x00", "//4A"),
        ];
        for (raw, encoded) in cases {
            let v = Value::Bytes(bytes::Bytes::copy_from_slice(raw));
            assert_eq!(to_json(&v), serde_json::Value::String(encoded.into()));
            assert_eq!(to_string(&v), format!("\"{encoded}\""));
        }
        let nested = Value::map([(
            "b",
            Value::list([Value::Bytes(bytes::Bytes::from_static(b"hi"))]),
        )]);
        assert_eq!(to_string(&nested), r#"{"b":["aGk="]}"#);
        assert_eq!(to_json(&nested), serde_json::json!({"b": ["aGk="]}));
    }

    #[test]
    fn errors_in_both_forms() {
        let v = Value::list([Value::error(
            ErrorValue::new("boom")
                .with_status(404)
                .with_details(Value::Bytes(bytes::Bytes::from_static(b"x"))),
        )]);
        let expected =
            serde_json::json!([{"error": {"message": "boom", "status": 404, "details": "eA=="}}]);
        assert_eq!(to_json(&v), expected);
        assert_eq!(to_string(&v), expected.to_string());
    }

    #[test]
    fn pretty_output_is_indented() -> TestResult {
        let v = from_str(r#"{"a":[1]}"#)?;
        assert_eq!(to_string_pretty(&v), "{\n  \"a\": [\n    1\n  ]\n}");
        Ok(())
    }

    #[test]
    fn parse_errors_carry_position() {
        let err = from_str("{\n  \"a\": 1,\n  \"b\": ]\n}").err();
        let Some(err) = err else {
            panic!("expected an error")
        };
        assert_eq!((err.line, err.column), (3, 8));
        assert_eq!(err.message, "expected value");
        assert_eq!(err.to_string(), "line 3 column 8: expected value");

        let err = from_str("[1, 2").err();
        assert!(err.is_some_and(|e| e.line == 1 && e.message.contains("EOF")));
    }

    #[test]
    fn duplicate_keys_and_deep_nesting_are_refused() {
        let err = from_str(r#"{"a": 1, "b": {"c": 1, "c": 2}}"#).err();
        assert!(
            err.as_ref()
                .is_some_and(|e| e.message == "duplicate key `c`" && e.line == 1),
            "{err:?}"
        );
        let depth = crate::limits::MAX_DEPTH;
        let deep = "[".repeat(depth + 1) + &"]".repeat(depth + 1);
        let err = from_str(&deep).err();
        assert!(
            err.as_ref()
                .is_some_and(|e| e.message == "lists and maps nest deeper than 127 levels"),
            "{err:?}"
        );
        let fits = "[".repeat(depth) + &"]".repeat(depth);
        assert!(from_str(&fits).is_ok());
    }
}
