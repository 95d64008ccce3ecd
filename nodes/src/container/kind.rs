//! The `container` kind: a thin layer from a spec and a packet to the
//! [`Runner`](super::Runner). The packet names the script; the spec, and
//! only the spec, names the image, the command and the limits.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use weir_codecs::{ErrorValue, Value};
use weir_engine::runtime::BoxFuture;
use weir_engine::runtime::{Prepare, prepared};
use weir_engine::{Activate, Call, FieldError, Kind, Node, Packet, Port, scheme::Context};

use super::outcome::{Event, Job, Outcome, RunError};
use super::sandbox::Sandbox;
use super::spec::ContainerSpec;
use super::stream::RunStream;

pub(super) struct Container;

impl Kind for Container {
    type Spec = ContainerSpec;

    fn name(&self) -> &'static str {
        "container"
    }

    fn summary(&self) -> &'static str {
        "Runs the packet's script in a fresh, locked-down Docker container and answers its exit code and output."
    }

    fn compile(
        &self,
        spec: ContainerSpec,
        cx: &Context<'_>,
    ) -> Result<Arc<dyn Activate>, Vec<FieldError>> {
        let problems = spec.check();
        if !problems.is_empty() {
            return Err(problems
                .into_iter()
                .map(|p| FieldError::new(p.field, p.message))
                .collect());
        }
        Ok(prepared(ContainerNode {
            spec,
            sandbox: cx.resource::<Sandbox>(),
        }))
    }
}

struct ContainerNode {
    spec: ContainerSpec,
    sandbox: Option<Arc<Sandbox>>,
}

impl ContainerNode {
    fn sandbox(&self) -> Result<&Sandbox, ErrorValue> {
        self.sandbox.as_deref().ok_or_else(|| {
            ErrorValue::new("this engine provides no Docker sandbox")
                .with_code("docker_unavailable")
                .with_status(503)
        })
    }

    async fn run(&self, call: &Call, input: Packet) -> Result<Packet, ErrorValue> {
        let request = Request::read(input.payload())?;
        let runner = self.sandbox()?.runner().await.map_err(failure)?;
        let mut spec = self.spec.clone();
        if let Some(ms) = request.timeout_ms {
            spec.limits.timeout_ms = ms.min(spec.limits.timeout_ms);
        }
        let process = call.process().id().to_string();
        if request.stream {
            let events = RunStream::new(runner.clone(), spec, request.job, process);
            return Ok(Packet::new(stream(call, events)));
        }
        let outcome = runner
            .run(&spec, &request.job, &process)
            .await
            .map_err(failure)?;
        if outcome.timed_out {
            let ms = spec.limits.timeout_ms;
            return Err(ErrorValue::new(format!(
                "the script ran past its timeout ({ms} ms) and was killed"
            ))
            .with_code("timeout")
            .with_status(504)
            .with_details(answer(&outcome)));
        }
        Ok(call
            .write(&Port::output(), Packet::new(answer(&outcome)))
            .await)
    }
}

impl Node for ContainerNode {
    fn call<'a>(
        &'a self,
        call: &'a Call,
        input: Packet,
    ) -> BoxFuture<'a, Result<Packet, ErrorValue>> {
        Box::pin(self.run(call, input))
    }
}

impl Prepare for ContainerNode {
    /// Connects to Docker (the first node to load sweeps). A daemon that
    /// is down does not keep the node from loading, so a workflow whose
    /// other routes need no Docker still serves: each run is tried again
    /// and answers 503 while it stays down.
    fn prepare(&self) -> BoxFuture<'_, Result<(), ErrorValue>> {
        Box::pin(async move {
            if let Err(error) = self.sandbox()?.runner().await {
                tracing::warn!(%error, "container: no Docker daemon yet; runs answer 503 until one answers");
            }
            Ok(())
        })
    }
}

/// What a packet asks to run.
struct Request {
    job: Job,
    timeout_ms: Option<u64>,
    stream: bool,
}

