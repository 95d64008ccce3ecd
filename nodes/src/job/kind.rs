//! The `job` kind's spec and compile step: which `op`, its options, each
//! checked against the op (a field another op uses is refused, naming
//! it) and against its ceiling. The node itself is [`super::node`].

use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use weir_engine::runtime::Activate;
use weir_engine::scheme::Context;
use weir_engine::{FieldError, Kind, Port, PortPattern, Ports};

use super::node::{Config, JobActivate};
use crate::control::{Duration, duration_between};
use crate::net::templated::Templated;
use weir_engine::store::jobs::{MAX_ATTEMPTS, MAX_SPAN};

/// The fields of a `job` spec.
///
/// Ports: `enqueue`: `in` → the job is stored and `202 {job_id, status}`
/// answered at once (with `Location` when `location` is set); later, in
/// whichever engine claims it, `{job: {id, namespace, node, attempt,
/// max_attempts, created_at}, payload}` goes to `out` in a new root
/// process, and `out`'s answer is the job's result (an error answer, or a
/// response with status 400 or more, is its failure: retried with backoff
/// unless it is a client error). `get` and `cancel`: `in` → the job
/// (`{id, namespace, node, status, attempts, max_attempts, created_at,
/// scheduled_at, started_at, heartbeat_at, finished_at, error, result}`)
/// to `out`, whose answer is the answer; an unknown id is 404. `events`:
/// answers Server-Sent Events, one `event: status` per change of state or
/// attempt, each event's data what `out` answers for the job, ending at a
/// final state. `list`: `{items, next_cursor}` (query `status`, `node`,
/// `limit`, `cursor`, and `namespace` in the `system` namespace). Outside
/// the `system` namespace a node sees only its own namespace's jobs.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(example = example(), transform = fields_by_op)]
pub struct JobSpec {
    /// What the node does.
    #[serde(default)]
    pub op: JobOp,
    /// `enqueue`: what the job stores and its branch gets as `payload`
    /// (templates over the packet, `{{ payload.body }}`); default the
    /// whole packet. At most 1 MiB of JSON.
    #[serde(default)]
    pub payload: Option<serde_json::Value>,
    /// `enqueue`: a template; the same key twice in the namespace answers
    /// the existing job instead of a new one.
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// `enqueue`: the `Location` header's template, over the packet and
    /// `job_id`: `"/api/jobs/{{ job_id }}"`.
    #[serde(default)]
    pub location: Option<String>,
    /// `enqueue`: runs the job may start (1 to 100; default 3).
    #[serde(default)]
    #[schemars(range(min = 1, max = MAX_ATTEMPTS))]
    pub max_attempts: Option<i64>,
    /// `enqueue`: how long one run may take (default 5m, at most 24h); the
    /// run's process is cancelled past it.
    #[serde(default)]
    #[schemars(transform = duration_between(1, DAY_MS))]
    pub timeout: Option<Duration>,
    /// `enqueue`: the job must be over this long after it was enqueued
    /// (at most 366 days), or it fails with code `deadline`.
    #[serde(default)]
    #[schemars(transform = duration_between(1, MAX_SPAN.as_millis() as u64))]
    pub deadline: Option<Duration>,
    /// `enqueue`: the first run waits this long (at most 366 days).
    #[serde(default)]
    #[schemars(transform = duration_between(0, MAX_SPAN.as_millis() as u64))]
    pub delay: Option<Duration>,
    /// `get`, `events`, `cancel`: the job's id, a template (default
    /// `{{ payload.params.id }}`, a router's `:id`). (Not `id`: that is
    /// every spec's own.)
    #[serde(default)]
    pub job_id: Option<String>,
    /// `get`, `events`, `cancel`, `list`: only jobs of this node (its name);
    /// another node's job is answered as unknown.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub node: Option<String>,
    /// `events`: how often the job is read for changes (default 250ms,
    /// 10ms to 1m).
    #[serde(default)]
    #[schemars(transform = duration_between(10, 60_000))]
    pub poll: Option<Duration>,
}

fn example() -> serde_json::Value {
    serde_json::json!({
        "op": "enqueue",
        "payload": "{{ payload.body }}",
        "location": "/api/jobs/{{ job_id }}",
        "max_attempts": 3,
        "timeout": "2m"
    })
}

/// What a `job` node does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobOp {
    /// Store the packet as a job and answer 202; `out` runs it later.
    #[default]
    Enqueue,
    /// Answer one job.
    Get,
    /// Stream one job's changes as Server-Sent Events.
    Events,
    /// Cancel one job (a running one stops at its engine's next heartbeat).
    Cancel,
    /// List jobs, newest first.
    List,
}

