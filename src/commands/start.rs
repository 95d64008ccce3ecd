//! `weir start [-n NS]... [-f PATH]...`: runs the workflows the database
//! holds, following every change until interrupted.
//!
//! `-f` applies spec files first (the bundled examples, say), so one command
//! brings a fresh machine up. The database is migrated on the way.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use tokio_util::sync::CancellationToken;
use weir_engine::loader::Loader;
use weir_engine::runtime::Limits;
use weir_engine::symbol::Status;

use crate::database::DatabaseArgs;
use crate::progress::Progress;

/// Arguments of `weir start`.
#[derive(clap::Args)]
pub struct Args {
    /// Run only these namespaces (default: every namespace).
    #[arg(short = 'n', long = "namespace")]
    namespaces: Vec<String>,
    /// Apply these spec files or folders before starting.
    #[arg(short = 'f', long = "file")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    database: DatabaseArgs,
}

/// Runs until Ctrl-C, then drains.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let store = args.database.open_patiently().await?;
    for path in &args.paths {
        let Some(plan) = crate::commands::apply::store_specs(&store, path, false).await? else {
            return Ok(ExitCode::FAILURE);
        };
        eprintln!(
            "{}: {} created, {} updated, {} unchanged",
            path.display(),
            plan.created.len(),
            plan.updated.len(),
            plan.unchanged.len()
        );
    }
    let namespaces = (!args.namespaces.is_empty()).then_some(args.namespaces);
    let progress = Arc::new(Mutex::new(Progress::new("loading specs")));
    let shown = progress.clone();
    let mut scheme = weir_nodes::scheme();
    // `sql` specs that name no connection use the engine's own database.
    scheme.provide(Arc::new(weir_nodes::sql::Pools::with_engine_database(
        args.database.url(),
    )));
    let loader = Loader::new(store, Arc::new(scheme), namespaces, Limits::default()).with_progress(
        Box::new(move |done, total| {
            shown
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .show(done, total)
        }),
    );
    let loaded = loader.sync().await.context("cannot load the specs")?;
    progress.lock().unwrap_or_else(|p| p.into_inner()).finish();
    for (spec, error) in &loaded.failed {
        eprintln!("error: {spec}: {error}");
    }
    for (namespace, table) in loader.tables() {
        let statuses = table.statuses().await;
        let active = statuses
            .iter()
            .filter(|(_, s)| *s == Status::Active)
            .count();
        eprintln!(
            "namespace `{namespace}`: {active} of {} nodes active",
            statuses.len()
        );
    }
    eprintln!("weir is running; press Ctrl-C to stop");
    let stop = CancellationToken::new();
    let follow = loader.run(stop.clone());
    tokio::select! {
        _ = follow => {}
        signal = tokio::signal::ctrl_c() => {
            signal.context("cannot wait for Ctrl-C")?;
            stop.cancel();
        }
    }
    eprintln!("stopping: draining in-flight packets");
    loader.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
