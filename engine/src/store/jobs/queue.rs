//! The queue's operations on the `jobs` table. Each is one statement, or
//! one short transaction where a decision needs the row first; claims use
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL (so two engines never take the
//! same job and never wait for each other) and SQLite's single writer.

use std::time::Duration;

use sqlx::Row as _;
use uuid::Uuid;

use super::sql::{COLUMNS, FENCE};
use super::{
    Beat, Claimed, Enqueued, Failure, Job, JobError, JobFilter, Lease, MAX_ATTEMPTS, MAX_CLAIM,
    MAX_DOCUMENT, MAX_LIST, MAX_NAME, MAX_SPAN, NewJob, QueueConfig, Status, Swept, row,
};
use crate::store::{Backend, Store};

/// The jobs of one database, with the lease and retry timing of whoever
/// holds this handle. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Queue {
    store: Store,
    config: QueueConfig,
    /// Bumped by every enqueue through this handle or its clones, so a
    /// worker of the same engine wakes at once on any backend.
    local: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
}

impl Queue {
    /// Jobs in `store` (migrated), timed by `config`.
    pub fn new(store: Store, config: QueueConfig) -> Result<Queue, JobError> {
        let lease = config.lease;
        if lease < Duration::from_millis(100) || lease > MAX_SPAN {
            return Err(invalid(
                "lease",
                format!("{lease:?} is outside 100ms to {MAX_SPAN:?}"),
            ));
        }
        Ok(Queue {
            store,
            config,
            local: std::sync::Arc::new(tokio::sync::watch::channel(0).0),
        })
    }

    /// The store it works on.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Its timing.
    pub fn config(&self) -> QueueConfig {
        self.config
    }

    /// Wakes when this engine enqueues ([`super::Wakeups`]).
    pub(super) fn enqueued(&self) -> tokio::sync::watch::Receiver<u64> {
        self.local.subscribe()
    }

    fn sql(&self, neutral: &str) -> String {
        super::sql::translate(self.store.backend(), neutral)
    }

    fn pool(&self) -> &sqlx::AnyPool {
        &self.store.pool
    }

    /// A transaction for a read-then-write: SQLite takes its write lock at
    /// once (so two writers queue instead of failing on upgrade).
    async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, JobError> {
        Ok(match self.store.backend() {
            Backend::Postgres => self.pool().begin().await?,
            Backend::Sqlite => self.pool().begin_with("BEGIN IMMEDIATE").await?,
        })
    }

    /// Stores a job, or answers the existing one when its idempotency key
    /// is taken in its namespace (whatever that one's payload).
    pub async fn enqueue(&self, new: NewJob) -> Result<Enqueued, JobError> {
        let payload = check_new(&new)?;
        let insert = self.sql(&format!(
            "INSERT INTO jobs (id, namespace, node, payload, max_attempts, idempotency_key, scheduled_at, deadline) \
             VALUES ($1::uuid, $2, $3, $4::jsonb, $5, $6, LATER($7), LATER($8)) \
             ON CONFLICT DO NOTHING RETURNING {COLUMNS}"
        ));
        // A taken key whose job is pruned between the insert and the read
        // is retried; twice in a row means something else is wrong.
        for _ in 0..3 {
            let inserted = written(
                sqlx::query(&insert)
                    .bind(Uuid::now_v7().to_string())
                    .bind(new.namespace.clone())
                    .bind(new.node.clone())
                    .bind(payload.clone())
                    .bind(new.max_attempts)
                    .bind(new.idempotency_key.clone())
                    .bind(millis(new.delay))
                    .bind(new.deadline.map(millis)),
                self.pool(),
            )
            .await?;
            if let Some(r) = inserted {
                self.local.send_modify(|n| *n = n.wrapping_add(1));
                return Ok(Enqueued {
                    job: row::job(&r)?,
                    created: true,
                });
            }
            if let Some(key) = &new.idempotency_key
                && let Some(job) = self.by_key(&new.namespace, key).await?
            {
                return Ok(Enqueued {
                    job,
                    created: false,
                });
            }
        }
        Err(JobError::Database(sqlx::Error::RowNotFound))
    }

