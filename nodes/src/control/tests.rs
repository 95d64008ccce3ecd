//! Each control kind's own checks and failures, through the real scheme.
//! Whole workflows are tested end to end in `tests/cli.rs`.

use weir_codecs::Value;
use weir_engine::env::NoValues;
use weir_engine::runtime::Limits;
use weir_engine::spec::source::{Format, parse};
use weir_engine::{Bundle, Packet, Process};

/// The errors of compiling `yaml`, one line each.
fn errors(yaml: &str) -> Vec<String> {
    let specs = parse(yaml, Format::Yaml, None).expect("parses");
    match Bundle::compile(&crate::scheme(), specs, &NoValues) {
        Ok(_) => Vec::new(),
        Err(d) => d.0.iter().map(|d| d.error.to_string()).collect(),
    }
}

/// The answer of `node` in `yaml` to `input`.
async fn answer(yaml: &str, node: &str, input: weir_codecs::Value) -> Packet {
    let specs = parse(yaml, Format::Yaml, None).expect("parses");
    let bundle = Bundle::compile(&crate::scheme(), specs, &NoValues).expect("compiles");
    let tables = bundle.start(Limits::default()).await;
    tables["default"]
        .send(node, Process::new(), Packet::new(input))
        .await
}

#[test]
fn snippet_constants_are_parsed_when_compiled() {
    assert_eq!(
        errors("{kind: snippet, name: s, language: json, code: '{nope'}")[0]
            .split(':')
            .next(),
        Some("code")
    );
    assert!(
        errors("{kind: snippet, name: s, language: yaml, code: '[a'}")[0]
            .starts_with("code: invalid YAML")
    );
    assert!(
        errors("{kind: snippet, name: s, language: cobol, code: x}")[0]
            .contains("unknown variant `cobol`")
    );
}

#[test]
fn switch_needs_cases_with_valid_ports() {
    assert_eq!(
        errors("{kind: switch, name: s, matches: []}"),
        ["matches: a switch needs at least one case"]
    );
    let e = errors("{kind: switch, name: s, matches: [{when: 'true', port: '9'}]}");
    assert!(
        e[0].starts_with("matches[0].port: `9` is not a port name"),
        "{e:?}"
    );
}

#[test]
fn throw_status_must_be_an_error_status() {
    assert_eq!(
        errors("{kind: throw, name: t, status: 200}"),
        ["status: 200 is not an error status (400–599)"]
    );
    assert!(errors("{kind: throw, name: t, status: 503}").is_empty());
}

#[test]
fn log_levels_are_checked() {
    assert!(errors("{kind: log, name: l, level: loud}")[0].contains("unknown variant `loud`"));
}

#[tokio::test]
async fn if_fails_on_a_condition_that_is_not_boolean() {
    let answer = answer("{kind: if, name: i, when: 'self + 1'}", "i", 1i64.into()).await;
    let error = answer.as_error().expect("an error");
    assert_eq!(error.code.as_deref(), Some("expression"));
    assert!(
        error.message.contains("node `i`") && error.message.contains("self + 1"),
        "{error}"
    );
}

#[tokio::test]
async fn throw_carries_the_payload_as_details() {
    let answer = answer(
        "{kind: throw, name: t, status: 422}",
        "t",
        "bad input".into(),
    )
    .await;
    let error = answer.as_error().expect("an error");
    assert_eq!(
        (error.message.as_str(), error.status),
        ("bad input", Some(422))
    );
    assert_eq!(error.details.as_str(), Some("bad input"));
}

#[tokio::test]
async fn try_without_an_error_link_passes_the_error_on() {
    let yaml = "
- {kind: try, name: t, ports: {out: [{name: boom}]}}
- {kind: throw, name: boom, message: kaput}
";
    let answer = answer(yaml, "t", weir_codecs::Value::Null).await;
    assert_eq!(answer.as_error().map(|e| e.message.as_str()), Some("kaput"));
}

const PERSON: &str = "
kind: schema
name: person
schema:
  type: object
  required: [name, age]
  properties:
    name: {type: string, minLength: 1}
    age: {type: integer, minimum: 0}
    email: {type: string, format: email}
