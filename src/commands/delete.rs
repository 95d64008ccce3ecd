//! `weir delete specs|values (-f PATH | NAME...) [-n NS] [--server URL]`:
//! removes rows in one transaction, directly or through a running engine.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use weir_engine::spec::NamedValue;
use weir_engine::spec::source;
use weir_engine::store::Key;

use crate::backend::{Backend, BackendArgs};
use crate::commands::apply::{What, print_plan};
use crate::specs;

/// Arguments of `weir delete`.
#[derive(clap::Args)]
pub struct Args {
    /// Specs or values.
    #[arg(value_enum)]
    what: What,
    /// Names to delete (in the namespace given by -n).
    names: Vec<String>,
    /// Delete what this file or folder declares.
    #[arg(short = 'f', long = "file", conflicts_with = "names")]
    path: Option<PathBuf>,
    /// Delete even if other specs link to these (they go inactive, and are
    /// listed); without it such a delete is refused, naming them.
    #[arg(long)]
    cascade: bool,
    /// The namespace of the names.
    #[arg(short = 'n', long, default_value = weir_engine::spec::DEFAULT_NAMESPACE)]
    namespace: String,
    #[command(flatten)]
    backend: BackendArgs,
}

/// Deletes and prints what went; fails if anything named was not there.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let keys: Vec<Key> = match (&args.path, args.what) {
        (None, _) if args.names.is_empty() => bail!("name what to delete, or give -f FILE"),
        (None, _) => args
            .names
            .iter()
            .map(|n| Key::named(&args.namespace, n))
            .collect(),
        (Some(path), What::Specs) => {
            let Ok(specs) = specs::read(path) else {
                return Ok(ExitCode::FAILURE);
            };
            specs
                .into_iter()
                .map(|s| Key::named(&s.spec.namespace, s.spec.key()))
                .collect()
        }
        (Some(path), What::Values) => match source::read_path_as::<NamedValue>(path) {
            Ok(values) => values
                .into_iter()
                .map(|(_, v)| Key::named(v.namespace, v.name))
                .collect(),
            Err(diagnostics) => {
                specs::print(&diagnostics);
                return Ok(ExitCode::FAILURE);
            }
        },
    };
    let backend = Backend::open(&args.backend).await?;
    let plan = backend.delete(args.what.entity(), keys, args.cascade).await;
    backend.close().await;
    let plan = plan?;
    print_plan(&plan, false);
    Ok(match plan.missing.is_empty() {
        true => ExitCode::SUCCESS,
        false => ExitCode::FAILURE,
    })
}
