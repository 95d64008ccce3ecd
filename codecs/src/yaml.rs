//! YAML conversions of [`Value`], through `serde_yaml_ng`.
//!
//! This module owns reading YAML text into a value and writing a value as
//! YAML, with errors that say where the text went wrong. It writes in the
//! JSON data model (bytes as base64 text, errors as `{"error": ...}`, see
//! `json.rs`), so a value reads the same whichever of the two it was written
//! in. It must not define how values look (that is `value.rs`) nor parse
//! anything but YAML.

use crate::json::JsonView;
use crate::limits::{LimitError, MAX_DEPTH, check_yaml, is_recursion_limit};
use crate::value::Value;

/// YAML text that failed to parse or a value that failed to serialise.
/// `line` and `column` are 1-based, and present when the YAML library knows
/// where the problem is.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[error("{}", display(.line, .column, .message))]
pub struct YamlError {
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

fn display(line: &Option<usize>, column: &Option<usize>, message: &str) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!("line {line} column {column}: {message}"),
        (Some(line), None) => format!("line {line}: {message}"),
        _ => message.to_owned(),
    }
}

impl From<LimitError> for YamlError {
    fn from(e: LimitError) -> Self {
        let line = match e {
            LimitError::TooDeep { line, .. } => Some(line),
            LimitError::TooLarge { .. } => None,
        };
        let message = match e {
            LimitError::TooDeep { limit, .. } => too_deep(limit),
            other => other.to_string(),
        };
        YamlError {
            line,
            column: None,
            message,
        }
    }
}

/// The message for nesting beyond [`MAX_DEPTH`], however it was found.
fn too_deep(limit: usize) -> String {
    format!("lists and maps nest deeper than {limit} levels")
}

impl From<serde_yaml_ng::Error> for YamlError {
    fn from(e: serde_yaml_ng::Error) -> Self {
        let full = e.to_string();
        let full = match is_recursion_limit(&full) {
            true => too_deep(MAX_DEPTH),
            false => full,
        };
        match e.location() {
            Some(at) => {
                let (line, column) = (at.line(), at.column());
                // The library writes the position into its message; we carry
                // it in fields, so remove it from the text once.
                let marker = format!(" at line {line} column {column}");
                let message = full.replacen(&marker, "", 1);
                YamlError {
                    line: Some(line),
                    column: Some(column),
                    message,
                }
            }
            None => YamlError {
                line: None,
                column: None,
                message: full,
            },
        }
    }
}

/// Parses one YAML document. Non-string keys become their JSON text
/// (`1: a` gives the key `"1"`), and a tagged node `!tag x` becomes
/// `{"tag": x}`. An empty document is `null`. A map that repeats a key is
/// refused, naming the key. Text beyond the limits of `limits.rs` is
/// refused before it is parsed.
pub fn from_str(s: &str) -> Result<Value, YamlError> {
    check_yaml(s)?;
    Ok(serde_yaml_ng::from_str(s)?)
}

/// Writes a value as a YAML document (ending with a newline).
pub fn to_string(v: &Value) -> Result<String, YamlError> {
    Ok(serde_yaml_ng::to_string(&JsonView(v))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::ErrorValue;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn round_trip_nested() -> TestResult {
        let text = "\
kind: http
name: héllo ✓ 🦀
ports:
  out:
  - name: next
    port: in
limits:
  big: 9223372036854775807
  ratio: 0.5
  neg: -3
  none: null
  flag: true
";
        let v = from_str(text)?;
        assert_eq!(
            v.get("limits").and_then(|l| l.get("big")),
            Some(&Value::Int(i64::MAX))
        );
        assert_eq!(
            v.get("limits").and_then(|l| l.get("ratio")),
            Some(&Value::Float(0.5))
        );
        assert_eq!(v.get("name").and_then(Value::as_str), Some("héllo ✓ 🦀"));
        assert_eq!(to_string(&v)?, text);
        assert_eq!(from_str(&to_string(&v)?)?, v);
        // YAML and JSON agree on the data.
        let json = crate::json::from_str(&crate::json::to_string(&v))?;
        assert_eq!(json, v);
        Ok(())
    }

    #[test]
    fn non_string_keys_become_text() -> TestResult {
        let v = from_str("1: one\ntrue: yes\nnull: nothing\n1.5: f\n")?;
        let keys: Vec<&str> = v
            .as_map()
            .into_iter()
            .flat_map(|m| m.keys())
            .map(|k| &**k)
            .collect();
        assert_eq!(keys, ["1", "true", "null", "1.5"]);
        Ok(())
    }

    #[test]
    fn tags_keep_their_content() -> TestResult {
        let v = from_str("a: !secret db-password\n")?;
        assert_eq!(
            v.get("a"),
            Some(&Value::map([("secret", Value::from("db-password"))]))
        );
        Ok(())
    }

    #[test]
    fn bytes_floats_and_errors_write_as_json_model() -> TestResult {
        let v = Value::map([
            ("b", Value::Bytes(bytes::Bytes::from_static(b"foo"))),
            ("f", Value::Float(2.0)),
            ("e", Value::error(ErrorValue::new("boom").with_code("x"))),
        ]);
        assert_eq!(
            to_string(&v)?,
            "b: Zm9v\nf: 2.0\ne:\n  error:\n    message: boom\n    code: x\n"
        );
        Ok(())
    }

    #[test]
    fn empty_document_is_null() -> TestResult {
        assert_eq!(from_str("")?, Value::Null);
        Ok(())
    }

    #[test]
    fn errors_carry_position() {
        let Err(err) = from_str("a: 1\nb:\n  - x\n  y: 2\n") else {
            panic!("expected an error")
        };
        assert_eq!((err.line, err.column), (Some(4), Some(3)));
        // The position is said once, up front; the context libyaml adds
        // (where the enclosing collection started) stays in the message.
        assert_eq!(
            err.to_string(),
            "line 4 column 3: did not find expected '-' indicator, \
             while parsing a block collection at line 3 column 3"
        );

        let Err(err) = from_str("a: [1, 2\n") else {
            panic!("expected an error")
        };
        assert!(err.line.is_some(), "{err:?}");
    }

    #[test]
    fn duplicate_keys_and_deep_nesting_are_refused() {
        let err = from_str("a: 1\nb:\n  c: 1\n  c: 2\n").err();
        assert!(
            err.as_ref()
                .is_some_and(|e| e.message == "b: duplicate key `c`"),
            "{err:?}"
        );
        // Flow nesting is refused before parsing, block nesting while
        // building: the same message either way.
        let flow = "{a: ".repeat(200_000);
        let err = from_str(&flow).err();
        assert!(
            err.as_ref()
                .is_some_and(|e| e.line == Some(1)
                    && e.message == "lists and maps nest deeper than 127 levels"),
            "{err:?}"
        );
        let block: String = (0..200).map(|n| format!("{}k:\n", " ".repeat(n))).collect();
        let err = from_str(&block).err();
        assert!(
            err.as_ref()
                .is_some_and(|e| e.message.starts_with("lists and maps nest deeper than 127")),
            "{err:?}"
        );
    }
}
