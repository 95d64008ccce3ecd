//! `weir graph -f PATH [-n NS] [--format mermaid|dot]`: a workflow's nodes
//! and links, drawn from the specs as written.

use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use weir_engine::Spec;

use crate::specs;

/// Arguments of `weir graph`.
#[derive(clap::Args)]
pub struct Args {
    /// A spec file or a folder of them.
    #[arg(short = 'f', long = "file")]
    path: PathBuf,
    /// Only this namespace (default: every namespace, one cluster each).
    #[arg(short = 'n', long)]
    namespace: Option<String>,
    /// Output language.
    #[arg(long, value_enum, default_value_t = Format::Mermaid)]
    format: Format,
}

/// Graph description languages.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// Mermaid flowchart (renders in GitHub Markdown).
    Mermaid,
    /// Graphviz DOT.
    Dot,
}

/// Prints the graph.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Ok(sourced) = specs::read(&args.path) else {
        return Ok(ExitCode::FAILURE);
    };
    let specs: Vec<Spec> = sourced
        .into_iter()
        .map(|s| s.spec)
        .filter(|s| args.namespace.as_deref().is_none_or(|ns| ns == s.namespace))
        .collect();
    print!("{}", render(&specs, args.format));
    Ok(ExitCode::SUCCESS)
}

/// Renders `specs` (links by name or id within a namespace) as a graph.
pub fn render(specs: &[Spec], format: Format) -> String {
    let id_of = |namespace: &str, name: Option<&str>, id: Option<uuid::Uuid>| {
        specs.iter().position(|s| {
            s.namespace == namespace
                && (name.is_some_and(|n| s.name.as_deref() == Some(n))
                    || id.is_some_and(|i| i == s.id))
        })
    };
    let mut namespaces: Vec<&str> = specs.iter().map(|s| s.namespace.as_str()).collect();
    namespaces.sort();
    namespaces.dedup();
    let mut out = String::new();
    let (open, close) = match format {
        Format::Mermaid => ("flowchart LR\n", ""),
        Format::Dot => (
            "digraph weir {\n  rankdir=LR;\n  node [shape=box];\n",
            "}\n",
        ),
    };
    out.push_str(open);
    for (c, namespace) in namespaces.iter().enumerate() {
        let _ = match format {
            Format::Mermaid => writeln!(out, "  subgraph ns{c}[\"{}\"]", escape(namespace)),
            Format::Dot => writeln!(
                out,
                "  subgraph cluster_{c} {{\n    label=\"{}\";",
                escape(namespace)
            ),
        };
        for (i, spec) in specs
            .iter()
            .enumerate()
            .filter(|(_, s)| s.namespace == *namespace)
        {
            let label = format!("{}\\n({})", escape(&spec.key()), escape(&spec.kind));
            let _ = match format {
                Format::Mermaid => writeln!(out, "    n{i}[\"{}\"]", label.replace("\\n", "<br/>")),
                Format::Dot => writeln!(out, "    n{i} [label=\"{label}\"];"),
            };
        }
        out.push_str(match format {
            Format::Mermaid => "  end\n",
            Format::Dot => "  }\n",
        });
    }
    for (i, spec) in specs.iter().enumerate() {
        for (port, targets) in &spec.ports {
            for target in targets {
                let Some(j) = id_of(&spec.namespace, target.name.as_deref(), target.id) else {
                    continue;
                };
                let label = escape(&format!("{port} → {}", target.port));
                let _ = match format {
                    Format::Mermaid => writeln!(out, "  n{i} -- \"{label}\" --> n{j}"),
                    Format::Dot => writeln!(out, "  n{i} -> n{j} [label=\"{label}\"];"),
                };
            }
        }
    }
    out.push_str(close);
    out
}

fn escape(text: &str) -> String {
    text.replace('"', "'")
}
