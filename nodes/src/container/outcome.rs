//! What a run answers ([`Outcome`], or [`Event`]s when streamed) and how
//! it fails ([`RunError`]). Plain data.

use serde::Serialize;

/// What to run: the script, and optionally its stdin and arguments.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Job {
    /// The script, written into the workspace as the spec's `script`.
    pub source: String,
    /// Bytes on the script's stdin; it reads end of file after them.
    pub stdin: Option<String>,
    /// Appended to the spec's `command`.
    pub args: Vec<String>,
}

impl Job {
    /// A job with only a script.
    pub fn new(source: impl Into<String>) -> Self {
        Job {
            source: source.into(),
            ..Job::default()
        }
    }
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// The command's exit status; `None` when the run was killed for its
    /// time or its output.
    pub exit_code: Option<i64>,
    /// At most the spec's `output_limit` bytes (invalid UTF-8 replaced).
    pub stdout: String,
    pub stderr: String,
    /// From start to exit.
    pub duration_ms: u64,
    /// Killed at the spec's `timeout_ms`.
    pub timed_out: bool,
    /// Killed by the kernel for going over `memory`.
    pub oom_killed: bool,
    /// stdout or stderr went over `output_limit`: the run was killed and
    /// what it wrote is cut there.
    pub truncated: bool,
}

/// Which of the script's outputs a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Stdout,
    Stderr,
}

/// One line of output (without its newline), as it was written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Line {
    pub channel: Channel,
    pub text: String,
}

/// What a streamed run yields: its lines as they come, then its outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    Line(Line),
    Done(Outcome),
}

/// Why a run could not be made or finished. Never holds the script, its
/// stdin or its environment.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("the Docker daemon does not answer ({0}); start it with scripts/ensure-docker.sh")]
    Unavailable(String),
    #[error(
        "image `{0}` is not on the Docker daemon (nothing is pulled); build it, e.g. with scripts/sandbox-image.sh"
    )]
    NoImage(String),
    #[error("the spec cannot run: {0}")]
    Spec(String),
    #[error("{what} is {size} bytes, over the limit of {limit}")]
    TooLarge {
        what: &'static str,
        size: usize,
        limit: usize,
    },
    #[error("Docker refused to {during}: {message}")]
    Docker {
        during: &'static str,
        message: String,
    },
}

impl RunError {
    /// A failure of one Docker request, told by what it was for.
    pub(crate) fn docker(during: &'static str, error: bollard::errors::Error) -> RunError {
        use bollard::errors::Error as E;
        match error {
            E::DockerResponseServerError { message, .. } => RunError::Docker { during, message },
            E::IOError { err } => RunError::Unavailable(err.to_string()),
            E::HyperResponseError { err } => RunError::Unavailable(err.to_string()),
            E::RequestTimeoutError => RunError::Unavailable("a request timed out".into()),
            other => RunError::Docker {
                during,
                message: other.to_string(),
            },
        }
    }

    /// A stable code for error packets.
    pub fn code(&self) -> &'static str {
        match self {
            RunError::Unavailable(_) => "docker_unavailable",
            RunError::NoImage(_) => "no_image",
            RunError::Spec(_) => "bad_spec",
            RunError::TooLarge { .. } => "too_large",
            RunError::Docker { .. } => "docker",
        }
    }

    /// Whose fault, in HTTP terms.
    pub fn status(&self) -> u16 {
        match self {
            RunError::TooLarge { .. } => 413,
            RunError::Unavailable(_) => 503,
            _ => 500,
        }
    }
}
