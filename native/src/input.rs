//! What a compile is asked to do: the script and the settings, with their defaults
//! and ceilings. Every limit has a ceiling; [`Input::validate`] names each bad field.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::FieldError;

/// `{script: {name, source}, settings: {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    pub script: Script,
    #[serde(default)]
    pub settings: Settings,
}

/// The target script. `source` is bytes (its encoding is found as Python finds it);
/// in JSON it is a string, or an array of byte values for non-UTF-8 sources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    pub name: String,
    #[serde(serialize_with = "ser_source", deserialize_with = "de_source")]
    pub source: Vec<u8>,
}

/// A pass; they always run in this order, whatever order `passes` lists them in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pass {
    Tokenize,
    Outline,
    Metrics,
    Strip,
    Callgraph,
}

impl Pass {
    pub const ALL: [Pass; 5] = [
        Pass::Tokenize,
        Pass::Outline,
        Pass::Metrics,
        Pass::Strip,
        Pass::Callgraph,
    ];

    /// Its name in `passes` (and in the manifest).
    pub fn name(self) -> &'static str {
        match self {
            Pass::Tokenize => "tokenize",
            Pass::Outline => "outline",
            Pass::Metrics => "metrics",
            Pass::Strip => "strip",
            Pass::Callgraph => "callgraph",
        }
    }

    pub(crate) fn bit(self) -> u32 {
        match self {
            Pass::Tokenize => 1,
            Pass::Outline => 2,
            Pass::Metrics => 4,
            Pass::Strip => 8,
            Pass::Callgraph => 16,
        }
    }
}

/// How to compile. Limits default to values that fit the standard library with room
/// to spare; each has a ceiling [`Input::validate`] enforces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub passes: Vec<Pass>,
    pub strip_docstrings: bool,
    pub strip_comments: bool,
    /// The input is refused (a `failed` manifest) above this many bytes.
    pub max_input_bytes: u64,
    /// Bracket nesting and indentation depth; CPython's own limits (200 and 100) are
    /// the ceiling.
    pub max_depth: u32,
    /// Wall time of one compile, in milliseconds.
    pub max_wall_ms: u64,
}

impl Settings {
    pub const MAX_INPUT_BYTES_CEILING: u64 = 256 << 20;
    pub const MAX_DEPTH_CEILING: u32 = 200;
    pub const MAX_WALL_MS_CEILING: u64 = 600_000;
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            passes: Pass::ALL.to_vec(),
            strip_docstrings: true,
            strip_comments: true,
            max_input_bytes: 16 << 20,
            max_depth: 200,
            max_wall_ms: 30_000,
        }
    }
}

impl Input {
    /// Every invalid field, or nothing.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut bad = |field: &str, message: String| {
            errors.push(FieldError {
                field: field.to_owned(),
                message,
            })
        };
        let s = &self.settings;
        if self.script.name.is_empty() {
            bad("script.name", "must not be empty".into());
        }
        if s.passes.is_empty() {
            bad("settings.passes", "must list at least one pass".into());
        }
        if s.max_input_bytes == 0 || s.max_input_bytes > Settings::MAX_INPUT_BYTES_CEILING {
            bad(
                "settings.max_input_bytes",
                format!("must be 1..={}", Settings::MAX_INPUT_BYTES_CEILING),
            );
        }
        if s.max_depth == 0 || s.max_depth > Settings::MAX_DEPTH_CEILING {
            bad(
                "settings.max_depth",
                format!("must be 1..={}", Settings::MAX_DEPTH_CEILING),
            );
        }
        if s.max_wall_ms == 0 || s.max_wall_ms > Settings::MAX_WALL_MS_CEILING {
            bad(
                "settings.max_wall_ms",
                format!("must be 1..={}", Settings::MAX_WALL_MS_CEILING),
            );
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

fn ser_source<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    match std::str::from_utf8(bytes) {
        Ok(text) => s.serialize_str(text),
        Err(_) => s.collect_seq(bytes),
    }
}

fn de_source<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Source {
        Text(String),
        Bytes(Vec<u8>),
    }
    Ok(match Source::deserialize(d)? {
        Source::Text(t) => t.into_bytes(),
        Source::Bytes(b) => b,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_takes_text_or_bytes_and_defaults_the_settings() {
        let text: Input =
            serde_json::from_str(r#"{"script": {"name": "a.py", "source": "x = 1\n"}}"#)
                .expect("text source");
        assert_eq!(text.script.source, b"x = 1\n");
        assert_eq!(text.settings, Settings::default());
        let bytes: Input = serde_json::from_str(
            r#"{"script": {"name": "a.py", "source": [120, 233]},
                "settings": {"passes": ["outline", "tokenize"], "strip_comments": false}}"#,
        )
        .expect("byte source");
        assert_eq!(bytes.script.source, [120, 233]);
        assert_eq!(bytes.settings.passes, [Pass::Outline, Pass::Tokenize]);
        assert!(!bytes.settings.strip_comments && bytes.settings.strip_docstrings);
        // Round trip: non-UTF-8 sources serialize as byte arrays.
        let again: Input =
            serde_json::from_value(serde_json::to_value(&bytes).expect("ser")).expect("de");
        assert_eq!(again, bytes);
        let unknown = serde_json::from_str::<Input>(
            r#"{"script": {"name": "a.py", "source": ""}, "settings": {"pases": []}}"#,
        );
        assert!(unknown.is_err());
    }

    #[test]
    fn a_pass_is_named_as_serde_reads_it() {
        for pass in Pass::ALL {
            let named: Pass = serde_json::from_value(pass.name().into()).expect("a pass name");
            assert_eq!(named, pass);
        }
    }
}
