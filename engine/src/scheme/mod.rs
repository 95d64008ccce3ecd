//! The scheme: the registry `kind → codec`, and compiling one spec with it.
//!
//! Node families register their kinds here at start-up; the engine itself
//! registers none, so a build can leave a family out. Compiling a spec binds
//! its `env`, renders `{{ }}` templates in its fields, decodes and compiles
//! it with its kind's codec, and checks its out-ports. Links between specs
//! are checked elsewhere ([`crate::bundle`], [`crate::symbol`]).

mod codec;
mod kind;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

pub use codec::{Codec, KindCodec, decode, schema_settings};
pub use kind::Kind;

use crate::diagnostic::FieldError;
use crate::env::{ValueSource, bind};
use crate::port::{self, Port};
use crate::spec::Spec;
use crate::symbol::Symbol;

/// The registry of node kinds.
#[derive(Clone, Default)]
pub struct Scheme {
    codecs: BTreeMap<&'static str, Arc<dyn Codec>>,
    resources: crate::type_map::TypeMap,
}

impl Scheme {
    /// An empty scheme.
    pub fn new() -> Scheme {
        Scheme::default()
    }

    /// Registers a kind; a later registration of the same name replaces it.
    pub fn register<K: Kind>(&mut self, kind: K) -> &mut Scheme {
        let codec = KindCodec::new(kind);
        self.codecs.insert(codec.kind(), Arc::new(codec));
        self
    }

    /// Hands `value` to every kind that asks for a `T` while it compiles
    /// ([`Context::resource`]). The engine provides nothing itself: the host
    /// does (the store for the `system` family, say). A kind whose resource
    /// is missing, as under `weir validate` with no database, should still
    /// compile, so specs can be checked anywhere, and fail when it loads.
    pub fn provide<T: std::any::Any + Send + Sync>(&mut self, value: Arc<T>) -> &mut Scheme {
        self.resources.provide(value);
        self
    }

    /// The codec of `kind`.
    pub fn codec(&self, kind: &str) -> Option<&Arc<dyn Codec>> {
        self.codecs.get(kind)
    }

    /// Every registered codec, by kind name.
    pub fn codecs(&self) -> impl Iterator<Item = &Arc<dyn Codec>> {
        self.codecs.values()
    }

    /// What can be checked of a spec whose `env` only an engine can bind
    /// ([`crate::env::engine_bound`]): its kind is known, its name and
    /// namespace are usable, each `env` variable names a source. And when
    /// none of its fields is a template (so none depends on the env's
    /// values), the kind's own fields too: compiled with each such variable
    /// standing in as an empty text, of which only the errors count (a
    /// warning could come from the stand-in). A spec with templates is
    /// checked for the rest when each engine compiles it.
    pub fn check_unbound(&self, spec: &Spec, values: &dyn ValueSource) -> Vec<FieldError> {
        let mut errors = header_errors(spec);
        errors.extend(crate::env::unsourced(spec));
        let Some(codec) = self.codec(&spec.kind) else {
            let known = self.codecs.keys().copied().collect::<Vec<_>>().join(", ");
            let message = format!("unknown kind `{}` (known kinds: {known})", spec.kind);
            errors.insert(0, FieldError::new("kind", message));
            return errors;
        };
        let runtime = codec.runtime_templates();
        let templated = spec
            .fields
            .iter()
            .any(|(key, value)| !runtime.contains(&key.as_str()) && any_template(value));
        if errors.is_empty()
            && !templated
            && let Err(compiled) = self.compile(spec, &StandIn(values))
        {
            errors.extend(compiled.into_iter().filter(|e| !e.is_warning()));
        }
        errors
    }

    /// Compiles one spec into a symbol. Every error comes with its field
    /// path; the spec's links to other specs are not checked here.
    pub fn compile(
        &self,
        spec: &Spec,
        values: &dyn ValueSource,
    ) -> Result<Symbol, Vec<FieldError>> {
        let codec = self.codec(&spec.kind).ok_or_else(|| {
            let known = self.codecs.keys().copied().collect::<Vec<_>>().join(", ");
            vec![FieldError::new(
                "kind",
                format!("unknown kind `{}` (known kinds: {known})", spec.kind),
            )]
        })?;
        let mut errors = Vec::new();
        let env = bind(spec, values).unwrap_or_else(|e| {
            errors.extend(e);
            weir_codecs::Value::Null
        });
        errors.extend(header_errors(spec));
        let mut fields = serde_json::Value::Object(spec.fields.clone());
        if errors.is_empty()
            && let Err(e) =
                weir_codecs::template::render_json(&mut fields, &env, codec.runtime_templates())
        {
            errors.extend(
                e.into_iter()
                    .map(|(path, e)| FieldError::new(path, e.to_string())),
            );
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let cx = Context {
            spec,
            scheme: self,
            values,
            warnings: Mutex::default(),
        };
        // Refused, its warnings come along (a reader fixes both at once).
        let (activate, ports) = codec.compile(&cx, fields).map_err(|mut errors| {
            errors.extend(cx.take_warnings());
            errors
        })?;
        let mut warnings = cx.take_warnings();
        let links = out_links(spec, &ports, &mut warnings)?;
        Ok(Symbol::new(
            Arc::new(spec.clone()),
            env,
            activate,
            ports,
            links,
            warnings,
        ))
    }
}

/// Whether a field's value holds a template anywhere.
fn any_template(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(s) => weir_codecs::template::is_template(s),
        serde_json::Value::Array(items) => items.iter().any(any_template),
        serde_json::Value::Object(map) => map.values().any(any_template),
        _ => false,
    }
}

