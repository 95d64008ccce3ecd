//! The sql family: `sql` runs statements on PostgreSQL or SQLite.
//!
//! A spec names its database through its `env` (a secret value holding the
//! URL) or uses the engine's own; nodes with the same URL share one pool
//! ([`Pools`], a scheme resource the host may replace). Parameters are
//! always bound; each process gets one transaction per database, committed
//! when it ends well and rolled back otherwise; rows come back as maps with
//! faithful types, and failures as error packets with a SQLSTATE. The
//! pieces: [`kind`] (the spec), `node` (running it), `statement`
//! (placeholders), `params` (their values), `transaction`, `run` with the
//! backends `postgres` and `sqlite`, `error` and `time`.

mod error;
mod kind;
mod node;
mod params;
mod pool;
mod postgres;
mod run;
mod sqlite;
mod statement;
mod time;
mod transaction;

use std::sync::Arc;

pub use kind::{Answer, Dialects, PerBackend, SqlSpec};
pub use params::Params;
pub use pool::{DEFAULT_TIMEOUT, Pools};
pub use transaction::Isolation;

use weir_engine::Scheme;

/// Registers the sql family's kind, and an empty [`Pools`]: a host that
/// has a database of its own provides `Pools::with_engine_database` after
/// this, so specs without a `connection` use it.
pub fn register(scheme: &mut Scheme) {
    scheme.register(kind::Sql).provide(Arc::new(Pools::new()));
}
