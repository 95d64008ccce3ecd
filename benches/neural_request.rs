//! The Neural Request path's own cost per model call: a self-timed binary
//! (`harness = false`) printing Markdown tables. `cargo bench --bench
//! neural_request` (`-- --quick` for a smoke run). See docs/benchmarks.md.
//!
//! A real `weir start -f specs/examples` (SQLite in a temporary folder)
//! serves the application; in the same run, alternating in rounds, the same
//! two chat completions are made directly to the model server (two
//! streamed requests at once, read to the end, with reqwest: the
//! baseline). The engine's cost per call is half the difference between a
//! request's time and the baseline's (a request makes two calls).
//!
//! 1. A loopback model server of its own that streams a fixed answer
//!    (five chunks) after `delay` ms: at 0 the server costs nearly nothing,
//!    so the difference is the engine's; at 100 and 100/300 (side a / side
//!    b) the request's time shows whether the sides overlap (near the
//!    slower side) or add up.
//! 2. The real local model (`LLM_BASE_URL`, when it answers).

use std::convert::Infallible;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async move {
        // `BENCH_ROUNDS` sets the 0/0 rounds (a long run to profile).
        let rounds = std::env::var("BENCH_ROUNDS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(if quick { 20 } else { 200 });
        println!("| model server | direct: two calls at once, p50 (ms) | Neural Request, p50 (ms) | engine per call, p50 of the pairs (ms) | mean (ms) |");
        println!("|---|---|---|---|---|");
        for (a, b) in [(0, 0), (100, 100), (100, 300)] {
            let model = scripted_server(a, b).await;
            let engine = Engine::start(&model);
            let pair = engine.pair(&format!("bench-{a}-{b}"), "[a] {{ script.source }}", "[b]", 8).await;
            let rounds = if a == 0 { rounds } else { rounds / 4 };
            compare(&engine, &model, &pair, rounds, &format!("loopback, sides {a}/{b} ms")).await;
        }
        let local = std::env::var("LLM_BASE_URL").unwrap_or_else(|_| "http://127.0.0.1:8081/v1".into());
        if reqwest::get(format!("{}/models", local)).await.is_ok() {
            let engine = Engine::start(&local);
            let pair = engine
                .pair("bench-model", "Name the language: {{ script.source }}", "Count the lines.", 8)
                .await;
            compare(&engine, &local, &pair, if quick { 2 } else { 6 }, "local model (8 tokens a side)").await;
            let alone = single(&local, "Count the lines.\n\n```\nprint(42)\n```\n", if quick { 2 } else { 6 }).await;
            println!("\nlocal model, one side alone (direct), p50: {alone:.1} ms");
        } else {
            println!("\n(the local model does not answer at {local}: skipped)");
        }
    });
}

/// Rounds of (direct baseline, Neural Request) and the table row.
async fn compare(engine: &Engine, model: &str, pair: &str, rounds: usize, label: &str) {
    let http = reqwest::Client::new();
    let mut direct = Vec::new();
    let mut through = Vec::new();
    for round in 0..rounds + 2 {
        let d = both_direct(&http, model).await;
        let e = engine.infer(pair).await;
        if round >= 2 {
            // The first rounds warm connections and caches.
            direct.push(d);
            through.push(e);
        }
    }
    let mut added: Vec<f64> = through
        .iter()
        .zip(&direct)
        .map(|(e, d)| (e - d) / 2.0)
        .collect();
    let mean = added.iter().sum::<f64>() / added.len() as f64;
    println!(
        "| {label} | {:.2} | {:.2} | {:.3} | {:.3} |",
        p50(&mut direct),
        p50(&mut through),
        p50(&mut added),
        mean
    );
}

