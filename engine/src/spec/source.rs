//! Reading specs from text, files and folders.
//!
//! Accepts YAML (one spec, a list of specs, or several `---` documents) and
//! JSON (one spec or a list). A folder is read recursively, its `.yaml`,
//! `.yml` and `.json` files in name order. Every problem becomes a
//! [`Diagnostic`] naming the file, the spec and, where the parser gives it,
//! the line. Nothing here knows about kinds.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::DeserializeOwned;

use super::Spec;
use crate::diagnostic::{Diagnostic, Diagnostics, FieldError, Origin};

/// A spec and where it was read from.
#[derive(Clone, Debug, PartialEq)]
pub struct Sourced {
    /// Where it came from, for messages.
    pub origin: Origin,
    /// The spec.
    pub spec: Spec,
}

/// The text formats specs may be written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// YAML, including several `---` documents in one text.
    Yaml,
    /// JSON: one object or an array.
    Json,
}

impl Format {
    /// The format a file name implies, if it is a spec file.
    pub fn of(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()? {
            "yaml" | "yml" => Some(Format::Yaml),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

/// Reads a file, or every spec file below a folder.
pub fn read_path(path: &Path) -> Result<Vec<Sourced>, Diagnostics> {
    read_path_as::<Spec>(path).map(sourced)
}

/// Reads documents of any type (specs, values) from a file or folder.
pub fn read_path_as<T: DeserializeOwned>(path: &Path) -> Result<Vec<(Origin, T)>, Diagnostics> {
    let mut files = Vec::new();
    let mut problems = Diagnostics::default();
    collect_files(path, &mut files, &mut problems);
    let mut found = Vec::new();
    for file in files {
        let label: Arc<str> = file.display().to_string().into();
        match std::fs::read_to_string(&file) {
            Ok(text) => {
                let format = Format::of(&file).unwrap_or(Format::Yaml);
                match parse_as::<T>(&text, format, Some(label)) {
                    Ok(documents) => found.extend(documents),
                    Err(e) => problems.0.extend(e.0),
                }
            }
            Err(e) => problems.extend(&file_origin(label), [FieldError::new("", e.to_string())]),
        }
    }
    problems.into_result(found)
}

fn collect_files(path: &Path, files: &mut Vec<PathBuf>, problems: &mut Diagnostics) {
    let label: Arc<str> = path.display().to_string().into();
    if !path.is_dir() {
        match path.exists() {
            true => files.push(path.to_path_buf()),
            false => problems.extend(
                &file_origin(label),
                [FieldError::new("", "no such file or folder")],
            ),
        }
        return;
    }
    let entries = match std::fs::read_dir(path) {
        Ok(entries) => entries,
        Err(e) => {
            problems.extend(&file_origin(label), [FieldError::new("", e.to_string())]);
            return;
        }
    };
    let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    children.sort();
    for child in children {
        if child.is_dir() {
            collect_files(&child, files, problems);
        } else if Format::of(&child).is_some() {
            files.push(child);
        }
    }
}

fn file_origin(file: Arc<str>) -> Origin {
    Origin {
        file: Some(file),
        ..Origin::default()
    }
}

/// Parses specs from text. `file` labels the messages.
pub fn parse(
    text: &str,
    format: Format,
    file: Option<Arc<str>>,
) -> Result<Vec<Sourced>, Diagnostics> {
    parse_as::<Spec>(text, format, file).map(sourced)
}

/// Parses documents of any type from text.
pub fn parse_as<T: DeserializeOwned>(
    text: &str,
    format: Format,
    file: Option<Arc<str>>,
) -> Result<Vec<(Origin, T)>, Diagnostics> {
    let documents = match format {
        Format::Json => parse_json(text, &file)?,
        Format::Yaml => parse_yaml(text, &file)?,
    };
    decode_all(documents, &file)
}

fn decode_all<T: DeserializeOwned>(
    documents: Vec<Document>,
    file: &Option<Arc<str>>,
) -> Result<Vec<(Origin, T)>, Diagnostics> {
    let mut found = Vec::new();
    let mut problems = Diagnostics::default();
    for (origin, document) in items(documents, file) {
        match decode(document, origin) {
            Ok(decoded) => found.push(decoded),
            Err(problem) => problems.0.push(*problem),
        }
    }
    problems.into_result(found)
}

/// Decodes documents already parsed (one, or a list), as
/// [`parse_as`] does after parsing: every problem with its spec and field.
/// `file` labels the messages.
pub fn from_json<T: DeserializeOwned>(
    document: serde_json::Value,
    file: Option<Arc<str>>,
) -> Result<Vec<(Origin, T)>, Diagnostics> {
    decode_all(vec![(document, None)], &file)
}

/// Specs as [`Sourced`], from [`from_json`]'s documents.
pub fn sourced(documents: Vec<(Origin, Spec)>) -> Vec<Sourced> {
    documents
        .into_iter()
        .map(|(origin, spec)| Sourced { origin, spec })
        .collect()
}

/// A parsed document and the line it starts on, if known.
type Document = (serde_json::Value, Option<usize>);

fn parse_json(text: &str, file: &Option<Arc<str>>) -> Result<Vec<Document>, Diagnostics> {
    // Through `Value`, which refuses repeated keys; serde_json bounds depth.
    weir_codecs::json::from_str(text)
        .map(|v| vec![(weir_codecs::json::to_json(&v), None)])
        .map_err(|e| {
            let origin = Origin {
                file: file.clone(),
                line: Some(e.line),
                ..Origin::default()
            };
            single(&origin, FieldError::new("", format!("invalid JSON: {e}")))
        })
}

fn parse_yaml(text: &str, file: &Option<Arc<str>>) -> Result<Vec<Document>, Diagnostics> {
    let refuse = |index, e: weir_codecs::yaml::YamlError| {
        let origin = Origin {
            file: file.clone(),
            index,
            line: e.line,
            ..Origin::default()
        };
        single(&origin, FieldError::new("", format!("invalid YAML: {e}")))
    };
    // Size and flow depth first: libyaml's cost grows with their product.
    weir_codecs::limits::check_yaml(text).map_err(|e| refuse(0, e.into()))?;
    let starts = document_lines(text);
    let mut documents = Vec::new();
    for (i, document) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        // Through `Value`, which refuses repeated keys.
        let value: weir_codecs::Value =
            serde::Deserialize::deserialize(document).map_err(|e| refuse(i, e.into()))?;
        if !value.is_null() {
            documents.push((weir_codecs::json::to_json(&value), starts.get(i).copied()));
        }
    }
    Ok(documents)
}

/// The first line of each `---`-separated document (1-based).
fn document_lines(text: &str) -> Vec<usize> {
    let mut starts = vec![1];
    for (n, line) in text.lines().enumerate() {
        if line.starts_with("---") && n > 0 {
            starts.push(n + 2);
        }
    }
    starts
}

/// Flattens documents into single spec values, each with its origin. A
/// top-level list in block style gets each item's line.
fn items(documents: Vec<Document>, file: &Option<Arc<str>>) -> Vec<(Origin, serde_json::Value)> {
    let mut out = Vec::new();
    for (value, line) in documents {
        let origin = |index, line| Origin {
            file: file.clone(),
            index,
            line,
            ..Origin::default()
        };
        match value {
            serde_json::Value::Array(list) => {
                let base = out.len();
                out.extend(
                    list.into_iter()
                        .enumerate()
                        .map(|(i, v)| (origin(base + i, None), v)),
                );
            }
            other => out.push((origin(out.len(), line), other)),
        }
    }
    out
}

fn decode<T: DeserializeOwned>(
    value: serde_json::Value,
    mut origin: Origin,
) -> Result<(Origin, T), Box<Diagnostic>> {
    if let Some(map) = value.as_object() {
        origin.name = map.get("name").and_then(|n| n.as_str()).map(str::to_string);
        origin.kind = map.get("kind").and_then(|n| n.as_str()).map(str::to_string);
    } else {
        let found = type_name(&value);
        let error = FieldError::new("", format!("a spec must be a map, found {found}"));
        return Err(Box::new(Diagnostic { origin, error }));
    }
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(document) => Ok((origin, document)),
        Err(e) => {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            let message = e.into_inner().to_string();
            let error = FieldError::new(path, message);
            Err(Box::new(Diagnostic { origin, error }))
        }
    }
}

fn single(origin: &Origin, error: FieldError) -> Diagnostics {
    let mut d = Diagnostics::default();
    d.extend(origin, [error]);
    d
}

/// JSON type names for messages.
pub(crate) fn type_name(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "a map",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Result<Vec<Sourced>, Diagnostics> {
        parse(text, Format::Yaml, Some("t.yaml".into()))
    }

    #[test]
    fn reads_lists_documents_and_single_specs() {
        let list = yaml("- kind: a\n  name: x\n- kind: b\n").unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[1].origin.index, 1);
        let docs = yaml("kind: a\nname: x\n---\nkind: b\nname: y\n").unwrap();
        assert_eq!(
            docs.iter().map(|s| s.spec.key()).collect::<Vec<_>>(),
            ["x", "y"]
        );
        assert_eq!(docs[1].origin.line, Some(4));
        let json = parse(r#"[{"kind":"a"}]"#, Format::Json, None).unwrap();
        assert_eq!(json[0].spec.kind, "a");
    }

    #[test]
    fn syntax_errors_name_file_and_line() {
        let err = yaml("- kind: a\n  name: [unclosed\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("t.yaml:"), "{err}");
        assert!(err.contains("invalid YAML"), "{err}");
        let err = parse("{\n\"kind\": }", Format::Json, Some("t.json".into())).unwrap_err();
        assert!(err.to_string().starts_with("t.json:2: "), "{err}");
    }

    #[test]
    fn field_errors_name_spec_and_field() {
        let err = yaml("- kind: a\n  name: ok\n- name: nokind\n- kind: c\n  name: bad\n  ports: {out: [{name: x, prt: in}]}\n")
            .unwrap_err();
        let lines: Vec<String> = err.0.iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[0].contains("spec #2 `nokind`") && lines[0].contains("missing field `kind`"),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].contains("spec #3 `bad` (c): ports.out[0]"),
            "{}",
            lines[1]
        );
        assert!(lines[1].contains("unknown field `prt`"), "{}", lines[1]);
    }

