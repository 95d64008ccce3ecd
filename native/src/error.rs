//! The crate's typed errors: what was wrong and where, never a panic.

/// One invalid field of an [`crate::Input`], named by its path (`settings.max_depth`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Why a compile produced no manifest. A syntax error is not one of these: it is a
/// manifest whose status is `failed`.
#[derive(Debug, thiserror::Error)]
pub enum NativeError {
    #[error("invalid input: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    #[error("the artifact directory {path} cannot be created: {source}")]
    OutDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("the native library refused the call: {0}")]
    InvalidArgument(String),
    #[error("the native library ran out of memory")]
    OutOfMemory,
    #[error("the compile was cancelled")]
    Cancelled,
    #[error("writing an artifact failed: {0}")]
    Io(String),
    #[error("the native library failed: {0}")]
    Internal(String),
    #[error("the native library returned status {0}, which this crate does not know")]
    UnknownStatus(i32),
    #[error("the manifest from the native library does not parse: {0}")]
    Manifest(#[from] serde_json::Error),
    #[error("the blocking pool could not run the compile: {0}")]
    Pool(String),
}
