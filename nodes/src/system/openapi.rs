//! `openapi`: an OpenAPI 3 description of the HTTP API its own namespace
//! serves, generated on each request from what is stored.
//!
//! It reads its namespace's specs and walks them from each `listener`:
//! through `router`s (each route a path and method), `auth` (the
//! operations behind it need a bearer token) and on to the node that
//! answers. A `specs` or `values` node is described by its `op`, with
//! request and response schemas generated from the Rust types the API
//! reads and writes; `schemas` and `openapi` by what they answer; any
//! other node as answering some value. Nothing is written by hand, so the
//! description follows the routes and the types as they change.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use schemars::JsonSchema;
use schemars::generate::SchemaGenerator;
use serde::Deserialize;
use serde_json::{Map, Value as Json, json};
use weir_codecs::ErrorValue;
use weir_engine::Activate;
use weir_engine::runtime::BoxFuture;
use weir_engine::runtime::Prepare;
use weir_engine::runtime::prepared;
use weir_engine::scheme::{Codec, Context};
use weir_engine::spec::{NamedValue, Spec, Target};
use weir_engine::store::{ChangeRow, Entity, Filter, Listed, Plan, Store};
use weir_engine::{Call, FieldError, Kind, Node, Packet, Port, PortPattern, Ports};

use super::records::{Batch, Listing, Op, Ready};
use super::request::{
    Admitted, Deactivated, IF_MATCH_PATTERN, POSITION_PATTERN, Problem, Request, answer,
    store_error,
};
use super::schemas::{KindSchema, SchemasAnswer};
use crate::job::{JobListing, JobOp, JobView};
use crate::net::RouterSpec;

/// The fields of an `openapi` spec.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenApiSpec {
    /// The document's title.
    #[serde(default = "default_title")]
    pub title: String,
}

fn default_title() -> String {
    "Weir system API".into()
}

pub(super) struct OpenApi;

impl Kind for OpenApi {
    type Spec = OpenApiSpec;

    fn name(&self) -> &'static str {
        "openapi"
    }

    fn summary(&self) -> &'static str {
        "Answers an OpenAPI 3 description of the routes its namespace serves, generated from the stored specs and the kinds' types (`system` namespace only)."
    }

    fn ports(&self, _: &OpenApiSpec) -> Ports {
        Ports::new().input(PortPattern::Exact(Port::input()))
    }

    fn compile(
        &self,
        spec: OpenApiSpec,
        cx: &Context<'_>,
    ) -> Result<Arc<dyn Activate>, Vec<FieldError>> {
        super::only_in_system(self.name(), cx)?;
        Ok(prepared(OpenApiNode {
            title: spec.title,
            namespace: cx.spec().namespace.clone(),
            kinds: cx.scheme().codecs().cloned().collect(),
            store: super::store(cx),
        }))
    }
}

struct OpenApiNode {
    title: String,
    namespace: String,
    kinds: Vec<Arc<dyn Codec>>,
    store: Option<Arc<Store>>,
}

impl Node for OpenApiNode {
    fn call<'a>(&'a self, _: &'a Call, input: Packet) -> BoxFuture<'a, Result<Packet, ErrorValue>> {
        Box::pin(async move {
            let store = self
                .store
                .as_deref()
                .ok_or_else(|| super::no_store("openapi"))?;
            Request(input.payload()).query(&[])?;
            let rows = store
                .list(Entity::Spec, &Filter::namespace(&self.namespace))
                .await
                .map_err(store_error)?;
            let specs: Vec<Spec> = rows.iter().filter_map(|r| r.decode().ok()).collect();
            let document = describe(&self.title, &self.kinds, &routes(&specs));
            let body = weir_codecs::json::from_json(document);
            Ok(Packet::new(answer(200, &[], body)))
        })
    }
}

impl Prepare for OpenApiNode {
    fn prepare(&self) -> BoxFuture<'_, Result<(), ErrorValue>> {
        Box::pin(async move {
            match self.store {
                Some(_) => Ok(()),
                None => Err(super::no_store("openapi")),
            }
        })
    }
}

