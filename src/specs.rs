//! Reading and compiling spec files for the commands that work without a
//! database, printing every diagnostic on its own line.

use std::path::Path;

use weir_engine::env::NoValues;
use weir_engine::spec::source::{self, Sourced};
use weir_engine::{Bundle, Diagnostics};

/// Specs that failed to read or compile; the errors were already printed.
#[derive(Debug)]
pub struct Reported;

/// Reads `path` (file or folder); prints every problem.
pub fn read(path: &Path) -> Result<Vec<Sourced>, Reported> {
    source::read_path(path).map_err(|d| {
        print(&d);
        Reported
    })
}

/// Reads and compiles `path` with every kind of this build.
pub fn compile(path: &Path) -> Result<Bundle, Reported> {
    let specs = read(path)?;
    Bundle::compile(&weir_nodes::scheme(), specs, &NoValues).map_err(|d| {
        print(&d);
        Reported
    })
}

/// Prints each diagnostic on its own line, then a count.
pub fn print(diagnostics: &Diagnostics) {
    for d in &diagnostics.0 {
        eprintln!("error: {d}");
    }
    let n = diagnostics.0.len();
    eprintln!("{n} error{}", if n == 1 { "" } else { "s" });
}
