//! The ceiling for Weir's HTTP path: a bare hyper server answering the
//! bench workloads of `docs/benchmarks.md` (GET /ping → `pong`,
//! POST /echo → `{"received": <body>, "ok": true}`) with no engine at all.
//! Run by `scripts/bench-http.sh`:
//! `cargo run --release --example bare_hyper -- PORT`.

use std::convert::Infallible;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;

async fn answer(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let reply = |status, content_type, body: Bytes| {
        let mut response = Response::new(Full::new(body));
        *response.status_mut() = status;
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(content_type),
        );
        Ok(response)
    };
    match (request.method(), request.uri().path()) {
        (&Method::GET, "/ping") => reply(
            StatusCode::OK,
            "text/plain; charset=utf-8",
            Bytes::from_static(b"pong"),
        ),
        (&Method::POST, "/echo") => {
            let body = request
                .into_body()
                .collect()
                .await
                .map(|c| c.to_bytes())
                .unwrap_or_default();
            let received: serde_json::Value =
                serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
            let out = serde_json::json!({"received": received, "ok": true});
            reply(
                StatusCode::OK,
                "application/json",
                Bytes::from(out.to_string()),
            )
        }
        _ => reply(
            StatusCode::NOT_FOUND,
            "text/plain",
            Bytes::from_static(b"not found"),
        ),
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::args().nth(1).unwrap_or_else(|| "8002".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service_fn(answer))
                .await;
        });
    }
}
