//! [`Outputs`]: a node's out-links, and writing through them.
//!
//! Links point at [`Slot`]s, the stable addresses of symbols, not at running
//! versions, so a target replaced by hot swap is reached without touching its
//! sources. Writing to several links runs them concurrently and merges their
//! answers ([`super::packet::merge`]).

use std::sync::Arc;

use futures_util::future::join_all;

use super::packet::{Packet, merge};
use super::process::Process;
use super::slot::Slot;
use crate::port::Port;

/// One out-link: a target slot and the in-port to deliver to.
#[derive(Clone, Debug)]
pub struct Link {
    /// Where the target lives.
    pub slot: Arc<Slot>,
    /// The target's in-port.
    pub port: Port,
}

/// A node's out-ports and where each leads.
#[derive(Debug, Default)]
pub struct Outputs {
    // A node has a handful of ports: a linear scan beats hashing here.
    links: Vec<(Port, Vec<Link>)>,
}

impl Outputs {
    /// Out-links grouped by out-port.
    pub fn new(links: Vec<(Port, Vec<Link>)>) -> Outputs {
        Outputs { links }
    }

    fn targets(&self, port: &Port) -> &[Link] {
        self.links
            .iter()
            .find(|(p, _)| p == port)
            .map_or(&[], |(_, links)| links.as_slice())
    }

    /// Whether anything is linked to `port`.
    pub fn is_linked(&self, port: &Port) -> bool {
        !self.targets(port).is_empty()
    }

    /// [`Outputs::write`] for a source that started `process` itself (an
    /// HTTP request, a timer tick): gives up with an error answer as soon as
    /// the process is cancelled or past its deadline, which stops the work
    /// it started downstream (see [`Slot::send_watched`]).
    pub async fn write_watched(
        &self,
        process: &Arc<Process>,
        port: &Port,
        packet: Packet,
    ) -> Packet {
        tokio::select! {
            biased;
            answer = self.write(process, port, packet) => answer,
            error = process.stopped() => Packet::error(error),
        }
    }

    /// Sends `packet` down every link of `port`; see [`super::Call::write`].
    pub async fn write(&self, process: &Arc<Process>, port: &Port, packet: Packet) -> Packet {
        match self.targets(port) {
            [] => packet,
            [one] => {
                one.slot
                    .send(process.clone(), one.port.clone(), packet)
                    .await
            }
            many => {
                let sends = many.iter().map(|link| {
                    link.slot
                        .send(process.clone(), link.port.clone(), packet.clone())
                });
                merge(join_all(sends).await)
            }
        }
    }
}
