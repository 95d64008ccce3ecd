//! PostgreSQL's binary column values as [`Value`]s, faithfully: integers
//! as integers, floats as floats, `numeric` as its exact decimal text,
//! `json`/`jsonb` as the values they hold, `bytea` as bytes, date and time
//! types as RFC 3339 / ISO 8601 text, arrays as lists, NULL as null.
//!
//! A type outside that list is refused with the column's name and a hint
//! to cast it in the query, never guessed at.

use bytes::Bytes;
use tokio_postgres::types::Type;
use weir_codecs::Value;

use super::numeric;
use super::oid::{self, Shape};
use crate::sql::time;

/// The value of one non-NULL column of type `ty`, from its binary form.
pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, String> {
    match oid::shape(ty) {
        Shape::Text => text(bytes),
        Shape::Array(element) => array(bytes, element),
        Shape::Builtin(oid) => {
            builtin(bytes, oid).unwrap_or_else(|| Err(unsupported(&oid::name(ty))))
        }
        Shape::Other => Err(unsupported(&oid::name(ty))),
    }
}

fn unsupported(name: &str) -> String {
    format!(
        "has type `{name}`, which the sql node does not read: cast it in the query, e.g. `CAST(x AS text)`"
    )
}

/// `None` for an OID this module does not know.
fn builtin(bytes: &[u8], oid: u32) -> Option<Result<Value, String>> {
    Some(match oid {
        oid::BOOL => fixed::<1>(bytes).map(|[b]| Value::Bool(b != 0)),
        oid::BYTEA => Ok(Value::Bytes(Bytes::copy_from_slice(bytes))),
        oid::CHAR => Ok(Value::string(String::from_utf8_lossy(bytes))),
        oid::NAME | oid::TEXT | oid::BPCHAR | oid::VARCHAR | oid::UNKNOWN | oid::XML => text(bytes),
        oid::INT2 => fixed::<2>(bytes).map(|b| Value::Int(i16::from_be_bytes(b).into())),
        oid::INT4 => fixed::<4>(bytes).map(|b| Value::Int(i32::from_be_bytes(b).into())),
        oid::OID => fixed::<4>(bytes).map(|b| Value::Int(u32::from_be_bytes(b).into())),
        oid::INT8 => fixed::<8>(bytes).map(|b| Value::Int(i64::from_be_bytes(b))),
        // Through the shortest text of the f32, so 0.1 reads as 0.1 and not
        // as the f64 nearest the f32 nearest 0.1.
        oid::FLOAT4 => fixed::<4>(bytes).map(|b| {
            let f = f32::from_be_bytes(b);
            Value::Float(f.to_string().parse().unwrap_or(f64::from(f)))
        }),
        oid::FLOAT8 => fixed::<8>(bytes).map(|b| Value::Float(f64::from_be_bytes(b))),
        oid::NUMERIC => numeric::decode(bytes).map(Value::string),
        oid::JSON => json(bytes),
        oid::JSONB => match bytes.split_first() {
            Some((1, rest)) => json(rest),
            _ => Err("a jsonb value has an unknown format version".to_string()),
        },
        oid::UUID => {
            fixed::<16>(bytes).map(|b| Value::string(uuid::Uuid::from_bytes(b).to_string()))
        }
        oid::DATE => {
            fixed::<4>(bytes).map(|b| Value::string(time::format_date(i32::from_be_bytes(b))))
        }
        oid::TIME => {
            fixed::<8>(bytes).map(|b| Value::string(time::format_time(i64::from_be_bytes(b))))
        }
        oid::TIMETZ => fixed::<12>(bytes).map(|b| {
            let (micros, zone) = b.split_at(8);
            Value::string(time::format_timetz(
                i64::from_be_bytes(micros.try_into().unwrap_or_default()),
                i32::from_be_bytes(zone.try_into().unwrap_or_default()),
            ))
        }),
        oid::TIMESTAMP => fixed::<8>(bytes)
            .map(|b| Value::string(time::format_timestamp(i64::from_be_bytes(b), false))),
        oid::TIMESTAMPTZ => fixed::<8>(bytes)
            .map(|b| Value::string(time::format_timestamp(i64::from_be_bytes(b), true))),
        oid::INTERVAL => fixed::<16>(bytes).map(|b| {
            let micros = i64::from_be_bytes(b[..8].try_into().unwrap_or_default());
            let days = i32::from_be_bytes(b[8..12].try_into().unwrap_or_default());
            let months = i32::from_be_bytes(b[12..].try_into().unwrap_or_default());
            Value::string(time::format_interval(months, days, micros))
        }),
        oid::VOID => Ok(Value::Null),
        _ => return None,
    })
}

fn fixed<const N: usize>(bytes: &[u8]) -> Result<[u8; N], String> {
    bytes
        .try_into()
        .map_err(|_| format!("expected {N} bytes, the database sent {}", bytes.len()))
}

fn text(bytes: &[u8]) -> Result<Value, String> {
    std::str::from_utf8(bytes)
        .map(Value::string)
        .map_err(|e| format!("is not valid UTF-8: {e}"))
}

fn json(bytes: &[u8]) -> Result<Value, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("is not valid UTF-8: {e}"))?;
    weir_codecs::json::from_str(text).map_err(|e| format!("holds JSON that does not parse: {e}"))
}

/// An array: `ndim`, a has-nulls flag, the element OID, then per dimension
/// its length and lower bound, then each element as a length (-1 for
/// NULL) and its bytes. Several dimensions become nested lists.
fn array(bytes: &[u8], element: &Type) -> Result<Value, String> {
    let mut reader = Reader { bytes, at: 0 };
    let dimensions =
        usize::try_from(reader.i32()?).map_err(|_| "a negative array dimension".to_string())?;
    let _has_nulls = reader.i32()?;
    let _element_oid = reader.i32()?;
    let lengths = (0..dimensions)
        .map(|_| {
            let length = reader.i32()?;
            let _lower_bound = reader.i32()?;
            usize::try_from(length).map_err(|_| "a negative array length".to_string())
        })
        .collect::<Result<Vec<usize>, String>>()?;
    if lengths.is_empty() {
        return Ok(Value::list([]));
    }
    let total: usize = lengths.iter().product();
    let mut flat = Vec::with_capacity(total.min(bytes.len()));
    for _ in 0..total {
        let length = reader.i32()?;
        flat.push(match usize::try_from(length) {
            Err(_) => Value::Null,
            Ok(length) => decode(reader.take(length)?, element)?,
        });
    }
    Ok(nest(&mut flat.into_iter(), &lengths))
}

fn nest(items: &mut impl Iterator<Item = Value>, lengths: &[usize]) -> Value {
    match lengths.split_first() {
        None | Some((_, [])) => Value::list(items.take(lengths.first().copied().unwrap_or(0))),
        Some((&outer, inner)) => {
            Value::list((0..outer).map(|_| nest(items, inner)).collect::<Vec<_>>())
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let slice = self
            .bytes
            .get(self.at..self.at + n)
            .ok_or_else(|| "an array value is cut short".to_string())?;
        self.at += n;
        Ok(slice)
    }

    fn i32(&mut self) -> Result<i32, String> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}
