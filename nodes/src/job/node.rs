//! One `job` node: its compiled settings ([`Config`]), what starts each
//! activation ([`JobActivate`]: an enqueueing node starts the host's job
//! worker and registers its out-links, which its unload removes) and the
//! packet handling of each op. The queue's rules are the engine's; this
//! only renders templates, calls the queue and shapes answers.

use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;
use weir_codecs::{ErrorValue, Value};
use weir_engine::runtime::{Activate, BoxFuture, Outputs};
use weir_engine::scheme::Context;
use weir_engine::store::jobs::{JobError, JobFilter, MAX_ATTEMPTS, MAX_SPAN, NewJob, Status};
use weir_engine::{Call, FieldError, Node, Packet, Port};

use super::kind::{JobOp, JobSpec, template};
use super::registry::Target;
use super::service::JobService;
use super::view::{JobListing, JobView};
use crate::net::templated::Templated;

/// The namespace whose `job` nodes see every namespace's jobs.
const SYSTEM: &str = "system";

/// A compiled `job` spec.
pub(super) struct Config {
    pub op: JobOp,
    pub payload: Option<Templated>,
    pub idempotency_key: Option<Templated>,
    pub location: Option<Templated>,
    pub id: Templated,
    pub max_attempts: i64,
    pub timeout: Duration,
    pub deadline: Option<Duration>,
    pub delay: Duration,
    pub node: Option<String>,
    pub poll: Duration,
    pub env: Value,
}

impl Config {
    pub fn compile(spec: JobSpec, cx: &Context<'_>) -> Result<Config, Vec<FieldError>> {
        let mut errors = Vec::new();
        let text = |s: Option<String>| s.map(serde_json::Value::String);
        let payload = template("payload", spec.payload, &mut errors);
        let idempotency_key = template("idempotency_key", text(spec.idempotency_key), &mut errors);
        let location = template("location", text(spec.location), &mut errors);
        let id_text = spec
            .job_id
            .unwrap_or_else(|| "{{ payload.params.id }}".into());
        let id = template("job_id", text(Some(id_text)), &mut errors);
        let max_attempts = spec.max_attempts.unwrap_or(3);
        if !(1..=MAX_ATTEMPTS).contains(&max_attempts) {
            errors.push(FieldError::new(
                "max_attempts",
                format!("must be 1 to {MAX_ATTEMPTS}, not {max_attempts}"),
            ));
        }
        let timeout = spec
            .timeout
            .map(|d| d.get())
            .unwrap_or(Duration::from_secs(300));
        let day = Duration::from_secs(24 * 3600);
        if timeout.is_zero() || timeout > day {
            errors.push(FieldError::new(
                "timeout",
                "must be above 0 and at most 24h",
            ));
        }
        for (field, span) in [("deadline", spec.deadline), ("delay", spec.delay)] {
            if span.is_some_and(|d| d.get() > MAX_SPAN) {
                errors.push(FieldError::new(field, "must be at most 366 days"));
            }
        }
        if spec.deadline.is_some_and(|d| d.get().is_zero()) {
            errors.push(FieldError::new("deadline", "must be above 0"));
        }
        let poll = spec
            .poll
            .map(|d| d.get())
            .unwrap_or(Duration::from_millis(250));
        if !(Duration::from_millis(10)..=Duration::from_secs(60)).contains(&poll) {
            errors.push(FieldError::new("poll", "must be 10ms to 1m"));
        }
        if spec.node.as_deref().is_some_and(str::is_empty) {
            errors.push(FieldError::new("node", "must name a node"));
        }
        let env = weir_engine::env::bind(cx.spec(), cx.values());
        let env = env.map_err(|e| errors.extend(e)).unwrap_or_default();
        match (id, errors.is_empty()) {
            (Some(id), true) => Ok(Config {
                op: spec.op,
                payload,
                idempotency_key,
                location,
                id,
                max_attempts,
                timeout,
                deadline: spec.deadline.map(|d| d.get()),
                delay: spec.delay.map(|d| d.get()).unwrap_or_default(),
                node: spec.node,
                poll,
                env,
            }),
            _ => Err(errors),
        }
    }

    /// What templates see: the env, the packet as `payload`, and `extra`.
    fn context(&self, payload: &Value, extra: &[(&str, Value)]) -> Value {
        let env = self.env.as_map().into_iter().flat_map(|m| m.iter());
        Value::map(
            env.map(|(k, v)| (k.to_string(), v.clone()))
                .chain([("payload".to_string(), payload.clone())])
                .chain(extra.iter().map(|(k, v)| (k.to_string(), v.clone()))),
        )
    }
}

/// What starts a `job` node's activations.
pub(super) struct JobActivate {
    config: Arc<Config>,
    /// The node's name (or id) and namespace.
    name: String,
    namespace: String,
    /// What the jobs row may name it by: its name and its id.
    keys: Vec<String>,
    service: Option<Arc<JobService>>,
}

