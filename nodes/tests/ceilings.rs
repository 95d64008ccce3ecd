//! Every limit a spec sets for itself has an engine-wide ceiling: a spec
//! above one does not compile, and the error names the field and the
//! variable the operator lifts it with (`weir_nodes::ceiling`). At the
//! ceiling, the same specs compile.

use weir_codecs::Value;
use weir_engine::Bundle;
use weir_engine::spec::source::{Format, parse};
use weir_nodes::ceiling::{BODY, CONCURRENCY, Ceiling, RETRIES, TIME};

struct NoValues;

impl weir_engine::env::ValueSource for NoValues {
    fn value(&self, _: &str, _: Option<&str>, _: Option<uuid::Uuid>) -> Option<Value> {
        None
    }
}

/// One spec per kind with a limit, every limit at `time`, `body`,
/// `retries` and `concurrency`; the answer is what compiling them said.
fn compile(time: u64, body: u64, retries: u64, concurrency: u64) -> String {
    let yaml = format!(
        "- {{kind: listener, namespace: c, name: l, port: 1, body_limit: {body}, timeout_ms: {time}, header_timeout_ms: {time}, body_timeout_ms: {time}}}\n\
         - {{kind: http, namespace: c, name: h, url: 'http://127.0.0.1:1/', timeout_ms: {time}, body_limit: {body}}}\n\
         - {{kind: sql, namespace: c, name: q, query: 'SELECT 1', timeout: {time}ms}}\n\
         - {{kind: retry, namespace: c, name: r, limit: {retries}, delay: {time}ms, max_delay: {time}ms}}\n\
         - {{kind: sleep, namespace: c, name: s, interval: {time}ms}}\n\
         - {{kind: for, namespace: c, name: f, concurrency: {concurrency}}}\n"
    );
    let specs = parse(&yaml, Format::Yaml, None).expect("parses");
    match Bundle::compile(&weir_nodes::scheme(), specs, &NoValues) {
        Ok(_) => String::new(),
        Err(diagnostics) => diagnostics.to_string(),
    }
}

#[test]
fn a_limit_above_its_ceiling_does_not_compile_and_says_why() {
    let said = compile(
        TIME.value() + 1,
        BODY.value() + 1,
        RETRIES.value() + 1,
        CONCURRENCY.value() + 1,
    );
    let refused = |spec: &str, field: &str, ceiling: Ceiling| {
        let line = said
            .lines()
            .find(|l| l.contains(&format!("`{spec}`")) && l.contains(field))
            .unwrap_or_else(|| panic!("{spec}.{field} is not refused:\n{said}"));
        assert!(
            line.contains("above the engine's ceiling") && line.contains(ceiling.var),
            "{line}"
        );
    };
    for field in [
        "body_limit",
        "timeout_ms",
        "header_timeout_ms",
        "body_timeout_ms",
    ] {
        let ceiling = if field == "body_limit" { BODY } else { TIME };
        refused("l", field, ceiling);
    }
    refused("h", "timeout_ms", TIME);
    refused("h", "body_limit", BODY);
    refused("q", "timeout", TIME);
    refused("r", "limit", RETRIES);
    refused("r", "delay", TIME);
    refused("r", "max_delay", TIME);
    refused("s", "interval", TIME);
    refused("f", "concurrency", CONCURRENCY);
}

#[test]
fn at_the_ceilings_the_same_specs_compile() {
    let said = compile(
        TIME.value(),
        BODY.value(),
        RETRIES.value(),
        CONCURRENCY.value(),
    );
    assert!(said.is_empty(), "{said}");
}

/// A count that makes ports is bounded before a port is made: `inputs:
/// 4294967295` once asked for four billion in-ports (23 GB, and the engine
/// was killed) from a dry run through the system API.
#[test]
fn a_merge_with_more_inputs_than_it_may_have_is_refused_before_its_ports_exist() {
    for (inputs, said) in [
        (u32::MAX.to_string(), "must be 1 to 1024, not 4294967295"),
        ("1025".to_string(), "must be 1 to 1024, not 1025"),
        ("0".to_string(), "must be 1 to 1024, not 0"),
    ] {
        let yaml = format!("{{kind: merge, namespace: c, name: m, inputs: {inputs}}}");
        let specs = parse(&yaml, Format::Yaml, None).expect("parses");
        let refused = Bundle::compile(&weir_nodes::scheme(), specs, &NoValues)
            .err()
            .unwrap_or_else(|| panic!("inputs: {inputs} compiled"))
            .to_string();
        assert!(refused.contains(&format!("inputs: {said}")), "{refused}");
    }
    let yaml = "{kind: merge, namespace: c, name: m, inputs: 1024}";
    let specs = parse(yaml, Format::Yaml, None).expect("parses");
    assert!(Bundle::compile(&weir_nodes::scheme(), specs, &NoValues).is_ok());
}
