//! `merge`: waits until each of its `in[0]`…`in[n-1]` has a packet of the
//! same execution, then writes the list of them to `out` and gives that one
//! answer to every writer of the round.
//!
//! Rounds are kept per execution, in the state of its outermost process
//! (so a `fork`'s branch, a child process, joins its parent's rounds) and
//! keyed by this node, and they go when the execution does. The k-th
//! packet on each port forms round k. A writer whose round never completes
//! waits until its process is cancelled or times out.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use schemars::JsonSchema;
use serde::Deserialize;
use tokio::sync::oneshot;
use weir_codecs::{ErrorValue, Value};
use weir_engine::runtime::BoxFuture;
use weir_engine::{Activate, shared};
use weir_engine::{
    Call, FieldError, Kind, Node, Packet, Port, PortPattern, Ports, Process, scheme::Context,
};

/// The fields of a `merge` spec.
///
/// Ports: `in[0]` … `in[n-1]` (n = `inputs`) → `out`, which gets the list
/// of one packet from each, in port order. Every writer of the round gets
/// what `out` answers (the list itself when `out` is unlinked).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(example = super::example("inputs: 2"))]
pub struct MergeSpec {
    /// How many in-ports to wait for: `in[0]` to `in[inputs - 1]`, at
    /// most 1,024.
    #[serde(deserialize_with = "inputs")]
    #[schemars(range(min = 1, max = MAX_INPUTS))]
    pub inputs: u32,
}

/// The most in-ports a merge has. Each is a port of the spec's symbol, so
/// the count is bounded where it is read, before any port is made.
pub const MAX_INPUTS: u32 = 1024;

fn inputs<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let inputs = u32::deserialize(deserializer)?;
    match (1..=MAX_INPUTS).contains(&inputs) {
        true => Ok(inputs),
        false => Err(serde::de::Error::custom(format!(
            "must be 1 to {MAX_INPUTS}, not {inputs}"
        ))),
    }
}

pub(super) struct Merge;

impl Kind for Merge {
    type Spec = MergeSpec;

    fn name(&self) -> &'static str {
        "merge"
    }

    fn summary(&self) -> &'static str {
        "Waits for a packet on each of `in[0]`…`in[n-1]` within one execution, writes their list to `out` and answers every writer with its answer."
    }

    fn ports(&self, spec: &MergeSpec) -> Ports {
        (0..spec.inputs)
            .fold(Ports::new(), |ports, i| {
                ports.input(PortPattern::Exact(Port::indexed("in", i)))
            })
            .output(PortPattern::Exact(Port::output()))
    }

    fn compile(
        &self,
        spec: MergeSpec,
        cx: &Context<'_>,
    ) -> Result<Arc<dyn Activate>, Vec<FieldError>> {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Ok(shared(MergeNode {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            name: cx.name(),
            inputs: spec.inputs as usize,
        }))
    }
}

struct MergeNode {
    /// Tells this node's rounds from other merges' in the same execution.
    id: u64,
    name: String,
    inputs: usize,
}

/// A packet waiting for its round, and where its writer waits.
type Waiting = (Value, oneshot::Sender<Packet>);

/// The open rounds of one execution, per merge node: a queue per in-port.
#[derive(Default)]
struct Rounds(Mutex<HashMap<u64, Vec<VecDeque<Waiting>>>>);

/// The outermost process of `process`'s execution.
fn root(process: &Arc<Process>) -> &Arc<Process> {
    let mut at = process;
    while let Some(parent) = at.parent() {
        at = parent;
    }
    at
}

enum Arrival {
    /// This packet completes a round: the values, and who else waits.
    Completes(Vec<Value>, Vec<oneshot::Sender<Packet>>),
    /// The round is not complete: wait for its answer.
    Waits(oneshot::Receiver<Packet>),
}

impl MergeNode {
    fn arrive(&self, process: &Arc<Process>, port: usize, value: Value) -> Arrival {
        let rounds = root(process).state::<Rounds>();
        let mut open = rounds.0.lock().unwrap_or_else(|p| p.into_inner());
        let queues = open
            .entry(self.id)
            .or_insert_with(|| (0..self.inputs).map(|_| VecDeque::new()).collect());
        let completes = queues
            .iter()
            .enumerate()
            .all(|(i, queue)| (i == port) == queue.is_empty());
        if !completes {
            let (reply, answer) = oneshot::channel();
            queues[port].push_back((value, reply));
            return Arrival::Waits(answer);
        }
        let mut values = Vec::with_capacity(self.inputs);
        let mut writers = Vec::with_capacity(self.inputs - 1);
        let mut mine = Some(value);
        for (i, queue) in queues.iter_mut().enumerate() {
            match queue.pop_front() {
                Some((value, writer)) => {
                    values.push(value);
                    writers.push(writer);
                }
                // Only `port`'s queue is empty, as `completes` checked.
                None if i == port => values.push(mine.take().unwrap_or_default()),
                None => {}
            }
        }
        if queues.iter().all(VecDeque::is_empty) {
            open.remove(&self.id);
        }
        Arrival::Completes(values, writers)
    }
}

impl Node for MergeNode {
    fn call<'a>(
        &'a self,
        call: &'a Call,
        input: Packet,
    ) -> BoxFuture<'a, Result<Packet, ErrorValue>> {
        Box::pin(async move {
            let port = call
                .port()
                .index()
                .map(|i| i as usize)
                .filter(|i| *i < self.inputs)
                .ok_or_else(|| {
                    ErrorValue::new(format!(
                        "node `{}`: no input `{}` (inputs: in[0]…in[{}])",
                        self.name,
                        call.port(),
                        self.inputs - 1
                    ))
                })?;
            match self.arrive(call.process(), port, input.into_payload()) {
                Arrival::Completes(values, writers) => {
                    let answer = call.write(&Port::output(), Packet::new(Value::list(values))).await;
                    for writer in writers {
                        let _ = writer.send(answer.clone());
                    }
                    Ok(answer)
                }
                Arrival::Waits(answer) => Ok(answer.await.unwrap_or_else(|_| {
                    Packet::error(
                        ErrorValue::new(format!(
                            "node `{}`: the write that completed this round stopped before answering",
                            self.name
                        ))
                        .with_code("dropped"),
                    )
                })),
            }
        })
    }
}
