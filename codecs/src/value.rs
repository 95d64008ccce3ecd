//! The one data type packets carry: [`Value`], with its error payload
//! [`ErrorValue`] and the ordered [`Map`] it nests.
//!
//! This module owns the shape of a value, its cheap constructors and
//! accessors, and its serde (de)serialisation in the generic serde data
//! model. It must not know about any particular text format (JSON, YAML) or
//! about expressions and templates: those live in their own modules and
//! convert through the types defined here.

use std::fmt;
use std::sync::Arc;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};

/// An object: string keys in insertion order, so a JSON object read and
/// written again keeps the order its author gave it.
pub type Map = indexmap::IndexMap<Arc<str>, Value>;

/// A piece of data travelling through a workflow.
///
/// Packets are cloned at every fan-out, so every variant that owns heap data
/// holds it behind an `Arc` (or `Bytes`, which is reference counted): a clone
/// is a few counter increments, never a deep copy. Mutating a nested list or
/// map means building a new one (`Arc::make_mut` copies only when shared).
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(Arc<str>),
    Bytes(bytes::Bytes),
    List(Arc<Vec<Value>>),
    Map(Arc<Map>),
    /// A failure carried as data, so a workflow can route errors through
    /// ports like any other packet instead of aborting.
    Error(Arc<ErrorValue>),
}

/// A failure carried as data: what went wrong, plus optional machine-readable
/// detail (a code, an HTTP-like status, and any structured context).
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorValue {
    pub message: String,
    pub code: Option<String>,
    pub status: Option<u16>,
    pub details: Value,
}

impl ErrorValue {
    /// An error with only a message; the builders below add the rest.
    pub fn new(message: impl Into<String>) -> Self {
        ErrorValue {
            message: message.into(),
            code: None,
            status: None,
            details: Value::Null,
        }
    }

    /// Sets a stable, machine-readable code (e.g. `timeout`), so handlers can
    /// branch on it rather than on the human message.
    pub fn with_code(mut self, code: &str) -> Self {
        self.code = Some(code.to_owned());
        self
    }

    /// Sets a status in the HTTP sense, for nodes that answer requests.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// Attaches structured context (the failing input, a response body...).
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
}

impl fmt::Display for ErrorValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(code) = &self.code {
            write!(f, " ({code})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ErrorValue {}

impl Value {
    /// A string value; accepts `&str`, `String` or an existing `Arc<str>`
    /// (the latter without copying).
    pub fn string(s: impl Into<Arc<str>>) -> Value {
        Value::String(s.into())
    }

    /// A list value from any sequence of values.
    pub fn list(items: impl IntoIterator<Item = Value>) -> Value {
        Value::List(Arc::new(items.into_iter().collect()))
    }

    /// A map value from `(key, value)` pairs, in the order given. A repeated
    /// key keeps its first position and its last value.
    pub fn map<K: Into<Arc<str>>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(Arc::new(
            entries.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        ))
    }

    /// An error value.
    pub fn error(error: ErrorValue) -> Value {
        Value::Error(Arc::new(error))
    }

    /// An error value with only a message.
    pub fn error_msg(message: impl Into<String>) -> Value {
        Value::error(ErrorValue::new(message))
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The value as a float; integers convert (rounding beyond 2^53), since
    /// callers asking for a number rarely care which kind the source wrote.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bytes(&self) -> Option<&bytes::Bytes> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_error(&self) -> Option<&ErrorValue> {
        match self {
            Value::Error(e) => Some(e),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Value::Error(_))
    }

    /// Looks `key` up when the value is a map; `None` for a missing key and
    /// for every other kind of value, so lookups chain without type checks.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_map().and_then(|m| m.get(key))
    }

    /// The kind's name, for error messages ("expected a map, found int").
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::String(_) => "string",
            Value::Bytes(_) => "bytes",
            Value::List(_) => "list",
            Value::Map(_) => "map",
            Value::Error(_) => "error",
        }
    }
}

/// Compact JSON text, the form logs and diagnostics show.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::json::to_string(self))
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int(i64::from(v))
    }
}

impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Int(i64::from(v))
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::String(v.into())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::String(v.into())
    }
}

impl From<Arc<str>> for Value {
    fn from(v: Arc<str>) -> Self {
        Value::String(v)
    }
}

impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Self {
        Value::List(Arc::new(v))
    }
}

impl From<Map> for Value {
    fn from(v: Map) -> Self {
        Value::Map(Arc::new(v))
    }
}

impl From<ErrorValue> for Value {
    fn from(v: ErrorValue) -> Self {
        Value::error(v)
    }
}

impl From<bytes::Bytes> for Value {
    fn from(v: bytes::Bytes) -> Self {
        Value::Bytes(v)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// Serialises in the generic serde data model: bytes as serde bytes (formats
/// without a bytes type decide for themselves), and an error as
/// `{"error": {"message", "code", "status", "details"}}` without its absent
/// fields, the shape an error takes wherever it leaves the engine.
impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Int(i) => serializer.serialize_i64(*i),
            Value::Float(f) => serializer.serialize_f64(*f),
            Value::String(s) => serializer.serialize_str(s),
            Value::Bytes(b) => serializer.serialize_bytes(b),
            Value::List(items) => serializer.collect_seq(items.iter()),
            Value::Map(map) => serializer.collect_map(map.iter().map(|(k, v)| (&**k, v))),
            Value::Error(error) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("error", &**error)?;
                map.end()
            }
        }
    }
}

impl Serialize for ErrorValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let len = 1
            + usize::from(self.code.is_some())
            + usize::from(self.status.is_some())
            + usize::from(!self.details.is_null());
        let mut map = serializer.serialize_map(Some(len))?;
        map.serialize_entry("message", &self.message)?;
        if let Some(code) = &self.code {
            map.serialize_entry("code", code)?;
        }
        if let Some(status) = &self.status {
            map.serialize_entry("status", status)?;
        }
        if !self.details.is_null() {
            map.serialize_entry("details", &self.details)?;
        }
        map.end()
    }
}

