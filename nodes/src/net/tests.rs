//! The `http` kind against a real loopback server, and a `listener` with
//! `tls:` answering it over HTTPS, through the real scheme and runtime. The
//! client specs are `tests/fixtures/net/client.yaml`; the bundled binary's
//! TLS is tested end to end in `tests/net.rs`.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::json;
use weir_codecs::Value;
use weir_engine::env::{NoValues, ValueMap, ValueSource};
use weir_engine::runtime::Limits;
use weir_engine::spec::NamedValue;
use weir_engine::spec::source::{Format, parse};
use weir_engine::{Bundle, Packet, Process, Scheme, SymbolTable};

const CLIENT: &str = include_str!("../../../tests/fixtures/net/client.yaml");
const TOKEN: &str = "s3cr3t-t0ken";

/// A loopback HTTP/1.1 server: `/echo` answers what it received as JSON,
/// `/status/N` answers N, `/text`, `/bytes`, `/badjson` and `/big` answer
/// what they say, `/hang` never answers and counts the requests that
/// arrived and those their client dropped.
struct Upstream {
    url: String,
    arrived: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
}

async fn upstream() -> Upstream {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (arrived, dropped) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (h, d) = (arrived.clone(), dropped.clone());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (h, d) = (h.clone(), d.clone());
            let service = service_fn(move |request| handle(request, h.clone(), d.clone()));
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    Upstream {
        url,
        arrived,
        dropped,
    }
}

/// Counts a `/hang` request whose future hyper dropped: its client left.
struct CountDrop(Arc<AtomicUsize>);

impl Drop for CountDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

