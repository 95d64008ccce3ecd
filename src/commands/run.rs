//! `weir run -f PATH --node NAME [--input JSON]`: one packet through a
//! workflow held in memory; the answer goes to stdout as JSON.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use weir_engine::runtime::{Limits, Outcome};
use weir_engine::{Packet, Process};

use crate::specs;

/// Arguments of `weir run`.
#[derive(clap::Args)]
pub struct Args {
    /// A spec file or a folder of them.
    #[arg(short = 'f', long = "file")]
    path: PathBuf,
    /// The node whose `in` port gets the packet.
    #[arg(long)]
    node: String,
    /// The namespace of the node, when its name is used in several.
    #[arg(short = 'n', long)]
    namespace: Option<String>,
    /// The payload, as JSON (default: null).
    #[arg(long, default_value = "null", allow_hyphen_values = true)]
    input: String,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,
}

/// Prints the answer; exits 1 with the error on stderr if it is an error.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let input = weir_codecs::json::from_str(&args.input).context("--input is not valid JSON")?;
    let Ok(bundle) = specs::compile(&args.path) else {
        return Ok(ExitCode::FAILURE);
    };
    let namespace = pick_namespace(&bundle, &args.node, args.namespace.as_deref())?;
    let timeout = Duration::try_from_secs_f64(args.timeout)
        .context("--timeout must be a positive number of seconds")?;
    let tables = bundle.start(Limits::default()).await;
    let table = &tables[&namespace];
    let process = Process::with_deadline(tokio::time::Instant::now() + timeout);
    let answer = table
        .send(&args.node, process.clone(), Packet::new(input))
        .await;
    let outcome = match answer.as_error() {
        Some(error) => Outcome::Failed(error.clone()),
        None => Outcome::Ok,
    };
    // A success whose exit failed (its transaction did not commit) is that
    // failure.
    let answer = match process.exit(outcome).await {
        Ok(()) => answer,
        Err(error) => Packet::error(error),
    };
    for table in tables.values() {
        table.shutdown().await;
    }
    match answer.as_error() {
        Some(error) => {
            eprintln!("error: {error}");
            Ok(ExitCode::FAILURE)
        }
        None => {
            println!("{}", weir_codecs::json::to_string(answer.payload()));
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The namespace holding `node`: the one given, else the only one that has it.
fn pick_namespace(
    bundle: &weir_engine::Bundle,
    node: &str,
    given: Option<&str>,
) -> anyhow::Result<String> {
    let mut found: Vec<String> = bundle
        .symbols()
        .iter()
        .map(|(_, s)| s.spec())
        .filter(|s| s.key() == node && given.is_none_or(|ns| ns == s.namespace))
        .map(|s| s.namespace.clone())
        .collect();
    found.dedup();
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => match given {
            Some(ns) => bail!("no node `{node}` in namespace `{ns}`"),
            None => bail!("no node `{node}` in any namespace"),
        },
        many => bail!(
            "node `{node}` is in several namespaces ({}): pick one with -n",
            many.join(", ")
        ),
    }
}
