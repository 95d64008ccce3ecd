//! Converting between [`Value`] and JavaScript values, both ways.
//!
//! Into JavaScript: null, booleans, strings, lists and maps as themselves;
//! an int as a number when it fits 2^53 exactly, else as a `BigInt`; bytes
//! as a `Uint8Array`; an error as `{error, code, status, details}` (the
//! shape CEL sees too). Back from JavaScript: `undefined` is null; a whole
//! number within ±2^53 is an int, other numbers floats; a `BigInt` within
//! 64 bits an int; a `Uint8Array` or `ArrayBuffer` bytes; an `Error` an
//! error (its `code`, `status` and `details` properties kept); an object
//! with `toJSON` (a `Date`) what that returns; any other object its own
//! enumerable string-keyed properties, in order. What has no value form (a
//! function, a symbol, an unsettled promise, a structure nested beyond
//! [`MAX_DEPTH`], which is how a cycle shows) is a [`ConvertError`] naming
//! it and where it was found. Nothing here runs outside a context.

use std::fmt::Write as _;

use rquickjs::{Array, ArrayBuffer, BigInt, Ctx, Exception, Object, Type, TypedArray, Value as Js};
use weir_codecs::{ErrorValue, Map, Value};

/// How deep a value may nest, either way; a cycle ends here.
pub const MAX_DEPTH: usize = 256;

/// The largest integer a JavaScript number holds exactly.
const SAFE: i64 = 1 << 53;

/// Why a value could not cross between Rust and JavaScript.
#[derive(Debug)]
pub enum ConvertError {
    /// A JavaScript value with no [`Value`] form, and where it was.
    Unsupported { what: String, at: String },
    /// The engine failed (an exception, or no memory) while converting.
    Engine(rquickjs::Error),
}

impl From<rquickjs::Error> for ConvertError {
    fn from(e: rquickjs::Error) -> ConvertError {
        ConvertError::Engine(e)
    }
}

/// `value` as a JavaScript value in `ctx`.
pub fn to_js<'js>(ctx: &Ctx<'js>, value: &Value) -> rquickjs::Result<Js<'js>> {
    Ok(match value {
        Value::Null => Js::new_null(ctx.clone()),
        Value::Bool(b) => Js::new_bool(ctx.clone(), *b),
        Value::Int(i) => match i32::try_from(*i) {
            Ok(small) => Js::new_int(ctx.clone(), small),
            Err(_) if (-SAFE..=SAFE).contains(i) => Js::new_float(ctx.clone(), *i as f64),
            Err(_) => BigInt::from_i64(ctx.clone(), *i)?.into_value(),
        },
        Value::Float(f) => Js::new_float(ctx.clone(), *f),
        Value::String(s) => rquickjs::String::from_str(ctx.clone(), s)?.into_value(),
        Value::Bytes(b) => TypedArray::<u8>::new_copy(ctx.clone(), &b[..])?.into_value(),
        Value::List(items) => {
            let array = Array::new(ctx.clone())?;
            for (i, item) in items.iter().enumerate() {
                array.set(i, to_js(ctx, item)?)?;
            }
            array.into_value()
        }
        Value::Map(map) => {
            let object = Object::new(ctx.clone())?;
            for (key, item) in map.iter() {
                object.set(&**key, to_js(ctx, item)?)?;
            }
            object.into_value()
        }
        Value::Error(error) => {
            let object = Object::new(ctx.clone())?;
            object.set("error", error.message.as_str())?;
            let code = match &error.code {
                Some(code) => rquickjs::String::from_str(ctx.clone(), code)?.into_value(),
                None => Js::new_null(ctx.clone()),
            };
            let status = match error.status {
                Some(status) => Js::new_int(ctx.clone(), i32::from(status)),
                None => Js::new_null(ctx.clone()),
            };
            object.set("code", code)?;
            object.set("status", status)?;
            object.set("details", to_js(ctx, &error.details)?)?;
            object.into_value()
        }
    })
}

