//! [`Sandbox`]: the scheme resource through which `container` nodes share
//! one [`Runner`], connected when the first node loads. Connecting sweeps
//! the containers dead engines left, so an engine that runs container
//! specs sweeps at start. A daemon that is down fails the load (the node
//! stays inactive, with the reason) and is tried again at the next load.

use tokio::sync::OnceCell;

use super::outcome::RunError;
use super::runner::Runner;

/// The engine's one connection to the Docker daemon, made on first use.
#[derive(Default)]
pub struct Sandbox {
    runner: OnceCell<Runner>,
}

impl Sandbox {
    /// A sandbox that connects on first use.
    pub fn new() -> Self {
        Sandbox::default()
    }

    /// The runner, connecting (and sweeping) the first time.
    pub async fn runner(&self) -> Result<&Runner, RunError> {
        self.runner.get_or_try_init(Runner::connect).await
    }
}
