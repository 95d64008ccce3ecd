//! Throwaway databases for tests: a fresh PostgreSQL database or SQLite
//! file per test, removed when the guard drops (even when a test fails).

use weir_engine::store::Store;

/// The server tests create their databases on.
pub fn admin_url() -> String {
    std::env::var("WEIR_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database that exists for one test.
pub struct TestDb {
    pub url: String,
    postgres_name: Option<String>,
    sqlite_dir: Option<std::path::PathBuf>,
}

impl TestDb {
    /// A new, empty PostgreSQL database.
    pub async fn postgres() -> TestDb {
        let name = format!("weir_test_{}", uuid::Uuid::now_v7().simple());
        admin(&format!("CREATE DATABASE {name}")).await;
        let base = admin_url();
        let url = match base.rfind('/') {
            Some(i) => format!("{}/{name}", &base[..i]),
            None => panic!("admin URL has no database part"),
        };
        TestDb {
            url,
            postgres_name: Some(name),
            sqlite_dir: None,
        }
    }

    /// A new SQLite file in its own temporary folder.
    pub fn sqlite() -> TestDb {
        let dir = std::env::temp_dir().join(format!("weir-test-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let url = format!("sqlite://{}", dir.join("weir.db").display());
        TestDb {
            url,
            postgres_name: None,
            sqlite_dir: Some(dir),
        }
    }

    /// A migrated store on it.
    pub async fn store(&self) -> Store {
        let store = Store::connect(&self.url).await.expect("connects");
        store.migrate().await.expect("migrates");
        store
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(dir) = &self.sqlite_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some(name) = self.postgres_name.take() {
            // Drop runs outside any async context we may block: use a thread
            // with its own runtime.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                runtime.block_on(admin(&format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )));
            })
            .join();
        }
    }
}

/// Runs one statement on the PostgreSQL server's admin database.
pub async fn admin(sql: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&admin_url())
        .await
        .expect("PostgreSQL runs (scripts/ensure-postgres.sh)");
    sqlx::raw_sql(sql)
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let _ = conn.close().await;
}

/// Runs statements on this test's own database, as a person with psql
/// (or another program) would: edits by hand, killing connections.
pub async fn by_hand(db: &TestDb, sql: &str) {
    sqlx::any::install_default_drivers();
    use sqlx::Connection;
    let mut conn = sqlx::AnyConnection::connect(&db.url)
        .await
        .expect("connects");
    sqlx::raw_sql(sql)
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let _ = conn.close().await;
}
