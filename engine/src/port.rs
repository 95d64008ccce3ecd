//! Port names: `in`, `out`, `error`, and indexed forms such as `out[0]`.
//!
//! A port is the unit a link connects. This module only parses and matches
//! names; it knows nothing of links, nodes or packets.

use std::fmt;
use std::sync::Arc;

/// A parsed port name: a base name and an optional index (`out[2]`).
///
/// Cloning is cheap, because ports travel with every packet envelope: the
/// names every packet path uses (`in`, `out`, `error`) are static, so
/// cloning them touches no shared counter (a counter every hop of every
/// thread updated was a contended cache line); other names are shared.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Port {
    base: Name,
    index: Option<u32>,
}

/// A port's base name.
#[derive(Clone)]
enum Name {
    Static(&'static str),
    Shared(Arc<str>),
}

impl Name {
    fn new(text: &str) -> Name {
        match text {
            "in" => Name::Static("in"),
            "out" => Name::Static("out"),
            "error" => Name::Static("error"),
            other => Name::Shared(other.into()),
        }
    }

    fn as_str(&self) -> &str {
        match self {
            Name::Static(s) => s,
            Name::Shared(s) => s,
        }
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Name {}

impl std::hash::Hash for Name {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Name) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Name {
    fn cmp(&self, other: &Name) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

/// Why a port name did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{name}` is not a port name (expected `name` or `name[index]`, e.g. `out` or `out[0]`)")]
pub struct PortError {
    /// The text that failed to parse.
    pub name: String,
}

impl Port {
    /// The input port every node has.
    pub const fn input() -> Port {
        Port::fixed("in")
    }

    /// The main output port.
    pub const fn output() -> Port {
        Port::fixed("out")
    }

    /// The port a node's own failures go to when it is linked.
    pub const fn error() -> Port {
        Port::fixed("error")
    }

    const fn fixed(base: &'static str) -> Port {
        Port {
            base: Name::Static(base),
            index: None,
        }
    }

    /// `base[index]`, e.g. `Port::indexed("out", 0)` is `out[0]`.
    pub fn indexed(base: &str, index: u32) -> Port {
        Port {
            base: Name::new(base),
            index: Some(index),
        }
    }

    /// A port with no index. The caller vouches the name is well formed.
    pub fn named(base: &str) -> Port {
        Port {
            base: Name::new(base),
            index: None,
        }
    }

    /// What [`Port::parse`] accepts, as a JSON Schema pattern (for the
    /// API's schemas; its index is bounded to nine digits there).
    pub const PATTERN: &'static str = r"^[A-Za-z][A-Za-z0-9_-]*(\[[0-9]{1,9}\])?$";

    /// Parses `name` or `name[index]`; names are ASCII letters, digits, `_`
    /// and `-`, starting with a letter.
    pub fn parse(text: &str) -> Result<Port, PortError> {
        let err = || PortError {
            name: text.to_string(),
        };
        let (base, index) = match text.split_once('[') {
            None => (text, None),
            Some((base, rest)) => {
                let digits = rest.strip_suffix(']').ok_or_else(err)?;
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(err());
                }
                (base, Some(digits.parse::<u32>().map_err(|_| err())?))
            }
        };
        let mut chars = base.chars();
        let starts_well = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
        if !starts_well || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err(err());
        }
        Ok(Port {
            base: Name::new(base),
            index,
        })
    }

    /// The name without its index: `out` for `out[3]`.
    pub fn base(&self) -> &str {
        self.base.as_str()
    }

    /// The index, if the port has one.
    pub fn index(&self) -> Option<u32> {
        self.index
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.index {
            Some(i) => write!(f, "{}[{i}]", self.base()),
            None => f.write_str(self.base()),
        }
    }
}

impl fmt::Debug for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Which ports of one side (inputs or outputs) a kind has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PortPattern {
    /// Exactly this port, e.g. `in` or `out[1]`.
    Exact(Port),
    /// `base` with any index, e.g. `out[*]` matches `out[0]`, `out[7]`.
    Indexed(Arc<str>),
}

impl PortPattern {
    /// Whether `port` is one this pattern allows.
    pub fn matches(&self, port: &Port) -> bool {
        match self {
            PortPattern::Exact(p) => p == port,
            PortPattern::Indexed(base) => port.index.is_some() && port.base() == &**base,
        }
    }
}

impl fmt::Display for PortPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortPattern::Exact(p) => write!(f, "{p}"),
            PortPattern::Indexed(base) => write!(f, "{base}[*]"),
        }
    }
}

/// The ports a compiled node has: the inputs links may target and the
/// outputs it may write. Every node also has the `error` output, so it is
/// always accepted without being listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ports {
    inputs: Vec<PortPattern>,
    outputs: Vec<PortPattern>,
    source: bool,
    /// Whether the out-ports are named by the spec's own fields (a
    /// router's routes), not fixed by its kind.
    named: bool,
}

