//! `specs` and `values`: the store's rows over HTTP, one operation per node.
//!
//! Both kinds are one implementation over [`Record`]: a spec or a value.
//! The spec's `op` says what a node does with the request a router hands
//! it: list (with filters), get, create, update (with the revision
//! `If-Match` states), delete, apply a batch in one transaction, watch the
//! change stream (Server-Sent Events, [`super::watch`]), or say whether the
//! store answers. Everything written is first admitted exactly as
//! `weir apply` admits it ([`weir_engine::admission`]): an invalid document
//! gets 400 with every problem and its field path, and nothing is stored.
//! Answers never hold a secret value's data ([`Store::listed`]).

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use weir_codecs::{ErrorValue, Value};
use weir_engine::Activate;
use weir_engine::admission::{self, Refused};
use weir_engine::runtime::BoxFuture;
use weir_engine::runtime::Prepare;
use weir_engine::runtime::prepared;
use weir_engine::scheme::Context;
use weir_engine::spec::source::{self, Sourced};
use weir_engine::spec::{NamedValue, Spec};
use weir_engine::store::{Changeset, Document, Entity, Key, Listed, Row, Store};
use weir_engine::{
    Call, Diagnostics, FieldError, Kind, Node, Origin, Packet, Port, PortPattern, Ports, Scheme,
};

use super::request::{
    self, Admitted, Request, answer, bad_request, flag, json, refused, store_error,
};

/// A thing the `specs` and `values` kinds serve: how it is named and how
/// it is admitted.
pub trait Record: Document {
    /// The kind serving it.
    const KIND: &'static str;
    /// The kind's summary.
    const SUMMARY: &'static str;

    /// Checks documents before they are stored; every problem reported.
    /// Admitted, the answer is what they warned of.
    fn admit<'a>(
        store: &'a Store,
        scheme: &'a Scheme,
        documents: &'a [(Origin, Self)],
    ) -> BoxFuture<'a, Result<Diagnostics, Refused>>;
}

impl Record for Spec {
    const KIND: &'static str = "specs";
    const SUMMARY: &'static str = "The stored node specs over HTTP (`system` namespace only): list with filters, get, create, update with `If-Match`, delete, apply a batch atomically, watch changes (SSE).";

    fn admit<'a>(
        store: &'a Store,
        scheme: &'a Scheme,
        documents: &'a [(Origin, Spec)],
    ) -> BoxFuture<'a, Result<Diagnostics, Refused>> {
        Box::pin(async move {
            let specs: Vec<Sourced> = source::sourced(documents.to_vec());
            admission::check_specs(store, scheme, &specs, &mut |_, _| {}).await
        })
    }
}

impl Record for NamedValue {
    const KIND: &'static str = "values";
    const SUMMARY: &'static str = "The stored values and secrets over HTTP (`system` namespace only): list, get, create, update with `If-Match`, delete, apply a batch atomically, watch changes (SSE); secrets never in clear.";

    fn admit<'a>(
        _: &'a Store,
        _: &'a Scheme,
        documents: &'a [(Origin, NamedValue)],
    ) -> BoxFuture<'a, Result<Diagnostics, Refused>> {
        Box::pin(async move {
            admission::check_values(documents)
                .map(|()| Diagnostics::default())
                .map_err(Refused::Invalid)
        })
    }
}

/// What a `specs` or `values` node does with each request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// Every row the query's filters select (`namespace`, `name`, `id`,
    /// and `kind` for specs), with the change-stream head to watch from.
    List,
    /// The row whose id is the route's `:id`, with its revision as `ETag`.
    Get,
    /// Stores the body as a new row (409 if its name is taken): 201.
    Create,
    /// Replaces the row `:id` with the body; `If-Match` states the revision
    /// it replaces (409 when stale).
    Update,
    /// Deletes the row `:id`; `If-Match` as for `update`.
    Delete,
    /// Applies a batch (`{items, delete, dry_run}`, or a list of items) in
    /// one transaction.
    Apply,
    /// Streams changes as Server-Sent Events, from `Last-Event-ID` or
    /// `?after=SEQ` (else from now), filtered like `list`.
    Watch,
    /// Answers whether the store answers (for `/readyz`).
    Ready,
}

/// The fields of a `specs` or `values` spec.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(example = serde_json::json!({"op": "list"}))]
pub struct RecordsSpec {
    /// What the node does with each request.
    pub op: Op,
    /// Milliseconds between keep-alive comments on a `watch` stream.
    #[serde(default = "default_keepalive_ms")]
    #[schemars(range(min = 1))]
    pub keepalive_ms: u64,
}

