//! `retry`: writes the payload to `out` and, while that answers an error,
//! waits and writes it again, up to `limit` more times.
//!
//! The wait before retry `n` (from 0) is `delay × factor^n`, capped at
//! `max_delay` (the first wait too, so `max_delay` under `delay` is a
//! fixed wait, not an error: no pair of values is refused); with `jitter` it is drawn uniformly from its upper half, so
//! writers that failed together do not retry together, yet never retry at
//! once. The answer is the first non-error answer, else the last error.
//! Waits end early, with the call, when the process stops.

use crate::ceiling;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;
use weir_codecs::ErrorValue;
use weir_engine::runtime::BoxFuture;
use weir_engine::{Activate, shared};
use weir_engine::{Call, FieldError, Kind, Node, Packet, Port, scheme::Context};

use super::duration::Duration;

/// The fields of a `retry` spec.
///
/// Ports: `in` → `out`, written up to `limit + 1` times; the answer is its
/// first non-error answer, else its last error.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(example = super::example("limit: 5\ndelay: 200ms\nmax_delay: 5s"))]
pub struct RetrySpec {
    /// How many times to retry after the first attempt.
    #[serde(default = "default_limit")]
    #[schemars(transform = crate::ceiling::retries)]
    pub limit: u32,
    /// The wait before the first retry.
    #[serde(default = "default_delay")]
    #[schemars(transform = crate::ceiling::time_duration)]
    pub delay: Duration,
    /// What each wait is multiplied by for the next (at least 1).
    #[serde(default = "default_factor")]
    #[schemars(range(min = 1))]
    pub factor: f64,
    /// The longest wait. It caps every wait, the first included, so a
    /// `max_delay` under `delay` makes each wait `max_delay`.
    #[serde(default = "default_max_delay")]
    #[schemars(transform = crate::ceiling::time_duration)]
    pub max_delay: Duration,
    /// Whether each wait is drawn at random from its upper half.
    #[serde(default = "default_jitter")]
    pub jitter: bool,
}

fn default_limit() -> u32 {
    3
}

fn default_delay() -> Duration {
    Duration::from_millis(100)
}

fn default_factor() -> f64 {
    2.0
}

fn default_max_delay() -> Duration {
    Duration::from_secs(10)
}

fn default_jitter() -> bool {
    true
}

pub(super) struct Retry;

impl Kind for Retry {
    type Spec = RetrySpec;

    fn name(&self) -> &'static str {
        "retry"
    }

    fn summary(&self) -> &'static str {
        "Writes the payload to `out`, again after a growing, jittered wait while it answers an error, up to `limit` retries."
    }

    fn compile(
        &self,
        spec: RetrySpec,
        cx: &Context<'_>,
    ) -> Result<Arc<dyn Activate>, Vec<FieldError>> {
        let mut errors: Vec<FieldError> = [
            ceiling::RETRIES.check("limit", spec.limit.into()),
            ceiling::TIME.check_duration("delay", spec.delay.get()),
            ceiling::TIME.check_duration("max_delay", spec.max_delay.get()),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !(spec.factor.is_finite() && spec.factor >= 1.0) {
            errors.push(FieldError::new(
                "factor",
                format!("{} is not a factor: it must be 1 or more", spec.factor),
            ));
        }
        match errors.is_empty() {
            true => Ok(shared(RetryNode {
                name: cx.name(),
                spec,
            })),
            false => Err(errors),
        }
    }
}

struct RetryNode {
    name: String,
    spec: RetrySpec,
}

impl RetryNode {
    /// The wait before retry `n` (from 0).
    fn backoff(&self, n: u32) -> std::time::Duration {
        let spec = &self.spec;
        let grown = spec.delay.get().as_secs_f64() * spec.factor.powi(n.min(1024) as i32);
        let full = grown.min(spec.max_delay.get().as_secs_f64());
        let wait = match spec.jitter {
            true => full / 2.0 + full / 2.0 * random_fraction(),
            false => full,
        };
        std::time::Duration::try_from_secs_f64(wait).unwrap_or(spec.max_delay.get())
    }
}

/// A number in `[0, 1)`, fresh per call: the standard library's randomly
/// keyed hasher over a per-thread counter is random enough for jitter.
fn random_fraction() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0x9e37_79b9_7f4a_7c15);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

impl Node for RetryNode {
    fn call<'a>(
        &'a self,
        call: &'a Call,
        input: Packet,
    ) -> BoxFuture<'a, Result<Packet, ErrorValue>> {
        Box::pin(async move {
            let out = Port::output();
            let mut attempt = 0;
            loop {
                let answer = call.write(&out, input.clone()).await;
                let Some(error) = answer.as_error().filter(|_| attempt < self.spec.limit) else {
                    return Ok(answer);
                };
                let wait = self.backoff(attempt);
                tracing::debug!(node = %self.name, attempt, %error, ?wait, "retrying");
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(jitter: bool) -> RetryNode {
        RetryNode {
            name: "r".into(),
            spec: RetrySpec {
                limit: 10,
                delay: Duration::from_millis(100),
                factor: 2.0,
                max_delay: Duration::from_millis(1000),
                jitter,
            },
        }
    }

    #[test]
    fn waits_grow_to_the_cap() {
        let waits: Vec<u128> = (0..6).map(|n| node(false).backoff(n).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(node(false).backoff(u32::MAX).as_millis(), 1000);
    }

    #[test]
    fn a_cap_under_the_first_delay_is_a_fixed_wait() {
        let mut node = node(false);
        node.spec.max_delay = Duration::from_millis(30);
        let waits: Vec<u128> = (0..3).map(|n| node.backoff(n).as_millis()).collect();
        assert_eq!(waits, [30, 30, 30]);
    }

    #[test]
    fn jitter_stays_in_the_upper_half() {
        let node = node(true);
        let waits: Vec<u128> = (0..200).map(|_| node.backoff(2).as_millis()).collect();
        assert!(waits.iter().all(|w| (200..=400).contains(w)), "{waits:?}");
        let distinct: std::collections::BTreeSet<_> = waits.iter().collect();
        assert!(distinct.len() > 10, "jitter varies: {distinct:?}");
    }
}