fn p50(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Both sides' requests at once, straight to the server, each read to the
/// end of its stream: milliseconds.
async fn both_direct(http: &reqwest::Client, model: &str) -> f64 {
    let start = Instant::now();
    let (a, b) = tokio::join!(
        call(http, model, "[a] print(42)"),
        call(http, model, "[b]\n\n```\nprint(42)\n```\n")
    );
    assert!(a && b, "the model server failed");
    start.elapsed().as_secs_f64() * 1000.0
}

async fn single(model: &str, prompt: &str, rounds: usize) -> f64 {
    let http = reqwest::Client::new();
    let mut times = Vec::new();
    for _ in 0..rounds {
        let start = Instant::now();
        // The local server can refuse a request while it is busy: counted
        // out, not a failed benchmark.
        if call(&http, model, prompt).await {
            times.push(start.elapsed().as_secs_f64() * 1000.0);
        }
    }
    match times.is_empty() {
        true => f64::NAN,
        false => p50(&mut times),
    }
}

async fn call(http: &reqwest::Client, model: &str, prompt: &str) -> bool {
    let body = json!({
        "model": "gemma3-270m", "temperature": 0, "max_tokens": 8, "stream": true,
        "stream_options": {"include_usage": true},
        "messages": [{"role": "user", "content": prompt}]
    });
    let Ok(response) = http
        .post(format!("{model}/chat/completions"))
        .json(&body)
        .send()
        .await
    else {
        return false;
    };
    response.status().is_success() && response.bytes().await.is_ok()
}

/// A model server streaming a fixed answer, after `a` ms for prompts
/// holding `[a]` and `b` ms for the others.
async fn scripted_server(a: u64, b: u64) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            let service = service_fn(
                move |request: http::Request<hyper::body::Incoming>| async move {
                    let body = request
                        .into_body()
                        .collect()
                        .await
                        .map(|b| b.to_bytes())
                        .unwrap_or_default();
                    let wait = match String::from_utf8_lossy(&body).contains("[a]") {
                        true => a,
                        false => b,
                    };
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                    let mut response = http::Response::new(Full::new(Bytes::from(stream_body())));
                    response
                        .headers_mut()
                        .insert("content-type", "text/event-stream".parse().unwrap());
                    Ok::<_, Infallible>(response)
                },
            );
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    url
}

fn stream_body() -> String {
    let mut text = String::new();
    for word in ["The ", "code ", "prints ", "42", "."] {
        let chunk =
            json!({"choices": [{"index": 0, "delta": {"content": word}, "finish_reason": null}]});
        text.push_str(&format!("data: {chunk}\n\n"));
    }
    let last = json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "model": "bench",
        "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}});
    text.push_str(&format!("data: {last}\n\ndata: [DONE]\n\n"));
    text
}

/// A `weir start` of the examples in a folder of its own.
struct Engine {
    child: Child,
    dir: PathBuf,
    port: u16,
    http: reqwest::Client,
}

impl Engine {
    fn start(model: &str) -> Engine {
        let free = || {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        };
        let (port, system) = (free(), free());
        let dir =
            std::env::temp_dir().join(format!("weir-bench-neural-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // `WEIR_BIN=path/to/weir` times another build of the engine.
        let bin = std::env::var_os("WEIR_BIN")
            .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_weir")), PathBuf::from);
        let mut command = Command::new(bin);
        command
            .args(["start", "-f"])
            .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("specs/examples"));
        // `BENCH_DATABASE=postgres://…` runs it on PostgreSQL instead.
        if let Ok(url) = std::env::var("BENCH_DATABASE") {
            command.args(["--database", &url]);
        }
        let child = command
            .current_dir(&dir)
            .env_remove("WEIR_DATABASE_URL")
            .env("PORT", port.to_string())
            .env("WEIR_SYSTEM_ADDR", format!("127.0.0.1:{system}"))
            .env("WEIR_TOKEN", "bench")
            .env("LLM_BASE_URL", model)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "weir start never listened");
            std::thread::sleep(Duration::from_millis(50));
        }
        Engine {
            child,
            dir,
            port,
            http: reqwest::Client::new(),
        }
    }

    async fn pair(&self, name: &str, a: &str, b: &str, max_tokens: u64) -> String {
        let body = json!({"name": name, "prompt_a": a, "prompt_b": b, "model": "gemma3-270m", "temperature": 0, "max_tokens": max_tokens});
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let reply = self
                .http
                .post(self.url("/api/prompts"))
                .json(&body)
                .send()
                .await;
            if let Ok(reply) = reply
                && reply.status() == 201
            {
                let record: Value = reply.json().await.unwrap();
                return record["id"].as_str().unwrap().to_string();
            }
            assert!(Instant::now() < deadline, "the registry never answered");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// One plain request: milliseconds until the record is read.
    async fn infer(&self, pair: &str) -> f64 {
        let body =
            json!({"prompt_pair_id": pair, "script": {"name": "main.py", "source": "print(42)"}});
        let start = Instant::now();
        let reply = self
            .http
            .post(self.url("/api/inferences"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 201);
        let record: Value = reply.json().await.unwrap();
        let elapsed = start.elapsed().as_secs_f64() * 1000.0;
        if record["status"] != "done" {
            eprintln!("not done: {record}");
        }
        if std::env::var_os("BENCH_SHOW").is_some() {
            eprintln!(
                "{elapsed:.1} ms: a {} ms, b {} ms",
                record["a"]["latency_ms"], record["b"]["latency_ms"]
            );
        }
        elapsed
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