fn default_keepalive_ms() -> u64 {
    15_000
}

/// The body of `apply`.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Batch<T> {
    /// Documents to create or update, matched to stored rows by namespace
    /// and name.
    #[serde(default)]
    pub items: Vec<T>,
    /// Rows to delete (before the items are applied).
    #[serde(default)]
    pub delete: Vec<Key>,
    /// Check and report what would change; store nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Go ahead even if other specs lose a link target (they go inactive;
    /// the plan lists them).
    #[serde(default)]
    pub cascade: bool,
}

/// The answer of `list`.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
pub struct Listing {
    /// The rows, by namespace and name.
    pub items: Vec<Listed>,
    /// The change stream's head when the rows were read: watch with
    /// `?after=HEAD` to follow on without missing a change.
    pub head: i64,
}

/// The answer of `ready`.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
pub struct Ready {
    /// False (with 503) while some spec failed: it did not compile where
    /// it loads (an `os` variable the engine lacks, say) or its activation
    /// failed (a listener whose port is taken); it does not serve.
    pub ready: bool,
    /// The change stream's head.
    pub head: i64,
    /// The specs whose activation failed, with why (`id`, `message`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<Failed>,
}

/// A spec that does not run, as `/readyz` lists it.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
pub struct Failed {
    /// The spec's id.
    pub id: uuid::Uuid,
    /// Why it does not run.
    pub message: String,
}

/// The `specs` kind (`R` = [`Spec`]) or the `values` kind ([`NamedValue`]).
pub(super) struct Records<R>(PhantomData<fn() -> R>);

impl<R> Records<R> {
    pub fn new() -> Records<R> {
        Records(PhantomData)
    }
}

impl<R: Record> Kind for Records<R> {
    type Spec = RecordsSpec;

    fn name(&self) -> &'static str {
        R::KIND
    }

    fn summary(&self) -> &'static str {
        R::SUMMARY
    }

    fn ports(&self, _: &RecordsSpec) -> Ports {
        Ports::new().input(PortPattern::Exact(Port::input()))
    }

    fn compile(
        &self,
        spec: RecordsSpec,
        cx: &Context<'_>,
    ) -> Result<Arc<dyn Activate>, Vec<FieldError>> {
        super::only_in_system(R::KIND, cx)?;
        if spec.keepalive_ms == 0 {
            return Err(vec![FieldError::new("keepalive_ms", "must be more than 0")]);
        }
        Ok(prepared(RecordsNode::<R> {
            op: spec.op,
            store: super::store(cx),
            scheme: cx.scheme().clone(),
            keepalive: Duration::from_millis(spec.keepalive_ms),
            _record: PhantomData,
        }))
    }
}

struct RecordsNode<R> {
    op: Op,
    store: Option<Arc<Store>>,
    /// For admitting specs exactly as they will compile.
    scheme: Scheme,
    keepalive: Duration,
    _record: PhantomData<fn() -> R>,
}

impl<R: Record> Node for RecordsNode<R> {
    fn call<'a>(
        &'a self,
        call: &'a Call,
        input: Packet,
    ) -> BoxFuture<'a, Result<Packet, ErrorValue>> {
        Box::pin(async move {
            let store = self
                .store
                .as_deref()
                .ok_or_else(|| super::no_store(R::KIND))?;
            let request = Request(input.payload());
            let answer = match self.op {
                Op::List => self.list(store, &request).await,
                Op::Get => self.get(store, &request).await,
                Op::Create => self.create(store, &request).await,
                Op::Update => self.update(store, &request).await,
                Op::Delete => self.delete(store, &request).await,
                Op::Apply => self.apply(store, &request).await,
                Op::Watch => {
                    let entity = R::ENTITY;
                    super::watch::start(store, entity, &request, self.keepalive, call).await
                }
                Op::Ready => ready(store).await,
            }?;
            Ok(Packet::new(answer))
        })
    }
}

impl<R: Record> Prepare for RecordsNode<R> {
    fn prepare(&self) -> BoxFuture<'_, Result<(), ErrorValue>> {
        Box::pin(async move {
            match self.store {
                Some(_) => Ok(()),
                None => Err(super::no_store(R::KIND)),
            }
        })
    }
}

/// The `ETag` of a revision.
fn etag(revision: i64) -> String {
    format!("\"{revision}\"")
}