    #[test]
    fn rejects_non_map_specs() {
        let err = yaml("- 42\n").unwrap_err().to_string();
        assert!(
            err.contains("a spec must be a map, found a number"),
            "{err}"
        );
    }

    #[test]
    fn reads_folders_in_name_order() {
        let dir = std::env::temp_dir().join(format!("weir-source-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("b.yaml"), "kind: b\nname: b\n").unwrap();
        std::fs::write(dir.join("a.json"), r#"{"kind":"a","name":"a"}"#).unwrap();
        std::fs::write(dir.join("sub/c.yml"), "kind: c\nname: c\n").unwrap();
        std::fs::write(dir.join("notes.txt"), "ignored").unwrap();
        let specs = read_path(&dir).unwrap();
        assert_eq!(
            specs.iter().map(|s| s.spec.key()).collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        std::fs::remove_dir_all(&dir).unwrap();
        let missing = read_path(&dir).unwrap_err().to_string();
        assert!(missing.contains("no such file or folder"), "{missing}");
    }

    #[test]
    fn repeated_keys_and_deep_nesting_are_refused_in_both_formats() {
        let err = yaml("- kind: a\n  name: x\n  name: y\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("duplicate key `name`"), "{err}");
        let err = parse(r#"{"kind": "a", "kind": "b"}"#, Format::Json, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("duplicate key `kind`"), "{err}");
        let deep = format!("kind: a\nx: {}\n", "{a: ".repeat(100_000));
        let err = yaml(&deep).unwrap_err().to_string();
        assert!(
            err.starts_with("t.yaml:2: ") && err.contains("nest deeper than 127 levels"),
            "{err}"
        );
        let deep = format!(r#"{{"kind": "a", "x": {}}}"#, "[".repeat(1000));
        let err = parse(&deep, Format::Json, None).unwrap_err().to_string();
        assert!(err.contains("nest deeper than 127 levels"), "{err}");
    }
}
