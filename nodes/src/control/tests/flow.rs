//! The kinds that move packets around: split, merge, for, fork, pipe,
//! step, block, retry and sleep, alone and together.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;
use weir_codecs::{ErrorValue, Value};
use weir_engine::env::NoValues;
use weir_engine::runtime::{BoxFuture, Limits};
use weir_engine::spec::source::{Format, parse};
use weir_engine::{Activate, shared};
use weir_engine::{Bundle, Call, FieldError, Kind, Node, Packet, Process, Scheme, scheme::Context};

use super::{answer, errors};

fn json(text: &str) -> Value {
    weir_codecs::json::from_str(text).expect("test JSON")
}

fn text(packet: &Packet) -> String {
    weir_codecs::json::to_string(packet.payload())
}

/// The answer, or a failure if it takes longer than any sane run (a hang
/// becomes a failed test, not a stuck one).
async fn bounded(answer: impl std::future::Future<Output = Packet>) -> Packet {
    tokio::time::timeout(Duration::from_secs(60), answer)
        .await
        .expect("answered")
}

#[tokio::test]
async fn split_sends_element_i_to_out_i_and_lists_the_answers() {
    let yaml = "
- {kind: split, name: s, ports: {'out[0]': [{name: ten}], 'out[1]': [{name: inc}]}}
- {kind: snippet, name: ten, language: cel, code: self * 10}
- {kind: snippet, name: inc, language: cel, code: self + 1}
";
    assert_eq!(
        text(&answer(yaml, "s", json("[1, 2, 3]")).await),
        "[10,3,3]"
    );
    assert_eq!(
        text(&answer(yaml, "s", json("[4]")).await),
        "[40]",
        "a list of one"
    );
    assert_eq!(text(&answer(yaml, "s", json("[]")).await), "[]");
    let error = answer(yaml, "s", json("{}")).await;
    let error = error.as_error().expect("not a list");
    assert_eq!(
        (error.message.as_str(), error.code.as_deref()),
        ("node `s`: expected a list, got map", Some("type"))
    );
    let failed = answer(yaml, "s", json(r#"[1, "x"]"#)).await;
    assert!(
        failed
            .as_error()
            .expect("a branch failed")
            .message
            .contains("node `inc`")
    );
}

const JOIN: &str = "
- {kind: split, name: s, ports: {'out[0]': [{name: a}], 'out[1]': [{name: b}]}}
- {kind: snippet, name: a, language: cel, code: self * 10, ports: {out: [{name: m, port: 'in[0]'}]}}
- {kind: snippet, name: b, language: cel, code: self + 1, ports: {out: [{name: m, port: 'in[1]'}]}}
- {kind: merge, name: m, inputs: 2, ports: {out: [{name: sum}]}}
- {kind: snippet, name: sum, language: javascript, code: 'export default (l) => l.reduce((a, b) => a + b, 0)'}
";

#[tokio::test]
async fn merge_joins_one_packet_per_port_and_answers_every_writer() {
    let answer = bounded(answer(JOIN, "s", json("[1, 2]"))).await;
    assert_eq!(text(&answer), "[13,13]", "both writers get the one answer");
}

#[tokio::test]
async fn merge_keeps_rounds_per_execution() {
    let specs = parse(JOIN, Format::Yaml, None).expect("parses");
    let bundle = Bundle::compile(&crate::scheme(), specs, &NoValues).expect("compiles");
    let tables = bundle.start(Limits::default()).await;
    let sends = (0..20i64).map(|i| {
        let table = tables["default"].clone();
        async move {
            let answer = table
                .send(
                    "s",
                    Process::new(),
                    Packet::new(Value::list([Value::Int(i), Value::Int(i)])),
                )
                .await;
            (i, answer)
        }
    });
    for (i, answer) in bounded_all(sends).await {
        let sum = i * 10 + i + 1;
        assert_eq!(text(&answer), format!("[{sum},{sum}]"), "execution {i}");
    }
}

async fn bounded_all<F: std::future::Future>(all: impl Iterator<Item = F>) -> Vec<F::Output> {
    tokio::time::timeout(Duration::from_secs(60), futures_util::future::join_all(all))
        .await
        .expect("answered")
}

#[test]
fn merge_needs_inputs_and_has_only_those() {
    assert_eq!(
        errors("{kind: merge, name: m, inputs: 0}"),
        ["inputs: must be 1 to 1024, not 0"]
    );
    let e = errors(
        "
- {kind: snippet, name: s, language: text, code: x, ports: {out: [{name: m, port: 'in[2]'}]}}
- {kind: merge, name: m, inputs: 2}
",
    );
    assert!(e[0].contains("it has no input `in[2]`"), "{e:?}");
}

#[tokio::test]
async fn for_sends_each_element_then_the_collected_answers() {
    let yaml = "
- {kind: for, name: f, concurrency: 3, ports: {'out[0]': [{name: double}], 'out[1]': [{name: total}]}}
- {kind: snippet, name: double, language: cel, code: self * 2}
- {kind: snippet, name: total, language: cel, code: '{\"each\": self, \"count\": size(self)}'}
- {kind: for, name: plain, ports: {'out[0]': [{name: double}]}}
";
    assert_eq!(
        text(&answer(yaml, "f", json("[1, 2, 3, 4, 5]")).await),
        r#"{"count":5,"each":[2,4,6,8,10]}"#
    );
    assert_eq!(text(&answer(yaml, "plain", json("[7]")).await), "[14]");
    let failed = answer(yaml, "plain", json(r#"[1, "x", 3]"#)).await;
    assert!(
        failed
            .as_error()
            .expect("stops")
            .message
            .contains("node `double`")
    );
    assert_eq!(
        errors("{kind: for, name: f, concurrency: 0}"),
        ["concurrency: must be at least 1"]
    );
}

#[tokio::test]
async fn pipe_feeds_the_first_answer_to_the_second_branch() {
    let yaml = "
- {kind: pipe, name: p, ports: {'out[0]': [{name: inc}], 'out[1]': [{name: double}]}}
- {kind: snippet, name: inc, language: cel, code: self + 1}
- {kind: snippet, name: double, language: cel, code: self * 2}
- {kind: pipe, name: broken, ports: {'out[0]': [{name: boom}], 'out[1]': [{name: never}]}}
- {kind: throw, name: boom, message: first failed}
- {kind: throw, name: never, message: second ran}
";
    assert_eq!(text(&answer(yaml, "p", json("3")).await), "8");
    let failed = answer(yaml, "broken", json("3")).await;
    assert_eq!(
        failed.as_error().map(|e| e.message.as_str()),
        Some("first failed")
    );
}

#[tokio::test]
async fn fork_answers_at_once_and_its_branch_joins_through_merge() {
    // The main line waits in `merge` for the forked branch's packet.
    let yaml = "
- {kind: pipe, name: p, ports: {'out[0]': [{name: f}], 'out[1]': [{name: main}]}}
- {kind: fork, name: f, ports: {out: [{name: nap}]}}
- {kind: sleep, name: nap, interval: 20ms, ports: {out: [{name: side}]}}
- {kind: snippet, name: side, language: cel, code: '\"side \" + string(self)', ports: {out: [{name: m, port: 'in[0]'}]}}
- {kind: snippet, name: main, language: cel, code: '\"main \" + string(self)', ports: {out: [{name: m, port: 'in[1]'}]}}
- {kind: merge, name: m, inputs: 2}
- {kind: fork, name: lonely, ports: {out: [{name: stuck, port: 'in[0]'}]}}
- {kind: merge, name: stuck, inputs: 2}
";
    assert_eq!(
        text(&bounded(answer(yaml, "p", json("7"))).await),
        r#"["side 7","main 7"]"#
    );
    // A branch that never ends does not hold the answer back.
    assert_eq!(text(&bounded(answer(yaml, "lonely", json("1"))).await), "1");
}

#[tokio::test]
async fn step_runs_inline_specs_in_order() {
    let yaml = "
- kind: step
  name: s
  steps:
    - {kind: schema, schema: {type: number}}
    - {kind: snippet, language: cel, code: self * 2}
    - {kind: snippet, language: javascript, code: 'export default (n) => `${n} doubled`'}
  ports: {out: [{name: loud}]}
- {kind: snippet, name: loud, language: cel, code: self + '!'}
";
    assert_eq!(
        text(&answer(yaml, "s", json("21")).await),
        r#""42 doubled!""#
    );
    let failed = answer(yaml, "s", json(r#""x""#)).await;
    let error = failed.as_error().expect("the schema step fails");
    assert_eq!(error.code.as_deref(), Some("invalid"));
}

#[test]
fn step_errors_name_the_step() {
    let e = errors(
        "
kind: step
name: s
steps:
  - {kind: snippet, language: cel, code: self +}
  - {kind: nope}
",
    );
    assert!(
        e.iter()
            .any(|e| e.starts_with("steps[0].code: expression does not compile")),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|e| e.starts_with("steps[1].kind: unknown kind `nope`")),
        "{e:?}"
    );
    assert_eq!(
        errors("{kind: step, name: s, steps: [{kind: log, ports: {out: [{name: x}]}}]}"),
        ["steps[0].ports: steps are chained in order and have no `ports`"]
    );
    assert_eq!(
        errors("{kind: step, name: s, steps: [{kind: merge, inputs: 2}]}"),
        [
            "warning: steps[0].kind: kind `merge` has no input `in`: a packet reaching this step fails"
        ]
    );
    assert_eq!(
        errors("{kind: step, name: s, steps: []}"),
        ["steps: needs at least one spec"]
    );
    let e = errors("{kind: step, name: s, steps: [{kind: log, namespace: other}]}");
    assert!(
        e[0].starts_with(
            "steps[0].namespace: an inline spec lives in its parent's namespace `default`"
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn step_templates_bind_each_step_env() {
    let yaml = "
kind: step
name: s
steps:
  - kind: snippet
    language: cel
    code: 'self + {{ N }}'
    env: {N: {default: 5}}
";
    assert_eq!(text(&answer(yaml, "s", json("1")).await), "6");
}

const BLOCK: &str = "
- kind: block
  name: b
  specs:
    - {kind: schema, name: check, schema: {type: string}, ports: {out: [{name: shout}], error: [{name: sorry}]}}
    - {kind: snippet, name: shout, language: cel, code: self + '!'}
    - {kind: snippet, name: sorry, language: text, code: not a string}
    - {kind: snippet, name: side, language: cel, code: size(self)}
  inputs:
    in: {name: check}
    count: {name: side}
  outputs:
    out: {name: shout}
    out[1]: {name: side}
  ports:
    out: [{name: wrap}]
- {kind: snippet, name: wrap, language: cel, code: '{\"got\": self}'}
";

#[tokio::test]
async fn block_maps_its_ports_to_the_inner_workflow() {
    assert_eq!(
        text(&answer(BLOCK, "b", json(r#""hi""#)).await),
        r#"{"got":"hi!"}"#
    );
    assert_eq!(
        text(&answer(BLOCK, "b", json("3")).await),
        r#""not a string""#,
        "an inner error port catches inside"
    );
    // The second in-port, whose inner node writes to the unlinked out[1].
    let specs = parse(BLOCK, Format::Yaml, None).expect("parses");
    let bundle = Bundle::compile(&crate::scheme(), specs, &NoValues).expect("compiles");
    let tables = bundle.start(Limits::default()).await;
    let slot = tables["default"].slot("b").expect("the block");
    let port = weir_engine::Port::parse("count").expect("a port");
    let answer = slot
        .send(Process::new(), port, Packet::new(json(r#""four""#)))
        .await;
    assert_eq!(text(&answer), "4");
}

/// Mappings naming what the block does not hold are warnings (the schema
/// cannot tie `inputs`/`outputs` to the inner specs' names and ports): the
/// block is stored, and those ports fail or stay silent.
#[test]
fn block_mappings_are_checked() {
    let e = errors(
        "
kind: block
name: b
specs:
  - {kind: snippet, name: a, language: text, code: x}
inputs:
  in: {name: ghost}
  in[1]: {name: a, port: 'in[3]'}
outputs:
  out: {name: nobody}
  out[2]: {name: a, port: 'out[7]'}
",
    );
    assert_eq!(
        e,
        [
            "warning: outputs.out.name: no inner spec is named `nobody`: nothing goes out this way",
            "warning: outputs.out[2].port: kind `snippet` has no output `out[7]` (outputs: out, error): nothing goes this way",
            "warning: inputs.in.name: no inner spec is named `ghost`: a packet on `in` fails",
            "warning: inputs.in[1].port: inner spec `a` (kind `snippet`) has no input `in[3]`: a packet on `in[1]` fails"
        ]
    );
    let e = errors(
        "{kind: block, name: b, specs: [{kind: snippet, name: a, language: cel, code: '1 +'}]}",
    );
    assert!(
        e[0].starts_with("specs[0].code: expression does not compile"),
        "{e:?}"
    );
}

/// A probe that fails its first `failures` calls, counting them.
struct Flaky;

#[derive(Deserialize, JsonSchema)]
struct FlakySpec {
    failures: u32,
}

struct FlakyNode {
    failures: u32,
    calls: AtomicU32,
}

impl Kind for Flaky {
    type Spec = FlakySpec;
    fn name(&self) -> &'static str {
        "flaky"
    }
    fn summary(&self) -> &'static str {
        "fails its first calls"
    }
    fn compile(
        &self,
        spec: FlakySpec,
        _: &Context<'_>,
    ) -> Result<Arc<dyn Activate>, Vec<FieldError>> {
        Ok(shared(FlakyNode {
            failures: spec.failures,
            calls: AtomicU32::new(0),
        }))
    }
}

impl Node for FlakyNode {
    fn call<'a>(&'a self, _: &'a Call, input: Packet) -> BoxFuture<'a, Result<Packet, ErrorValue>> {
        Box::pin(async move {
            let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            match call <= self.failures {
                true => Err(ErrorValue::new(format!("failure {call}"))),
                false => Ok(Packet::new(Value::list([
                    input.into_payload(),
                    Value::from(call),
                ]))),
            }
        })
    }
}

async fn with_flaky(yaml: &str, node: &str) -> Packet {
    let mut scheme: Scheme = crate::scheme();
    scheme.register(Flaky);
    let specs = parse(yaml, Format::Yaml, None).expect("parses");
    let bundle = Bundle::compile(&scheme, specs, &NoValues).expect("compiles");
    let tables = bundle.start(Limits::default()).await;
    bounded(tables["default"].send(node, Process::new(), Packet::new(Value::from("p")))).await
}

#[tokio::test]
async fn retry_writes_again_until_an_answer_is_not_an_error() {
    let yaml = "
- {kind: retry, name: r, limit: 3, delay: 1ms, ports: {out: [{name: flaky}]}}
- {kind: flaky, name: flaky, failures: 2}
";
    assert_eq!(text(&with_flaky(yaml, "r").await), r#"["p",3]"#);
    let yaml = "
- {kind: retry, name: r, limit: 2, delay: 1ms, jitter: false, ports: {out: [{name: flaky}]}}
- {kind: flaky, name: flaky, failures: 5}
";
    let answer = with_flaky(yaml, "r").await;
    assert_eq!(
        answer.as_error().map(|e| e.message.as_str()),
        Some("failure 3"),
        "the last of 1 + 2 attempts"
    );
}

#[test]
fn retry_fields_are_checked() {
    assert_eq!(
        errors("{kind: retry, name: r, factor: 0.5, delay: 2s, max_delay: 1s}"),
        ["factor: 0.5 is not a factor: it must be 1 or more"],
        "a `max_delay` under `delay` caps every wait"
    );
    assert!(errors("{kind: retry, name: r, limit: -1}")[0].starts_with("limit: invalid value"));
}

#[tokio::test]
async fn sleep_waits_then_passes_the_payload_on() {
    let yaml = "{kind: sleep, name: s, interval: 5ms}";
    assert_eq!(
        text(&answer(yaml, "s", json(r#"{"a":1}"#)).await),
        r#"{"a":1}"#
    );
    let e = errors("{kind: sleep, name: s, interval: soon}");
    assert!(
        e[0].starts_with("interval: `soon` is not a duration"),
        "{e:?}"
    );
}

#[tokio::test]
async fn cel_kinds_take_a_timeout() {
    let yaml = "
- {kind: if, name: i, when: self > 1, timeout: 1s}
- {kind: switch, name: w, timeout: 500ms, matches: [{when: self == 1, port: 'out[0]'}, {when: 'true', port: 'out[1]'}], ports: {'out[1]': [{name: other}]}}
- {kind: snippet, name: other, language: cel, code: '\"other\"', timeout: 2s}
";
    assert_eq!(text(&answer(yaml, "i", json("2")).await), "2");
    assert_eq!(text(&answer(yaml, "w", json("2")).await), r#""other""#);
    assert_eq!(text(&answer(yaml, "w", json("1")).await), "1");
}
