//! Where `weir get`, `apply` and `delete` read and write: the database
//! itself, or a running engine's system API (`--server URL`).
//!
//! Both answer the same things (listings, plans, every problem of an
//! invalid document with its spec and field), so each command has one
//! implementation of its output and two sources. On the database path the
//! checks are the engine's own admission ([`weir_engine::admission`]); on
//! the server path the server makes the same checks, and its problems are
//! mapped back to the files they came from.

use anyhow::Context;
use serde_json::Value as Json;
use weir_engine::admission::{self, Refused};
use weir_engine::spec::NamedValue;
use weir_engine::spec::source::Sourced;
use weir_engine::store::{Changeset, Entity, Filter, Key, Listed, Plan, Store};
use weir_engine::{Diagnostic, Diagnostics, FieldError, Origin};
use weir_nodes::system::{Batch, Problem};

use crate::database::DatabaseArgs;
use crate::progress::Progress;
use crate::remote::{Remote, Written};

/// The options choosing where a command reads and writes.
#[derive(clap::Args, Clone)]
pub struct BackendArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// Talk to a running engine's system API (e.g. http://127.0.0.1:8801)
    /// instead of the database.
    #[arg(long, value_name = "URL")]
    server: Option<String>,
    /// The system API's token, with --server (default: WEIR_TOKEN, else
    /// the token file WEIR_TOKEN_FILE or ./weir-token).
    #[arg(long, env = "WEIR_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

/// The database, or a running engine.
pub enum Backend {
    /// Straight to the store.
    Database(Store),
    /// Through the system API.
    Server(Remote),
}

impl Backend {
    /// Opens what `args` name.
    pub async fn open(args: &BackendArgs) -> anyhow::Result<Backend> {
        match &args.server {
            Some(url) => {
                let token = args
                    .token
                    .clone()
                    .filter(|t| !t.trim().is_empty())
                    .or_else(crate::system::local_token);
                Ok(Backend::Server(Remote::new(url, token)?))
            }
            None => Ok(Backend::Database(args.database.open().await?)),
        }
    }

    /// Closes the database's connections, if any.
    pub async fn close(self) {
        if let Backend::Database(store) = self {
            store.close().await;
        }
    }

    /// The rows `filter` selects, as they may be shown (secrets redacted).
    pub async fn listed(&self, entity: Entity, filter: &Filter) -> anyhow::Result<Vec<Listed>> {
        match self {
            Backend::Database(store) => Ok(store.listed(entity, filter).await?),
            Backend::Server(remote) => remote.listed(entity, filter).await,
        }
    }

    /// Checks and stores `specs` in one transaction. `None` when they had
    /// problems (already printed, each with its file, spec and field) and
    /// nothing was stored.
    pub async fn apply_specs(
        &self,
        specs: Vec<Sourced>,
        dry_run: bool,
    ) -> anyhow::Result<Option<Plan>> {
        match self {
            Backend::Database(store) => store_specs(store, specs, dry_run).await,
            Backend::Server(remote) => {
                let origins: Vec<Origin> = specs.iter().map(|s| s.origin.clone()).collect();
                let items = specs
                    .iter()
                    .map(|s| serde_json::to_value(&s.spec))
                    .collect::<Result<Vec<Json>, _>>()?;
                let batch = Batch {
                    items,
                    delete: Vec::new(),
                    dry_run,
                    cascade: false,
                };
                written(remote.commit(Entity::Spec, &batch).await?, &origins)
            }
        }
    }

