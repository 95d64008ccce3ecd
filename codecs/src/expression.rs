//! CEL expressions over [`Value`]s: conditions, projections and computed
//! fields in specs, compiled once and evaluated per packet.
//!
//! This module owns compiling CEL source (the `cel` crate, standard library
//! and macros), binding a payload to the names an expression uses, and
//! converting between [`Value`] and CEL's values. It must not know where an
//! expression comes from (which spec field) or what a node does with the
//! result; and it must not expose `cel` types in its API, so the engine can
//! swap the interpreter without touching callers.
//!
//! # Binding
//!
//! The payload is bound as `self`. When it is a map, each of its keys that
//! the program references is also bound under its own name, so `a + b` works
//! on `{"a": 1, "b": 2}`. Only referenced names are bound: the names come
//! from the parsed program once, at compile time, so an evaluation converts
//! just what the expression can read, however wide the payload.
//!
//! Values are converted to CEL *borrowing* the payload's strings and bytes
//! (CEL values may borrow for the context's lifetime), so binding copies no
//! text; only list and map containers are rebuilt.

use std::collections::HashMap;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, LazyLock};

use cel::common::types::{
    CelBool, CelBytes, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelNull, CelString,
};
use cel::common::value::Val;
use cel::objects::{Key, OptionalValue};

use crate::value::{ErrorValue, Map, Value};

/// Why an expression could not be compiled or evaluated.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum ExpressionError {
    /// The source is not valid CEL; `message` gives each problem with its
    /// line and column.
    #[error("cannot compile expression `{source_text}`: {message}")]
    Compile {
        source_text: String,
        message: String,
    },
    /// Evaluation failed: an unbound name, a missing key, a type mismatch,
    /// division by zero, integer overflow...
    #[error("expression failed: {message}")]
    Eval { message: String },
    /// A condition gave something other than a bool.
    #[error("expression must give a bool, found {found}")]
    NotBool { found: &'static str },
}

/// A compiled CEL expression. Cloning shares the compiled program.
#[derive(Clone)]
pub struct Expression {
    inner: Arc<Compiled>,
}

struct Compiled {
    program: cel::Program,
    source: Arc<str>,
    /// The variable names the program reads, worked out once at compile time
    /// so each evaluation binds only these.
    references: Box<[Box<str>]>,
}

// Expressions are shared by node tasks on every runtime thread.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Expression>();
};

/// The standard environment, built once: building it registers every
/// standard function, too costly to repeat per evaluation as
/// `cel::Context::default()` would.
static ENV: LazyLock<Arc<cel::Env>> = LazyLock::new(|| Arc::new(cel::Env::stdlib()));

/// The name the whole payload is bound to.
const SELF: &str = "self";

impl Expression {
    /// Parses `source` as CEL. Fails with every syntax error found, each with
    /// its line and column.
    pub fn compile(source: &str) -> Result<Expression, ExpressionError> {
        // The parser is third-party code fed user input: should it panic, the
        // spec fails to compile instead of the engine going down.
        let parsed =
            catch_unwind(|| ENV.compile(source)).map_err(|panic| ExpressionError::Compile {
                source_text: source.to_owned(),
                message: format!("the CEL parser failed: {}", panic_message(&*panic)),
            })?;
        let program = parsed.map_err(|errors| ExpressionError::Compile {
            source_text: source.to_owned(),
            message: parse_message(&errors),
        })?;
        let mut references: Vec<Box<str>> = program
            .references()
            .variables()
            .into_iter()
            .map(Box::from)
            .collect();
        references.sort();
        Ok(Expression {
            inner: Arc::new(Compiled {
                program,
                source: source.into(),
                references: references.into_boxed_slice(),
            }),
        })
    }

    /// The CEL source this expression was compiled from.
    pub fn source(&self) -> &str {
        &self.inner.source
    }

    /// Evaluates with the payload bound as `self` and, when the payload is a
    /// map, each key that is a valid identifier and referenced by the program
    /// bound as a variable (only referenced ones are bound: it is cheap).
    pub fn eval(&self, payload: &Value) -> Result<Value, ExpressionError> {
        self.eval_with(payload, &[])
    }

