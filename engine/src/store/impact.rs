//! What a write would take down: the stored specs that can run before a
//! change and could not after it, because a link target they need (directly
//! or through other specs) would be gone.
//!
//! [`super::Store::commit`] and [`super::Store::remove`] compute this inside
//! their transaction and refuse the write ([`super::StoreError::WouldDeactivate`])
//! unless the caller asked for the cascade; a dry run reports it in the
//! [`super::Plan`]. Only links are looked at (names and ids within a
//! namespace), not whether a spec compiles: that is admission's job.
//! Nothing here reads or writes the database.

use std::collections::{BTreeSet, HashMap, HashSet};

use uuid::Uuid;

use super::Row;
use crate::spec::Spec;

/// The specs of `after`, other than those `written`, that link up in
/// `before` but not in `after`, as `namespace/name`, sorted. A listener
/// counts: it would keep running, but answer 503. Rows that do not decode
/// link to nothing.
pub fn deactivated(before: &[Row], after: &[Row], written: &HashSet<Uuid>) -> Vec<String> {
    let was = linked_up(before);
    let is = linked_up(after);
    let lost: BTreeSet<String> = after
        .iter()
        .filter(|row| !written.contains(&row.id))
        .filter(|row| was.contains(&row.id) && !is.contains(&row.id))
        .map(|row| format!("{}/{}", row.namespace, row.name))
        .collect();
    lost.into_iter().collect()
}

/// The ids of the rows whose link targets all exist and link up in turn
/// (cycles allowed): the largest such set.
fn linked_up(rows: &[Row]) -> HashSet<Uuid> {
    let index = Index::new(rows);
    let targets: HashMap<Uuid, Option<Vec<Uuid>>> = rows
        .iter()
        .map(|row| (row.id, index.targets(row)))
        .collect();
    let mut ok: HashSet<Uuid> = targets
        .iter()
        .filter(|(_, t)| t.is_some())
        .map(|(id, _)| *id)
        .collect();
    loop {
        let broken: Vec<Uuid> = ok
            .iter()
            .filter(|id| {
                targets[id]
                    .as_deref()
                    .is_some_and(|ts| ts.iter().any(|t| !ok.contains(t)))
            })
            .copied()
            .collect();
        if broken.is_empty() {
            return ok;
        }
        for id in broken {
            ok.remove(&id);
        }
    }
}

/// Rows by id and by namespace and name.
struct Index<'a> {
    ids: HashMap<Uuid, &'a Row>,
    names: HashMap<(&'a str, &'a str), Uuid>,
}

impl<'a> Index<'a> {
    fn new(rows: &'a [Row]) -> Index<'a> {
        Index {
            ids: rows.iter().map(|r| (r.id, r)).collect(),
            names: rows
                .iter()
                .map(|r| ((r.namespace.as_str(), r.name.as_str()), r.id))
                .collect(),
        }
    }

    fn find(&self, namespace: &str, name: Option<&str>, id: Option<Uuid>) -> Option<Uuid> {
        match (name, id) {
            (Some(name), _) => self.names.get(&(namespace, name)).copied(),
            (None, Some(id)) => self
                .ids
                .get(&id)
                .filter(|r| r.namespace == namespace)
                .map(|r| r.id),
            (None, None) => None,
        }
    }

    /// The ids `row` links to, or `None` when one does not exist.
    fn targets(&self, row: &Row) -> Option<Vec<Uuid>> {
        let spec = row.decode::<Spec>().ok()?;
        spec.ports
            .values()
            .flatten()
            .filter(|t| t.namespace.as_deref().is_none_or(|ns| ns == row.namespace))
            .map(|t| self.find(&row.namespace, t.name.as_deref(), t.id))
            .collect()
    }
}
