//! `weir delete specs|values (-f PATH | NAME...) [-n NS]`: removes rows in
//! one transaction.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use weir_engine::spec::NamedValue;
use weir_engine::spec::source;
use weir_engine::store::Entity;

use crate::commands::apply::What;
use crate::database::DatabaseArgs;
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
    /// The namespace of the names.
    #[arg(short = 'n', long, default_value = weir_engine::spec::DEFAULT_NAMESPACE)]
    namespace: String,
    #[command(flatten)]
    database: DatabaseArgs,
}

/// Deletes and prints what went.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (entity, keys) = match (&args.path, args.what) {
        (None, _) if args.names.is_empty() => bail!("name what to delete, or give -f FILE"),
        (None, What::Specs) => (Entity::Spec, named(&args)),
        (None, What::Values) => (Entity::Value, named(&args)),
        (Some(path), What::Specs) => {
            let Ok(specs) = specs::read(path) else {
                return Ok(ExitCode::FAILURE);
            };
            (
                Entity::Spec,
                specs
                    .into_iter()
                    .map(|s| (s.spec.namespace.clone(), s.spec.key()))
                    .collect(),
            )
        }
        (Some(path), What::Values) => match source::read_path_as::<NamedValue>(path) {
            Ok(values) => (
                Entity::Value,
                values
                    .into_iter()
                    .map(|(_, v)| (v.namespace, v.name))
                    .collect(),
            ),
            Err(diagnostics) => {
                specs::print(&diagnostics);
                return Ok(ExitCode::FAILURE);
            }
        },
    };
    let store = args.database.open().await?;
    let deleted = store.delete(entity, &keys).await?;
    store.close().await;
    for key in &deleted {
        println!("deleted {key}");
    }
    let missing: Vec<String> = keys
        .iter()
        .map(|(ns, name)| format!("{ns}/{name}"))
        .filter(|k| !deleted.contains(k))
        .collect();
    for key in &missing {
        eprintln!("not found: {key}");
    }
    Ok(match missing.is_empty() {
        true => ExitCode::SUCCESS,
        false => ExitCode::FAILURE,
    })
}

fn named(args: &Args) -> Vec<(String, String)> {
    args.names
        .iter()
        .map(|n| (args.namespace.clone(), n.clone()))
        .collect()
}
