//! Durable jobs: work handed off to run later, in whichever engine sharing
//! the database claims it first (issue 12; the design is in `docs/jobs.md`).
//!
//! A job is `queued` until a [`Queue::claim`] takes it (`building`, under a
//! lease), then ends `success`, `failed` or `cancelled`. The lease names its
//! holder (an engine id) and a token that grows at every claim; heartbeats
//! and outcomes are accepted only with the current holder and token, so an
//! engine that paused past its lease can never overwrite the outcome of the
//! run that took over ([`JobError::Fenced`]). Every time that matters (now,
//! lease expiry, backoff, deadlines) is the database's clock, never an
//! engine's. The [`worker`] runs a caller's handler over claimed jobs.
//!
//! This module owns the `jobs` table and nothing else: it knows no node
//! kind, no HTTP and no spec; a kind or the system API call it.

mod queue;
mod row;
mod sql;
mod wake;
pub mod worker;

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use queue::Queue;
pub use wake::Wakeups;
pub use worker::{Handler, Worker, WorkerConfig};

/// A job's state. Final states never change again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for its scheduled time and a worker.
    Queued,
    /// Claimed by an engine, which holds its lease.
    Building,
    /// Its handler answered; the answer is the job's result.
    Success,
    /// It failed for good: its last error says why.
    Failed,
    /// Cancelled before it could finish.
    Cancelled,
}

impl Status {
    /// Every state, in lifecycle order.
    pub const ALL: [Status; 5] = [
        Status::Queued,
        Status::Building,
        Status::Success,
        Status::Failed,
        Status::Cancelled,
    ];

    /// Its spelling in the table and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Building => "building",
            Status::Success => "success",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
        }
    }

    /// The state spelt `text`, if any.
    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether the job is over.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Success | Status::Failed | Status::Cancelled)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a run failed: what a handler answers instead of a result, and what
/// a job keeps as its last error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Failure {
    /// For people.
    pub message: String,
    /// Stable and machine-readable (`lease_expired`, `deadline`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Anything structured (diagnostics, say).
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub details: serde_json::Value,
    /// Retrying cannot help (a bad payload): the job fails at once.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub permanent: bool,
}

impl Failure {
    /// A failure worth retrying.
    pub fn new(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            code: None,
            details: serde_json::Value::Null,
            permanent: false,
        }
    }

    /// Sets the code.
    pub fn with_code(mut self, code: &str) -> Failure {
        self.code = Some(code.to_string());
        self
    }

    /// Marks it not worth retrying.
    pub fn permanent(mut self) -> Failure {
        self.permanent = true;
        self
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure::new(message)
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Failure {
        Failure::new(message)
    }
}

impl From<weir_codecs::ErrorValue> for Failure {
    fn from(error: weir_codecs::ErrorValue) -> Failure {
        Failure {
            message: error.message,
            code: error.code,
            details: weir_codecs::json::to_json(&error.details),
            permanent: false,
        }
    }
}

/// One job as stored. Times are RFC 3339 in UTC, from the database's clock.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Job {
    /// Identity (UUID v7: ordered by creation).
    pub id: Uuid,
    /// The namespace it belongs to.
    pub namespace: String,
    /// The node (spec name or id) that runs it.
    pub node: String,
    /// What it runs on.
    pub payload: serde_json::Value,
    /// Where it is in its life.
    pub status: Status,
    /// Runs started so far (the current one included while building).
    pub attempt: i64,
    /// Runs it may start in all.
    pub max_attempts: i64,
    /// Why the last run failed, if one did.
    pub last_error: Option<Failure>,
    /// What it answered, once it succeeded.
    pub result: Option<serde_json::Value>,
    /// The caller's key: the same key twice in a namespace is this job.
    pub idempotency_key: Option<String>,
    /// Someone asked to cancel it (a building job stops at its holder's
    /// next heartbeat).
    pub cancel_requested: bool,
    /// When it was enqueued.
    pub created_at: String,
    /// When it may run (next).
    pub scheduled_at: String,
    /// When its latest run started.
    pub started_at: Option<String>,
    /// Its holder's latest heartbeat.
    pub heartbeat_at: Option<String>,
    /// When it reached its final state.
    pub finished_at: Option<String>,
    /// When it must be over; a run still going then is stopped and failed.
    pub deadline: Option<String>,
    /// The engine that claimed it last.
    pub lease_holder: Option<String>,
    /// When the current lease runs out (only while building).
    pub lease_expires_at: Option<String>,
    /// The fencing token: one more at every claim.
    pub lease_token: i64,
}

/// What [`Queue::enqueue`] stores.
#[derive(Clone, Debug, PartialEq)]
pub struct NewJob {
    /// The namespace.
    pub namespace: String,
    /// The node that runs it.
    pub node: String,
    /// What it runs on.
    pub payload: serde_json::Value,
    /// Runs it may start (1 to [`MAX_ATTEMPTS`]).
    pub max_attempts: i64,
    /// The same key twice in a namespace gives the same job.
    pub idempotency_key: Option<String>,
    /// Not before this long from now.
    pub delay: Duration,
    /// Over by this long from now, or failed.
    pub deadline: Option<Duration>,
}

