//! [`HeadErrors`]: the connection wrapper that gives hyper's own error
//! answers the JSON error body every other error answer has.
//!
//! hyper answers a request it cannot read as a request, before any service
//! runs: 400 (a malformed request line or header), 414 (a URI over
//! [`URI_LIMIT`]) and 431 (over [`MAX_HEADERS`] headers, or a head over
//! [`HEAD_LIMIT`] bytes), each with an empty body, and then closes the
//! connection. This wrapper sits between hyper and the (plaintext side of
//! the) connection. It counts the requests hyper handed to the listener's
//! service ([`Requests`]) and the response heads written for them; a write
//! while no response is owed that is exactly such an answer (its status,
//! `content-length: 0`, `date`, `connection` and nothing else) is written
//! as the same status with `{"error": {"message", "code"}}` instead, and
//! the connection then closes lingering ([`Linger`]), so the client gets
//! the answer even while it is still sending. Reads and every other write
//! pass through untouched. It parses no request and answers nothing else.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use weir_codecs::ErrorValue;

use super::message;

/// The longest request URI (hyper's fixed limit).
pub const URI_LIMIT: usize = 65_534;
/// The most request headers.
pub const MAX_HEADERS: usize = 100;
/// The largest request line and headers together, in bytes (hyper's
/// default read buffer: 8 KiB + 400 KiB).
pub const HEAD_LIMIT: usize = 8192 + 4096 * 100;

/// The requests hyper handed to the service on one connection; the service
/// counts each one as it starts.
#[derive(Clone, Default)]
pub struct Requests(Arc<AtomicU64>);