impl JobOp {
    const ALL: [JobOp; 5] = [
        JobOp::Enqueue,
        JobOp::Get,
        JobOp::Events,
        JobOp::Cancel,
        JobOp::List,
    ];

    /// Whether a spec of this op may set `field` (of those ops differ on).
    fn uses(self, field: &str) -> bool {
        match self {
            JobOp::Enqueue => ENQUEUE_ONLY.contains(&field),
            JobOp::Get | JobOp::Cancel => matches!(field, "job_id" | "node"),
            JobOp::Events => matches!(field, "job_id" | "node" | "poll"),
            JobOp::List => field == "node",
        }
    }
}

/// The fields some ops use and others do not: `enqueue`'s own first
/// ([`ENQUEUE_ONLY`]), then those of the ops that read jobs.
const BY_OP: [&str; 10] = [
    "payload",
    "idempotency_key",
    "location",
    "max_attempts",
    "timeout",
    "deadline",
    "delay",
    "job_id",
    "node",
    "poll",
];

const DAY_MS: u64 = 24 * 3_600_000;

/// Schema transform: per op, the fields it does not use may only be
/// absent or `null` ([`JobOp::uses`], as compiling checks).
fn fields_by_op(schema: &mut schemars::Schema) {
    let rules: Vec<serde_json::Value> = JobOp::ALL
        .iter()
        .map(|&op| {
            let name = serde_json::to_value(op).unwrap_or_default();
            let mut when =
                serde_json::json!({"properties": {"op": {"const": name}}, "required": ["op"]});
            if op == JobOp::default() {
                when = serde_json::json!({"anyOf": [when, {"not": {"required": ["op"]}}]});
            }
            let unused: serde_json::Map<String, serde_json::Value> = BY_OP
                .iter()
                .filter(|field| !op.uses(field))
                .map(|field| (field.to_string(), serde_json::json!({"type": "null"})))
                .collect();
            serde_json::json!({"if": when, "then": {"properties": unused}})
        })
        .collect();
    schema.insert("allOf".into(), rules.into());
}

/// The fields only `enqueue` uses.
const ENQUEUE_ONLY: &[&str] = BY_OP.split_at(7).0;

pub(super) struct JobKind;

impl Kind for JobKind {
    type Spec = JobSpec;

    fn name(&self) -> &'static str {
        "job"
    }

    fn summary(&self) -> &'static str {
        "Durable jobs: `enqueue` stores the packet and answers 202 at once, its `out` branch runs later in whichever engine claims it (retried, leased, survives restarts); `get`, `events` (SSE), `cancel` and `list` read and cancel jobs."
    }

    fn runtime_templates(&self) -> &'static [&'static str] {
        &["payload", "idempotency_key", "location", "job_id"]
    }

    fn ports(&self, spec: &JobSpec) -> Ports {
        let ports = Ports::new()
            .input(PortPattern::Exact(Port::input()))
            .output(PortPattern::Exact(Port::output()));
        match spec.op {
            JobOp::Enqueue => ports.source(),
            _ => ports,
        }
    }

    fn compile(
        &self,
        spec: JobSpec,
        cx: &Context<'_>,
    ) -> Result<Arc<dyn Activate>, Vec<FieldError>> {
        let mut errors = misplaced(&spec);
        let config = Config::compile(spec, cx).map_err(|e| errors.extend(e)).ok();
        match config {
            Some(config) if errors.is_empty() => Ok(Arc::new(JobActivate::new(config, cx))),
            _ => Err(errors),
        }
    }
}

/// Fields given that the spec's op does not use.
fn misplaced(spec: &JobSpec) -> Vec<FieldError> {
    // In the order of `BY_OP`.
    let given = BY_OP.into_iter().zip([
        spec.payload.is_some(),
        spec.idempotency_key.is_some(),
        spec.location.is_some(),
        spec.max_attempts.is_some(),
        spec.timeout.is_some(),
        spec.deadline.is_some(),
        spec.delay.is_some(),
        spec.job_id.is_some(),
        spec.node.is_some(),
        spec.poll.is_some(),
    ]);
    let op = spec.op;
    given
        .into_iter()
        .filter(|(field, given)| *given && !op.uses(field))
        .map(|(field, _)| {
            let op = serde_json::to_value(op).unwrap_or_default();
            FieldError::new(
                field,
                format!("is not used by `op: {}`", op.as_str().unwrap_or("?")),
            )
        })
        .collect()
}

/// Compiles an optional template field.
pub(super) fn template(
    field: &str,
    json: Option<serde_json::Value>,
    errors: &mut Vec<FieldError>,
) -> Option<Templated> {
    Templated::compile(field, json?)
        .map_err(|e| errors.extend(e))
        .ok()
}