/// Reads any self-describing format. Integers that fit an `i64` stay
/// integers, larger ones become floats (losing precision rather than
/// failing); map keys that are not strings (YAML allows `1:` or `true:`)
/// become their JSON text. A map that repeats a key is refused, naming it
/// (keeping either value would silently drop the other). Nothing deserialises into [`Value::Error`]: an
/// error is something the engine produces, never a shape data happens to
/// have, so `{"error": ...}` read back stays a map.
impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.into()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v.into()))
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Bytes(bytes::Bytes::copy_from_slice(v)))
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Value, E> {
        Ok(Value::Bytes(v.into()))
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        Value::deserialize(deserializer)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Value, D::Error> {
        Value::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element::<Value>()? {
            items.push(item);
        }
        Ok(Value::List(Arc::new(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::with_capacity(access.size_hint().unwrap_or(0).min(4096));
        while let Some(key) = access.next_key::<Value>()? {
            let value = access.next_value::<Value>()?;
            match map.entry(key_text(key)) {
                indexmap::map::Entry::Occupied(taken) => {
                    let key = taken.key();
                    return Err(de::Error::custom(format_args!("duplicate key `{key}`")));
                }
                indexmap::map::Entry::Vacant(free) => _ = free.insert(value),
            }
        }
        Ok(Value::Map(Arc::new(map)))
    }

    /// Tagged values (YAML `!tag value`) arrive as enums; they keep their
    /// content under the tag name, `{tag: value}`, rather than failing.
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        use de::VariantAccess;
        let (tag, variant) = data.variant::<Value>()?;
        let value = variant.newtype_variant::<Value>()?;
        let mut map = Map::with_capacity(1);
        map.insert(key_text(tag), value);
        Ok(Value::Map(Arc::new(map)))
    }
}

/// A map key as text: strings as they are (sharing their allocation), any
/// other value as its compact JSON.
fn key_text(key: Value) -> Arc<str> {
    match key {
        Value::String(s) => s,
        other => crate::json::to_string(&other).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clone_shares_heap_data() {
        let list = Value::list([Value::from(1), Value::from("two")]);
        let copy = list.clone();
        match (&list, &copy) {
            (Value::List(a), Value::List(b)) => assert!(Arc::ptr_eq(a, b)),
            _ => panic!("expected lists"),
        }
        let map = Value::map([("a", Value::from(1))]);
        let copy = map.clone();
        match (&map, &copy) {
            (Value::Map(a), Value::Map(b)) => assert!(Arc::ptr_eq(a, b)),
            _ => panic!("expected maps"),
        }
        let s = Value::string("hello");
        let copy = s.clone();
        match (&s, &copy) {
            (Value::String(a), Value::String(b)) => assert!(Arc::ptr_eq(a, b)),
            _ => panic!("expected strings"),
        }
    }

    #[test]
    fn constructors_and_accessors() {
        let v = Value::map([
            ("b", Value::from(true)),
            ("i", Value::from(7i32)),
            ("f", Value::from(1.5)),
            ("s", Value::from(String::from("x"))),
            ("l", Value::from(vec![Value::Null])),
            ("n", Value::from(None::<i64>)),
            ("o", Value::from(Some(3u32))),
            ("y", Value::from(bytes::Bytes::from_static(b"ab"))),
        ]);
        assert_eq!(v.get("b").and_then(Value::as_bool), Some(true));
        assert_eq!(v.get("i").and_then(Value::as_i64), Some(7));
        assert_eq!(v.get("i").and_then(Value::as_f64), Some(7.0));
        assert_eq!(v.get("f").and_then(Value::as_f64), Some(1.5));
        assert_eq!(v.get("f").and_then(Value::as_i64), None);
        assert_eq!(v.get("s").and_then(Value::as_str), Some("x"));
        assert_eq!(v.get("l").and_then(Value::as_list).map(<[_]>::len), Some(1));
        assert!(v.get("n").is_some_and(Value::is_null));
        assert_eq!(v.get("o"), Some(&Value::Int(3)));
        assert_eq!(
            v.get("y").and_then(Value::as_bytes).map(|b| &b[..]),
            Some(&b"ab"[..])
        );
        assert_eq!(v.get("missing"), None);
        assert_eq!(Value::from(1).get("a"), None);
        let keys: Vec<&str> = v
            .as_map()
            .into_iter()
            .flat_map(|m| m.keys())
            .map(|k| &**k)
            .collect();
        assert_eq!(keys, ["b", "i", "f", "s", "l", "n", "o", "y"]);
    }

    #[test]
    fn type_names() {
        let names: Vec<&str> = [
            Value::Null,
            Value::from(true),
            Value::from(1),
            Value::from(1.0),
            Value::from("s"),
            Value::from(bytes::Bytes::new()),
            Value::list([]),
            Value::map::<&str>([]),
            Value::error_msg("e"),
        ]
        .iter()
        .map(Value::type_name)
        .collect();
        assert_eq!(
            names,
            [
                "null", "bool", "int", "float", "string", "bytes", "list", "map", "error"
            ]
        );
    }

    #[test]
    fn error_value_builders_and_display() {
        let e = ErrorValue::new("boom")
            .with_code("timeout")
            .with_status(504)
            .with_details(Value::from(1));
        assert_eq!(e.to_string(), "boom (timeout)");
        assert_eq!(ErrorValue::new("plain").to_string(), "plain");
        let v = Value::from(e.clone());
        assert!(v.is_error());
        assert_eq!(v.as_error(), Some(&e));
        let boxed: Box<dyn std::error::Error> = Box::new(e);
        assert_eq!(boxed.to_string(), "boom (timeout)");
    }

    #[test]
    fn error_serialises_without_absent_fields() {
        let v = Value::error_msg("boom");
        assert_eq!(v.to_string(), r#"{"error":{"message":"boom"}}"#);
        let v = Value::error(
            ErrorValue::new("boom")
                .with_code("c")
                .with_status(500)
                .with_details(Value::map([("k", Value::from(1))])),
        );
        assert_eq!(
            v.to_string(),
            r#"{"error":{"message":"boom","code":"c","status":500,"details":{"k":1}}}"#
        );
    }

    #[test]
    fn display_is_compact_json() {
        let v = Value::map([("a", Value::list([Value::from(1), Value::from("x")]))]);
        assert_eq!(v.to_string(), r#"{"a":[1,"x"]}"#);
    }

    #[test]
    fn deserialise_numbers() -> Result<(), serde_json::Error> {
        let v: Value = serde_json::from_str("[1, -2, 18446744073709551615, 1.5]")?;
        assert_eq!(
            v,
            Value::list([
                Value::Int(1),
                Value::Int(-2),
                Value::Float(18446744073709551615.0),
                Value::Float(1.5),
            ])
        );
        Ok(())
    }
}
