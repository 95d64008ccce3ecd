//! Admission: whether specs and values may be stored.
//!
//! A spec is admitted when it compiles and links up together with what its
//! namespace already holds, with the stored values bound (but no `os`
//! variable: those are each engine's own, bound when it loads, so a spec
//! needing one without a default is checked for what does not depend on
//! it, [`Scheme::check_unbound`]): what
//! `weir validate` checks of files ([`Bundle`]), plus the database. Both
//! `weir apply` and the system API call [`check_specs`], so what one refuses
//! the other refuses too, with the same messages. Only the new specs'
//! problems are reported: a stored spec that is already broken is the
//! loader's to report, not a reason to refuse an unrelated change. This
//! module writes nothing.

use std::collections::HashSet;

use uuid::Uuid;

use crate::bundle::Stored;
use crate::diagnostic::{Diagnostics, Origin};
use crate::env::{Admitting, ValueMap};
use crate::scheme::Scheme;
use crate::spec::source::Sourced;
use crate::spec::{NamedValue, Spec, local_targets};
use crate::store::{Entity, Filter, Store, StoreError};
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
/// bound, and linked among the stored specs their links reach and they do
/// not replace (same id, or same name in the namespace), which are only
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
    let stored = reached(store, specs).await?;
    // No environment: the shell (or API) admitting is not the engine that
    // runs, so `os` variables are each engine's to bind when it loads.
    let admitting = Admitting(&values);
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

/// The stored specs `specs` reach by links, directly or through other
/// stored specs, read one by one (by name or id) from their namespaces:
/// all that checking links and cycles needs, so admitting into a
/// namespace costs what the new specs reach, not what it holds. Stored
/// specs that `specs` replace (same id, or same name in the namespace)
/// are not read; one that no longer decodes is only a name.
async fn reached(store: &Store, specs: &[Sourced]) -> Result<Stored, StoreError> {
    let new_ids: HashSet<Uuid> = specs.iter().map(|s| s.spec.id).collect();
    let new_names: HashSet<(String, String)> = specs
        .iter()
        .map(|s| (s.spec.namespace.clone(), s.spec.key()))
        .collect();
    let mut queue: Vec<(String, Option<String>, Option<Uuid>)> = Vec::new();
    let follow = |queue: &mut Vec<_>, spec: &Spec| {
        let targets = local_targets(&spec.namespace, &spec.ports);
        queue.extend(targets.map(|t| (spec.namespace.clone(), t.name.clone(), t.id)));
    };
    for sourced in specs {
        follow(&mut queue, &sourced.spec);
    }
    let (mut looked_up, mut read) = (HashSet::new(), HashSet::new());
    let mut stored = Stored::default();
    while let Some(target) = queue.pop() {
        if !looked_up.insert(target.clone()) {
            continue;
        }
        let row = match target {
            (namespace, Some(name), _)
                if new_names.contains(&(namespace.clone(), name.clone())) =>
            {
                None
            }
            (namespace, Some(name), _) => store.spec_named(&namespace, &name).await?,
            (_, None, Some(id)) if new_ids.contains(&id) => None,
            (namespace, None, Some(id)) => store
                .get(Entity::Spec, id)
                .await?
                .filter(|row| row.namespace == namespace),
            (_, None, None) => None,
        };
        let Some(row) = row.filter(|row| !new_ids.contains(&row.id)) else {
            continue;
        };
        if !read.insert(row.id) {
            continue;
        }
        match row.decode::<Spec>() {
            Ok(spec) => {
                follow(&mut queue, &spec);
                let origin = Origin {
                    file: Some(STORED.into()),
                    index: stored.linked.len(),
                    ..Origin::default()
                };
                stored.linked.push(Sourced { origin, spec });
            }
            // It cannot run, so it links to nothing; a link to it finds it.
            Err(_) => stored.named.push((row.namespace, row.name, row.id)),
        }
    }
    Ok(stored)
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
