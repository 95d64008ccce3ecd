//! The manifest: what the library wrote (`manifest.json`) and returns.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Success,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub status: Status,
    pub input: InputInfo,
    /// The settings as the library applied them.
    pub settings: serde_json::Value,
    pub artifacts: Vec<Artifact>,
    pub passes: Vec<PassRun>,
    /// Decoding, tokenizing and the structure parse, shared by every pass.
    pub frontend_us: u64,
    pub diagnostics: Vec<Diagnostic>,
    pub time_us: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputInfo {
    pub name: String,
    pub size: u64,
    pub sha256: String,
    /// As tokenize's ENCODING token names it; null when the source did not decode.
    pub encoding: Option<String>,
}

/// A complete artifact; `path` is relative to the artifact directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifact {
    pub path: String,
    pub pass: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassRun {
    pub name: String,
    /// `ok`, `failed` or `skipped` (a syntax error stops the passes that need a parse).
    pub status: String,
    pub time_us: u64,
}

/// `line` and `col` are CPython's `SyntaxError.lineno` and `.offset` (1-based) for
/// `source: "compile"`; `0, 0` for limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub severity: String,
    pub source: String,
    pub line: i64,
    pub col: i64,
    pub message: String,
}

impl Manifest {
    /// The first error diagnostic, if any.
    pub fn first_error(&self) -> Option<&Diagnostic> {
        self.diagnostics.iter().find(|d| d.severity == "error")
    }
}
