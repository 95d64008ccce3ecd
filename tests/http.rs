//! The bundled HTTP examples served by `weir start`, over real loopback
//! HTTP: routes, bad input, and hot swaps under load with no failed
//! request. The server and the tiny HTTP/1.1 client are in `support`.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::load::Load;
use support::{Client, JSON, Server, free_port, root};

#[test]
fn the_examples_serve_ping_and_echo_and_refuse_bad_input() {
    let server = Server::start();
    let mut client = server.connect();
    let ping = client.send("GET", "/ping", None, &[]).unwrap();
    assert_eq!((ping.status, ping.body.as_str()), (200, "pong"));
    let echo = client
        .send(
            "POST",
            "/echo",
            Some(br#"{"name":"weir","n":[1,2]}"#),
            &[JSON],
        )
        .unwrap();
    assert_eq!(echo.status, 200);
    assert_eq!(
        echo.body, r#"{"ok":true,"received":{"n":[1,2],"name":"weir"}}"#,
        "CEL maps come out key-sorted"
    );
    assert_eq!(echo.header("content-type"), Some("application/json"));

    let invalid = client
        .send("POST", "/echo", Some(b"{not json"), &[JSON])
        .unwrap();
    assert_eq!(invalid.status, 400);
    assert!(invalid.body.contains("not valid JSON"), "{}", invalid.body);
    let unknown = client.send("GET", "/nowhere", None, &[]).unwrap();
    assert_eq!(unknown.status, 404);
    let wrong = client.send("DELETE", "/echo", None, &[]).unwrap();
    assert_eq!((wrong.status, wrong.header("allow")), (405, Some("POST")));
    let huge = vec![b'x'; 2 * 1024 * 1024];
    let too_big = server
        .connect()
        .send("POST", "/echo", Some(&huge), &[JSON])
        .unwrap();
    assert_eq!(too_big.status, 413);
    assert!(too_big.body.contains("larger than"), "{}", too_big.body);

    // Malformed HTTP gets a 400 from the server, not a hang or a crash.
    let mut raw = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    raw.write_all(b"NOT HTTP AT ALL\r\n\r\n").unwrap();
    let mut answer = String::new();
    let _ = raw.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer:?}");
    // And the server still serves.
    assert_eq!(server.get("/ping").unwrap().status, 200);
}

#[test]
fn fifty_hot_swaps_under_load_fail_no_request() {
    let server = Arc::new(Server::start());
    let load = Load::start(&server, "/ping", 4);
    for version in 1..=50 {
        server.apply_yaml(
            "ping.yaml",
            &format!("- {{kind: snippet, namespace: examples, name: ping, language: json, code: '{{\"status\": 200, \"body\": \"pong {version}\"}}'}}\n"),
        );
    }
    server.wait_for_body("/ping", "pong 50");
    let seen = load.finish();
    assert_eq!(seen.failed, 0, "no request failed during 50 swaps");
    assert!(seen.served > 50, "the load ran throughout");
    assert!(seen.lasts.iter().all(|l| l.starts_with("pong")), "{seen:?}");
}

