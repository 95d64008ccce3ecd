//! The Neural Request application (specs/examples/neural-request/) end to
//! end: a real `weir start -f specs/examples` over loopback HTTP.
//!
//! Against the real local model (scripts/llm-server.sh, `LLM_BASE_URL` or
//! 127.0.0.1:8081) on SQLite and on PostgreSQL, plain and streamed; and
//! against a scripted model server of this file's own ([`Fault`]) that
//! answers each side as its prompt asks (429 with `Retry-After`, 500, a
//! hang, a stream cut off, waiting for the other side), on SQLite.

#[macro_use]
mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::db::TestDb;
use support::{Client, Options, Server, root};

/// The real model's API.
fn model_url() -> String {
    std::env::var("LLM_BASE_URL").unwrap_or_else(|_| "http://127.0.0.1:8081/v1".to_string())
}

/// The examples on `db` (or SQLite in the server's folder), the model at
/// `llm` with `env` besides.
fn serve(db: Option<&TestDb>, llm: &str, env: &[(&str, &str)]) -> Server {
    let mut all = vec![("LLM_BASE_URL".to_string(), llm.to_string())];
    all.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Server::launch(Options {
        files: vec![root().join("specs/examples")],
        database: db.map(|d| d.url.clone()),
        env: all,
        wait_for: Some("/ping"),
        ..Options::default()
    })
}

/// Stores a PromptPair and answers its id.
fn pair(server: &Server, name: &str, prompt_a: &str, prompt_b: &str, max_tokens: u64) -> String {
    let reply = server.connect().send_json(
        "POST",
        "/api/prompts",
        &json!({
            "name": name, "prompt_a": prompt_a, "prompt_b": prompt_b,
            "model": "gemma3-270m", "temperature": 0, "max_tokens": max_tokens
        }),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.json()["id"].as_str().unwrap().to_string()
}

fn request(pair: &str, source: &str) -> Value {
    json!({"prompt_pair_id": pair, "script": {"name": "main.py", "source": source}})
}

/// A client that waits as long as the listener may (the model can be slow
/// on a busy machine).
fn client(server: &Server) -> Client {
    let mut client = server.connect();
    client.set_read_timeout(Duration::from_secs(60));
    client
}

fn infer(server: &Server, body: &Value) -> support::Reply {
    client(server).send_json("POST", "/api/inferences", body)
}

/// The real model has two slots and the machine few cores: its tests take
/// turns, so each one's two sides have the slots to themselves.
static MODEL: Mutex<()> = Mutex::new(());

fn model_turn() -> std::sync::MutexGuard<'static, ()> {
    MODEL.lock().unwrap_or_else(|p| p.into_inner())
}

fn get(server: &Server, id: &str) -> Value {
    let reply = server.get(&format!("/api/inferences/{id}")).unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()
}

/// A streamed request's events, as (name, data), to the end of the stream.
fn stream(server: &Server, body: &Value) -> Vec<(String, Value)> {
    let text = body.to_string();
    let events = client(server)
        .request_events(
            "POST",
            "/api/inferences?stream=true",
            Some(text.as_bytes()),
            &[support::JSON],
        )
        .unwrap()
        .unwrap_or_else(|reply| panic!("not a stream: {} {}", reply.status, reply.body));
    let mut events = events;
    let mut seen = Vec::new();
    while let Ok(event) = events.next() {
        if let Some(name) = event.event {
            seen.push((name, serde_json::from_str(&event.data).unwrap()));
        }
    }
    seen
}

/// A finished side as the record shows it.
fn assert_answered(side: &Value) {
    assert_eq!(side["status"], "done", "{side}");
    assert!(side["content"].is_string(), "{side}");
    let usage = &side["usage"];
    assert!(usage["completion_tokens"].as_u64().unwrap() >= 1, "{side}");
    assert_eq!(
        usage["total_tokens"].as_u64(),
        Some(
            usage["prompt_tokens"].as_u64().unwrap() + usage["completion_tokens"].as_u64().unwrap()
        )
    );
    assert!(
        side["model"].is_string() && side["finish_reason"].is_string(),
        "{side}"
    );
    assert!(
        side["latency_ms"].is_u64() && side["time_to_first_token_ms"].is_u64(),
        "{side}"
    );
    assert!(side.get("error").is_none(), "{side}");
}

