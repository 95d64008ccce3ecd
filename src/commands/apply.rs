//! `weir apply [specs|values] -f PATH [--dry-run] [--server URL]`: stores a
//! file or folder in one transaction, all or nothing, after checking every
//! spec against what the database already holds; directly, or through a
//! running engine's system API.

use std::path::PathBuf;
use std::process::ExitCode;

use weir_engine::spec::NamedValue;
use weir_engine::spec::source;
use weir_engine::store::Plan;

use crate::backend::{Backend, BackendArgs};
use crate::specs;

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
    backend: BackendArgs,
}

/// Specs or values.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum What {
    /// Node specs.
    Specs,
    /// Named values and secrets.
    Values,
}

impl What {
    /// The store's table for it.
    pub fn entity(self) -> weir_engine::store::Entity {
        match self {
            What::Specs => weir_engine::store::Entity::Spec,
            What::Values => weir_engine::store::Entity::Value,
        }
    }
}

/// Applies, printing what was created, updated and left unchanged.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    // Read (and report bad files) before connecting anywhere.
    let result = match args.what {
        What::Specs => {
            let Ok(specs) = specs::read(&args.path) else {
                return Ok(ExitCode::FAILURE);
            };
            let backend = Backend::open(&args.backend).await?;
            let result = backend.apply_specs(specs, args.dry_run).await;
            backend.close().await;
            result
        }
        What::Values => {
            let values = match source::read_path_as::<NamedValue>(&args.path) {
                Ok(values) => values,
                Err(diagnostics) => {
                    specs::print(&diagnostics);
                    return Ok(ExitCode::FAILURE);
                }
            };
            let backend = Backend::open(&args.backend).await?;
            let result = backend.apply_values(values, args.dry_run).await;
            backend.close().await;
            result
        }
    };
    match result? {
        Some(plan) => {
            print_plan(&plan, args.dry_run);
            Ok(ExitCode::SUCCESS)
        }
        None => Ok(ExitCode::FAILURE),
    }
}

/// Prints a plan, one line per row.
pub fn print_plan(plan: &Plan, dry_run: bool) {
    let (created, updated, deleted) = match dry_run {
        true => ("would create", "would update", "would delete"),
        false => ("created", "updated", "deleted"),
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
    for key in &plan.deleted {
        println!("{deleted} {key}");
    }
    for key in &plan.missing {
        eprintln!("not found: {key}");
    }
    let deactivated = match dry_run {
        true => "would deactivate",
        false => "deactivated",
    };
    for key in &plan.deactivated {
        println!("{deactivated} {key} (it links to what was deleted)");
    }
}
