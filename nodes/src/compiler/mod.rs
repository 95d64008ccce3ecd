//! The compiler family: the `compiler` kind, a thin node over the native
//! pipeline compiler (`weir-native`). The payload checks live in
//! [`payload`], running the compiled script in the sandbox in [`execute`];
//! the compile itself, its pool, limits and cancellation are the
//! library's. This module owns no C++, no `unsafe` and runs no user code.

mod execute;
mod payload;

use std::path::PathBuf;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;
use weir_codecs::{ErrorValue, Value};
use weir_engine::runtime::BoxFuture;
use weir_engine::{Activate, shared};
use weir_engine::{
    Call, FieldError, Kind, Node, Packet, Port, PortPattern, Ports, Scheme, scheme::Context,
};

use crate::net::templated::{self, Templated};

/// Registers the compiler family's kinds.
pub fn register(scheme: &mut Scheme) {
    scheme.register(Compiler);
}

/// The fields of a `compiler` spec.
///
/// Ports: `in` → the manifest to `out`, whose answer is the answer (the
/// manifest itself when `out` is unlinked). The payload is
/// `{script: {name, source}, settings?}`; its settings merge over the
/// spec's. With `settings.execute: true`, a script that compiled is then
/// written as `{source}` to the `run` port (a `container` node): what it
/// printed becomes the artifact `run.txt` and its exit code, duration and
/// limits hit the manifest's `run`. Each packet compiles into a fresh folder
/// `<artifact_dir>/artifacts/<UUID v7>`. A bad payload is an error with
/// code `invalid`, status 400, `details` a list of `{field, message}`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(example = example())]
pub struct CompilerSpec {
    /// Default settings (`passes`, `strip_docstrings`, `strip_comments`,
    /// `max_input_bytes`, `max_depth`, `max_wall_ms`, `execute`), within
    /// the library's ceilings.
    #[serde(default)]
    #[schemars(schema_with = "settings_schema")]
    pub settings: serde_json::Map<String, serde_json::Value>,
    /// The data directory; default `WEIR_DATA_DIR`, else `./weir-data`.
    #[serde(default)]
    pub artifact_dir: Option<String>,
    /// What to compile, a template over the packet (`"{{ payload.payload
    /// }}"` behind a `job` node); default the payload itself.
    #[serde(default)]
    pub input: Option<serde_json::Value>,
    /// The artifact folder's name under `<artifact_dir>/artifacts`, a
    /// template over the packet (`"{{ payload.job.id }}"`); it must render
    /// to one name of letters, digits, `-`, `_` and `.` (not `.` or `..`).
    /// Default: a fresh UUID v7 per packet. A folder already there is
    /// compiled into again (its stale artifacts removed).
    #[serde(default)]
    pub folder: Option<String>,
}

/// The settings as the library reads them (`weir_native::Settings`, which
/// has no schema of its own), each within its ceiling, plus the node's
/// own `execute`.
fn settings_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    use weir_native::{Pass, Settings};
    let passes: Vec<String> = Pass::ALL.iter().map(|p| p.name().to_string()).collect();
    schemars::json_schema!({
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "passes": {
                "type": "array",
                "minItems": 1,
                "items": {"enum": passes},
            },
            "strip_docstrings": {"type": "boolean"},
            "strip_comments": {"type": "boolean"},
            "max_input_bytes": {"type": "integer", "minimum": 1, "maximum": Settings::MAX_INPUT_BYTES_CEILING},
            "max_depth": {"type": "integer", "minimum": 1, "maximum": Settings::MAX_DEPTH_CEILING},
            "max_wall_ms": {"type": "integer", "minimum": 1, "maximum": Settings::MAX_WALL_MS_CEILING},
            // Null, as absent: do not run.
            "execute": {"type": ["boolean", "null"]},
        },
    })
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

    fn runtime_templates(&self) -> &'static [&'static str] {
        &["input", "folder"]
    }

    /// `in` → `out`, and `run` to the sandbox that `execute` runs in.
    fn ports(&self, _: &CompilerSpec) -> Ports {
        Ports::default().output(PortPattern::Exact(execute::port()))
    }

    fn compile(
        &self,
        spec: CompilerSpec,
        cx: &Context<'_>,
    ) -> Result<Arc<dyn Activate>, Vec<FieldError>> {
        let mut library = spec.settings.clone();
        let execute = payload::take_execute(&mut library, "settings").err();
        let mut errors: Vec<FieldError> = payload::settings(&library, "settings")
            .err()
            .into_iter()
            .flatten()
            .chain(execute)
            .map(|e| FieldError::new(e.field, e.message))
            .collect();
        let mut template = |field: &str, json: Option<serde_json::Value>| {
            Templated::compile(field, json?)
                .map_err(|e| errors.extend(e))
                .ok()
        };
        let input = template("input", spec.input);
        let folder = template("folder", spec.folder.map(serde_json::Value::String));
        let env = weir_engine::env::bind(cx.spec(), cx.values());
        let env = env.map_err(|e| errors.extend(e)).unwrap_or_default();
        if !errors.is_empty() {
            return Err(errors);
        }
        let root = spec
            .artifact_dir
            .or_else(|| std::env::var("WEIR_DATA_DIR").ok())
            .unwrap_or_else(|| "./weir-data".into());
        Ok(shared(CompilerNode {
            name: cx.name(),
            defaults: spec.settings,
            artifacts: PathBuf::from(root).join("artifacts"),
            input,
            folder,
            env,
        }))
    }
}

