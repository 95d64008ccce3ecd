//! `log`: records the payload through `tracing`, then passes it to `out`.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use weir_codecs::ErrorValue;
use weir_engine::runtime::BoxFuture;
use weir_engine::{Activate, shared};
use weir_engine::{Call, FieldError, Kind, Node, Packet, Port, scheme::Context};

/// The fields of a `log` spec.
///
/// Ports: `in` → `out`, unchanged; the answer is what `out` answers.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(example = super::example("level: warn\nmessage: order refused"))]
pub struct LogSpec {
    /// The level to log at.
    #[serde(default)]
    pub level: Level,
    /// A fixed message logged with the payload.
    #[serde(default)]
    pub message: Option<String>,
}

/// Log levels, as `tracing` has them.
#[derive(Debug, Default, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Finest detail.
    Trace,
    /// Diagnostics.
    Debug,
    /// Normal operation.
    #[default]
    Info,
    /// Something unexpected.
    Warn,
    /// A failure.
    Error,
}

pub(super) struct Log;

impl Kind for Log {
    type Spec = LogSpec;

    fn name(&self) -> &'static str {
        "log"
    }

    fn summary(&self) -> &'static str {
        "Logs the payload at `level` with an optional `message`, then writes it to `out`."
    }

    fn compile(
        &self,
        spec: LogSpec,
        cx: &Context<'_>,
    ) -> Result<Arc<dyn Activate>, Vec<FieldError>> {
        Ok(shared(LogNode {
            name: cx.name(),
            namespace: cx.spec().namespace.clone(),
            spec,
        }))
    }
}

struct LogNode {
    name: String,
    namespace: String,
    spec: LogSpec,
}

impl Node for LogNode {
    fn call<'a>(
        &'a self,
        call: &'a Call,
        input: Packet,
    ) -> BoxFuture<'a, Result<Packet, ErrorValue>> {
        Box::pin(async move {
            let payload = input.payload();
            let message = self.spec.message.as_deref().unwrap_or("packet");
            let (ns, node, process) = (&self.namespace, &self.name, call.process().id());
            match self.spec.level {
                Level::Trace => {
                    tracing::trace!(namespace = %ns, %node, process, %payload, "{message}")
                }
                Level::Debug => {
                    tracing::debug!(namespace = %ns, %node, process, %payload, "{message}")
                }
                Level::Info => {
                    tracing::info!(namespace = %ns, %node, process, %payload, "{message}")
                }
                Level::Warn => {
                    tracing::warn!(namespace = %ns, %node, process, %payload, "{message}")
                }
                Level::Error => {
                    tracing::error!(namespace = %ns, %node, process, %payload, "{message}")
                }
            }
            Ok(call.write(&Port::output(), input).await)
        })
    }
}
