//! `weir get jobs`: the durable jobs, read from the database or through a
//! running engine's `/v1/jobs`, as a table, YAML or JSON. Only reads; the
//! queue's rules live in `weir_engine::store::jobs`.

use std::process::ExitCode;

use weir_engine::store::jobs::{JobFilter, Queue, QueueConfig, Status};
use weir_nodes::job::JobView;

use crate::backend::Backend;
use crate::commands::get::Output;

/// The most jobs one `weir get jobs` prints.
const LIMIT: u32 = 1000;

/// Prints the jobs `namespace` and `status` select, newest first.
pub async fn list(
    backend: &Backend,
    namespace: Option<String>,
    status: Option<String>,
    output: Output,
) -> anyhow::Result<ExitCode> {
    if let Some(text) = &status
        && Status::parse(text).is_none()
    {
        anyhow::bail!(
            "--status `{text}` is not a job status (queued, building, success, failed, cancelled)"
        );
    }
    let jobs = match backend {
        Backend::Database(store) => {
            let queue = Queue::new(store.clone(), QueueConfig::default())?;
            let filter = JobFilter {
                namespace,
                status: status.as_deref().and_then(Status::parse),
                limit: Some(LIMIT),
                ..JobFilter::default()
            };
            queue
                .list(&filter)
                .await?
                .into_iter()
                .map(JobView::from)
                .collect()
        }
        Backend::Server(remote) => {
            let mut query = vec![("limit", LIMIT.to_string())];
            query.extend(namespace.map(|n| ("namespace", n)));
            query.extend(status.map(|s| ("status", s)));
            remote.jobs(&query).await?.items
        }
    };
    match output {
        Output::Table => print_table(&jobs),
        Output::Json => println!("{}", serde_json::to_string_pretty(&jobs)?),
        Output::Yaml => {
            let value = weir_codecs::json::from_json(serde_json::to_value(&jobs)?);
            print!("{}", weir_codecs::yaml::to_string(&value)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(jobs: &[JobView]) {
    let mut lines = vec![
        [
            "ID",
            "NAMESPACE",
            "NODE",
            "STATUS",
            "ATTEMPTS",
            "CREATED",
            "FINISHED",
            "ERROR",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for job in jobs {
        let error = job.error.as_ref().map(|e| e.message.as_str()).unwrap_or("");
        let error = match error.chars().count() > 60 {
            true => format!("{}…", error.chars().take(59).collect::<String>()),
            false => error.to_string(),
        };
        lines.push(vec![
            job.id.clone(),
            job.namespace.clone(),
            job.node.clone(),
            job.status.to_string(),
            format!("{}/{}", job.attempts, job.max_attempts),
            job.created_at.clone(),
            job.finished_at.clone().unwrap_or_else(|| "-".into()),
            error,
        ]);
    }
    crate::table::print(&lines);
}
