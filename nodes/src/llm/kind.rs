//! `llm`: a chat completion per packet, through [`super::client`].
//!
//! The spec sets the server, the model and the options; `messages` are
//! templates rendered per packet over `payload` and the env, and `options`
//! (one template, e.g. `"{{ payload.params }}"`) may override the model and
//! the sampling options per packet. The answer is the client's
//! [`Answer`](super::Answer). With `stream: true` the server streams; with
//! `relay: true` too, the node answers the request's response head itself
//! and relays the deltas to the client as Server-Sent Events
//! ([`crate::net::stream`]), then the whole answer. This file only maps
//! spec and packets onto the client; it holds no call logic.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use bytes::Bytes;
use schemars::JsonSchema;
use serde::Deserialize;
use tokio::sync::mpsc;
use weir_codecs::{ErrorValue, Template, Value};
use weir_engine::runtime::{Activate, BoxFuture, shared};
use weir_engine::scheme::Context;
use weir_engine::{Call, FieldError, Kind, Node, Packet, Port};

use super::{ApiKey, CallError, ChatRequest, Client, Config, Flavour, Prompt, Retry, Structured};

/// The fields of an `llm` spec.
///
/// Ports: `in` → `out` (the answer, or the payload with it under `into`);
/// the answer is what `out` answers (the answer itself when `out` is
/// unlinked). A failed call goes to `error` when linked.
// No `Debug`: `api_key` is a secret.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(example = serde_json::json!({
    "base_url": "http://127.0.0.1:8081/v1",
    "model": "gemma3-270m",
    "messages": [
        {"role": "system", "content": "Answer in one sentence."},
        {"role": "user", "content": "{{ payload.question }}"}
    ],
    "temperature": 0,
    "max_tokens": 64
}))]
#[schemars(extend("allOf" = [
    {"if": {"properties": {"relay": {"const": true}}, "required": ["relay"]},
     "then": {"properties": {"stream": {"const": true}, "emit": {"type": "null"}, "into": {"type": "null"}},
              "required": ["stream"]}},
    {"if": {"properties": {"emit": {"type": "string"}}, "required": ["emit"]},
     "then": {"properties": {"stream": {"const": true}}, "required": ["stream"]}}
]))]
pub struct LlmSpec {
    /// The API's base URL, e.g. `"{{ LLM_BASE_URL }}"` bound from
    /// `os: LLM_BASE_URL`; calls go to `{base_url}/chat/completions`.
    #[schemars(extend("format" = "http-url"), regex(pattern = crate::net::HTTP_URL))]
    pub base_url: String,
    /// The API key, bound from a secret value (`"{{ LLM_KEY }}"`); sent as
    /// a bearer token and shown nowhere. Local servers need none.
    #[serde(default)]
    pub api_key: Option<String>,
    /// The model's name, as the server knows it.
    pub model: String,
    /// The conversation: `{role, content}` each, `content` a template over
    /// `payload` and the env (`"Summarise: {{ payload.text }}"`).
    #[schemars(length(min = 1))]
    pub messages: Vec<MessageSpec>,
    /// Sampling temperature; 0 answers the same text every time (on the
    /// same server and model).
    #[serde(default)]
    pub temperature: Option<f64>,
    /// The most tokens the answer may have.
    #[serde(default)]
    pub max_tokens: Option<u64>,
    /// Nucleus sampling: only the most likely tokens whose probabilities
    /// add up to `top_p`.
    #[serde(default)]
    pub top_p: Option<f64>,
    /// Text, or a list of texts, that ends the answer.
    #[serde(default)]
    pub stop: Option<Stop>,
    /// The sampler's seed, for servers that honour it.
    #[serde(default)]
    pub seed: Option<i64>,
    /// Per-packet overrides of `model`, `temperature`, `max_tokens`,
    /// `top_p`, `stop` and `seed`: a map, or one template yielding one
    /// (`"{{ payload.params }}"`); null keys are left as the spec sets them.
    #[serde(default)]
    #[schemars(extend("type" = ["object", "string", "null"]))]
    pub options: Option<serde_json::Value>,
    /// Structured output: the answer must be JSON matching `schema`; it is
    /// parsed into the answer's `json`, and a violation is an error
    /// (`invalid_answer`) with its JSON pointer.
    #[serde(default)]
    pub response_format: Option<ResponseFormatSpec>,
    /// Asks the server to stream (Server-Sent Events); the answer is
    /// assembled, with `time_to_first_token_ms`.
    #[serde(default)]
    pub stream: bool,
    /// With `stream`: the node answers the request's response itself, as
    /// Server-Sent Events (`delta` events `{content}`, then one `answer` or
    /// `error`), for a listener to send on as tokens arrive.
    #[serde(default)]
    pub relay: bool,
    /// With `stream`: writes each delta as an event of this name (a
    /// template over `payload`, e.g. `"{{ payload.side }}"`), data
    /// `{"delta": text}`, to the stream of the `sse` node the call runs
    /// under, while the node still answers the whole answer. Several calls
    /// can emit into one stream side by side. Nothing is written when the
    /// request is not streamed.
    #[serde(default)]
    pub emit: Option<String>,
    /// When set, the answer is the (map) payload with the answer under
    /// this key, so later nodes see both the request and the answer.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub into: Option<String>,
    /// `llama_cpp` (the default) or `openai`, where the servers differ.
    #[serde(default)]
    pub flavour: Flavour,
    /// Milliseconds one attempt may take.
    #[serde(default = "default_timeout_ms")]
    #[schemars(range(min = 1), transform = crate::ceiling::time_ms)]
    pub timeout_ms: u64,
    /// Milliseconds the whole call may take, retries and waits included.
    #[serde(default = "default_call_timeout_ms")]
    #[schemars(range(min = 1), transform = crate::ceiling::time_ms)]
    pub call_timeout_ms: u64,
    /// Attempts in all (1 to 10); 429, 5xx, connection failures and
    /// timeouts are tried again.
    #[serde(default = "default_max_attempts")]
    #[schemars(range(min = 1, max = 10))]
    pub max_attempts: u32,
    /// The first wait between attempts; it doubles up to `max_backoff_ms`,
    /// with jitter. A server's `Retry-After` is honoured instead.
    #[serde(default = "default_backoff_ms")]
    #[schemars(transform = crate::ceiling::time_ms)]
    pub backoff_ms: u64,
    /// The ceiling of the wait between attempts.
    #[serde(default = "default_max_backoff_ms")]
    #[schemars(transform = crate::ceiling::time_ms)]
    pub max_backoff_ms: u64,
    /// Requests in flight at once to this `base_url`, across every node.
    #[serde(default = "default_concurrency")]
    #[schemars(range(min = 1, max = 1024))]
    pub concurrency: usize,
}

