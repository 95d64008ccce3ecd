//! Listening sockets shared between versions of a listener.
//!
//! When a listener's spec changes but not its address, the new version
//! loads while the old one still holds the socket; binding again would fail.
//! So sockets are kept here by address: a version takes the socket that is
//! already open, and it closes when the last version holding it unloads.
//! A new address binds a new socket. Nothing else lives here.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, Weak};

use tokio::net::TcpListener;

static OPEN: LazyLock<Mutex<HashMap<String, Weak<TcpListener>>>> = LazyLock::new(Mutex::default);

/// The socket listening on `address` (`host:port`), opening it if needed.
pub async fn acquire(address: &str) -> std::io::Result<Arc<TcpListener>> {
    if let Some(open) = lock().get(address).and_then(Weak::upgrade) {
        return Ok(open);
    }
    let bound = Arc::new(TcpListener::bind(address).await?);
    let mut open = lock();
    // Another version may have bound it meanwhile: keep the first.
    if let Some(existing) = open.get(address).and_then(Weak::upgrade) {
        return Ok(existing);
    }
    open.retain(|_, socket| socket.strong_count() > 0);
    open.insert(address.to_string(), Arc::downgrade(&bound));
    Ok(bound)
}

fn lock() -> std::sync::MutexGuard<'static, HashMap<String, Weak<TcpListener>>> {
    // The map stays consistent after any single insert or retain.
    OPEN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
