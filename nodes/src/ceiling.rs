//! The engine-wide ceilings on the limits a spec sets for itself.
//!
//! A spec chooses its own timeouts, body sizes, retries and concurrency,
//! but never more than the operator allows: each ceiling is read once per
//! process from its environment variable, never from a spec, and a spec
//! above one fails to compile, naming the field, the value and the
//! variable that lifts it. A variable that is not a positive whole number
//! is ignored with a warning, since a typo must not lift a ceiling.
//! This module only reads and checks numbers; it runs no code.

use std::collections::HashMap;
use std::sync::LazyLock;

use weir_engine::FieldError;

/// One ceiling: the variable that sets it and its value when unset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ceiling {
    /// The environment variable the operator sets it with.
    pub var: &'static str,
    /// Its value when the variable is unset (or not a positive number).
    pub default: u64,
    /// What its numbers count.
    pub unit: Unit,
}

/// What a ceiling's numbers count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Milliseconds,
    Bytes,
    Mebibytes,
    Times,
}

/// Any wait or time limit of a request's nodes (listener, `http`, `sql`,
/// `retry`, `sleep`): one hour.
pub const TIME: Ceiling = Ceiling {
    var: "WEIR_MAX_TIME_MS",
    default: 3_600_000,
    unit: Unit::Milliseconds,
};

/// Any body a node buffers (listener, `http`): 1 GiB.
pub const BODY: Ceiling = Ceiling {
    var: "WEIR_MAX_BODY_BYTES",
    default: 1 << 30,
    unit: Unit::Bytes,
};

/// How many times `retry` may try again: 100.
pub const RETRIES: Ceiling = Ceiling {
    var: "WEIR_MAX_RETRIES",
    default: 100,
    unit: Unit::Times,
};

/// How many branches `for` runs at once: 1,024.
pub const CONCURRENCY: Ceiling = Ceiling {
    var: "WEIR_MAX_CONCURRENCY",
    default: 1024,
    unit: Unit::Times,
};

/// A JavaScript snippet's `memory_mib`: 512 MiB.
pub const JS_MEMORY: Ceiling = Ceiling {
    var: "WEIR_JS_MAX_MEMORY_MIB",
    default: 512,
    unit: Unit::Mebibytes,
};

/// A JavaScript snippet's `timeout`: 30 s.
pub const JS_TIME: Ceiling = Ceiling {
    var: "WEIR_JS_MAX_TIMEOUT_MS",
    default: 30_000,
    unit: Unit::Milliseconds,
};

/// Every ceiling there is.
pub const ALL: [Ceiling; 6] = [TIME, BODY, RETRIES, CONCURRENCY, JS_MEMORY, JS_TIME];

static VALUES: LazyLock<HashMap<&'static str, u64>> =
    LazyLock::new(|| read(|name| std::env::var(name).ok()));

/// Reads every ceiling through `var`.
fn read(var: impl Fn(&str) -> Option<String>) -> HashMap<&'static str, u64> {
    ALL.iter()
        .map(|ceiling| {
            let set = var(ceiling.var).and_then(|text| match text.trim().parse::<u64>() {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    tracing::warn!(
                        variable = ceiling.var,
                        "not a positive whole number; the default ceiling holds"
                    );
                    None
                }
            });
            (ceiling.var, set.unwrap_or(ceiling.default))
        })
        .collect()
}

/// Schema transforms that state a ceiling as the field's `maximum`, in
/// this process's value: the API's document says what this engine
/// accepts. (A field that refuses 0 says so with its own `range`.)
macro_rules! schema_bound {
    ($($name:ident: $ceiling:ident),*) => {$(
        #[doc = concat!("`", stringify!($ceiling), "` as a schema's bounds.")]
        pub fn $name(schema: &mut schemars::Schema) {
            schema.insert("maximum".into(), $ceiling.value().into());
        }
    )*};
}
schema_bound!(time_ms: TIME, body_bytes: BODY, retries: RETRIES, concurrency: CONCURRENCY);

/// Schema transform for a duration field under [`TIME`].
pub fn time_duration(schema: &mut schemars::Schema) {
    crate::control::duration_between(0, TIME.value())(schema)
}

impl Ceiling {
    /// Its value in this process.
    pub fn value(&self) -> u64 {
        VALUES.get(self.var).copied().unwrap_or(self.default)
    }

    /// The refusal of `field`'s `value` when it is above the ceiling.
    pub fn check(&self, field: &str, value: u64) -> Option<FieldError> {
        self.refuse(field, value, self.value())
    }

    /// [`Ceiling::check`] for a duration.
    pub fn check_duration(&self, field: &str, value: std::time::Duration) -> Option<FieldError> {
        self.check(field, u64::try_from(value.as_millis()).unwrap_or(u64::MAX))
    }

    fn refuse(&self, field: &str, value: u64, ceiling: u64) -> Option<FieldError> {
        (value > ceiling).then(|| {
            FieldError::new(
                field,
                format!(
                    "{} is above the engine's ceiling of {} (the operator sets it with {}{})",
                    self.show(value),
                    self.show(ceiling),
                    self.var,
                    match self.unit {
                        Unit::Milliseconds => ", in milliseconds",
                        _ => "",
                    }
                ),
            )
        })
    }

    fn show(&self, value: u64) -> String {
        match self.unit {
            Unit::Milliseconds => {
                crate::control::Duration(std::time::Duration::from_millis(value)).to_string()
            }
            Unit::Bytes => format!("{value} bytes"),
            Unit::Mebibytes => format!("{value} MiB"),
            Unit::Times => value.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operator_sets_a_ceiling_and_a_typo_keeps_the_default() {
        let values = read(|name| match name {
            "WEIR_MAX_TIME_MS" => Some("1500".into()),
            "WEIR_MAX_BODY_BYTES" => Some("lots".into()),
            "WEIR_MAX_RETRIES" => Some("0".into()),
            "WEIR_JS_MAX_MEMORY_MIB" => Some("-1".into()),
            _ => None,
        });
        assert_eq!(values["WEIR_MAX_TIME_MS"], 1500);
        assert_eq!(values["WEIR_MAX_BODY_BYTES"], BODY.default);
        assert_eq!(values["WEIR_MAX_RETRIES"], RETRIES.default);
        assert_eq!(values["WEIR_MAX_CONCURRENCY"], CONCURRENCY.default);
        assert_eq!(values["WEIR_JS_MAX_MEMORY_MIB"], JS_MEMORY.default);
    }

    #[test]
    fn a_value_above_its_ceiling_is_refused_naming_field_and_variable() {
        assert!(TIME.refuse("timeout_ms", 1000, 1000).is_none());
        let refused = TIME.refuse("timeout_ms", 1001, 1000).expect("refused");
        assert_eq!(refused.path, "timeout_ms");
        assert_eq!(
            refused.message,
            "1001ms is above the engine's ceiling of 1s (the operator sets it with WEIR_MAX_TIME_MS, in milliseconds)"
        );
        let refused = JS_MEMORY.refuse("memory_mib", 100_000, 512).unwrap();
        assert_eq!(
            refused.message,
            "100000 MiB is above the engine's ceiling of 512 MiB (the operator sets it with WEIR_JS_MAX_MEMORY_MIB)"
        );
        let refused = BODY.refuse("body_limit", 2, 1).expect("refused");
        assert!(
            refused.message.starts_with("2 bytes is above"),
            "{refused:?}"
        );
    }
}