/// One message of the conversation.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageSpec {
    /// `system`, `developer`, `user` or `assistant`.
    #[schemars(extend("enum" = ["system", "developer", "user", "assistant"]))]
    pub role: String,
    /// A template over `payload` and the env.
    pub content: String,
}

/// `stop`: one text or several.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Stop {
    One(String),
    Many(Vec<String>),
}

/// Structured output's schema.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseFormatSpec {
    /// The JSON Schema of the answer.
    #[schemars(extend("type" = ["object", "boolean"]))]
    pub schema: serde_json::Value,
    /// Its name for the server (letters, digits, `_`, `-`).
    #[serde(default = "default_schema_name")]
    #[schemars(regex(pattern = "^[A-Za-z0-9_-]{1,64}$"))]
    pub name: String,
    /// Asks OpenAI to enforce the schema exactly.
    #[serde(default)]
    pub strict: bool,
}

fn default_timeout_ms() -> u64 {
    60_000
}
fn default_call_timeout_ms() -> u64 {
    120_000
}
fn default_max_attempts() -> u32 {
    3
}
fn default_backoff_ms() -> u64 {
    250
}
fn default_max_backoff_ms() -> u64 {
    8_000
}
fn default_concurrency() -> usize {
    4
}
fn default_schema_name() -> String {
    "answer".to_string()
}

/// The fields rendered per packet.
const PER_PACKET: [&str; 3] = ["messages", "options", "emit"];

pub(super) struct Llm;

impl Kind for Llm {
    type Spec = LlmSpec;

