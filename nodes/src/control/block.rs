//! `block`: an inline workflow behind ports of its own. `inputs` maps each
//! of the block's in-ports to an inner spec's in-port; `outputs` maps each
//! of its out-ports to an inner spec's out-port.
//!
//! A packet on a block in-port goes to its inner target, whose answer is
//! the answer. Each mapped inner out-port is linked to a hidden bridge
//! node that writes to the block's own out-port and answers what that
//! answers. Every activation of the block starts its own inner nodes, with
//! bridges made for it that write through its own out-links. The inner
//! specs behave as if written outside: errors pass through untouched.

use std::collections::BTreeMap;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;
use weir_codecs::ErrorValue;
use weir_engine::env::NoValues;
use weir_engine::runtime::{Activate, BoxFuture, Outputs, Slot};
use weir_engine::spec::Target;
use weir_engine::{
    Call, FieldError, Kind, Node, Packet, Port, PortPattern, Ports, Scheme, Spec, Symbol,
    scheme::Context, shared,
};

use super::inline::{self, Inline};

/// The hidden kind of the bridges; registered only while a block compiles.
const BRIDGE: &str = "block output";

/// The fields of a `block` spec.
///
/// Ports: the keys of `inputs` are its in-ports, the keys of `outputs` its
/// out-ports. A packet on an in-port is answered by the inner spec it maps
/// to.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(example = super::example("specs:\n  - {kind: schema, name: check, schema: {type: string}, ports: {out: [{name: shout}]}}\n  - {kind: snippet, name: shout, language: cel, code: self + '!'}\ninputs:\n  in: {name: check}\noutputs:\n  out: {name: shout}"))]
pub struct BlockSpec {
    /// The inner specs: whole specs, linked to one another by name. Each is
    /// compiled like any spec (its own `env` and templates).
    #[schemars(length(min = 1))]
    #[schemars(transform = super::inline::in_parents_namespace)]
    pub specs: Vec<Spec>,
    /// The block's in-ports, each with the inner spec and in-port it feeds.
    #[serde(default)]
    #[schemars(extend("propertyNames" = {"pattern": weir_engine::Port::PATTERN}))]
    pub inputs: BTreeMap<String, Entry>,
    /// The block's out-ports, each with the inner spec and out-port that
    /// writes to it.
    #[serde(default)]
    #[schemars(extend("propertyNames" = {"pattern": weir_engine::Port::PATTERN}))]
    pub outputs: BTreeMap<String, Exit>,
}

/// Where a block in-port leads inside.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The inner spec's name.
    pub name: String,
    /// Its in-port.
    #[serde(default = "input")]
    #[schemars(regex(pattern = weir_engine::port::Port::PATTERN))]
    pub port: String,
}

/// Which inner out-port a block out-port carries.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Exit {
    /// The inner spec's name.
    pub name: String,
    /// Its out-port.
    #[serde(default = "output")]
    #[schemars(regex(pattern = weir_engine::port::Port::PATTERN))]
    pub port: String,
}

fn input() -> String {
    "in".into()
}

fn output() -> String {
    "out".into()
}

pub(super) struct Block;

/// Parses the ports of a map's keys, reporting bad ones under `field`.
fn ports<T>(field: &str, map: &BTreeMap<String, T>, errors: &mut Vec<FieldError>) -> Vec<Port> {
    map.keys()
        .filter_map(|key| {
            Port::parse(key)
                .map_err(|e| errors.push(FieldError::new(format!("{field}.{key}"), e.to_string())))
                .ok()
        })
        .collect()
}

impl Kind for Block {
    type Spec = BlockSpec;