    /// Same as [`eval`](Self::eval) plus extra named variables. They win
    /// over payload keys of the same name; `self` stays the payload (a
    /// variable named `self` is ignored).
    pub fn eval_with(
        &self,
        payload: &Value,
        vars: &[(&str, &Value)],
    ) -> Result<Value, ExpressionError> {
        let mut context = cel::Context::with_env(Arc::clone(&ENV));
        for name in &self.inner.references {
            let name: &str = name;
            let bound = if name == SELF {
                Some(payload)
            } else {
                vars.iter()
                    .find(|(var, _)| *var == name)
                    .map(|(_, value)| *value)
                    .or_else(|| payload.get(name))
            };
            // A name left unbound fails at evaluation with CEL's own
            // "undeclared reference" error, naming it.
            if let Some(value) = bound {
                context.add_variable_as_val(name, to_cel(value));
            }
        }
        // As in `compile`: a panic inside the interpreter fails this packet,
        // not the node.
        let result = catch_unwind(AssertUnwindSafe(|| self.inner.program.execute(&context)))
            .map_err(|panic| ExpressionError::Eval {
                message: format!("the CEL interpreter failed: {}", panic_message(&*panic)),
            })?;
        let value = result.map_err(|e| ExpressionError::Eval {
            message: e.to_string(),
        })?;
        from_cel(&value)
    }

    /// Evaluates a condition: the result must be a bool.
    pub fn eval_bool(&self, payload: &Value) -> Result<bool, ExpressionError> {
        match self.eval(payload)? {
            Value::Bool(b) => Ok(b),
            other => Err(ExpressionError::NotBool {
                found: other.type_name(),
            }),
        }
    }
}

impl fmt::Debug for Expression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Expression").field(&self.source()).finish()
    }
}

/// Every parse error with its position, `line L column C: message`, joined
/// with `; ` so a spec validator can show them on one line.
fn parse_message(errors: &cel::ParseErrors) -> String {
    if errors.errors.is_empty() {
        return errors.to_string();
    }
    errors
        .errors
        .iter()
        .map(|e| format!("line {} column {}: {}", e.pos.0, e.pos.1, e.msg))
        .collect::<Vec<_>>()
        .join("; ")
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s
    } else {
        "panic"
    }
}

/// A value as CEL sees it, borrowing its strings and bytes. An error becomes
/// the map `{"error": message, "code": .., "status": .., "details": ..}`
/// (absent fields as null), so expressions can inspect failures.
fn to_cel<'v>(value: &'v Value) -> Box<dyn Val + 'v> {
    match value {
        Value::Null => Box::new(CelNull),
        Value::Bool(b) => Box::new(CelBool::from(*b)),
        Value::Int(i) => Box::new(CelInt::from(*i)),
        Value::Float(f) => Box::new(CelDouble::from(*f)),
        Value::String(s) => Box::new(CelString::from(&**s)),
        Value::Bytes(b) => Box::new(CelBytes::from(&b[..])),
        Value::List(items) => Box::new(CelList::from(items.iter().map(to_cel).collect::<Vec<_>>())),
        Value::Map(map) => Box::new(CelMap::from(
            map.iter()
                .map(|(k, v)| (CelMapKey::from(&**k), to_cel(v)))
                .collect::<HashMap<_, _>>(),
        )),
        Value::Error(error) => error_to_cel(error),
    }
}

fn error_to_cel(error: &ErrorValue) -> Box<dyn Val + '_> {
    let code: Box<dyn Val> = match &error.code {
        Some(code) => Box::new(CelString::from(code.as_str())),
        None => Box::new(CelNull),
    };
    let status: Box<dyn Val> = match error.status {
        Some(status) => Box::new(CelInt::from(i64::from(status))),
        None => Box::new(CelNull),
    };
    let fields: HashMap<CelMapKey<'_>, Box<dyn Val + '_>> = HashMap::from([
        (
            CelMapKey::from("error"),
            Box::new(CelString::from(error.message.as_str())) as Box<dyn Val>,
        ),
        (CelMapKey::from("code"), code),
        (CelMapKey::from("status"), status),
        (CelMapKey::from("details"), to_cel(&error.details)),
    ]);
    Box::new(CelMap::from(fields))
}

