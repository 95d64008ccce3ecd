//! When to try a call again, and how long to wait first: exponential
//! backoff with jitter, or what the server's `Retry-After` asks.
//!
//! This module owns the waiting policy and reading `Retry-After` (seconds
//! or an HTTP date) and `retry-after-ms` (OpenAI's). It must not decide
//! which failures are worth retrying: [`super::error`] does.

use std::hash::{BuildHasher, RandomState};
use std::time::{Duration, Instant, SystemTime};

use http::HeaderMap;

/// How often and how patiently a call is tried.
#[derive(Debug, Clone, PartialEq)]
pub struct Retry {
    /// Attempts in all, the first included (1 = no retry).
    pub max_attempts: u32,
    /// The wait before the second attempt; each later one doubles it.
    pub backoff: Duration,
    /// The ceiling of the doubling.
    pub max_backoff: Duration,
    /// The longest `Retry-After` honoured; a server asking more is not
    /// retried.
    pub max_retry_after: Duration,
}

impl Default for Retry {
    fn default() -> Retry {
        Retry {
            max_attempts: 3,
            backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

/// The ceiling on `max_attempts`, so a spec cannot ask for endless tries.
pub const MAX_ATTEMPTS: u32 = 10;

impl Retry {
    /// The wait after failed attempt number `attempt` (1-based): the
    /// server's `retry_after` when it gave one (`None` if more than
    /// `max_retry_after`), else the backoff with "equal jitter" (half fixed,
    /// half random), so clients that failed together do not return together.
    pub fn wait(&self, attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if let Some(asked) = retry_after {
            return (asked <= self.max_retry_after).then_some(asked);
        }
        let doubled = self
            .backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        let capped = doubled.min(self.max_backoff);
        let half = capped / 2;
        Some(half + half.mul_f64(random_fraction()))
    }
}

/// A number in [0, 1): std's per-instance random hash keys are enough for
/// jitter, and need no generator crate.
fn random_fraction() -> f64 {
    let bits = RandomState::new().hash_one(Instant::now());
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// What the server asks to wait: `retry-after-ms`, else `Retry-After` as
/// seconds or an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    let value = header("retry-after")?;
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(
        date.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_ceiling_with_jitter() {
        let retry = Retry {
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(300),
            ..Retry::default()
        };
        for _ in 0..50 {
            let first = retry.wait(1, None).unwrap();
            assert!((50..=100).contains(&first.as_millis()), "{first:?}");
            let second = retry.wait(2, None).unwrap();
            assert!((100..=200).contains(&second.as_millis()), "{second:?}");
            let late = retry.wait(30, None).unwrap();
            assert!((150..=300).contains(&late.as_millis()), "{late:?}");
        }
        assert_eq!(
            retry.wait(1, Some(Duration::from_secs(2))),
            Some(Duration::from_secs(2))
        );
        assert_eq!(retry.wait(1, Some(Duration::from_secs(61))), None);
    }

    #[test]
    fn retry_after_in_seconds_milliseconds_or_a_date() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert("retry-after", "3".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        let later = SystemTime::now() + Duration::from_secs(30);
        headers.insert(
            "retry-after",
            httpdate::fmt_http_date(later).parse().unwrap(),
        );
        let wait = retry_after(&headers).unwrap();
        assert!((28..=30).contains(&wait.as_secs()), "{wait:?}");
        headers.insert("retry-after-ms", "150".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(150)));
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }
}
