//! `weir get specs|values|jobs [-n NS] [--kind K] [--status S]
//! [-o table|yaml|json] [--server URL]`: what the database holds, read
//! directly or through a running engine; specs with the status their
//! engines reported. Secret values print as `<redacted>`. Jobs are listed
//! by [`crate::jobs`].

use std::process::ExitCode;

use weir_engine::store::{Entity, Filter, Listed};

use crate::backend::{Backend, BackendArgs};
use crate::commands::apply::What;

/// Arguments of `weir get`.
#[derive(clap::Args)]
pub struct Args {
    /// Specs, values or jobs.
    #[arg(value_enum)]
    what: Listing,
    /// Only this namespace.
    #[arg(short = 'n', long)]
    namespace: Option<String>,
    /// Only specs of this kind.
    #[arg(long)]
    kind: Option<String>,
    /// Only jobs in this state (queued, building, success, failed, cancelled).
    #[arg(long)]
    status: Option<String>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Table)]
    output: Output,
    #[command(flatten)]
    backend: BackendArgs,
}

/// What `weir get` lists.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Listing {
    /// Node specs.
    Specs,
    /// Named values and secrets.
    Values,
    /// Durable jobs.
    Jobs,
}

/// Output formats.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// Aligned columns, for people.
    Table,
    /// The documents as YAML, for scripts.
    Yaml,
    /// The documents as a JSON list, for scripts.
    Json,
}

/// Prints the rows.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let what = match args.what {
        Listing::Specs => What::Specs,
        Listing::Values => What::Values,
        Listing::Jobs => {
            if args.kind.is_some() {
                anyhow::bail!("--kind filters specs; jobs have no kind");
            }
            let backend = Backend::open(&args.backend).await?;
            let done = crate::jobs::list(&backend, args.namespace, args.status, args.output).await;
            backend.close().await;
            return done;
        }
    };
    if args.status.is_some() {
        anyhow::bail!("--status filters jobs");
    }
    let entity = what.entity();
    if entity == Entity::Value && args.kind.is_some() {
        anyhow::bail!("--kind filters specs; values have no kind");
    }
    let filter = Filter {
        namespace: args.namespace.clone(),
        kind: args.kind.clone(),
        ..Filter::default()
    };
    let backend = Backend::open(&args.backend).await?;
    let rows = backend.listed(entity, &filter).await;
    backend.close().await;
    let rows = rows?;
    match args.output {
        Output::Table => print_table(entity, &rows),
        Output::Json => {
            let documents: Vec<_> = rows.iter().map(|r| &r.row.document).collect();
            println!("{}", serde_json::to_string_pretty(&documents)?);
        }
        Output::Yaml => {
            let documents: Vec<_> = rows
                .iter()
                .map(|r| weir_codecs::json::from_json(r.row.document.clone()))
                .collect();
            print!(
                "{}",
                weir_codecs::yaml::to_string(&weir_codecs::Value::list(documents))?
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(entity: Entity, rows: &[Listed]) {
    let mut lines = Vec::new();
    match entity {
        Entity::Spec => {
            lines.push(
                ["NAMESPACE", "NAME", "KIND", "REVISION", "STATUS", "UPDATED"]
                    .map(String::from)
                    .to_vec(),
            );
            for Listed { row, status } in rows {
                let kind = row
                    .document
                    .get("kind")
                    .and_then(|k| k.as_str())
                    .unwrap_or("?");
                let status = match status {
                    Some(s) if s.message.is_empty() => s.status.clone(),
                    Some(s) => format!("{}: {}", s.status, s.message),
                    None => "-".to_string(),
                };
                let revision = row.revision.to_string();
                lines.push(vec![
                    row.namespace.clone(),
                    row.name.clone(),
                    kind.into(),
                    revision,
                    status,
                    row.updated_at.clone(),
                ]);
            }
        }
        Entity::Value => {
            lines.push(
                ["NAMESPACE", "NAME", "SECRET", "REVISION", "DATA"]
                    .map(String::from)
                    .to_vec(),
            );
            for Listed { row, .. } in rows {
                let secret = row
                    .document
                    .get("secret")
                    .and_then(|s| s.as_bool())
                    .unwrap_or(false);
                let data = row
                    .document
                    .get("data")
                    .map(ToString::to_string)
                    .unwrap_or_default();
                let data = if data.chars().count() > 60 {
                    format!("{}…", data.chars().take(59).collect::<String>())
                } else {
                    data
                };
                lines.push(vec![
                    row.namespace.clone(),
                    row.name.clone(),
                    secret.to_string(),
                    row.revision.to_string(),
                    data,
                ]);
            }
        }
    }
    crate::table::print(&lines);
}
