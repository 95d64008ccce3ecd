//! Why a call failed: one attempt's [`Failure`], and the call's
//! [`CallError`] (the last failure, with the server and attempts).
//!
//! This module owns which failures are worth another attempt, and each
//! one's code and HTTP status for the workflow. Messages never hold the API
//! key, a request body or a prompt: a server's own message is scrubbed of
//! the key first, and left out for 401 and 403.

use std::time::Duration;

use super::answer::Malformed;
use super::sse::TooLarge;
use super::structured::Mismatch;

/// What went wrong in one attempt.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Failure {
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("answered {status}: {message}")]
    Status {
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    },
    #[error("no answer within {0} ms (the attempt's timeout)")]
    AttemptTimeout(u64),
    #[error("not done within {0} ms (the call's timeout)")]
    CallTimeout(u64),
    #[error("the exchange failed: {0}")]
    Transport(String),
    #[error("the stream was cut off after {chunks} chunk(s), before [DONE]{cause}")]
    Cut { chunks: u64, cause: String },
    #[error("the answer is larger than {0} bytes")]
    TooLarge(usize),
    #[error(transparent)]
    Malformed(#[from] Malformed),
    #[error(transparent)]
    Mismatch(#[from] Mismatch),
}

impl From<TooLarge> for Failure {
    fn from(e: TooLarge) -> Failure {
        Failure::TooLarge(e.0)
    }
}

impl Failure {
    /// Whether another attempt may do better: the server was busy (429),
    /// broke (5xx but 501 and 505, which will not change), could not be
    /// reached, or the exchange broke or took too long.
    pub fn retriable(&self) -> bool {
        match self {
            Failure::Status { status, .. } => {
                *status == 429 || (*status >= 500 && *status != 501 && *status != 505)
            }
            Failure::Connect(_)
            | Failure::AttemptTimeout(_)
            | Failure::Transport(_)
            | Failure::Cut { .. } => true,
            Failure::CallTimeout(_)
            | Failure::TooLarge(_)
            | Failure::Malformed(_)
            | Failure::Mismatch(_) => false,
        }
    }

    /// The wait the server asked for, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Failure::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The error code a workflow branches on.
    pub fn code(&self) -> &'static str {
        match self {
            Failure::Connect(_) => "connect",
            Failure::Status { .. } => "status",
            Failure::AttemptTimeout(_) | Failure::CallTimeout(_) => "timeout",
            Failure::Transport(_) | Failure::TooLarge(_) | Failure::Malformed(_) => "upstream",
            Failure::Cut { .. } => "cut",
            Failure::Mismatch(_) => "invalid_answer",
        }
    }

    /// The HTTP status a listener answers with: the server's own 4xx/5xx
    /// (429 stays 429), 504 for timeouts, 502 for everything else.
    pub fn status(&self) -> u16 {
        match self {
            Failure::Status { status, .. } if (400..600).contains(status) => *status,
            Failure::AttemptTimeout(_) | Failure::CallTimeout(_) => 504,
            _ => 502,
        }
    }
}

/// A call that failed: the server (its origin only), how many attempts were
/// made, and the last attempt's failure.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{server}: {failure} (attempts: {attempts}{why})")]
pub struct CallError {
    pub server: String,
    pub attempts: u32,
    pub failure: Failure,
    /// Why no further attempt was made, when it could have been.
    pub why: String,
}