    async fn by_key(&self, namespace: &str, key: &str) -> Result<Option<Job>, JobError> {
        let sql = self.sql(&format!(
            "SELECT {COLUMNS} FROM jobs WHERE namespace = $1 AND idempotency_key = $2"
        ));
        let found = sqlx::query(&sql)
            .bind(namespace.to_string())
            .bind(key.to_string())
            .fetch_optional(self.pool())
            .await?;
        found.as_ref().map(row::job).transpose()
    }

    /// Takes up to `limit` ready jobs (of `namespace`, or any) for
    /// `holder`, oldest scheduled first, each under a fresh lease.
    pub async fn claim(
        &self,
        holder: &str,
        limit: u32,
        namespace: Option<&str>,
    ) -> Result<Vec<Claimed>, JobError> {
        check_name("holder", holder)?;
        if limit == 0 {
            return Ok(Vec::new());
        }
        let limit = limit.min(MAX_CLAIM);
        let ready = "status = 'queued' AND scheduled_at <= NOW() AND attempt < max_attempts \
             AND (deadline IS NULL OR deadline > NOW()) AND ($3::text IS NULL OR namespace = $3)";
        let take = "status = 'building', attempt = attempt + 1, lease_token = lease_token + 1, \
             lease_holder = $1, lease_expires_at = LATER($2), started_at = NOW(), heartbeat_at = NOW()";
        let sql = self.sql(&match self.store.backend() {
            // The CTE's LIMIT bounds what is locked: the planner cannot
            // turn it into a join that claims more.
            Backend::Postgres => format!(
                "WITH picked AS (SELECT id AS pick FROM jobs WHERE {ready} \
                 ORDER BY scheduled_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) \
                 UPDATE jobs SET {take} FROM picked WHERE id = picked.pick \
                 RETURNING {COLUMNS}, DEADLINE_IN"
            ),
            Backend::Sqlite => format!(
                "UPDATE jobs SET {take} WHERE id IN (SELECT id FROM jobs WHERE {ready} \
                 ORDER BY scheduled_at, id LIMIT $4) RETURNING {COLUMNS}, DEADLINE_IN"
            ),
        });
        let query = sqlx::query(&sql)
            .bind(holder.to_string())
            .bind(millis(self.config.lease))
            .bind(namespace.map(str::to_string))
            .bind(i64::from(limit));
        // One statement is atomic on PostgreSQL; SQLite's claim waits for
        // the write lock up front rather than failing to upgrade.
        let rows = match self.store.backend() {
            Backend::Postgres => query.fetch_all(self.pool()).await?,
            Backend::Sqlite => {
                let mut tx = self.begin().await?;
                let rows = query.fetch_all(&mut *tx).await?;
                tx.commit().await?;
                rows
            }
        };
        let mut claimed = rows
            .iter()
            .map(|r| {
                let job = row::job(r)?;
                let deadline_in: Option<i64> = r.try_get(row::WIDTH)?;
                Ok(Claimed {
                    lease: Lease {
                        job: job.id,
                        holder: holder.to_string(),
                        token: job.lease_token,
                    },
                    deadline_in: deadline_in.map(|ms| Duration::from_millis(ms.max(0) as u64)),
                    job,
                })
            })
            .collect::<Result<Vec<_>, JobError>>()?;
        claimed
            .sort_by(|a, b| (&a.job.scheduled_at, a.job.id).cmp(&(&b.job.scheduled_at, b.job.id)));
        Ok(claimed)
    }

    /// Renews `lease` for another lease period, if it is still current
    /// (also after it ran out, as long as no one took the job over).
    pub async fn heartbeat(&self, lease: &Lease) -> Result<Beat, JobError> {
        let sql = self.sql(&format!(
            "UPDATE jobs SET heartbeat_at = NOW(), lease_expires_at = LATER($4) WHERE {FENCE} \
             RETURNING CAST(CASE WHEN cancel_requested THEN 1 ELSE 0 END AS BIGINT)"
        ));
        let found: Option<i64> = sqlx::query_scalar(&sql)
            .bind(lease.job.to_string())
            .bind(lease.holder.clone())
            .bind(lease.token)
            .bind(millis(self.config.lease))
            .fetch_optional(self.pool())
            .await?;
        match found {
            Some(cancel) => Ok(Beat {
                cancel_requested: cancel != 0,
            }),
            None => Err(self.fenced(lease).await),
        }
    }

