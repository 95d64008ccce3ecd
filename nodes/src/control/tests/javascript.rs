//! JavaScript snippets: values both ways, errors, compile-time checks,
//! isolation between calls, and the limits.

use weir_codecs::Value;
use weir_engine::env::NoValues;
use weir_engine::runtime::Limits;
use weir_engine::spec::source::{Format, parse};
use weir_engine::{Bundle, Packet, Process};

use super::{answer, errors};

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

#[test]
fn javascript_limits_above_the_engines_ceilings_do_not_compile() {
    let e = errors(
        "{kind: snippet, name: s, language: javascript, code: 'export default () => 1', memory_mib: 100000, timeout: 1h}",
    );
    assert_eq!(
        e,
        [
            "memory_mib: 100000 MiB is above the engine's ceiling of 512 MiB (the operator sets it with WEIR_JS_MAX_MEMORY_MIB)",
            "timeout: 1h is above the engine's ceiling of 30s (the operator sets it with WEIR_JS_MAX_TIMEOUT_MS, in milliseconds)",
        ]
    );
    // At the ceilings, it compiles.
    let e = errors(
        "{kind: snippet, name: s, language: javascript, code: 'export default () => 1', memory_mib: 512, timeout: 30s}",
    );
    assert_eq!(e, Vec::<String>::new());
}

/// A built-in that allocates in a loop of its own runs no bytecode, so
/// QuickJS never calls the interrupt handler during it; the allocator
/// checks the deadline instead. Without that check this call runs for well
/// over a minute here (the stringify finishes, then the handler fires), so
/// the test hangs rather than pass; with it, it stops within milliseconds.
#[tokio::test]
async fn the_time_limit_holds_while_a_built_in_allocates() {
    let yaml = "
- {kind: snippet, name: alloc, language: javascript, timeout: 10ms, memory_mib: 512, code: 'export default () => JSON.stringify(new Array(1e7).fill({a: [1, 2, 3]})).length'}
";
    let specs = parse(yaml, Format::Yaml, None).expect("parses");
    let bundle = Bundle::compile(&crate::scheme(), specs, &NoValues).expect("compiles");
    let tables = bundle.start(Limits::default()).await;
    let answer = tables["default"]
        .send("alloc", Process::new(), Packet::new(Value::Null))
        .await;
    let error = answer.as_error().expect("a timeout, not an answer");
    assert_eq!(error.code.as_deref(), Some("timeout"), "{error}");
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
