//! The llm client against the real local model (`scripts/llm-server.sh`
//! serves it; `LLM_BASE_URL`, default `http://127.0.0.1:8081/v1`), and its
//! faults against a tiny loopback HTTP server of this file's own that
//! answers as each test scripts it: 429 with `Retry-After`, 500, a hang, a
//! stream cut off.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;
use weir_engine::env::{NoValues, ValueMap, ValueSource};
use weir_engine::runtime::Limits;
use weir_engine::spec::NamedValue;
use weir_engine::spec::source::{Format, parse};
use weir_engine::{Bundle, Packet, Process, SymbolTable};
use weir_nodes::llm::{
    ApiKey, CallError, ChatRequest, Client, Config, Failure, Message, Retry, Structured,
};

// ---------------------------------------------------------------- helpers

fn base_url() -> String {
    std::env::var("LLM_BASE_URL").unwrap_or_else(|_| "http://127.0.0.1:8081/v1".to_string())
}

fn http() -> reqwest::Client {
    weir_nodes::net::client_builder().build().unwrap()
}

fn user(text: &str) -> Vec<Message> {
    vec![Message {
        role: "user".into(),
        content: text.into(),
    }]
}

/// A request to the local model: temperature 0, few tokens (the machines
/// are small).
fn local(text: &str, max_tokens: u64) -> ChatRequest {
    ChatRequest {
        model: "gemma3-270m".into(),
        messages: user(text),
        temperature: Some(0.0),
        max_tokens: Some(max_tokens),
        seed: Some(7),
        ..ChatRequest::default()
    }
}

/// Held by each test of the real model: one at a time, so no other request
/// is batched beside theirs (which could change a temperature-0 answer) and
/// they do not compete for the two cores.
static MODEL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A client of the local model; fails with how to start it if it is not up.
async fn model() -> Client {
    let url = base_url();
    let health = format!("{}/models", url.trim_end_matches('/'));
    if let Err(e) = http().get(&health).send().await {
        panic!("no LLM server at {url} ({e}); start it with scripts/llm-server.sh");
    }
    let mut config = Config::new(&url);
    config.attempt_timeout = Duration::from_secs(240);
    config.call_timeout = Duration::from_secs(300);
    Client::new(config, http()).unwrap()
}

// ------------------------------------------------------- the real model

#[tokio::test(flavor = "multi_thread")]
async fn a_plain_call_answers_with_usage_and_timings() {
    let _one = MODEL.lock().await;
    let client = model().await;
    let answer = client
        .chat(&local("Complete: one, two, three,", 6), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!answer.content.is_empty(), "{answer:?}");
    assert_eq!(answer.attempts, 1);
    assert_eq!(answer.model, "gemma3-270m");
    assert!(
        matches!(answer.finish_reason.as_deref(), Some("stop" | "length")),
        "{answer:?}"
    );
    let usage = &answer.usage;
    let (prompt, completion) = (
        usage.prompt_tokens.unwrap(),
        usage.completion_tokens.unwrap(),
    );
    assert!(prompt > 0 && (1..=6).contains(&completion), "{usage:?}");
    assert_eq!(usage.total_tokens, Some(prompt + completion));
    assert!(
        answer.server_timings.is_some(),
        "llama.cpp sends its timings"
    );
    assert_eq!(answer.time_to_first_token_ms, None, "not streamed");
}