/// What answers one route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Answerer {
    /// A `specs` or `values` node.
    Records(Entity, Op),
    /// A `schemas` node.
    Schemas,
    /// An `openapi` node.
    OpenApi,
    /// A `job` node.
    Jobs(JobOp),
    /// Any other kind.
    Other(String),
}

/// One served route.
#[derive(Clone, Debug)]
pub(super) struct Route {
    /// Lower case, or `*`.
    pub method: String,
    /// As the router writes it: `/v1/specs/:id`.
    pub path: String,
    pub answerer: Answerer,
    /// Behind an `auth` node.
    pub secured: bool,
}

/// Every route the namespace's listeners serve, in router order.
pub(super) fn routes(specs: &[Spec]) -> Vec<Route> {
    let graph = Graph::new(specs);
    let mut found = Vec::new();
    for listener in specs.iter().filter(|s| s.kind == "listener") {
        for target in graph.targets(listener, "out") {
            graph.walk(target, None, false, &mut HashSet::new(), &mut found);
        }
    }
    found
}

struct Graph<'a> {
    by_name: HashMap<String, &'a Spec>,
    by_id: HashMap<uuid::Uuid, &'a Spec>,
}

impl<'a> Graph<'a> {
    fn new(specs: &'a [Spec]) -> Graph<'a> {
        Graph {
            by_name: specs.iter().map(|s| (s.key(), s)).collect(),
            by_id: specs.iter().map(|s| (s.id, s)).collect(),
        }
    }

    fn target(&self, target: &Target) -> Option<&'a Spec> {
        match (&target.name, &target.id) {
            (Some(name), _) => self.by_name.get(name).copied(),
            (None, Some(id)) => self.by_id.get(id).copied(),
            (None, None) => None,
        }
    }

    fn targets(&self, spec: &Spec, port: &str) -> Vec<&'a Spec> {
        let links = spec.ports.get(port).map(Vec::as_slice).unwrap_or_default();
        links.iter().filter_map(|t| self.target(t)).collect()
    }

    /// Follows `spec` (reached by `route`, behind an `auth` if `secured`);
    /// `seen` stops a cycle.
    fn walk(
        &self,
        spec: &'a Spec,
        route: Option<(&str, &str)>,
        secured: bool,
        seen: &mut HashSet<uuid::Uuid>,
        found: &mut Vec<Route>,
    ) {
        if !seen.insert(spec.id) {
            return;
        }
        match spec.kind.as_str() {
            "router" => {
                let fields = Json::Object(spec.fields.clone());
                if let Ok(router) = serde_json::from_value::<RouterSpec>(fields) {
                    for r in &router.routes {
                        for target in self.targets(spec, &r.port) {
                            let via = Some((r.method.as_str(), r.path.as_str()));
                            self.walk(target, via, secured, seen, found);
                        }
                    }
                }
            }
            "auth" | "listener" => {
                for target in self.targets(spec, "out") {
                    self.walk(target, route, secured || spec.kind == "auth", seen, found);
                }
            }
            kind => {
                if let Some((method, path)) = route {
                    let op = spec
                        .fields
                        .get("op")
                        .and_then(|op| serde_json::from_value::<Op>(op.clone()).ok());
                    let answerer = match (kind, op) {
                        ("specs", Some(op)) => Answerer::Records(Entity::Spec, op),
                        ("values", Some(op)) => Answerer::Records(Entity::Value, op),
                        ("schemas", _) => Answerer::Schemas,
                        ("openapi", _) => Answerer::OpenApi,
                        ("job", _) => Answerer::Jobs(
                            spec.fields
                                .get("op")
                                .and_then(|op| serde_json::from_value(op.clone()).ok())
                                .unwrap_or_default(),
                        ),
                        (other, _) => Answerer::Other(other.to_string()),
                    };
                    found.push(Route {
                        method: method.to_ascii_lowercase(),
                        path: path.to_string(),
                        answerer,
                        secured,
                    });
                }
            }
        }
        seen.remove(&spec.id);
    }
}

