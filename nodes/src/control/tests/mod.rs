//! Each control kind's own checks and failures, through the real scheme.
//! Whole workflows are tested end to end in `tests/cli.rs`.

mod flow;
mod javascript;

use weir_codecs::Value;
use weir_engine::env::NoValues;
use weir_engine::runtime::Limits;
use weir_engine::spec::source::{Format, parse};
use weir_engine::{Bundle, Packet, Process};

/// The errors and warnings (`warning: …`) of compiling `yaml`, one line
/// each.
pub(super) fn errors(yaml: &str) -> Vec<String> {
    let specs = parse(yaml, Format::Yaml, None).expect("parses");
    let compiled = Bundle::compile(&crate::scheme(), specs, &NoValues);
    let problems = Bundle::problems(&compiled);
    problems.0.iter().map(|d| d.error.line()).collect()
}

/// The answer of `node` in `yaml` to `input`.
pub(super) async fn answer(yaml: &str, node: &str, input: weir_codecs::Value) -> Packet {
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

#[test]
fn a_cycle_nothing_can_end_is_refused_and_one_with_a_way_out_is_not() {
    let endless = "
- {kind: snippet, name: a, language: cel, code: 'self', ports: {out: [{name: b}]}}
- {kind: log, name: b, ports: {out: [{name: a}]}}
- {kind: snippet, name: c, language: cel, code: 'self', ports: {out: [{name: c}]}}
";
    assert_eq!(
        errors(endless),
        [
            "ports: a cycle no node can end, in namespace `default`: `a`, `b`; each writes its only output on, so a packet that enters is never answered; give it a way out (an `if` or a `switch`)",
            "ports: a cycle no node can end, in namespace `default`: `c`; each writes its only output on, so a packet that enters is never answered; give it a way out (an `if` or a `switch`)",
        ]
    );
    // An `if` on the cycle can leave it; an `error` link is no cycle.
    let with_exit = "
- {kind: snippet, name: a, language: cel, code: 'self + 1', ports: {out: [{name: more}]}}
- {kind: if, name: more, when: 'self < 3', ports: {'out[0]': [{name: a}]}}
- {kind: snippet, name: e, language: cel, code: 'self', ports: {error: [{name: e}]}}
";
    assert_eq!(errors(with_exit), Vec::<String>::new());
}

#[tokio::test]
async fn a_json_or_yaml_constant_may_be_written_as_a_value() {
    // A YAML alias of another spec's field: the same value, served.
    let yaml = "
- kind: schema
  name: check
  schema: &shape {type: object, required: [a]}
- kind: snippet
  name: shape
  language: json
  code: *shape
";
    let answer = answer(yaml, "shape", Value::Null).await;
    assert_eq!(
        weir_codecs::json::to_string(answer.payload()),
        r#"{"type":"object","required":["a"]}"#
    );
    assert!(errors("{kind: snippet, name: s, language: yaml, code: [1, 2]}").is_empty());
    assert_eq!(
        errors("{kind: snippet, name: s, language: cel, code: {a: 1}}"),
        ["code: must be text (only a `json` or `yaml` constant may be written as a value)"]
    );
}