#[tokio::test(flavor = "multi_thread")]
async fn temperature_zero_is_deterministic_and_a_stream_assembles_the_same_answer() {
    let _one = MODEL.lock().await;
    let client = model().await;
    let request = local("Name three colours:", 8);
    let first = client.chat(&request, None).await.unwrap();
    let second = client.chat(&request, None).await.unwrap();
    assert_eq!(first.content, second.content);

    let streamed = ChatRequest {
        stream: true,
        ..request
    };
    let (sender, mut receiver) = mpsc::channel(64);
    let answer = client.chat(&streamed, Some(&sender)).await.unwrap();
    drop(sender);
    let mut deltas = Vec::new();
    while let Some(delta) = receiver.recv().await {
        deltas.push(delta);
    }
    assert!(!deltas.is_empty());
    assert_eq!(deltas.concat(), answer.content, "the deltas are the answer");
    assert_eq!(
        answer.content, first.content,
        "streamed or not, the same text"
    );
    let ttft = answer.time_to_first_token_ms.expect("streamed");
    assert!(ttft <= answer.latency_ms);
    assert_eq!(
        answer.usage.completion_tokens,
        first.usage.completion_tokens
    );
    assert!(answer.server_timings.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn structured_output_is_parsed_and_matches_the_schema() {
    let _one = MODEL.lock().await;
    let client = model().await;
    let schema = json!({
        "type": "object",
        "properties": {"colour": {"enum": ["red", "green", "blue"]}},
        "required": ["colour"],
        "additionalProperties": false,
    });
    let structured = Structured::new("colour", schema, false).unwrap();
    let request = ChatRequest {
        structured: Some(Arc::new(structured)),
        ..local("Pick a colour. Answer in JSON.", 48)
    };
    let answer = client
        .chat(&request, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let json = answer.json.expect("parsed");
    assert!(
        ["red", "green", "blue"].contains(&json["colour"].as_str().unwrap()),
        "{json}"
    );
    // Streamed, the same constrained answer.
    let streamed = ChatRequest {
        stream: true,
        ..request
    };
    let again = client.chat(&streamed, None).await.unwrap();
    assert_eq!(again.json.as_ref(), Some(&json));
}

// ------------------------------------------- a scripted loopback server

/// What the scripted server does with one request.
#[derive(Clone)]
enum Reply {
    /// A status, extra headers and a body.
    Status(u16, Vec<(&'static str, String)>, String),
    /// 200 with a chat completion saying this.
    Ok(&'static str),
    /// Reads the request and never answers.
    Hang,
    /// 200 with these SSE events, then `[DONE]` unless cut.
    Stream(Vec<String>, bool),
    /// Waits, then answers like `Ok`.
    Slow(Duration, &'static str),
}

/// A loopback server answering the n-th request with `script[n]` (the last
/// one repeats). It records each request's head, how many requests it got,
/// the most it handled at once, and connections the client closed early.
struct Scripted {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
    count: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
    abandoned: Arc<AtomicUsize>,
}

async fn scripted(script: Vec<Reply>) -> Scripted {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let server = Scripted {
        url,
        requests: Arc::default(),
        count: Arc::default(),
        peak: Arc::default(),
        abandoned: Arc::default(),
    };
    let (requests, count, peak, abandoned) = (
        server.requests.clone(),
        server.count.clone(),
        server.peak.clone(),
        server.abandoned.clone(),
    );
    let busy = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let n = count.fetch_add(1, Ordering::SeqCst);
            let reply = script[n.min(script.len() - 1)].clone();
            let (requests, peak, abandoned, busy) = (
                requests.clone(),
                peak.clone(),
                abandoned.clone(),
                busy.clone(),
            );
            tokio::spawn(async move {
                let now = busy.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                serve(socket, reply, &requests, &abandoned).await;
                busy.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    server
}

/// Reads one request (head and `content-length` body) and answers it.
async fn serve(
    mut socket: TcpStream,
    reply: Reply,
    requests: &Mutex<Vec<String>>,
    abandoned: &AtomicUsize,
) {
    let mut data = Vec::new();
    let mut buffer = [0u8; 4096];
    let head_end = loop {
        let Ok(n) = socket.read(&mut buffer).await else {
            return;
        };
        if n == 0 {
            return;
        }
        data.extend_from_slice(&buffer[..n]);
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while data.len() < head_end + length {
        match socket.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => data.extend_from_slice(&buffer[..n]),
        }
    }
    requests.lock().unwrap().push(head);
    let respond = |status: u16, headers: &[(&str, String)], body: &str| {
        let mut text = format!(
            "HTTP/1.1 {status} X\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        text.push_str("\r\n");
        text.push_str(body);
        text
    };
    let text = match reply {
        Reply::Status(status, headers, body) => respond(status, &headers, &body),
        Reply::Ok(content) => respond(200, &[], &completion(content)),
        Reply::Slow(wait, content) => {
            tokio::time::sleep(wait).await;
            respond(200, &[], &completion(content))
        }
        Reply::Hang => {
            // Waits until the client closes the connection.
            if let Ok(0) = socket.read(&mut buffer).await {
                abandoned.fetch_add(1, Ordering::SeqCst);
            }
            return;
        }
        Reply::Stream(events, cut) => {
            let head =
                "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-type: text/event-stream\r\n\r\n";
            if socket.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            for event in events {
                let frame = format!("data: {event}\n\n");
                if socket.write_all(frame.as_bytes()).await.is_err() {
                    return;
                }
                let _ = socket.flush().await;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            if !cut {
                let _ = socket.write_all(b"data: [DONE]\n\n").await;
            }
            let _ = socket.shutdown().await;
            return;
        }
    };
    let _ = socket.write_all(text.as_bytes()).await;
    let _ = socket.shutdown().await;
}

fn completion(content: &str) -> String {
    json!({
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
        "model": "scripted",
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    })
    .to_string()
}

fn delta(content: &str) -> String {
    json!({"choices": [{"index": 0, "delta": {"content": content}, "finish_reason": null}]})
        .to_string()
}

const KEY: &str = "sk-test-VERY-SECRET-0123456789";

/// A client of `server` with a key, quick backoff and `max_attempts`.
fn client_of(server: &Scripted, max_attempts: u32) -> Client {
    let mut config = Config::new(&server.url);
    config.api_key = ApiKey::new(KEY);
    config.retry = Retry {
        max_attempts,
        backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
        ..Retry::default()
    };
    config.attempt_timeout = Duration::from_secs(5);
    config.call_timeout = Duration::from_secs(20);
    Client::new(config, http()).unwrap()
}

fn request() -> ChatRequest {
    ChatRequest {
        model: "scripted".into(),
        messages: user("hello"),
        ..ChatRequest::default()
    }
}

fn status(code: u16) -> Reply {
    Reply::Status(
        code,
        Vec::new(),
        json!({"error": {"message": format!("status {code}")}}).to_string(),
    )
}

fn failed(result: Result<weir_nodes::llm::Answer, CallError>) -> CallError {
    match result {
        Ok(answer) => panic!("expected a failure, got {answer:?}"),
        Err(error) => error,
    }
}

// ---------------------------------------------------------- fault tests

#[tokio::test]
async fn a_429_is_retried_after_what_retry_after_asks() {
    let server = scripted(vec![
        Reply::Status(429, vec![("retry-after", "1".into())], "{}".into()),
        Reply::Ok("fine"),
    ])
    .await;
    let started = Instant::now();
    let answer = client_of(&server, 3).chat(&request(), None).await.unwrap();
    assert_eq!(answer.content, "fine");
    assert_eq!(answer.attempts, 2);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited as asked"
    );
    assert_eq!(server.count.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_500_is_retried_up_to_max_attempts_and_a_400_not_at_all() {
    let server = scripted(vec![status(500)]).await;
    let error = failed(client_of(&server, 3).chat(&request(), None).await);
    assert_eq!(error.attempts, 3);
    assert_eq!(server.count.load(Ordering::SeqCst), 3);
    assert!(
        matches!(error.failure, Failure::Status { status: 500, .. }),
        "{error}"
    );
    assert_eq!(
        (error.failure.code(), error.failure.status()),
        ("status", 500)
    );
    assert!(
        error.to_string().contains("status 500"),
        "the server's message: {error}"
    );

    let server = scripted(vec![status(500), Reply::Ok("second")]).await;
    let answer = client_of(&server, 2).chat(&request(), None).await.unwrap();
    assert_eq!((answer.content.as_str(), answer.attempts), ("second", 2));

    let server = scripted(vec![status(400)]).await;
    let error = failed(client_of(&server, 5).chat(&request(), None).await);
    assert_eq!(error.attempts, 1, "a bad request is not retried");
    assert_eq!(server.count.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_reported() {
    // A port nothing listens on: bind one, then close it.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = Config::new(&format!("http://127.0.0.1:{port}/v1"));
    config.retry = Retry {
        max_attempts: 2,
        backoff: Duration::from_millis(10),
        ..Retry::default()
    };
    let error = failed(
        Client::new(config, http())
            .unwrap()
            .chat(&request(), None)
            .await,
    );
    assert!(matches!(error.failure, Failure::Connect(_)), "{error}");
    assert_eq!(error.attempts, 2);
}

#[tokio::test]
async fn a_hanging_server_meets_the_attempt_and_the_call_timeout() {
    let server = scripted(vec![Reply::Hang]).await;
    let mut config = Config::new(&server.url);
    config.attempt_timeout = Duration::from_millis(200);
    config.retry = Retry {
        max_attempts: 2,
        backoff: Duration::from_millis(10),
        ..Retry::default()
    };
    let started = Instant::now();
    let error = failed(
        Client::new(config.clone(), http())
            .unwrap()
            .chat(&request(), None)
            .await,
    );
    assert!(
        matches!(error.failure, Failure::AttemptTimeout(200)),
        "{error}"
    );
    assert_eq!(error.attempts, 2);
    assert_eq!(error.failure.status(), 504);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the timeout held"
    );

    config.attempt_timeout = Duration::from_secs(30);
    config.call_timeout = Duration::from_millis(300);
    let started = Instant::now();
    let error = failed(
        Client::new(config, http())
            .unwrap()
            .chat(&request(), None)
            .await,
    );
    assert!(
        matches!(error.failure, Failure::CallTimeout(300)),
        "{error}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the timeout held"
    );
    // Each abandoned attempt closed its connection.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(server.abandoned.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn dropping_a_call_closes_its_connection() {
    let server = scripted(vec![Reply::Hang]).await;
    let client = client_of(&server, 1);
    let request = request();
    let call = client.chat(&request, None);
    assert!(
        tokio::time::timeout(Duration::from_millis(200), call)
            .await
            .is_err()
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(server.count.load(Ordering::SeqCst), 1);
    assert_eq!(
        server.abandoned.load(Ordering::SeqCst),
        1,
        "the server saw it go"
    );
}

#[tokio::test]
async fn a_stream_cut_off_is_an_error_and_not_retried_once_relayed() {
    let events = vec![delta("Hel"), delta("lo")];
    let server = scripted(vec![Reply::Stream(events.clone(), true)]).await;
    let client = client_of(&server, 3);
    let streamed = ChatRequest {
        stream: true,
        ..request()
    };
    let (sender, mut receiver) = mpsc::channel(8);
    let error = failed(client.chat(&streamed, Some(&sender)).await);
    assert!(
        matches!(error.failure, Failure::Cut { chunks: 2, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("cut off"), "{error}");
    assert_eq!(error.attempts, 1, "relayed text is not sent twice");
    assert_eq!(receiver.recv().await.as_deref(), Some("Hel"));

    // Not relayed, it is retried; the whole stream then answers.
    let server = scripted(vec![
        Reply::Stream(events.clone(), true),
        Reply::Stream(events, false),
    ])
    .await;
    let answer = client_of(&server, 3).chat(&streamed, None).await.unwrap();
    assert_eq!((answer.content.as_str(), answer.attempts), ("Hello", 2));
}

#[tokio::test]
async fn a_usage_chunk_without_choices_is_accepted_anywhere() {
    let usage = json!({"choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}}).to_string();
    let events = vec![usage.clone(), delta("a"), usage.clone(), delta("b"), usage];
    let server = scripted(vec![Reply::Stream(events, false)]).await;
    let streamed = ChatRequest {
        stream: true,
        ..request()
    };
    let answer = client_of(&server, 1).chat(&streamed, None).await.unwrap();
    assert_eq!(answer.content, "ab");
    assert_eq!(answer.usage.total_tokens, Some(6));
}

#[tokio::test]
async fn an_answer_breaking_the_schema_names_the_pointer() {
    let server = scripted(vec![Reply::Ok(r#"{"tags": ["a", 7]}"#)]).await;
    let schema = json!({"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string"}}}});
    let request = ChatRequest {
        structured: Some(Arc::new(Structured::new("tags", schema, false).unwrap())),
        ..request()
    };
    let error = failed(client_of(&server, 3).chat(&request, None).await);
    assert_eq!(error.attempts, 1);
    assert_eq!(error.failure.code(), "invalid_answer");
    assert!(error.to_string().contains("/tags/1"), "{error}");
}

#[tokio::test]
async fn the_concurrency_limit_holds_per_server() {
    let server = scripted(vec![Reply::Slow(Duration::from_millis(150), "ok")]).await;
    let mut config = Config::new(&server.url);
    config.concurrency = 1;
    // Two clients of the same server share its limit.
    let (one, two) = (
        Client::new(config.clone(), http()).unwrap(),
        Client::new(config, http()).unwrap(),
    );
    let request = request();
    let calls = [
        one.chat(&request, None),
        two.chat(&request, None),
        one.chat(&request, None),
    ];
    for answer in futures_util::future::join_all(calls).await {
        answer.unwrap();
    }
    assert_eq!(server.count.load(Ordering::SeqCst), 3);
    assert_eq!(server.peak.load(Ordering::SeqCst), 1);
}

/// A writer for tracing output that keeps everything written.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_api_key_is_sent_and_shown_nowhere() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let echoed =
        json!({"error": {"message": format!("Incorrect API key provided: {KEY}")}}).to_string();
    let server = scripted(vec![
        Reply::Status(429, vec![("retry-after", "0".into())], echoed.clone()),
        Reply::Status(400, Vec::new(), echoed),
    ])
    .await;
    let client = client_of(&server, 3);
    let error = failed(client.chat(&request(), None).await);
    let refused = scripted(vec![Reply::Status(
        401,
        Vec::new(),
        format!("bad key {KEY}"),
    )])
    .await;
    let unauthorized = failed(client_of(&refused, 1).chat(&request(), None).await);

    let heads = server.requests.lock().unwrap().clone();
    assert!(
        heads
            .iter()
            .all(|h| h.contains(&format!("authorization: bearer {}", KEY.to_lowercase()))),
        "the key is sent: {heads:?}"
    );
    let shown = [
        error.to_string(),
        format!("{error:?}"),
        unauthorized.to_string(),
        format!("{unauthorized:?}"),
        format!(
            "{:?}",
            Config {
                api_key: ApiKey::new(KEY),
                ..Config::new(&server.url)
            }
        ),
        String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned(),
    ];
    assert!(shown[0].contains("<redacted>"), "{}", shown[0]);
    assert!(shown[2].contains("refused the credentials"), "{}", shown[2]);
    assert!(
        shown[5].contains("trying again"),
        "the retry was logged: {}",
        shown[5]
    );
    for text in &shown {
        assert!(!text.contains("VERY-SECRET"), "the key leaked: {text}");
    }
}

// ------------------------------------------------------------- the kind

fn named(name: &str, data: serde_json::Value, secret: bool) -> NamedValue {
    serde_json::from_value(json!({"name": name, "data": data, "secret": secret})).unwrap()
}

async fn start(yaml: &str, values: &dyn ValueSource) -> Arc<SymbolTable> {
    let specs = parse(yaml, Format::Yaml, None).expect("parses");
    let bundle =
        Bundle::compile(&weir_nodes::scheme(), specs, values).unwrap_or_else(|d| panic!("{d}"));
    let mut tables = bundle.start(Limits::default()).await;
    tables.remove("default").expect("the default namespace")
}

async fn send(table: &SymbolTable, node: &str, input: serde_json::Value) -> Packet {
    let input = weir_codecs::json::from_json(input);
    table.send(node, Process::new(), Packet::new(input)).await
}

#[tokio::test]
async fn the_kind_reports_every_bad_field() {
    let yaml = r#"
- kind: llm
  name: bad
  base_url: "ftp://127.0.0.1/v1"
  model: m
  messages: [{role: robot, content: "{{ 1 + }}"}]
  relay: true
  max_attempts: 0
  response_format: {schema: {type: 5}}
"#;
    let specs = parse(yaml, Format::Yaml, None).expect("parses");
    let Err(diagnostics) = Bundle::compile(&weir_nodes::scheme(), specs, &NoValues) else {
        panic!("compiled");
    };
    let shown = diagnostics.to_string();
    for field in [
        "base_url",
        "messages[0].role",
        "messages[0].content",
        "relay",
        "max_attempts",
        "response_format",
    ] {
        assert!(shown.contains(&format!("{field}: ")), "{field} in {shown}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_kind_renders_messages_and_options_per_packet_against_the_model() {
    let _one = MODEL.lock().await;
    model().await;
    let yaml = r#"
- kind: llm
  name: complete
  base_url: "{{ LLM }}"
  env: {LLM: {os: LLM_BASE_URL, default: "http://127.0.0.1:8081/v1"}}
  model: gemma3-270m
  messages:
    - {role: user, content: "Complete: {{ payload.start }}"}
  options: "{{ payload.params | default(none) }}"
  temperature: 0
  timeout_ms: 240000
  call_timeout_ms: 300000
"#;
    let table = start(yaml, &NoValues).await;
    let answer = send(
        &table,
        "complete",
        json!({"start": "one, two,", "params": {"max_tokens": 4, "seed": 1}}),
    )
    .await;
    assert!(!answer.is_error(), "{:?}", answer.as_error());
    let answer = weir_codecs::json::to_json(answer.payload());
    assert!(!answer["content"].as_str().unwrap().is_empty(), "{answer}");
    assert!(
        answer["usage"]["completion_tokens"].as_u64().unwrap() <= 4,
        "{answer}"
    );
    assert_eq!(answer["attempts"], 1);
    assert!(answer["latency_ms"].is_u64());

    let bad = send(
        &table,
        "complete",
        json!({"start": "x", "params": {"max_tokens": "many"}}),
    )
    .await;
    let error = bad.as_error().expect("an error");
    assert_eq!(error.code.as_deref(), Some("invalid_request"));
    assert!(error.message.contains("options.max_tokens"), "{error}");
    let missing = send(&table, "complete", json!({})).await;
    assert!(
        missing
            .as_error()
            .unwrap()
            .message
            .contains("messages[0].content")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_relaying_node_streams_its_deltas_through_the_listener() {
    let usage = json!({"choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}}).to_string();
    let server = scripted(vec![Reply::Stream(
        vec![delta("Hel"), delta("lo"), usage],
        false,
    )])
    .await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let yaml = format!(
        r#"
- {{kind: listener, name: api, port: {port}, ports: {{out: [{{name: say}}]}}}}
- kind: llm
  name: say
  base_url: "{url}"
  model: scripted
  messages: [{{role: user, content: "{{{{ payload.body.text }}}}"}}]
  stream: true
  relay: true
"#,
        url = server.url
    );
    let _table = start(&yaml, &NoValues).await;
    let response = http()
        .post(format!("http://127.0.0.1:{port}/"))
        .json(&json!({"text": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let body = response.text().await.unwrap();
    let events: Vec<(&str, serde_json::Value)> = body
        .split("\n\n")
        .filter_map(|event| {
            let name = event.lines().find_map(|l| l.strip_prefix("event: "))?;
            let data = event.lines().find_map(|l| l.strip_prefix("data: "))?;
            Some((name, serde_json::from_str(data).unwrap()))
        })
        .collect();
    let names: Vec<&str> = events.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, ["delta", "delta", "answer"], "{body}");
    assert_eq!(events[0].1["content"], "Hel");
    assert_eq!(events[2].1["content"], "Hello");
    assert_eq!(events[2].1["usage"]["total_tokens"], 3);
}

#[tokio::test]
async fn the_kind_keeps_a_secret_key_out_of_its_errors() {
    let echoed =
        json!({"error": {"message": format!("Incorrect API key provided: {KEY}")}}).to_string();
    let server = scripted(vec![Reply::Status(400, Vec::new(), echoed)]).await;
    let mut values = ValueMap::default();
    values.insert(named("llm-key", json!(KEY), true));
    let yaml = format!(
        r#"
- kind: llm
  name: keyed
  base_url: "{url}"
  api_key: "{{{{ KEY }}}}"
  env: {{KEY: {{from: llm-key}}}}
  model: scripted
  messages: [{{role: user, content: hi}}]
"#,
        url = server.url
    );
    let table = start(&yaml, &values).await;
    let answer = send(&table, "keyed", json!(null)).await;
    let error = answer.as_error().expect("an error");
    assert_eq!(
        (error.code.as_deref(), error.status),
        (Some("status"), Some(400))
    );
    let shown = format!("{error} {error:?} {}", error.details);
    assert!(shown.contains("<redacted>"), "{shown}");
    assert!(!shown.contains("VERY-SECRET"), "the key leaked: {shown}");
    let heads = server.requests.lock().unwrap().clone();
    assert!(
        heads[0].contains("authorization: bearer sk-test"),
        "{heads:?}"
    );
}