/// Methods a `*` route is described under.
const ANY: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// The OpenAPI document for `routes`.
pub(super) fn describe(title: &str, kinds: &[Arc<dyn Codec>], routes: &[Route]) -> Json {
    let mut types = Types::new();
    let mut paths: BTreeMap<String, Map<String, Json>> = BTreeMap::new();
    for route in routes {
        let (template, params) = template(&route.path);
        let methods: Vec<&str> = match route.method.as_str() {
            "*" => ANY.to_vec(),
            one => vec![one],
        };
        for method in methods {
            let item = paths.entry(template.clone()).or_default();
            if item.contains_key(method) {
                // An earlier route already answers it, as in the router.
                continue;
            }
            let operation = types.operation(method, &template, &params, route);
            item.insert(method.to_string(), operation);
        }
    }
    types.link(&mut paths);
    let schemas = types.spec_by_kind(kinds);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Generated by the `openapi` node from the routes this namespace serves."
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}
        }
    })
}

/// `schema`, or the definition it refers to.
fn resolve(schemas: &Map<String, Json>, schema: &Json) -> Json {
    let name = schema
        .get("$ref")
        .and_then(Json::as_str)
        .and_then(|r| r.rsplit('/').next());
    match name.and_then(|name| schemas.get(name)) {
        Some(definition) => definition.clone(),
        None => schema.clone(),
    }
}

/// The schema of a whole spec of `codec`'s kind: `common` (the fields
/// every spec has) with `kind` fixed, and the kind's `own` fields.
fn variant(codec: &dyn Codec, common: &Json, own: &Json) -> Json {
    let mut properties = common.as_object().cloned().unwrap_or_default();
    properties.insert(
        "kind".into(),
        json!({"type": "string", "enum": [codec.kind()], "description": "The node kind."}),
    );
    if let Some(Json::Object(fields)) = own.get("properties") {
        properties.extend(fields.clone());
    }
    if let (Some(names), Some(Json::Object(ports))) =
        (outputs(codec, own), properties.get_mut("ports"))
    {
        ports.insert("propertyNames".into(), names);
    }
    let mut required = vec![json!("kind")];
    if super::KINDS.contains(&codec.kind()) {
        properties.insert(
            "namespace".into(),
            json!({"type": "string", "enum": [super::NAMESPACE], "description": "Kinds of the system family run only in it."}),
        );
        required.push(json!("namespace"));
    }
    if let Some(Json::Array(fields)) = own.get("required") {
        required.extend(fields.iter().cloned());
    }
    let mut variant = json!({
        "type": "object",
        "title": codec.kind(),
        "description": codec.summary(),
        "properties": properties,
        "required": required,
        "additionalProperties": false
    });
    // The rules a kind states across its fields (one of two, at least one).
    for rule in ["anyOf", "oneOf", "allOf", "not"] {
        if let Some(rule_schema) = own.get(rule) {
            variant[rule] = rule_schema.clone();
        }
    }
    variant
}

/// The names `codec`'s kind may link from, as a schema, when its kind
/// fixes them: found from the ports of its example (or of no fields).
/// `None` when the spec's own fields name them (a router's routes).
fn outputs(codec: &dyn Codec, own: &Json) -> Option<Json> {
    let examples = own.get("examples").and_then(Json::as_array);
    let tries = examples.into_iter().flatten().cloned();
    let ports = tries
        .chain([json!({})])
        .find_map(|fields| codec.ports(fields))?;
    if ports.is_named() {
        return None;
    }
    let mut names = vec![json!({"const": "error"})];
    for pattern in ports.outputs() {
        names.push(match pattern {
            PortPattern::Exact(port) => json!({"const": port.to_string()}),
            PortPattern::Indexed(base) => {
                json!({"pattern": format!("^{base}\\[[0-9]{{1,9}}\\]$")})
            }
        });
    }
    Some(json!({"anyOf": names}))
}

/// `/v1/specs/:id` → `/v1/specs/{id}` and its parameter names.
fn template(path: &str) -> (String, Vec<String>) {
    let mut params = Vec::new();
    let segments: Vec<String> = path
        .split('/')
        .map(
            |segment| match segment.strip_prefix(':').or(segment.strip_prefix('*')) {
                Some(name) if !name.is_empty() => {
                    params.push(name.to_string());
                    format!("{{{name}}}")
                }
                _ => segment.to_string(),
            },
        )
        .collect();
    (segments.join("/"), params)
}

