//! [`TypeMap`]: one shared instance per type, looked up by its type.
//!
//! Two things use it: the scheme's resources, what the host hands to kinds
//! that need more than their spec (the store for the `system` family, a
//! pool of connections for `sql`: see [`crate::Scheme::provide`]), and a
//! process's typed state, what nodes keep for one execution (an open
//! transaction, a response stream: see [`crate::Process::state`]). The map
//! knows neither use.

use std::any::{Any, TypeId};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A map from a type to the one shared instance of it.
#[derive(Clone, Default)]
pub struct TypeMap {
    by_type: BTreeMap<TypeId, Arc<dyn Any + Send + Sync>>,
}

impl TypeMap {
    /// Provides `value`; a later value of the same type replaces it.
    pub fn provide<T: Any + Send + Sync>(&mut self, value: Arc<T>) {
        self.by_type.insert(TypeId::of::<T>(), value);
    }

    /// The instance of `T`, if one was provided.
    pub fn get<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        let value = self.by_type.get(&TypeId::of::<T>())?.clone();
        value.downcast::<T>().ok()
    }

    /// The instance of `T`, made with `make` when there is none yet.
    pub fn get_or_insert_with<T: Any + Send + Sync>(&mut self, make: impl FnOnce() -> T) -> Arc<T> {
        let value = self
            .by_type
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Arc::new(make()))
            .clone();
        // Inserted under T's own TypeId just above or earlier: always a T.
        value
            .downcast::<T>()
            .unwrap_or_else(|_| unreachable!("keyed by TypeId"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resource_is_found_by_its_type() {
        let mut resources = TypeMap::default();
        assert!(resources.get::<String>().is_none());
        resources.provide(Arc::new(String::from("store")));
        resources.provide(Arc::new(7_u32));
        assert_eq!(
            resources.get::<String>().as_deref().map(String::as_str),
            Some("store")
        );
        assert_eq!(resources.get::<u32>().as_deref(), Some(&7));
        assert!(resources.get::<u64>().is_none());
        let made = resources.get_or_insert_with(|| 9_u64);
        assert_eq!(*made, 9);
        assert_eq!(*resources.get_or_insert_with(|| 10_u64), 9, "made once");
    }
}
