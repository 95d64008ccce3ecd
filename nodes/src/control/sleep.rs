//! `sleep`: waits `interval`, then writes the payload to `out`. The wait
//! ends early, with the call, when the process is cancelled or times out.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;
use weir_codecs::ErrorValue;
use weir_engine::runtime::BoxFuture;
use weir_engine::{Activate, shared};
use weir_engine::{Call, FieldError, Kind, Node, Packet, Port, scheme::Context};

use super::duration::Duration;

/// The fields of a `sleep` spec.
///
/// Ports: `in` → `out`, after the wait; the answer is what `out` answers.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(example = super::example("interval: 250ms"))]
pub struct SleepSpec {
    /// How long to wait.
    #[schemars(transform = crate::ceiling::time_duration)]
    pub interval: Duration,
}

pub(super) struct Sleep;

impl Kind for Sleep {
    type Spec = SleepSpec;

    fn name(&self) -> &'static str {
        "sleep"
    }

    fn summary(&self) -> &'static str {
        "Waits `interval`, then writes the payload to `out`."
    }

    fn compile(
        &self,
        spec: SleepSpec,
        _: &Context<'_>,
    ) -> Result<Arc<dyn Activate>, Vec<FieldError>> {
        if let Some(error) = crate::ceiling::TIME.check_duration("interval", spec.interval.get()) {
            return Err(vec![error]);
        }
        Ok(shared(SleepNode {
            interval: spec.interval,
        }))
    }
}

struct SleepNode {
    interval: Duration,
}

impl Node for SleepNode {
    fn call<'a>(
        &'a self,
        call: &'a Call,
        input: Packet,
    ) -> BoxFuture<'a, Result<Packet, ErrorValue>> {
        Box::pin(async move {
            tokio::time::sleep(self.interval.get()).await;
            Ok(call.write(&Port::output(), input).await)
        })
    }
}