on_both_backends!(
    a_request_asks_the_model_both_prompts_and_stores_the_answers,
    a_streamed_request_interleaves_both_sides_and_ends_with_the_stored_record,
    bad_requests_are_refused_with_every_reason,
    pages_are_newest_first_and_filtered_by_prompt_pair,
);

// ------------------------------------------------- against the real model

fn a_request_asks_the_model_both_prompts_and_stores_the_answers(db: Option<&TestDb>) {
    let _turn = model_turn();
    let server = serve(db, &model_url(), &[]);
    let id_pair = pair(
        &server,
        "review",
        "Name the language of this code: {{ script.source }}",
        "Count the lines.",
        3,
    );
    let reply = infer(&server, &request(&id_pair, "print('hi')"));
    assert_eq!(reply.status, 201, "{}", reply.body);
    let record = reply.json();
    let id = record["id"].as_str().unwrap();
    assert_eq!(
        reply.header("location"),
        Some(&*format!("/api/inferences/{id}"))
    );
    assert_eq!(record["status"], "done");
    assert_eq!(record["prompt_pair_id"], id_pair.as_str());
    assert_eq!(record["script"], json!({"name": "main.py"}));
    assert!(record["created_at"].is_string());
    assert_answered(&record["a"]);
    assert_answered(&record["b"]);
    assert_eq!(
        get(&server, id),
        record,
        "what was answered is what is stored"
    );
}

fn a_streamed_request_interleaves_both_sides_and_ends_with_the_stored_record(db: Option<&TestDb>) {
    let _turn = model_turn();
    let server = serve(db, &model_url(), &[]);
    let id_pair = pair(
        &server,
        "stream",
        "Count: one, two,",
        "List colours: red,",
        4,
    );
    let events = stream(&server, &request(&id_pair, "print(1)"));
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.first(), Some(&"start"), "{names:?}");
    let id = events[0].1["id"].as_str().unwrap().to_string();
    assert_eq!(events[0].1, json!({"id": id, "status": "pending"}));
    assert_eq!(names.last(), Some(&"done"), "{names:?}");
    let record = &events.last().unwrap().1;
    assert_eq!(record["status"], "done");
    assert_eq!(
        &get(&server, &id),
        record,
        "the done event is the stored record"
    );

    for side in ["a", "b"] {
        // The deltas add up to the side's answer, and its side event is it.
        let text: String = events
            .iter()
            .filter(|(n, _)| n == side)
            .map(|(_, d)| d["delta"].as_str().unwrap())
            .collect();
        assert!(!text.is_empty(), "no deltas for {side}: {names:?}");
        assert_eq!(text, record[side]["content"].as_str().unwrap());
        let finished: Vec<&Value> = events
            .iter()
            .filter(|(n, d)| n == "side" && d["side"] == side)
            .map(|(_, d)| d)
            .collect();
        assert_eq!(finished.len(), 1, "{names:?}");
        let mut expected = record[side].clone();
        expected["side"] = json!(side);
        assert_eq!(finished[0], &expected);
        assert_answered(&record[side]);
    }
    // Truly in parallel: each side streamed a token before either finished.
    let first = |name: &str| names.iter().position(|n| *n == name).unwrap();
    assert!(
        first("a") < first("side") && first("b") < first("side"),
        "the sides did not overlap: {names:?}"
    );
}

