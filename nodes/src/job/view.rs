//! How jobs are shown: the shape `get`, `list`, `cancel` and `events`
//! answer, and the system API's `/v1/jobs` (the console codes against
//! these names: keep them). Owns only the conversion from the queue's
//! [`Job`]; internal columns (lease holder and token, payload, idempotency
//! key) are left out.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use weir_engine::store::jobs::{Job, Status};

/// One job as answered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JobView {
    /// Its id (a UUID v7).
    pub id: String,
    /// The namespace of the node that runs it.
    pub namespace: String,
    /// The node (spec name, or id when unnamed) that runs it.
    pub node: String,
    /// `queued`, `building`, `success`, `failed` or `cancelled`.
    pub status: Status,
    /// Runs started so far.
    pub attempts: i64,
    /// Runs it may start in all.
    pub max_attempts: i64,
    /// When it was enqueued (RFC 3339, UTC).
    pub created_at: String,
    /// When it may run (next).
    pub scheduled_at: String,
    /// When its latest run started.
    pub started_at: Option<String>,
    /// Its running engine's latest heartbeat.
    pub heartbeat_at: Option<String>,
    /// When it reached its final state.
    pub finished_at: Option<String>,
    /// Why its last run failed, if one did.
    pub error: Option<JobErrorView>,
    /// What its branch answered, once it succeeded.
    pub result: Option<serde_json::Value>,
}

/// Why a job's run failed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JobErrorView {
    /// For people.
    pub message: String,
    /// Stable, for programs (`deadline`, `lease_expired`, `cancelled`, or
    /// the branch's own code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Anything structured the branch's error carried (diagnostics, say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// A page of jobs, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JobListing {
    /// The jobs.
    pub items: Vec<JobView>,
    /// Pass as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}

impl From<Job> for JobView {
    fn from(job: Job) -> JobView {
        JobView {
            id: job.id.to_string(),
            namespace: job.namespace,
            node: job.node,
            status: job.status,
            attempts: job.attempt,
            max_attempts: job.max_attempts,
            created_at: job.created_at,
            scheduled_at: job.scheduled_at,
            started_at: job.started_at,
            heartbeat_at: job.heartbeat_at,
            finished_at: job.finished_at,
            error: job.last_error.map(|e| JobErrorView {
                message: e.message,
                code: e.code,
                details: (!e.details.is_null()).then_some(e.details),
            }),
            result: job.result,
        }
    }
}

impl JobView {
    /// As a packet's value.
    pub fn value(&self) -> weir_codecs::Value {
        serde_json::to_value(self)
            .map(weir_codecs::json::from_json)
            .unwrap_or(weir_codecs::Value::Null)
    }
}
