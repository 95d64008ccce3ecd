//! [`Duration`]: how specs write a span of time (`timeout`, `interval`,
//! retry delays).
//!
//! A duration is a string of a number and a unit, `250ms`, `1.5s`, `2m`,
//! `1h`, or a bare number of seconds. This module only parses, prints and
//! describes durations; what a field does with one is its kind's business.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, Deserializer, Visitor};

/// A span of time written in a spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Duration(pub std::time::Duration);

impl Duration {
    /// `n` milliseconds.
    pub const fn from_millis(n: u64) -> Duration {
        Duration(std::time::Duration::from_millis(n))
    }

    /// `n` seconds.
    pub const fn from_secs(n: u64) -> Duration {
        Duration(std::time::Duration::from_secs(n))
    }

    /// The standard library's duration.
    pub fn get(self) -> std::time::Duration {
        self.0
    }

    /// Parses `250ms`, `1.5s`, `2m`, `1h` or a bare number of seconds.
    pub fn parse(text: &str) -> Result<Duration, String> {
        let text = text.trim();
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let scale = match unit.trim() {
            "ms" => 0.001,
            "" | "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => f64::NAN,
        };
        match number.parse::<f64>() {
            Ok(n) if scale.is_finite() => Duration::seconds(n * scale),
            _ => Err(format!(
                "`{text}` is not a duration (write e.g. `250ms`, `1.5s`, `2m` or `1h`)"
            )),
        }
    }

    fn seconds(n: f64) -> Result<Duration, String> {
        if n * 1000.0 > LONGEST_MS as f64 {
            return Err(format!(
                "{n} seconds is longer than any duration a spec may give ({}s)",
                LONGEST_MS / 1000
            ));
        }
        std::time::Duration::try_from_secs_f64(n)
            .map(Duration)
            .map_err(|_| format!("{n} is not a duration: it must be zero or more seconds"))
    }
}

impl fmt::Display for Duration {
    /// The shortest exact form among `ms`, `s`, `m`, `h`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = self.0.as_millis();
        if !self.0.subsec_nanos().is_multiple_of(1_000_000) {
            return write!(f, "{}s", self.0.as_secs_f64());
        }
        match millis {
            m if m.is_multiple_of(3_600_000) && m > 0 => write!(f, "{}h", m / 3_600_000),
            m if m.is_multiple_of(60_000) && m > 0 => write!(f, "{}m", m / 60_000),
            m if m.is_multiple_of(1000) => write!(f, "{}s", m / 1000),
            m => write!(f, "{m}ms"),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        deserializer.deserialize_any(DurationVisitor)
    }
}

struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration such as `250ms`, `2s`, `1m`, or a number of seconds")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
        Duration::parse(v).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
        Duration::seconds(v as f64).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
        Duration::seconds(v as f64).map_err(E::custom)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
        Duration::seconds(v).map_err(E::custom)
    }
}

impl serde::Serialize for Duration {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let mut schema = Schema::try_from(Duration::schema_between(0, LONGEST_MS))
            .unwrap_or_else(|_| Schema::default());
        schema.insert(
            "description".into(),
            "A span of time: a number and a unit (`250ms`, `1.5s`, `2m`, `1h`), or a number of seconds.".into(),
        );
        schema
    }
}

/// The longest duration any schema allows (about 31,700 years): every
/// duration it allows is one `std::time::Duration` holds.
const LONGEST_MS: u64 = 1_000_000_000_000_000;

impl Duration {
    /// The schema of a duration from `min_ms` to `max_ms`: a number of
    /// seconds between them, or a string whose digits stay between them. A
    /// pattern cannot compare values, so it bounds the digits: at most as
    /// many as stay under `max_ms` (`999999ms`, `999s`, `9m` under an hour),
    /// and a leading non-zero digit with at least as many as reach
    /// `min_ms` (`[1-9][0-9]ms` from 10ms). The string forms are a little
    /// narrower than what is accepted, never wider.
    pub fn schema_between(min_ms: u64, max_ms: u64) -> serde_json::Value {
        let forms: Vec<String> = [(1u64, "ms"), (1000, "s"), (60_000, "m"), (3_600_000, "h")]
            .into_iter()
            .filter_map(|(scale, unit)| {
                let most = (max_ms / scale).checked_ilog10().filter(|&d| d > 0)?;
                let digits = match min_ms {
                    0 => format!("[0-9]{{1,{most}}}"),
                    _ => {
                        // Digits after a non-zero first one that reach the
                        // fewest whole units at or above `min_ms`.
                        let least = min_ms.div_ceil(scale);
                        let more = least.ilog10() + u32::from(!is_power_of_ten(least));
                        (more < most).then(|| format!("[1-9][0-9]{{{more},{}}}", most - 1))?
                    }
                };
                Some(format!("{digits}(\\.[0-9]+)?{unit}"))
            })
            .collect();
        serde_json::json!({"anyOf": [
            {"type": "number", "minimum": min_ms as f64 / 1000.0, "maximum": max_ms / 1000},
            {"type": "string", "pattern": format!("^\\s*({})\\s*$", forms.join("|"))}
        ]})
    }
}

fn is_power_of_ten(n: u64) -> bool {
    n == 10u64.pow(n.ilog10())
}

/// A schema transform: the field's duration from `min_ms` to `max_ms`
/// ([`Duration::schema_between`]); an optional field still takes `null`.
pub fn between(min_ms: u64, max_ms: u64) -> impl Fn(&mut Schema) + Clone {
    move |schema: &mut Schema| {
        let mut bound = Duration::schema_between(min_ms, max_ms);
        if schema.as_value().to_string().contains("\"null\"")
            && let Some(serde_json::Value::Array(any)) = bound.get_mut("anyOf")
        {
            any.push(serde_json::json!({"type": "null"}));
        }
        schema.insert("allOf".into(), serde_json::json!([bound]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_bare_seconds() {
        let ms = |n| Ok(Duration::from_millis(n));
        assert_eq!(Duration::parse("250ms"), ms(250));
        assert_eq!(Duration::parse("1.5s"), ms(1500));
        assert_eq!(Duration::parse("2m"), ms(120_000));
        assert_eq!(Duration::parse("1h"), ms(3_600_000));
        assert_eq!(Duration::parse("3"), ms(3000));
        for bad in ["", "fast", "1d", "-1s", "1.2.3s", "ms"] {
            let err = Duration::parse(bad).unwrap_err();
            assert!(err.contains("is not a duration"), "{bad}: {err}");
        }
    }

    #[test]
    fn reads_numbers_as_seconds_and_prints_the_shortest_form() {
        let read = |json: &str| serde_json::from_str::<Duration>(json).map_err(|e| e.to_string());
        assert_eq!(read("2"), Ok(Duration::from_secs(2)));
        assert_eq!(read("0.25"), Ok(Duration::from_millis(250)));
        assert!(read("-1").unwrap_err().contains("zero or more seconds"));
        assert!(read("true").unwrap_err().contains("a duration such as"));
        let shown: Vec<String> = [250, 2000, 90_000, 7_200_000, 0]
            .map(|n| Duration::from_millis(n).to_string())
            .into();
        assert_eq!(shown, ["250ms", "2s", "90s", "2h", "0s"]);
        assert_eq!(Duration::from_millis(60_000).to_string(), "1m");
    }
}
