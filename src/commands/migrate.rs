//! `weir migrate`: applies the schema to the database.

use std::process::ExitCode;

use crate::database::DatabaseArgs;

/// Arguments of `weir migrate`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    database: DatabaseArgs,
}

/// Connects, migrates, says so.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let store = args.database.open().await?;
    println!("database schema is up to date");
    store.close().await;
    Ok(ExitCode::SUCCESS)
}
