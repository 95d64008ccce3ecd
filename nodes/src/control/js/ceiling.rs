//! The engine-wide ceilings on what a spec may ask of JavaScript.
//!
//! A spec chooses its own `memory_mib` and `timeout`, but never more than
//! the operator allows: the ceilings are read once per process from the
//! environment (`WEIR_JS_MAX_MEMORY_MIB`, `WEIR_JS_MAX_TIMEOUT_MS`), never
//! from a spec, and a spec above one fails to compile, naming the field and
//! the ceiling. This module only reads and checks numbers; it runs no code.

use std::sync::LazyLock;
use std::time::Duration;

/// The variable that sets the memory ceiling, in MiB.
pub const MEMORY_VAR: &str = "WEIR_JS_MAX_MEMORY_MIB";
/// The variable that sets the time ceiling, in milliseconds.
pub const TIMEOUT_VAR: &str = "WEIR_JS_MAX_TIMEOUT_MS";

/// The memory ceiling when the operator sets none.
pub const DEFAULT_MAX_MEMORY_MIB: u32 = 512;
/// The time ceiling when the operator sets none.
pub const DEFAULT_MAX_TIMEOUT: Duration = Duration::from_secs(30);

/// The most a spec may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ceilings {
    /// The largest `memory_mib`.
    pub memory_mib: u32,
    /// The longest `timeout`.
    pub timeout: Duration,
}

static CEILINGS: LazyLock<Ceilings> =
    LazyLock::new(|| Ceilings::read(|name| std::env::var(name).ok()));

/// The ceilings of this process (read from its environment once).
pub fn ceilings() -> Ceilings {
    *CEILINGS
}

impl Ceilings {
    /// Reads the ceilings through `var`. A variable that is not a positive
    /// whole number is ignored with a warning (the default holds), since
    /// a typo must not lift the ceiling.
    pub fn read(var: impl Fn(&str) -> Option<String>) -> Ceilings {
        let number = |name: &str| {
            let text = var(name)?;
            match text.trim().parse::<u64>() {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    tracing::warn!(
                        variable = name,
                        "not a positive whole number; the default ceiling holds"
                    );
                    None
                }
            }
        };
        Ceilings {
            memory_mib: number(MEMORY_VAR).map_or(DEFAULT_MAX_MEMORY_MIB, |n| {
                u32::try_from(n).unwrap_or(u32::MAX)
            }),
            timeout: number(TIMEOUT_VAR).map_or(DEFAULT_MAX_TIMEOUT, Duration::from_millis),
        }
    }

    /// The refusal of a `memory_mib` above the ceiling, if it is.
    pub fn check_memory(&self, memory_mib: u32) -> Option<String> {
        (memory_mib > self.memory_mib).then(|| {
            format!(
                "{memory_mib} MiB is above the engine's ceiling of {} MiB (the operator sets it with {MEMORY_VAR})",
                self.memory_mib
            )
        })
    }

    /// The refusal of a `timeout` above the ceiling, if it is.
    pub fn check_timeout(&self, timeout: Duration) -> Option<String> {
        (timeout > self.timeout).then(|| {
            format!(
                "{} is above the engine's ceiling of {} (the operator sets it with {TIMEOUT_VAR}, in milliseconds)",
                super::super::duration::Duration(timeout),
                super::super::duration::Duration(self.timeout)
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operator_sets_the_ceilings_and_a_typo_keeps_the_default() {
        let read = |memory: Option<&str>, timeout: Option<&str>| {
            Ceilings::read(|name| match name {
                MEMORY_VAR => memory.map(str::to_string),
                TIMEOUT_VAR => timeout.map(str::to_string),
                _ => None,
            })
        };
        let default = read(None, None);
        assert_eq!(
            default,
            Ceilings {
                memory_mib: DEFAULT_MAX_MEMORY_MIB,
                timeout: DEFAULT_MAX_TIMEOUT
            }
        );
        let set = read(Some("2048"), Some("1500"));
        assert_eq!(
            (set.memory_mib, set.timeout),
            (2048, Duration::from_millis(1500))
        );
        assert_eq!(read(Some("lots"), Some("0")), default);
        assert_eq!(read(Some("-1"), Some("1e9")), default);
    }

    #[test]
    fn a_value_above_a_ceiling_is_refused_naming_it() {
        let ceilings = Ceilings {
            memory_mib: 512,
            timeout: Duration::from_secs(30),
        };
        assert_eq!(ceilings.check_memory(512), None);
        assert_eq!(
            ceilings.check_memory(100_000).as_deref(),
            Some(
                "100000 MiB is above the engine's ceiling of 512 MiB (the operator sets it with WEIR_JS_MAX_MEMORY_MIB)"
            )
        );
        assert_eq!(ceilings.check_timeout(Duration::from_secs(30)), None);
        let refused = ceilings.check_timeout(Duration::from_secs(31)).unwrap();
        assert!(
            refused.starts_with("31s is above the engine's ceiling of 30s"),
            "{refused}"
        );
    }
}
