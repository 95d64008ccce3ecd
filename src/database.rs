//! Which database the CLI talks to, and connecting to it.
//!
//! `--database URL`, else `WEIR_DATABASE_URL`, else the SQLite file
//! `weir.db` in the working directory. The URL may hold a password, so it
//! is never printed; messages name only the backend.

use std::time::Duration;

use anyhow::Context;
use weir_engine::store::Store;

/// The embedded default.
pub const DEFAULT_URL: &str = "sqlite://weir.db";

/// The `--database` option every database command shares.
#[derive(clap::Args, Clone)]
pub struct DatabaseArgs {
    /// Database URL (postgres://… or sqlite://…); default: sqlite://weir.db.
    #[arg(
        long = "database",
        env = "WEIR_DATABASE_URL",
        hide_env_values = true,
        global = true
    )]
    url: Option<String>,
}

impl DatabaseArgs {
    /// The URL. Never print it.
    pub fn url(&self) -> &str {
        self.url.as_deref().unwrap_or(DEFAULT_URL)
    }

    fn label(&self) -> &'static str {
        match self.url().starts_with("sqlite") {
            true => "SQLite",
            false => "PostgreSQL",
        }
    }

    /// Connects and applies missing migrations.
    pub async fn open(&self) -> anyhow::Result<Store> {
        let store = Store::connect(self.url())
            .await
            .with_context(|| format!("cannot open the {} database", self.label()))?;
        store
            .migrate()
            .await
            .context("cannot migrate the database")?;
        Ok(store)
    }

    /// Like [`DatabaseArgs::open`], but waits for an unreachable database,
    /// retrying with backoff and saying so on one line each time.
    pub async fn open_patiently(&self) -> anyhow::Result<Store> {
        let mut wait = Duration::from_millis(250);
        loop {
            match self.open().await {
                Ok(store) => return Ok(store),
                Err(error)
                    if matches!(
                        error.root_cause().downcast_ref(),
                        Some(weir_engine::store::StoreError::UnsupportedUrl)
                    ) =>
                {
                    return Err(error);
                }
                Err(error) => {
                    eprintln!(
                        "{}; retrying in {:.1}s",
                        crate::report::one_line(&error),
                        wait.as_secs_f64()
                    );
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(10));
                }
            }
        }
    }
}