    /// Records the run's answer: the job succeeded. Refused unless `lease`
    /// is current.
    pub async fn complete(
        &self,
        lease: &Lease,
        result: serde_json::Value,
    ) -> Result<Job, JobError> {
        let result = document("result", &result)?;
        let sql = self.sql(&format!(
            "UPDATE jobs SET status = 'success', result = $4::jsonb, finished_at = NOW(), \
             lease_expires_at = NULL WHERE {FENCE} RETURNING {COLUMNS}"
        ));
        let done = written(
            sqlx::query(&sql)
                .bind(lease.job.to_string())
                .bind(lease.holder.clone())
                .bind(lease.token)
                .bind(result),
            self.pool(),
        )
        .await?;
        match done {
            Some(r) => row::job(&r),
            None => Err(self.fenced(lease).await),
        }
    }

    /// Records that the run failed. The job is queued again after a backoff
    /// if it has attempts left, no deadline before then, and the failure is
    /// not permanent; it is cancelled if a cancel was requested, and
    /// failed otherwise. Refused unless `lease` is current.
    pub async fn fail(&self, lease: &Lease, failure: Failure) -> Result<Job, JobError> {
        let failure = bounded(failure);
        let error = document("failure", &failure)?;
        let mut tx = self.begin().await?;
        let lock = match self.store.backend() {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        };
        let sql = self.sql(&format!(
            "SELECT attempt, max_attempts, CAST(CASE WHEN cancel_requested THEN 1 ELSE 0 END AS BIGINT), \
             DEADLINE_IN FROM jobs WHERE {FENCE}{lock}"
        ));
        let found = sqlx::query(&sql)
            .bind(lease.job.to_string())
            .bind(lease.holder.clone())
            .bind(lease.token)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(found) = found else {
            drop(tx);
            return Err(self.fenced(lease).await);
        };
        let attempt: i64 = found.try_get(0)?;
        let max_attempts: i64 = found.try_get(1)?;
        let cancel_requested = found.try_get::<i64, _>(2)? != 0;
        let deadline_in: Option<i64> = found.try_get(3)?;
        let delay = self.config.backoff.delay(attempt);
        let next = if cancel_requested {
            Status::Cancelled
        } else if failure.permanent
            || attempt >= max_attempts
            || deadline_in.is_some_and(|ms| ms <= millis(delay))
        {
            Status::Failed
        } else {
            Status::Queued
        };
        let sql = self.sql(&format!(
            "UPDATE jobs SET status = $2, last_error = $3::jsonb, lease_expires_at = NULL, \
             finished_at = CASE WHEN $2 = 'queued' THEN NULL ELSE NOW() END, \
             scheduled_at = CASE WHEN $2 = 'queued' THEN LATER($4) ELSE scheduled_at END \
             WHERE id = $1::uuid RETURNING {COLUMNS}"
        ));
        let updated = sqlx::query(&sql)
            .bind(lease.job.to_string())
            .bind(next.as_str())
            .bind(error)
            .bind(millis(delay))
            .fetch_one(&mut *tx)
            .await?;
        let job = row::job(&updated)?;
        tx.commit().await?;
        Ok(job)
    }

    /// Gives a job back unfinished (its engine is shutting down): queued
    /// at once, the interrupted run not counted; cancelled instead if a
    /// cancel was requested. Refused unless `lease` is current.
    pub async fn release(&self, lease: &Lease) -> Result<Job, JobError> {
        let sql = self.sql(&format!(
            "UPDATE jobs SET status = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'queued' END, \
             finished_at = CASE WHEN cancel_requested THEN NOW() ELSE NULL END, \
             attempt = CASE WHEN cancel_requested THEN attempt ELSE attempt - 1 END, \
             scheduled_at = NOW(), lease_expires_at = NULL WHERE {FENCE} RETURNING {COLUMNS}"
        ));
        let done = written(
            sqlx::query(&sql)
                .bind(lease.job.to_string())
                .bind(lease.holder.clone())
                .bind(lease.token),
            self.pool(),
        )
        .await?;
        match done {
            Some(r) => row::job(&r),
            None => Err(self.fenced(lease).await),
        }
    }

