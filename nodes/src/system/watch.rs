//! The `watch` operation: the change stream as Server-Sent Events.
//!
//! Each change is one event: `id:` its sequence number, `event: change`,
//! `data:` the change as JSON (`seq`, `entity`, `id`, `namespace`, `name`,
//! `operation`, `revision`; never a document, so never a secret). A client
//! resumes where it stopped: `Last-Event-ID` (what browsers send when they
//! reconnect) or `?after=SEQ`, else it starts from now. Comments keep idle
//! connections alive. The events are written through the listener's
//! response stream ([`crate::net::stream`]); the writer stops when the
//! client goes.

use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use weir_codecs::{ErrorValue, Value};
use weir_engine::Call;
use weir_engine::store::{ChangeRow, Entity, Filter, Store, Watch};

use super::request::{Request, answer, bad_request, store_error};

/// How many events may wait for a slow client before the writer waits.
const BUFFER: usize = 64;

/// Starts streaming the changes of `entity` that the request's filters
/// select, and answers the response's head.
pub(super) async fn start(
    store: &Store,
    entity: Entity,
    request: &Request<'_>,
    keepalive: Duration,
    call: &Call,
) -> Result<Value, ErrorValue> {
    let filter = request.filter(false, &["after"])?;
    let after = match request.given_header("last-event-id") {
        Some(id) => Some(position("Last-Event-ID", id)?),
        None => request
            .query(&["namespace", "name", "id", "after"])?
            .into_iter()
            .find(|(name, _)| *name == "after")
            .map(|(_, value)| position("after", value))
            .transpose()?,
    };
    let watch = store.watch(after).await.map_err(store_error)?;
    let events = crate::net::stream::open(call.process(), BUFFER);
    let first = format!("retry: 1000\n: watching after {}\n\n", watch.position());
    tokio::spawn(follow(watch, entity, filter, keepalive, events));
    Ok(answer(
        200,
        &[
            ("content-type", "text/event-stream".to_string()),
            ("cache-control", "no-store".to_string()),
            ("x-accel-buffering", "no".to_string()),
        ],
        Value::string(first),
    ))
}

fn position(source: &str, text: &str) -> Result<i64, ErrorValue> {
    super::request::sequence(text.trim_matches([' ', '\t'])).ok_or_else(|| {
        bad_request(format!(
            "{source}: `{text}` is not a change sequence number"
        ))
    })
}

/// Writes events until the client goes.
async fn follow(
    mut watch: Watch,
    entity: Entity,
    filter: Filter,
    keepalive: Duration,
    events: mpsc::Sender<Bytes>,
) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + keepalive, keepalive);
    loop {
        let sent = tokio::select! {
            () = events.closed() => return,
            _ = ticks.tick() => events.send(Bytes::from_static(b": keep-alive\n\n")).await,
            changes = watch.next() => match changes {
                Ok(changes) => {
                    let mut sent = Ok(());
                    for change in changes.iter().filter(|c| selected(c, entity, &filter)) {
                        sent = events.send(event(change)).await;
                        if sent.is_err() {
                            break;
                        }
                    }
                    sent
                }
                Err(error) => {
                    tracing::warn!(%error, "watch: cannot read the change stream");
                    let data = serde_json::json!({"message": "the change stream cannot be read; reconnect to resume"});
                    let _ = events.send(Bytes::from(format!("event: error\ndata: {data}\n\n"))).await;
                    return;
                }
            },
        };
        if sent.is_err() {
            return;
        }
    }
}

fn selected(change: &ChangeRow, entity: Entity, filter: &Filter) -> bool {
    change.entity == entity
        && filter
            .namespace
            .as_ref()
            .is_none_or(|n| *n == change.namespace)
        && filter.name.as_ref().is_none_or(|n| *n == change.name)
        && filter.id.is_none_or(|id| id == change.id)
}

fn event(change: &ChangeRow) -> Bytes {
    // A change row always serialises (plain fields).
    let data = serde_json::to_string(change).unwrap_or_default();
    Bytes::from(format!(
        "id: {}\nevent: change\ndata: {data}\n\n",
        change.seq
    ))
}
