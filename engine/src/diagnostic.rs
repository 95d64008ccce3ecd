//! Diagnostics: errors that point at a file, a spec and a field.
//!
//! Every check the engine makes on user input ends here, so that the CLI
//! and the system API can print each error on one line with everything a
//! reader needs to find it. This module only describes errors.

use std::fmt;
use std::sync::Arc;

/// Where a spec came from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    /// The file, if the spec was read from one.
    pub file: Option<Arc<str>>,
    /// Position in its file: 0 for the first spec.
    pub index: usize,
    /// The line the parser reported, if it reported one.
    pub line: Option<usize>,
    /// The spec's name, once known.
    pub name: Option<String>,
    /// The spec's kind, once known.
    pub kind: Option<String>,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            f.write_str(file)?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
            }
            f.write_str(": ")?;
        }
        write!(f, "spec #{}", self.index + 1)?;
        if let Some(name) = &self.name {
            write!(f, " `{name}`")?;
        }
        if let Some(kind) = &self.kind {
            write!(f, " ({kind})")?;
        }
        Ok(())
    }
}

/// What a problem means for the document it is found in.
///
/// The line between an error and a warning is the API's document: what the
/// published schema of a spec allows is stored (a schema cannot relate one
/// field to another's content, such as a router's out-ports to its routes),
/// and what it allows but cannot work as written is a warning, answered
/// with the write and reported again as the node's status when it loads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Severity {
    /// The document is malformed: refused (400).
    #[default]
    Invalid,
    /// The field names something that is not there (a link's target, a
    /// stored value): refused as a conflict with what is stored (409), and
    /// the same document is accepted once that exists.
    Unresolved,
    /// Stored, but likely not what was meant: said with the answer.
    Warning,
}

/// A problem in one field of a spec, before the spec's origin is attached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// Dotted path to the field, e.g. `ports.out[0].name`; empty for the spec.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// Whether it refuses the document, and how.
    pub severity: Severity,
}

impl FieldError {
    /// An error at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            path: path.into(),
            message: message.into(),
            severity: Severity::Invalid,
        }
    }

    /// A reference at `path` to something that is not there.
    pub fn unresolved(path: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            severity: Severity::Unresolved,
            ..FieldError::new(path, message)
        }
    }

    /// A warning at `path`: the document is stored all the same.
    pub fn warning(path: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            severity: Severity::Warning,
            ..FieldError::new(path, message)
        }
    }

    /// Whether the document is stored all the same.
    pub fn is_warning(&self) -> bool {
        self.severity == Severity::Warning
    }

    /// The problem on one line, a warning marked `warning: `.
    pub fn line(&self) -> String {
        match self.is_warning() {
            true => format!("warning: {self}"),
            false => self.to_string(),
        }
    }

    /// The same error, with `prefix` put before its path.
    pub fn within(mut self, prefix: &str) -> FieldError {
        if prefix.is_empty() {
            return self;
        }
        self.path = match self.path.is_empty() {
            true => prefix.to_string(),
            false if self.path.starts_with('[') => format!("{prefix}{}", self.path),
            false => format!("{prefix}.{}", self.path),
        };
        self
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.path.is_empty() {
            true => f.write_str(&self.message),
            false => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

/// One error with its origin: `flow.yaml: spec #2 `big` (if): when: …`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Which spec.
    pub origin: Origin,
    /// Which field, and what is wrong.
    pub error: FieldError,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.origin, self.error)
    }
}

/// Every error found in a set of specs; never just the first.
#[derive(Clone, Debug, Default, PartialEq, Eq, thiserror::Error)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Records errors for one spec.
    pub fn extend(&mut self, origin: &Origin, errors: impl IntoIterator<Item = FieldError>) {
        self.0.extend(errors.into_iter().map(|error| Diagnostic {
            origin: origin.clone(),
            error,
        }));
    }

    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether every error is an unresolved reference (and there is
    /// one); warnings aside.
    pub fn all_unresolved(&self) -> bool {
        let mut errors = self.0.iter().filter(|d| !d.error.is_warning()).peekable();
        errors.peek().is_some() && errors.all(|d| d.error.severity == Severity::Unresolved)
    }

    /// The errors and the warnings, apart.
    pub fn split(self) -> (Diagnostics, Diagnostics) {
        let (warnings, errors) = self.0.into_iter().partition(|d| d.error.is_warning());
        (Diagnostics(errors), Diagnostics(warnings))
    }

    /// `Ok(value)` when empty, else `Err(self)`.
    pub fn into_result<T>(self, value: T) -> Result<T, Diagnostics> {
        match self.is_empty() {
            true => Ok(value),
            false => Err(self),
        }
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_file_line_spec_and_field() {
        let origin = Origin {
            file: Some("flow.yaml".into()),
            index: 1,
            line: Some(7),
            name: Some("big".into()),
            kind: Some("if".into()),
        };
        let mut all = Diagnostics::default();
        all.extend(&origin, [FieldError::new("when", "bad").within("")]);
        all.extend(
            &origin,
            [FieldError::new("[0].port", "bad").within("ports.out")],
        );
        assert_eq!(
            all.to_string(),
            "flow.yaml:7: spec #2 `big` (if): when: bad\nflow.yaml:7: spec #2 `big` (if): ports.out[0].port: bad"
        );
    }
}
