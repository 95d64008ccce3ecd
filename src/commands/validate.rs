//! `weir validate -f PATH`: every error of every spec, or "ok".

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

/// Exit 0 when every spec is valid, 1 with every error otherwise.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match specs::compile(&args.path) {
        Ok(bundle) => {
            let n = bundle.symbols().len();
            println!("{n} spec{} valid", if n == 1 { "" } else { "s" });
            Ok(ExitCode::SUCCESS)
        }
        Err(specs::Reported) => Ok(ExitCode::FAILURE),
    }
}
