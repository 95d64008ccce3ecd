//! [`Guard`]: a run's container is removed however the run ends.
//!
//! A finished run hands it to a task of its own ([`Guard::dispose`]), so
//! its answer does not wait for the removal; when the run's future is
//! dropped instead (the caller went away, a timeout above it), `Drop`
//! spawns the same task. The container's creation is
//! a task of its own ([`Guard::create`]), so a run dropped while the daemon
//! is still creating it cannot leave a container created after its
//! removal: the removal task waits for the creation first.

use std::time::Duration;

use bollard::Docker;
use bollard::errors::Error;
use bollard::query_parameters::RemoveContainerOptionsBuilder;
use tokio::task::JoinHandle;

use super::outcome::RunError;

/// Owns one container by name, from before its creation to its removal.
pub struct Guard {
    docker: Docker,
    name: String,
    creating: Option<JoinHandle<Result<(), Error>>>,
    armed: bool,
}

impl Guard {
    /// Guards `name`, which `create` creates: the creation runs in a task
    /// of its own and [`Guard::created`] waits for it.
    pub fn create(
        docker: Docker,
        name: String,
        create: impl Future<Output = Result<(), Error>> + Send + 'static,
    ) -> Guard {
        Guard {
            docker,
            name,
            creating: Some(tokio::spawn(create)),
            armed: true,
        }
    }

    /// The container's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Waits for the creation to finish.
    pub async fn created(&mut self) -> Result<(), Error> {
        let Some(creating) = self.creating.as_mut() else {
            return Ok(());
        };
        let result = creating.await;
        self.creating = None;
        match result {
            Ok(result) => result,
            Err(join) => Err(Error::IOError {
                err: std::io::Error::other(join.to_string()),
            }),
        }
    }

    /// Removes the container in a task of its own, as dropping does.
    pub fn dispose(self) {
        drop(self)
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let (docker, name, creating) =
            (self.docker.clone(), self.name.clone(), self.creating.take());
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if let Err(error) = remove(&docker, &name, creating).await {
                        tracing::warn!(container = %name, %error, "a dropped run's container was not removed; the next engine start sweeps it");
                    }
                });
            }
            Err(_) => {
                tracing::warn!(container = %name, "no runtime to remove a dropped run's container; the next engine start sweeps it")
            }
        }
    }
}

/// Force-removes `name` once its creation (if any) finished. Gone already
/// is fine; a daemon busy with the container (starting it, say) is asked
/// again a few times.
async fn remove(
    docker: &Docker,
    name: &str,
    creating: Option<JoinHandle<Result<(), Error>>>,
) -> Result<(), RunError> {
    if let Some(creating) = creating {
        let _ = creating.await;
    }
    let options = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    let mut pause = Duration::from_millis(50);
    let mut attempt = 0;
    loop {
        match docker.remove_container(name, Some(options.clone())).await {
            Ok(()) => return Ok(()),
            Err(Error::DockerResponseServerError {
                status_code: 404, ..
            }) => return Ok(()),
            Err(error) if attempt >= 5 => {
                return Err(RunError::docker("remove the container", error));
            }
            Err(_) => {
                attempt += 1;
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
        }
    }
}