impl Requests {
    /// One more request reached the service.
    pub fn started(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    fn count(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A connection whose parse-error answers carry a JSON body.
pub struct HeadErrors<S> {
    inner: S,
    requests: Requests,
    /// Response heads written so far (informational 1xx ones not counted).
    heads: u64,
    /// A replacement answer being written, and how much of it went.
    replacing: Option<(Vec<u8>, usize)>,
    /// Set once a replacement went: closing then lingers ([`Linger`]).
    linger: Option<Linger>,
}

/// A lingering close after a refusal: the client may still be sending what
/// was refused (a 500 KB header, say), and closing a socket with unread
/// data makes the kernel reset it, which can destroy the answer before the
/// client reads it. So the write side is shut first, and what still comes
/// is read and dropped until the client closes, [`LINGER`] passes or
/// [`LINGER_BYTES`] were read.
struct Linger {
    deadline: Pin<Box<tokio::time::Sleep>>,
    read: usize,
    shut: bool,
}

/// How long a refused connection is drained before it closes.
const LINGER: std::time::Duration = std::time::Duration::from_secs(2);
/// How much a refused connection may still send before it closes.
const LINGER_BYTES: usize = 4 << 20;

impl<S> HeadErrors<S> {
    pub fn new(inner: S, requests: Requests) -> HeadErrors<S> {
        HeadErrors {
            inner,
            requests,
            heads: 0,
            replacing: None,
            linger: None,
        }
    }

    /// What to write instead of `buf`, if it is hyper's own error answer.
    fn classify(&mut self, buf: &[u8]) -> Option<Vec<u8>> {
        if self.requests.count() > self.heads {
            // The head (or the start of it) of a response the service owes.
            if !is_informational(buf) {
                self.heads += 1;
            }
            return None;
        }
        automatic(buf)
    }
}

fn is_informational(buf: &[u8]) -> bool {
    buf.starts_with(b"HTTP/1.1 1") || buf.starts_with(b"HTTP/1.0 1")
}

/// hyper's answer to a request it could not parse, as JSON: `buf` must be
/// exactly a response head with status 400, 414 or 431 and no header but
/// `content-length: 0`, `date` and `connection`.
fn automatic(buf: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(buf).ok()?;
    let head = text.strip_suffix("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let rest = status_line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| status_line.strip_prefix("HTTP/1.0 "))?;
    let code: u16 = rest.get(..3)?.parse().ok()?;
    let mut date = None;
    for line in lines {
        let (name, value) = line.split_once(": ")?;
        match (name.to_ascii_lowercase().as_str(), value) {
            ("content-length", "0") | ("connection", _) => {}
            ("date", value) => date = Some(value),
            _ => return None,
        }
    }
    let error = match code {
        400 => ErrorValue::new(
            "the request is not valid HTTP: its request line or a header cannot be read",
        )
        .with_code("bad_request"),
        414 => ErrorValue::new(format!(
            "the request's URI is longer than {URI_LIMIT} bytes"
        ))
        .with_code("uri_too_long"),
        431 => ErrorValue::new(format!(
            "the request's headers are too large: at most {MAX_HEADERS} headers and {HEAD_LIMIT} bytes with the request line"
        ))
        .with_code("headers_too_large"),
        _ => return None,
    };
    let reply = message::error_reply(&error.with_status(code));
    let mut out = format!(
        "{status_line}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        reply.body.len()
    );
    if let Some(date) = date {
        out.push_str(&format!("date: {date}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&reply.body);
    Some(bytes)
}

impl<S: AsyncRead + Unpin> AsyncRead for HeadErrors<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for HeadErrors<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.replacing.is_none()
            && let Some(bytes) = this.classify(buf)
        {
            this.replacing = Some((bytes, 0));
        }
        let Some((bytes, written)) = &mut this.replacing else {
            return Pin::new(&mut this.inner).poll_write(cx, buf);
        };
        // hyper retries the same buffer until told it went: write the
        // replacement through, then say the original went whole.
        while *written < bytes.len() {
            let n = ready!(Pin::new(&mut this.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        this.replacing = None;
        this.linger = Some(Linger {
            deadline: Box::pin(tokio::time::sleep(LINGER)),
            read: 0,
            shut: false,
        });
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let Some(linger) = &mut this.linger else {
            return Pin::new(&mut this.inner).poll_shutdown(cx);
        };
        if !linger.shut {
            ready!(Pin::new(&mut this.inner).poll_shutdown(cx))?;
            linger.shut = true;
        }
        let mut scratch = [0u8; 8192];
        while linger.read < LINGER_BYTES {
            if linger.deadline.as_mut().poll(cx).is_ready() {
                break;
            }
            let mut buf = ReadBuf::new(&mut scratch);
            match ready!(Pin::new(&mut this.inner).poll_read(cx, &mut buf)) {
                Ok(()) if !buf.filled().is_empty() => linger.read += buf.filled().len(),
                // The client closed, or the connection failed: done.
                _ => break,
            }
        }
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_bare_error_heads_are_replaced() {
        let date = "date: Thu, 03 Dec 2026 17:00:00 GMT";
        let bare = format!(
            "HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n{date}\r\n\r\n"
        );
        let json = String::from_utf8(automatic(bare.as_bytes()).unwrap()).unwrap();
        assert!(json.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(json.contains("content-type: application/json\r\n"));
        assert!(json.contains(date));
        let body = json.split("\r\n\r\n").nth(1).unwrap();
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["error"]["code"], "headers_too_large");
        let length = format!("content-length: {}\r\n", body.to_string().len());
        assert!(json.contains(&length), "{json}");
        // Anything else passes: another status, another header, a body.
        let other = format!("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n{date}\r\n\r\n");
        assert!(automatic(other.as_bytes()).is_none());
        let typed =
            "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\ncontent-length: 0\r\n\r\n";
        assert!(automatic(typed.as_bytes()).is_none());
        let bodied = "HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\nno";
        assert!(automatic(bodied.as_bytes()).is_none());
    }

    #[test]
    fn a_head_the_service_owes_is_never_replaced() {
        let requests = Requests::default();
        let mut wrapped = HeadErrors::new(tokio::io::sink(), requests.clone());
        let bare = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n";
        requests.started();
        assert!(wrapped.classify(b"HTTP/1.1 100 Continue\r\n\r\n").is_none());
        assert!(wrapped.classify(bare).is_none(), "the service's own answer");
        assert!(wrapped.classify(bare).is_some(), "none owed: hyper's");
    }
}