";

#[tokio::test]
async fn schema_passes_a_valid_payload_on() {
    let input = weir_codecs::json::from_str(r#"{"name": "Ada", "age": 36}"#).unwrap();
    let answer = answer(PERSON, "person", input.clone()).await;
    assert_eq!(answer.payload(), &input);
}

#[tokio::test]
async fn schema_lists_every_violation_with_its_pointer() {
    let input =
        weir_codecs::json::from_str(r#"{"name": "", "age": "old", "email": "nope"}"#).unwrap();
    let answer = answer(PERSON, "person", input).await;
    let error = answer.as_error().expect("an error");
    assert_eq!(
        (error.code.as_deref(), error.status),
        (Some("invalid"), Some(400))
    );
    let details = error.details.as_list().expect("a list of violations");
    let pointers: Vec<&str> = details
        .iter()
        .filter_map(|v| v.get("pointer").and_then(Value::as_str))
        .collect();
    assert_eq!(pointers.len(), 3, "{details:?}");
    for pointer in ["/name", "/age", "/email"] {
        assert!(pointers.contains(&pointer), "{pointers:?}");
        assert!(error.message.contains(&format!("{pointer}: ")), "{error}");
    }
    assert!(error.message.starts_with("node `person`: invalid payload"));
    assert!(
        !error.message.contains("old") && !error.message.contains("nope"),
        "values are not echoed: {error}"
    );
}

#[tokio::test]
async fn schema_names_a_missing_property_at_the_root() {
    let answer = answer(PERSON, "person", Value::map([("age", Value::Int(3))])).await;
    let error = answer.as_error().expect("an error");
    assert!(
        error
            .message
            .contains("(root): \"name\" is a required property"),
        "{error}"
    );
    let first = &error.details.as_list().expect("violations")[0];
    assert_eq!(first.get("pointer").and_then(Value::as_str), Some(""));
}

#[test]
fn an_invalid_schema_is_an_error_of_the_field_schema() {
    let e = errors("{kind: schema, name: s, schema: {type: object, properties: {a: {type: 7}}}}");
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("schema.properties.a.type: not a valid JSON Schema"),
        "{e:?}"
    );
    let e = errors("{kind: schema, name: s, schema: {required: [1]}}");
    assert!(e[0].starts_with("schema.required[0]: not a valid"), "{e:?}");
    let e = errors("{kind: schema, name: s}");
    assert_eq!(e, ["schema: missing field"]);
    let e = errors("{kind: schema, name: s, schema: {$ref: 'https://example.com/s.json'}}");
    assert!(e[0].starts_with("schema"), "{e:?}");
}

fn js(code: &str) -> String {
    format!(
        "{{kind: snippet, name: js, language: javascript, code: {}}}",
        serde_json::to_string(code).unwrap()
    )
}

async fn run_js(code: &str, input: &str) -> Packet {
    let input = weir_codecs::json::from_str(input).unwrap();
    answer(&js(code), "js", input).await
}

#[tokio::test]
async fn javascript_default_export_is_called_with_the_payload() {
    let answer = run_js(
        "export default function (p) { return p.a + p.b }",
        r#"{"a":1,"b":2}"#,
    )
    .await;
    assert_eq!(answer.payload(), &Value::Int(3));
    let answer = run_js(
        "export default async (p) => ({names: p.names.map(n => n + '!'), half: p.n / 2, big: 2 ** 52, huge: 2 ** 60, none: undefined, when: new Date(0)})",
        r#"{"names":["x","y"],"n":3}"#,
    )
    .await;
    assert_eq!(
        weir_codecs::json::to_string(answer.payload()),
        r#"{"names":["x!","y!"],"half":1.5,"big":4503599627370496,"huge":1.152921504606847e+18,"none":null,"when":"1970-01-01T00:00:00.000Z"}"#
    );
}

#[tokio::test]
async fn javascript_sees_every_kind_of_value() {
    let code = "export default function (p) {
        return [typeof p.n, typeof p.big, p.bytes instanceof Uint8Array, p.bytes.length, p.error.code, p.nil === null];
    }";
    let input = Value::map([
        ("n", Value::Int(7)),
        ("big", Value::Int(i64::MAX)),
        ("bytes", Value::Bytes(bytes::Bytes::from_static(b"abc"))),
        (
            "error",
            Value::error(weir_codecs::ErrorValue::new("x").with_code("c")),
        ),
        ("nil", Value::Null),
    ]);
    let answer = answer(&js(code), "js", input).await;
    assert_eq!(
        weir_codecs::json::to_string(answer.payload()),
        r#"["number","bigint",true,3,"c",true]"#
    );
    let echo = answer_of_echo(Value::Int(i64::MAX)).await;
    assert_eq!(echo, Value::Int(i64::MAX), "a BigInt comes back exact");
    let echo = answer_of_echo(Value::Bytes(bytes::Bytes::from_static(b"\x00\xff"))).await;
    assert_eq!(echo, Value::Bytes(bytes::Bytes::from_static(b"\x00\xff")));
}

