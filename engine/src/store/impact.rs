//! What a write would take down: the stored specs that can run before a
//! change and could not after it, because a link target they need (directly
//! or through other specs) would be gone.
//!
//! [`super::Store::commit`] and [`super::Store::remove`] compute this inside
//! their transaction and refuse the write ([`super::StoreError::WouldDeactivate`])
//! unless the caller asked for the cascade; a dry run reports it in the
//! [`super::Plan`]. Only links are looked at (names and ids within a
//! namespace), not whether a spec compiles: that is admission's job; so a
//! stored spec is read as its identity and its `ports` only ([`Linking`]),
//! never decoded whole. Nothing here reads or writes the database.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use uuid::Uuid;

use super::Row;
use crate::spec::{Target, local_targets};

/// A stored spec as links see it: who it is and what its `ports` name.
#[derive(Clone, Debug)]
pub struct Linking {
    pub id: Uuid,
    pub namespace: String,
    pub name: String,
    /// `None` when the document's `ports` do not read as ports: such a
    /// spec cannot run, so it links to nothing.
    pub ports: Option<BTreeMap<String, Vec<Target>>>,
}

impl Linking {
    /// `ports` is the document's `ports` as JSON text (`None`: absent).
    pub fn new(id: Uuid, namespace: String, name: String, ports: Option<&str>) -> Linking {
        let ports = match ports {
            Some(text) => serde_json::from_str(text).ok(),
            None => Some(BTreeMap::new()),
        };
        Linking {
            id,
            namespace,
            name,
            ports,
        }
    }

    /// A whole stored row, read the same way.
    pub fn of_row(row: &Row) -> Linking {
        let ports = match row.document.get("ports") {
            Some(ports) => serde_json::from_value(ports.clone()).ok(),
            None => Some(BTreeMap::new()),
        };
        Linking {
            id: row.id,
            namespace: row.namespace.clone(),
            name: row.name.clone(),
            ports,
        }
    }
}

/// The specs of `after`, other than those `written`, that link up in
/// `before` but not in `after`, as `namespace/name`, sorted. A listener
/// counts: it would keep running, but answer 503. Rows that do not decode
/// link to nothing.
pub fn deactivated(before: &[Linking], after: &[Linking], written: &HashSet<Uuid>) -> Vec<String> {
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
fn linked_up(rows: &[Linking]) -> HashSet<Uuid> {
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
    ids: HashMap<Uuid, &'a Linking>,
    names: HashMap<(&'a str, &'a str), Uuid>,
}

impl<'a> Index<'a> {
    fn new(rows: &'a [Linking]) -> Index<'a> {
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
    fn targets(&self, row: &Linking) -> Option<Vec<Uuid>> {
        local_targets(&row.namespace, row.ports.as_ref()?)
            .map(|t| self.find(&row.namespace, t.name.as_deref(), t.id))
            .collect()
    }
}
