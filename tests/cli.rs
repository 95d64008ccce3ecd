//! End-to-end tests of the `weir` binary on the fixture workflows under
//! `tests/fixtures/`: `run` answers, `validate` errors (each naming the file,
//! the spec and the field), and `graph` output.

use std::path::PathBuf;
use std::process::{Command, Output};

fn fixture(name: &str) -> String {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "fixtures", name]
        .iter()
        .collect();
    path.display().to_string()
}

fn weir(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(args)
        .env_remove("WEIR_LOG")
        .output()
        .expect("the weir binary runs")
}

/// `weir run` on a fixture; the answer as trimmed stdout, or the error.
fn run(file: &str, node: &str, input: &str) -> Result<String, String> {
    let out = weir(&[
        "run",
        "-f",
        &fixture(file),
        "--node",
        node,
        "--input",
        input,
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    match out.status.success() {
        true => Ok(stdout),
        false => {
            assert!(
                stdout.is_empty(),
                "nothing on stdout when failing: {stdout}"
            );
            Err(stderr)
        }
    }
}

/// `weir validate` on a bad fixture: every stderr line, asserting exit 1.
fn invalid(file: &str) -> Vec<String> {
    let out = weir(&["validate", "-f", &fixture(file)]);
    assert_eq!(out.status.code(), Some(1), "{file} must be invalid");
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(str::to_string)
        .collect()
}

fn has(lines: &[String], parts: &[&str]) -> bool {
    lines.iter().any(|l| parts.iter().all(|p| l.contains(p)))
}

#[test]
fn the_readme_flow_answers_big_and_small() {
    assert_eq!(run("flow.yaml", "double", "21").as_deref(), Ok("\"big\""));
    assert_eq!(run("flow.yaml", "double", "5").as_deref(), Ok("\"small\""));
}

#[test]
fn validate_accepts_good_specs() {
    let out = weir(&["validate", "-f", &fixture("control")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("specs valid"));
}

#[test]
fn switch_picks_the_first_case_that_holds() {
    assert_eq!(
        run("control/switch.yaml", "sign", "-5").as_deref(),
        Ok("\"negative\"")
    );
    assert_eq!(
        run("control/switch.yaml", "sign", "0").as_deref(),
        Ok("\"zero\"")
    );
    assert_eq!(
        run("control/switch.yaml", "sign", "7").as_deref(),
        Ok("\"positive\"")
    );
    let err = run("control/switch.yaml", "strict", "2").unwrap_err();
    assert!(err.contains("no case matched"), "{err}");
}

#[test]
fn try_hands_branch_errors_to_its_error_port() {
    assert_eq!(
        run("control/try.yaml", "guarded", "null").as_deref(),
        Ok("\"caught: boom (risky)\"")
    );
}

#[test]
fn throw_fails_with_its_message_and_code() {
    let err = run("control/throw.yaml", "teapot", "{}").unwrap_err();
    assert_eq!(err, "error: I'm a teapot (teapot)");
}

#[test]
fn a_failing_node_routes_its_error_to_the_error_port() {
    assert_eq!(
        run("control/error-port.yaml", "divide", "4").as_deref(),
        Ok("25")
    );
    assert_eq!(
        run("control/error-port.yaml", "divide", "0").as_deref(),
        Ok(r#"{"fallback":true}"#)
    );
}

#[test]
fn snippets_compute_and_emit_constants() {
    assert_eq!(
        run("control/constants.yaml", "json", "null").as_deref(),
        Ok(r#"{"a":[1,2.5,"x",null,true]}"#)
    );
    assert_eq!(
        run("control/constants.yaml", "yaml", "null").as_deref(),
        Ok(r#"{"a":1,"b":["x","y"]}"#)
    );
    let out = run(
        "control/constants.yaml",
        "map",
        r#"{"a": 1, "b": 2, "names": ["x", "y"]}"#,
    );
    assert_eq!(out.as_deref(), Ok(r#"{"names":["x!","y!"],"sum":3}"#));
    let err = run("control/constants.yaml", "map", r#"{"a": 1}"#).unwrap_err();
    assert!(err.contains("node `map`"), "{err}");
}

#[test]
fn log_passes_the_payload_on_and_logs_it() {
    let out = Command::new(env!("CARGO_BIN_EXE_weir"))
        .args([
            "run",
            "-f",
            &fixture("control/log.yaml"),
            "--node",
            "audit",
            "--input",
            "\"hey\"",
        ])
        .env("WEIR_LOG", "info")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "\"hey!\"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("request seen") && stderr.contains("node=audit"),
        "{stderr}"
    );
}

#[test]
fn env_templates_are_rendered_at_load() {
    assert_eq!(
        run("control/env.yaml", "greet", "null").as_deref(),
        Ok("\"hello, world\"")
    );
    let out = Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(["run", "-f", &fixture("control/env.yaml"), "--node", "greet"])
        .env("WEIR_TEST_GREETING", "bonjour")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "\"bonjour, world\""
    );
}

#[test]
fn run_reports_bad_arguments() {
    let err = run("flow.yaml", "double", "{not json").unwrap_err();
    assert!(err.contains("--input is not valid JSON"), "{err}");
    let err = run("flow.yaml", "nobody", "1").unwrap_err();
    assert!(err.contains("no node `nobody`"), "{err}");
}

#[test]
fn unknown_kind_is_named_with_file_spec_and_field() {
    let lines = invalid("bad/unknown-kind.yaml");
    assert!(
        has(
            &lines,
            &[
                "bad/unknown-kind.yaml",
                "spec #1 `typo` (snipet)",
                "kind: unknown kind `snipet`",
                "snippet"
            ]
        ),
        "{lines:?}"
    );
}

#[test]
fn every_missing_misspelt_and_mistyped_field_is_reported() {
    let lines = invalid("bad/fields.yaml");
    assert!(
        has(
            &lines,
            &[
                "bad/fields.yaml",
                "spec #1 `incomplete` (snippet)",
                "langauge: unknown field"
            ]
        ),
        "{lines:?}"
    );
    assert!(
        has(
            &lines,
            &["spec #1 `incomplete` (snippet)", "language: missing field"]
        ),
        "{lines:?}"
    );
    assert!(
        has(
            &lines,
            &["spec #1 `incomplete` (snippet)", "code: missing field"]
        ),
        "{lines:?}"
    );
    assert!(
        has(
            &lines,
            &[
                "spec #2 `mistyped` (if)",
                "when: invalid type: sequence, expected a string"
            ]
        ),
        "{lines:?}"
    );
}

#[test]
fn ports_the_kinds_lack_are_reported() {
    let lines = invalid("bad/ports.yaml");
    assert!(
        has(
            &lines,
            &[
                "warning: ",
                "bad/ports.yaml",
                "spec #1 `branch` (if)",
                "ports.out: kind `if` has no output `out`",
                "out[0], out[1]",
                "nothing goes this way"
            ]
        ),
        "{lines:?}"
    );
    assert!(
        has(
            &lines,
            &[
                "spec #2 `source` (snippet)",
                "ports.out[0]: link to `sink`: it has no input `in[3]`"
            ]
        ),
        "{lines:?}"
    );
}

#[test]
fn links_to_missing_nodes_are_reported() {
    let lines = invalid("bad/missing-node.yaml");
    assert!(
        has(
            &lines,
            &[
                "bad/missing-node.yaml",
                "spec #1 `lonely` (snippet)",
                "ports.out[0]: link to `ghost`: no such node in namespace `default`"
            ]
        ),
        "{lines:?}"
    );
}

#[test]
fn links_across_namespaces_are_reported() {
    let lines = invalid("bad/cross-namespace.yaml");
    assert!(
        has(
            &lines,
            &[
                "spec #1 `sender`",
                "ports.out[0]",
                "in namespace `beta`: links cannot cross namespaces"
            ]
        ),
        "{lines:?}"
    );
    assert!(
        has(
            &lines,
            &[
                "warning: ",
                "spec #2 `explicit`",
                "ports.out[0]",
                "links cannot cross namespaces: the node will not load"
            ]
        ),
        "{lines:?}"
    );
    // A name only another namespace has is a missing target (an error);
    // a target in another namespace, written out, a dead link (a warning:
    // the schema cannot say "the spec's own namespace").
    assert_eq!(
        lines.last().map(String::as_str),
        Some("1 error, 1 warning"),
        "{lines:?}"
    );
}

/// A name given twice is a warning (the later spec replaces the earlier,
/// as storing them in turn would), which `validate` fails on.
#[test]
fn names_used_twice_in_a_namespace_are_reported() {
    let lines = invalid("bad/duplicate.yaml");
    assert!(
        has(
            &lines,
            &[
                "warning: ",
                "bad/duplicate.yaml",
                "spec #2 `twin`",
                "name: name `twin` is given again in namespace `default`: this spec replaces",
                "spec #1"
            ]
        ),
        "{lines:?}"
    );
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("warning:")).count(),
        1,
        "another namespace may reuse it: {lines:?}"
    );
    assert_eq!(lines.last().map(String::as_str), Some("1 warning"));
}

#[test]
fn expressions_that_do_not_compile_are_reported() {
    let lines = invalid("bad/expression.yaml");
    assert!(
        has(
            &lines,
            &[
                "bad/expression.yaml",
                "spec #1 `broken` (if)",
                "when: expression does not compile"
            ]
        ),
        "{lines:?}"
    );
    assert!(
        has(
            &lines,
            &[
                "spec #2 `cases` (switch)",
                "matches[1].when: expression does not compile"
            ]
        ),
        "{lines:?}"
    );
    assert!(
        has(
            &lines,
            &[
                "spec #2 `cases` (switch)",
                "matches[1].port: `out[x]` is not a port name"
            ]
        ),
        "{lines:?}"
    );
}

#[test]
fn yaml_syntax_errors_give_the_line() {
    let lines = invalid("bad/syntax.yaml");
    assert!(
        has(&lines, &["bad/syntax.yaml:", "invalid YAML"]),
        "{lines:?}"
    );
}

#[test]
fn unbound_template_variables_are_reported() {
    let lines = invalid("bad/template.yaml");
    assert!(
        has(&lines, &["spec #1 `unbound` (snippet)", "code:", "NOPE"]),
        "{lines:?}"
    );
    assert!(
        has(
            &lines,
            &[
                "spec #2 `unset` (snippet)",
                "env.PORT: environment variable `WEIR_TEST_SURELY_UNSET` is not set"
            ]
        ),
        "{lines:?}"
    );
}

#[test]
fn graph_draws_mermaid_and_dot() {
    let out = weir(&["graph", "-f", &fixture("flow.yaml")]);
    let mermaid = String::from_utf8_lossy(&out.stdout);
    assert!(mermaid.starts_with("flowchart LR"), "{mermaid}");
    assert!(
        mermaid.contains("n1 -- \"out[0] → in\" --> n2"),
        "{mermaid}"
    );
    let out = weir(&["graph", "-f", &fixture("flow.yaml"), "--format", "dot"]);
    let dot = String::from_utf8_lossy(&out.stdout);
    assert!(
        dot.starts_with("digraph weir {") && dot.contains("n0 -> n1 [label=\"out → in\"];"),
        "{dot}"
    );
}

#[test]
fn bad_net_fields_are_named_by_validate() {
    let lines = invalid("net/bad.yaml");
    for (spec, field) in [
        ("`fetch` (http)", "method: `FETCH` is not an HTTP method"),
        (
            "`fetch` (http)",
            "url: the scheme must be `http` or `https`, not `ftp`",
        ),
        (
            "`fetch` (http)",
            "header.bad name: `bad name` is not a header name",
        ),
        (
            "`https` (listener)",
            "tls.cert: not a valid PEM certificate chain",
        ),
    ] {
        assert!(
            has(&lines, &["net/bad.yaml", spec, field]),
            "{field}: {lines:#?}"
        );
    }
    // A key file is read where the listener loads, not by validate.
    assert!(!lines.iter().any(|l| l.contains("tls.key")), "{lines:#?}");
}

#[test]
fn schema_passes_valid_payloads_and_lists_every_violation() {
    assert_eq!(
        run(
            "control/schema.yaml",
            "person",
            r#"{"name":"Ada","age":36}"#
        )
        .as_deref(),
        Ok("\"hello, Ada\"")
    );
    let err = run(
        "control/schema.yaml",
        "person",
        r#"{"name":"","age":-1,"x":1}"#,
    )
    .unwrap_err();
    assert!(
        err.starts_with("error: node `person`: invalid payload"),
        "{err}"
    );
    for violation in [
        "/name: value is shorter than 1 character",
        "/age: value is less than the minimum of 0",
        "(root): Additional properties are not allowed ('x' was unexpected)",
    ] {
        assert!(err.contains(violation), "{violation} in {err}");
    }
    assert!(err.ends_with("(invalid)"), "{err}");
}

#[test]
fn an_invalid_json_schema_is_reported_at_its_field() {
    let lines = invalid("bad/schema.yaml");
    assert!(
        has(
            &lines,
            &[
                "bad/schema.yaml",
                "spec #1 `broken` (schema)",
                "schema.properties.age.minimum: not a valid JSON Schema",
                "\"zero\" is not of type \"number\""
            ]
        ),
        "{lines:?}"
    );
}

#[test]
fn javascript_snippets_run_the_default_export() {
    assert_eq!(
        run("control/javascript.yaml", "add", r#"{"a":1,"b":2}"#).as_deref(),
        Ok("3")
    );
    assert_eq!(
        run(
            "control/javascript.yaml",
            "tidy",
            r#"{"name":"  Ada ","tags":["b","A"]}"#
        )
        .as_deref(),
        Ok(r#"{"name":"Ada","tags":["a","b"]}"#)
    );
    let err = run("control/javascript.yaml", "refuse", "\"entry\"").unwrap_err();
    assert!(
        err.starts_with("error: node `refuse`: Error: no entry (line 2")
            && err.ends_with("(refused)"),
        "{err}"
    );
}

#[test]
fn javascript_limits_end_runaway_scripts_with_an_error() {
    let err = run("control/javascript.yaml", "spin", "null").unwrap_err();
    assert_eq!(
        err,
        "error: node `spin`: ran past its time limit of 200ms (timeout)"
    );
    let err = run("control/javascript.yaml", "hog", "null").unwrap_err();
    assert_eq!(
        err,
        "error: node `hog`: ran out of its memory limit of 16 MiB (memory)"
    );
}

#[test]
fn javascript_errors_are_reported_at_validate_time() {
    let lines = invalid("bad/javascript.yaml");
    assert!(
        has(
            &lines,
            &[
                "bad/javascript.yaml",
                "spec #1 `broken` (snippet)",
                "code: JavaScript: SyntaxError",
                "line 1"
            ]
        ),
        "{lines:?}"
    );
    assert!(
        has(
            &lines,
            &[
                "spec #2 `exportless` (snippet)",
                "code: JavaScript: the module has no default export function"
            ]
        ),
        "{lines:?}"
    );
}

#[test]
fn docs_prints_the_kind_reference_and_schemas() {
    let out = weir(&["docs"]);
    let reference = String::from_utf8_lossy(&out.stdout);
    let written = std::fs::read_to_string(format!("{}/docs/nodes.md", env!("CARGO_MANIFEST_DIR")))
        .expect("docs/nodes.md");
    assert_eq!(
        reference, written,
        "docs/nodes.md is what `weir docs` prints"
    );
    let out = weir(&["docs", "--schema", "merge"]);
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(schema["required"], serde_json::json!(["inputs"]));
    let out = weir(&["docs", "--schema", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown kind `nope`"));
}

#[test]
fn split_and_merge_scatter_and_gather() {
    assert_eq!(
        run("control/split.yaml", "pair", r#"["ab","ccc"]"#).as_deref(),
        Ok(r#"["AB",3]"#)
    );
    let err = run("control/split.yaml", "pair", "1").unwrap_err();
    assert_eq!(err, "error: node `pair`: expected a list, got int (type)");
    // Both writers of the round get the one combined answer.
    assert_eq!(
        run("control/merge.yaml", "scatter", "[3, 0]").as_deref(),
        Ok(r#"[{"price":6,"stock":false},{"price":6,"stock":false}]"#)
    );
    let err = run("control/merge.yaml", "gather", "1").unwrap_err();
    assert!(err.contains("no input `in` (inputs: in[0]…in[1])"), "{err}");
}

#[test]
fn for_runs_each_element_then_the_collected_answers() {
    assert_eq!(
        run(
            "control/for.yaml",
            "order",
            r#"[{"price":2,"qty":3},{"price":5,"qty":1},{"price":1,"qty":4}]"#
        )
        .as_deref(),
        Ok(r#"{"lines":3,"total":15}"#)
    );
    assert_eq!(
        run("control/for.yaml", "order", "[]").as_deref(),
        Ok(r#"{"lines":0,"total":0}"#)
    );
    let err = run("control/for.yaml", "order", r#"[{"price":2}]"#).unwrap_err();
    assert!(err.contains("node `line`"), "{err}");
}

#[test]
fn fork_answers_at_once_and_its_branch_can_join_later() {
    assert_eq!(
        run("control/fork.yaml", "start", "5").as_deref(),
        Ok(r#"["audited 5","served 5"]"#)
    );
    assert_eq!(run("control/fork.yaml", "fire", "5").as_deref(), Ok("5"));
}

#[test]
fn pipe_step_and_block_compose_specs() {
    assert_eq!(
        run("control/pipe.yaml", "checked", "3").as_deref(),
        Ok(r#""3 items""#)
    );
    let err = run("control/pipe.yaml", "checked", "0").unwrap_err();
    assert!(err.contains("node `check`: invalid payload"), "{err}");
    assert_eq!(
        run(
            "control/step.yaml",
            "signup",
            r#"{"email":"Ada@Example.COM"}"#
        )
        .as_deref(),
        Ok(r#""welcome, ada@example.com from example.com""#)
    );
    let err = run("control/step.yaml", "signup", r#"{"email":"nope"}"#).unwrap_err();
    assert!(
        err.starts_with("error: node `signup.steps[0]`: invalid payload: /email:"),
        "{err}"
    );
    assert_eq!(
        run("control/block.yaml", "greeter", r#""Ada""#).as_deref(),
        Ok(r#"{"greeting":"hello, Ada!"}"#)
    );
    assert_eq!(
        run("control/block.yaml", "greeter", r#""""#).as_deref(),
        Ok(r#""who are you?""#),
        "the block's inner error port caught it"
    );
}

#[test]
fn retry_and_sleep_take_their_time() {
    let err = run("control/retry.yaml", "stubborn", "null").unwrap_err();
    assert_eq!(err, "error: service down (down)");
    assert_eq!(
        run("control/retry.yaml", "steady", r#""x""#).as_deref(),
        Ok(r#""up: x""#)
    );
    assert_eq!(
        run("control/sleep.yaml", "nap", "1").as_deref(),
        Ok(r#"{"slept":1}"#)
    );
}

#[test]
fn control_kinds_report_bad_fields_at_their_path() {
    let lines = invalid("bad/control.yaml");
    for (spec, error) in [
        (
            "spec #1 `nothing` (merge)",
            "inputs: must be 1 to 1024, not 0",
        ),
        ("spec #2 `stalled` (for)", "concurrency: must be at least 1"),
        (
            "spec #3 `restless` (sleep)",
            "interval: `a while` is not a duration",
        ),
        ("spec #4 `frantic` (retry)", "factor: 0.5 is not a factor"),
        (
            "spec #5 `tangled` (step)",
            "steps[0].ports: steps are chained in order",
        ),
        (
            "spec #6 `hollow` (block)",
            "outputs.out.name: no inner spec is named `ghost`",
        ),
        (
            "spec #7 `broken` (step)",
            "steps[0].code: JavaScript: SyntaxError",
        ),
    ] {
        assert!(
            has(&lines, &["bad/control.yaml", spec, error]),
            "{spec}: {error} in {lines:?}"
        );
    }
}