/// The error body every refusal has (see `crate::net::message`).
#[derive(JsonSchema)]
#[allow(dead_code)] // Only its schema is used.
struct Error {
    /// What went wrong.
    error: ErrorDetail,
}

#[derive(JsonSchema)]
#[allow(dead_code)]
struct ErrorDetail {
    /// What went wrong, for people.
    message: String,
    /// A stable code for programs: `invalid`, `conflict`, `not_found`, ...
    code: Option<String>,
    /// More for programs, by code.
    details: Option<Details>,
}

/// An error's details, by its code.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum Details {
    /// `invalid`: every problem, each with its field path.
    Problems(Vec<Problem>),
    /// `would_deactivate`: the specs the write would take down.
    Deactivated(Deactivated),
}

/// The schemas of the types the operations use, generated once per
/// document.
struct Types {
    generator: SchemaGenerator,
    /// Each records operation, for the links between them.
    records: Vec<Recorded>,
}

/// A `specs` or `values` operation of the document.
struct Recorded {
    entity: Entity,
    op: Op,
    path: String,
    method: String,
    id: String,
}

impl Types {
    fn new() -> Types {
        Types {
            // OpenAPI 3.1 takes JSON Schema 2020-12 as it is, which says
            // more than 3.0's dialect (`propertyNames`, `const`).
            generator: weir_engine::scheme::schema_settings()
                .with(|s| {
                    s.definitions_path = "/components/schemas".into();
                    s.meta_schema = None;
                })
                .into_generator(),
            records: Vec::new(),
        }
    }

    /// Links each answer that holds one row (read, created, replaced) to
    /// the operations on that row (read, replace and delete it, with its id
    /// and its ETag as `If-Match`), among the operations this document
    /// has: what a client (or a stateful test) follows from one call to
    /// the next.
    fn link(&self, paths: &mut BTreeMap<String, Map<String, Json>>) {
        let find = |entity: Entity, op: Op| {
            self.records
                .iter()
                .find(|r| r.entity == entity && r.op == op)
                .map(|r| r.id.clone())
        };
        for Recorded {
            entity,
            op,
            path,
            method,
            ..
        } in &self.records
        {
            let status = match op {
                Op::Create => "201",
                Op::Get | Op::Update => "200",
                _ => continue,
            };
            let id = json!("$response.body#/id");
            let etag = json!("$response.header.ETag");
            let mut links = Map::new();
            let targets = [
                ("get", Op::Get, json!({"id": id})),
                (
                    "replace",
                    Op::Update,
                    json!({"id": id, "header.If-Match": etag}),
                ),
                (
                    "delete",
                    Op::Delete,
                    json!({"id": id, "header.If-Match": etag}),
                ),
            ];
            for (name, target, parameters) in targets {
                if target == *op && target == Op::Get {
                    continue;
                }
                if let Some(operation) = find(*entity, target) {
                    links.insert(
                        name.into(),
                        json!({"operationId": operation, "parameters": parameters}),
                    );
                }
            }
            let response = paths
                .get_mut(path)
                .and_then(|item| item.get_mut(method.as_str()))
                .and_then(|operation| operation.pointer_mut(&format!("/responses/{status}")))
                .and_then(Json::as_object_mut);
            if let Some(response) = response {
                let mut headers = Map::new();
                headers.insert("ETag".into(), json!({"description": "The stored revision, for `If-Match`.", "schema": {"type": "string"}}));
                if *op == Op::Create {
                    headers.insert(
                        "Location".into(),
                        json!({"description": "The row's URL.", "schema": {"type": "string"}}),
                    );
                }
                response.insert("headers".into(), Json::Object(headers));
                response.insert("links".into(), Json::Object(links));
            }
        }
    }

    fn schema<T: JsonSchema>(&mut self) -> Json {
        self.generator.subschema_for::<T>().to_value()
    }

    fn json(&mut self, description: &str, schema: Json) -> Json {
        json!({"description": description, "content": {"application/json": {"schema": schema}}})
    }