async fn answer_of_echo(input: Value) -> Value {
    answer(&js("export default p => p"), "js", input)
        .await
        .into_payload()
}

#[tokio::test]
async fn javascript_that_cannot_be_converted_is_an_error_naming_where() {
    let answer = run_js("export default () => ({a: [1, () => 2]})", "null").await;
    let error = answer.as_error().expect("an error");
    assert_eq!(error.code.as_deref(), Some("convert"));
    assert_eq!(
        error.message,
        "node `js`: cannot answer a function (at the answer.a[1])"
    );
    let answer = run_js(
        "export default () => { const o = {}; o.self = o; return o }",
        "null",
    )
    .await;
    let error = answer.as_error().expect("an error");
    assert!(error.message.contains("nested deeper than"), "{error}");
    let answer = run_js("export default () => Symbol('s')", "null").await;
    assert!(
        answer
            .as_error()
            .expect("an error")
            .message
            .contains("a symbol")
    );
}

#[tokio::test]
async fn javascript_errors_keep_their_message_code_and_status() {
    let answer = run_js(
        "export default function (p) {\n  throw Object.assign(new Error('no way'), {code: 'nope', status: 422, details: {p}})\n}",
        "5",
    )
    .await;
    let error = answer.as_error().expect("an error");
    assert_eq!(
        (error.code.as_deref(), error.status),
        (Some("nope"), Some(422))
    );
    assert!(
        error
            .message
            .starts_with("node `js`: Error: no way (line 2"),
        "{error}"
    );
    assert_eq!(weir_codecs::json::to_string(&error.details), r#"{"p":5}"#);
    let answer = run_js("export default (p) => p.missing.deeper", "{}").await;
    let error = answer.as_error().expect("an error");
    assert_eq!(error.code.as_deref(), Some("script"));
    assert!(error.message.contains("TypeError"), "{error}");
    let answer = run_js("export default () => { throw 'plain' }", "null").await;
    assert_eq!(
        answer.as_error().map(|e| e.message.as_str()),
        Some("node `js`: plain")
    );
    let answer = run_js("export default () => new Promise(() => {})", "null").await;
    assert!(
        answer
            .as_error()
            .expect("an error")
            .message
            .contains("never settled")
    );
}

#[test]
fn javascript_is_checked_when_compiled() {
    let e = errors(&js("export default function (p) { return p.a + }"));
    assert!(e[0].starts_with("code: JavaScript: SyntaxError"), "{e:?}");
    assert!(e[0].contains("line 1"), "{e:?}");
    let e = errors(&js("export const x = 1"));
    assert!(
        e[0].starts_with("code: JavaScript: the module has no default export function"),
        "{e:?}"
    );
    let e = errors(&js("import fs from 'fs'; export default () => 1"));
    assert!(
        e[0].starts_with("code: JavaScript:") && e[0].contains("fs"),
        "{e:?}"
    );
    let e = errors(&js("while (true) {}\nexport default () => 1"));
    assert!(e[0].contains("time limit"), "{e:?}");
    let e =
        errors("{kind: snippet, name: s, language: json, code: '1', timeout: 1s, memory_mib: 2}");
    assert_eq!(
        e,
        [
            "timeout: a constant runs no code: `timeout` applies to `cel` and `javascript`",
            "memory_mib: `memory_mib` applies to `javascript` only"
        ]
    );
    let e = errors("{kind: snippet, name: s, language: cel, code: '1', timeout: soon}");
    assert!(
        e[0].starts_with("timeout: `soon` is not a duration"),
        "{e:?}"
    );
}

#[tokio::test]
async fn javascript_has_no_host_access_and_no_leaks_between_calls() {
    let answer = run_js(
        "export default () => [typeof require, typeof process, typeof fetch, typeof std, typeof os, typeof console, typeof XMLHttpRequest]",
        "null",
    )
    .await;
    assert_eq!(
        weir_codecs::json::to_string(answer.payload()),
        r#"["undefined","undefined","undefined","undefined","undefined","undefined","undefined"]"#
    );
    let code = "export default (p) => { const seen = [globalThis.leak ?? null, [].polluted ?? null]; globalThis.leak = p; Array.prototype.polluted = p; return seen }";
    let yaml = js(code);
    let specs = parse(&yaml, Format::Yaml, None).expect("parses");
    let bundle = Bundle::compile(&crate::scheme(), specs, &NoValues).expect("compiles");
    let tables = bundle.start(Limits::default()).await;
    for i in 0..20i64 {
        let answer = tables["default"]
            .send("js", Process::new(), Packet::new(Value::Int(i)))
            .await;
        assert_eq!(
            weir_codecs::json::to_string(answer.payload()),
            "[null,null]",
            "call {i} saw nothing of earlier calls"
        );
    }
}

#[tokio::test]
async fn javascript_limits_stop_runaway_code_and_the_engine_carries_on() {
    let yaml = "
- {kind: snippet, name: spin, language: javascript, timeout: 100ms, code: 'export default () => { while (true) {} }'}
- {kind: snippet, name: stubborn, language: javascript, timeout: 100ms, code: 'export default () => { for (;;) { try { while (true) {} } catch (e) {} finally { continue } } }'}
- {kind: snippet, name: hog, language: javascript, memory_mib: 8, code: 'export default () => { const a = []; for (;;) a.push(new Array(1e5).fill(1)) }'}
- {kind: snippet, name: huge, language: javascript, memory_mib: 8, code: 'export default () => \"x\".repeat(1 << 28).length'}
- {kind: snippet, name: deep, language: javascript, code: 'export default function f(n) { return f(n + 1) }'}
- {kind: snippet, name: fine, language: javascript, code: 'export default (p) => p * 2'}
";
    let specs = parse(yaml, Format::Yaml, None).expect("parses");
    let bundle = Bundle::compile(&crate::scheme(), specs, &NoValues).expect("compiles");
    let tables = bundle.start(Limits::default()).await;
    let send = |node: &'static str| {
        let table = tables["default"].clone();
        async move {
            table
                .send(node, Process::new(), Packet::new(Value::Int(21)))
                .await
        }
    };
    for node in ["spin", "stubborn"] {
        let answer = send(node).await;
        let error = answer.as_error().expect("a timeout");
        assert_eq!(error.code.as_deref(), Some("timeout"), "{node}: {error}");
        assert_eq!(
            error.message,
            format!("node `{node}`: ran past its time limit of 100ms")
        );
    }
    for node in ["hog", "huge"] {
        let answer = send(node).await;
        let error = answer.as_error().expect("out of memory");
        assert_eq!(error.code.as_deref(), Some("memory"), "{node}: {error}");
        assert!(error.message.contains("8 MiB"), "{error}");
    }
    let answer = send("deep").await;
    assert!(
        answer
            .as_error()
            .expect("a stack overflow")
            .message
            .contains("RangeError"),
        "{answer:?}"
    );
    // Every pool thread still answers normally.
    for _ in 0..16 {
        assert_eq!(send("fine").await.payload(), &Value::Int(42));
    }
}
