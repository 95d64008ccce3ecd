//! `listener`: an HTTP server (HTTP/1.1 and HTTP/2, over TLS when `tls` is
//! set: see [`super::tls`]) that starts one process per request and writes
//! the request to `out`.
//!
//! The answer becomes the response (see [`super::message`]); an error answer
//! goes to the `error` port when linked, else becomes its status (500 by
//! default) with a JSON error body. A body over `body_limit` is refused with
//! 413 before it is read; a request hyper cannot read as one (400, 414,
//! 431) gets the JSON error body too ([`super::head_errors`]); a client that disconnects cancels its process. A
//! node may stream the response body ([`super::stream`]): the process then
//! lives until the client goes or the listener stops. The socket is shared
//! across activations ([`super::socket`]), so a hot swap of the listener or
//! of anything behind it never closes it; each activation runs its own
//! accept loop with its own out-links, and unloading one stops only that
//! loop, ends its streamed responses and drains its in-flight requests. A
//! listener is a source: while its downstream is missing or inactive it
//! keeps serving and answers 503 naming the missing node.

use crate::ceiling;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};

use arc_swap::ArcSwap;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Either, Full, Limited};
use hyper::body::{Body, Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use schemars::JsonSchema;
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use weir_codecs::ErrorValue;
use weir_engine::runtime::{Activate, BoxFuture, Outcome, Outputs};
use weir_engine::scheme::Context;
use weir_engine::{Call, FieldError, Kind, Node, Packet, Port, PortPattern, Ports, Process};

use super::head_errors::{self, HeadErrors, Requests};
use super::message::{self, Reply};
use super::tls::{self, Acceptor, Tls, TlsSpec};
use super::{socket, stream};

/// The fields of a `listener` spec.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(example = serde_json::json!({"port": 8080}))]
pub struct ListenerSpec {
    /// The address to listen on.
    #[serde(default = "default_host")]
    pub host: String,
    /// The TCP port, e.g. `"{{ PORT }}"` bound from the env.
    #[schemars(range(min = 1, max = 65535))]
    pub port: u16,
    /// Largest request body accepted, in bytes; larger ones get 413.
    #[serde(default = "default_body_limit")]
    #[schemars(transform = crate::ceiling::body_bytes)]
    pub body_limit: u64,
    /// Milliseconds a request may take before it answers 504.
    #[serde(default = "default_timeout_ms")]
    #[schemars(range(min = 1), transform = crate::ceiling::time_ms)]
    pub timeout_ms: u64,
    /// Milliseconds a client has to send its request headers. The clock
    /// starts when the connection is ready for a request, so this is also
    /// how long a keep-alive connection may sit idle before it is closed.
    #[serde(default = "default_header_timeout_ms")]
    #[schemars(transform = crate::ceiling::time_ms)]
    pub header_timeout_ms: u64,
    /// Milliseconds a client has to send the whole request body once its
    /// headers are in; a slower one gets 408 and the connection closes.
    #[serde(default = "default_body_timeout_ms")]
    #[schemars(transform = crate::ceiling::time_ms)]
    pub body_timeout_ms: u64,
    /// Serve HTTPS with this certificate and key.
    #[serde(default)]
    pub tls: Option<TlsSpec>,
}

fn default_host() -> String {
    "127.0.0.1".into()
}

fn default_body_limit() -> u64 {
    1024 * 1024
}

fn default_timeout_ms() -> u64 {
    30_000
}

fn default_body_timeout_ms() -> u64 {
    10_000
}

fn default_header_timeout_ms() -> u64 {
    10_000
}

/// How long unloading waits for in-flight requests.
const DRAIN: Duration = Duration::from_secs(30);

pub(super) struct Listener;

impl Kind for Listener {
    type Spec = ListenerSpec;

    fn name(&self) -> &'static str {
        "listener"
    }

    fn summary(&self) -> &'static str {
        "Serves HTTP/1.1 and HTTP/2 on `host:port`: one process per request, the request to `out`, the answer as the response."
    }

    fn ports(&self, _: &ListenerSpec) -> Ports {
        Ports::new()
            .output(PortPattern::Exact(Port::output()))
            .source()
    }

    fn compile(
        &self,
        spec: ListenerSpec,
        cx: &Context<'_>,
    ) -> Result<Arc<dyn Activate>, Vec<FieldError>> {
        let mut errors = Vec::new();
        if spec.port == 0 {
            errors.push(FieldError::new("port", "0 is not a port to serve on"));
        }
        if spec.timeout_ms == 0 {
            errors.push(FieldError::new("timeout_ms", "must be more than 0"));
        }
        errors.extend(
            [
                ceiling::BODY.check("body_limit", spec.body_limit),
                ceiling::TIME.check("timeout_ms", spec.timeout_ms),
                ceiling::TIME.check("header_timeout_ms", spec.header_timeout_ms),
                ceiling::TIME.check("body_timeout_ms", spec.body_timeout_ms),
            ]
            .into_iter()
            .flatten(),
        );
        let tls = spec.tls.map(Tls::compile).transpose();
        let tls = tls.map_err(|e| errors.extend(e)).ok().flatten();
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Arc::new(ListenerActivate {
            name: cx.name(),
            address: format!("{}:{}", spec.host, spec.port),
            settings: Settings {
                body_limit: spec.body_limit,
                timeout: Duration::from_millis(spec.timeout_ms),
                header_timeout: Duration::from_millis(spec.header_timeout_ms.max(1)),
                body_timeout: Duration::from_millis(spec.body_timeout_ms.max(1)),
            },
            tls,
            server: Arc::default(),
        }))
    }
}

