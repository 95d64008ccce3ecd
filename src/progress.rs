//! A one-line progress counter for long work, shown only on a terminal
//! (so piped output stays clean).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Counts `done/total` on one stderr line, at most ten times a second.
pub struct Progress {
    label: &'static str,
    shown: bool,
    last: Option<Instant>,
}

impl Progress {
    /// A counter labelled `label`; silent unless stderr is a terminal.
    pub fn new(label: &'static str) -> Progress {
        Progress {
            label,
            shown: std::io::stderr().is_terminal(),
            last: None,
        }
    }

    /// Shows `done/total`.
    pub fn show(&mut self, done: usize, total: usize) {
        let due = self
            .last
            .is_none_or(|t| t.elapsed() > Duration::from_millis(100))
            || done == total;
        if self.shown && due {
            eprint!("\r{} {done}/{total}", self.label);
            let _ = std::io::stderr().flush();
            self.last = Some(Instant::now());
        }
    }

    /// Ends the line (once).
    pub fn finish(&mut self) {
        if self.shown && self.last.take().is_some() {
            eprintln!();
        }
    }
}
