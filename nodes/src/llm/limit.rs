//! The concurrency limit per server: every client of one `base_url` shares
//! one semaphore, so nodes calling the same model together never have more
//! requests in flight than it was given.
//!
//! This module owns the registry of semaphores (held weakly: a server no
//! client uses any more is forgotten). It must not know about requests.
//! When a client asks for another size than the one registered (a spec was
//! edited), the newest size wins: later clients share a new semaphore,
//! while clients made before keep theirs until they are dropped.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, Weak};

use tokio::sync::Semaphore;

/// The ceiling on one server's limit.
pub const MAX_CONCURRENCY: usize = 1024;

/// Each server's base URL → the size and (weakly) the semaphore in use.
type Registry = HashMap<String, (usize, Weak<Semaphore>)>;

static SERVERS: LazyLock<Mutex<Registry>> = LazyLock::new(Default::default);

/// The semaphore of `base_url` with `permits` (at least 1).
pub fn semaphore(base_url: &str, permits: usize) -> Arc<Semaphore> {
    let permits = permits.clamp(1, MAX_CONCURRENCY);
    // Only whole entries are inserted or replaced: consistent after a panic.
    let mut servers = SERVERS.lock().unwrap_or_else(|p| p.into_inner());
    servers.retain(|_, (_, weak)| weak.strong_count() > 0);
    if let Some((size, weak)) = servers.get(base_url)
        && *size == permits
        && let Some(shared) = weak.upgrade()
    {
        return shared;
    }
    let shared = Arc::new(Semaphore::new(permits));
    servers.insert(base_url.to_string(), (permits, Arc::downgrade(&shared)));
    shared
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_server_one_semaphore_until_its_size_changes() {
        let a = semaphore("http://127.0.0.1:1/v1", 2);
        let b = semaphore("http://127.0.0.1:1/v1", 2);
        assert!(Arc::ptr_eq(&a, &b));
        let other = semaphore("http://127.0.0.1:2/v1", 2);
        assert!(!Arc::ptr_eq(&a, &other));
        let resized = semaphore("http://127.0.0.1:1/v1", 3);
        assert!(!Arc::ptr_eq(&a, &resized));
        assert_eq!(resized.available_permits(), 3);
        assert_eq!(semaphore("http://127.0.0.1:3/v1", 0).available_permits(), 1);
    }
}