    fn error(&mut self, description: &str) -> Json {
        let schema = self.schema::<Error>();
        self.json(description, schema)
    }

    /// The definitions, with `Spec` made exact: one of a schema per kind
    /// (`Spec_<kind>`), each the fields every spec has plus the kind's own,
    /// nothing else. Any document the schema allows is a spec whose shape
    /// the kind accepts; a refusal names what no schema can say (a CEL
    /// expression that does not compile, a link to a node not there).
    fn spec_by_kind(mut self, kinds: &[Arc<dyn Codec>]) -> Map<String, Json> {
        let own: Vec<(&Arc<dyn Codec>, Json)> = kinds
            .iter()
            .map(|codec| (codec, codec.subschema(&mut self.generator)))
            .collect();
        let _ = self.schema::<Spec>();
        let mut schemas = self.generator.take_definitions(true);
        let common = schemas
            .get("Spec")
            .and_then(|spec| spec.get("properties"))
            .cloned()
            .unwrap_or_default();
        let mut one_of = Vec::new();
        let mut mapping = Map::new();
        for (codec, own) in own {
            let own = resolve(&schemas, &own);
            let name = format!("Spec_{}", codec.kind());
            let reference = format!("#/components/schemas/{name}");
            schemas.insert(name, variant(codec.as_ref(), &common, &own));
            one_of.push(json!({"$ref": reference}));
            mapping.insert(codec.kind().to_string(), json!(reference));
        }
        schemas.insert(
            "Spec".into(),
            json!({
                "description": "One node specification: the fields every spec has, and those of its kind (see /v1/schemas).",
                "oneOf": one_of,
                "discriminator": {"propertyName": "kind", "mapping": mapping}
            }),
        );
        schemas
    }

    fn operation(&mut self, method: &str, path: &str, params: &[String], route: &Route) -> Json {
        let id = format!(
            "{method}{}",
            path.split(['/', '{', '}', '.', '-'])
                .filter(|s| !s.is_empty())
                .map(|s| format!("_{s}"))
                .collect::<String>()
        );
        let mut operation = Map::new();
        operation.insert("operationId".into(), json!(id));
        let mut parameters: Vec<Json> = params
            .iter()
            .map(|name| {
                let schema = match (&route.answerer, name.as_str()) {
                    (Answerer::Records(..) | Answerer::Jobs(_), "id") => {
                        json!({"type": "string", "format": "uuid"})
                    }
                    _ => json!({"type": "string"}),
                };
                json!({"name": name, "in": "path", "required": true, "schema": schema})
            })
            .collect();
        let mut responses = Map::new();
        if let Answerer::Records(entity, op) = &route.answerer {
            self.records.push(Recorded {
                entity: *entity,
                op: *op,
                path: path.to_string(),
                method: method.to_string(),
                id: id.clone(),
            });
        }
        match &route.answerer {
            Answerer::Records(entity, op) => self.records(
                *entity,
                *op,
                &mut operation,
                &mut parameters,
                &mut responses,
            ),
            Answerer::Schemas => {
                operation.insert(
                    "summary".into(),
                    json!("The JSON Schema of every kind, or of the kind `{kind}`."),
                );
                operation.insert("tags".into(), json!(["schemas"]));
                let schema = match params.is_empty() {
                    true => self.schema::<SchemasAnswer>(),
                    false => self.schema::<KindSchema>(),
                };
                responses.insert("200".into(), self.json("The schemas.", schema));
                responses.insert("404".into(), self.error("No such kind."));
            }
            Answerer::OpenApi => {
                operation.insert("summary".into(), json!("This document."));
                operation.insert("tags".into(), json!(["openapi"]));
                responses.insert(
                    "200".into(),
                    self.json("An OpenAPI 3 document.", json!({"type": "object"})),
                );
            }
            Answerer::Jobs(op) => self.jobs(*op, &mut operation, &mut parameters, &mut responses),
            Answerer::Other(kind) => {
                operation.insert(
                    "summary".into(),
                    json!(format!("Answered by a `{kind}` node.")),
                );
                operation.insert("tags".into(), json!([kind]));
                responses.insert(
                    "200".into(),
                    json!({"description": "What the node answers.", "content": {"*/*": {"schema": {}}}}),
                );
            }
        }
        if route.secured {
            operation.insert("security".into(), json!([{"bearer": []}]));
            responses.insert(
                "401".into(),
                self.error("No bearer token, or one that is not valid."),
            );
            if !matches!(method, "get" | "head" | "options") {
                responses.insert("403".into(), self.error("The token may only read."));
            }
        }
        responses.insert(
            "default".into(),
            self.error("Any other refusal or failure."),
        );
        if !parameters.is_empty() {
            operation.insert("parameters".into(), Json::Array(parameters));
        }
        operation.insert("responses".into(), Json::Object(responses));
        Json::Object(operation)
    }

