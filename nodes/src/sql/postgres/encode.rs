//! [`Value`]s in PostgreSQL's binary form, for the type PostgreSQL gave
//! each parameter.
//!
//! The node lets PostgreSQL infer every parameter's type from the statement
//! (`WHERE id = :id` makes `:id` whatever `id` is), then converts the value
//! to that type here: a string binds to `uuid`, `timestamptz`, `numeric` or
//! `date` when it is valid text for it, as a literal would; numbers cross
//! between integer, float and numeric when no precision is lost; a list
//! binds to an array; any value binds to `json`/`jsonb` as itself. What
//! does not convert is refused with what was expected and what was found.

use tokio_postgres::types::Type;
use weir_codecs::Value;

use super::numeric;
use super::oid::{self, Shape};
use crate::sql::time;

/// The binary form of `value` as type `ty`; `None` is NULL.
pub fn encode(value: &Value, ty: &Type) -> Result<Option<Vec<u8>>, String> {
    if value.is_null() {
        return Ok(None);
    }
    let bytes = match oid::shape(ty) {
        Shape::Text => text(value, ty)?,
        Shape::Array(element) => array(value, ty, element)?,
        Shape::Builtin(oid) => builtin(value, oid, ty)?,
        Shape::Other => return Err(not_bound(ty)),
    };
    Ok(Some(bytes))
}

fn expected(what: &str, ty: &Type, value: &Value) -> String {
    format!(
        "expected {what} (PostgreSQL type `{}`), found {}",
        oid::name(ty),
        describe(value)
    )
}

/// The value's type, and its text when it is short enough to help.
fn describe(value: &Value) -> String {
    match value {
        Value::String(s) if s.chars().count() <= 40 => format!("string \"{s}\""),
        Value::Int(i) => format!("int {i}"),
        Value::Float(f) => format!("float {f}"),
        Value::Bool(b) => format!("bool {b}"),
        other => other.type_name().to_string(),
    }
}

fn builtin(value: &Value, oid: u32, ty: &Type) -> Result<Vec<u8>, String> {
    let bad = |what: &str| expected(what, ty, value);
    Ok(match oid {
        oid::BOOL => vec![u8::from(boolean(value).ok_or_else(|| bad("a boolean"))?)],
        oid::INT2 => i16::try_from(integer(value).ok_or_else(|| bad("an integer"))?)
            .map_err(|_| bad("an integer between -32768 and 32767"))?
            .to_be_bytes()
            .to_vec(),
        oid::INT4 => i32::try_from(integer(value).ok_or_else(|| bad("an integer"))?)
            .map_err(|_| bad("a 32-bit integer"))?
            .to_be_bytes()
            .to_vec(),
        oid::OID => u32::try_from(integer(value).ok_or_else(|| bad("an integer"))?)
            .map_err(|_| bad("an unsigned 32-bit integer"))?
            .to_be_bytes()
            .to_vec(),
        oid::INT8 => integer(value)
            .ok_or_else(|| bad("an integer"))?
            .to_be_bytes()
            .to_vec(),
        oid::FLOAT4 => (float(value).ok_or_else(|| bad("a number"))? as f32)
            .to_be_bytes()
            .to_vec(),
        oid::FLOAT8 => float(value)
            .ok_or_else(|| bad("a number"))?
            .to_be_bytes()
            .to_vec(),
        oid::NUMERIC => {
            let text = match value {
                Value::Int(i) => i.to_string(),
                Value::Float(f) => f.to_string(),
                Value::String(s) => s.to_string(),
                _ => return Err(bad("a number or decimal text")),
            };
            numeric::encode(&text).map_err(|e| format!("{} ({e})", bad("a decimal number")))?
        }
        oid::NAME
        | oid::TEXT
        | oid::BPCHAR
        | oid::VARCHAR
        | oid::UNKNOWN
        | oid::XML
        | oid::CHAR => text(value, ty)?,
        oid::BYTEA => match value {
            Value::Bytes(b) => b.to_vec(),
            Value::String(s) => s.as_bytes().to_vec(),
            _ => return Err(bad("bytes or a string")),
        },
        oid::JSON => weir_codecs::json::to_string(value).into_bytes(),
        oid::JSONB => {
            let mut out = vec![1];
            out.extend_from_slice(weir_codecs::json::to_string(value).as_bytes());
            out
        }
        oid::UUID => match value {
            Value::String(s) => uuid::Uuid::parse_str(s)
                .map_err(|_| bad("a UUID"))?
                .as_bytes()
                .to_vec(),
            Value::Bytes(b) if b.len() == 16 => b.to_vec(),
            _ => return Err(bad("a UUID")),
        },
        oid::DATE => time::parse_date(string(value).ok_or_else(|| bad("a date"))?)
            .map_err(|e| format!("{} ({e})", bad("a date")))?
            .to_be_bytes()
            .to_vec(),
        oid::TIME => time::parse_time(string(value).ok_or_else(|| bad("a time"))?)
            .map_err(|e| format!("{} ({e})", bad("a time")))?
            .to_be_bytes()
            .to_vec(),
        oid::TIMESTAMP | oid::TIMESTAMPTZ => {
            let text = string(value).ok_or_else(|| bad("an RFC 3339 timestamp"))?;
            let parsed = time::parse_timestamp(text)
                .map_err(|e| format!("{} ({e})", bad("an RFC 3339 timestamp")))?;
            let micros = match (oid, parsed.offset) {
                // A local timestamp keeps the wall-clock time written, as
                // PostgreSQL itself does with such text.
                (oid::TIMESTAMP, _) => parsed.micros,
                _ if parsed.micros == i64::MAX || parsed.micros == i64::MIN => parsed.micros,
                (_, Some(offset)) => parsed.micros - offset * 1_000_000,
                (_, None) => {
                    return Err(format!(
                        "{}: `{text}` has no offset (add `Z` or `+hh:mm`)",
                        bad("an RFC 3339 timestamp")
                    ));
                }
            };
            micros.to_be_bytes().to_vec()
        }
        _ => return Err(not_bound(ty)),
    })
}