    /// Stores `values` in one transaction; `None` as for specs.
    pub async fn apply_values(
        &self,
        values: Vec<(Origin, NamedValue)>,
        dry_run: bool,
    ) -> anyhow::Result<Option<Plan>> {
        let origins: Vec<Origin> = values.iter().map(|(o, _)| o.clone()).collect();
        match self {
            Backend::Database(store) => {
                if let Err(problems) = admission::check_values(&values) {
                    crate::specs::print(&problems);
                    return Ok(None);
                }
                let documents = values.into_iter().map(|(_, v)| v).collect();
                let plan = store
                    .apply(documents, dry_run)
                    .await
                    .context("cannot store the values")?;
                Ok(Some(plan))
            }
            Backend::Server(remote) => {
                let items = values
                    .iter()
                    .map(|(_, v)| serde_json::to_value(v))
                    .collect::<Result<Vec<Json>, _>>()?;
                let batch = Batch {
                    items,
                    delete: Vec::new(),
                    dry_run,
                    cascade: false,
                };
                written(remote.commit(Entity::Value, &batch).await?, &origins)
            }
        }
    }

    /// Deletes the rows `keys` name in one transaction.
    /// Refused, naming them, when other specs link to what it deletes,
    /// unless `cascade`.
    pub async fn delete(
        &self,
        entity: Entity,
        keys: Vec<Key>,
        cascade: bool,
    ) -> anyhow::Result<Plan> {
        match self {
            Backend::Database(store) => Ok(match entity {
                Entity::Spec => {
                    let changes = Changeset::<weir_engine::Spec> {
                        cascade,
                        ..Changeset::delete(keys)
                    };
                    store.commit(changes, false).await?
                }
                Entity::Value => {
                    let changes = Changeset::<NamedValue>::delete(keys);
                    store.commit(changes, false).await?
                }
            }),
            Backend::Server(remote) => {
                let batch = Batch {
                    items: Vec::new(),
                    delete: keys,
                    dry_run: false,
                    cascade,
                };
                match remote.commit(entity, &batch).await? {
                    Written::Plan(plan, _) => Ok(plan),
                    Written::Invalid(problems) => {
                        let first = problems.first().map(|p| p.message.clone());
                        anyhow::bail!(
                            "the server refused the delete: {}",
                            first.unwrap_or_default()
                        )
                    }
                }
            }
        }
    }
}

/// Checks `specs` against the store (the engine's admission) and stores
/// them in one transaction; `None` when they had problems, printed.
pub async fn store_specs(
    store: &Store,
    specs: Vec<Sourced>,
    dry_run: bool,
) -> anyhow::Result<Option<Plan>> {
    let scheme = weir_nodes::scheme();
    let mut progress = Progress::new("checking specs");
    let checked = admission::check_specs(store, &scheme, &specs, &mut |done, total| {
        progress.show(done, total)
    })
    .await;
    progress.finish();
    match checked {
        Ok(warnings) => crate::specs::print_warnings(&warnings),
        Err(Refused::Invalid(problems)) => {
            crate::specs::print(&problems);
            return Ok(None);
        }
        Err(Refused::Store(error)) => return Err(error).context("cannot check the specs"),
    }
    let documents = specs.into_iter().map(|s| s.spec).collect();
    Ok(Some(
        store
            .apply(documents, dry_run)
            .await
            .context("cannot store the specs")?,
    ))
}

/// A server's answer to a write: the plan, or its problems printed against
/// the files the documents came from.
fn written(written: Written, origins: &[Origin]) -> anyhow::Result<Option<Plan>> {
    match written {
        Written::Plan(plan, warnings) => {
            crate::specs::print_warnings(&located(warnings, origins));
            Ok(Some(plan))
        }
        Written::Invalid(problems) => {
            crate::specs::print(&located(problems, origins));
            Ok(None)
        }
    }
}

/// Puts each problem at the file, line and spec its document came from.
fn located(problems: Vec<Problem>, origins: &[Origin]) -> Diagnostics {
    Diagnostics(
        problems
            .into_iter()
            .map(|problem| {
                let origin = origins.get(problem.index).cloned().unwrap_or(Origin {
                    index: problem.index,
                    name: problem.name,
                    kind: problem.kind,
                    ..Origin::default()
                });
                Diagnostic {
                    origin,
                    error: FieldError::new(problem.path, problem.message),
                }
            })
            .collect(),
    )
}