/// `value` as a [`Value`]; `at` names where it was found, for messages.
pub fn from_js<'js>(ctx: &Ctx<'js>, value: &Js<'js>) -> Result<Value, ConvertError> {
    let mut at = String::from("the answer");
    convert(ctx, value, &mut at, 0)
}

fn convert<'js>(
    ctx: &Ctx<'js>,
    value: &Js<'js>,
    at: &mut String,
    depth: usize,
) -> Result<Value, ConvertError> {
    if depth > MAX_DEPTH {
        return Err(unsupported(
            format!("a structure nested deeper than {MAX_DEPTH} levels (is it circular?)"),
            at,
        ));
    }
    match value.type_of() {
        Type::Undefined | Type::Null | Type::Uninitialized => Ok(Value::Null),
        Type::Bool => Ok(Value::Bool(value.as_bool().unwrap_or_default())),
        Type::Int => Ok(Value::Int(
            value.as_int().map(i64::from).unwrap_or_default(),
        )),
        Type::Float => Ok(number(value.as_float().unwrap_or(f64::NAN))),
        Type::String => Ok(Value::string(value.get::<String>()?)),
        Type::BigInt => {
            let big = value.clone().into_big_int().map(BigInt::to_i64);
            match big {
                Some(Ok(i)) => Ok(Value::Int(i)),
                _ => Err(unsupported("a BigInt beyond 64 bits", at)),
            }
        }
        Type::Array => {
            let array = value
                .as_array()
                .ok_or_else(|| unsupported("an array", at))?;
            let mut items = Vec::with_capacity(array.len());
            for (i, item) in array.iter::<Js>().enumerate() {
                let mark = at.len();
                let _ = write!(at, "[{i}]");
                items.push(convert(ctx, &item?, at, depth + 1)?);
                at.truncate(mark);
            }
            Ok(Value::list(items))
        }
        Type::Exception => Ok(Value::error(error(ctx, value, at, depth)?)),
        Type::Object | Type::Proxy => object(ctx, value, at, depth),
        Type::Function | Type::Constructor => Err(unsupported("a function", at)),
        Type::Symbol => Err(unsupported("a symbol", at)),
        Type::Promise => Err(unsupported("a promise (`await` it before returning)", at)),
        other => Err(unsupported(format!("a JavaScript {other}"), at)),
    }
}

/// A JavaScript number: whole numbers JavaScript holds exactly are ints.
fn number(f: f64) -> Value {
    let whole = f.fract() == 0.0 && f.abs() <= SAFE as f64;
    match whole {
        true => Value::Int(f as i64),
        false => Value::Float(f),
    }
}

fn object<'js>(
    ctx: &Ctx<'js>,
    value: &Js<'js>,
    at: &mut String,
    depth: usize,
) -> Result<Value, ConvertError> {
    let object = value
        .as_object()
        .ok_or_else(|| unsupported("an object", at))?;
    if let Ok(bytes) = TypedArray::<u8>::from_object(object.clone()) {
        return Ok(Value::Bytes(copy(bytes.as_raw())));
    }
    if let Some(buffer) = ArrayBuffer::from_object(object.clone()) {
        return Ok(Value::Bytes(copy(buffer.as_raw())));
    }
    let to_json: Js = object.get("toJSON")?;
    if let Some(to_json) = to_json.as_function() {
        let json: Js = to_json.call((rquickjs::function::This(object.clone()),))?;
        return convert(ctx, &json, at, depth + 1);
    }
    let mut map = Map::new();
    for entry in object.props::<String, Js>() {
        let (key, item) = entry?;
        let mark = at.len();
        let _ = write!(at, ".{key}");
        let item = convert(ctx, &item, at, depth + 1)?;
        at.truncate(mark);
        map.insert(key.into(), item);
    }
    Ok(Value::from(map))
}