async fn handle(
    request: Request<Incoming>,
    arrived: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let path = parts.uri.path();
    let (status, content_type, body) = match path {
        "/echo" => {
            let header: serde_json::Map<String, serde_json::Value> = parts
                .headers
                .iter()
                .map(|(n, v)| (n.to_string(), json!(v.to_str().unwrap_or("?"))))
                .collect();
            let echo = json!({
                "method": parts.method.as_str(),
                "query": parts.uri.query(),
                "header": header,
                "body": String::from_utf8_lossy(&body),
            });
            (200, "application/json", Bytes::from(echo.to_string()))
        }
        "/text" => (200, "text/plain", Bytes::from("hello")),
        "/bytes" => (200, "image/png", Bytes::from_static(&[0, 1, 255])),
        "/badjson" => (200, "application/json", Bytes::from("{nope")),
        "/big" => (200, "text/plain", Bytes::from(vec![b'x'; 1000])),
        "/hang" => {
            let _count = CountDrop(dropped);
            arrived.fetch_add(1, Ordering::SeqCst);
            std::future::pending::<()>().await;
            unreachable!("pending never resolves")
        }
        other => {
            let code = other.strip_prefix("/status/").and_then(|c| c.parse().ok());
            let code = code.unwrap_or(500);
            (code, "text/plain", Bytes::from(format!("status {code}")))
        }
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    response
        .headers_mut()
        .insert("content-type", content_type.parse().unwrap());
    Ok(response)
}

fn value(name: &str, data: serde_json::Value, secret: bool) -> NamedValue {
    serde_json::from_value(json!({"name": name, "data": data, "secret": secret})).unwrap()
}

/// The client fixture, started against `upstream`.
async fn clients(upstream: &Upstream) -> Arc<SymbolTable> {
    let mut values = ValueMap::default();
    values.insert(value("upstream", json!(upstream.url), false));
    values.insert(value("token", json!(TOKEN), true));
    start(&crate::scheme(), CLIENT, &values).await
}

async fn start(scheme: &Scheme, yaml: &str, values: &dyn ValueSource) -> Arc<SymbolTable> {
    let specs = parse(yaml, Format::Yaml, None).expect("parses");
    let bundle = Bundle::compile(scheme, specs, values).expect("compiles");
    let mut tables = bundle.start(Limits::default()).await;
    tables.remove("default").expect("the default namespace")
}

async fn answer(table: &SymbolTable, node: &str, input: serde_json::Value) -> Packet {
    let input = weir_codecs::json::from_json(input);
    table.send(node, Process::new(), Packet::new(input)).await
}

fn json_of(packet: &Packet) -> serde_json::Value {
    assert!(!packet.is_error(), "{:?}", packet.as_error());
    weir_codecs::json::to_json(packet.payload())
}

/// The error an answer carries, checked to leak no secret.
fn error_of(packet: &Packet) -> weir_codecs::ErrorValue {
    let error = packet.as_error().expect("an error").clone();
    let shown = format!("{error} {}", error.details);
    for secret in [TOKEN, "hunter2", "/hidden"] {
        assert!(!shown.contains(secret), "`{secret}` leaked: {shown}");
    }
    error
}

/// The errors of compiling `yaml`, one line each.
fn errors(yaml: &str) -> Vec<String> {
    let specs = parse(yaml, Format::Yaml, None).expect("parses");
    match Bundle::compile(&crate::scheme(), specs, &NoValues) {
        Ok(_) => Vec::new(),
        Err(d) => d.0.iter().map(|d| d.error.to_string()).collect(),
    }
}

#[test]
fn static_takes_a_root_or_a_bundle() {
    assert_eq!(
        errors("{kind: static, name: s}"),
        ["root: must name a folder"]
    );
    assert_eq!(
        errors("{kind: static, name: s, root: www, bundle: console}"),
        ["bundle: give `root` or `bundle`, not both"]
    );
    assert_eq!(
        errors("{kind: static, name: s, bundle: nope}"),
        ["bundle: no bundle `nope` (built in: console)"]
    );
    assert!(errors("{kind: static, name: s, bundle: console}").is_empty());
}

#[tokio::test]
async fn get_renders_the_url_query_and_headers_per_packet() {
    let upstream = upstream().await;
    let table = clients(&upstream).await;
    let answer = json_of(&answer(&table, "get", json!({"name": "a b&c", "id": 7})).await);
    assert_eq!(answer["status"], 200);
    assert_eq!(answer["header"]["content-type"], "application/json");
    assert!(answer["header"].get("content-length").is_none(), "{answer}");
    let echo = &answer["body"];
    assert_eq!(echo["method"], "GET");
    assert_eq!(echo["query"], "name=a+b%26c&tag=a&tag=b+c");
    assert_eq!(echo["header"]["authorization"], format!("Bearer {TOKEN}"));
    assert_eq!(echo["header"]["x-id"], "7");
    assert!(
        echo["header"]["user-agent"]
            .as_str()
            .is_some_and(|a| a.starts_with("weir/")),
        "{echo}"
    );

    // A template over a field the packet lacks fails that packet only.
    let missing = answer_error(&table, "get", json!({"id": 1})).await;
    assert_eq!(missing.code.as_deref(), Some("invalid_request"));
    assert!(
        missing.message.contains("http `get`: query.name:")
            && missing.message.contains("undefined"),
        "{missing}"
    );
}

async fn answer_error(
    table: &SymbolTable,
    node: &str,
    input: serde_json::Value,
) -> weir_codecs::ErrorValue {
    error_of(&answer(table, node, input).await)
}

#[tokio::test]
async fn post_sends_a_templated_json_body() {
    let upstream = upstream().await;
    let table = clients(&upstream).await;
    let answer = json_of(&answer(&table, "post", json!({"n": [1, 2]})).await);
    let echo = &answer["body"];
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["header"]["content-type"], "application/json");
    let sent: serde_json::Value = serde_json::from_str(echo["body"].as_str().unwrap()).unwrap();
    assert_eq!(sent, json!({"item": {"n": [1, 2]}, "fixed": 1}));
}