    fn name(&self) -> &'static str {
        "llm"
    }

    fn summary(&self) -> &'static str {
        "Calls an OpenAI-compatible chat completion API per packet (`messages` templates over `payload`), with structured output, streaming, retries and a concurrency limit per server; answers `{content, finish_reason, usage, model, latency_ms, time_to_first_token_ms, attempts}`."
    }

    fn runtime_templates(&self) -> &'static [&'static str] {
        &PER_PACKET
    }

    fn compile(
        &self,
        spec: LlmSpec,
        cx: &Context<'_>,
    ) -> Result<Arc<dyn Activate>, Vec<FieldError>> {
        let mut errors = Vec::new();
        let prompt = Prompt::compile(
            spec.messages
                .iter()
                .map(|m| (m.role.as_str(), m.content.as_str())),
        )
        .map_err(|e| {
            errors.extend(
                e.into_iter()
                    .map(|(path, message)| FieldError::new(format!("messages{path}"), message)),
            );
        })
        .ok();
        let options = match spec.options {
            Some(serde_json::Value::String(source)) => Template::compile(&source)
                .map(Options::Template)
                .map_err(|e| errors.push(FieldError::new("options", e.to_string())))
                .ok(),
            Some(serde_json::Value::Object(map)) => Some(Options::Fixed(
                weir_codecs::json::from_json(serde_json::Value::Object(map)),
            )),
            Some(serde_json::Value::Null) | None => None,
            Some(_) => {
                errors.push(FieldError::new(
                    "options",
                    "must be a map or a template yielding one",
                ));
                None
            }
        };
        let structured = spec.response_format.and_then(|format| {
            Structured::new(&format.name, format.schema, format.strict)
                .map(Arc::new)
                .map_err(|e| errors.push(FieldError::new("response_format", e)))
                .ok()
        });
        if spec.relay && !spec.stream {
            errors.push(FieldError::new("relay", "needs `stream: true`"));
        }
        let emit = spec.emit.as_deref().and_then(|source| {
            let emit = Template::compile(source)
                .map_err(|e| errors.push(FieldError::new("emit", e.to_string())))
                .ok();
            match (spec.stream, spec.relay) {
                (false, _) => errors.push(FieldError::new("emit", "needs `stream: true`")),
                (_, true) => errors.push(FieldError::new(
                    "emit",
                    "`relay` answers the response itself: use one or the other",
                )),
                _ => {}
            }
            emit
        });
        if spec.into.as_deref().is_some_and(str::is_empty) {
            errors.push(FieldError::new("into", "must not be empty"));
        }
        if spec.into.is_some() && spec.relay {
            errors.push(FieldError::new(
                "into",
                "`relay` answers the response itself",
            ));
        }
        let mut checks: Vec<(&str, bool, &str)> = vec![
            ("timeout_ms", spec.timeout_ms > 0, "must be more than 0"),
            (
                "call_timeout_ms",
                spec.call_timeout_ms > 0,
                "must be more than 0",
            ),
            (
                "max_attempts",
                (1..=super::retry::MAX_ATTEMPTS).contains(&spec.max_attempts),
                "must be 1 to 10",
            ),
            (
                "concurrency",
                (1..=super::limit::MAX_CONCURRENCY).contains(&spec.concurrency),
                "must be 1 to 1024",
            ),
        ];
        checks.retain(|(_, ok, _)| !ok);
        errors.extend(
            checks
                .into_iter()
                .map(|(field, _, message)| FieldError::new(field, message)),
        );
        errors.extend(
            [
                ("timeout_ms", spec.timeout_ms),
                ("call_timeout_ms", spec.call_timeout_ms),
                ("backoff_ms", spec.backoff_ms),
                ("max_backoff_ms", spec.max_backoff_ms),
            ]
            .into_iter()
            .filter_map(|(field, ms)| crate::ceiling::TIME.check(field, ms)),
        );
        let config = Config {
            api_key: spec.api_key.as_deref().and_then(ApiKey::new),
            flavour: spec.flavour,
            attempt_timeout: Duration::from_millis(spec.timeout_ms),
            call_timeout: Duration::from_millis(spec.call_timeout_ms),
            retry: Retry {
                max_attempts: spec.max_attempts,
                backoff: Duration::from_millis(spec.backoff_ms),
                max_backoff: Duration::from_millis(spec.max_backoff_ms),
                ..Retry::default()
            },
            concurrency: spec.concurrency,
            ..Config::new(&spec.base_url)
        };
        let http = match cx.resource::<reqwest::Client>() {
            Some(client) => Ok((*client).clone()),
            None => SHARED.clone(),
        };
        let client = match http {
            Ok(http) => Client::new(config, http)
                .map_err(|e| errors.push(FieldError::new("base_url", e)))
                .ok(),
            Err(e) => {
                errors.push(FieldError::new("base_url", e));
                None
            }
        };
        let env = weir_engine::env::bind(cx.spec(), cx.values());
        let env = env.map_err(|e| errors.extend(e)).unwrap_or_default();
        let (Some(prompt), Some(client), true) = (prompt, client, errors.is_empty()) else {
            return Err(errors);
        };
        let stop = match spec.stop {
            None => Vec::new(),
            Some(Stop::One(text)) => vec![text],
            Some(Stop::Many(texts)) => texts,
        };
        Ok(shared(LlmNode {
            name: cx.name(),
            client: Arc::new(client),
            prompt,
            options,
            env,
            base: ChatRequest {
                model: spec.model,
                messages: Vec::new(),
                temperature: spec.temperature,
                max_tokens: spec.max_tokens,
                top_p: spec.top_p,
                stop,
                seed: spec.seed,
                structured,
                stream: spec.stream,
            },
            relay: spec.relay,
            emit,
            into: spec.into.map(Arc::from),
        }))
    }
}