impl JobActivate {
    pub fn new(config: Config, cx: &Context<'_>) -> JobActivate {
        let spec = cx.spec();
        let mut keys = vec![cx.name()];
        if spec.name.is_some() {
            keys.push(spec.id.to_string());
        }
        JobActivate {
            config: Arc::new(config),
            name: cx.name(),
            namespace: spec.namespace.clone(),
            keys,
            service: cx.resource::<JobService>(),
        }
    }
}

impl Activate for JobActivate {
    fn activate<'a>(
        &'a self,
        outputs: &'a Arc<Outputs>,
    ) -> BoxFuture<'a, Result<Arc<dyn Node>, ErrorValue>> {
        Box::pin(async move {
            let service = self.service.clone().ok_or_else(no_store)?;
            let activation = service.registry().activation();
            if self.config.op == JobOp::Enqueue {
                service
                    .ensure_worker()
                    .map_err(|e| ErrorValue::new(e.to_string()))?;
                let target = Target {
                    name: self.name.clone(),
                    outputs: outputs.clone(),
                    timeout: self.config.timeout,
                };
                let registry = service.registry();
                registry.register(&self.namespace, &self.keys, activation, Arc::new(target));
            }
            let node: Arc<dyn Node> = Arc::new(JobNode {
                config: self.config.clone(),
                name: self.name.clone(),
                namespace: self.namespace.clone(),
                keys: self.keys.clone(),
                service,
                activation,
                outputs: outputs.clone(),
            });
            Ok(node)
        })
    }
}

/// One activation of a `job` node.
pub(super) struct JobNode {
    pub config: Arc<Config>,
    pub name: String,
    pub namespace: String,
    keys: Vec<String>,
    pub service: Arc<JobService>,
    activation: u64,
    pub outputs: Arc<Outputs>,
}

impl Node for JobNode {
    fn call<'a>(
        &'a self,
        call: &'a Call,
        input: Packet,
    ) -> BoxFuture<'a, Result<Packet, ErrorValue>> {
        Box::pin(async move {
            let payload = input.payload();
            match self.config.op {
                JobOp::Enqueue => self.enqueue(payload).await.map(Packet::new),
                JobOp::Get => {
                    let job = self.find(payload).await?;
                    Ok(call.write(&Port::output(), Packet::new(job.value())).await)
                }
                JobOp::Cancel => {
                    let id = self.find(payload).await?.id;
                    let id = Uuid::parse_str(&id).map_err(|_| not_found(&id))?;
                    let job = self.service.queue().cancel(id).await.map_err(queue_error)?;
                    let view = JobView::from(job);
                    Ok(call.write(&Port::output(), Packet::new(view.value())).await)
                }
                JobOp::List => self.list(payload).await.map(Packet::new),
                JobOp::Events => {
                    let job = self.find(payload).await?;
                    super::events::start(self, call, job).await.map(Packet::new)
                }
            }
        })
    }

    fn unload(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if self.config.op == JobOp::Enqueue {
                let registry = self.service.registry();
                registry.unregister(&self.namespace, &self.keys, self.activation);
            }
        })
    }
}

impl JobNode {
    fn render(
        &self,
        field: &str,
        template: &Templated,
        context: &Value,
    ) -> Result<Value, ErrorValue> {
        template.render(field, context).map_err(|e| {
            ErrorValue::new(format!("node `{}`: {e}", self.name))
                .with_code("template")
                .with_status(500)
        })
    }

