//! [`Resources`]: what the host hands to kinds that need more than their
//! spec, such as the store (the `system` family) or a pool of database
//! connections shared by every node that names it (`sql`).
//!
//! A resource is looked up by its type. The engine puts nothing here and
//! reads nothing from here: the binary provides, kinds take. A kind whose
//! resource is missing (say, `weir validate`, which has no database) still
//! compiles, so specs can be checked anywhere; it fails when it loads.

use std::any::{Any, TypeId};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A map from a type to the one shared instance of it.
#[derive(Clone, Default)]
pub struct Resources {
    by_type: BTreeMap<TypeId, Arc<dyn Any + Send + Sync>>,
}

impl Resources {
    /// Provides `value`; a later value of the same type replaces it.
    pub fn provide<T: Any + Send + Sync>(&mut self, value: Arc<T>) {
        self.by_type.insert(TypeId::of::<T>(), value);
    }

    /// The instance of `T`, if one was provided.
    pub fn get<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        let value = self.by_type.get(&TypeId::of::<T>())?.clone();
        value.downcast::<T>().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resource_is_found_by_its_type() {
        let mut resources = Resources::default();
        assert!(resources.get::<String>().is_none());
        resources.provide(Arc::new(String::from("store")));
        resources.provide(Arc::new(7_u32));
        assert_eq!(
            resources.get::<String>().as_deref().map(String::as_str),
            Some("store")
        );
        assert_eq!(resources.get::<u32>().as_deref(), Some(&7));
        assert!(resources.get::<u64>().is_none());
    }
}