    /// Cancels a job: a queued one at once; a building one is marked, and
    /// its holder stops it at its next heartbeat (or, if the holder is
    /// gone, the sweep cancels it when the lease runs out). A job already
    /// over is answered as it is.
    pub async fn cancel(&self, id: Uuid) -> Result<Job, JobError> {
        let sql = self.sql(&format!(
            "UPDATE jobs SET status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END, \
             finished_at = CASE WHEN status = 'queued' THEN NOW() ELSE finished_at END, \
             cancel_requested = TRUE \
             WHERE id = $1::uuid AND status IN ('queued', 'building') RETURNING {COLUMNS}"
        ));
        let done = written(sqlx::query(&sql).bind(id.to_string()), self.pool()).await?;
        match done {
            Some(r) => row::job(&r),
            None => self.get(id).await?.ok_or(JobError::NotFound(id)),
        }
    }

    /// Takes back the jobs whose lease ran out (their engine stopped or
    /// lost the database): queued at once (the lease was their wait), or
    /// failed when that was their last attempt or their deadline passed, or
    /// cancelled when a cancel was requested. Also fails queued jobs whose
    /// deadline passed. Any engine may sweep, as often as it likes.
    pub async fn sweep(&self) -> Result<Swept, JobError> {
        let over = "cancel_requested OR attempt >= max_attempts OR deadline <= NOW()";
        let set = format!(
            "status = CASE WHEN cancel_requested THEN 'cancelled' \
             WHEN attempt >= max_attempts OR deadline <= NOW() THEN 'failed' ELSE 'queued' END, \
             finished_at = CASE WHEN {over} THEN NOW() ELSE NULL END, \
             scheduled_at = NOW(), lease_expires_at = NULL, last_error = $1::jsonb"
        );
        let expired = "status = 'building' AND lease_expires_at < NOW()";
        let sql = self.sql(&match self.store.backend() {
            Backend::Postgres => format!(
                "WITH lost AS (SELECT id AS pick FROM jobs WHERE {expired} \
                 ORDER BY lease_expires_at LIMIT 1000 FOR UPDATE SKIP LOCKED) \
                 UPDATE jobs SET {set} FROM lost WHERE id = lost.pick RETURNING status"
            ),
            Backend::Sqlite => format!(
                "UPDATE jobs SET {set} WHERE id IN (SELECT id FROM jobs WHERE {expired} \
                 ORDER BY lease_expires_at LIMIT 1000) RETURNING status"
            ),
        });
        let lost = Failure::new(
            "the lease ran out: the engine running the job stopped or lost the database",
        )
        .with_code("lease_expired");
        let mut tx = self.begin().await?;
        let statuses: Vec<String> = sqlx::query_scalar(&sql)
            .bind(document("failure", &lost)?)
            .fetch_all(&mut *tx)
            .await?;
        let late = Failure::new("the deadline passed before the job could run")
            .with_code("deadline")
            .permanent();
        let sql = self.sql(
            "UPDATE jobs SET status = 'failed', finished_at = NOW(), last_error = $1::jsonb \
             WHERE status = 'queued' AND deadline IS NOT NULL AND deadline <= NOW()",
        );
        let overdue = sqlx::query(&sql)
            .bind(document("failure", &late)?)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        let mut swept = Swept {
            failed: overdue,
            ..Swept::default()
        };
        for status in statuses {
            match Status::parse(&status) {
                Some(Status::Queued) => swept.requeued += 1,
                Some(Status::Cancelled) => swept.cancelled += 1,
                _ => swept.failed += 1,
            }
        }
        if swept != Swept::default() {
            tracing::info!(?swept, "swept jobs whose lease or deadline ran out");
        }
        Ok(swept)
    }

    /// Deletes jobs that finished more than `retention` ago; returns how
    /// many went.
    pub async fn prune(&self, retention: Duration) -> Result<u64, JobError> {
        let sql = self.sql(
            "DELETE FROM jobs WHERE status IN ('success', 'failed', 'cancelled') \
             AND finished_at < LATER($1)",
        );
        Ok(sqlx::query(&sql)
            .bind(-millis(retention))
            .execute(self.pool())
            .await?
            .rows_affected())
    }

    /// One job.
    pub async fn get(&self, id: Uuid) -> Result<Option<Job>, JobError> {
        let sql = self.sql(&format!("SELECT {COLUMNS} FROM jobs WHERE id = $1::uuid"));
        let found = sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?;
        found.as_ref().map(row::job).transpose()
    }