fn bad_requests_are_refused_with_every_reason(db: Option<&TestDb>) {
    let server = serve(db, &model_url(), &[]);
    // Every violation at once, each with its JSON pointer.
    let reply = infer(
        &server,
        &json!({"script": {"name": "", "source": 3}, "extra": true}),
    );
    assert_eq!(reply.status, 400, "{}", reply.body);
    let error = &reply.json()["error"];
    assert_eq!(error["code"], "invalid");
    let pointers: Vec<&str> = error["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["pointer"].as_str().unwrap())
        .collect();
    for pointer in ["/body", "/body/script/name", "/body/script/source"] {
        assert!(
            pointers.contains(&pointer),
            "{pointer} missing: {}",
            reply.body
        );
    }
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("prompt_pair_id") && message.contains("extra"),
        "{message}"
    );

    // An unknown PromptPair.
    let reply = infer(&server, &request("no-such-pair", "x"));
    assert_eq!(reply.status, 404, "{}", reply.body);
    assert_eq!(reply.json()["error"]["code"], "unknown_prompt_pair");

    // A huge script: over the schema's limit, and over the listener's.
    let id_pair = pair(&server, "limits", "Say hi.", "Say hello.", 1);
    let reply = infer(&server, &request(&id_pair, &"x".repeat(100_001)));
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(
        reply.json()["error"]["details"][0]["pointer"],
        "/body/script/source"
    );
    let reply = infer(&server, &request(&id_pair, &"x".repeat(1_100_000)));
    assert_eq!(reply.status, 413, "{}", reply.body);

    // A prompt that is not a template it can render: 422, naming it, and
    // nothing stored.
    let broken = pair(&server, "broken", "{{ script.nope }}", "{% if %}", 1);
    let reply = infer(&server, &request(&broken, "x"));
    assert_eq!(reply.status, 422, "{}", reply.body);
    assert!(reply.body.contains("prompt_a"), "{}", reply.body);
    let page = server.get("/api/inferences").unwrap().json();
    assert_eq!(page["items"], json!([]));

    // Reads.
    assert_eq!(server.get("/api/inferences/nope").unwrap().status, 404);
    assert_eq!(server.get("/api/inferences?limit=0").unwrap().status, 400);
    let schema = server.get("/api/inferences/schema").unwrap().json();
    assert_eq!(schema["required"], json!(["prompt_pair_id", "script"]));
    assert_eq!(
        schema["properties"]["script"]["properties"]["source"]["maxLength"],
        100000
    );
}

// --------------------------------------------- against a scripted server

fn pages_are_newest_first_and_filtered_by_prompt_pair(db: Option<&TestDb>) {
    let fault = Fault::start();
    let server = serve(db, &fault.url, &[]);
    let first = pair(&server, "first", "a {{ script.source }}", "b", 2);
    let second = pair(&server, "second", "a", "b", 2);
    let made: Vec<Value> = [&first, &first, &second]
        .iter()
        .map(|p| {
            let reply = infer(&server, &request(p, "x"));
            assert_eq!(reply.status, 201, "{}", reply.body);
            reply.json()
        })
        .collect();
    let page = server.get("/api/inferences?limit=2").unwrap().json();
    assert_eq!(page["items"], json!([made[2], made[1]]));
    let cursor = page["next_cursor"].as_str().unwrap();
    let next = server
        .get(&format!("/api/inferences?limit=2&cursor={cursor}"))
        .unwrap()
        .json();
    assert_eq!(next, json!({"items": [made[0]], "next_cursor": null}));
    let only = server
        .get(&format!("/api/inferences?prompt_pair_id={first}"))
        .unwrap()
        .json();
    assert_eq!(
        only,
        json!({"items": [made[1], made[0]], "next_cursor": null})
    );
    assert_eq!(
        server.get("/api/inferences?cursor=").unwrap().status,
        400,
        "an empty cursor is not one"
    );
}