/// The HTTP client of every `llm` node unless the host provides one.
static SHARED: LazyLock<Result<reqwest::Client, String>> = LazyLock::new(|| {
    crate::net::client_builder()
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
});

enum Options {
    Fixed(Value),
    Template(Template),
}

struct LlmNode {
    name: String,
    client: Arc<Client>,
    prompt: Prompt,
    options: Option<Options>,
    env: Value,
    /// The request, but its messages, as the spec sets it.
    base: ChatRequest,
    relay: bool,
    /// The event name deltas are emitted under, per packet.
    emit: Option<Template>,
    into: Option<Arc<str>>,
}

impl Node for LlmNode {
    fn call<'a>(
        &'a self,
        call: &'a Call,
        input: Packet,
    ) -> BoxFuture<'a, Result<Packet, ErrorValue>> {
        Box::pin(async move {
            let request = self.request(input.payload()).map_err(|e| {
                ErrorValue::new(format!("llm `{}`: {e}", self.name))
                    .with_code("invalid_request")
                    .with_status(400)
            })?;
            if self.relay {
                let events = crate::net::stream::open(call.process(), 64);
                tokio::spawn(relay(self.client.clone(), request, events));
                return Ok(Packet::new(sse_head()));
            }
            let emitted = self.emitted(call, input.payload())?;
            let answer = tokio::select! {
                answer = chat(&self.client, &request, emitted) => answer.map_err(|e| failure(&self.name, &e)),
                stopped = call.process().stopped() => Err(stopped),
            }?;
            let answer = to_value(&answer);
            let output = match &self.into {
                None => answer,
                Some(key) => with(input.payload(), key, answer),
            };
            Ok(call.write(&Port::output(), Packet::new(output)).await)
        })
    }
}

impl LlmNode {
    /// Where this call's deltas go: the stream it runs under and the
    /// event name, when the spec emits and the request is streamed.
    fn emitted(
        &self,
        call: &Call,
        payload: &Value,
    ) -> Result<Option<(crate::net::events::Events, String)>, ErrorValue> {
        let (Some(emit), Some(events)) = (&self.emit, crate::net::events::find(call.process()))
        else {
            return Ok(None);
        };
        let fail = |message: String| {
            ErrorValue::new(format!("llm `{}`: emit: {message}", self.name))
                .with_code("invalid_request")
                .with_status(400)
        };
        let name = emit
            .render(&context(&self.env, payload))
            .map_err(|e| fail(e.to_string()))?;
        match name.as_str() {
            Some(name) if crate::net::events::valid_name(name) => {
                Ok(Some((events, name.to_string())))
            }
            _ => Err(fail(
                "must render to text, not empty, without line breaks".to_string(),
            )),
        }
    }

    /// The request for one packet: the messages rendered, the options
    /// applied.
    fn request(&self, payload: &Value) -> Result<ChatRequest, String> {
        let context = context(&self.env, payload);
        let mut request = self.base.clone();
        request.messages = self.prompt.render(&context)?;
        let options = match &self.options {
            None => return Ok(request),
            Some(Options::Fixed(value)) => value.clone(),
            Some(Options::Template(template)) => template
                .render(&context)
                .map_err(|e| format!("options: {e}"))?,
        };
        apply(&mut request, &weir_codecs::json::to_json(&options))?;
        Ok(request)
    }
}

/// Applies per-packet `options` to `request`.
fn apply(request: &mut ChatRequest, options: &serde_json::Value) -> Result<(), String> {
    let map = match options {
        serde_json::Value::Null => return Ok(()),
        serde_json::Value::Object(map) => map,
        other => return Err(format!("options: must be a map, not {}", json_type(other))),
    };
    for (name, value) in map.iter().filter(|(_, v)| !v.is_null()) {
        let wrong =
            |what: &str| format!("options.{name}: must be {what}, not {}", json_type(value));
        match name.as_str() {
            "model" => request.model = value.as_str().ok_or_else(|| wrong("text"))?.to_string(),
            "temperature" => {
                request.temperature = Some(value.as_f64().ok_or_else(|| wrong("a number"))?)
            }
            "top_p" => request.top_p = Some(value.as_f64().ok_or_else(|| wrong("a number"))?),
            "max_tokens" => {
                request.max_tokens = Some(value.as_u64().ok_or_else(|| wrong("a whole number"))?)
            }
            "seed" => request.seed = Some(value.as_i64().ok_or_else(|| wrong("a whole number"))?),
            "stop" => {
                request.stop = match value {
                    serde_json::Value::String(text) => vec![text.clone()],
                    serde_json::Value::Array(items) => items
                        .iter()
                        .map(|item| item.as_str().map(str::to_string))
                        .collect::<Option<_>>()
                        .ok_or_else(|| wrong("text or a list of texts"))?,
                    _ => return Err(wrong("text or a list of texts")),
                }
            }
            other => {
                return Err(format!(
                    "options: `{other}` is not an option (model, temperature, max_tokens, top_p, stop, seed)"
                ));
            }
        }
    }
    Ok(())
}

