//! CPython as the oracle: inputs compiled by the library, then compared with what
//! CPython's tokenize and ast make of them (`native/oracle/oracle.py compare`). Three
//! sets: a fast deterministic subset of the standard library (100 files, every n-th
//! of the sorted list; the full run is `scripts/oracle-native.sh`), seeded mutants
//! of it and of string-heavy lines, and the inputs on which the library once
//! disagreed with CPython.

mod support;

use std::io::Write;
use std::path::Path;

use support::{Scratch, python, repo_root};
use weir_native::{Cancel, Input, Script, Settings, compile_blocking};

const SUBSET: usize = 100;
const MUTANTS: usize = 600;

fn oracle_py() -> String {
    let helper = repo_root().join("native/oracle/oracle.py");
    helper.to_str().expect("utf-8 path").to_owned()
}

/// Runs `oracle.py` with `args`; its stdout, split in lines.
fn oracle_lines(args: &[&str]) -> Vec<String> {
    let helper = oracle_py();
    let mut all = vec![helper.as_str()];
    all.extend_from_slice(args);
    let out = python(&all);
    assert!(
        out.status.success(),
        "oracle.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("paths are UTF-8")
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Compiles every file with every pass and asserts that CPython agrees on each.
fn assert_cpython_agrees(paths: &[String], scratch: &Scratch, what: &str) {
    let out_root = scratch.path().join("out");
    let manifests_path = scratch.path().join("manifests.jsonl");
    let mut manifests = std::fs::File::create(&manifests_path).expect("create");
    for (i, path) in paths.iter().enumerate() {
        let input = Input {
            script: Script {
                name: path.clone(),
                source: std::fs::read(path).expect("read input"),
            },
            settings: Settings {
                max_input_bytes: Settings::MAX_INPUT_BYTES_CEILING,
                ..Settings::default()
            },
        };
        let manifest = compile_blocking(&input, &out_root.join(i.to_string()), &Cancel::new())
            .expect("compile");
        let line = serde_json::to_string(&manifest).expect("json");
        writeln!(manifests, "{line}").expect("write");
    }
    drop(manifests);
    let list = scratch.path().join("files.txt");
    let listing: String = paths.iter().map(|p| format!("{p}\n")).collect();
    std::fs::write(&list, listing).expect("write list");
    let utf8 = |p: &Path| p.to_str().expect("utf-8").to_owned();
    let helper = oracle_py();
    let out = python(&[
        &helper,
        "compare",
        &utf8(&out_root),
        &utf8(&list),
        &utf8(&manifests_path),
    ]);
    let report = String::from_utf8_lossy(&out.stdout);
    println!("{what}: {report}");
    assert!(
        out.status.success(),
        "{what}: the library disagrees with CPython:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn stdlib_subset_matches_cpython() {
    let all = oracle_lines(&["stdlib"]);
    assert!(
        all.len() > 1000,
        "expected the stdlib, found {} files",
        all.len()
    );
    let step = all.len() / SUBSET;
    let chosen: Vec<String> = all.iter().step_by(step).take(SUBSET).cloned().collect();
    assert_cpython_agrees(&chosen, &Scratch::new("oracle"), "stdlib subset");
}

/// Mutants of real files and string-heavy lines, from a seed: `WEIR_ORACLE_SEED`
/// picks another (the seed is printed, so a failure can be replayed).
#[test]
fn seeded_mutants_match_cpython() {
    let seed = std::env::var("WEIR_ORACLE_SEED").unwrap_or_else(|_| "1".to_owned());
    println!("mutants: seed {seed} (WEIR_ORACLE_SEED={seed} replays this run)");
    let scratch = Scratch::new("oracle-mutants");
    let dir = scratch.path().join("inputs");
    let paths = oracle_lines(&[
        "mutants",
        &seed,
        &MUTANTS.to_string(),
        dir.to_str().expect("utf-8"),
    ]);
    assert_eq!(paths.len(), MUTANTS);
    assert_cpython_agrees(&paths, &scratch, &format!("mutants, seed {seed}"));
}

/// Inputs on which the library once disagreed with CPython, each for its own reason.
#[test]
fn former_disagreements_match_cpython() {
    let cases: &[(&str, &[u8])] = &[
        // tokenize.py leaves `needcont` set after an unterminated continued string, so
        // a later triple-quoted string spanning lines ends in an ERRORTOKEN.
        ("needcont", b"x = 'a\\\n\ny = 1\nz = '''b\nc\n"),
        // A lone '\r' ends a line for the compiler, not for tokenize.py.
        ("lone-cr-docstring", b"\"\" # t\r"),
        ("lone-cr-comment", b"# c\rf(rb\"\"\"\"\"\")\r\n"),
        (
            "lone-cr-def",
            b"x = 1\rdef f():\r    '''doc\rmore'''\r    return 2\r",
        ),
        // A comment that ends the file closes a backslash continuation.
        ("comment-at-eof", b"x = 1 \\\n# c"),
        // The compiler adds a '\n' after a final "\r\n".
        ("crlf-continuation-at-eof", b"class C:\r\n    U'' \\\r\n"),
        // A line of blanks and a backslash: the compiler measures the indentation
        // across it, tokenize.py gives it an INDENT of its own.
        ("blank-continuation", b"x = 1\n \\\n# c\ny = 2\n"),
        (
            "blank-continuation-indent",
            b"if x:\n    a\n  \\\n  \\\n# c\n    b\ndef f():\n    \\\n\n    return 1\n",
        ),
    ];
    // Continued identifiers: a combining mark ends tokenize.py's NAME (an ERRORTOKEN
    // follows, then another NAME), the compiler reads one identifier.
    let marks = "a.\u{5e2}\u{5b4}\u{5d1}\u{5e8}\u{5b4}\u{5d9}\u{5ea} = b\nx = a\u{5b4}1\n";
    let mut cases = cases.to_vec();
    cases.push(("combining-marks", marks.as_bytes()));
    let scratch = Scratch::new("oracle-cases");
    let paths: Vec<String> = cases
        .iter()
        .map(|(name, source)| {
            let path = scratch.path().join(format!("{name}.py"));
            std::fs::write(&path, source).expect("write case");
            path.to_str().expect("utf-8").to_owned()
        })
        .collect();
    assert_cpython_agrees(&paths, &scratch, "former disagreements");
}
