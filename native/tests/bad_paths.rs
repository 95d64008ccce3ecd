//! The bad paths: every kind of syntax error against CPython's own report, bad
//! encodings, NUL bytes, huge and deeply nested inputs, cancellation, the wall-time
//! limit and artifact directories that cannot be written. Plus the good path's
//! artifact bookkeeping, which the bad paths rely on.

mod support;

use std::path::Path;
use std::time::Duration;

use support::{Scratch, compile, cpython_compile_error, cpython_run_error_line, input};
use weir_native::{Cancel, NativeError, Pass, Settings, Status, compile_blocking};

fn artifacts_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Each syntax error CPython's compiler reports: our first diagnostic has its
/// message, line and column exactly.
#[test]
fn syntax_errors_match_cpython() {
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("unterminated string", b"x = 1\ny = 'abc\n".to_vec()),
        ("unterminated prefixed string", b"y = rb'abc\n".to_vec()),
        (
            "unterminated continued string",
            b"x = 'abc\\\ndef\n".to_vec(),
        ),
        (
            "unterminated triple-quoted string",
            b"x = 1\ny = \"\"\"abc\n\n".to_vec(),
        ),
        // The token stream stops after the ';': the parse must stop too.
        ("string left open after a semicolon", b"x;\"\"\"\n".to_vec()),
        ("bad dedent", b"if x:\n        a\n    b\n".to_vec()),
        ("unclosed bracket", b"x = (1,\n2\n".to_vec()),
        ("unmatched bracket", b"x = 1)\n".to_vec()),
        ("mismatched bracket", b"x = (1]\n".to_vec()),
        ("mismatched bracket across lines", b"x = (1,\n2]\n".to_vec()),
        ("tabs and spaces", b"if x:\n\tif y:\n        a\n".to_vec()),
        (
            "invalid character",
            "x = 1 \u{20ac} 2\n".as_bytes().to_vec(),
        ),
        (
            "non-printable character",
            "x = \u{a0}1\n".as_bytes().to_vec(),
        ),
        ("invalid ascii character", b"x = $\n".to_vec()),
        ("unexpected indent", b"x = 1\n    y = 2\n".to_vec()),
        ("expected block after if", b"if x:\ny = 2\n".to_vec()),
        ("expected block after def", b"def f():\nreturn 1\n".to_vec()),
        (
            "expected block after class",
            b"class C:\n\nx = 1\n".to_vec(),
        ),
        (
            "expected block after else",
            b"if x:\n  pass\nelse:\nx\n".to_vec(),
        ),
        ("character after continuation", b"x = 1 \\ y\n".to_vec()),
        ("EOF after continuation", b"x = 1 + \\\n".to_vec()),
        ("invalid decimal literal", b"x = 1abc\n".to_vec()),
        ("invalid decimal literal after _", b"x = 1_\n".to_vec()),
        ("invalid exponent literal", b"x = 12e5q\n".to_vec()),
        ("invalid hexadecimal literal", b"x = 0x1g\n".to_vec()),
        ("empty hexadecimal literal", b"x = 0x\n".to_vec()),
        ("invalid octal digit", b"x = 0o8\n".to_vec()),
        ("invalid binary digit", b"x = 0b2\n".to_vec()),
        ("invalid imaginary literal", b"x = 1.5j2\n".to_vec()),
        ("leading zeros", b"x = 0777\n".to_vec()),
        ("attribute of a float literal", b"1.__class__\n".to_vec()),
        ("attribute of an int literal", b"x = 1.real\n".to_vec()),
        // Grammar errors inside statements (native/cpp/grammar.cpp).
        ("two names in a row", b"x y\n".to_vec()),
        ("forgotten comma in a call", b"f(a b)\n".to_vec()),
        ("forgotten comma in a list", b"x = [1, 2 3]\n".to_vec()),
        ("forgotten comma in a dict", b"x = {1: a b}\n".to_vec()),
        ("print without parentheses", b"print 'hi'\n".to_vec()),
        ("exec without parentheses", b"exec 'x'\n".to_vec()),
        (
            "if expression without else",
            b"x = a if b c else d\n".to_vec(),
        ),
        ("operator at the line's end", b"x = 1 +\n".to_vec()),
        ("keyword as a value", b"x = pass\n".to_vec()),
        ("two parameters in a row", b"def f(a b): pass\n".to_vec()),
        (
            "except with a bare tuple",
            b"try:\n  pass\nexcept A, B:\n  pass\n".to_vec(),
        ),
        ("two modules in a row", b"import a b\n".to_vec()),
        ("bad for target list", b"for x y in z: pass\n".to_vec()),
        (
            "two patterns in a row",
            b"match x:\n    case 1 2:\n        pass\n".to_vec(),
        ),
        ("bad decorator", b"@a b\ndef f(): pass\n".to_vec()),
        (
            "a mapping pattern's rest not last",
            b"match x:\n    case {**r, 'k': v}:\n        pass\n".to_vec(),
        ),
        (
            "non-ASCII before the error",
            "x = \u{e9} b\n".as_bytes().to_vec(),
        ),
        (
            "generator argument then a name",
            b"f(x for x in y z)\n".to_vec(),
        ),
    ];
    let mut deep = b"x = ".to_vec();
    deep.extend(std::iter::repeat_n(b'(', 10_000));
    deep.extend(std::iter::repeat_n(b')', 10_000));
    deep.push(b'\n');
    cases.push(("10,000 nested brackets", deep));
    let mut indents = Vec::new();
    for i in 0..101 {
        indents.extend(std::iter::repeat_n(b' ', i));
        indents.extend_from_slice(b"if x:\n");
    }
    indents.extend(std::iter::repeat_n(b' ', 101));
    indents.extend_from_slice(b"pass\n");
    cases.push(("too many indentation levels", indents));

    let scratch = Scratch::new("syntax");
    let mut wrong = Vec::new();
    for (i, (what, src)) in cases.iter().enumerate() {
        let (msg, line, col) = cpython_compile_error(src, &scratch)
            .unwrap_or_else(|| panic!("{what}: CPython compiles it"));
        let out = scratch.path().join(i.to_string());
        let m = compile(src, &out);
        assert_eq!(m.status, Status::Failed, "{what}");
        let d = m.first_error().expect("a diagnostic");
        if (d.message.as_str(), d.line, d.col) != (msg.as_str(), line, col) {
            wrong.push(format!(
                "{what}: ours ({:?}, {}, {}) cpython ({msg:?}, {line}, {col})",
                d.message, d.line, d.col
            ));
        }
        // Nothing that needs a parse was presented as complete.
        for a in &m.artifacts {
            assert_eq!(a.pass, "tokenize", "{what}: {a:?}");
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn non_utf8_without_a_coding_line_fails_on_the_line_cpython_names() {
    let scratch = Scratch::new("nonutf8");
    let src = b"x = 1\ny = '\xe9t\xe9'\n";
    let m = compile(src, &scratch.path().join("out"));
    assert_eq!(m.status, Status::Failed);
    let d = m.first_error().expect("diagnostic");
    let (err, line) = cpython_run_error_line(src, &scratch);
    assert!(
        err.contains("Non-UTF-8 code starting with '\\xe9'"),
        "{err}"
    );
    assert!(
        d.message
            .starts_with("Non-UTF-8 code starting with '\\xe9' on line 2"),
        "{d:?}"
    );
    assert_eq!((d.line, d.col), (line, 6));
    assert!(m.artifacts.is_empty(), "{:?}", m.artifacts);
    assert_eq!(m.input.encoding, None);
}

#[test]
fn a_coding_line_decodes_latin1() {
    let scratch = Scratch::new("latin1");
    let src = b"# -*- coding: latin-1 -*-\ndef f():\n    '\xe9t\xe9'\n";
    let m = compile(src, &scratch.path().join("out"));
    assert_eq!(m.status, Status::Success, "{:?}", m.diagnostics);
    assert_eq!(m.input.encoding.as_deref(), Some("iso-8859-1"));
    let outline: serde_json::Value = serde_json::from_slice(
        &std::fs::read(scratch.path().join("out/outline.json")).expect("outline"),
    )
    .expect("json");
    assert_eq!(outline["definitions"][0]["docstring"], "\u{e9}t\u{e9}");
    // Comments (the coding line among them) are stripped, so stripped.py is UTF-8.
    let stripped = std::fs::read(scratch.path().join("out/stripped.py")).expect("stripped");
    assert_eq!(stripped, b"\ndef f():\n    pass\n");
}

#[test]
fn unknown_encoding_is_named() {
    let scratch = Scratch::new("unknown-enc");
    let m = compile(b"# coding: foo\nx = 1\n", &scratch.path().join("out"));
    assert_eq!(m.status, Status::Failed);
    assert_eq!(m.first_error().expect("d").message, "unknown encoding: foo");
}

#[test]
fn nul_bytes_fail_on_the_line_cpython_names_and_tokens_still_match_tokenize() {
    let scratch = Scratch::new("nul");
    let src = b"x = 1\ny\x00 = 2\n";
    let m = compile(src, &scratch.path().join("out"));
    assert_eq!(m.status, Status::Failed);
    let d = m.first_error().expect("diagnostic");
    let (err, line) = cpython_run_error_line(src, &scratch);
    assert!(
        err.contains("source code cannot contain null bytes"),
        "{err}"
    );
    assert_eq!(d.message, "source code cannot contain null bytes");
    assert_eq!((d.line, d.col), (line, 2));
    // tokenize.py accepts NUL (an ERRORTOKEN), so tokens.jsonl is complete; the
    // passes that need a parse did not run.
    let names: Vec<&str> = m.artifacts.iter().map(|a| a.path.as_str()).collect();
    assert_eq!(names, ["tokens.jsonl"]);
    let tokens = std::fs::read_to_string(scratch.path().join("out/tokens.jsonl")).expect("tokens");
    assert!(
        tokens.contains(r#"{"type":"ERRORTOKEN","string":"\u0000","start":[2,1],"end":[2,2]}"#),
        "{tokens}"
    );
}

/// Chains the grammar follows by recursion (unary minus, `not`, `lambda`) stop at
/// its nesting bound instead of the thread's stack; brackets stop at the tokenizer's.
#[test]
fn deep_chains_are_judged_without_exhausting_the_stack() {
    let scratch = Scratch::new("deep");
    let cases: Vec<(&str, String, Status)> = vec![
        (
            "200,000 unary minuses",
            format!("x = {}1\n", "-".repeat(200_000)),
            Status::Success,
        ),
        (
            "100,000 nots",
            format!("x = {}1\n", "not ".repeat(100_000)),
            Status::Success,
        ),
        (
            "50,000 lambdas",
            format!("x = {}1\n", "lambda: ".repeat(50_000)),
            Status::Success,
        ),
        (
            "199 brackets",
            format!("x = {}1{}\n", "(".repeat(199), ")".repeat(199)),
            Status::Success,
        ),
        (
            "330 brackets and minuses",
            format!("x = {}1{}\n", "(-".repeat(330), ")".repeat(330)),
            Status::Failed,
        ),
    ];
    for (i, (what, src, want)) in cases.iter().enumerate() {
        let m = compile(src.as_bytes(), &scratch.path().join(i.to_string()));
        assert_eq!(&m.status, want, "{what}: {:?}", m.first_error());
    }
}

#[test]
fn a_100_mb_input_is_refused_by_the_limit_without_artifacts() {
    let scratch = Scratch::new("huge");
    let src = b"x = 1\n".repeat(100 * 1024 * 1024 / 6 + 1);
    assert!(src.len() >= 100 * 1024 * 1024);
    let m = compile(&src, scratch.path());
    assert_eq!(m.status, Status::Failed);
    let d = m.first_error().expect("diagnostic");
    assert_eq!(d.source, "limits");
    assert!(d.message.contains("the limit is 16777216"), "{d:?}");
    assert!(m.artifacts.is_empty());
    assert_eq!(artifacts_in(scratch.path()), ["manifest.json"]);
    assert_eq!(m.input.size, src.len() as u64);
}

#[test]
fn limits_have_ceilings_and_every_bad_field_is_named() {
    let scratch = Scratch::new("ceilings");
    let mut i = input("", b"x = 1\n");
    i.settings = Settings {
        passes: vec![],
        max_input_bytes: Settings::MAX_INPUT_BYTES_CEILING + 1,
        max_depth: 0,
        max_wall_ms: Settings::MAX_WALL_MS_CEILING + 1,
        ..Settings::default()
    };
    match compile_blocking(&i, scratch.path(), &Cancel::new()) {
        Err(NativeError::Invalid(errors)) => {
            let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
            assert_eq!(
                fields,
                [
                    "script.name",
                    "settings.passes",
                    "settings.max_input_bytes",
                    "settings.max_depth",
                    "settings.max_wall_ms"
                ]
            );
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    let bad: Result<weir_native::Input, _> = serde_json::from_str(
        r#"{"script": {"name": "a.py", "source": "x"}, "settings": {"passes": ["nope"]}}"#,
    );
    assert!(bad.is_err());
}

#[test]
fn a_lower_depth_limit_is_reported_where_it_is_crossed() {
    let scratch = Scratch::new("depth");
    let mut i = input("deep.py", b"x = [[[[1]]]]\n");
    i.settings.max_depth = 3;
    let m = compile_blocking(&i, scratch.path(), &Cancel::new()).expect("compile");
    let d = m.first_error().expect("diagnostic");
    assert_eq!(
        (d.message.as_str(), d.line, d.col),
        ("nesting deeper than the limit (3)", 1, 8)
    );
}

fn big_source() -> Vec<u8> {
    // About 12 MB of real code: long enough that a compile takes a while.
    b"def f(a, b):\n    return [a + b for _ in range(10)]  # comment\n".repeat(200_000)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellation_mid_compile_stops_it_and_leaves_nothing() {
    let scratch = Scratch::new("cancel");
    let cancel = Cancel::new();
    let task = tokio::spawn(weir_native::compile(
        input("big.py", &big_source()),
        scratch.path().to_owned(),
        cancel.clone(),
    ));
    tokio::time::sleep(Duration::from_millis(30)).await;
    cancel.cancel();
    let result = task.await.expect("join");
    assert!(matches!(result, Err(NativeError::Cancelled)), "{result:?}");
    assert_eq!(artifacts_in(scratch.path()), Vec::<String>::new());
}

#[test]
fn a_cancel_set_before_the_call_cancels_it() {
    let scratch = Scratch::new("precancel");
    let cancel = Cancel::new();
    cancel.cancel();
    let r = compile_blocking(&input("a.py", b"x = 1\n"), scratch.path(), &cancel);
    assert!(matches!(r, Err(NativeError::Cancelled)), "{r:?}");
    assert!(artifacts_in(scratch.path()).is_empty());
}

#[test]
fn the_wall_time_limit_fails_the_compile_without_artifacts() {
    let scratch = Scratch::new("walltime");
    let mut i = input("big.py", &big_source());
    i.settings.max_wall_ms = 1;
    let m = compile_blocking(&i, scratch.path(), &Cancel::new()).expect("compile");
    assert_eq!(m.status, Status::Failed);
    assert!(
        m.first_error()
            .expect("d")
            .message
            .contains("wall-time limit of 1 ms")
    );
    assert!(m.artifacts.is_empty());
    assert_eq!(artifacts_in(scratch.path()), ["manifest.json"]);
}

#[test]
fn an_artifact_directory_that_cannot_be_written_is_an_error_naming_it() {
    // /proc exists but nobody, root included, can create files in it.
    let r = compile_blocking(
        &input("a.py", b"x = 1\n"),
        Path::new("/proc"),
        &Cancel::new(),
    );
    match r {
        Err(NativeError::Io(m)) => assert!(m.contains("/proc/"), "{m}"),
        other => panic!("expected Io, got {other:?}"),
    }
    // A path below a regular file cannot even be created.
    let scratch = Scratch::new("unwritable");
    let file = scratch.path().join("file");
    std::fs::write(&file, b"").expect("write");
    let r = compile_blocking(
        &input("a.py", b"x = 1\n"),
        &file.join("sub"),
        &Cancel::new(),
    );
    assert!(matches!(r, Err(NativeError::OutDir { .. })), "{r:?}");
}

#[test]
fn artifacts_are_listed_with_their_size_and_sha256_and_stale_ones_go() {
    let scratch = Scratch::new("good");
    let src = b"import os\n\n@dec\nclass C:\n    \"\"\"Doc.\"\"\"\n    def m(self):  # c\n        def g():\n            return os.getcwd()\n        return g()\n";
    std::fs::write(scratch.path().join("outline.json"), b"stale").expect("write");
    let m = compile(src, scratch.path());
    assert_eq!(m.status, Status::Success, "{:?}", m.diagnostics);
    let names: Vec<&str> = m.artifacts.iter().map(|a| a.path.as_str()).collect();
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
    for a in &m.artifacts {
        let path = scratch.path().join(&a.path);
        let out = std::process::Command::new("sha256sum")
            .arg(&path)
            .output()
            .expect("sha256sum");
        let digest = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            digest.split_whitespace().next(),
            Some(a.sha256.as_str()),
            "{}",
            a.path
        );
        assert_eq!(std::fs::metadata(&path).expect("meta").len(), a.size);
    }
    let on_disk: serde_json::Value =
        serde_json::from_slice(&std::fs::read(scratch.path().join("manifest.json")).expect("m"))
            .expect("json");
    assert_eq!(on_disk, serde_json::to_value(&m).expect("json"));
    let outline: serde_json::Value =
        serde_json::from_slice(&std::fs::read(scratch.path().join("outline.json")).expect("o"))
            .expect("json");
    let quals: Vec<&str> = outline["definitions"]
        .as_array()
        .expect("defs")
        .iter()
        .map(|d| d["qualname"].as_str().expect("q"))
        .collect();
    assert_eq!(quals, ["C", "C.m", "C.m.<locals>.g"]);
    assert_eq!(outline["definitions"][0]["decorators"][0], "dec");
    assert_eq!(outline["definitions"][0]["end_line"], 9);
    let dot = std::fs::read_to_string(scratch.path().join("callgraph.dot")).expect("dot");
    assert!(
        dot.contains("\"C.m.<locals>.g\" -> \"os.getcwd\";"),
        "{dot}"
    );
    assert!(dot.contains("\"C.m\" -> \"g\";"), "{dot}");

    // A later compile with fewer passes leaves no artifact of the earlier one behind.
    let mut only = input("t.py", src);
    only.settings.passes = vec![Pass::Tokenize];
    compile_blocking(&only, scratch.path(), &Cancel::new()).expect("compile");
    assert_eq!(
        artifacts_in(scratch.path()),
        ["manifest.json", "tokens.jsonl"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compiles_run_concurrently_on_a_bounded_pool() {
    let compiler = weir_native::Compiler::new(2);
    let scratch = Scratch::new("pool");
    let mut tasks = Vec::new();
    for i in 0..8 {
        let c = compiler.clone();
        let dir = scratch.path().join(i.to_string());
        let src = format!("def f{i}():\n    return {i}\n");
        tasks.push(tokio::spawn(async move {
            c.compile(input("p.py", src.as_bytes()), dir, Cancel::new())
                .await
        }));
    }
    for t in tasks {
        let m = t.await.expect("join").expect("compile");
        assert_eq!(m.status, Status::Success);
    }
}