#[tokio::test]
async fn without_a_url_the_payload_is_the_request() {
    let upstream = upstream().await;
    let table = clients(&upstream).await;
    let request = json!({
        "method": "put",
        "url": format!("{}/echo?x=1", upstream.url),
        "query": {"y": 2},
        "header": {"x-ignored": "the spec sets `header`"},
        "body": "plain text",
    });
    let put = json_of(&answer(&table, "any", request).await);
    let echo = &put["body"];
    assert_eq!(echo["method"], "PUT");
    assert_eq!(echo["query"], "x=1&y=2");
    assert_eq!(echo["body"], "plain text");
    assert_eq!(echo["header"]["content-type"], "text/plain; charset=utf-8");
    assert_eq!(echo["header"]["authorization"], format!("Bearer {TOKEN}"));
    assert!(echo["header"].get("x-ignored").is_none(), "{echo}");

    // Bodies decode by content type, as a listener's requests do.
    let at = |path: &str| json!({"url": format!("{}{path}", upstream.url)});
    let text = json_of(&answer(&table, "any", at("/text")).await);
    assert_eq!(text["body"], "hello");
    let bytes = answer(&table, "any", at("/bytes")).await;
    assert_eq!(
        bytes.payload().get("body"),
        Some(&Value::Bytes(Bytes::from_static(&[0, 1, 255])))
    );
    let bad = answer_error(&table, "any", at("/badjson")).await;
    assert_eq!(
        (bad.code.as_deref(), bad.status),
        (Some("upstream"), Some(502))
    );
    assert!(bad.message.contains("not valid JSON"), "{bad}");

    // A status outside 2xx is an answer like any other...
    let missing = json_of(&answer(&table, "any", at("/status/404")).await);
    assert_eq!(
        (&missing["status"], &missing["body"]),
        (&json!(404), &json!("status 404"))
    );

    // ...and a payload that is no request is refused, naming what is wrong.
    let refused = answer_error(&table, "any", json!("http://example.com")).await;
    assert_eq!(refused.code.as_deref(), Some("invalid_request"));
    assert!(refused.message.contains("not string"), "{refused}");
    let no_url = answer_error(&table, "any", json!({"method": "GET"})).await;
    assert!(no_url.message.contains("no `url`"), "{no_url}");
    let bad_method = answer_error(
        &table,
        "any",
        json!({"url": upstream.url, "method": "FETCH"}),
    )
    .await;
    assert!(
        bad_method
            .message
            .contains("method: `FETCH` is not an HTTP method"),
        "{bad_method}"
    );
    let bad_url = answer_error(&table, "any", json!({"url": "file:///etc/passwd"})).await;
    assert!(
        bad_url.message.contains("url: the scheme must be"),
        "{bad_url}"
    );
}