    fn name(&self) -> &'static str {
        "block"
    }

    fn summary(&self) -> &'static str {
        "Runs inline specs as one node: `inputs` map its in-ports to inner in-ports, `outputs` inner out-ports to its out-ports."
    }

    fn runtime_templates(&self) -> &'static [&'static str] {
        &["specs"]
    }

    fn ports(&self, spec: &BlockSpec) -> Ports {
        let mut ignored = Vec::new();
        let ins = ports("inputs", &spec.inputs, &mut ignored);
        let outs = ports("outputs", &spec.outputs, &mut ignored);
        let with_inputs = ins.into_iter().fold(Ports::new().named(), |p, port| {
            p.input(PortPattern::Exact(port))
        });
        outs.into_iter()
            .fold(with_inputs, |p, port| p.output(PortPattern::Exact(port)))
    }

    fn compile(
        &self,
        spec: BlockSpec,
        cx: &Context<'_>,
    ) -> Result<Arc<dyn Activate>, Vec<FieldError>> {
        let mut errors = Vec::new();
        ports("inputs", &spec.inputs, &mut errors);
        ports("outputs", &spec.outputs, &mut errors);
        let mut specs = spec.specs;
        for (i, inner) in specs.iter().enumerate() {
            if inner.kind == BRIDGE {
                errors.push(FieldError::new(
                    format!("specs[{i}].kind"),
                    format!("`{BRIDGE}` is the block's own kind, not one to write"),
                ));
            }
        }
        let position =
            |name: &str, specs: &[Spec]| specs.iter().position(|s| s.name.as_deref() == Some(name));
        // Each out-port gets a bridge, and its inner source a link to it.
        let mut bridges = Vec::new();
        let mut added: Vec<(usize, String, String)> = Vec::new();
        for (outer, exit) in &spec.outputs {
            if let Err(e) = Port::parse(&exit.port) {
                errors.push(FieldError::new(
                    format!("outputs.{outer}.port"),
                    e.to_string(),
                ));
                continue;
            }
            let bridge = format!("({outer})");
            if position(&bridge, &specs).is_some() {
                errors.push(FieldError::new(
                    format!("outputs.{outer}"),
                    format!("the name `{bridge}` is the block's own; rename that inner spec"),
                ));
                continue;
            }
            let Some(source) = position(&exit.name, &specs) else {
                cx.warn(
                    format!("outputs.{outer}.name"),
                    format!(
                        "no inner spec is named `{}`: nothing goes out this way",
                        exit.name
                    ),
                );
                continue;
            };
            let links = specs[source].ports.entry(exit.port.clone()).or_default();
            if links.is_empty() {
                added.push((source, exit.port.clone(), outer.clone()));
            }
            links.push(Target {
                name: Some(bridge.clone()),
                id: None,
                namespace: None,
                port: "in".into(),
            });
            bridges.push(bridge_spec(&bridge, outer));
        }
        let given = specs.len();
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut scheme = cx.scheme().clone();
        scheme.register(BridgeKind { exits: None });
        // An error about a link only the block added belongs to `outputs`.
        let rename = |index: usize, error: &FieldError| {
            added
                .iter()
                .find(|(i, port, _)| *i == index && error.path == format!("ports.{port}"))
                .map(|(_, _, outer)| FieldError {
                    path: format!("outputs.{outer}.port"),
                    ..error.clone()
                })
        };
        let inline = Inline::compile(cx, &scheme, "specs", specs, bridges.clone(), rename)?;
        let symbols = &inline.symbols()[..given];
        let mut entries = Vec::new();
        for (outer, entry) in &spec.inputs {
            let field = format!("inputs.{outer}");
            let (Ok(outer), Ok(port)) = (Port::parse(outer), Port::parse(&entry.port)) else {
                errors.push(FieldError::new(
                    format!("{field}.port"),
                    format!("`{}` is not a port name", entry.port),
                ));
                continue;
            };
            match symbols
                .iter()
                .find(|s| s.spec().name.as_deref() == Some(&entry.name))
            {
                None => cx.warn(
                    format!("{field}.name"),
                    format!(
                        "no inner spec is named `{}`: a packet on `{outer}` fails",
                        entry.name
                    ),
                ),
                Some(target) if !target.ports().accepts(&port) => cx.warn(
                    format!("{field}.port"),
                    format!(
                        "inner spec `{}` (kind `{}`) has no input `{port}`: a packet on `{outer}` fails",
                        entry.name,
                        target.spec().kind
                    ),
                ),
                Some(target) => entries.push((outer, target.key(), port)),
            }
        }
        match errors.is_empty() {
            true => Ok(Arc::new(BlockActivate {
                name: cx.name(),
                inline,
                bridges,
                entries,
            })),
            false => Err(errors),
        }
    }
}

/// The bridge spec carrying inner packets to the block's out-port `outer`.
fn bridge_spec(name: &str, outer: &str) -> Spec {
    let mut fields = serde_json::Map::new();
    fields.insert("port".into(), outer.into());
    Spec {
        id: uuid::Uuid::now_v7(),
        kind: BRIDGE.into(),
        namespace: weir_engine::spec::DEFAULT_NAMESPACE.into(),
        name: Some(name.into()),
        annotations: Default::default(),
        env: Default::default(),
        ports: Default::default(),
        fields,
    }
}

