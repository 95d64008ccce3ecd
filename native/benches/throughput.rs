//! Throughput of the native compiler over the standard library (MB/s), beside
//! CPython's tokenize, ast.parse and tree-sitter-python measured in the same run.
//! `cargo bench -p weir-native --bench throughput` (or `scripts/bench-native.sh`,
//! which provides tree-sitter-python in a cached venv via WEIR_BENCH_PYTHON).
//!
//! Two figures for the library: *end to end* (compile_blocking with the artifacts
//! written to disk and hashed, the manifest included) and *front end* (the
//! manifests' decode + tokenize + structure time, in memory).

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use weir_native::{Cancel, Input, Pass, Script, Settings, compile_blocking};

const REPEATS: usize = 3;

fn stdlib_files(python: &str, root: &std::path::Path) -> Vec<String> {
    let out = Command::new(python)
        .arg(root.join("native/oracle/oracle.py"))
        .arg("stdlib")
        .output()
        .expect("python3");
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(str::to_owned)
        .collect()
}

fn run(sources: &[(String, Vec<u8>)], passes: &[Pass], dir: &std::path::Path) -> (f64, f64) {
    let mut best_wall = f64::MAX;
    let mut best_front = f64::MAX;
    for _ in 0..REPEATS {
        let mut front_us = 0u64;
        let t = Instant::now();
        for (name, src) in sources {
            let input = Input {
                script: Script {
                    name: name.clone(),
                    source: src.clone(),
                },
                settings: Settings {
                    passes: passes.to_vec(),
                    max_input_bytes: Settings::MAX_INPUT_BYTES_CEILING,
                    ..Settings::default()
                },
            };
            let m = compile_blocking(&input, dir, &Cancel::new()).expect("compile");
            front_us += m.frontend_us + m.passes.iter().map(|p| p.time_us).sum::<u64>()
                - m.passes
                    .iter()
                    .filter(|p| p.name == "tokenize")
                    .map(|p| p.time_us)
                    .sum::<u64>();
        }
        best_wall = best_wall.min(t.elapsed().as_secs_f64());
        best_front = best_front.min(front_us as f64 / 1e6);
    }
    (best_wall, best_front)
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("root")
        .to_owned();
    let python = std::env::var("WEIR_BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let files = stdlib_files(&python, &root);
    let sources: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|f| (f.clone(), std::fs::read(f).expect("read")))
        .collect();
    let bytes: usize = sources.iter().map(|(_, s)| s.len()).sum();
    let mb = bytes as f64 / 1e6;
    let dir = if std::path::Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    }
    .join(format!("weir-native-bench-{}", std::process::id()));
    let (tok_wall, tok_front) = run(&sources, &[Pass::Tokenize], &dir);
    let (both_wall, both_front) = run(&sources, &[Pass::Tokenize, Pass::Outline], &dir);
    let _ = std::fs::remove_dir_all(&dir);

    let list = std::env::temp_dir().join(format!("weir-native-bench-{}.txt", std::process::id()));
    std::fs::write(&list, files.join("\n")).expect("write list");
    let out = Command::new(&python)
        .arg(root.join("native/oracle/bench.py"))
        .arg(&list)
        .arg(REPEATS.to_string())
        .output()
        .expect("python bench");
    let _ = std::fs::remove_file(&list);
    let py: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("bench.py: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    let f = |k: &str| py[k].as_f64();
    println!(
        "stdlib: {} files, {:.1} MB, best of {REPEATS}",
        sources.len(),
        mb
    );
    println!(
        "weir-native tokenize            end to end {:8.1} MB/s   front end {:8.1} MB/s",
        mb / tok_wall,
        mb / tok_front.max(1e-9)
    );
    println!(
        "weir-native tokenize+outline    end to end {:8.1} MB/s   front end {:8.1} MB/s",
        mb / both_wall,
        mb / both_front.max(1e-9)
    );
    for (label, key) in [
        ("CPython tokenize.tokenize", "tokenize_mbs"),
        ("CPython tokenize, tokens.jsonl", "tokenize_jsonl_mbs"),
        ("CPython ast.parse", "ast_parse_mbs"),
        ("tree-sitter-python", "tree_sitter_mbs"),
    ] {
        match f(key) {
            Some(v) => println!("{label:<31} {v:8.1} MB/s"),
            None => println!("{label:<31} not installed (scripts/bench-native.sh provides it)"),
        }
    }
    if let (Some(t), Some(j), Some(a)) = (
        f("tokenize_mbs"),
        f("tokenize_jsonl_mbs"),
        f("ast_parse_mbs"),
    ) {
        println!(
            "ratios: tokenize end to end {:.0}x CPython tokenize, {:.0}x CPython writing the same tokens.jsonl; \
             tokenize+outline end to end {:.1}x ast.parse, front end {:.1}x",
            mb / tok_wall / t,
            mb / tok_wall / j,
            mb / both_wall / a,
            mb / both_front.max(1e-9) / a
        );
    }
}