/// Copies a buffer's bytes out before any more JavaScript runs.
fn copy(raw: Option<std::ptr::NonNull<[u8]>>) -> bytes::Bytes {
    match raw {
        // SAFETY: the pointer comes from a live buffer of this context and
        // is read at once, before control returns to JavaScript, which is
        // the validity `as_raw` documents. A detached buffer gives `None`.
        Some(raw) => bytes::Bytes::copy_from_slice(unsafe { raw.as_ref() }),
        None => bytes::Bytes::new(),
    }
}

/// An `Error` object as an error value: `message`, plus `code`, `status`
/// (400–599) and `details` when the script set them.
pub fn error<'js>(
    ctx: &Ctx<'js>,
    value: &Js<'js>,
    at: &mut String,
    depth: usize,
) -> Result<ErrorValue, ConvertError> {
    let Some(exception) = value.clone().into_exception() else {
        return Err(unsupported("an error", at));
    };
    let mut error = ErrorValue::new(describe(&exception)).with_code("script");
    let object = exception.as_object();
    if let Ok(code) = object.get::<_, String>("code") {
        error = error.with_code(&code);
    }
    if let Ok(status) = object.get::<_, f64>("status")
        && (400.0..=599.0).contains(&status)
        && status.fract() == 0.0
    {
        error = error.with_status(status as u16);
    }
    let details: Js = object.get("details")?;
    if !details.is_undefined() {
        let mark = at.len();
        at.push_str(".details");
        error = error.with_details(convert(ctx, &details, at, depth + 1)?);
        at.truncate(mark);
    }
    Ok(error)
}

/// `Name: message (line L, column C)`, the way an error reads in a log.
pub fn describe(exception: &Exception<'_>) -> String {
    let name: String = exception
        .as_object()
        .get("name")
        .unwrap_or_else(|_| "Error".to_string());
    let message = exception.message().unwrap_or_default();
    let mut text = match message.is_empty() {
        true => name,
        false => format!("{name}: {message}"),
    };
    if let Some((line, column)) = exception.stack().as_deref().and_then(location) {
        let _ = write!(text, " (line {line}, column {column})");
    }
    text
}

/// The `line:column` of a stack's first frame, e.g. `at f (calc.js:3:11)`.
fn location(stack: &str) -> Option<(u32, u32)> {
    let frame = stack.lines().find(|l| l.trim_start().starts_with("at "))?;
    let frame = frame.trim().trim_end_matches(')');
    let mut parts = frame.rsplit(':');
    let column = parts.next()?.parse().ok()?;
    let line = parts.next()?.parse().ok()?;
    Some((line, column))
}

/// A thrown value that is not an `Error`: its text, or its JSON form.
pub fn thrown<'js>(ctx: &Ctx<'js>, value: &Js<'js>) -> ErrorValue {
    if let Some(text) = value.as_string().and_then(|s| s.to_string().ok()) {
        return ErrorValue::new(text).with_code("script");
    }
    let mut at = String::from("the thrown value");
    match convert(ctx, value, &mut at, 0) {
        Ok(details) => ErrorValue::new(format!("uncaught {details}"))
            .with_code("script")
            .with_details(details),
        Err(_) => ErrorValue::new(format!("uncaught {}", value.type_name())).with_code("script"),
    }
}

fn unsupported(what: impl Into<String>, at: &str) -> ConvertError {
    ConvertError::Unsupported {
        what: what.into(),
        at: at.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_frames_give_line_and_column() {
        assert_eq!(location("    at f (calc.js:3:11)\n"), Some((3, 11)));
        assert_eq!(location("    at calc.js:1:2\n"), Some((1, 2)));
        assert_eq!(location("nothing here"), None);
    }

    #[test]
    fn whole_numbers_come_back_as_ints() {
        assert_eq!(number(3.0), Value::Int(3));
        assert_eq!(number(-0.0), Value::Int(0));
        assert_eq!(number(2.5), Value::Float(2.5));
        assert_eq!(number(1e300), Value::Float(1e300));
        assert!(matches!(number(f64::NAN), Value::Float(f) if f.is_nan()));
    }
}