    fn records(
        &mut self,
        entity: Entity,
        op: Op,
        operation: &mut Map<String, Json>,
        parameters: &mut Vec<Json>,
        responses: &mut Map<String, Json>,
    ) {
        let what = match entity {
            Entity::Spec => "specs",
            Entity::Value => "values",
        };
        operation.insert("tags".into(), json!([what]));
        let query = |name: &str, schema: Json, description: &str| json!({"name": name, "in": "query", "required": false, "schema": schema, "description": description});
        let header = |name: &str, pattern: &str, description: &str| json!({"name": name, "in": "header", "required": false, "schema": {"type": "string", "pattern": pattern}, "description": description});
        let filters = |parameters: &mut Vec<Json>| {
            parameters.push(query(
                "namespace",
                json!({"type": "string"}),
                "Only this namespace.",
            ));
            parameters.push(query("name", json!({"type": "string"}), "Only this name."));
            parameters.push(query(
                "id",
                json!({"type": "string", "format": "uuid"}),
                "Only this id.",
            ));
        };
        let document = match entity {
            Entity::Spec => self.schema::<Spec>(),
            Entity::Value => self.schema::<NamedValue>(),
        };
        let body = |document: Json, description: &str| {
            json!({
                "required": true,
                "description": description,
                "content": {
                    "application/json": {"schema": document},
                    "application/yaml": {"schema": document}
                }
            })
        };
        let listed = self.schema::<Listed>();
        let written = self.schema::<Admitted<Listed>>();
        let if_match = header(
            "If-Match",
            IF_MATCH_PATTERN,
            "The revision replaced, as the ETag answered: a stale one gets 409. `*`, or an empty header, expects none.",
        );
        let summary = match op {
            Op::List => {
                filters(parameters);
                if entity == Entity::Spec {
                    parameters.push(query("kind", json!({"type": "string"}), "Only this kind."));
                }
                let listing = self.schema::<Listing>();
                responses.insert(
                    "200".into(),
                    self.json("The rows, and the change stream's head.", listing),
                );
                responses.insert("400".into(), self.error("An unknown or malformed filter."));
                format!("List the stored {what}, filtered.")
            }
            Op::Get => {
                responses.insert(
                    "200".into(),
                    self.json("The row (its revision as ETag).", listed),
                );
                responses.insert("404".into(), self.error("No such row."));
                responses.insert("400".into(), self.error("The id is not a UUID."));
                format!("Get one of the stored {what} by id.")
            }
            Op::Create => {
                operation.insert("requestBody".into(), body(document, "One document."));
                responses.insert(
                    "201".into(),
                    self.json(
                        "Stored (its revision as ETag, its URL as Location), with any warnings.",
                        written.clone(),
                    ),
                );
                responses.insert(
                    "400".into(),
                    self.error("Invalid: every problem with its field path; nothing stored."),
                );
                responses.insert(
                    "409".into(),
                    self.error("The name or the id is taken, or a link or `env` names a node or value the namespace does not hold (`unresolved`); nothing stored."),
                );
                format!("Create one of the {what}.")
            }
            Op::Update => {
                parameters.push(if_match);
                parameters.push(query(
                    "cascade",
                    json!({"type": "boolean"}),
                    "Store it even if other specs lose a link target through it (they go inactive).",
                ));
                // The URL names the row: the body has no `id`.
                let without_id = json!({"allOf": [document, {"not": {"required": ["id"]}}]});
                operation.insert(
                    "requestBody".into(),
                    body(
                        without_id,
                        "The whole new document, without `id` (the URL gives it; a body `id` is refused).",
                    ),
                );
                responses.insert(
                    "200".into(),
                    self.json(
                        "Stored (its new revision as ETag), with any warnings.",
                        written,
                    ),
                );
                responses.insert(
                    "400".into(),
                    self.error("Invalid: every problem with its field path; nothing stored."),
                );
                responses.insert("404".into(), self.error("No such row."));
                responses.insert(
                    "409".into(),
                    self.error("If-Match names a stale revision, the new name is taken, a link or `env` names a node or value the namespace does not hold (`unresolved`), other specs would lose a link target (`would_deactivate`, without `cascade`), or a cascade would take down specs of the `system` namespace (`system_protected`); nothing stored."),
                );
                format!("Replace one of the stored {what}.")
            }
            Op::Delete => {
                parameters.push(if_match);
                parameters.push(query(
                    "cascade",
                    json!({"type": "boolean"}),
                    "Delete even if other specs link to this one (they go inactive).",
                ));
                responses.insert(
                    "200".into(),
                    self.json("Deleted: the row as it was.", listed),
                );
                responses.insert("404".into(), self.error("No such row."));
                responses.insert(
                    "409".into(),
                    self.error("If-Match names a stale revision, other specs link to this one (`would_deactivate`, without `cascade`), or it belongs to the `system` namespace (`system_protected`)."),
                );
                format!("Delete one of the stored {what}.")
            }
            Op::Apply => {
                parameters.push(query(
                    "dry_run",
                    json!({"type": "boolean"}),
                    "Check and report; store nothing.",
                ));
                parameters.push(query(
                    "cascade",
                    json!({"type": "boolean"}),
                    "Go ahead even if other specs lose a link target (they go inactive).",
                ));
                let batch = match entity {
                    Entity::Spec => self.schema::<Batch<Spec>>(),
                    Entity::Value => self.schema::<Batch<NamedValue>>(),
                };
                let either = json!({"oneOf": [batch, {"type": "array", "items": document}]});
                operation.insert(
                    "requestBody".into(),
                    body(either, "A batch, or a list of documents."),
                );
                let plan = self.schema::<Admitted<Plan>>();
                responses.insert(
                    "200".into(),
                    self.json(
                        "What was (or would be) created, updated, left unchanged and deleted, with any warnings.",
                        plan,
                    ),
                );
                responses.insert(
                    "400".into(),
                    self.error("Invalid: every problem with its field path; nothing stored."),
                );
                responses.insert(
                    "409".into(),
                    self.error("A link or `env` names a node or value the namespace does not hold (`unresolved`), other specs would lose a link target (`would_deactivate`, without `cascade`), or it would delete from the `system` namespace (`system_protected`); nothing stored."),
                );
                format!("Apply a batch of {what} in one transaction, all or nothing.")
            }
            Op::Watch => {
                filters(parameters);
                parameters.push(query(
                    "after",
                    json!({"type": "integer", "minimum": 0, "maximum": 999_999_999_999_999_999_i64}),
                    "Start after this change (default: now); one not reached yet is 409.",
                ));
                parameters.push(header(
                    "Last-Event-ID",
                    POSITION_PATTERN,
                    "Resume after this change (wins over `after`); an empty header is none.",
                ));
                let change = self.schema::<ChangeRow>();
                responses.insert(
                    "200".into(),
                    json!({
                        "description": "Server-Sent Events: `event: change`, `id:` the change's sequence number, `data:` a ChangeRow; comments keep the connection alive.",
                        "content": {"text/event-stream": {"schema": {
                            "type": "object",
                            "description": "One event: its `data` is a ChangeRow as JSON.",
                            "properties": {
                                "event": {"type": "string", "enum": ["change"]},
                                "id": {"type": "string", "pattern": "^[0-9]+$"},
                                "data": {"type": "string"}
                            },
                            "required": ["event", "id", "data"]
                        }}},
                        "x-event-data": change
                    }),
                );
                responses.insert("400".into(), self.error("A malformed position or filter."));
                responses.insert(
                    "409".into(),
                    self.error("A position beyond the newest change (`ahead`)."),
                );
                responses.insert(
                    "410".into(),
                    self.error("The changes after that position were pruned: list again."),
                );
                format!("Watch changes to the stored {what}.")
            }
            Op::Ready => {
                let ready = self.schema::<Ready>();
                let error = self.schema::<Error>();
                responses.insert(
                    "200".into(),
                    self.json("The store answers and every spec runs.", ready.clone()),
                );
                responses.insert(
                    "503".into(),
                    self.json(
                        "The store does not answer (an error), or some spec failed: it does not compile where it loads, or its activation failed (`ready: false`, with `failed`).",
                        json!({"oneOf": [ready, error]}),
                    ),
                );
                "Whether the engine's store answers and every spec compiled and activated."
                    .to_string()
            }
        };
        operation.insert("summary".into(), json!(summary));
    }
}