/// A compiled listener. Its activations share one server (accept loop and
/// connections), which each new activation points at its own out-links, so
/// a change behind the listener keeps every connection open; a changed
/// listener spec is another compiled listener with a server of its own
/// (on the same socket), and the old one drains when its last activation
/// unloads.
struct ListenerActivate {
    name: String,
    address: String,
    settings: Settings,
    tls: Option<Tls>,
    server: Arc<Mutex<Weak<Server>>>,
}

/// One server: where requests go now, and how to stop it.
struct Server {
    outputs: Arc<ArcSwap<Outputs>>,
    stop: CancellationToken,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl ListenerActivate {
    async fn start(&self, outputs: &Arc<Outputs>) -> Result<Arc<Server>, ErrorValue> {
        let tls = self.tls.as_ref().map(Tls::acceptor).transpose()?;
        let socket = socket::acquire(&self.address).await.map_err(|e| {
            ErrorValue::new(format!("cannot listen on {}: {e}", self.address)).with_code("listen")
        })?;
        let stop = CancellationToken::new();
        let shared = Arc::new(ArcSwap::new(outputs.clone()));
        let task = tokio::spawn(serve(
            socket,
            shared.clone(),
            self.settings,
            tls,
            stop.clone(),
        ));
        tracing::info!(node = %self.name, address = %self.address, "listening");
        Ok(Arc::new(Server {
            outputs: shared,
            stop,
            task: Mutex::new(Some(task)),
        }))
    }
}

impl Activate for ListenerActivate {
    fn activate<'a>(
        &'a self,
        outputs: &'a Arc<Outputs>,
    ) -> BoxFuture<'a, Result<Arc<dyn Node>, ErrorValue>> {
        Box::pin(async move {
            let running = lock(&self.server).upgrade();
            let server = match running {
                Some(server) => {
                    server.outputs.store(outputs.clone());
                    server
                }
                None => {
                    let server = self.start(outputs).await?;
                    *lock(&self.server) = Arc::downgrade(&server);
                    server
                }
            };
            let node: Arc<dyn Node> = Arc::new(ListenerNode {
                name: self.name.clone(),
                address: self.address.clone(),
                server,
                shared: self.server.clone(),
            });
            Ok(node)
        })
    }
}

#[derive(Clone, Copy)]
struct Settings {
    body_limit: u64,
    timeout: Duration,
    header_timeout: Duration,
    body_timeout: Duration,
}