/// A CEL result as a [`Value`]. A `uint` beyond `i64` becomes a float; map
/// keys that are not strings become their text; an optional becomes its
/// value or null. CEL maps are unordered, so keys come out sorted, making
/// the same result always serialise the same way.
fn from_cel(value: &cel::Value) -> Result<Value, ExpressionError> {
    Ok(match value {
        cel::Value::Null => Value::Null,
        cel::Value::Bool(b) => Value::Bool(*b),
        cel::Value::Int(i) => Value::Int(*i),
        cel::Value::UInt(u) => i64::try_from(*u).map_or(Value::Float(*u as f64), Value::Int),
        cel::Value::Float(f) => Value::Float(*f),
        cel::Value::String(s) => Value::String(Arc::from(s.as_str())),
        cel::Value::Bytes(b) => Value::Bytes(bytes::Bytes::copy_from_slice(b)),
        cel::Value::List(items) => Value::List(Arc::new(
            items.iter().map(from_cel).collect::<Result<_, _>>()?,
        )),
        cel::Value::Map(map) => {
            let mut entries = map
                .map
                .iter()
                .map(|(k, v)| Ok((key_text(k), from_cel(v)?)))
                .collect::<Result<Vec<_>, ExpressionError>>()?;
            entries.sort_by(|(a, _), (b, _)| a.cmp(b));
            Value::Map(Arc::new(entries.into_iter().collect::<Map>()))
        }
        cel::Value::Opaque(opaque) => match opaque.downcast_ref::<OptionalValue>() {
            Some(optional) => match optional.value() {
                Some(inner) => from_cel(inner)?,
                None => Value::Null,
            },
            None => return Err(unsupported(value)),
        },
        cel::Value::Function(..) | cel::Value::Struct(_) => return Err(unsupported(value)),
        // Variants behind cel features this crate does not enable (e.g.
        // `chrono`'s durations and timestamps): a workspace crate enabling
        // one must not break this match. Should it happen, their results are
        // refused here rather than guessed at.
        #[allow(unreachable_patterns)]
        _ => return Err(unsupported(value)),
    })
}

fn unsupported(value: &cel::Value) -> ExpressionError {
    ExpressionError::Eval {
        message: format!(
            "the result has CEL type `{}`, which has no Value equivalent",
            value.type_of()
        ),
    }
}