struct CompilerNode {
    name: String,
    defaults: serde_json::Map<String, serde_json::Value>,
    artifacts: PathBuf,
    input: Option<Templated>,
    folder: Option<Templated>,
    env: Value,
}

impl Node for CompilerNode {
    fn call<'a>(
        &'a self,
        call: &'a Call,
        input: Packet,
    ) -> BoxFuture<'a, Result<Packet, ErrorValue>> {
        Box::pin(async move {
            let context = templated::context(&self.env, input.payload());
            let source = match &self.input {
                Some(template) => self.render("input", template, &context)?,
                None => input.payload().clone(),
            };
            let json = weir_codecs::json::to_json(&source);
            let request =
                payload::request(&json, &self.defaults).map_err(|e| invalid(&self.name, e))?;
            if request.execute && !call.is_linked(&execute::port()) {
                return Err(invalid(
                    &self.name,
                    vec![weir_native::FieldError {
                        field: "settings.execute".into(),
                        message: "this compiler has no sandbox linked to its `run` port".into(),
                    }],
                ));
            }
            let folder = match &self.folder {
                Some(template) => self.folder_name(&self.render("folder", template, &context)?)?,
                None => uuid::Uuid::now_v7().to_string(),
            };
            let dir = self.artifacts.join(folder);
            let run = request.execute.then(|| request.input.script.source.clone());
            // Dropping this future (the process cancelled) sets the
            // library's cancel flag, which stops the compile.
            let manifest =
                weir_native::compile(request.input, dir.clone(), weir_native::Cancel::new())
                    .await
                    .map_err(|e| {
                        ErrorValue::new(format!("node `{}`: {e}", self.name)).with_code("compile")
                    })?;
            let compiled = manifest.status == weir_native::Status::Success;
            let mut json = serde_json::to_value(&manifest)
                .map_err(|e| ErrorValue::new(format!("node `{}`: {e}", self.name)))?;
            if let (Some(source), true) = (run, compiled) {
                execute::execute(call, &self.name, source, &dir, &mut json).await?;
            }
            let manifest = Packet::new(weir_codecs::json::from_json(json));
            Ok(call.write(&Port::output(), manifest).await)
        })
    }
}

impl CompilerNode {
    fn render(
        &self,
        field: &str,
        template: &Templated,
        context: &Value,
    ) -> Result<Value, ErrorValue> {
        template.render(field, context).map_err(|e| {
            ErrorValue::new(format!("node `{}`: {e}", self.name)).with_code("template")
        })
    }

    /// A rendered `folder`: one plain name, never a path.
    fn folder_name(&self, rendered: &Value) -> Result<String, ErrorValue> {
        let name = rendered.as_str().unwrap_or_default();
        let plain = !name.is_empty()
            && name.len() <= 255
            && name != "."
            && name != ".."
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        match plain {
            true => Ok(name.to_string()),
            false => Err(ErrorValue::new(format!(
                "node `{}`: folder: `{rendered}` is not a folder name (letters, digits, `-`, `_`, `.`)",
                self.name
            ))
            .with_code("invalid_folder")),
        }
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
