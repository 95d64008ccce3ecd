//! The client: one chat completion call, `POST {base_url}/chat/completions`,
//! with its attempts, timeouts, retries and the server's concurrency limit;
//! streamed or whole.
//!
//! This module owns the call loop and one attempt's exchange. It must not
//! know about nodes, ports or processes (cancelling a call is dropping its
//! future: the request in flight is dropped with it, which closes the
//! connection, and llama.cpp stops generating). Logs and errors name the
//! server's origin, never the key, the path, a prompt or an answer.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::Url;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;

use super::answer::{self, Answer, Assembly, Reply};
use super::error::{CallError, Failure};
use super::limit;
use super::request::{ChatRequest, Flavour};
use super::retry::{self, Retry};
use super::secret::ApiKey;
use super::sse::Decoder;

/// How a client calls its server.
#[derive(Debug, Clone)]
pub struct Config {
    /// The API's base, e.g. `http://127.0.0.1:8081/v1`.
    pub base_url: String,
    pub api_key: Option<ApiKey>,
    pub flavour: Flavour,
    /// One attempt, from sending to the last byte of the answer.
    pub attempt_timeout: Duration,
    /// The whole call: every attempt and every wait between them.
    pub call_timeout: Duration,
    pub retry: Retry,
    /// Requests in flight at once to this `base_url`, across every client.
    pub concurrency: usize,
    /// The largest answer read (a whole body, or a stream's content).
    pub body_limit: usize,
}

impl Config {
    /// A config with the defaults: 60 s per attempt, 120 s per call, three
    /// attempts, four requests at once, answers up to 4 MiB.
    pub fn new(base_url: &str) -> Config {
        Config {
            base_url: base_url.to_string(),
            api_key: None,
            flavour: Flavour::default(),
            attempt_timeout: Duration::from_secs(60),
            call_timeout: Duration::from_secs(120),
            retry: Retry::default(),
            concurrency: 4,
            body_limit: 4 * 1024 * 1024,
        }
    }
}

/// The largest error body read, and the most of it quoted.
const ERROR_BODY_LIMIT: usize = 64 * 1024;
const ERROR_QUOTED: usize = 500;

/// A client of one server.
pub struct Client {
    config: Config,
    endpoint: Url,
    /// `http://host:port`: what logs and errors say.
    origin: String,
    http: reqwest::Client,
    permits: Arc<Semaphore>,
}

/// What the call saw across its attempts.
#[derive(Default)]
struct Progress {
    first_token: Option<Duration>,
    /// Deltas went out to the caller: another attempt would repeat them.
    relayed: bool,
}

impl Client {
    /// A client for `config.base_url` over the shared connection pool
    /// `http`. The message says what is wrong with the URL, without quoting
    /// it (it may hold credentials).
    pub fn new(config: Config, http: reqwest::Client) -> Result<Client, String> {
        let base = Url::parse(config.base_url.trim_end_matches('/'))
            .map_err(|e| format!("base_url is not a valid URL: {e}"))?;
        if !matches!(base.scheme(), "http" | "https") || base.host().is_none() {
            return Err("base_url must be an http:// or https:// URL with a host".into());
        }
        let endpoint = Url::parse(&format!(
            "{}/chat/completions",
            base.as_str().trim_end_matches('/')
        ))
        .map_err(|e| format!("base_url is not a valid URL: {e}"))?;
        let origin = base.origin().ascii_serialization();
        let permits = limit::semaphore(base.as_str(), config.concurrency);
        Ok(Client {
            config,
            endpoint,
            origin,
            http,
            permits,
        })
    }