    async fn enqueue(&self, packet: &Value) -> Result<Value, ErrorValue> {
        let context = self.config.context(packet, &[]);
        let stored = match &self.config.payload {
            Some(template) => self.render("payload", template, &context)?,
            None => packet.clone(),
        };
        let mut new = NewJob::new(
            &self.namespace,
            &self.name,
            weir_codecs::json::to_json(&stored),
        )
        .max_attempts(self.config.max_attempts)
        .delay(self.config.delay);
        if let Some(deadline) = self.config.deadline {
            new = new.deadline(deadline);
        }
        if let Some(template) = &self.config.idempotency_key {
            let key = self.render("idempotency_key", template, &context)?;
            let key = key
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| key.to_string());
            if !key.is_empty() && key != "null" {
                new = new.idempotency_key(&key);
            }
        }
        let enqueued = self
            .service
            .queue()
            .enqueue(new)
            .await
            .map_err(queue_error)?;
        let job = enqueued.job;
        let id = job.id.to_string();
        let mut header = Vec::new();
        if let Some(template) = &self.config.location {
            let context = self
                .config
                .context(packet, &[("job_id", Value::string(id.as_str()))]);
            let location = self.render("location", template, &context)?;
            let text = location
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| location.to_string());
            header.push(("location", Value::string(text)));
        }
        let body = Value::map([
            ("job_id", Value::string(id.as_str())),
            ("status", Value::string(job.status.as_str())),
        ]);
        let mut answer = vec![("status", Value::Int(202)), ("body", body)];
        if !header.is_empty() {
            answer.push(("header", Value::map(header)));
        }
        Ok(Value::map(answer))
    }

    /// The job the packet names, if this node may see it.
    pub async fn find(&self, packet: &Value) -> Result<JobView, ErrorValue> {
        let context = self.config.context(packet, &[]);
        let rendered = self.render("job_id", &self.config.id, &context)?;
        let text = rendered
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| rendered.to_string());
        let id = Uuid::parse_str(text.trim()).map_err(|_| not_found(&text))?;
        let job = self.service.queue().get(id).await.map_err(queue_error)?;
        match job {
            Some(job) if self.sees(&job.namespace, &job.node) => Ok(JobView::from(job)),
            _ => Err(not_found(&text)),
        }
    }

    /// Whether this node may see a job of `node` in `namespace`.
    fn sees(&self, namespace: &str, node: &str) -> bool {
        (self.namespace == SYSTEM || self.namespace == namespace)
            && self.config.node.as_deref().is_none_or(|n| n == node)
    }

    async fn list(&self, packet: &Value) -> Result<Value, ErrorValue> {
        let mut filter = self.filter(packet)?;
        if self.namespace != SYSTEM {
            filter.namespace = Some(self.namespace.clone());
        }
        if let Some(node) = &self.config.node {
            if filter.node.as_ref().is_some_and(|n| n != node) {
                return Ok(listing(Vec::new(), None));
            }
            filter.node = Some(node.clone());
        }
        let limit = filter.limit.unwrap_or(100) as usize;
        let jobs = self
            .service
            .queue()
            .list(&filter)
            .await
            .map_err(queue_error)?;
        let next = (jobs.len() == limit)
            .then(|| jobs.last().map(|j| j.id.to_string()))
            .flatten();
        let items = jobs.into_iter().map(JobView::from).collect();
        Ok(listing(items, next))
    }

    /// The listing's filter from the query; an unknown parameter is refused.
    fn filter(&self, packet: &Value) -> Result<JobFilter, ErrorValue> {
        let mut filter = JobFilter::default();
        let Some(query) = packet.get("query").and_then(Value::as_map) else {
            return Ok(filter);
        };
        let known = "namespace, status, node, limit, cursor";
        for (name, value) in query.iter() {
            let text = value.as_str().unwrap_or("").to_string();
            match name.as_ref() {
                "namespace" if self.namespace == SYSTEM => filter.namespace = Some(text),
                "status" => {
                    let status = Status::parse(&text).ok_or_else(|| {
                        bad_request(format!(
                            "query `status`: `{text}` is not a job status (queued, building, success, failed, cancelled)"
                        ))
                    })?;
                    filter.status = Some(status);
                }
                "node" => filter.node = Some(text),
                "limit" => {
                    let limit = text.parse::<u32>().ok().filter(|n| (1..=1000).contains(n));
                    filter.limit = Some(limit.ok_or_else(|| {
                        bad_request(format!(
                            "query `limit`: `{text}` is not a number from 1 to 1000"
                        ))
                    })?);
                }
                "cursor" => {
                    let id = Uuid::parse_str(&text).map_err(|_| {
                        bad_request(format!(
                            "query `cursor`: `{text}` is not a cursor this API gave"
                        ))
                    })?;
                    filter.before = Some(id);
                }
                other => {
                    return Err(bad_request(format!(
                        "unknown query parameter `{other}` (known: {known})"
                    )));
                }
            }
        }
        Ok(filter)
    }
}

fn listing(items: Vec<JobView>, next_cursor: Option<String>) -> Value {
    let listing = JobListing { items, next_cursor };
    serde_json::to_value(listing)
        .map(weir_codecs::json::from_json)
        .unwrap_or(Value::Null)
}

fn bad_request(message: String) -> ErrorValue {
    ErrorValue::new(message)
        .with_code("bad_request")
        .with_status(400)
}

fn not_found(id: &str) -> ErrorValue {
    ErrorValue::new(format!("no job `{id}`"))
        .with_code("not_found")
        .with_status(404)
}

fn no_store() -> ErrorValue {
    ErrorValue::new(
        "kind `job` needs the engine's store: it runs under `weir start`, not from files",
    )
    .with_code("no_store")
}

/// A queue failure as an answer; database causes stay in the log.
pub(super) fn queue_error(error: JobError) -> ErrorValue {
    match error {
        JobError::NotFound(id) => not_found(&id.to_string()),
        JobError::Invalid { .. } => ErrorValue::new(error.to_string())
            .with_code("invalid")
            .with_status(400),
        other => {
            tracing::warn!(error = %other, "job queue failed");
            ErrorValue::new("the job queue failed; the engine's log says why")
                .with_code("database")
                .with_status(503)
        }
    }
}
