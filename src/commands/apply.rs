//! `weir apply [specs|values] -f PATH [--dry-run]`: stores a file or folder
//! in one transaction, all or nothing, after checking every spec against
//! what the database already holds.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use weir_engine::env::ValueMap;
use weir_engine::spec::NamedValue;
use weir_engine::spec::source::{self, Sourced};
use weir_engine::store::{Entity, Plan, Store};
use weir_engine::{Bundle, Diagnostics, Origin};

use crate::database::DatabaseArgs;
use crate::progress::Progress;
use crate::specs::{self, Reported};

/// Arguments of `weir apply`.
#[derive(clap::Args)]
pub struct Args {
    /// What the file holds.
    #[arg(value_enum, default_value_t = What::Specs)]
    what: What,
    /// A file or a folder of them.
    #[arg(short = 'f', long = "file")]
    path: PathBuf,
    /// Print what would change; store nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    database: DatabaseArgs,
}

/// Specs or values.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum What {
    /// Node specs.
    Specs,
    /// Named values and secrets.
    Values,
}

/// Applies, printing what was created, updated and left unchanged.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let store = args.database.open().await?;
    let result = match args.what {
        What::Specs => apply_specs(&store, &args).await,
        What::Values => apply_values(&store, &args).await,
    };
    store.close().await;
    match result? {
        Some(plan) => {
            print_plan(&plan, args.dry_run);
            Ok(ExitCode::SUCCESS)
        }
        None => Ok(ExitCode::FAILURE),
    }
}

async fn apply_specs(store: &Store, args: &Args) -> anyhow::Result<Option<Plan>> {
    store_specs(store, &args.path, args.dry_run).await
}

/// Reads, checks and stores the specs of `path` in one transaction; `None`
/// when they had errors (already printed) and nothing was stored.
pub async fn store_specs(
    store: &Store,
    path: &Path,
    dry_run: bool,
) -> anyhow::Result<Option<Plan>> {
    let Ok(specs) = specs::read(path) else {
        return Ok(None);
    };
    if check(store, &specs).await?.is_err() {
        return Ok(None);
    }
    let documents = specs.into_iter().map(|s| s.spec).collect();
    Ok(Some(
        store
            .apply(documents, dry_run)
            .await
            .context("cannot store the specs")?,
    ))
}

async fn apply_values(store: &Store, args: &Args) -> anyhow::Result<Option<Plan>> {
    let values = match source::read_path_as::<NamedValue>(&args.path) {
        Ok(values) => values.into_iter().map(|(_, v)| v).collect(),
        Err(diagnostics) => {
            specs::print(&diagnostics);
            return Ok(None);
        }
    };
    Ok(Some(
        store
            .apply(values, args.dry_run)
            .await
            .context("cannot store the values")?,
    ))
}

/// Where specs already in the database come from, in messages.
const STORED: &str = "(database)";

/// Compiles the new specs together with the stored specs of the same
/// namespaces they do not replace, with the stored values bound, and prints
/// every problem of the new ones.
async fn check(store: &Store, specs: &[Sourced]) -> anyhow::Result<Result<(), Reported>> {
    let mut values = ValueMap::default();
    for row in store.list(Entity::Value, None).await? {
        if let Ok(value) = row.decode::<NamedValue>() {
            values.insert(value);
        }
    }
    let mut namespaces: Vec<&str> = specs.iter().map(|s| s.spec.namespace.as_str()).collect();
    namespaces.sort();
    namespaces.dedup();
    let mut all = specs.to_vec();
    for namespace in namespaces {
        for (index, row) in store
            .list(Entity::Spec, Some(namespace))
            .await?
            .into_iter()
            .enumerate()
        {
            let replaced = specs
                .iter()
                .any(|s| s.spec.namespace == row.namespace && s.spec.key() == row.name);
            if let (false, Ok(spec)) = (replaced, row.decode()) {
                let origin = Origin {
                    file: Some(STORED.into()),
                    index,
                    ..Origin::default()
                };
                all.push(Sourced { origin, spec });
            }
        }
    }
    let mut progress = Progress::new("checking specs");
    let scheme = weir_nodes::scheme();
    let checked = Bundle::compile_with_progress(&scheme, all, &values, &mut |done, total| {
        progress.show(done, total)
    });
    progress.finish();
    match checked {
        Ok(_) => Ok(Ok(())),
        Err(diagnostics) => {
            let own = diagnostics
                .0
                .into_iter()
                .filter(|d| d.origin.file.as_deref() != Some(STORED))
                .collect();
            let own = Diagnostics(own);
            match own.is_empty() {
                true => Ok(Ok(())),
                false => {
                    specs::print(&own);
                    Ok(Err(Reported))
                }
            }
        }
    }
}

fn print_plan(plan: &Plan, dry_run: bool) {
    let (created, updated) = match dry_run {
        true => ("would create", "would update"),
        false => ("created", "updated"),
    };
    for key in &plan.created {
        println!("{created} {key}");
    }
    for key in &plan.updated {
        println!("{updated} {key}");
    }
    for key in &plan.unchanged {
        println!("unchanged {key}");
    }
}