    /// The server's origin, as logs and errors name it.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Makes the call. With `request.stream`, each piece of content is sent
    /// to `deltas` as it arrives (a closed receiver is ignored: the answer
    /// is still assembled); once one was sent, a failed attempt is not
    /// retried, since the caller would see the text twice.
    pub async fn chat(
        &self,
        request: &ChatRequest,
        deltas: Option<&mpsc::Sender<String>>,
    ) -> Result<Answer, CallError> {
        let started = Instant::now();
        let deadline = started + self.config.call_timeout;
        let body = Bytes::from(request.body(self.config.flavour).to_string());
        let mut progress = Progress::default();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let failure = match self
                .attempt(&body, request, started, deadline, &mut progress, deltas)
                .await
            {
                Ok(reply) => match self.answer(reply, request, started, attempts, &progress) {
                    Ok(answer) => {
                        tracing::debug!(server = %self.origin, attempts, latency_ms = answer.latency_ms, "llm call answered");
                        return Ok(answer);
                    }
                    Err(failure) => failure,
                },
                Err(failure) => failure,
            };
            let error = |why: &str| CallError {
                server: self.origin.clone(),
                attempts,
                failure: failure.clone(),
                why: why.to_string(),
            };
            if !failure.retriable() {
                return Err(error(""));
            }
            if progress.relayed {
                return Err(error(
                    "; not retried: part of the answer was already relayed",
                ));
            }
            if attempts >= self.config.retry.max_attempts {
                return Err(error(""));
            }
            let Some(wait) = self.config.retry.wait(attempts, failure.retry_after()) else {
                return Err(error(
                    "; not retried: the server asks to wait longer than max_retry_after",
                ));
            };
            if Instant::now() + wait >= deadline {
                return Err(error(
                    "; not retried: the next attempt would start past the call's timeout",
                ));
            }
            tracing::warn!(server = %self.origin, attempt = attempts, wait_ms = wait.as_millis() as u64, error = %failure, "llm call failed; trying again");
            tokio::time::sleep(wait).await;
        }
    }

    /// One attempt: waits for a permit (within the call's time), then
    /// exchanges within the attempt's time.
    async fn attempt(
        &self,
        body: &Bytes,
        request: &ChatRequest,
        started: Instant,
        deadline: Instant,
        progress: &mut Progress,
        deltas: Option<&mpsc::Sender<String>>,
    ) -> Result<Reply, Failure> {
        let call_ms = self.config.call_timeout.as_millis() as u64;
        let permit = tokio::time::timeout_at(deadline, self.permits.acquire())
            .await
            .map_err(|_| Failure::CallTimeout(call_ms))?
            .map_err(|_| Failure::Transport("the server's limit was closed".into()))?;
        let end = (Instant::now() + self.config.attempt_timeout).min(deadline);
        let exchange = self.exchange(body, request.stream, started, progress, deltas);
        let result = match tokio::time::timeout_at(end, exchange).await {
            Ok(result) => result,
            Err(_) if end == deadline => Err(Failure::CallTimeout(call_ms)),
            Err(_) => Err(Failure::AttemptTimeout(
                self.config.attempt_timeout.as_millis() as u64,
            )),
        };
        drop(permit);
        result
    }

    /// Sends the request and reads the reply.
    async fn exchange(
        &self,
        body: &Bytes,
        stream: bool,
        started: Instant,
        progress: &mut Progress,
        deltas: Option<&mpsc::Sender<String>>,
    ) -> Result<Reply, Failure> {
        let mut builder = self
            .http
            .post(self.endpoint.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body.clone());
        if let Some(key) = &self.config.api_key {
            let header = key.bearer().ok_or_else(|| {
                Failure::Transport("the API key holds characters a header cannot carry".into())
            })?;
            builder = builder.header(AUTHORIZATION, header);
        }
        if stream {
            builder = builder.header(ACCEPT, "text/event-stream");
        }
        let mut response = builder.send().await.map_err(|e| classify(&e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(self.refused(response).await);
        }
        if !stream {
            let body = read(&mut response, self.config.body_limit).await?;
            return Ok(answer::whole(&body)?);
        }
        let mut decoder = Decoder::new(self.config.body_limit);
        let mut assembly = Assembly::default();
        let mut events = Vec::new();
        let mut relay = deltas;
        loop {
            let chunk = match response.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(e) => {
                    return Err(Failure::Cut {
                        chunks: assembly.chunks(),
                        cause: format!(": {}", causes(&e)),
                    });
                }
            };
            decoder.feed(&chunk, &mut events)?;
            for event in events.drain(..) {
                if event.name == "error" {
                    let message = serde_json::from_str(&event.data)
                        .map(|json: serde_json::Value| answer::error_message(&json))
                        .unwrap_or(event.data);
                    return Err(answer::Malformed::Reported(self.scrub(&message)).into());
                }
                let delta = assembly.take(&event.data)?;
                if assembly.content_len() > self.config.body_limit {
                    return Err(Failure::TooLarge(self.config.body_limit));
                }
                if !delta.is_empty() {
                    progress
                        .first_token
                        .get_or_insert_with(|| started.elapsed());
                    if let Some(sender) = relay {
                        progress.relayed = true;
                        if sender.send(delta).await.is_err() {
                            relay = None;
                        }
                    }
                }
                if assembly.done() {
                    return Ok(assembly.finish());
                }
            }
        }
        let cause = match decoder.pending() {
            true => ", in the middle of an event",
            false => "",
        };
        Err(Failure::Cut {
            chunks: assembly.chunks(),
            cause: cause.to_string(),
        })
    }

    /// The failure of an answer outside 2xx, with the server's message
    /// (scrubbed of the key, shortened) except for 401 and 403, whose text
    /// may quote part of the key.
    async fn refused(&self, mut response: reqwest::Response) -> Failure {
        let status = response.status().as_u16();
        let retry_after = retry::retry_after(response.headers());
        let message = match status {
            401 | 403 => "the server refused the credentials".to_string(),
            _ => match read(&mut response, ERROR_BODY_LIMIT).await {
                Ok(body) => {
                    let text = match serde_json::from_slice::<serde_json::Value>(&body) {
                        Ok(json) => answer::error_message(json.get("error").unwrap_or(&json)),
                        Err(_) => String::from_utf8_lossy(&body).into_owned(),
                    };
                    shorten(&self.scrub(text.trim()))
                }
                Err(_) => "(the body could not be read)".to_string(),
            },
        };
        Failure::Status {
            status,
            message,
            retry_after,
        }
    }

    fn scrub(&self, text: &str) -> String {
        match &self.config.api_key {
            Some(key) => key.scrub(text),
            None => text.to_string(),
        }
    }

    /// The call's answer from the server's reply; checked against the
    /// schema when one was asked for.
    fn answer(
        &self,
        reply: Reply,
        request: &ChatRequest,
        started: Instant,
        attempts: u32,
        progress: &Progress,
    ) -> Result<Answer, Failure> {
        let json = match &request.structured {
            Some(structured) => Some(structured.check(&reply.content)?),
            None => None,
        };
        let ms = |d: Duration| d.as_millis() as u64;
        Ok(Answer {
            content: reply.content,
            json,
            finish_reason: reply.finish_reason,
            usage: reply.usage,
            model: reply.model.unwrap_or_else(|| request.model.clone()),
            latency_ms: ms(started.elapsed()),
            time_to_first_token_ms: progress.first_token.map(ms),
            attempts,
            server_timings: reply.server_timings,
        })
    }
}

/// Reads a body of at most `limit` bytes.
async fn read(response: &mut reqwest::Response, limit: usize) -> Result<Bytes, Failure> {
    if response
        .content_length()
        .is_some_and(|length| length > limit as u64)
    {
        return Err(Failure::TooLarge(limit));
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| classify(&e))? {
        if body.len() + chunk.len() > limit {
            return Err(Failure::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn shorten(text: &str) -> String {
    match text.char_indices().nth(ERROR_QUOTED) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// What went wrong, by reqwest's classification, in its causes' words
/// (which carry no URL, header or body).
fn classify(error: &reqwest::Error) -> Failure {
    let causes = causes(error);
    if error.is_connect() {
        Failure::Connect(causes)
    } else {
        Failure::Transport(causes)
    }
}

/// The chain of causes under a reqwest error, `a: b: c`.
fn causes(error: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        parts.push(cause.to_string());
        source = cause.source();
    }
    match parts.is_empty() {
        true => "no cause given".to_string(),
        false => parts.join(": "),
    }
}