/// A model server of the tests' own. Each request is answered as the
/// first marker in its prompt asks:
/// - `[429]`: 429 with `Retry-After: 1` the first time, then an answer;
/// - `[500]`: 500 every time, its message quoting the request's key;
/// - `[hang]`: never answers;
/// - `[cut]`: a stream cut off after one delta;
/// - `[meet]`: answers once two `[meet]` requests are in flight at once;
/// - `[hold]`: answers once the test calls [`Fault::release`];
/// - else: a streamed answer, `ok`.
struct Fault {
    url: String,
    state: Arc<(Mutex<Seen>, Condvar)>,
}

#[derive(Default)]
struct Seen {
    /// Request heads and arrival times, by marker.
    requests: HashMap<&'static str, Vec<(Instant, String)>>,
    meeting: usize,
    released: bool,
}

const MARKERS: [&str; 6] = ["[429]", "[500]", "[hang]", "[cut]", "[meet]", "[hold]"];

impl Fault {
    fn start() -> Fault {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        let state: Arc<(Mutex<Seen>, Condvar)> = Arc::default();
        let shared = state.clone();
        std::thread::spawn(move || {
            for socket in listener.incoming().flatten() {
                let state = shared.clone();
                std::thread::spawn(move || answer(socket, &state));
            }
        });
        Fault { url, state }
    }

    fn count(&self, marker: &str) -> usize {
        let seen = self.state.0.lock().unwrap();
        seen.requests.get(marker).map_or(0, Vec::len)
    }

    fn heads(&self) -> Vec<String> {
        let seen = self.state.0.lock().unwrap();
        seen.requests
            .values()
            .flatten()
            .map(|(_, h)| h.clone())
            .collect()
    }

    fn times(&self, marker: &str) -> Vec<Instant> {
        let seen = self.state.0.lock().unwrap();
        seen.requests[marker].iter().map(|(t, _)| *t).collect()
    }

    fn release(&self) {
        self.state.0.lock().unwrap().released = true;
        self.state.1.notify_all();
    }
}

fn answer(socket: TcpStream, state: &(Mutex<Seen>, Condvar)) {
    let mut reader = BufReader::new(socket);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let length: usize = head
        .to_lowercase()
        .lines()
        .find_map(|l| {
            l.strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0);
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let body = String::from_utf8_lossy(&body);
    let marker = MARKERS.into_iter().find(|m| body.contains(m)).unwrap_or("");
    let key = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("authorization: Bearer ")
                .or_else(|| l.strip_prefix("Authorization: Bearer "))
        })
        .unwrap_or("")
        .trim()
        .to_string();
    let (lock, changed) = state;
    let attempt = {
        let mut seen = lock.lock().unwrap();
        let list = seen.requests.entry(marker).or_default();
        list.push((Instant::now(), head.clone()));
        list.len()
    };
    let mut socket = reader.into_inner();
    let reply = match marker {
        "[429]" if attempt == 1 => status(429, "retry-after: 1\r\n", "slow down"),
        "[500]" => status(500, "", &format!("the server broke; key was {key}")),
        "[hang]" => {
            let mut rest = [0u8; 1];
            let _ = socket.read(&mut rest);
            return;
        }
        "[cut]" => {
            let _ = socket.write_all(stream_head().as_bytes());
            let _ = socket.write_all(delta("par").as_bytes());
            return;
        }
        "[meet]" => {
            let mut seen = lock.lock().unwrap();
            seen.meeting += 1;
            changed.notify_all();
            let (seen, wait) = changed
                .wait_timeout_while(seen, Duration::from_secs(10), |s| s.meeting < 2)
                .unwrap();
            drop(seen);
            match wait.timed_out() {
                true => status(500, "", "the other side never came"),
                false => streamed("met"),
            }
        }
        "[hold]" => {
            let seen = lock.lock().unwrap();
            let _ = changed.wait_timeout_while(seen, Duration::from_secs(15), |s| !s.released);
            streamed("held")
        }
        _ => streamed("ok"),
    };
    let _ = socket.write_all(reply.as_bytes());
}

