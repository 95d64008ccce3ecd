//! The baseline for the Prompt Registry benchmark: the registry's create
//! and read, hand-written with axum and sqlx, doing what the specs do.
//!
//! `POST /api/prompts` checks the body by hand (required fields, lengths,
//! temperature 0–2, max_tokens 1–32768, no unknown fields: 400 listing
//! each), inserts it and answers 201 with the stored record and its
//! `Location`, or 409 for a taken name; `GET /api/prompts/{id}` answers the
//! record or 404. Same table, same pool size (16) as Weir's `sql` nodes.
//! Each statement runs on its own, as a hand-written service would; with
//! `transaction` as a third argument, the insert runs in an explicit
//! transaction (`BEGIN`, `INSERT`, `COMMIT`), the statements Weir's
//! one-transaction-per-request sends. Run by `scripts/bench-prompts.sh`:
//! `cargo run --release --example prompts_axum -- PORT DATABASE_URL [transaction]`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};

/// What the handlers share.
#[derive(Clone)]
struct App {
    pool: PgPool,
    /// Insert in an explicit transaction.
    transaction: bool,
}

/// Weir's sql nodes use mimalloc through the `weir` binary; so does this.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS prompts (
  id          text PRIMARY KEY DEFAULT gen_random_uuid()::text,
  name        text NOT NULL UNIQUE,
  description text NOT NULL DEFAULT '',
  prompt_a    text NOT NULL,
  prompt_b    text NOT NULL,
  model       text NOT NULL,
  temperature double precision NOT NULL CHECK (temperature BETWEEN 0 AND 2),
  max_tokens  integer NOT NULL CHECK (max_tokens BETWEEN 1 AND 32768),
  revision    integer NOT NULL DEFAULT 1,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
)";

/// The record's columns, timestamps as RFC 3339 text in UTC.
const COLUMNS: &str =
    "id, name, description, prompt_a, prompt_b, model, temperature, max_tokens, revision,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS created_at,
  to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS updated_at";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPrompt {
    name: String,
    #[serde(default)]
    description: String,
    prompt_a: String,
    prompt_b: String,
    model: String,
    temperature: f64,
    max_tokens: i64,
}

fn problems(p: &NewPrompt) -> Vec<String> {
    let mut found = Vec::new();
    let mut length = |field: &str, text: &str, min: usize, max: usize| {
        let n = text.chars().count();
        if n < min || n > max {
            found.push(format!("/body/{field}: length must be {min}–{max}"));
        }
    };
    length("name", &p.name, 1, 200);
    length("description", &p.description, 0, 2000);
    length("prompt_a", &p.prompt_a, 1, 200_000);
    length("prompt_b", &p.prompt_b, 1, 200_000);
    length("model", &p.model, 1, 200);
    if !(0.0..=2.0).contains(&p.temperature) {
        found.push("/body/temperature: must be 0–2".into());
    }
    if !(1..=32_768).contains(&p.max_tokens) {
        found.push("/body/max_tokens: must be 1–32768".into());
    }
    found
}

fn record(row: &PgRow) -> Result<Value, sqlx::Error> {
    Ok(json!({
        "id": row.try_get::<String, _>("id")?,
        "name": row.try_get::<String, _>("name")?,
        "description": row.try_get::<String, _>("description")?,
        "prompt_a": row.try_get::<String, _>("prompt_a")?,
        "prompt_b": row.try_get::<String, _>("prompt_b")?,
        "model": row.try_get::<String, _>("model")?,
        "temperature": row.try_get::<f64, _>("temperature")?,
        "max_tokens": row.try_get::<i32, _>("max_tokens")?,
        "revision": row.try_get::<i32, _>("revision")?,
        "created_at": row.try_get::<String, _>("created_at")?,
        "updated_at": row.try_get::<String, _>("updated_at")?,
    }))
}

fn reply(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    reply(
        status,
        &json!({"error": {"message": message, "code": code}}),
    )
}

async fn create(State(app): State<App>, body: Bytes) -> Response {
    let new: NewPrompt = match serde_json::from_slice(&body) {
        Ok(new) => new,
        Err(e) => return error(StatusCode::BAD_REQUEST, "invalid", &e.to_string()),
    };
    let found = problems(&new);
    if !found.is_empty() {
        return error(StatusCode::BAD_REQUEST, "invalid", &found.join("; "));
    }
    let sql = format!(
        "INSERT INTO prompts (name, description, prompt_a, prompt_b, model, temperature, max_tokens)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
    );
    let insert = sqlx::query(&sql)
        .bind(&new.name)
        .bind(&new.description)
        .bind(&new.prompt_a)
        .bind(&new.prompt_b)
        .bind(&new.model)
        .bind(new.temperature)
        .bind(new.max_tokens as i32);
    let inserted = match app.transaction {
        false => insert.fetch_one(&app.pool).await,
        true => {
            async {
                let mut tx = app.pool.begin().await?;
                let row = insert.fetch_one(&mut *tx).await?;
                tx.commit().await?;
                Ok(row)
            }
            .await
        }
    };
    match inserted.and_then(|row| record(&row)) {
        Ok(record) => {
            let location = format!("/api/prompts/{}", record["id"].as_str().unwrap_or(""));
            let mut response = reply(StatusCode::CREATED, &record);
            if let Ok(location) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            response
        }
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("23505") => error(
            StatusCode::CONFLICT,
            "duplicate_name",
            "a prompt with this name already exists",
        ),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "database",
            &e.to_string(),
        ),
    }
}

async fn read(State(app): State<App>, Path(id): Path<String>) -> Response {
    let found = sqlx::query(&format!("SELECT {COLUMNS} FROM prompts WHERE id = $1"))
        .bind(&id)
        .fetch_optional(&app.pool)
        .await;
    match found.and_then(|row| row.map(|r| record(&r)).transpose()) {
        Ok(Some(record)) => reply(StatusCode::OK, &record),
        Ok(None) => error(StatusCode::NOT_FOUND, "not_found", "no such prompt"),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "database",
            &e.to_string(),
        ),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: prompts_axum PORT DATABASE_URL [transaction]";
    let port: u16 = args.next().ok_or(usage)?.parse()?;
    let url = args.next().ok_or(usage)?;
    let transaction = match args.next().as_deref() {
        None => false,
        Some("transaction") => true,
        Some(_) => return Err(usage.into()),
    };
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .connect(&url)
        .await?;
    sqlx::raw_sql(SCHEMA).execute(&pool).await?;
    let app = Router::new()
        .route("/api/prompts", post(create))
        .route("/api/prompts/{id}", get(read))
        .route("/ping", get(|| async { "pong" }))
        .with_state(App { pool, transaction });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
