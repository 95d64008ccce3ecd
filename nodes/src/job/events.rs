//! The `events` op: one job's changes as Server-Sent Events, through the
//! listener's streamed responses ([`crate::net::stream`]).
//!
//! The job is read every `poll`; each change of its state or attempt count
//! (and its state when the stream opens) is written to the node's `out`
//! in the request's process, and what `out` answers is the event's data
//! (`event: status`). The stream ends after a final state, or when the
//! client goes. Comments keep an idle connection alive.

use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use weir_codecs::{ErrorValue, Value};
use weir_engine::{Call, Packet, Port};

use super::node::JobNode;
use super::view::JobView;

/// Events waiting for a slow client before the writer waits.
const BUFFER: usize = 16;
/// How often an idle stream sends a comment.
const KEEPALIVE: Duration = Duration::from_secs(15);

/// Opens the stream for `job` and answers the response's head.
pub(super) async fn start(node: &JobNode, call: &Call, job: JobView) -> Result<Value, ErrorValue> {
    let events = crate::net::stream::open(call.process(), BUFFER);
    let follower = Follower {
        outputs: node.outputs.clone(),
        process: call.process().clone(),
        queue: node.service.queue().clone(),
        poll: node.config.poll,
        events,
    };
    tokio::spawn(follower.follow(job));
    Ok(Value::map([
        ("status", Value::Int(200)),
        (
            "header",
            Value::map([
                ("content-type", Value::string("text/event-stream")),
                ("cache-control", Value::string("no-store")),
                ("x-accel-buffering", Value::string("no")),
            ]),
        ),
        ("body", Value::string("retry: 1000\n\n")),
    ]))
}

struct Follower {
    outputs: std::sync::Arc<weir_engine::runtime::Outputs>,
    process: std::sync::Arc<weir_engine::Process>,
    queue: weir_engine::store::jobs::Queue,
    poll: Duration,
    events: mpsc::Sender<Bytes>,
}

impl Follower {
    async fn follow(self, first: JobView) {
        let Ok(id) = uuid::Uuid::parse_str(&first.id) else {
            return;
        };
        let mut last = None;
        let mut current = first;
        let mut quiet = tokio::time::Instant::now();
        loop {
            let seen = (current.status, current.attempts);
            if last != Some(seen) {
                last = Some(seen);
                quiet = tokio::time::Instant::now();
                if !self.send(&current).await || current.status.is_final() {
                    return;
                }
            } else if quiet.elapsed() >= KEEPALIVE {
                quiet = tokio::time::Instant::now();
                if self
                    .events
                    .send(Bytes::from_static(b": keep-alive\n\n"))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            tokio::select! {
                () = self.events.closed() => return,
                () = tokio::time::sleep(self.poll) => {}
            }
            match self.queue.get(id).await {
                Ok(Some(job)) => current = JobView::from(job),
                Ok(None) => {
                    let _ = self.error("the job is gone (pruned)").await;
                    return;
                }
                Err(error) => {
                    tracing::warn!(%error, job = %id, "events: cannot read the job; trying again");
                }
            }
        }
    }

    /// Sends one state as `out` answers it; false once the client is gone.
    async fn send(&self, job: &JobView) -> bool {
        let answer = self
            .outputs
            .write(&self.process, &Port::output(), Packet::new(job.value()))
            .await;
        let data = match answer.as_error() {
            Some(error) => return self.error(&error.message).await,
            None => weir_codecs::json::to_string(answer.payload()),
        };
        let event = format!("event: status\ndata: {data}\n\n");
        self.events.send(Bytes::from(event)).await.is_ok()
    }

    async fn error(&self, message: &str) -> bool {
        let data = serde_json::json!({ "message": message });
        let event = format!("event: error\ndata: {data}\n\n");
        let _ = self.events.send(Bytes::from(event)).await;
        false
    }
}