#[test]
fn static_serves_files_with_validators_and_never_leaves_its_folder() {
    let www = root().join("tests/fixtures/static/www");
    // A copy of the fixture folder, with a secret beside it and a symbolic
    // link inside it that points at the secret.
    let outside = std::env::temp_dir().join(format!("weir-www-{}", std::process::id()));
    let served = outside.join("www");
    let _ = std::fs::remove_dir_all(&outside);
    std::fs::create_dir_all(served.join("css")).unwrap();
    for file in ["index.html", "css/site.css"] {
        std::fs::copy(www.join(file), served.join(file)).unwrap();
    }
    std::fs::write(outside.join("secret.txt"), "top secret").unwrap();
    std::os::unix::fs::symlink(outside.join("secret.txt"), served.join("leak.txt")).unwrap();

    let server = Server::start_with(
        &root().join("tests/fixtures/static/site.yaml"),
        &[("WEIR_TEST_WWW", served.to_str().unwrap())],
    );
    let mut client = server.connect();
    let index = client.send("GET", "/files/", None, &[]).unwrap();
    assert_eq!(index.status, 200);
    assert!(index.body.contains("<p>hello</p>"));
    assert_eq!(
        index.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let css = client
        .send("GET", "/files/css/site.css", None, &[])
        .unwrap();
    assert_eq!(
        (css.status, css.header("content-type")),
        (200, Some("text/css; charset=utf-8"))
    );
    let etag = css.header("etag").unwrap().to_string();
    let again = client
        .send(
            "GET",
            "/files/css/site.css",
            None,
            &[("If-None-Match", &etag)],
        )
        .unwrap();
    assert_eq!((again.status, again.body.as_str()), (304, ""));
    let since = css.header("last-modified").unwrap().to_string();
    let again = client
        .send(
            "GET",
            "/files/css/site.css",
            None,
            &[("If-Modified-Since", &since)],
        )
        .unwrap();
    assert_eq!(again.status, 304);
    assert_eq!(
        client
            .send("GET", "/files/nope.txt", None, &[])
            .unwrap()
            .status,
        404
    );
    for attack in [
        "/files/../Cargo.toml",
        "/files/%2e%2e/%2e%2e/Cargo.toml",
        "/files/css/..%2f..%2fsecret.txt",
        "/files/%2E%2E%5Csecret.txt",
        "/files/leak.txt",
        "/files/..%00/secret.txt",
    ] {
        let reply = server.connect().send("GET", attack, None, &[]).unwrap();
        assert!(
            reply.status == 404 || reply.status == 400,
            "{attack}: {reply:?}"
        );
        assert!(
            !reply.body.contains("top secret") && !reply.body.contains("[package]"),
            "{attack}: {}",
            reply.body
        );
    }
    let _ = std::fs::remove_dir_all(&outside);
}

#[tokio::test]
async fn a_tls_listener_serves_http2_and_http1_to_a_client_trusting_its_certificate() {
    // A self-signed certificate made now, in PEM files the spec names.
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let generated = rcgen::generate_simple_self_signed(names).unwrap();
    let dir = std::env::temp_dir().join(format!("weir-tls-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.key_pair.serialize_pem()).unwrap();
    let tls_port = free_port();
    let server = Server::start_with(
        &root().join("tests/fixtures/net/tls.yaml"),
        &[
            ("WEIR_TEST_TLS_PORT", &tls_port.to_string()),
            ("WEIR_TEST_CERT", cert.to_str().unwrap()),
            ("WEIR_TEST_KEY", key.to_str().unwrap()),
        ],
    );
    // Both listeners load in one batch; the plain one answered, and the
    // TLS one is waited for all the same (bounded).
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", tls_port)).is_err() {
        assert!(Instant::now() < deadline, "the TLS listener never opened");
        std::thread::sleep(Duration::from_millis(50));
    }

    let trusted = reqwest::Certificate::from_pem(generated.cert.pem().as_bytes()).unwrap();
    let url = format!("https://localhost:{tls_port}/echo");
    for (builder, version) in [
        (reqwest::Client::builder(), reqwest::Version::HTTP_2),
        (
            reqwest::Client::builder().http1_only(),
            reqwest::Version::HTTP_11,
        ),
    ] {
        let client = builder
            .use_rustls_tls()
            .add_root_certificate(trusted.clone())
            .build()
            .unwrap();
        let response = client
            .post(&url)
            .json(&serde_json::json!({"n": 1}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.version(), version, "negotiated by ALPN");
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body, serde_json::json!({"received": {"n": 1}}));
    }

    // A client that does not trust the certificate fails the handshake,
    // and cleartext HTTP on the TLS port gets no answer.
    let untrusted = reqwest::Client::builder().use_rustls_tls().build().unwrap();
    let refused = untrusted.post(&url).send().await.unwrap_err();
    assert!(refused.is_connect(), "{refused:?}");
    let clear = Client::open(tls_port).and_then(|mut c| c.send("GET", "/ping", None, &[]));
    assert!(clear.is_err(), "{clear:?}");
    // The same workflow still serves in clear on its plain listener.
    assert_eq!(server.get("/ping").unwrap().status, 200);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn schema_answers_400_with_every_violation_and_its_pointer() {
    let server = Server::start_with(&root().join("tests/fixtures/http/schema.yaml"), &[]);
    let mut client = server.connect();
    let created = client
        .send(
            "POST",
            "/people",
            Some(br#"{"name":"Ada","age":36}"#),
            &[JSON],
        )
        .unwrap();
    assert_eq!(
        (created.status, created.body.as_str()),
        (201, r#"{"created":"Ada"}"#)
    );
    let refused = client
        .send("POST", "/people", Some(br#"{"name":"","age":-1}"#), &[JSON])
        .unwrap();
    assert_eq!(refused.status, 400, "{}", refused.body);
    let body: serde_json::Value = serde_json::from_str(&refused.body).unwrap();
    let error = &body["error"];
    assert_eq!(error["code"], "invalid");
    let mut pointers: Vec<&str> = error["details"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["pointer"].as_str())
        .collect();
    pointers.sort();
    assert_eq!(pointers, ["/age", "/name"], "{body}");
    let missing = client
        .send("POST", "/people", Some(b"{}"), &[JSON])
        .unwrap();
    assert_eq!(missing.status, 400);
    assert!(
        missing.body.contains(r#"\"name\" is a required property"#)
            && missing.body.contains(r#"\"age\" is a required property"#),
        "{}",
        missing.body
    );
}

#[test]
fn runaway_javascript_answers_an_error_and_the_server_carries_on() {
    let server = Server::start_with(&root().join("tests/fixtures/http/javascript.yaml"), &[]);
    let mut client = server.connect();
    let pong = client.send("GET", "/ping", None, &[]).unwrap();
    assert_eq!((pong.status, pong.body.as_str()), (200, "pong /ping"));
    for _ in 0..3 {
        let spin = client.send("GET", "/spin", None, &[]).unwrap();
        assert_eq!(spin.status, 504, "{}", spin.body);
        assert!(spin.body.contains("time limit of 200ms"), "{}", spin.body);
        let hog = client.send("GET", "/hog", None, &[]).unwrap();
        assert_eq!(hog.status, 500, "{}", hog.body);
        assert!(hog.body.contains("memory limit of 16 MiB"), "{}", hog.body);
        let pong = client.send("GET", "/ping", None, &[]).unwrap();
        assert_eq!((pong.status, pong.body.as_str()), (200, "pong /ping"));
    }
}

#[test]
fn a_listener_given_another_address_rebinds_and_frees_the_old_one() {
    let server = Server::start();
    let moved = free_port();
    server.apply_yaml(
        "moved.yaml",
        &format!(
            "- {{kind: listener, namespace: examples, name: http, host: 127.0.0.1, port: {moved}, ports: {{out: [{{name: routes}}]}}}}\n"
        ),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let ping = |port| Client::open(port).and_then(|mut c| c.send("GET", "/ping", None, &[]));
    while ping(moved).map(|r| r.status).ok() != Some(200) {
        assert!(Instant::now() < deadline, "the new address never served");
        std::thread::sleep(Duration::from_millis(20));
    }
    while TcpStream::connect(("127.0.0.1", server.port)).is_ok() {
        assert!(Instant::now() < deadline, "the old address was never freed");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    let server = Server::start_with(&root().join("tests/fixtures/net/idle.yaml"), &[]);
    let mut client = server.connect();
    let first = client.send("GET", "/ping", None, &[]).unwrap();
    assert_eq!((first.status, first.body.as_str()), (200, "\"pong\""));
    // Well past the spec's 300 ms: the server has closed the connection,
    // so the next request on it gets no answer.
    std::thread::sleep(Duration::from_secs(2));
    let again = client.send("GET", "/ping", None, &[]);
    assert!(again.is_err(), "{again:?}");
    assert_eq!(
        server.get("/ping").unwrap().status,
        200,
        "a new one is served"
    );
}

#[test]
fn a_body_sent_too_slowly_is_refused_with_408_in_the_error_format() {
    let server = Server::start_with(&root().join("tests/fixtures/net/idle.yaml"), &[]);
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // Promise ten bytes, send one, then nothing: well past the 300 ms.
    stream
        .write_all(b"POST /ping HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\nx")
        .unwrap();
    let mut answer = String::new();
    let read = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"code\":\"body_timeout\""), "{answer}");
    // Reading to the end returned: the server closed the connection (a
    // connection left open would end in the read timeout's error).
    assert!(read.is_ok(), "{read:?}");
}

/// Sends `request` raw and reads the answer to the end (the server closes).
fn raw(port: u16, request: &[u8]) -> (String, serde_json::Value) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // The server may answer before it has read everything we send.
    let _ = stream.write_all(request);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).to_string();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let head = head.to_ascii_lowercase();
    assert!(head.contains("content-type: application/json"), "{answer}");
    assert!(
        head.contains(&format!("content-length: {}", body.len())),
        "{answer}"
    );
    let body = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"));
    (answer, body)
}

#[test]
fn requests_hyper_cannot_read_are_refused_in_the_error_format() {
    let server = Server::start();
    let port = server.port;
    let long = format!(
        "GET /ping?{} HTTP/1.1\r\nHost: localhost\r\n\r\n",
        "a".repeat(70_000)
    );
    let (answer, body) = raw(port, long.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 414"), "{answer}");
    assert_eq!(body["error"]["code"], "uri_too_long");
    assert!(body["error"]["message"].as_str().unwrap().contains("65534"));

    let many: String = (0..150).map(|i| format!("x-h{i}: v\r\n")).collect();
    let many = format!("GET /ping HTTP/1.1\r\nHost: localhost\r\n{many}\r\n");
    let (answer, body) = raw(port, many.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    assert_eq!(body["error"]["code"], "headers_too_large");

    let big = format!(
        "GET /ping HTTP/1.1\r\nHost: localhost\r\nx-big: {}\r\n\r\n",
        "b".repeat(500_000)
    );
    let (answer, body) = raw(port, big.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    assert_eq!(body["error"]["code"], "headers_too_large");

    let (answer, body) = raw(
        port,
        b"GET /ping HTTP/1.1\r\nHost: localhost\r\nbad header\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert_eq!(body["error"]["code"], "bad_request");

    // A request after them on a keep-alive connection is served as ever,
    // and a node's own answers are left as they are.
    let mut client = server.connect();
    let ping = client.send("GET", "/ping", None, &[]).unwrap();
    assert_eq!((ping.status, ping.body.as_str()), (200, "pong"));
    let again = client.send("GET", "/ping", None, &[]).unwrap();
    assert_eq!((again.status, again.body.as_str()), (200, "pong"));
}
