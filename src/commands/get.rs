//! `weir get specs|values [-n NS] [-o table|yaml|json]`: what the database
//! holds; specs with the status their engines reported. Secret values print
//! as `<redacted>`.

use std::collections::HashMap;
use std::process::ExitCode;

use weir_engine::spec::NamedValue;
use weir_engine::store::{Entity, Row, Store};

use crate::commands::apply::What;
use crate::database::DatabaseArgs;

/// Arguments of `weir get`.
#[derive(clap::Args)]
pub struct Args {
    /// Specs or values.
    #[arg(value_enum)]
    what: What,
    /// Only this namespace.
    #[arg(short = 'n', long)]
    namespace: Option<String>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Table)]
    output: Output,
    #[command(flatten)]
    database: DatabaseArgs,
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
    let store = args.database.open().await?;
    let entity = match args.what {
        What::Specs => Entity::Spec,
        What::Values => Entity::Value,
    };
    let rows = store.list(entity, args.namespace.as_deref()).await?;
    let rows: Vec<Row> = rows.into_iter().map(|r| redact(entity, r)).collect();
    match args.output {
        Output::Table => print_table(&store, entity, &rows).await?,
        Output::Json => {
            let documents: Vec<_> = rows.iter().map(|r| &r.document).collect();
            println!("{}", serde_json::to_string_pretty(&documents)?);
        }
        Output::Yaml => {
            let documents: Vec<_> = rows
                .iter()
                .map(|r| weir_codecs::json::from_json(r.document.clone()))
                .collect();
            print!(
                "{}",
                weir_codecs::yaml::to_string(&weir_codecs::Value::list(documents))?
            );
        }
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// A secret value's data never leaves the store in clear.
fn redact(entity: Entity, mut row: Row) -> Row {
    if entity == Entity::Value {
        if let Ok(value) = row.decode::<NamedValue>() {
            row.document =
                serde_json::to_value(value.redacted()).unwrap_or(serde_json::Value::Null);
        } else if let Some(data) = row.document.get_mut("data") {
            *data = serde_json::Value::String(weir_engine::spec::value::REDACTED.to_string());
        }
    }
    row
}

async fn print_table(store: &Store, entity: Entity, rows: &[Row]) -> anyhow::Result<()> {
    let mut lines = Vec::new();
    match entity {
        Entity::Spec => {
            let statuses: HashMap<_, _> = store
                .statuses()
                .await?
                .into_iter()
                .map(|s| (s.id, s))
                .collect();
            lines.push(
                ["NAMESPACE", "NAME", "KIND", "REVISION", "STATUS", "UPDATED"]
                    .map(String::from)
                    .to_vec(),
            );
            for row in rows {
                let kind = row
                    .document
                    .get("kind")
                    .and_then(|k| k.as_str())
                    .unwrap_or("?");
                let status = match statuses.get(&row.id) {
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
            for row in rows {
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
    let widths: Vec<usize> = (0..lines[0].len())
        .map(|c| {
            lines
                .iter()
                .map(|l| l[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for line in lines {
        let cells: Vec<String> = line
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        println!("{}", cells.join("  ").trim_end());
    }
    Ok(())
}
