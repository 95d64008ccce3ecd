//! Admission: whether specs and values may be stored.
//!
//! A spec is admitted when it compiles and links up together with what its
//! namespace already holds, with the stored values bound (but no `os`
//! variable: those are each engine's own, bound when it loads, so a spec
//! needing one without a default is checked only for its shape): what
//! `weir validate` checks of files ([`Bundle`]), plus the database. Both
//! `weir apply` and the system API call [`check_specs`], so what one refuses
//! the other refuses too, with the same messages. Only the new specs'
//! problems are reported: a stored spec that is already broken is the
//! loader's to report, not a reason to refuse an unrelated change. This
//! module writes nothing.

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use crate::diagnostic::{Diagnostics, Origin};
use crate::env::{Admitting, ValueMap};
use crate::scheme::Scheme;
use crate::spec::source::Sourced;
use crate::spec::{NamedValue, Spec};
use crate::store::{Entity, Filter, Row, Store, StoreError};
use crate::{Bundle, Diagnostic};

/// Where specs already in the database come from, in messages.
pub const STORED: &str = "(database)";

/// Why documents were not admitted.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// The documents have problems, each with its spec and field.
    #[error("{0}")]
    Invalid(Diagnostics),
    /// The store could not be read to check them.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks `specs` against the store: compiled with the stored values
/// bound, and linked among the stored specs of their namespaces that they
/// do not replace (same id, or same name in the namespace), which are only
/// decoded for their ports and links ([`Bundle::check_among`]): a stored
/// spec's own problems are the loader's to report. `progress(done,
/// total)` is called while compiling. Admitted, the answer is the new
/// specs' warnings.
pub async fn check_specs(
    store: &Store,
    scheme: &Scheme,
    specs: &[Sourced],
    progress: &mut (dyn FnMut(usize, usize) + Send),
) -> Result<Diagnostics, Refused> {
    let mut values = ValueMap::default();
    for row in store.list(Entity::Value, &Filter::default()).await? {
        if let Ok(value) = row.decode::<NamedValue>() {
            values.insert(value);
        }
    }
    let mut namespaces: Vec<&str> = specs.iter().map(|s| s.spec.namespace.as_str()).collect();
    namespaces.sort();
    namespaces.dedup();
    let mut stored = Vec::new();
    for namespace in namespaces {
        let rows = store
            .list(Entity::Spec, &Filter::namespace(namespace))
            .await?;
        for (index, row) in rows.into_iter().enumerate() {
            let replaced = specs.iter().any(|s| {
                s.spec.id == row.id
                    || (s.spec.namespace == row.namespace && s.spec.key() == row.name)
            });
            if !replaced {
                stored.push((index, row));
            }
        }
    }
    // Only the stored specs the new ones reach by links are decoded; the
    // rest are names a link may use.
    let reached = reached(specs, &stored);
    let (mut linked, mut named) = (Vec::new(), Vec::new());
    for (i, (index, row)) in stored.into_iter().enumerate() {
        match (reached.contains(&i), row.decode::<Spec>()) {
            (true, Ok(spec)) => {
                let origin = Origin {
                    file: Some(STORED.into()),
                    index,
                    ..Origin::default()
                };
                linked.push(Sourced { origin, spec });
            }
            _ => named.push((row.namespace, row.name, row.id)),
        }
    }
    // No environment: the shell (or API) admitting is not the engine that
    // runs, so `os` variables are each engine's to bind when it loads.
    let admitting = Admitting(&values);
    let stored = crate::bundle::Stored { linked, named };
    match Bundle::check_among(scheme, specs.to_vec(), stored, &admitting, progress) {
        Ok(warnings) => Ok(own(warnings)),
        Err(diagnostics) => {
            // A refusal lists what refuses it.
            let (errors, _) = own(diagnostics).split();
            errors
                .into_result(Diagnostics::default())
                .map_err(Refused::Invalid)
        }
    }
}

/// The positions in `stored` of the rows `specs` reach by links, directly
/// or through other stored rows (read from their documents' `ports`, not
/// decoded).
fn reached(specs: &[Sourced], stored: &[(usize, Row)]) -> HashSet<usize> {
    let by_name: HashMap<(&str, &str), usize> = stored
        .iter()
        .enumerate()
        .map(|(i, (_, row))| ((row.namespace.as_str(), row.name.as_str()), i))
        .collect();
    let by_id: HashMap<Uuid, usize> = stored
        .iter()
        .enumerate()
        .map(|(i, (_, r))| (r.id, i))
        .collect();
    let find = |namespace: &str, target: &serde_json::Value| -> Option<usize> {
        match (target["name"].as_str(), target["id"].as_str()) {
            (Some(name), _) => by_name.get(&(namespace, name)).copied(),
            (None, Some(id)) => by_id.get(&id.parse().ok()?).copied(),
            (None, None) => None,
        }
    };
    let targets = |namespace: &str, ports: &serde_json::Value| -> Vec<usize> {
        let Some(ports) = ports.as_object() else {
            return Vec::new();
        };
        ports
            .values()
            .filter_map(serde_json::Value::as_array)
            .flatten()
            .filter_map(|target| find(namespace, target))
            .collect()
    };
    let mut queue: Vec<usize> = specs
        .iter()
        .flat_map(|s| {
            let ports = serde_json::to_value(&s.spec.ports).unwrap_or_default();
            targets(&s.spec.namespace, &ports)
        })
        .collect();
    let mut reached = HashSet::new();
    while let Some(i) = queue.pop() {
        if reached.insert(i) {
            let (_, row) = &stored[i];
            queue.extend(targets(&row.namespace, &row.document["ports"]));
        }
    }
    reached
}

/// The problems of the specs being admitted, not of those stored.
fn own(diagnostics: Diagnostics) -> Diagnostics {
    let own: Vec<Diagnostic> = diagnostics
        .0
        .into_iter()
        .filter(|d| d.origin.file.as_deref() != Some(STORED))
        .collect();
    Diagnostics(own)
}

/// Checks values before they are stored: names and namespaces usable as
/// names. (Their data may be anything.)
pub fn check_values(values: &[(Origin, NamedValue)]) -> Result<(), Diagnostics> {
    let mut problems = Diagnostics::default();
    for (origin, value) in values {
        problems.extend(origin, value.check());
    }
    problems.into_result(())
}