impl NewJob {
    /// A job of `node` in `namespace`, 3 attempts, to run at once.
    pub fn new(namespace: &str, node: &str, payload: serde_json::Value) -> NewJob {
        NewJob {
            namespace: namespace.to_string(),
            node: node.to_string(),
            payload,
            max_attempts: 3,
            idempotency_key: None,
            delay: Duration::ZERO,
            deadline: None,
        }
    }

    /// Sets the idempotency key.
    pub fn idempotency_key(mut self, key: &str) -> NewJob {
        self.idempotency_key = Some(key.to_string());
        self
    }

    /// Sets how many runs it may start.
    pub fn max_attempts(mut self, attempts: i64) -> NewJob {
        self.max_attempts = attempts;
        self
    }

    /// Delays its first run.
    pub fn delay(mut self, delay: Duration) -> NewJob {
        self.delay = delay;
        self
    }

    /// Sets its deadline, from now.
    pub fn deadline(mut self, within: Duration) -> NewJob {
        self.deadline = Some(within);
        self
    }
}

/// What enqueueing did.
#[derive(Clone, Debug, PartialEq)]
pub struct Enqueued {
    /// The job (an existing one when its idempotency key was taken).
    pub job: Job,
    /// False when the key named an existing job.
    pub created: bool,
}

/// The right to report on one run of a job: its holder and fencing token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The job.
    pub job: Uuid,
    /// The engine holding it.
    pub holder: String,
    /// The token of this run.
    pub token: i64,
}

/// A job a claim took, with its lease.
#[derive(Clone, Debug, PartialEq)]
pub struct Claimed {
    /// The job, as building.
    pub job: Job,
    /// This run's lease.
    pub lease: Lease,
    /// Time left until its deadline, by the database's clock, if it has one.
    pub deadline_in: Option<Duration>,
}

/// What a heartbeat learnt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Beat {
    /// Someone asked to cancel the job: stop and report.
    pub cancel_requested: bool,
}

/// What a sweep of leases and deadlines did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Swept {
    /// Jobs whose lease ran out, queued again.
    pub requeued: u64,
    /// Jobs failed: lease out on the last attempt, or deadline passed.
    pub failed: u64,
    /// Cancel-requested jobs whose lease ran out, now cancelled.
    pub cancelled: u64,
}

/// Which jobs a listing shows, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobFilter {
    /// Only this namespace.
    pub namespace: Option<String>,
    /// Only this node.
    pub node: Option<String>,
    /// Only this state.
    pub status: Option<Status>,
    /// Only jobs older than this one (the previous page's last).
    pub before: Option<Uuid>,
    /// At most this many (default 100, at most [`MAX_LIST`]).
    pub limit: Option<u32>,
}

/// Retry timing: `base · 2^(attempt-1)`, capped, with up to half of it
/// again as random jitter so failed jobs do not return in lockstep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The first retry's delay, before jitter.
    pub base: Duration,
    /// No delay grows past this (before jitter).
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(600),
        }
    }
}

impl Backoff {
    /// The delay before the run after `attempt` failed runs.
    pub fn delay(&self, attempt: i64) -> Duration {
        let exponent = attempt.clamp(1, 32) as u32 - 1;
        let plain = self
            .base
            .saturating_mul(2u32.saturating_pow(exponent))
            .min(self.max);
        let jitter = plain.mul_f64(random_unit() / 2.0);
        plain + jitter
    }
}

/// A random number in `[0, 1)`, from the standard library's randomly keyed
/// hasher: jitter needs spread, not cryptography.
fn random_unit() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let bits = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// How a queue times leases and retries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueConfig {
    /// How long a claim or heartbeat holds a job.
    pub lease: Duration,
    /// Retry timing after a failed run.
    pub backoff: Backoff,
}

impl Default for QueueConfig {
    fn default() -> QueueConfig {
        QueueConfig {
            lease: Duration::from_secs(30),
            backoff: Backoff::default(),
        }
    }
}

/// The most runs a job may start.
pub const MAX_ATTEMPTS: i64 = 100;
/// The largest payload or result, as JSON text.
pub const MAX_DOCUMENT: usize = 1 << 20;
/// The longest namespace, node name or idempotency key.
pub const MAX_NAME: usize = 255;
/// The most jobs one claim takes.
pub const MAX_CLAIM: u32 = 1_000;
/// The most jobs one listing shows.
pub const MAX_LIST: u32 = 1_000;
/// The longest lease, delay or deadline.
pub const MAX_SPAN: Duration = Duration::from_secs(366 * 24 * 3600);

/// What can go wrong with jobs.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The database refused or failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// No such job (never enqueued, or pruned).
    #[error("no job `{0}`")]
    NotFound(Uuid),
    /// A heartbeat or outcome from a lease that is no longer current: the
    /// job was taken over, finished or cancelled meanwhile. Nothing changed.
    #[error(
        "job `{job}`: the lease of `{holder}` (token {token}) is no longer current; the job is {status}{}",
        current.as_ref().map(|(h, t)| format!(", held by `{h}` with token {t}")).unwrap_or_default()
    )]
    Fenced {
        job: Uuid,
        holder: String,
        token: i64,
        status: Status,
        /// The current lease's holder and token, while building.
        current: Option<(String, i64)>,
    },
    /// Input refused: which field, and why.
    #[error("invalid job {field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// A stored row that does not decode (edited by hand?).
    #[error("job `{id}` is stored wrongly: {message}")]
    Corrupt { id: String, message: String },
}
