//! TLS for the `listener`: its `tls: {cert, key}` field, checked when the
//! spec compiles, turned into a rustls acceptor when the listener loads, and
//! the handshake of each accepted connection.
//!
//! `cert` and `key` each hold either a PEM file's path or the PEM text
//! itself: text starting with `-----BEGIN` is PEM, anything else a path.
//! Text is what a value binds (`key: "{{ TLS_KEY }}"` with `TLS_KEY` from a
//! secret value), and is parsed when the spec compiles, so `weir validate`
//! catches a bad one; files are read when the listener loads, on the host
//! that serves. Every error names the field (`tls.cert`, `tls.key`) and
//! never quotes the PEM. ALPN offers `h2` then `http/1.1`. This module does
//! not serve HTTP: the listener does, over the streams it hands back.

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use schemars::JsonSchema;
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use weir_codecs::ErrorValue;
use weir_engine::FieldError;

/// A listener's certificate and key.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsSpec {
    /// The certificate chain, leaf first: a PEM file's path, or the PEM text
    /// itself.
    #[schemars(regex(pattern = r"\S"))]
    pub cert: String,
    /// The private key (PKCS#8, PKCS#1 or SEC1): a PEM file's path, or the
    /// PEM text itself, bound from a secret value (`"{{ TLS_KEY }}"`).
    #[schemars(regex(pattern = r"\S"))]
    pub key: String,
}

/// Where one PEM comes from.
enum Source {
    Text(String),
    File(PathBuf),
}

impl Source {
    fn of(field: &str) -> Source {
        match field.trim_start().starts_with("-----BEGIN") {
            true => Source::Text(field.to_string()),
            false => Source::File(PathBuf::from(field)),
        }
    }

    /// The PEM's bytes; a file is read now.
    fn read(&self) -> Result<Vec<u8>, String> {
        match self {
            Source::Text(text) => Ok(text.as_bytes().to_vec()),
            Source::File(path) => {
                std::fs::read(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))
            }
        }
    }
}

/// A checked `tls` field: the server config when both parts were PEM text,
/// else what to read when the listener loads.
pub struct Tls {
    config: Option<Arc<ServerConfig>>,
    cert: Source,
    key: Source,
}

impl Tls {
    /// Checks `spec` (the field at `tls`); PEM text is parsed now and a
    /// cert and key given as text must match.
    pub fn compile(spec: TlsSpec) -> Result<Tls, Vec<FieldError>> {
        let (cert, key) = (Source::of(&spec.cert), Source::of(&spec.key));
        let mut errors = Vec::new();
        if spec.cert.trim().is_empty() {
            errors.push(FieldError::new("tls.cert", "a path or PEM text is needed"));
        }
        if spec.key.trim().is_empty() {
            errors.push(FieldError::new("tls.key", "a path or PEM text is needed"));
        }
        let certs = match &cert {
            Source::Text(text) => Some(certificates(text.as_bytes())),
            Source::File(_) => None,
        };
        let private = match &key {
            Source::Text(text) => Some(private_key(text.as_bytes())),
            Source::File(_) => None,
        };
        if let Some(Err(e)) = &certs {
            errors.push(FieldError::new("tls.cert", e.clone()));
        }
        if let Some(Err(e)) = &private {
            errors.push(FieldError::new("tls.key", e.clone()));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let config = match (certs, private) {
            (Some(Ok(certs)), Some(Ok(private))) => Some(
                server_config(certs, private).map_err(|e| vec![FieldError::new("tls.key", e)])?,
            ),
            _ => None,
        };
        Ok(Tls { config, cert, key })
    }

    /// The acceptor for a loading listener, reading whichever part is a
    /// file. The error names the field.
    pub fn acceptor(&self) -> Result<Acceptor, ErrorValue> {
        let config = match &self.config {
            Some(config) => config.clone(),
            None => {
                let failed = |field: &str, e: String| {
                    ErrorValue::new(format!("{field}: {e}")).with_code("tls")
                };
                let cert = self.cert.read().map_err(|e| failed("tls.cert", e))?;
                let key = self.key.read().map_err(|e| failed("tls.key", e))?;
                let certs = certificates(&cert).map_err(|e| failed("tls.cert", e))?;
                let private = private_key(&key).map_err(|e| failed("tls.key", e))?;
                server_config(certs, private).map_err(|e| failed("tls.key", e))?
            }
        };
        Ok(Acceptor(TlsAcceptor::from(config)))
    }
}

/// Performs the TLS handshake of accepted connections.
#[derive(Clone)]
pub struct Acceptor(TlsAcceptor);

/// An accepted connection: plain TCP, or TLS over it.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// Turns an accepted TCP connection into the stream to serve: the TLS
/// handshake when `acceptor` is set, bounded by `timeout` so a client that
/// stalls it holds nothing for long. `None` when the handshake failed
/// (logged at debug: clients failing it are routine on the internet).
pub async fn accept(
    acceptor: Option<&Acceptor>,
    stream: TcpStream,
    timeout: Duration,
) -> Option<Stream> {
    let Some(Acceptor(acceptor)) = acceptor else {
        return Some(Stream::Plain(stream));
    };
    match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => Some(Stream::Tls(Box::new(stream))),
        Ok(Err(error)) => {
            tracing::debug!(%error, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!("TLS handshake timed out");
            None
        }
    }
}

fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not a valid PEM certificate chain: {e}"))?;
    match certs.is_empty() {
        true => Err("no `CERTIFICATE` found in the PEM".to_string()),
        false => Ok(certs),
    }
}

