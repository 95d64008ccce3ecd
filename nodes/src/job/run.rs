//! Running one claimed job: find its node among this engine's running
//! enqueueing nodes, start a new root process (its own transactions and
//! deadline), write `{job, payload}` to the node's `out`, and turn the
//! branch's answer into the job's result or failure.
//!
//! The worker's token (the job cancelled, its lease lost, its deadline
//! passed, the engine stopping) cancels the process. An error answer with
//! a client status (4xx other than 408, 409, 425, 429) fails the job at
//! once: retrying the same payload cannot help. Owns no queue state: the
//! worker reports what this answers.

// The worker's handler answers the queue's `Failure` (with its details),
// so these helpers do too.
#![allow(clippy::result_large_err)]

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use weir_codecs::{ErrorValue, Value};
use weir_engine::runtime::Outcome;
use weir_engine::store::jobs::{Failure, Job};
use weir_engine::{Packet, Port, Process};

use super::registry::{Registry, Target};

/// How long a job waits for its node to be running here (an engine that
/// just started is still loading its specs) before it fails this attempt.
const FIND: Duration = Duration::from_secs(5);

/// Runs `job` through its node's branch.
pub(super) async fn run(
    registry: Arc<Registry>,
    job: Job,
    token: CancellationToken,
) -> Result<serde_json::Value, Failure> {
    let target = find(&registry, &job, &token).await?;
    tracing::debug!(job = %job.id, node = %target.name, attempt = job.attempt, "running a job");
    let process = Process::with_deadline(tokio::time::Instant::now() + target.timeout);
    let watcher = {
        let (process, token) = (process.clone(), token.clone());
        tokio::spawn(async move {
            token.cancelled().await;
            process.cancel();
        })
    };
    let input = Value::map([
        ("job", meta(&job)),
        ("payload", weir_codecs::json::from_json(job.payload.clone())),
    ]);
    let outputs = &target.outputs;
    let mut answer = outputs
        .write_watched(&process, &Port::output(), Packet::new(input))
        .await;
    let error_port = Port::error();
    if answer.is_error() && outputs.is_linked(&error_port) {
        answer = outputs.write_watched(&process, &error_port, answer).await;
    }
    watcher.abort();
    let verdict = verdict(&answer);
    let outcome = match &verdict {
        Ok(_) => Outcome::Ok,
        Err(failure) => Outcome::Failed(ErrorValue::new(failure.message.clone())),
    };
    // A commit refused at exit is the run's failure.
    if let Err(error) = process.exit(outcome).await
        && verdict.is_ok()
    {
        return Err(failure(error));
    }
    verdict
}

/// The node's running activation, waiting a little for it to load.
async fn find(
    registry: &Registry,
    job: &Job,
    token: &CancellationToken,
) -> Result<Arc<Target>, Failure> {
    let started = tokio::time::Instant::now();
    loop {
        if let Some(target) = registry.find(&job.namespace, &job.node) {
            return Ok(target);
        }
        if started.elapsed() >= FIND || token.is_cancelled() {
            return Err(Failure::new(format!(
                "node `{}` of namespace `{}` is not running on this engine (not active, deleted, or this engine does not run the namespace)",
                job.node, job.namespace
            ))
            .with_code("inactive"));
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            _ = token.cancelled() => {}
        }
    }
}

/// What the branch learns about its job.
fn meta(job: &Job) -> Value {
    Value::map([
        ("id", Value::string(job.id.to_string())),
        ("namespace", Value::string(job.namespace.as_str())),
        ("node", Value::string(job.node.as_str())),
        ("attempt", Value::Int(job.attempt)),
        ("max_attempts", Value::Int(job.max_attempts)),
        ("created_at", Value::string(job.created_at.as_str())),
    ])
}

/// The job's result, or why it failed.
fn verdict(answer: &Packet) -> Result<serde_json::Value, Failure> {
    if let Some(error) = answer.as_error() {
        return Err(failure(error.clone()));
    }
    let payload = answer.payload();
    let status = payload
        .get("status")
        .and_then(Value::as_i64)
        .filter(|s| *s >= 400 && payload.get("body").is_some());
    if let Some(status) = status {
        let body = payload.get("body").cloned().unwrap_or(Value::Null);
        let message = body
            .get("error")
            .and_then(|e| e.get("message"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("the job's branch answered status {status}"));
        let code = body
            .get("error")
            .and_then(|e| e.get("code"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let mut error = ErrorValue::new(message)
            .with_status(u16::try_from(status).unwrap_or(500))
            .with_details(body);
        error.code = code;
        return Err(failure(error));
    }
    Ok(weir_codecs::json::to_json(payload))
}

/// An error answer as a failure; client errors are not worth retrying.
fn failure(error: ErrorValue) -> Failure {
    let permanent = error
        .status
        .is_some_and(|s| (400..500).contains(&s) && !matches!(s, 408 | 409 | 425 | 429));
    let failure = Failure::from(error);
    match permanent {
        true => failure.permanent(),
        false => failure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_errors_fail_at_once_and_others_retry() {
        let bad = Packet::error(ErrorValue::new("bad").with_status(400).with_code("invalid"));
        let failed = verdict(&bad).unwrap_err();
        assert!(failed.permanent);
        assert_eq!(failed.code.as_deref(), Some("invalid"));
        let busy = Packet::error(ErrorValue::new("busy").with_status(409));
        assert!(!verdict(&busy).unwrap_err().permanent);
        let down = Packet::error(ErrorValue::new("down").with_status(503));
        assert!(!verdict(&down).unwrap_err().permanent);
        let shaped = Packet::new(Value::map([
            ("status", Value::Int(422)),
            (
                "body",
                Value::map([(
                    "error",
                    Value::map([
                        ("message", Value::string("no")),
                        ("code", Value::string("nope")),
                    ]),
                )]),
            ),
        ]));
        let failed = verdict(&shaped).unwrap_err();
        assert_eq!((failed.message.as_str(), failed.permanent), ("no", true));
        assert_eq!(failed.code.as_deref(), Some("nope"));
        let fine = Packet::new(Value::map([("status", Value::string("success"))]));
        assert_eq!(
            verdict(&fine).unwrap(),
            serde_json::json!({"status": "success"})
        );
    }
}