fn status(code: u16, headers: &str, message: &str) -> String {
    let body = json!({"error": {"message": message}}).to_string();
    format!(
        "HTTP/1.1 {code} X\r\nconnection: close\r\ncontent-type: application/json\r\n{headers}content-length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn stream_head() -> String {
    "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-type: text/event-stream\r\n\r\n".to_string()
}

fn delta(text: &str) -> String {
    let chunk =
        json!({"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]});
    format!("data: {chunk}\n\n")
}

fn streamed(text: &str) -> String {
    let last = json!({
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        "model": "scripted",
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    });
    let (half, rest) = text.split_at(text.len() / 2);
    format!(
        "{}{}{}data: {last}\n\ndata: [DONE]\n\n",
        stream_head(),
        delta(half),
        delta(rest)
    )
}

/// The examples against `fault`, with quick timeouts and retries.
fn serve_fault(fault: &Fault) -> Server {
    serve(
        None,
        &fault.url,
        &[
            ("LLM_TIMEOUT_MS", "1000"),
            ("LLM_CALL_TIMEOUT_MS", "8000"),
            ("LLM_MAX_ATTEMPTS", "3"),
            ("LLM_BACKOFF_MS", "20"),
        ],
    )
}

#[test]
fn retries_honour_retry_after_and_one_failed_side_makes_the_request_partial() {
    let fault = Fault::start();
    let server = serve_fault(&fault);
    let id_pair = pair(&server, "faults", "[429] {{ script.source }}", "[500]", 4);
    let reply = infer(&server, &request(&id_pair, "x"));
    assert_eq!(reply.status, 201, "{}", reply.body);
    let record = reply.json();
    assert_eq!(record["status"], "partial", "{record}");
    assert_eq!(record["a"]["status"], "done");
    assert_eq!(record["a"]["content"], "ok");
    assert_eq!(record["b"]["status"], "failed");
    assert!(record["b"].get("content").is_none());
    assert_eq!(record["b"]["error"]["code"], "status", "{record}");
    assert_eq!(get(&server, record["id"].as_str().unwrap()), record);
    // a: once refused, then answered after the second Retry-After asked.
    assert_eq!(fault.count("[429]"), 2);
    let times = fault.times("[429]");
    assert!(
        times[1] - times[0] >= Duration::from_millis(950),
        "Retry-After not honoured"
    );
    // b: tried as often as configured.
    assert_eq!(fault.count("[500]"), 3);
}

#[test]
fn timeouts_and_cut_streams_fail_their_sides_and_both_failing_fails_the_request() {
    let fault = Fault::start();
    let server = serve_fault(&fault);
    let id_pair = pair(&server, "broken", "[hang]", "[cut]", 4);
    let reply = infer(&server, &request(&id_pair, "x"));
    assert_eq!(reply.status, 201, "{}", reply.body);
    let record = reply.json();
    assert_eq!(record["status"], "failed", "{record}");
    assert_eq!(record["a"]["error"]["code"], "timeout", "{record}");
    assert_eq!(record["b"]["error"]["code"], "cut", "{record}");
    assert_eq!(
        fault.count("[hang]"),
        3,
        "each attempt timed out and was tried again"
    );
    assert_eq!(fault.count("[cut]"), 3);
    assert_eq!(get(&server, record["id"].as_str().unwrap()), record);

    // Streamed: a side cut after its first delta was shown is not tried
    // again; its side event says so, and the request is partial.
    let id_pair = pair(&server, "cut-stream", "[cut]", "fine", 4);
    let events = stream(&server, &request(&id_pair, "x"));
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    let failed = events
        .iter()
        .find(|(n, d)| n == "side" && d["side"] == "a")
        .unwrap();
    assert_eq!(failed.1["status"], "failed", "{names:?}");
    assert_eq!(failed.1["error"]["code"], "cut");
    assert!(names.contains(&"a") && names.contains(&"b"), "{names:?}");
    let done = &events.last().unwrap().1;
    assert_eq!(done["status"], "partial");
    assert_eq!(fault.count("[cut]"), 4, "not tried again once relayed");
}

#[test]
fn the_two_sides_are_in_flight_at_once_and_a_pending_request_shows_its_progress() {
    let fault = Fault::start();
    let server = serve_fault(&fault);
    // The server answers neither `[meet]` until both are in flight: a
    // request made one side after the other would fail.
    let id_pair = pair(&server, "meet", "[meet] a", "[meet] b", 4);
    let record = infer(&server, &request(&id_pair, "x")).json();
    assert_eq!(record["status"], "done", "{record}");
    assert_eq!(record["a"]["content"], "met");
    assert_eq!(record["b"]["content"], "met");

    // While b is held, the stored request is pending with a done.
    let id_pair = pair(&server, "hold", "quick", "[hold]", 4);
    let port = server.port;
    let body = request(&id_pair, "x");
    let waiting =
        std::thread::spawn(move || Client::new(port).send_json("POST", "/api/inferences", &body));
    let deadline = Instant::now() + Duration::from_secs(10);
    let pending = loop {
        let page = server.get("/api/inferences?limit=1").unwrap().json();
        if let Some(record) = page["items"]
            .get(0)
            .filter(|r| r["a"]["status"] == "done" && r["prompt_pair_id"] == id_pair.as_str())
        {
            break record.clone();
        }
        assert!(Instant::now() < deadline, "a never stored while b waits");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(pending["status"], "pending");
    assert_eq!(pending["b"], json!({"status": "pending"}));
    assert_eq!(get(&server, pending["id"].as_str().unwrap()), pending);
    fault.release();
    let done = waiting.join().unwrap().json();
    assert_eq!(done["status"], "done");
    assert_eq!(done["a"], pending["a"]);
    assert_eq!(done["b"]["content"], "held");
}

#[test]
fn the_api_key_is_sent_and_appears_nowhere() {
    const KEY: &str = "sk-neural-TOP-SECRET-0123456789";
    let fault = Fault::start();
    let server = serve_fault(&fault);
    let values = server.dir.join("key.yaml");
    std::fs::write(
        &values,
        format!("- namespace: examples\n  name: llm-api-key\n  data: {KEY}\n  secret: true\n"),
    )
    .unwrap();
    let out = server.weir(&["apply", "values", "-f", values.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id_pair = pair(&server, "keyed", "[500] {{ script.source }}", "fine", 4);
    // The specs recompile with the key: wait until the server sees it.
    let deadline = Instant::now() + Duration::from_secs(10);
    let (record, streamed) = loop {
        let reply = infer(&server, &request(&id_pair, "x"));
        if fault.heads().iter().any(|h| h.contains(KEY)) {
            let events = stream(&server, &request(&id_pair, "x"));
            break (reply, events);
        }
        assert!(
            Instant::now() < deadline,
            "the key never reached the server"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(record.status, 201, "{}", record.body);
    let record = record.json();
    assert_eq!(record["status"], "partial");
    assert!(record["b"]["content"] == "ok");
    let texts = [
        record.to_string(),
        format!("{streamed:?}"),
        server.get("/api/inferences?limit=100").unwrap().body,
        server.stderr(),
    ];
    for text in &texts {
        assert!(!text.contains(KEY), "the key leaked: {text}");
        assert!(
            !text.contains("TOP-SECRET"),
            "part of the key leaked: {text}"
        );
    }
    // The stored rows themselves.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let rows: Vec<(String, String, String)> = runtime.block_on(async {
        let url = format!("sqlite://{}", server.dir.join("weir.db").display());
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        sqlx::query_as("SELECT status, a, b FROM inferences")
            .fetch_all(&pool)
            .await
            .unwrap()
    });
    assert!(!rows.is_empty());
    for row in rows {
        assert!(!format!("{row:?}").contains(KEY));
    }
}