fn json_type(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "text",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "a map",
    }
}

/// What templates see: the env's variables, and the packet as `payload`.
fn context(env: &Value, payload: &Value) -> Value {
    let variables = env.as_map().into_iter().flat_map(|map| map.iter());
    Value::map(
        variables
            .map(|(name, value)| (name.clone(), value.clone()))
            .chain([(Arc::from("payload"), payload.clone())]),
    )
}

fn to_value(answer: &super::Answer) -> Value {
    // An answer is plain fields: it always serialises.
    weir_codecs::json::from_json(serde_json::to_value(answer).unwrap_or_default())
}

fn failure(node: &str, error: &CallError) -> ErrorValue {
    ErrorValue::new(format!("llm `{node}`: {error}"))
        .with_code(error.failure.code())
        .with_status(error.failure.status())
        .with_details(Value::map([(
            "attempts",
            Value::Int(error.attempts.into()),
        )]))
}

/// The payload with `value` under `key` (a payload that is not a map
/// becomes one holding only `key`).
fn with(payload: &Value, key: &Arc<str>, value: Value) -> Value {
    let mut map = payload.as_map().cloned().unwrap_or_default();
    map.insert(key.clone(), value);
    Value::from(map)
}

/// Makes the call; with `emitted`, writes each delta as an event while it
/// runs. A client that went away stops the events, not the call (the
/// process's cancellation does that).
async fn chat(
    client: &Client,
    request: &ChatRequest,
    emitted: Option<(crate::net::events::Events, String)>,
) -> Result<super::Answer, CallError> {
    let Some((events, name)) = emitted else {
        return client.chat(request, None).await;
    };
    let (deltas, mut received) = mpsc::channel::<String>(64);
    let call = client.chat(request, Some(&deltas));
    tokio::pin!(call);
    let mut open = true;
    let result = loop {
        tokio::select! {
            Some(delta) = received.recv() => {
                open = open && events.send(&name, &serde_json::json!({"delta": delta})).await;
            }
            result = &mut call => break result,
        }
    };
    while let Ok(delta) = received.try_recv() {
        open = open
            && events
                .send(&name, &serde_json::json!({"delta": delta}))
                .await;
    }
    result
}

/// The head of a relayed answer.
fn sse_head() -> Value {
    let header = Value::map([
        ("content-type", Value::string("text/event-stream")),
        ("cache-control", Value::string("no-store")),
        ("x-accel-buffering", Value::string("no")),
    ]);
    Value::map([
        ("status", Value::Int(200)),
        ("header", header),
        ("body", Value::string(": answering\n\n")),
    ])
}

/// Makes the call, writing each delta as an event as it arrives, then the
/// answer (or the error). Stops, dropping the call, when the client goes.
async fn relay(client: Arc<Client>, request: ChatRequest, events: mpsc::Sender<Bytes>) {
    let (deltas, mut received) = mpsc::channel::<String>(64);
    let call = client.chat(&request, Some(&deltas));
    tokio::pin!(call);
    let last = loop {
        tokio::select! {
            () = events.closed() => return,
            Some(delta) = received.recv() => {
                if events.send(event("delta", &serde_json::json!({"content": delta}))).await.is_err() {
                    return;
                }
            }
            result = &mut call => break result,
        }
    };
    while let Ok(delta) = received.try_recv() {
        if events
            .send(event("delta", &serde_json::json!({"content": delta})))
            .await
            .is_err()
        {
            return;
        }
    }
    let last = match last {
        Ok(answer) => event("answer", &serde_json::to_value(&answer).unwrap_or_default()),
        Err(error) => event(
            "error",
            &serde_json::json!({"message": error.to_string(), "code": error.failure.code(), "status": error.failure.status(), "attempts": error.attempts}),
        ),
    };
    let _ = events.send(last).await;
}

fn event(name: &str, data: &serde_json::Value) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}