/// What an enqueueing `job` node answers at once.
#[derive(JsonSchema)]
#[allow(dead_code)] // Only its schema is used.
struct Accepted {
    /// The new job's id (or the existing one's, for a taken idempotency key).
    job_id: String,
    /// Its state: `queued` for a new job.
    status: String,
}

impl Types {
    fn jobs(
        &mut self,
        op: JobOp,
        operation: &mut Map<String, Json>,
        parameters: &mut Vec<Json>,
        responses: &mut Map<String, Json>,
    ) {
        operation.insert("tags".into(), json!(["jobs"]));
        let query = |name: &str, schema: Json, description: &str| json!({"name": name, "in": "query", "required": false, "schema": schema, "description": description});
        let job = self.schema::<JobView>();
        let summary = match op {
            JobOp::List => {
                parameters.push(query(
                    "namespace",
                    json!({"type": "string"}),
                    "Only this namespace.",
                ));
                parameters.push(query(
                    "status",
                    json!({"type": "string", "enum": ["queued", "building", "success", "failed", "cancelled"]}),
                    "Only jobs in this state.",
                ));
                parameters.push(query(
                    "node",
                    json!({"type": "string"}),
                    "Only jobs of this node.",
                ));
                parameters.push(query(
                    "limit",
                    json!({"type": "integer", "minimum": 1, "maximum": 1000}),
                    "At most this many (default 100).",
                ));
                parameters.push(query(
                    "cursor",
                    json!({"type": "string", "format": "uuid"}),
                    "The previous page's `next_cursor`.",
                ));
                let listing = self.schema::<JobListing>();
                responses.insert(
                    "200".into(),
                    self.json("A page of jobs, newest first.", listing),
                );
                responses.insert(
                    "400".into(),
                    self.error("An unknown or malformed parameter."),
                );
                "List the durable jobs, newest first."
            }
            JobOp::Get => {
                responses.insert("200".into(), self.json("The job.", job));
                responses.insert("404".into(), self.error("No such job."));
                "Get one job."
            }
            JobOp::Cancel => {
                responses.insert(
                    "200".into(),
                    self.json("The job after the request: `cancelled` if it was queued; a running one stops at its engine's next heartbeat; a finished one is left as it is.", job),
                );
                responses.insert("404".into(), self.error("No such job."));
                "Cancel one job."
            }
            JobOp::Events => {
                responses.insert(
                    "200".into(),
                    json!({
                        "description": "Server-Sent Events: `event: status` with the job (a Job) at once and at every change of state or attempt, ending after a final state; comments keep the connection alive.",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}},
                        "x-event-data": job
                    }),
                );
                responses.insert("404".into(), self.error("No such job."));
                "Follow one job's changes."
            }
            JobOp::Enqueue => {
                let accepted = self.schema::<Accepted>();
                responses.insert(
                    "202".into(),
                    self.json(
                        "Stored; the job runs later (its URL as Location, when the node sets one).",
                        accepted,
                    ),
                );
                "Enqueue a durable job."
            }
        };
        operation.insert("summary".into(), json!(summary));
    }
}