impl Default for Ports {
    /// `in` → `out`: the shape of most nodes.
    fn default() -> Self {
        Ports::new()
            .input(PortPattern::Exact(Port::input()))
            .output(PortPattern::Exact(Port::output()))
    }
}

impl Ports {
    /// No ports at all (add them with [`Ports::input`] and [`Ports::output`]).
    pub fn new() -> Ports {
        Ports {
            inputs: Vec::new(),
            outputs: Vec::new(),
            source: false,
            named: false,
        }
    }

    /// Marks the node as a source: it starts processes of its own (a
    /// listener, a timer, a job worker). A source stays active while a link
    /// target is missing or inactive; what it writes there answers an
    /// `inactive` error (503) naming the target, so a listener keeps its
    /// socket and says what is missing instead of going away.
    pub fn source(mut self) -> Ports {
        self.source = true;
        self
    }

    /// Whether the node is a source ([`Ports::source`]).
    pub fn is_source(&self) -> bool {
        self.source
    }

    /// `in` → `out[0]` and `out[1]`: a node with two branches (`if`,
    /// `for`, `pipe`).
    pub fn two_branches() -> Ports {
        Ports::new()
            .input(PortPattern::Exact(Port::input()))
            .output(PortPattern::Exact(Port::indexed("out", 0)))
            .output(PortPattern::Exact(Port::indexed("out", 1)))
    }

    /// Adds an input pattern.
    pub fn input(mut self, pattern: PortPattern) -> Ports {
        self.inputs.push(pattern);
        self
    }

    /// Adds an output pattern.
    pub fn output(mut self, pattern: PortPattern) -> Ports {
        self.outputs.push(pattern);
        self
    }

    /// Adds an exact output for each port name a spec chose (a `switch`'s
    /// cases, a `router`'s routes). A name that does not parse is left
    /// out: the kind's compile step reports it with its field path.
    pub fn outputs_named<'a>(self, names: impl IntoIterator<Item = &'a str>) -> Ports {
        names
            .into_iter()
            .filter_map(|name| Port::parse(name).ok())
            .fold(self.named(), |ports, port| {
                ports.output(PortPattern::Exact(port))
            })
    }

    /// Marks the out-ports as named by the spec's fields: what a kind's
    /// schema can say of them is only the port-name syntax.
    pub fn named(mut self) -> Ports {
        self.named = true;
        self
    }

    /// Whether the out-ports are named by the spec's fields.
    pub fn is_named(&self) -> bool {
        self.named
    }

    /// Whether a link may target `port` on this node.
    pub fn accepts(&self, port: &Port) -> bool {
        self.inputs.iter().any(|p| p.matches(port))
    }

    /// Whether this node may write to `port`.
    pub fn emits(&self, port: &Port) -> bool {
        *port == Port::error() || self.outputs.iter().any(|p| p.matches(port))
    }

    /// The declared inputs, for messages and documentation.
    pub fn inputs(&self) -> &[PortPattern] {
        &self.inputs
    }

    /// The declared outputs (without the implicit `error`).
    pub fn outputs(&self) -> &[PortPattern] {
        &self.outputs
    }
}

/// Lists patterns as `in, out[*]` for error messages.
pub(crate) fn describe(patterns: &[PortPattern]) -> String {
    if patterns.is_empty() {
        return "none".to_string();
    }
    patterns
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_indexed_names() {
        assert_eq!(Port::parse("out").unwrap(), Port::output());
        let p = Port::parse("out[12]").unwrap();
        assert_eq!((p.base(), p.index()), ("out", Some(12)));
        assert_eq!(p.to_string(), "out[12]");
        assert_eq!(Port::parse("my-port_2").unwrap().base(), "my-port_2");
    }

    #[test]
    fn rejects_malformed_names() {
        for bad in [
            "", "1out", "out[", "out[]", "out[x]", "out[1", "o ut", "out[-1]", "[0]",
        ] {
            assert!(Port::parse(bad).is_err(), "{bad:?} should not parse");
        }
        let err = Port::parse("out[x]").unwrap_err();
        assert!(err.to_string().contains("`out[x]`"));
    }

    #[test]
    fn patterns_match_ports() {
        let ports = Ports::new()
            .input(PortPattern::Exact(Port::input()))
            .output(PortPattern::Indexed("out".into()));
        assert!(ports.accepts(&Port::input()));
        assert!(!ports.accepts(&Port::output()));
        assert!(ports.emits(&Port::indexed("out", 3)));
        assert!(!ports.emits(&Port::output()));
        assert!(ports.emits(&Port::error()), "error is always emitted");
        assert_eq!(describe(ports.outputs()), "out[*]");
    }
}
