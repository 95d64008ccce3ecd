//! The system kinds' own checks, through the real scheme: where they may
//! compile, what they do without a store, and the API description of the
//! bundled system namespace. Their HTTP behaviour is tested end to end in
//! `tests/system.rs`.

use weir_engine::env::NoValues;
use weir_engine::runtime::Limits;
use weir_engine::spec::source::{Format, parse};
use weir_engine::{Bundle, Packet, Process};

use super::openapi::{Answerer, describe, routes};
use super::records::Op;

/// The bundled system namespace, as `weir start` applies it.
const SYSTEM: [&str; 6] = [
    include_str!("../../../specs/system/http.yaml"),
    include_str!("../../../specs/system/specs.yaml"),
    include_str!("../../../specs/system/values.yaml"),
    include_str!("../../../specs/system/docs.yaml"),
    include_str!("../../../specs/system/jobs.yaml"),
    include_str!("../../../specs/system/console.yaml"),
];

fn system_specs() -> Vec<weir_engine::spec::source::Sourced> {
    SYSTEM
        .iter()
        .flat_map(|text| parse(text, Format::Yaml, None).expect("parses"))
        .collect()
}

#[test]
fn system_kinds_compile_only_in_the_system_namespace() {
    for kind in ["specs", "values"] {
        let yaml = format!("{{kind: {kind}, name: s, op: list}}");
        let specs = parse(&yaml, Format::Yaml, None).unwrap();
        let errors = Bundle::compile(&crate::scheme(), specs, &NoValues).unwrap_err();
        let lines: Vec<String> = errors.0.iter().map(|d| d.error.to_string()).collect();
        assert_eq!(
            lines,
            [format!(
                "namespace: kind `{kind}` runs only in the `system` namespace, not in `default`"
            )]
        );
    }
    for kind in ["schemas", "openapi"] {
        let specs = parse(
            &format!("{{kind: {kind}, namespace: billing}}"),
            Format::Yaml,
            None,
        )
        .unwrap();
        let errors = Bundle::compile(&crate::scheme(), specs, &NoValues).unwrap_err();
        assert_eq!(errors.0[0].error.path, "namespace", "{errors}");
    }
    let specs = parse(
        "{kind: specs, namespace: system, name: s, op: fetch}",
        Format::Yaml,
        None,
    )
    .unwrap();
    let errors = Bundle::compile(&crate::scheme(), specs, &NoValues).unwrap_err();
    assert!(
        errors.0[0]
            .error
            .to_string()
            .starts_with("op: unknown variant `fetch`"),
        "{errors}"
    );
}

#[test]
fn the_bundled_system_namespace_validates_without_a_store() {
    // As `weir validate` sees it: everything compiles and links up.
    let bundle = Bundle::compile(&crate::scheme(), system_specs(), &NoValues);
    assert!(bundle.is_ok(), "{}", bundle.unwrap_err());
}

#[tokio::test]
async fn without_a_store_system_nodes_fail_to_load_with_a_reason() {
    let specs = parse(
        "[{kind: specs, namespace: system, name: s, op: list}, {kind: openapi, namespace: system, name: o}]",
        Format::Yaml,
        None,
    )
    .unwrap();
    let bundle = Bundle::compile(&crate::scheme(), specs, &NoValues).expect("compiles");
    let tables = bundle.start(Limits::default()).await;
    let statuses = tables["system"].statuses().await;
    assert_eq!(statuses.len(), 2);
    for (_, node, status) in statuses {
        let text = format!("{status:?}");
        assert!(
            text.contains("needs the engine's store") && text.contains("weir start"),
            "{node}: {text}"
        );
    }
    let answer = tables["system"]
        .send("s", Process::new(), Packet::new(weir_codecs::Value::Null))
        .await;
    assert!(answer.is_error(), "an inactive node answers nothing useful");
}

