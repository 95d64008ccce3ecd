//! `weir start [-n NS]... [-f PATH]... [--no-system]`: runs the workflows
//! the database holds, following every change until interrupted.
//!
//! It first applies the system namespace (the modification API, embedded
//! in the binary: [`crate::system`]) and makes sure the API has a token,
//! then `-f` spec files (the bundled examples, say), so one command brings
//! a fresh machine up. The database is migrated on the way, and handed to
//! the kinds that need it (the `system` family, `sql` nodes that name no
//! connection) as scheme resources.

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
    /// Neither apply nor run the system namespace (the modification API).
    #[arg(long)]
    no_system: bool,
    #[command(flatten)]
    database: DatabaseArgs,
}

/// Runs until Ctrl-C, then drains.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let store = args.database.open_patiently().await?;
    if !args.no_system {
        if let Some(path) = crate::system::ensure_token()? {
            eprintln!(
                "system API token written to {} (mode 0600); send it as `Authorization: Bearer <token>`",
                path.display()
            );
        }
        let specs = match crate::system::specs() {
            Ok(specs) => specs,
            Err(diagnostics) => {
                crate::specs::print(&diagnostics);
                return Ok(ExitCode::FAILURE);
            }
        };
        if !apply(&store, "system namespace", specs).await? {
            return Ok(ExitCode::FAILURE);
        }
    }
    for path in &args.paths {
        let Ok(specs) = crate::specs::read(path) else {
            return Ok(ExitCode::FAILURE);
        };
        if !apply(&store, &path.display().to_string(), specs).await? {
            return Ok(ExitCode::FAILURE);
        }
    }
    let mut namespaces = args.namespaces;
    if !namespaces.is_empty() && !args.no_system {
        namespaces.push(crate::system::NAMESPACE.to_string());
    }
    let namespaces = (!namespaces.is_empty()).then_some(namespaces);
    let host = weir_nodes::Host::builder()
        .store(store.clone(), args.database.url())
        .build();
    let progress = Arc::new(Mutex::new(Progress::new("loading specs")));
    let shown = progress.clone();
    let loader = Loader::new(store, host.scheme().clone(), namespaces, Limits::default())
        .with_progress(Box::new(move |done, total| {
            shown
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .show(done, total)
        }));
    let loaded = loader.sync().await.context("cannot load the specs")?;
    progress.lock().unwrap_or_else(|p| p.into_inner()).finish();
    for (spec, error) in &loaded.failed {
        eprintln!("error: {spec}: {error}");
    }
    for (namespace, table) in loader.tables() {
        let statuses = table.statuses().await;
        let active = statuses
            .iter()
            .filter(|(_, _, s)| matches!(s, Status::Active | Status::Degraded(_)))
            .count();
        eprintln!(
            "namespace `{namespace}`: {active} of {} nodes active",
            statuses.len()
        );
        for (_, node, status) in &statuses {
            match status {
                Status::Active => {}
                Status::Degraded(why) => eprintln!("  warning: `{node}` {why}"),
                Status::Inactive(why) => eprintln!("  `{node}` is inactive: {why}"),
                Status::Failed(why) => eprintln!("  error: `{node}` failed: {why}"),
            }
        }
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
    // The host's services first: the job worker drains its runs while
    // their nodes still run, and gives back the rest.
    host.shutdown().await;
    loader.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// Checks and stores `specs`, saying what changed; false when they had
/// problems (printed) and nothing was stored.
async fn apply(
    store: &weir_engine::store::Store,
    label: &str,
    specs: Vec<weir_engine::spec::source::Sourced>,
) -> anyhow::Result<bool> {
    let Some(plan) = crate::backend::store_specs(store, specs, false).await? else {
        return Ok(false);
    };
    eprintln!(
        "{label}: {} created, {} updated, {} unchanged",
        plan.created.len(),
        plan.updated.len(),
        plan.unchanged.len()
    );
    Ok(true)
}
