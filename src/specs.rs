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
    let bundle = Bundle::compile(&weir_nodes::scheme(), specs, &NoValues).map_err(|d| {
        print(&d);
        Reported
    })?;
    print_warnings(bundle.warnings());
    Ok(bundle)
}

/// Prints each warning on its own line.
pub fn print_warnings(warnings: &Diagnostics) {
    for d in &warnings.0 {
        eprintln!("warning: {d}");
    }
}

/// Prints each error on its own line, then a count.
pub fn print(diagnostics: &Diagnostics) {
    let (errors, warnings) = diagnostics.clone().split();
    for d in &errors.0 {
        eprintln!("error: {d}");
    }
    print_warnings(&warnings);
    let n = errors.0.len();
    let mut count = format!("{n} error{}", if n == 1 { "" } else { "s" });
    if let w @ 1.. = warnings.0.len() {
        count.push_str(&format!(", {w} warning{}", if w == 1 { "" } else { "s" }));
    }
    eprintln!("{count}");
}