/// A compiled block: each activation runs its own inner nodes.
struct BlockActivate {
    name: String,
    inline: Inline,
    /// The bridge specs, compiled anew for each activation's out-links.
    bridges: Vec<Spec>,
    /// Block in-port → inner spec key and in-port.
    entries: Vec<(Port, String, Port)>,
}

impl BlockActivate {
    /// Bridges that write through `exits`, this activation's out-links.
    fn bridges(&self, exits: &Arc<Outputs>) -> Result<Vec<Symbol>, ErrorValue> {
        let mut scheme = Scheme::new();
        scheme.register(BridgeKind {
            exits: Some(exits.clone()),
        });
        let compile = |spec: &Spec| {
            scheme.compile(spec, &NoValues).map_err(|errors| {
                let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
                ErrorValue::new(format!("node `{}`: {}", self.name, errors.join("; ")))
            })
        };
        self.bridges.iter().map(compile).collect()
    }
}

impl Activate for BlockActivate {
    fn activate<'a>(
        &'a self,
        outputs: &'a Arc<Outputs>,
    ) -> BoxFuture<'a, Result<Arc<dyn Node>, ErrorValue>> {
        Box::pin(async move {
            let running = self
                .inline
                .start(&self.name, self.bridges(outputs)?)
                .await?;
            let slots = self
                .entries
                .iter()
                .filter_map(|(outer, key, port)| {
                    let slot = running.slot(key)?;
                    Some((outer.clone(), slot, port.clone()))
                })
                .collect();
            let node: Arc<dyn Node> = Arc::new(BlockNode {
                name: self.name.clone(),
                running,
                slots,
            });
            Ok(node)
        })
    }
}

/// One activation of a block.
struct BlockNode {
    name: String,
    running: inline::Running,
    /// Block in-port → inner slot and in-port.
    slots: Vec<(Port, Arc<Slot>, Port)>,
}

impl Node for BlockNode {
    fn unload(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.running.stop())
    }

    fn call<'a>(
        &'a self,
        call: &'a Call,
        input: Packet,
    ) -> BoxFuture<'a, Result<Packet, ErrorValue>> {
        Box::pin(async move {
            let entry = self.slots.iter().find(|(outer, _, _)| outer == call.port());
            let Some((_, slot, port)) = entry else {
                return Err(ErrorValue::new(format!(
                    "node `{}`: no input `{}`",
                    self.name,
                    call.port()
                )));
            };
            Ok(slot.send(call.process().clone(), port.clone(), input).await)
        })
    }
}

/// The hidden bridge kind: writes what it gets to one block out-port.
/// Compiled without `exits` only to check the block's links.
struct BridgeKind {
    exits: Option<Arc<Outputs>>,
}

/// The fields of a bridge spec.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct BridgeSpec {
    /// The block out-port to write to.
    port: String,
}

impl Kind for BridgeKind {
    type Spec = BridgeSpec;

    fn name(&self) -> &'static str {
        BRIDGE
    }

    fn summary(&self) -> &'static str {
        "Writes to one out-port of the block around it."
    }

    fn ports(&self, _: &BridgeSpec) -> Ports {
        Ports::new().input(PortPattern::Exact(Port::input()))
    }

    fn compile(
        &self,
        spec: BridgeSpec,
        _: &Context<'_>,
    ) -> Result<Arc<dyn Activate>, Vec<FieldError>> {
        let port =
            Port::parse(&spec.port).map_err(|e| vec![FieldError::new("port", e.to_string())])?;
        Ok(shared(BridgeNode {
            exits: self.exits.clone(),
            port,
        }))
    }
}

struct BridgeNode {
    exits: Option<Arc<Outputs>>,
    port: Port,
}

impl Node for BridgeNode {
    fn call<'a>(
        &'a self,
        call: &'a Call,
        input: Packet,
    ) -> BoxFuture<'a, Result<Packet, ErrorValue>> {
        Box::pin(async move {
            let outputs = self
                .exits
                .as_ref()
                .ok_or_else(|| ErrorValue::new("the block around this node has not loaded"))?;
            Ok(outputs.write(call.process(), &self.port, input).await)
        })
    }
}
