//! What the engine adds to an LLM call: a self-timed binary (`harness =
//! false`) printing Markdown tables. `cargo bench -p weir-nodes --bench llm`
//! (`-- --quick` for a smoke run). See docs/benchmarks.md.
//!
//! 1. Against an instant loopback server (a hyper server answering a fixed
//!    chat completion), so the server's time is nearly nothing: the same
//!    call made with bare reqwest (the baseline), with the llm client, and
//!    through an `llm` node in a symbol table, alternating in rounds.
//! 2. Against the real local model (`LLM_BASE_URL`, when it answers): the
//!    client directly beside the `llm` node, and two calls at once beside
//!    one (llama.cpp serves two slots), to see whether they overlap.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use weir_engine::env::NoValues;
use weir_engine::runtime::Limits;
use weir_engine::spec::source::{Format, parse};
use weir_engine::{Bundle, Packet, Process, SymbolTable};
use weir_nodes::llm::{ChatRequest, Client, Config, Message};

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async move {
        loopback(quick).await;
        local_model(quick).await;
    });
}

const COMPLETION: &str = r#"{"choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"ok"}}],"model":"bench","usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}"#;

/// An HTTP/1.1 server on loopback answering every request with `COMPLETION`.
async fn instant_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            let service = service_fn(|request: http::Request<hyper::body::Incoming>| async move {
                let _ = request.into_body().collect().await;
                let mut response =
                    http::Response::new(Full::new(Bytes::from_static(COMPLETION.as_bytes())));
                response
                    .headers_mut()
                    .insert("content-type", "application/json".parse().unwrap());
                Ok::<_, Infallible>(response)
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    url
}

fn request(model: &str, text: &str, max_tokens: u64) -> ChatRequest {
    ChatRequest {
        model: model.into(),
        messages: vec![Message {
            role: "user".into(),
            content: text.into(),
        }],
        temperature: Some(0.0),
        max_tokens: Some(max_tokens),
        ..ChatRequest::default()
    }
}

async fn table(base_url: &str, model: &str, text: &str, max_tokens: u64) -> Arc<SymbolTable> {
    let yaml = format!(
        "{{kind: llm, name: ask, base_url: '{base_url}', model: {model}, messages: [{{role: user, content: '{text}'}}], temperature: 0, max_tokens: {max_tokens}, timeout_ms: 300000, call_timeout_ms: 600000}}"
    );
    let specs = parse(&yaml, Format::Yaml, None).expect("parses");
    let bundle = Bundle::compile(&weir_nodes::scheme(), specs, &NoValues).expect("compiles");
    bundle
        .start(Limits::default())
        .await
        .remove("default")
        .expect("default")
}

async fn through_engine(table: &SymbolTable) {
    let answer = table
        .send("ask", Process::new(), Packet::new(weir_codecs::Value::Null))
        .await;
    assert!(!answer.is_error(), "{:?}", answer.as_error());
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(|a, b| a.total_cmp(b));
    samples[samples.len() / 2]
}

async fn loopback(quick: bool) {
    let (rounds, calls) = if quick { (3, 200) } else { (7, 2000) };
    let url = instant_server().await;
    let http = weir_nodes::net::client_builder().build().unwrap();
    let client = Client::new(Config::new(&url), http.clone()).unwrap();
    let table = table(&url, "bench", "hi", 4).await;
    let chat = request("bench", "hi", 4);
    let body = chat.body(Default::default()).to_string();
    let endpoint = format!("{url}/chat/completions");
    let (mut raw, mut direct, mut engine) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let started = Instant::now();
        for _ in 0..calls {
            let response = http
                .post(&endpoint)
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await
                .unwrap();
            let bytes = response.bytes().await.unwrap();
            let _: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        }
        raw.push(started.elapsed().as_secs_f64() * 1e6 / calls as f64);
        let started = Instant::now();
        for _ in 0..calls {
            client.chat(&chat, None).await.unwrap();
        }
        direct.push(started.elapsed().as_secs_f64() * 1e6 / calls as f64);
        let started = Instant::now();
        for _ in 0..calls {
            through_engine(&table).await;
        }
        engine.push(started.elapsed().as_secs_f64() * 1e6 / calls as f64);
    }
    let (raw, direct, engine) = (median(raw), median(direct), median(engine));
    println!(
        "### One call to an instant loopback server ({rounds} rounds × {calls} sequential calls, median per call)\n"
    );
    println!("| path | µs per call | added to bare reqwest |");
    println!("|---|---:|---:|");
    println!("| bare reqwest POST + JSON parse (baseline) | {raw:.1} | — |");
    println!(
        "| llm client (`Client::chat`) | {direct:.1} | {:+.1} |",
        direct - raw
    );
    println!(
        "| `llm` node through a symbol table | {engine:.1} | {:+.1} |",
        engine - raw
    );
    println!();
}

async fn local_model(quick: bool) {
    let url = std::env::var("LLM_BASE_URL").unwrap_or_else(|_| "http://127.0.0.1:8081/v1".into());
    let http = weir_nodes::net::client_builder().build().unwrap();
    if http.get(format!("{url}/models")).send().await.is_err() {
        println!(
            "(no LLM server at {url}: the local model part is skipped; scripts/llm-server.sh starts one)"
        );
        return;
    }
    let rounds = if quick { 2 } else { 5 };
    let (text, max_tokens) = ("Count: one, two, three,", 8);
    let mut config = Config::new(&url);
    config.attempt_timeout = Duration::from_secs(300);
    config.call_timeout = Duration::from_secs(600);
    let client = Client::new(config, http).unwrap();
    let table = table(&url, "gemma3-270m", text, max_tokens).await;
    let chat = request("gemma3-270m", text, max_tokens);
    client.chat(&chat, None).await.unwrap(); // warm the prompt cache
    let (mut direct, mut engine, mut one, mut two) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let started = Instant::now();
        client.chat(&chat, None).await.unwrap();
        direct.push(started.elapsed().as_secs_f64() * 1e3);
        let started = Instant::now();
        through_engine(&table).await;
        engine.push(started.elapsed().as_secs_f64() * 1e3);
        let started = Instant::now();
        through_engine(&table).await;
        one.push(started.elapsed().as_secs_f64() * 1e3);
        let started = Instant::now();
        futures_util::future::join(through_engine(&table), through_engine(&table)).await;
        two.push(started.elapsed().as_secs_f64() * 1e3);
    }
    println!(
        "### The local model (Gemma 3 270M, {max_tokens} tokens, temperature 0; {rounds} rounds, median)\n"
    );
    println!("| path | ms |");
    println!("|---|---:|");
    println!("| llm client directly | {:.1} |", median(direct));
    println!(
        "| `llm` node through a symbol table | {:.1} |",
        median(engine)
    );
    println!("| one call through the node | {:.1} |", median(one));
    println!(
        "| two calls at once through the node (wall) | {:.1} |",
        median(two)
    );
    println!();
}
