//! Admission (what `weir apply` and the system API check before storing)
//! on specs whose parts it cannot bind: it answers with errors, never a
//! panic.

use weir_engine::Bundle;
use weir_engine::env::{Admitting, ValueMap};
use weir_engine::spec::source::{Format, parse};

/// An inline spec naming an `os` variable: admission leaves such specs to
/// each engine, which once left a block one spec short and panicked (and
/// took the system API's `apply` node with it).
#[test]
fn an_inline_spec_with_an_os_variable_is_refused_with_the_way_out() {
    let yaml = "
- kind: block
  name: b
  specs:
    - {kind: snippet, name: one, language: cel, code: '1'}
    - {kind: snippet, name: two, language: cel, code: '2', env: {X: {os: WEIR_TEST_NEVER_SET}}}
  inputs: {in: {name: one}}
";
    let specs = parse(yaml, Format::Yaml, None).expect("parses");
    let values = ValueMap::default();
    let said = match Bundle::compile(&weir_nodes::scheme(), specs, &Admitting(&values)) {
        Ok(_) => panic!("admitted"),
        Err(refused) => refused.to_string(),
    };
    assert!(
        said.contains("specs[1].env: names an `os` variable"),
        "{said}"
    );
    assert!(said.contains("the parent's `env`"), "{said}");
}

/// JSON writes an integer as `2.0` as readily as `2` (JSON Schema calls
/// both integers); a field that wants an integer takes it, one with a
/// fraction is still refused.
#[test]
fn an_integer_written_as_a_float_is_an_integer() {
    let compile = |yaml: &str| {
        let specs = parse(yaml, Format::Yaml, None).expect("parses");
        Bundle::compile(&weir_nodes::scheme(), specs, &weir_engine::env::NoValues)
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    compile("{kind: merge, name: m, inputs: 2.0}").expect("2.0 inputs");
    compile("{kind: listener, name: l, port: 8080.0, timeout_ms: 1000.0}").expect("port 8080.0");
    let said = compile("{kind: merge, name: m, inputs: 2.5}").unwrap_err();
    assert!(
        said.contains("inputs: invalid type: floating point `2.5`"),
        "{said}"
    );
}
