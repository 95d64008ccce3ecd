//! A bounded load loop for hot-swap tests: a few clients request one path
//! over keep-alive connections until told to stop (or a minute has passed,
//! whatever happens), counting what answered 200 and what did not.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::Server;

/// Clients requesting `GET path` in a loop.
pub struct Load {
    stop: Arc<AtomicBool>,
    served: Arc<AtomicUsize>,
    failed: Arc<AtomicUsize>,
    clients: Vec<JoinHandle<String>>,
}

/// What a load saw once stopped.
#[derive(Debug)]
pub struct Seen {
    /// Requests answered 200.
    pub served: usize,
    /// Requests answered otherwise, or not at all (each is printed).
    pub failed: usize,
    /// The last 200 body each client read.
    pub lasts: Vec<String>,
}

impl Load {
    /// Starts `clients` loops against `server`.
    pub fn start(server: &Arc<Server>, path: &'static str, clients: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let (served, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let clients = (0..clients)
            .map(|_| {
                let (server, stop) = (server.clone(), stop.clone());
                let (served, failed) = (served.clone(), failed.clone());
                std::thread::spawn(move || {
                    let mut client = server.connect();
                    let mut last = String::new();
                    let deadline = Instant::now() + Duration::from_secs(60);
                    while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                        match client.send("GET", path, None, &[]) {
                            Ok(reply) if reply.status == 200 => {
                                served.fetch_add(1, Ordering::SeqCst);
                                last = reply.body;
                            }
                            Ok(reply) => {
                                failed.fetch_add(1, Ordering::SeqCst);
                                eprintln!("failed: {reply:?}");
                            }
                            Err(error) => {
                                failed.fetch_add(1, Ordering::SeqCst);
                                eprintln!("failed: {error}");
                                client = server.connect();
                            }
                        }
                    }
                    last
                })
            })
            .collect();
        Load {
            stop,
            served,
            failed,
            clients,
        }
    }

    /// Stops every client and says what they saw.
    pub fn finish(self) -> Seen {
        self.stop.store(true, Ordering::SeqCst);
        let lasts = self
            .clients
            .into_iter()
            .map(|c| c.join().expect("client thread"))
            .collect();
        Seen {
            served: self.served.load(Ordering::SeqCst),
            failed: self.failed.load(Ordering::SeqCst),
            lasts,
        }
    }
}