fn private_key(pem: &[u8]) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| match e {
        rustls_pki_types::pem::Error::NoItemsFound => {
            "no private key (PKCS#8, PKCS#1 or SEC1) found in the PEM".to_string()
        }
        other => format!("not a valid PEM private key: {other}"),
    })
}

/// The rustls config: ring, safe protocol versions, no client
/// certificates, ALPN `h2` then `http/1.1`. Fails when the key cannot sign
/// or does not belong to the certificate.
fn server_config(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("the key does not fit the certificate: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(stream) => stream.is_write_vectored(),
            Stream::Tls(stream) => stream.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(stream) => Pin::new(stream).poll_flush(cx),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(stream) => Pin::new(stream).poll_shutdown(cx),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::tests::self_signed;

    fn spec(cert: &str, key: &str) -> TlsSpec {
        TlsSpec {
            cert: cert.into(),
            key: key.into(),
        }
    }

    fn compile_errors(cert: &str, key: &str) -> Vec<String> {
        match Tls::compile(spec(cert, key)) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn pem_text_is_checked_when_compiled() {
        let (cert, key) = self_signed();
        assert!(compile_errors(&cert, &key).is_empty());
        let garbage = "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n";
        let errors = compile_errors(garbage, "-----BEGIN NOTHING-----\n-----END NOTHING-----\n");
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            errors[0].starts_with("tls.cert: not a valid PEM"),
            "{errors:?}"
        );
        assert!(
            errors[1].starts_with("tls.key: no private key"),
            "{errors:?}"
        );
        // A certificate where the key should be, and a key that belongs to
        // another certificate.
        assert!(compile_errors(&cert, &cert)[0].starts_with("tls.key: no private key"));
        let (_, other_key) = self_signed();
        let mismatch = compile_errors(&cert, &other_key);
        assert!(
            mismatch[0].starts_with("tls.key: the key does not fit"),
            "{mismatch:?}"
        );
        assert_eq!(
            compile_errors(" ", &key),
            ["tls.cert: a path or PEM text is needed"]
        );
        // No error quotes the PEM.
        assert!(
            mismatch.iter().all(|e| !e.contains("BEGIN")),
            "{mismatch:?}"
        );
    }

    #[test]
    fn files_are_read_when_loaded_and_errors_name_the_field() {
        let dir = std::env::temp_dir().join(format!("weir-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (cert, key) = self_signed();
        let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert_path, &cert).unwrap();
        std::fs::write(&key_path, &key).unwrap();
        let path = |p: &std::path::Path| p.display().to_string();

        // Files compile without being read (`weir validate` runs anywhere).
        let missing = Tls::compile(spec(&path(&dir.join("none.pem")), &path(&key_path))).unwrap();
        let error = missing.acceptor().err().unwrap();
        assert!(
            error.message.starts_with("tls.cert: cannot read `"),
            "{error}"
        );
        assert_eq!(error.code.as_deref(), Some("tls"));
        let swapped = Tls::compile(spec(&path(&key_path), &path(&cert_path))).unwrap();
        let error = swapped.acceptor().err().unwrap();
        assert!(
            error.message.starts_with("tls.cert: no `CERTIFICATE`"),
            "{error}"
        );
        // A file for one part and PEM text for the other.
        let mixed = Tls::compile(spec(&path(&cert_path), &key)).unwrap();
        assert!(mixed.acceptor().is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