impl<R: Record> RecordsNode<R> {
    /// A row as a write answers it: redacted, and with no status reported yet.
    fn shown(row: Row) -> Listed {
        Listed {
            row: row.redacted(R::ENTITY),
            status: None,
        }
    }

    async fn list(&self, store: &Store, request: &Request<'_>) -> Result<Value, ErrorValue> {
        let filter = request.filter(R::ENTITY == Entity::Spec, &[])?;
        // The head first: a change landing between the two reads is then
        // seen again by a watch from it, never missed.
        let head = store.head().await.map_err(store_error)?;
        let items = store
            .listed(R::ENTITY, &filter)
            .await
            .map_err(store_error)?;
        Ok(answer(200, &[], json(&Listing { items, head })))
    }

    async fn get(&self, store: &Store, request: &Request<'_>) -> Result<Value, ErrorValue> {
        let id = request.id()?;
        request.query(&[])?;
        let shown = store.shown(R::ENTITY, id).await.map_err(store_error)?;
        let shown = shown.ok_or_else(|| {
            ErrorValue::new(format!("no {} with id {id}", R::ENTITY.label()))
                .with_code("not_found")
                .with_status(404)
        })?;
        Ok(answer(
            200,
            &[("etag", etag(shown.row.revision))],
            json(&shown),
        ))
    }

    /// The one document of a create or update body, admitted, with what
    /// admitting it warned of.
    async fn one(
        &self,
        store: &Store,
        body: Json,
        id: Option<uuid::Uuid>,
    ) -> Result<(R, Diagnostics), ErrorValue> {
        if !body.is_object() {
            return Err(bad_request(format!(
                "the body must be one {} (a map); apply takes a list",
                R::ENTITY.label()
            )));
        }
        let has_id = body.get("id").is_some();
        let mut documents = source::from_json::<R>(body, None).map_err(|d| request::invalid(&d))?;
        // One map decodes to exactly one document.
        let (origin, document) = documents
            .first_mut()
            .ok_or_else(|| bad_request("the body holds no document"))?;
        if let Some(id) = id {
            // The URL names the row: a body `id` is refused (even the same
            // one), exactly as the document's schema leaves it out.
            if has_id {
                let mut problems = weir_engine::Diagnostics::default();
                let message = format!("the URL gives the id ({id}): leave `id` out of the body");
                problems.extend(origin, [FieldError::new("id", message)]);
                return Err(request::invalid(&problems));
            }
            document.set_id(id);
        }
        let warnings = R::admit(store, &self.scheme, &documents)
            .await
            .map_err(refused)?;
        documents
            .pop()
            .map(|(_, document)| (document, warnings))
            .ok_or_else(|| bad_request("the body holds no document"))
    }

    async fn create(&self, store: &Store, request: &Request<'_>) -> Result<Value, ErrorValue> {
        request.query(&[])?;
        let (document, warnings) = self.one(store, request.documents()?, None).await?;
        let row = store.create(document).await.map_err(store_error)?;
        let path = request.0.get("path").and_then(Value::as_str).unwrap_or("");
        let location = format!("{}/{}", path.trim_end_matches('/'), row.id);
        let headers = [("etag", etag(row.revision)), ("location", location)];
        let shown = Admitted::new(Self::shown(row), &warnings);
        Ok(answer(201, &headers, json(&shown)))
    }

    async fn update(&self, store: &Store, request: &Request<'_>) -> Result<Value, ErrorValue> {
        let id = request.id()?;
        let cascade = flag(&request.query(&["cascade"])?, "cascade")?;
        let expected = request.if_match()?;
        let (document, warnings) = self.one(store, request.documents()?, Some(id)).await?;
        if cascade && R::ENTITY == Entity::Spec && self.touches_system(store, id, &document).await?
        {
            // The system namespace may change, but never by taking its own
            // specs down on purpose: that could make this API unreachable.
            return Err(system_protected("take down specs of"));
        }
        let row = store
            .update(document, expected, cascade)
            .await
            .map_err(store_error)?;
        let headers = [("etag", etag(row.revision))];
        let shown = Admitted::new(Self::shown(row), &warnings);
        Ok(answer(200, &headers, json(&shown)))
    }