/// `values`, with every `os` variable it cannot see set to an empty text:
/// for compiling a spec whose fields do not use them.
struct StandIn<'a>(&'a dyn ValueSource);

impl ValueSource for StandIn<'_> {
    fn value(
        &self,
        namespace: &str,
        name: Option<&str>,
        id: Option<uuid::Uuid>,
    ) -> Option<weir_codecs::Value> {
        self.0.value(namespace, name, id)
    }

    fn os(&self, name: &str) -> crate::env::Os {
        match self.0.os(name) {
            crate::env::Os::Unknown => crate::env::Os::Set(String::new()),
            known => known,
        }
    }
}

/// A spec's name and namespace must be usable as names
/// ([`crate::spec::check_name`]).
fn header_errors(spec: &Spec) -> Vec<FieldError> {
    let check = crate::spec::check_name;
    let name = spec.name.as_deref().and_then(|n| check("name", n));
    name.into_iter()
        .chain(check("namespace", &spec.namespace))
        .collect()
}

/// What a kind sees while it compiles one spec.
pub struct Context<'a> {
    spec: &'a Spec,
    scheme: &'a Scheme,
    values: &'a dyn ValueSource,
    warnings: Mutex<Vec<FieldError>>,
}

impl<'a> Context<'a> {
    /// The spec being compiled (its shared fields; the kind's own fields
    /// arrive typed).
    pub fn spec(&self) -> &'a Spec {
        self.spec
    }

    /// The spec's name, or its id when unnamed: for messages and logs.
    pub fn name(&self) -> String {
        self.spec.key()
    }

    /// The scheme, for kinds that compile inline specs of their own
    /// (`step`, `block`).
    pub fn scheme(&self) -> &'a Scheme {
        self.scheme
    }

    /// Warns of `message` at `path`: the spec compiles and is stored, but
    /// may not work as written (see [`crate::Severity::Warning`]). A kind
    /// warns where the published schema allows what cannot work (a field
    /// naming what another field lacks), and its node then says so again
    /// when it loads or is called.
    pub fn warn(&self, path: impl Into<String>, message: impl Into<String>) {
        self.add_warnings([FieldError::warning(path, message)]);
    }

    /// Warnings found elsewhere (an inline spec's, already at their path).
    pub fn add_warnings(&self, warnings: impl IntoIterator<Item = FieldError>) {
        let warnings = warnings.into_iter().map(|w| FieldError {
            severity: crate::Severity::Warning,
            ..w
        });
        if let Ok(mut all) = self.warnings.lock() {
            all.extend(warnings);
        }
    }

    fn take_warnings(&self) -> Vec<FieldError> {
        self.warnings
            .lock()
            .map(|mut all| std::mem::take(&mut *all))
            .unwrap_or_default()
    }

    /// The stored values, for binding the env of inline specs.
    pub fn values(&self) -> &'a dyn ValueSource {
        self.values
    }

    /// The host's shared instance of `T` (see [`Scheme::provide`]), if it
    /// provided one.
    pub fn resource<T: std::any::Any + Send + Sync>(&self) -> Option<Arc<T>> {
        self.scheme.resources.get::<T>()
    }
}

/// Parses the spec's `ports` map. An out-port the kind does not have is a
/// warning, and its links are left out: the schema cannot tie a router's
/// out-ports to its routes, so such a spec is well-formed, its links dead.
fn out_links(
    spec: &Spec,
    ports: &port::Ports,
    warnings: &mut Vec<FieldError>,
) -> Result<Vec<(Port, Vec<crate::spec::Target>)>, Vec<FieldError>> {
    let mut links = Vec::new();
    let mut errors = Vec::new();
    for (name, targets) in &spec.ports {
        let path = format!("ports.{name}");
        let port = match Port::parse(name) {
            Err(e) => {
                errors.push(FieldError::new(path, e.to_string()));
                continue;
            }
            Ok(port) => port,
        };
        for (i, target) in targets.iter().enumerate() {
            if let Err(e) = Port::parse(&target.port) {
                errors.push(FieldError::new(format!("{path}[{i}].port"), e.to_string()));
            }
            if target.name.is_none() && target.id.is_none() {
                errors.push(FieldError::new(
                    format!("{path}[{i}]"),
                    "a target needs a `name` or an `id`",
                ));
            }
        }
        match ports.emits(&port) {
            true => links.push((port, targets.clone())),
            false => warnings.push(FieldError::warning(
                path,
                format!(
                    "kind `{}` has no output `{port}` (outputs: {}, error): nothing goes this way",
                    spec.kind,
                    port::describe(ports.outputs())
                ),
            )),
        }
    }
    match errors.is_empty() {
        true => Ok(links),
        false => Err(errors),
    }
}
