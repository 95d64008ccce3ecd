//! [`Call`]: what a node sees while it handles one packet.
//!
//! A call binds the packet's process, the in-port it arrived on, and the
//! node's out-links, so that a node can write downstream without knowing
//! where its links lead. It owns no state beyond that one packet.

use std::sync::Arc;

use super::outputs::Outputs;
use super::packet::Packet;
use super::process::Process;
use crate::port::Port;

/// One packet being handled by one node.
pub struct Call {
    process: Arc<Process>,
    port: Port,
    outputs: Arc<Outputs>,
}

impl Call {
    pub(crate) fn new(process: Arc<Process>, port: Port, outputs: Arc<Outputs>) -> Call {
        Call {
            process,
            port,
            outputs,
        }
    }

    /// The process the packet belongs to.
    pub fn process(&self) -> &Arc<Process> {
        &self.process
    }

    /// The in-port the packet arrived on.
    pub fn port(&self) -> &Port {
        &self.port
    }

    /// Writes `packet` to every in-port linked to `port` and returns their
    /// merged answer; an unlinked port answers `packet` itself at once.
    pub async fn write(&self, port: &Port, packet: Packet) -> Packet {
        self.outputs.write(&self.process, port, packet).await
    }

    /// Like [`Call::write`], within another process (a child, say).
    pub async fn write_in(&self, process: &Arc<Process>, port: &Port, packet: Packet) -> Packet {
        self.outputs.write(process, port, packet).await
    }

    /// Whether anything is linked to `port`.
    pub fn is_linked(&self, port: &Port) -> bool {
        self.outputs.is_linked(port)
    }
}
