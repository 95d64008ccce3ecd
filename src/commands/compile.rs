//! `weir compile FILE... [--passes a,b] [--out DIR] [settings flags] [-o table|json|yaml]`:
//! the native pipeline compiler from the command line. It goes through weir-native's
//! safe API exactly as the `compiler` kind does (`Settings`, `Input::validate`, a
//! bounded `Compiler` pool); this module owns only the flags, one artifact folder per
//! file under `--out`, and the printing (a table for people, JSON/YAML for scripts,
//! errors one line each on stderr). It does not touch the library or the node.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::Semaphore;
use weir_native::{Cancel, Compiler, Input, Manifest, Pass, Script, Settings, Status};

use crate::progress::Progress;

/// Arguments of `weir compile`.
#[derive(clap::Args)]
pub struct Args {
    /// The Python files to compile.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The passes to run, comma-separated (tokenize, outline, metrics, strip,
    /// callgraph); default all. They always run in that order.
    #[arg(long, value_delimiter = ',', value_parser = parse_pass)]
    passes: Vec<Pass>,
    /// Where the artifacts go: one folder per file, named after it.
    #[arg(long, default_value = "weir-compile")]
    out: PathBuf,
    /// Keep docstrings in stripped.py (strip_docstrings: false).
    #[arg(long)]
    keep_docstrings: bool,
    /// Keep comments in stripped.py (strip_comments: false).
    #[arg(long)]
    keep_comments: bool,
    /// Refuse inputs above this many bytes (default 16 MiB, at most 256 MiB).
    #[arg(long)]
    max_input_bytes: Option<u64>,
    /// Bracket nesting and indentation depth (default and ceiling 200).
    #[arg(long)]
    max_depth: Option<u32>,
    /// Wall time of one file's compile in ms (default 30000, at most 600000).
    #[arg(long)]
    max_wall_ms: Option<u64>,
    /// Compiles at once (default: one per core).
    #[arg(short = 'j', long)]
    jobs: Option<usize>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Table)]
    output: Output,
}

/// Output formats.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// One row per file and a summary line, for people.
    Table,
    /// A JSON list, one entry per file: {file, dir, manifest} or {file, error}.
    Json,
    /// The same list as YAML.
    Yaml,
}

fn parse_pass(s: &str) -> Result<Pass, String> {
    serde_json::from_value(serde_json::Value::String(s.trim().to_owned())).map_err(|_| {
        format!("unknown pass `{s}` (expected tokenize, outline, metrics, strip or callgraph)")
    })
}

