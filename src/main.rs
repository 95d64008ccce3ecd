//! The `weir` command line: validate, run, graph and start workflows.
//!
//! Each subcommand lives in its own module under `commands/`; this file only
//! parses arguments, sets up logging and turns errors into one clear line
//! each with a non-zero exit code.

mod backend;
mod commands;
mod database;
mod jobs;
mod progress;
mod remote;
mod report;
mod specs;
mod system;
mod table;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The engine allocates a few small objects per hop (futures, oneshots);
/// mimalloc serves them faster than glibc's malloc under concurrency
/// (docs/benchmarks.md, HTTP).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Weir: a dataflow engine for YAML-declared workflows.
#[derive(Parser)]
#[command(name = "weir", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check specs without running them (no database needed).
    Validate(commands::validate::Args),
    /// Send one packet through a workflow and print the answer as JSON.
    Run(commands::run::Args),
    /// Print a workflow's graph as Mermaid or Graphviz DOT.
    Graph(commands::graph::Args),
    /// Run the workflows the database holds, following every change.
    Start(commands::start::Args),
    /// Store specs or values from a file or folder, all or nothing (in the
    /// database, or through a running engine with --server).
    Apply(commands::apply::Args),
    /// List stored specs (with their status) or values.
    Get(commands::get::Args),
    /// Delete stored specs or values.
    Delete(commands::delete::Args),
    /// Apply the database schema.
    Migrate(commands::migrate::Args),
    /// Print the kind reference (docs/nodes.md) as Markdown.
    Docs(commands::docs::Args),
    /// Run the native pipeline compiler over Python files and print the manifests.
    Compile(commands::compile::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WEIR_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Validate(args) => commands::validate::run(args),
            Command::Run(args) => commands::run::run(args).await,
            Command::Graph(args) => commands::graph::run(args),
            Command::Start(args) => commands::start::run(args).await,
            Command::Apply(args) => commands::apply::run(args).await,
            Command::Get(args) => commands::get::run(args).await,
            Command::Delete(args) => commands::delete::run(args).await,
            Command::Migrate(args) => commands::migrate::run(args).await,
            Command::Docs(args) => commands::docs::run(args),
            Command::Compile(args) => commands::compile::run(args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", report::one_line(&error));
            ExitCode::FAILURE
        }
    }
}
