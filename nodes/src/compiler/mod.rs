//! The compiler family: the `compiler` kind, a thin node over the native
//! pipeline compiler (`weir-native`). The payload checks live in
//! [`payload`]; the compile itself, its pool, limits and cancellation are
//! the library's. This module owns no C++ and no `unsafe`.

mod payload;

use std::path::PathBuf;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;
use weir_codecs::{ErrorValue, Value};
use weir_engine::runtime::BoxFuture;
use weir_engine::{Activate, shared};
use weir_engine::{Call, FieldError, Kind, Node, Packet, Scheme, scheme::Context};

/// Registers the compiler family's kinds.
pub fn register(scheme: &mut Scheme) {
    scheme.register(Compiler);
}

/// The fields of a `compiler` spec.
///
/// Ports: `in`; the answer is the manifest. The payload is
/// `{script: {name, source}, settings?}`; its settings merge over the
/// spec's. Each packet compiles into a fresh folder
/// `<artifact_dir>/artifacts/<UUID v7>`. A bad payload is an error with
/// code `invalid`, status 400, `details` a list of `{field, message}`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(example = example())]
pub struct CompilerSpec {
    /// Default settings (`passes`, `strip_docstrings`, `strip_comments`,
    /// `max_input_bytes`, `max_depth`, `max_wall_ms`), within the
    /// library's ceilings.
    #[serde(default)]
    pub settings: serde_json::Map<String, serde_json::Value>,
    /// The data directory; default `WEIR_DATA_DIR`, else `./weir-data`.
    #[serde(default)]
    pub artifact_dir: Option<String>,
}

fn example() -> serde_json::Value {
    serde_json::json!({"settings": {"passes": ["tokenize", "outline"]}})
}

struct Compiler;

impl Kind for Compiler {
    type Spec = CompilerSpec;

    fn name(&self) -> &'static str {
        "compiler"
    }

    fn summary(&self) -> &'static str {
        "Compiles the payload's Python script with the native pipeline compiler and answers its manifest; a bad payload is an error (code `invalid`, status 400) listing every field."
    }

    fn compile(
        &self,
        spec: CompilerSpec,
        cx: &Context<'_>,
    ) -> Result<Arc<dyn Activate>, Vec<FieldError>> {
        payload::settings(&spec.settings, "settings").map_err(|errors| {
            errors
                .into_iter()
                .map(|e| FieldError::new(e.field, e.message))
                .collect::<Vec<_>>()
        })?;
        let root = spec
            .artifact_dir
            .or_else(|| std::env::var("WEIR_DATA_DIR").ok())
            .unwrap_or_else(|| "./weir-data".into());
        Ok(shared(CompilerNode {
            name: cx.name(),
            defaults: spec.settings,
            artifacts: PathBuf::from(root).join("artifacts"),
        }))
    }
}

struct CompilerNode {
    name: String,
    defaults: serde_json::Map<String, serde_json::Value>,
    artifacts: PathBuf,
}

impl Node for CompilerNode {
    fn call<'a>(&'a self, _: &'a Call, input: Packet) -> BoxFuture<'a, Result<Packet, ErrorValue>> {
        Box::pin(async move {
            let json = weir_codecs::json::to_json(input.payload());
            let input =
                payload::input(&json, &self.defaults).map_err(|e| invalid(&self.name, e))?;
            let dir = self.artifacts.join(uuid::Uuid::now_v7().to_string());
            // Dropping this future (the process cancelled) sets the
            // library's cancel flag, which stops the compile.
            let manifest = weir_native::compile(input, dir, weir_native::Cancel::new())
                .await
                .map_err(|e| {
                    ErrorValue::new(format!("node `{}`: {e}", self.name)).with_code("compile")
                })?;
            let json = serde_json::to_value(&manifest)
                .map_err(|e| ErrorValue::new(format!("node `{}`: {e}", self.name)))?;
            Ok(Packet::new(weir_codecs::json::from_json(json)))
        })
    }
}

fn invalid(node: &str, errors: Vec<weir_native::FieldError>) -> ErrorValue {
    let listed = errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    let details = Value::list(errors.into_iter().map(|e| {
        Value::map([
            ("field", Value::string(e.field)),
            ("message", Value::string(e.message)),
        ])
    }));
    ErrorValue::new(format!("node `{node}`: invalid payload: {listed}"))
        .with_code("invalid")
        .with_status(400)
        .with_details(details)
}