/// What became of one file: its manifest, or why there is none.
#[derive(Serialize)]
struct Entry {
    file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    dir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    manifest: Option<Manifest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl Entry {
    fn ok(&self) -> bool {
        self.manifest
            .as_ref()
            .is_some_and(|m| m.status == Status::Success)
    }
}

/// Compiles every file; exit 0 when all succeeded, 1 when any failed, 2 for bad flags.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let settings = match settings(&args) {
        Ok(s) => s,
        Err(lines) => {
            for line in lines {
                eprintln!("error: {line}");
            }
            return Ok(ExitCode::from(2));
        }
    };
    std::fs::create_dir_all(&args.out).map_err(|e| {
        anyhow::anyhow!(
            "the output directory {} cannot be created: {e}",
            args.out.display()
        )
    })?;
    let entries = compile_all(&args, settings).await;
    for entry in &entries {
        report_errors(entry);
    }
    match args.output {
        Output::Table => print_table(&entries),
        Output::Json => println!("{}", serde_json::to_string_pretty(&entries)?),
        Output::Yaml => {
            let json = serde_json::to_value(&entries)?;
            print!(
                "{}",
                weir_codecs::yaml::to_string(&weir_codecs::json::from_json(json))?
            );
        }
    }
    Ok(if entries.iter().all(Entry::ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The settings the flags give, checked by the library's own rules; every bad
/// flag is named.
fn settings(args: &Args) -> Result<Settings, Vec<String>> {
    let defaults = Settings::default();
    let settings = Settings {
        passes: if args.passes.is_empty() {
            defaults.passes.clone()
        } else {
            args.passes.clone()
        },
        strip_docstrings: !args.keep_docstrings,
        strip_comments: !args.keep_comments,
        max_input_bytes: args.max_input_bytes.unwrap_or(defaults.max_input_bytes),
        max_depth: args.max_depth.unwrap_or(defaults.max_depth),
        max_wall_ms: args.max_wall_ms.unwrap_or(defaults.max_wall_ms),
    };
    let probe = Input {
        script: Script {
            name: "-".into(),
            source: Vec::new(),
        },
        settings,
    };
    probe.validate().map_err(|errors| {
        errors
            .into_iter()
            .map(|e| {
                let flag = e.field.trim_start_matches("settings.").replace('_', "-");
                format!("--{flag}: {}", e.message)
            })
            .collect::<Vec<_>>()
    })?;
    Ok(probe.settings)
}

/// One folder per file, named after the file; a repeated name gets `-2`, `-3`...
fn artifact_dirs(out: &Path, files: &[PathBuf]) -> Vec<PathBuf> {
    let mut taken = std::collections::HashSet::new();
    files
        .iter()
        .map(|f| {
            let base = f
                .file_name()
                .map_or_else(|| "input".into(), |n| n.to_string_lossy().into_owned());
            let mut name = base.clone();
            let mut n = 1;
            while !taken.insert(name.clone()) {
                n += 1;
                name = format!("{base}-{n}");
            }
            out.join(name)
        })
        .collect()
}

async fn compile_all(args: &Args, settings: Settings) -> Vec<Entry> {
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .max(1);
    let compiler = Compiler::new(jobs);
    // Bounds the sources held in memory: a few beyond those being compiled.
    let reading = Arc::new(Semaphore::new(jobs * 2));
    let mut tasks = tokio::task::JoinSet::new();
    let dirs = artifact_dirs(&args.out, &args.files);
    for (index, (file, dir)) in args.files.iter().zip(dirs).enumerate() {
        let (compiler, reading, settings) = (compiler.clone(), reading.clone(), settings.clone());
        let file = file.clone();
        tasks.spawn(async move {
            let _permit = reading.acquire_owned().await;
            (index, compile_one(&compiler, file, dir, settings).await)
        });
    }
    let total = args.files.len();
    let mut slots: Vec<Option<Entry>> = (0..total).map(|_| None).collect();
    let mut progress = Progress::new("compiled");
    let mut done = 0;
    while let Some(joined) = tasks.join_next().await {
        done += 1;
        if total > 1 {
            progress.show(done, total);
        }
        if let Ok((index, entry)) = joined {
            slots[index] = Some(entry);
        }
    }
    progress.finish();
    slots
        .into_iter()
        .zip(&args.files)
        .map(|(slot, file)| {
            slot.unwrap_or_else(|| Entry {
                file: file.display().to_string(),
                dir: None,
                manifest: None,
                error: Some("the compile task stopped unexpectedly".into()),
            })
        })
        .collect()
}

async fn compile_one(
    compiler: &Compiler,
    file: PathBuf,
    dir: PathBuf,
    settings: Settings,
) -> Entry {
    let name = file.display().to_string();
    let failed = |error: String| Entry {
        file: name.clone(),
        dir: None,
        manifest: None,
        error: Some(error),
    };
    let source = match tokio::fs::read(&file).await {
        Ok(source) => source,
        Err(e) => return failed(format!("cannot read {name}: {e}")),
    };
    let input = Input {
        script: Script {
            name: name.clone(),
            source,
        },
        settings,
    };
    match compiler.compile(input, dir.clone(), Cancel::new()).await {
        Ok(manifest) => Entry {
            file: name.clone(),
            dir: Some(dir.display().to_string()),
            manifest: Some(manifest),
            error: None,
        },
        Err(e) => failed(e.to_string()),
    }
}

/// Each error on one stderr line: `FILE:LINE:COL: error: message` for a diagnostic
/// with a position, `error: FILE: message` otherwise.
fn report_errors(entry: &Entry) {
    if let Some(error) = &entry.error {
        eprintln!("error: {}: {error}", entry.file);
    }
    let Some(manifest) = &entry.manifest else {
        return;
    };
    for d in manifest
        .diagnostics
        .iter()
        .filter(|d| d.severity == "error")
    {
        if d.line > 0 {
            eprintln!("{}:{}:{}: error: {}", entry.file, d.line, d.col, d.message);
        } else {
            eprintln!("error: {}: {}", entry.file, d.message);
        }
    }
}

fn print_table(entries: &[Entry]) {
    let mut rows = vec![
        ["FILE", "STATUS", "BYTES", "MS", "ARTIFACTS", "FIRST ERROR"]
            .map(String::from)
            .to_vec(),
    ];
    for e in entries {
        rows.push(match &e.manifest {
            Some(m) => vec![
                e.file.clone(),
                if e.ok() { "success" } else { "failed" }.into(),
                m.input.size.to_string(),
                format!("{:.1}", m.time_us as f64 / 1000.0),
                e.dir.clone().unwrap_or_default(),
                m.first_error()
                    .map(|d| match d.line {
                        0 => d.message.clone(),
                        _ => format!("{}:{}: {}", d.line, d.col, d.message),
                    })
                    .unwrap_or_default(),
            ],
            None => vec![
                e.file.clone(),
                "error".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                e.error.clone().unwrap_or_default(),
            ],
        });
    }
    crate::table::print(&rows);
    let ok = entries.iter().filter(|e| e.ok()).count();
    let errors = entries.iter().filter(|e| e.manifest.is_none()).count();
    let bytes: u64 = entries
        .iter()
        .filter_map(|e| e.manifest.as_ref().map(|m| m.input.size))
        .sum();
    println!(
        "{} file{}: {ok} succeeded, {} failed, {errors} not compiled; {bytes} bytes",
        entries.len(),
        if entries.len() == 1 { "" } else { "s" },
        entries.len() - ok - errors,
    );
}
