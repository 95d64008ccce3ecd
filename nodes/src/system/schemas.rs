//! `schemas`: the JSON Schema of every kind this engine runs, as editors
//! and clients check specs against before sending them.
//!
//! The schemas come from the scheme the node was compiled with (each
//! kind's typed spec, through schemars), plus the fields every spec and
//! every value share; they are gathered once, when the node compiles.
//! `GET …/schemas` answers them all; with the route's `:kind`, one.

use std::collections::BTreeMap;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use weir_codecs::{ErrorValue, Value};
use weir_engine::runtime::BoxFuture;
use weir_engine::scheme::Context;
use weir_engine::spec::{NamedValue, Spec};
use weir_engine::{Activate, shared};
use weir_engine::{Call, FieldError, Kind, Node, Packet, Port, PortPattern, Ports};

use super::request::{Request, answer, json};

/// The fields of a `schemas` spec: none.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SchemasSpec {}

/// One kind's schema.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct KindSchema {
    /// The kind's name.
    pub kind: String,
    /// What the kind does.
    pub summary: String,
    /// The JSON Schema (draft 2020-12) of the kind's own fields, as they
    /// are once `{{ }}` templates are rendered.
    pub schema: Json,
}

/// Every schema.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct SchemasAnswer {
    /// Each kind's schema, by name.
    pub kinds: BTreeMap<String, KindSchema>,
    /// The fields every spec has, whatever its kind.
    pub spec: Json,
    /// A stored value.
    pub value: Json,
}

pub(super) struct Schemas;

impl Kind for Schemas {
    type Spec = SchemasSpec;

    fn name(&self) -> &'static str {
        "schemas"
    }

    fn summary(&self) -> &'static str {
        "Answers the JSON Schema of every kind (or of the route's `:kind`), with the fields every spec and value share (`system` namespace only)."
    }

    fn ports(&self, _: &SchemasSpec) -> Ports {
        Ports::new().input(PortPattern::Exact(Port::input()))
    }

    fn compile(
        &self,
        _: SchemasSpec,
        cx: &Context<'_>,
    ) -> Result<Arc<dyn Activate>, Vec<FieldError>> {
        super::only_in_system(self.name(), cx)?;
        let kinds = cx
            .scheme()
            .codecs()
            .map(|codec| {
                let kind = codec.kind().to_string();
                let schema = KindSchema {
                    kind: kind.clone(),
                    summary: codec.summary().to_string(),
                    schema: codec.schema(),
                };
                (kind, schema)
            })
            .collect();
        let all = SchemasAnswer {
            kinds,
            spec: schemars::schema_for!(Spec).to_value(),
            value: schemars::schema_for!(NamedValue).to_value(),
        };
        Ok(shared(SchemasNode {
            all: json(&all),
            answer: all,
        }))
    }
}

struct SchemasNode {
    answer: SchemasAnswer,
    /// `answer` as a value, made once.
    all: Value,
}

impl Node for SchemasNode {
    fn call<'a>(&'a self, _: &'a Call, input: Packet) -> BoxFuture<'a, Result<Packet, ErrorValue>> {
        Box::pin(async move {
            let request = Request(input.payload());
            request.query(&[])?;
            let kind = request
                .0
                .get("params")
                .and_then(|p| p.get("kind"))
                .and_then(Value::as_str);
            let Some(kind) = kind else {
                return Ok(Packet::new(answer(200, &[], self.all.clone())));
            };
            match self.answer.kinds.get(kind) {
                Some(schema) => Ok(Packet::new(answer(200, &[], json(schema)))),
                None => Err(ErrorValue::new(format!(
                    "no kind `{kind}` (known kinds: {})",
                    self.answer
                        .kinds
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
                .with_code("not_found")
                .with_status(404)),
            }
        })
    }
}