#[test]
fn the_api_description_names_every_route_of_the_system_namespace() {
    let specs: Vec<_> = system_specs().into_iter().map(|s| s.spec).collect();
    let found = routes(&specs);
    let named: Vec<(String, String)> = found
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    for expected in [
        ("get", "/healthz"),
        ("get", "/readyz"),
        ("get", "/v1/specs"),
        ("post", "/v1/specs/apply"),
        ("put", "/v1/values/:id"),
        ("get", "/v1/schemas/:kind"),
        ("get", "/v1/openapi.json"),
        ("get", "/console"),
    ] {
        assert!(
            named.contains(&(expected.0.to_string(), expected.1.to_string())),
            "{expected:?} in {named:?}"
        );
    }
    let watch = found.iter().find(|r| r.path == "/v1/specs/watch").unwrap();
    assert_eq!(
        watch.answerer,
        Answerer::Records(weir_engine::store::Entity::Spec, Op::Watch)
    );
    assert!(watch.secured, "behind auth");
    let health = found.iter().find(|r| r.path == "/healthz").unwrap();
    assert!(!health.secured, "health checks need no token");
    let kinds: Vec<_> = crate::scheme()
        .codecs()
        .filter(|c| ["if", "specs"].contains(&c.kind()))
        .cloned()
        .collect();
    let document = describe("t", &kinds, &found);
    let paths = document["paths"].as_object().unwrap();
    // The API's routes and the console's two (`/console`, `/console/{file}`).
    assert_eq!(paths.len(), 19, "{:?}", paths.keys().collect::<Vec<_>>());
    let cancel = found
        .iter()
        .find(|r| r.path == "/v1/jobs/:id/cancel")
        .unwrap();
    assert_eq!(cancel.answerer, Answerer::Jobs(crate::job::JobOp::Cancel));
    assert!(paths["/v1/jobs/{id}"]["delete"]["responses"]["404"].is_object());
    let update = &paths["/v1/specs/{id}"]["put"];
    assert_eq!(update["security"][0]["bearer"], serde_json::json!([]));
    assert!(update["responses"]["409"].is_object());
    // A spec is one of a schema per kind: the shared fields and the kind's.
    let schemas = &document["components"]["schemas"];
    assert_eq!(
        schemas["Spec"]["oneOf"],
        serde_json::json!([
            {"$ref": "#/components/schemas/Spec_if"},
            {"$ref": "#/components/schemas/Spec_specs"}
        ])
    );
    let branch = &schemas["Spec_if"];
    assert_eq!(
        branch["properties"]["kind"]["enum"],
        serde_json::json!(["if"])
    );
    assert_eq!(branch["required"], serde_json::json!(["kind", "when"]));
    assert_eq!(branch["additionalProperties"], false);
    for shared in ["id", "namespace", "name", "env", "ports", "when"] {
        assert!(branch["properties"][shared].is_object(), "{shared}");
    }
}

#[tokio::test]
async fn a_watch_stream_keeps_idle_connections_alive() {
    use std::sync::Arc;
    use weir_codecs::Value;
    use weir_engine::store::Store;
    let dir = std::env::temp_dir().join(format!("weir-keepalive-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::connect(&format!("sqlite://{}", dir.join("weir.db").display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let mut scheme = crate::scheme();
    scheme.provide(Arc::new(store.clone()));
    let specs = parse(
        "{kind: specs, namespace: system, name: w, op: watch, keepalive_ms: 20}",
        Format::Yaml,
        None,
    )
    .unwrap();
    let bundle = Bundle::compile(&scheme, specs, &NoValues).unwrap();
    let tables = bundle.start(Limits::default()).await;
    let request = Value::map([
        ("method", Value::string("GET")),
        ("path", Value::string("/watch")),
        ("query", Value::map(Vec::<(&str, Value)>::new())),
        ("header", Value::map(Vec::<(&str, Value)>::new())),
    ]);
    let process = Process::new();
    let answer = tables["system"]
        .send("w", process.clone(), Packet::new(request))
        .await;
    assert_eq!(
        answer.payload().get("status"),
        Some(&Value::Int(200)),
        "{answer:?}"
    );
    let mut events = crate::net::stream::take(&process).expect("a stream");
    // Bounded: a hang guard, not a timing assertion.
    let first = tokio::time::timeout(std::time::Duration::from_secs(20), events.recv())
        .await
        .expect("a keep-alive comes")
        .expect("the writer runs");
    assert_eq!(&first[..], b": keep-alive\n\n");
    drop(events);
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// A kind's own field named like a field every spec has would never reach
/// the kind: the spec takes it first (the `container` kind's `env` did, so
/// its variables could not be set).
#[test]
fn no_kind_has_a_field_every_spec_has() {
    let spec = schemars::schema_for!(weir_engine::spec::Spec).to_value();
    let common: Vec<&String> = spec["properties"].as_object().unwrap().keys().collect();
    assert!(common.len() >= 7, "{common:?}");
    for codec in crate::scheme().codecs() {
        let own = codec.schema();
        for field in &common {
            assert!(
                own["properties"].get(field.as_str()).is_none(),
                "kind `{}` has a field `{field}` of its own",
                codec.kind()
            );
        }
    }
}

/// The family's list of its kinds is the kinds it registers.
#[test]
fn the_system_kinds_are_the_ones_registered() {
    let mut scheme = weir_engine::Scheme::new();
    super::register(&mut scheme);
    let kinds: Vec<&str> = scheme.codecs().map(|c| c.kind()).collect();
    let mut expected = super::KINDS.to_vec();
    expected.sort_unstable();
    assert_eq!(kinds, expected);
}