    async fn delete(&self, store: &Store, request: &Request<'_>) -> Result<Value, ErrorValue> {
        let id = request.id()?;
        let cascade = flag(&request.query(&["cascade"])?, "cascade")?;
        let expected = request.if_match()?;
        if R::ENTITY == Entity::Spec
            && let Some(row) = store.get(R::ENTITY, id).await.map_err(store_error)?
            && row.namespace == SYSTEM
        {
            return Err(system_protected("delete specs of"));
        }
        let row = store
            .remove(R::ENTITY, id, expected, cascade)
            .await
            .map_err(store_error)?;
        Ok(answer(200, &[], json(&Self::shown(row))))
    }

    async fn apply(&self, store: &Store, request: &Request<'_>) -> Result<Value, ErrorValue> {
        let query = request.query(&["dry_run", "cascade"])?;
        let (dry_run_query, cascade_query) = (flag(&query, "dry_run")?, flag(&query, "cascade")?);
        let batch = match request.documents()? {
            Json::Array(items) => Batch {
                items,
                delete: Vec::new(),
                dry_run: false,
                cascade: false,
            },
            body @ Json::Object(_) => source::from_json::<Batch<Json>>(body, None)
                .map_err(|d| request::invalid(&d))?
                .pop()
                .map(|(_, batch)| batch)
                .ok_or_else(|| bad_request("the body holds no batch"))?,
            _ => return Err(bad_request("the body must be a batch (a map) or a list")),
        };
        for (i, key) in batch.delete.iter().enumerate() {
            if key.id.is_some() == key.name.is_some() {
                return Err(bad_request(format!(
                    "delete[{i}]: give either `id` or `name` (with `namespace`)"
                )));
            }
        }
        let documents = match batch.items.is_empty() {
            true => Vec::new(),
            false => source::from_json::<R>(Json::Array(batch.items), None)
                .map_err(|d| request::invalid(&d))?,
        };
        let warnings = R::admit(store, &self.scheme, &documents)
            .await
            .map_err(refused)?;
        if R::ENTITY == Entity::Spec {
            self.protect_system(store, &batch.delete).await?;
        }
        let changes = Changeset {
            apply: documents.into_iter().map(|(_, d)| d).collect(),
            delete: batch.delete,
            cascade: batch.cascade || cascade_query,
        };
        let plan = store
            .commit(changes, batch.dry_run || dry_run_query)
            .await
            .map_err(store_error)?;
        Ok(answer(200, &[], json(&Admitted::new(plan, &warnings))))
    }
}

impl<R: Record> RecordsNode<R> {
    /// The API cannot delete its own specs: a deleted `system` spec could
    /// take the API down with it, and nothing would be left to undo it.
    /// (`weir delete` against the database still can.)
    async fn protect_system(&self, store: &Store, keys: &[Key]) -> Result<(), ErrorValue> {
        for key in keys {
            let namespace = match (key.id, &key.namespace) {
                (Some(id), _) => store
                    .get(R::ENTITY, id)
                    .await
                    .map_err(store_error)?
                    .map(|row| row.namespace),
                (None, namespace) => namespace.clone(),
            };
            if namespace.as_deref() == Some(SYSTEM) {
                return Err(system_protected("delete specs of"));
            }
        }
        Ok(())
    }

    /// Whether an update of `id` to `document` reads or writes the `system`
    /// namespace.
    async fn touches_system(
        &self,
        store: &Store,
        id: uuid::Uuid,
        document: &R,
    ) -> Result<bool, ErrorValue> {
        let stored = store.get(R::ENTITY, id).await.map_err(store_error)?;
        let was = stored.is_some_and(|row| row.namespace == SYSTEM);
        Ok(was || document.namespace() == SYSTEM)
    }
}

/// The namespace of the API itself.
const SYSTEM: &str = "system";

/// The refusal of a write that could take the API itself down; `what` is
/// the write (`delete specs of`).
fn system_protected(what: &str) -> ErrorValue {
    ErrorValue::new(format!(
        "the system API cannot {what} the `system` namespace: that could make it unreachable (use `weir` against the database)"
    ))
    .with_code("system_protected")
    .with_status(409)
}

async fn ready(store: &Store) -> Result<Value, ErrorValue> {
    let head = store.head().await.map_err(store_error)?;
    let failed: Vec<Failed> = store
        .statuses()
        .await
        .map_err(store_error)?
        .into_iter()
        .filter(|s| s.status == "failed")
        .map(|s| Failed {
            id: s.id,
            message: s.message,
        })
        .collect();
    let ready = failed.is_empty();
    let status = if ready { 200 } else { 503 };
    Ok(answer(
        status,
        &[],
        json(&Ready {
            ready,
            head,
            failed,
        }),
    ))
}