#[tokio::test]
async fn fail_on_status_turns_other_statuses_into_errors() {
    let upstream = upstream().await;
    let table = clients(&upstream).await;
    assert_eq!(
        json_of(&answer(&table, "strict", json!(204)).await)["status"],
        204
    );
    let failed = answer_error(&table, "strict", json!(503)).await;
    assert_eq!(
        (failed.code.as_deref(), failed.status),
        (Some("status"), Some(503))
    );
    assert!(failed.message.contains("answered 503"), "{failed}");
    assert_eq!(
        failed.details.get("body").and_then(Value::as_str),
        Some("status 503")
    );
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused() {
    let upstream = upstream().await;
    let table = clients(&upstream).await;
    let error = answer_error(&table, "small", json!(null)).await;
    assert_eq!(error.code.as_deref(), Some("too_large"));
    assert!(error.message.contains("larger than 100 bytes"), "{error}");
}

#[tokio::test]
async fn connection_errors_name_the_origin_but_no_secret() {
    let upstream = upstream().await;
    let table = clients(&upstream).await;
    // A port that was just free: nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let url = format!("http://user:hunter2@127.0.0.1:{port}/hidden?key=hunter2");
    let error = answer_error(&table, "any", json!({"url": url})).await;
    assert_eq!(
        (error.code.as_deref(), error.status),
        (Some("connect"), Some(502))
    );
    assert!(
        error.message.starts_with(&format!(
            "http `any`: GET http://127.0.0.1:{port}: cannot connect"
        )),
        "{error}"
    );
}

#[tokio::test]
async fn timeouts_cancellation_and_deadlines_abort_the_request() {
    let upstream = upstream().await;
    let table = clients(&upstream).await;

    // The node's own timeout.
    let error = answer_error(&table, "slow", json!(null)).await;
    assert_eq!(
        (error.code.as_deref(), error.status),
        (Some("timeout"), Some(504))
    );
    assert!(error.message.contains("no answer within 200 ms"), "{error}");
    wait_for(&upstream.dropped, 1).await;

    // The process cancelled while the request is in flight (its client
    // went away, say): the outgoing request is dropped too.
    let process = Process::new();
    let sent = {
        let (table, process) = (table.clone(), process.clone());
        tokio::spawn(async move { table.send("hang", process, Packet::new(Value::Null)).await })
    };
    wait_for(&upstream.arrived, 2).await;
    process.cancel();
    let cancelled = error_of(&sent.await.unwrap());
    assert_eq!(cancelled.code.as_deref(), Some("cancelled"));
    wait_for(&upstream.dropped, 2).await;

    // The process's deadline, shorter than the node's timeout.
    let deadline = tokio::time::Instant::now() + Duration::from_millis(200);
    let answer = table
        .send(
            "hang",
            Process::with_deadline(deadline),
            Packet::new(Value::Null),
        )
        .await;
    let late = error_of(&answer);
    assert_eq!(
        (late.code.as_deref(), late.status),
        (Some("timeout"), Some(504))
    );
    wait_for(&upstream.dropped, 3).await;
}

/// Waits (at most 20 s) until `count` (of the upstream's `/hang`
/// requests) reaches `at_least`.
async fn wait_for(count: &AtomicUsize, at_least: usize) {
    for _ in 0..400 {
        if count.load(Ordering::SeqCst) >= at_least {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the upstream counted {} requests, not {at_least}",
        count.load(Ordering::SeqCst)
    );
}

#[test]
fn bad_fields_are_compile_errors_naming_them() {
    let one = |fields: &str| errors(&format!("{{kind: http, name: h, {fields}}}"));
    assert_eq!(
        one("method: FETCH, url: 'http://x'"),
        ["method: `FETCH` is not an HTTP method (GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS)"]
    );
    assert_eq!(
        one("url: 'ftp://x/y'"),
        ["url: the scheme must be `http` or `https`, not `ftp`"]
    );
    assert_eq!(
        one("url: 'not a url'"),
        ["url: not a valid URL: relative URL without a base"]
    );
    assert_eq!(
        one("url: 'http://x', header: {'bad name': v, x-list: [1]}"),
        [
            "header.bad name: `bad name` is not a header name",
            "header.x-list: must be text, a number or a boolean, not list",
        ]
    );
    let template = one("url: '{{ 1 + }}', body: {a: ['{% if %}']}");
    assert!(
        template[0].starts_with("url: cannot compile template"),
        "{template:?}"
    );
    assert!(
        template[1].starts_with("body.a[0]: cannot compile template"),
        "{template:?}"
    );
    assert_eq!(
        one("url: 'http://x', timeout_ms: 0"),
        ["timeout_ms: must be more than 0"]
    );
    assert!(one("urll: 'http://x'")[0].contains("urll"));
    // Templates are checked when rendered, not before.
    assert!(one("method: '{{ payload.m }}', url: '{{ payload.u }}'").is_empty());
}

/// A self-signed certificate for `localhost` and 127.0.0.1: (cert, key) PEM.
pub(crate) fn self_signed() -> (String, String) {
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let generated = rcgen::generate_simple_self_signed(names).unwrap();
    (generated.cert.pem(), generated.key_pair.serialize_pem())
}

#[tokio::test]
async fn an_http_node_calls_a_tls_listener_whose_key_is_a_secret_value() {
    let (cert, key) = self_signed();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let mut values = ValueMap::default();
    values.insert(value("tls-cert", json!(cert), false));
    values.insert(value("tls-key", json!(key), true));
    let yaml = format!(
        r#"
- kind: listener
  name: https
  port: {port}
  tls: {{cert: "{{{{ CERT }}}}", key: "{{{{ KEY }}}}"}}
  env: {{CERT: {{from: tls-cert}}, KEY: {{from: tls-key}}}}
  ports: {{out: [{{name: hello}}]}}
- {{kind: snippet, name: hello, language: cel, code: '"hello over " + path'}}
- {{kind: http, name: call, url: "https://localhost:{port}/tls"}}
"#
    );
    // The host provides a client that trusts the test's certificate.
    let mut scheme = crate::scheme();
    let trusted = reqwest::Certificate::from_pem(cert.as_bytes()).unwrap();
    let client = crate::net::client_builder()
        .add_root_certificate(trusted)
        .build()
        .unwrap();
    scheme.provide(Arc::new(client));
    let table = start(&scheme, &yaml, &values).await;
    let answer = json_of(
        &table
            .send("call", Process::new(), Packet::new(Value::Null))
            .await,
    );
    assert_eq!(answer["status"], 200);
    assert_eq!(answer["body"], "hello over /tls");

    // The shared client trusts only the public roots: the same call fails
    // the handshake, as a connection error.
    let table = start(
        &crate::scheme(),
        &format!("{{kind: http, name: untrusted, url: 'https://localhost:{port}/'}}"),
        &NoValues,
    )
    .await;
    let error = error_of(
        &table
            .send("untrusted", Process::new(), Packet::new(Value::Null))
            .await,
    );
    assert_eq!(error.code.as_deref(), Some("connect"), "{error}");
    assert!(
        error.message.to_lowercase().contains("certificate"),
        "{error}"
    );
}
