//! `weir validate -f PATH`: every error and warning of every spec, or "ok".
//!
//! Stricter than storing: the API stores a spec with warnings (a field
//! naming what another lacks, which the published schema cannot state), but
//! files being checked before they are applied should have none.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::specs;

/// Arguments of `weir validate`.
#[derive(clap::Args)]
pub struct Args {
    /// A spec file or a folder of them.
    #[arg(short = 'f', long = "file")]
    path: PathBuf,
}

/// Exit 0 when every spec is valid without a warning, 1 with every error
/// and warning otherwise.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match specs::compile(&args.path) {
        Ok(bundle) if !bundle.warnings().is_empty() => {
            let n = bundle.warnings().0.len();
            eprintln!("{n} warning{}", if n == 1 { "" } else { "s" });
            Ok(ExitCode::FAILURE)
        }
        Ok(bundle) => {
            let n = bundle.symbols().len();
            println!("{n} spec{} valid", if n == 1 { "" } else { "s" });
            Ok(ExitCode::SUCCESS)
        }
        Err(specs::Reported) => Ok(ExitCode::FAILURE),
    }
}