impl Request {
    /// `{source, stdin?, args?, timeout_ms?, stream?}`; a wrong field is
    /// named in a 400.
    fn read(payload: &Value) -> Result<Request, ErrorValue> {
        let bad = |field: &str, what: &str| {
            ErrorValue::new(format!("`{field}` {what}"))
                .with_code("bad_input")
                .with_status(400)
        };
        if payload.as_map().is_none() {
            return Err(bad("payload", "must be a map with `source`"));
        }
        let field = |name: &str| payload.get(name).filter(|v| !v.is_null());
        let source = match field("source") {
            Some(v) => v
                .as_str()
                .ok_or_else(|| bad("source", "must be a string"))?,
            None => return Err(bad("source", "is missing")),
        };
        let stdin = match field("stdin") {
            Some(v) => Some(
                v.as_str()
                    .ok_or_else(|| bad("stdin", "must be a string"))?
                    .to_string(),
            ),
            None => None,
        };
        let args = match field("args") {
            Some(v) => v
                .as_list()
                .and_then(|items| {
                    items
                        .iter()
                        .map(|i| i.as_str().map(str::to_string))
                        .collect()
                })
                .ok_or_else(|| bad("args", "must be a list of strings"))?,
            None => Vec::new(),
        };
        let timeout_ms = match field("timeout_ms") {
            Some(v) => Some(
                v.as_i64()
                    .filter(|ms| *ms > 0)
                    .map(|ms| ms as u64)
                    .ok_or_else(|| bad("timeout_ms", "must be a positive integer"))?,
            ),
            None => None,
        };
        let stream = match field("stream") {
            Some(v) => v
                .as_bool()
                .ok_or_else(|| bad("stream", "must be true or false"))?,
            None => false,
        };
        Ok(Request {
            job: Job {
                source: source.to_string(),
                stdin,
                args,
            },
            timeout_ms,
            stream,
        })
    }
}

fn failure(error: RunError) -> ErrorValue {
    ErrorValue::new(error.to_string())
        .with_code(error.code())
        .with_status(error.status())
}

/// `{exit_code, stdout, stderr, duration_ms, timed_out, oom_killed, truncated}`.
fn answer(outcome: &Outcome) -> Value {
    Value::map([
        (
            "exit_code",
            outcome.exit_code.map_or(Value::Null, Value::Int),
        ),
        ("stdout", Value::string(outcome.stdout.as_str())),
        ("stderr", Value::string(outcome.stderr.as_str())),
        (
            "duration_ms",
            Value::Int(i64::try_from(outcome.duration_ms).unwrap_or(i64::MAX)),
        ),
        ("timed_out", Value::Bool(outcome.timed_out)),
        ("oom_killed", Value::Bool(outcome.oom_killed)),
        ("truncated", Value::Bool(outcome.truncated)),
    ])
}

/// Answers the request with Server-Sent Events: an `stdout` or `stderr`
/// event per line, then `done` with the answer (or `error`). The run goes
/// on in a task of its own until it ends or the client goes (which closes
/// the stream's sender and drops the run, removing its container).
fn stream(call: &Call, mut events: RunStream) -> Value {
    let sender = crate::net::stream::open(call.process(), 16);
    tokio::spawn(async move {
        loop {
            let event = tokio::select! {
                () = sender.closed() => break,
                event = events.next() => event,
            };
            let Some(event) = event else { break };
            if sender.send(sse(event)).await.is_err() {
                break;
            }
        }
    });
    Value::map([
        ("status", Value::Int(200)),
        (
            "header",
            Value::map([
                ("content-type", Value::string("text/event-stream")),
                ("cache-control", Value::string("no-cache")),
            ]),
        ),
    ])
}

/// One event; its data is JSON, so a line with any character fits.
fn sse(event: Result<Event, RunError>) -> Bytes {
    let (name, data) = match event {
        Ok(Event::Line(line)) => (
            match line.channel {
                super::Channel::Stdout => "stdout",
                super::Channel::Stderr => "stderr",
            },
            serde_json::Value::String(line.text),
        ),
        Ok(Event::Done(outcome)) => ("done", weir_codecs::json::to_json(&answer(&outcome))),
        Err(error) => (
            "error",
            serde_json::json!({"message": error.to_string(), "code": error.code()}),
        ),
    };
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}