    /// Jobs that pass `filter`, newest first.
    pub async fn list(&self, filter: &JobFilter) -> Result<Vec<Job>, JobError> {
        let limit = filter.limit.unwrap_or(100).clamp(1, MAX_LIST);
        let sql = self.sql(&format!(
            "SELECT {COLUMNS} FROM jobs WHERE ($1::text IS NULL OR namespace = $1) \
             AND ($2::text IS NULL OR node = $2) AND ($3::text IS NULL OR status = $3) \
             AND ($4::text IS NULL OR id < $4::uuid) ORDER BY id DESC LIMIT $5"
        ));
        let rows = sqlx::query(&sql)
            .bind(filter.namespace.clone())
            .bind(filter.node.clone())
            .bind(filter.status.map(|s| s.as_str().to_string()))
            .bind(filter.before.map(|id| id.to_string()))
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(row::job).collect()
    }

    /// Why `lease` was refused.
    async fn fenced(&self, lease: &Lease) -> JobError {
        match self.get(lease.job).await {
            Err(error) => error,
            Ok(None) => JobError::NotFound(lease.job),
            Ok(Some(job)) => JobError::Fenced {
                job: lease.job,
                holder: lease.holder.clone(),
                token: lease.token,
                status: job.status,
                current: (job.status == Status::Building)
                    .then(|| (job.lease_holder.unwrap_or_default(), job.lease_token)),
            },
        }
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> JobError {
    JobError::Invalid {
        field,
        message: message.into(),
    }
}

fn check_name(field: &'static str, name: &str) -> Result<(), JobError> {
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(invalid(
            field,
            format!("must be 1 to {MAX_NAME} bytes, not {}", name.len()),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(())
}

/// Checks a new job; answers its payload as JSON text.
fn check_new(new: &NewJob) -> Result<String, JobError> {
    check_name("namespace", &new.namespace)?;
    check_name("node", &new.node)?;
    if let Some(key) = &new.idempotency_key {
        check_name("idempotency_key", key)?;
    }
    if !(1..=MAX_ATTEMPTS).contains(&new.max_attempts) {
        return Err(invalid(
            "max_attempts",
            format!("must be 1 to {MAX_ATTEMPTS}, not {}", new.max_attempts),
        ));
    }
    if new.delay > MAX_SPAN {
        return Err(invalid("delay", format!("must be at most {MAX_SPAN:?}")));
    }
    if let Some(deadline) = new.deadline
        && (deadline.is_zero() || deadline > MAX_SPAN)
    {
        return Err(invalid(
            "deadline",
            format!("must be more than 0 and at most {MAX_SPAN:?}"),
        ));
    }
    document("payload", &new.payload)
}

/// `value` as JSON text, within [`MAX_DOCUMENT`].
fn document(field: &'static str, value: &impl serde::Serialize) -> Result<String, JobError> {
    let text = serde_json::to_string(value).map_err(|e| invalid(field, e.to_string()))?;
    if text.len() > MAX_DOCUMENT {
        return Err(invalid(
            field,
            format!("is {} bytes of JSON, more than {MAX_DOCUMENT}", text.len()),
        ));
    }
    Ok(text)
}

/// A failure small enough to store: details dropped and the message cut
/// when it would not fit.
fn bounded(mut failure: Failure) -> Failure {
    const MESSAGE: usize = 64 * 1024;
    let size = serde_json::to_string(&failure).map_or(usize::MAX, |t| t.len());
    if size > MAX_DOCUMENT {
        failure.details = serde_json::Value::Null;
    }
    if failure.message.len() > MESSAGE {
        let mut end = MESSAGE;
        while !failure.message.is_char_boundary(end) {
            end -= 1;
        }
        failure.message.truncate(end);
        failure.message.push_str("… (cut)");
    }
    failure
}

/// Milliseconds, for binding (spans are capped well below overflow).
fn millis(span: Duration) -> i64 {
    i64::try_from(span.as_millis()).unwrap_or(i64::MAX)
}

/// The row a write statement answers, read only once the statement has
/// completed. sqlx's `Any` driver answers `fetch_optional` at the first
/// row, before PostgreSQL has committed the statement's implicit
/// transaction: a crash in between loses a write the caller was already
/// told about (a job answered 202, then gone: tests/jobs_crash.rs caught
/// it). `fetch_all` reads on to the end of the statement, after its commit.
async fn written<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    pool: &sqlx::AnyPool,
) -> Result<Option<sqlx::any::AnyRow>, sqlx::Error> {
    Ok(query.fetch_all(pool).await?.pop())
}
