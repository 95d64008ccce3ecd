//! `weir docs`: the kind reference, generated from every registered kind's
//! schema, summary and example (what `docs/nodes.md` holds).

use std::process::ExitCode;

/// Arguments of `weir docs`.
#[derive(clap::Args)]
pub struct Args {
    /// Print the JSON Schema of one kind's own fields instead.
    #[arg(long)]
    schema: Option<String>,
}

/// Prints the reference (or one kind's schema) to stdout.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let scheme = weir_nodes::scheme();
    match args.schema {
        None => print!("{}", weir_nodes::reference::markdown(&scheme)),
        Some(kind) => match scheme.codec(&kind) {
            Some(codec) => println!("{}", serde_json::to_string_pretty(&codec.schema())?),
            None => anyhow::bail!("unknown kind `{kind}`"),
        },
    }
    Ok(ExitCode::SUCCESS)
}