fn key_text(key: &Key) -> Arc<str> {
    match key {
        Key::String(s) => Arc::from(s.as_str()),
        Key::Int(i) => i.to_string().into(),
        Key::Uint(u) => u.to_string().into(),
        Key::Bool(b) => b.to_string().into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), ExpressionError>;

    fn eval(source: &str, payload: &Value) -> Result<Value, ExpressionError> {
        Expression::compile(source)?.eval(payload)
    }

    fn ab() -> Value {
        Value::map([("a", Value::from(1)), ("b", Value::from(2))])
    }

    #[test]
    fn self_is_the_payload() -> TestResult {
        assert_eq!(eval("self * 2", &Value::from(21))?, Value::Int(42));
        assert!(Expression::compile("self > 40")?.eval_bool(&Value::from(41))?);
        assert!(!Expression::compile("self > 40")?.eval_bool(&Value::from(40))?);
        assert_eq!(eval("self.a + self.b", &ab())?, Value::Int(3));
        assert_eq!(eval("self", &ab())?, ab());
        Ok(())
    }

    #[test]
    fn payload_keys_are_variables() -> TestResult {
        assert_eq!(eval("a + b", &ab())?, Value::Int(3));
        // Keys that are not identifiers stay reachable through `self`.
        let payload = Value::map([("content-type", Value::from("json"))]);
        assert_eq!(
            eval(r#"self["content-type"]"#, &payload)?,
            Value::from("json")
        );
        Ok(())
    }

    #[test]
    fn only_referenced_names_are_bound() -> TestResult {
        let expression = Expression::compile("a + self.b")?;
        assert_eq!(
            &*expression.inner.references,
            [Box::from("a"), "self".into()]
        );
        Ok(())
    }

    #[test]
    fn extra_variables_win_over_payload_keys() -> TestResult {
        let expression = Expression::compile("a + b + self.a")?;
        let ten = Value::from(10);
        assert_eq!(
            expression.eval_with(&ab(), &[("a", &ten), ("self", &ten)])?,
            Value::Int(10 + 2 + 1)
        );
        let env = Value::map([("region", Value::from("eu"))]);
        assert_eq!(
            Expression::compile("env.region")?.eval_with(&Value::Null, &[("env", &env)])?,
            Value::from("eu")
        );
        Ok(())
    }

    #[test]
    fn maps_and_lists() -> TestResult {
        let result = eval(r#"{"y": [1, 2], "x": a}"#, &ab())?;
        assert_eq!(
            result,
            Value::map([
                ("x", Value::from(1)),
                ("y", Value::list([Value::from(1), Value::from(2)])),
            ])
        );
        // Non-string keys come back as text.
        assert_eq!(
            eval("{1: 'one', true: 'yes'}", &Value::Null)?,
            Value::map([("1", Value::from("one")), ("true", Value::from("yes"))])
        );
        Ok(())
    }

    #[test]
    fn functions_and_macros() -> TestResult {
        let payload = Value::map([
            ("name", Value::from("xavier")),
            (
                "items",
                Value::list([Value::from(1), Value::from(2), Value::from(3)]),
            ),
            ("raw", Value::Bytes(bytes::Bytes::from_static(b"abc"))),
            ("ratio", Value::from(0.5)),
            ("nothing", Value::Null),
        ]);
        assert_eq!(
            eval(r#"name.startsWith("x")"#, &payload)?,
            Value::Bool(true)
        );
        assert_eq!(eval("size(items)", &payload)?, Value::Int(3));
        assert_eq!(
            eval("items.map(i, i * 2)", &payload)?,
            Value::list([Value::from(2), Value::from(4), Value::from(6)])
        );
        assert_eq!(
            eval("items.filter(i, i > 1)", &payload)?
                .as_list()
                .map(<[_]>::len),
            Some(2)
        );
        assert_eq!(eval("items.all(i, i > 0)", &payload)?, Value::Bool(true));
        assert_eq!(eval("has(self.name)", &payload)?, Value::Bool(true));
        assert_eq!(eval("has(self.missing)", &payload)?, Value::Bool(false));
        assert_eq!(eval("size(raw)", &payload)?, Value::Int(3));
        assert_eq!(
            eval("raw", &payload)?,
            Value::Bytes(bytes::Bytes::from_static(b"abc"))
        );
        assert_eq!(eval("ratio * 2.0", &payload)?, Value::Float(1.0));
        assert_eq!(eval("nothing == null", &payload)?, Value::Bool(true));
        assert_eq!(eval("name.matches('^x.*r$')", &payload)?, Value::Bool(true));
        assert_eq!(eval("3u", &payload)?, Value::Int(3));
        assert_eq!(
            eval("18446744073709551615u", &payload)?,
            Value::Float(18446744073709551615.0)
        );
        Ok(())
    }

    #[test]
    fn errors_are_visible_as_maps() -> TestResult {
        let payload = Value::error(ErrorValue::new("boom").with_status(503));
        assert_eq!(eval("self.error", &payload)?, Value::from("boom"));
        assert_eq!(eval("self.status", &payload)?, Value::Int(503));
        assert_eq!(eval("self.code == null", &payload)?, Value::Bool(true));
        Ok(())
    }

    #[test]
    fn bad_syntax_is_a_compile_error() {
        let err = Expression::compile("a + (b").err();
        let Some(ExpressionError::Compile {
            source_text,
            message,
        }) = err
        else {
            panic!("expected a compile error, got {err:?}")
        };
        assert_eq!(source_text, "a + (b");
        assert!(message.starts_with("line 1 column "), "{message}");
        assert!(matches!(
            Expression::compile(""),
            Err(ExpressionError::Compile { .. })
        ));
        assert!(matches!(
            Expression::compile("let x = 1"),
            Err(ExpressionError::Compile { .. })
        ));
    }

    #[test]
    fn runtime_failures_are_eval_errors() {
        let is_eval = |source: &str, payload: &Value| {
            matches!(eval(source, payload), Err(ExpressionError::Eval { .. }))
        };
        assert!(is_eval("1 / 0", &Value::Null));
        assert!(is_eval("1 % 0", &Value::Null));
        assert!(is_eval("9223372036854775807 + 1", &Value::Null));
        assert!(is_eval("-9223372036854775808 - 1", &Value::Null));
        assert!(is_eval("missing + 1", &Value::Null));
        assert!(is_eval("self.missing", &ab()));
        assert!(is_eval("a + 'x'", &ab()));
        assert!(is_eval("[1, 2][5]", &Value::Null));
        let Err(ExpressionError::Eval { message }) = eval("missing + 1", &ab()) else {
            panic!("expected an eval error")
        };
        assert!(message.contains("missing"), "{message}");
    }

    #[test]
    fn eval_bool_refuses_other_types() -> TestResult {
        let expression = Expression::compile("self + 1")?;
        assert_eq!(
            expression.eval_bool(&Value::from(1)),
            Err(ExpressionError::NotBool { found: "int" })
        );
        Ok(())
    }

    #[test]
    fn clones_share_the_program_and_keep_the_source() -> TestResult {
        let expression = Expression::compile("self")?;
        let copy = expression.clone();
        assert!(Arc::ptr_eq(&expression.inner, &copy.inner));
        assert_eq!(copy.source(), "self");
        assert_eq!(format!("{copy:?}"), r#"Expression("self")"#);
        Ok(())
    }

    #[test]
    fn usable_across_threads() -> TestResult {
        let expression = Expression::compile("self * 2")?;
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let expression = expression.clone();
                std::thread::spawn(move || expression.eval(&Value::from(i)))
            })
            .collect();
        for (i, handle) in handles.into_iter().enumerate() {
            let result = handle.join().map_err(|_| ExpressionError::Eval {
                message: "thread panicked".into(),
            })??;
            assert_eq!(result, Value::Int(2 * i as i64));
        }
        Ok(())
    }
}
