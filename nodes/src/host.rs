//! [`Host`]: the one place that assembles what kinds run on: the scheme
//! with every family of this build, the resources families lend their
//! kinds (the store, SQL pools), and the background services a family
//! runs beside its nodes.
//!
//! Every command (`start`, `run`, `validate`, `graph`, `docs`, admission
//! in `apply`) and every test builds its scheme here, so a kind that
//! compiles and loads under one of them does under all. A new family plugs
//! in here and nowhere else: its `register` in [`Host::builder`]'s build,
//! its resources beside the others. Nothing here runs packets.

use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use weir_engine::Scheme;
use weir_engine::store::Store;

use crate::job::JobService;
use crate::sql::Pools;

/// The scheme and services of one engine process.
pub struct Host {
    scheme: Arc<Scheme>,
    stop: CancellationToken,
    services: Vec<JoinHandle<()>>,
    jobs: Option<Arc<JobService>>,
}

/// What a host is built from; see [`Host::builder`].
#[derive(Default)]
pub struct HostBuilder {
    store: Option<(Store, String)>,
}

impl Host {
    /// A host with no database: enough to check, document and run specs
    /// whose kinds need none (`weir validate`, `weir run`, `weir docs`).
    /// Kinds that need the store still compile, and fail when they load.
    pub fn offline() -> Host {
        Host::builder().build()
    }

    /// Starts building a host.
    pub fn builder() -> HostBuilder {
        HostBuilder::default()
    }

    /// The scheme of every kind of this build, with its resources.
    pub fn scheme(&self) -> &Arc<Scheme> {
        &self.scheme
    }

    /// Stops the background services and waits for them.
    pub async fn shutdown(self) {
        self.stop.cancel();
        if let Some(jobs) = &self.jobs {
            jobs.stopped().await;
        }
        for service in self.services {
            let _ = service.await;
        }
    }
}

impl HostBuilder {
    /// The engine's own database: lent to the `system` family, and to `sql`
    /// nodes that name no connection (`url` is the store's URL).
    pub fn store(mut self, store: Store, url: &str) -> HostBuilder {
        self.store = Some((store, url.to_string()));
        self
    }

    /// Registers every family, provides their resources and starts their
    /// services.
    pub fn build(self) -> Host {
        let mut scheme = Scheme::new();
        #[cfg(feature = "container")]
        crate::container::register(&mut scheme);
        crate::compiler::register(&mut scheme);
        crate::control::register(&mut scheme);
        crate::job::register(&mut scheme);
        crate::llm::register(&mut scheme);
        crate::net::register(&mut scheme);
        crate::sql::register(&mut scheme);
        crate::system::register(&mut scheme);
        let pools = match &self.store {
            Some((_, url)) => Pools::with_engine_database(url),
            None => Pools::new(),
        };
        scheme.provide(Arc::new(pools));
        let stop = CancellationToken::new();
        let mut jobs = None;
        if let Some((store, _)) = self.store {
            // The job worker: started by the first enqueueing `job` node.
            match JobService::new(store.clone(), stop.child_token()) {
                Ok(service) => jobs = Some(Arc::new(service)),
                Err(error) => tracing::warn!(%error, "durable jobs are unavailable"),
            }
            scheme.provide(Arc::new(store));
        }
        if let Some(jobs) = &jobs {
            scheme.provide(jobs.clone());
        }
        Host {
            scheme: Arc::new(scheme),
            stop,
            services: Vec::new(),
            jobs,
        }
    }
}
