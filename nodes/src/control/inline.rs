//! Inline specs: the small workflow a `step` or `block` carries in one of
//! its fields, compiled with the spec and run in a symbol table of its own.
//!
//! Each inline spec is a whole spec, compiled as if it stood alone in the
//! parent's namespace: its own `env` and `{{ }}` templates (the parent
//! leaves the field untemplated), its own links, which reach only its
//! siblings. An unnamed one is named after its place (`signup.steps[1]`),
//! so messages say where it is. Errors come back under the field, e.g.
//! `steps[1].code`. Every activation of the parent starts a table of its
//! own ([`Inline::start`]) and stops it when it unloads, so no two
//! activations share inline nodes. What the inline nodes mean to their
//! parent is the parent's business.

use std::sync::Arc;

use weir_codecs::ErrorValue;
use weir_engine::diagnostic::Origin;
use weir_engine::runtime::{Limits, Slot};
use weir_engine::spec::DEFAULT_NAMESPACE;
use weir_engine::spec::source::Sourced;
use weir_engine::symbol::Change;
use weir_engine::{Bundle, FieldError, Scheme, Spec, Symbol, SymbolTable, scheme::Context};

/// Compiled inline specs.
pub struct Inline {
    namespace: String,
    /// The specs given, in order.
    symbols: Vec<Symbol>,
}

/// Schema transform: an inline spec lives in its parent's namespace, so
/// its schema leaves `namespace` out (naming the parent's own is allowed,
/// but a schema cannot say which that is), and it takes `os` variables
/// through its parent's `env`, not its own.
pub(crate) fn in_parents_namespace(schema: &mut schemars::Schema) {
    without(schema, &["namespace"]);
}

/// Schema transform for `step`'s steps: in the parent's namespace, and
/// linked in order by the step itself, so without `ports` either.
pub(crate) fn chained(schema: &mut schemars::Schema) {
    without(schema, &["namespace", "ports"]);
}

fn without(schema: &mut schemars::Schema, fields: &[&str]) {
    if let Some(items) = schema.get_mut("items") {
        let mut any: Vec<_> = fields
            .iter()
            .map(|f| serde_json::json!({"required": [f]}))
            .collect();
        // Some variable of its `env` names an `os` source.
        any.push(serde_json::json!({
            "required": ["env"],
            "properties": {"env": {"not": {"additionalProperties": {"not": {
                "required": ["os"], "properties": {"os": {"type": "string"}}
            }}}}}
        }));
        *items = serde_json::json!({"allOf": [items.take(), {"not": {"anyOf": any}}]});
    }
}

/// One activation's running inline specs.
pub struct Running {
    table: SymbolTable,
}

impl Inline {
    /// Compiles `specs` (the field `field`), then `extra` specs the parent
    /// adds itself, with `scheme`. A spec may not name another namespace.
    /// `rename` may move an error to the field the user wrote it in.
    pub fn compile(
        cx: &Context<'_>,
        scheme: &Scheme,
        field: &str,
        specs: Vec<Spec>,
        extra: Vec<Spec>,
        rename: impl Fn(usize, &FieldError) -> Option<FieldError>,
    ) -> Result<Inline, Vec<FieldError>> {
        let namespace = cx.spec().namespace.clone();
        let mut errors = Vec::new();
        let mut sourced = Vec::new();
        let given = specs.len();
        for (index, mut spec) in specs.into_iter().chain(extra).enumerate() {
            if spec.namespace != DEFAULT_NAMESPACE && spec.namespace != namespace {
                errors.push(FieldError::new(
                    format!("{field}[{index}].namespace"),
                    format!(
                        "an inline spec lives in its parent's namespace `{namespace}`, not `{}`",
                        spec.namespace
                    ),
                ));
            }
            spec.namespace = namespace.clone();
            // A spec is left out of a bundle when its `env` names an `os`
            // variable the compiling side cannot bind (admission leaves
            // those to each engine); inline specs compile with their
            // parent, so they must not.
            if !weir_engine::env::engine_bound(&spec, cx.values()).is_empty() {
                errors.push(FieldError::new(
                    format!("{field}[{index}].env"),
                    "names an `os` variable: an inline spec is compiled with its parent, so give the variable to the parent's `env` (its templates render there)",
                ));
            }
            // An unnamed inline spec is known by its place, not a fresh id.
            if spec.name.is_none() {
                spec.name = Some(format!("{}.{field}[{index}]", cx.name()));
            }
            let origin = Origin {
                index,
                name: spec.name.clone(),
                kind: Some(spec.kind.clone()),
                ..Origin::default()
            };
            sourced.push(Sourced { origin, spec });
        }
        if given == 0 {
            errors.push(FieldError::new(field, "needs at least one spec"));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let bundle = Bundle::compile(scheme, sourced, cx.values()).map_err(|problems| {
            problems
                .0
                .into_iter()
                .map(|d| {
                    rename(d.origin.index, &d.error)
                        .unwrap_or_else(|| d.error.within(&format!("{field}[{}]", d.origin.index)))
                })
                .collect::<Vec<_>>()
        })?;
        cx.add_warnings(bundle.warnings().0.iter().map(|d| {
            rename(d.origin.index, &d.error).unwrap_or_else(|| {
                d.error
                    .clone()
                    .within(&format!("{field}[{}]", d.origin.index))
            })
        }));
        // The given specs, in order (less any that a later one of the same
        // name replaced), without the extra ones.
        let symbols = bundle
            .symbols()
            .iter()
            .filter(|(origin, _)| origin.index < given)
            .map(|(_, s)| s.clone());
        Ok(Inline {
            namespace,
            symbols: symbols.collect(),
        })
    }

    /// The compiled specs, in the order given (without the extra ones).
    pub fn symbols(&self) -> &[Symbol] {
        &self.symbols
    }

    /// Starts every inline spec, with `extra` symbols of this activation's
    /// own in place of the extra specs compiled with them; fails, naming
    /// them, if any cannot run.
    pub async fn start(&self, parent: &str, extra: Vec<Symbol>) -> Result<Running, ErrorValue> {
        let table = SymbolTable::new(&self.namespace, Limits::default());
        let all = self.symbols.iter().cloned().chain(extra);
        let changes = all.map(Change::Upsert).collect();
        let report = table.apply(changes).await;
        if !report.problems.is_empty() {
            table.shutdown().await;
            let problems: Vec<String> = report
                .problems
                .iter()
                .map(|(key, reason)| format!("`{key}`: {reason}"))
                .collect();
            return Err(ErrorValue::new(format!(
                "node `{parent}`: inline specs cannot run: {}",
                problems.join("; ")
            )));
        }
        Ok(Running { table })
    }
}

impl Running {
    /// The slot of the inline spec `key`.
    pub fn slot(&self, key: &str) -> Option<Arc<Slot>> {
        self.table.slot(key)
    }

    /// Stops every inline spec, after their last packets.
    pub async fn stop(&self) {
        self.table.shutdown().await;
    }
}