fn not_bound(ty: &Type) -> String {
    let name = oid::name(ty);
    format!(
        "PostgreSQL wants type `{name}`, which the sql node does not bind: cast the parameter in the query, e.g. `CAST(CAST(:x AS text) AS {name})`"
    )
}

/// Text types take strings, and numbers and booleans as their text.
fn text(value: &Value, ty: &Type) -> Result<Vec<u8>, String> {
    Ok(match value {
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Int(i) => i.to_string().into_bytes(),
        Value::Float(f) => f.to_string().into_bytes(),
        Value::Bool(b) => b.to_string().into_bytes(),
        other => return Err(expected("text", ty, other)),
    })
}

fn string(value: &Value) -> Option<&str> {
    value.as_str()
}

fn boolean(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "t" | "yes" | "on" | "1" => Some(true),
            "false" | "f" | "no" | "off" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// An integer: an int, a float with no fraction that fits, or integer
/// text (a query-string value, say).
fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Int(i) => Some(*i),
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 => {
            Some(*f as i64)
        }
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn float(value: &Value) -> Option<f64> {
    match value {
        Value::Float(f) => Some(*f),
        Value::Int(i) => Some(*i as f64),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A one-dimensional array: `ndim` 1 (0 when empty), a has-nulls flag,
/// the element OID, the length and lower bound 1, then each element.
fn array(value: &Value, ty: &Type, element: &Type) -> Result<Vec<u8>, String> {
    let items = value
        .as_list()
        .ok_or_else(|| expected("a list", ty, value))?;
    let element_oid = element.oid();
    let mut out = Vec::with_capacity(20 + items.len() * 8);
    let has_nulls = items.iter().any(Value::is_null);
    let length =
        i32::try_from(items.len()).map_err(|_| "the list is too long for an array".to_string())?;
    out.extend_from_slice(&i32::from(!items.is_empty()).to_be_bytes());
    out.extend_from_slice(&i32::from(has_nulls).to_be_bytes());
    out.extend_from_slice(&element_oid.to_be_bytes());
    if !items.is_empty() {
        out.extend_from_slice(&length.to_be_bytes());
        out.extend_from_slice(&1i32.to_be_bytes());
    }
    for (i, item) in items.iter().enumerate() {
        if item.as_list().is_some() {
            return Err("multi-dimensional arrays are not bound: pass a flat list".to_string());
        }
        match encode(item, element).map_err(|e| format!("item {i}: {e}"))? {
            None => out.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(bytes) => {
                let length =
                    i32::try_from(bytes.len()).map_err(|_| format!("item {i} is too large"))?;
                out.extend_from_slice(&length.to_be_bytes());
                out.extend_from_slice(&bytes);
            }
        }
    }
    Ok(out)
}