/// One activation of a listener: a hold on its compiled listener's server.
struct ListenerNode {
    name: String,
    address: String,
    server: Arc<Server>,
    shared: Arc<Mutex<Weak<Server>>>,
}

impl Node for ListenerNode {
    fn call<'a>(&'a self, _: &'a Call, _: Packet) -> BoxFuture<'a, Result<Packet, ErrorValue>> {
        Box::pin(async {
            Err(ErrorValue::new(
                "a listener takes no packets: it starts them",
            ))
        })
    }

    /// The last activation holding the server stops it (under the lock a
    /// new activation takes to reuse it, so none reuses a stopping one).
    fn unload(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let task = {
                let mut shared = lock(&self.shared);
                match Arc::strong_count(&self.server) {
                    1 => {
                        *shared = Weak::new();
                        self.server.stop.cancel();
                        lock(&self.server.task).take()
                    }
                    _ => None,
                }
            };
            if let Some(task) = task {
                let _ = task.await;
                tracing::info!(node = %self.name, address = %self.address, "stopped listening");
            }
        })
    }
}

/// Locks a mutex whose content is only ever replaced or taken whole, so it
/// is consistent after a panic.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Accepts connections until `stop`, then drains them.
async fn serve(
    socket: Arc<TcpListener>,
    outputs: Arc<ArcSwap<Outputs>>,
    settings: Settings,
    tls: Option<Acceptor>,
    stop: CancellationToken,
) {
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_timeout)
        .max_buf_size(head_errors::HEAD_LIMIT)
        .max_headers(head_errors::MAX_HEADERS)
        .keep_alive(true);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    loop {
        let accepted = tokio::select! {
            accepted = socket.accept() => accepted,
            () = stop.cancelled() => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Out of file descriptors, say: back off instead of spinning.
                tracing::warn!(%error, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (outputs, stop) = (outputs.clone(), stop.clone());
        let requests = Requests::default();
        let counted = requests.clone();
        let service = service_fn(move |request| {
            counted.started();
            respond(request, outputs.clone(), settings, stop.clone())
        });
        let (builder, watcher, tls) = (builder.clone(), graceful.watcher(), tls.clone());
        tokio::spawn(async move {
            let Some(stream) = tls::accept(tls.as_ref(), stream, settings.header_timeout).await
            else {
                return;
            };
            let stream = HeadErrors::new(stream, requests);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            if let Err(error) = watcher.watch(connection.into_owned()).await {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN) => tracing::warn!("in-flight requests still running after the drain timeout"),
    }
}

/// A response body: whole, or streamed by a node.
type ResponseBody = Either<Full<Bytes>, Streamed>;

/// Ends a request's process when dropped: cancelled if hyper drops the
/// request's future (client gone), exited with its outcome when a streamed
/// body ends or its client goes.
struct ProcessGuard {
    process: Arc<Process>,
    /// The outcome to exit with if the process has not exited yet.
    outcome: Option<Outcome>,
}

impl ProcessGuard {
    /// Ends the process; a failed exit hook (a commit refused) is the
    /// error to answer instead.
    async fn exit(mut self, outcome: Outcome) -> Result<(), ErrorValue> {
        self.outcome = None;
        self.process.exit(outcome).await
    }
}

impl Drop for ProcessGuard {
    fn drop(&mut self) {
        self.process.cancel();
        if let Some(outcome) = self.outcome.take() {
            let process = self.process.clone();
            // Too late to answer otherwise: the hooks log their failures.
            tokio::spawn(async move {
                let _ = process.exit(outcome).await;
            });
        }
    }
}

/// A body a node streams ([`super::stream`]): the answer's own body, then
/// each chunk the node writes, until it stops writing or the listener
/// stops. Dropping it (the client went) ends the request's process, which
/// closes the node's sender.
struct Streamed {
    first: Option<Bytes>,
    chunks: mpsc::Receiver<Bytes>,
    stop: Pin<Box<WaitForCancellationFutureOwned>>,
    _process: ProcessGuard,
}

impl Body for Streamed {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if let Some(first) = self.first.take().filter(|b| !b.is_empty()) {
            return Poll::Ready(Some(Ok(Frame::data(first))));
        }
        if self.stop.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        self.chunks
            .poll_recv(cx)
            .map(|chunk| chunk.map(|data| Ok(Frame::data(data))))
    }
}

async fn respond(
    request: Request<Incoming>,
    outputs: Arc<ArcSwap<Outputs>>,
    settings: Settings,
    stop: CancellationToken,
) -> Result<Response<ResponseBody>, Infallible> {
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > settings.body_limit) {
        return Ok(response(message::error_reply(&too_large(
            settings.body_limit,
        ))));
    }
    let limit = usize::try_from(settings.body_limit).unwrap_or(usize::MAX);
    let collected =
        tokio::time::timeout(settings.body_timeout, Limited::new(body, limit).collect());
    let Ok(collected) = collected.await else {
        let mut reply = message::error_reply(&too_slow(settings.body_timeout));
        reply.headers.insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
        return Ok(response(reply));
    };
    let body = match collected {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            return Ok(response(message::error_reply(&too_large(
                settings.body_limit,
            ))));
        }
        Err(error) => {
            return Ok(response(message::error_reply(&message::bad_request(
                format!("cannot read the body: {error}"),
            ))));
        }
    };
    let payload = match message::request(&parts.method, &parts.uri, &parts.headers, body) {
        Ok(payload) => payload,
        Err(error) => return Ok(response(message::error_reply(&error))),
    };
    let process = Process::with_deadline(tokio::time::Instant::now() + settings.timeout);
    let guard = ProcessGuard {
        process: process.clone(),
        outcome: None,
    };
    let outputs = outputs.load_full();
    let mut answer = outputs
        .write_watched(&process, &Port::output(), Packet::new(payload))
        .await;
    let error_port = Port::error();
    if answer.is_error() && outputs.is_linked(&error_port) {
        answer = outputs.write_watched(&process, &error_port, answer).await;
    }
    let outcome = match answer.as_error() {
        Some(error) => Outcome::Failed(error.clone()),
        None if is_failure_status(answer.payload()) => {
            Outcome::Failed(ErrorValue::new("answered an error status"))
        }
        None => Outcome::Ok,
    };
    let streamed = stream::take(&process);
    let reply = message::reply(answer.payload());
    match streamed {
        Some(chunks) if outcome == Outcome::Ok => {
            let mut guard = guard;
            guard.outcome = Some(outcome);
            let mut response = Response::new(Either::Right(Streamed {
                first: Some(reply.body),
                chunks,
                stop: Box::pin(stop.cancelled_owned()),
                _process: guard,
            }));
            *response.status_mut() = reply.status;
            *response.headers_mut() = reply.headers;
            Ok(response)
        }
        // A failed answer's stream is dropped: its writer stops. A success
        // whose exit failed (its transaction did not commit) answers that
        // failure instead.
        _ => match guard.exit(outcome).await {
            Ok(()) => Ok(response(reply)),
            Err(error) => Ok(response(message::error_reply(&error))),
        },
    }
}

/// A response-shaped answer with status 400 or more counts as a failure for
/// the process's exit hooks (a transaction rolls back).
fn is_failure_status(answer: &weir_codecs::Value) -> bool {
    answer
        .get("status")
        .and_then(weir_codecs::Value::as_i64)
        .is_some_and(|s| s >= 400)
}

fn too_slow(limit: Duration) -> ErrorValue {
    ErrorValue::new(format!(
        "the request body did not arrive within {} ms",
        limit.as_millis()
    ))
    .with_code("body_timeout")
    .with_status(StatusCode::REQUEST_TIMEOUT.as_u16())
}

fn too_large(limit: u64) -> ErrorValue {
    ErrorValue::new(format!("request body is larger than {limit} bytes"))
        .with_code("too_large")
        .with_status(StatusCode::PAYLOAD_TOO_LARGE.as_u16())
}

fn response(reply: Reply) -> Response<ResponseBody> {
    let mut response = Response::new(Either::Left(Full::new(reply.body)));
    *response.status_mut() = reply.status;
    *response.headers_mut() = reply.headers;
    response
}
