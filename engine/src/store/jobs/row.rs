//! Reading job rows: the columns of [`super::sql::COLUMNS`], in order.

use sqlx::Row as _;
use sqlx::any::AnyRow;
use uuid::Uuid;

use super::{Failure, Job, JobError, Status};

/// The job in `r`'s first columns.
pub fn job(r: &AnyRow) -> Result<Job, JobError> {
    let id: String = r.try_get(0)?;
    let corrupt = |message: String| JobError::Corrupt {
        id: id.clone(),
        message,
    };
    let json = |index: usize, what: &str| -> Result<Option<serde_json::Value>, JobError> {
        let text: Option<String> = r.try_get(index)?;
        text.map(|t| serde_json::from_str(&t))
            .transpose()
            .map_err(|e| corrupt(format!("{what}: {e}")))
    };
    let status: String = r.try_get(4)?;
    let last_error = json(7, "last_error")?
        .map(serde_json::from_value::<Failure>)
        .transpose()
        .map_err(|e| corrupt(format!("last_error: {e}")))?;
    Ok(Job {
        id: Uuid::parse_str(&id).map_err(|e| corrupt(format!("id: {e}")))?,
        namespace: r.try_get(1)?,
        node: r.try_get(2)?,
        payload: json(3, "payload")?.unwrap_or_default(),
        status: Status::parse(&status).ok_or_else(|| corrupt(format!("status `{status}`")))?,
        attempt: r.try_get(5)?,
        max_attempts: r.try_get(6)?,
        last_error,
        result: json(8, "result")?,
        idempotency_key: r.try_get(9)?,
        cancel_requested: r.try_get::<i64, _>(10)? != 0,
        created_at: r.try_get(11)?,
        scheduled_at: r.try_get(12)?,
        started_at: r.try_get(13)?,
        heartbeat_at: r.try_get(14)?,
        finished_at: r.try_get(15)?,
        deadline: r.try_get(16)?,
        lease_holder: r.try_get(17)?,
        lease_expires_at: r.try_get(18)?,
        lease_token: r.try_get(19)?,
    })
}

/// How many columns [`job`] reads.
pub const WIDTH: usize = 20;
