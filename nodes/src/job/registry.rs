//! The enqueueing `job` nodes this engine runs, by namespace and node: how
//! a claimed job finds its branch again, on any engine and after restarts
//! (the jobs row names only the namespace and the node's name, or its id
//! when unnamed).
//!
//! Each activation of an enqueueing node registers itself when it starts
//! and removes itself when it unloads, unless a newer activation replaced
//! it meanwhile (a hot swap starts the new one before the old one goes),
//! so the registry always holds what the symbol tables run now. It owns
//! only this map; it starts no process.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use weir_engine::runtime::Outputs;

/// What runs a job of one node: the activation's out-links and settings.
pub(super) struct Target {
    /// The node's name (or id), for messages.
    pub name: String,
    /// The activation's out-links: `out` is the job's branch.
    pub outputs: Arc<Outputs>,
    /// How long one run may take.
    pub timeout: Duration,
}

/// One registered activation.
struct Entry {
    activation: u64,
    target: Arc<Target>,
}

/// The running enqueueing nodes of this engine.
#[derive(Default)]
pub(super) struct Registry {
    entries: Mutex<HashMap<(String, String), Entry>>,
    next: AtomicU64,
}

impl Registry {
    /// A fresh activation number.
    pub fn activation(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    /// Makes `target` what runs jobs of `keys` (the node's name and id) in
    /// `namespace`.
    pub fn register(&self, namespace: &str, keys: &[String], activation: u64, target: Arc<Target>) {
        let mut entries = self.lock();
        for key in keys {
            entries.insert(
                (namespace.to_string(), key.clone()),
                Entry {
                    activation,
                    target: target.clone(),
                },
            );
        }
    }

    /// Removes what `activation` registered, if nothing newer replaced it.
    pub fn unregister(&self, namespace: &str, keys: &[String], activation: u64) {
        let mut entries = self.lock();
        for key in keys {
            let entry = (namespace.to_string(), key.clone());
            if entries
                .get(&entry)
                .is_some_and(|e| e.activation == activation)
            {
                entries.remove(&entry);
            }
        }
    }

    /// What runs jobs of `node` in `namespace` now, if this engine runs it.
    pub fn find(&self, namespace: &str, node: &str) -> Option<Arc<Target>> {
        self.lock()
            .get(&(namespace.to_string(), node.to_string()))
            .map(|e| e.target.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Entry>> {
        // Entries are inserted and removed whole: consistent after a panic.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(name: &str) -> Arc<Target> {
        Arc::new(Target {
            name: name.into(),
            outputs: Arc::new(Outputs::new(Vec::new())),
            timeout: Duration::from_secs(1),
        })
    }

    #[test]
    fn a_retiring_activation_leaves_its_successor_registered() {
        let registry = Registry::default();
        let keys = vec!["compile".to_string(), "0190-id".to_string()];
        let (old, new) = (registry.activation(), registry.activation());
        registry.register("app", &keys, old, target("old"));
        registry.register("app", &keys, new, target("new"));
        registry.unregister("app", &keys, old);
        assert_eq!(registry.find("app", "compile").unwrap().name, "new");
        assert_eq!(registry.find("app", "0190-id").unwrap().name, "new");
        assert!(registry.find("other", "compile").is_none());
        registry.unregister("app", &keys, new);
        assert!(registry.find("app", "compile").is_none());
    }
}
