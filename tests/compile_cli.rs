//! End-to-end tests of `weir compile` on real files through the real native
//! library: a good file, syntax errors with CPython's line and column, a missing
//! file, output directories that cannot be written, many files, bad flags.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// A fresh scratch folder for one test, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("weir-compile-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }
    fn file(&self, name: &str, text: &str) -> String {
        let path = self.0.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("parent");
        }
        std::fs::write(&path, text).expect("write");
        path.display().to_string()
    }
    fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn weir(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weir"))
        .arg("compile")
        .args(args)
        .env_remove("WEIR_LOG")
        .output()
        .expect("the weir binary runs")
}

fn json(out: &Output) -> Vec<Value> {
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    v.as_array().expect("a list").clone()
}

fn stderr(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(str::to_owned)
        .collect()
}

const GOOD: &str = "\"\"\"A module.\"\"\"\nimport os\n\n\ndef f(x):\n    \"\"\"Doc.\"\"\"\n    # a comment\n    return os.path.join(x, 'y')\n";

#[test]
fn a_good_file_gets_its_artifacts_and_a_success_manifest() {
    let s = Scratch::new("good");
    let file = s.file("good.py", GOOD);
    let out_dir = s.path("out");
    let out = weir(&[&file, "--out", &out_dir, "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", stderr(&out));
    assert!(stderr(&out).is_empty(), "{:?}", stderr(&out));
    let entries = json(&out);
    assert_eq!(entries.len(), 1);
    let m = &entries[0]["manifest"];
    assert_eq!(m["status"], "success");
    assert_eq!(m["input"]["size"], GOOD.len());
    let dir = PathBuf::from(entries[0]["dir"].as_str().expect("dir"));
    assert_eq!(dir, Path::new(&out_dir).join("good.py"));
    let names: Vec<&str> = m["artifacts"]
        .as_array()
        .expect("artifacts")
        .iter()
        .map(|a| a["path"].as_str().expect("path"))
        .collect();
    assert_eq!(
        names,
        [
            "tokens.jsonl",
            "outline.json",
            "metrics.json",
            "stripped.py",
            "callgraph.dot"
        ]
    );
    let outline: Value =
        serde_json::from_slice(&std::fs::read(dir.join("outline.json")).expect("outline"))
            .expect("outline json");
    assert_eq!(outline["definitions"][0]["qualname"], "f");
    assert_eq!(outline["definitions"][0]["docstring"], "Doc.");
    let stripped = std::fs::read_to_string(dir.join("stripped.py")).expect("stripped");
    assert!(!stripped.contains("comment") && !stripped.contains("Doc."));
    assert!(dir.join("manifest.json").is_file());

    // The table, and only the passes asked for; settings flags reach the library.
    let out = weir(&[
        &file,
        "--out",
        &out_dir,
        "--passes",
        "tokenize,strip",
        "--keep-comments",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.starts_with("FILE"), "{table}");
    assert!(table.contains("success"), "{table}");
    assert!(
        table.contains("1 file: 1 succeeded, 0 failed, 0 not compiled"),
        "{table}"
    );
    assert!(!dir.join("outline.json").exists(), "stale artifact removed");
    let stripped = std::fs::read_to_string(dir.join("stripped.py")).expect("stripped");
    assert!(stripped.contains("# a comment") && !stripped.contains("Doc."));

    let out = weir(&[&file, "--out", &out_dir, "-o", "yaml"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("status: success"));
}

#[test]
fn a_syntax_error_fails_with_cpythons_line_and_column() {
    let s = Scratch::new("syntax");
    let cases = [
        (
            "string.py",
            "x = 1\ny = 'abc\n",
            2,
            5,
            "unterminated string literal (detected at line 2)",
        ),
        (
            "paren.py",
            "f(1,\n  2]\n",
            2,
            4,
            "closing parenthesis ']' does not match opening parenthesis '(' on line 1",
        ),
        (
            "indent.py",
            "if x:\npass\n",
            2,
            1,
            "expected an indented block after 'if' statement on line 1",
        ),
    ];
    for (name, text, line, col, message) in cases {
        let file = s.file(name, text);
        let out = weir(&[&file, "--out", &s.path("out"), "-o", "json"]);
        assert_eq!(out.status.code(), Some(1), "{name}");
        let entries = json(&out);
        let m = &entries[0]["manifest"];
        assert_eq!(m["status"], "failed", "{name}");
        let d = &m["diagnostics"][0];
        assert_eq!(
            (d["line"].as_i64(), d["col"].as_i64()),
            (Some(line), Some(col)),
            "{name}"
        );
        assert_eq!(d["message"], message, "{name}");
        assert_eq!(
            stderr(&out),
            [format!("{file}:{line}:{col}: error: {message}")],
            "{name}: one line per error"
        );
    }
}

#[test]
fn a_missing_file_is_one_error_line_and_the_others_still_compile() {
    let s = Scratch::new("missing");
    let good = s.file("good.py", GOOD);
    let missing = s.path("nope.py");
    let out = weir(&[&missing, &good, "--out", &s.path("out"), "-o", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let lines = stderr(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with(&format!("error: {missing}: cannot read {missing}: ")),
        "{lines:?}"
    );
    assert!(lines[0].contains("No such file"), "{lines:?}");
    let entries = json(&out);
    assert!(entries[0]["error"].as_str().is_some() && entries[0]["manifest"].is_null());
    assert_eq!(entries[1]["manifest"]["status"], "success");
}

#[test]
fn an_output_directory_that_cannot_be_written_is_a_clear_error() {
    let s = Scratch::new("unwritable");
    let good = s.file("good.py", GOOD);
    // --out under a regular file cannot be created (true even as root).
    let blocker = s.file("blocker", "not a directory");
    let out = weir(&[&good, "--out", &format!("{blocker}/out")]);
    assert_eq!(out.status.code(), Some(1));
    let lines = stderr(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with(&format!(
            "error: the output directory {blocker}/out cannot be created"
        )),
        "{lines:?}"
    );
    assert!(out.stdout.is_empty());
    // --out exists but the file's own folder is taken by a regular file.
    let out_dir = s.path("out");
    s.file("out/good.py", "a file where the folder would go");
    let out = weir(&[&good, "--out", &out_dir, "-o", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let lines = stderr(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains(&format!(
            "the artifact directory {out_dir}/good.py cannot be created"
        )),
        "{lines:?}"
    );
}

#[test]
fn many_files_keep_their_order_and_folders() {
    let s = Scratch::new("many");
    let mut files = Vec::new();
    for i in 0..40 {
        // The same name in two folders gets two artifact folders.
        let text = if i == 17 {
            "def f():\n    return 'abc\n".to_string()
        } else {
            format!("def f{i}():\n    return {i}\n")
        };
        files.push(s.file(&format!("d{}/m{}.py", i % 2, i / 2), &text));
    }
    let mut args: Vec<&str> = files.iter().map(String::as_str).collect();
    let out_dir = s.path("out");
    args.extend(["--out", &out_dir, "-o", "json", "-j", "3"]);
    let out = weir(&args);
    assert_eq!(out.status.code(), Some(1), "one file fails");
    let entries = json(&out);
    assert_eq!(entries.len(), 40);
    let mut dirs = std::collections::HashSet::new();
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e["file"], files[i]);
        assert!(dirs.insert(e["dir"].as_str().expect("dir").to_owned()));
        let expect = if i == 17 { "failed" } else { "success" };
        assert_eq!(e["manifest"]["status"], expect, "{i}");
        if i != 17 {
            let outline: Value = serde_json::from_slice(
                &std::fs::read(Path::new(e["dir"].as_str().expect("dir")).join("outline.json"))
                    .expect("outline"),
            )
            .expect("json");
            assert_eq!(outline["definitions"][0]["name"], format!("f{i}"));
        }
    }
    assert_eq!(stderr(&out).len(), 1, "{:?}", stderr(&out));
    assert!(stderr(&out)[0].starts_with(&format!("{}:", files[17])));
}

#[test]
fn bad_flags_are_named() {
    let s = Scratch::new("flags");
    let good = s.file("good.py", GOOD);
    let out = weir(&[&good, "--max-depth", "500", "--max-wall-ms", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        [
            "error: --max-depth: must be 1..=200",
            "error: --max-wall-ms: must be 1..=600000"
        ]
    );
    let out = weir(&[&good, "--passes", "tokenize,bogus"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown pass `bogus`"));
}
