//! `settings.execute`: after the passes, the script runs in the sandbox
//! linked to the compiler's `run` port (a `container` node), and what it
//! wrote becomes the artifact `run.txt`, listed in the manifest with the
//! run's outcome under `run`.
//!
//! The compiler never runs user code itself: it hands `{source}` to its
//! `run` port and only writes what comes back. A run that timed out is
//! still an artifact (what it wrote before it was killed); a sandbox that
//! cannot run at all (no Docker: 503) is the job's error, so a job retries.

use std::path::Path;

use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};
use weir_codecs::ErrorValue;
use weir_engine::{Call, Packet, Port};

/// The artifact's name in the job's folder.
pub(super) const ARTIFACT: &str = "run.txt";

/// The port the sandbox is linked to.
pub(super) fn port() -> Port {
    Port::named("run")
}

/// Runs `source` through the `run` port and records the run in `dir` and
/// in `manifest` (a successful compile's, as JSON).
pub(super) async fn execute(
    call: &Call,
    node: &str,
    source: Vec<u8>,
    dir: &Path,
    manifest: &mut Json,
) -> Result<(), ErrorValue> {
    let started = std::time::Instant::now();
    let Ok(source) = String::from_utf8(source) else {
        // The sandbox writes the script as UTF-8; another encoding would
        // run as something else than what was compiled.
        record_skip(manifest, "the source is not UTF-8, so it was not run");
        return rewrite(node, dir, manifest).await;
    };
    let payload = weir_codecs::Value::map([("source", weir_codecs::Value::string(source))]);
    let answer = call.write(&port(), Packet::new(payload)).await;
    let outcome = match answer.as_error() {
        // Killed at its timeout: what it wrote is still the run's output.
        Some(error) if error.code.as_deref() == Some("timeout") => {
            weir_codecs::json::to_json(&error.details)
        }
        Some(error) => {
            return Err(
                ErrorValue::new(format!("node `{node}`: execute: {}", error.message))
                    .with_code(error.code.as_deref().unwrap_or("execute"))
                    .with_status(error.status.unwrap_or(502)),
            );
        }
        None => weir_codecs::json::to_json(answer.payload()),
    };
    let text = transcript(&outcome);
    let artifact = write(dir, ARTIFACT, text.as_bytes())
        .await
        .map_err(|e| io_error(node, e))?;
    let time_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    push(
        manifest,
        "passes",
        json!({"name": "execute", "status": "ok", "time_us": time_us}),
    );
    push(manifest, "artifacts", artifact);
    if let Some(settings) = manifest["settings"].as_object_mut() {
        settings.insert("execute".into(), json!(true));
    }
    let run = json!({
        "exit_code": outcome["exit_code"],
        "duration_ms": outcome["duration_ms"],
        "timed_out": outcome["timed_out"],
        "oom_killed": outcome["oom_killed"],
        "truncated": outcome["truncated"],
    });
    if let Some(fields) = manifest.as_object_mut() {
        fields.insert("run".into(), run);
    }
    rewrite(node, dir, manifest).await
}

/// `run.txt`: stdout, then stderr under a heading when there is any.
fn transcript(outcome: &Json) -> String {
    let stdout = outcome["stdout"].as_str().unwrap_or_default();
    let stderr = outcome["stderr"].as_str().unwrap_or_default();
    match stderr.is_empty() {
        true => stdout.to_string(),
        false => format!("{stdout}--- stderr ---\n{stderr}"),
    }
}

fn record_skip(manifest: &mut Json, why: &str) {
    push(
        manifest,
        "passes",
        json!({"name": "execute", "status": "skipped", "time_us": 0}),
    );
    push(
        manifest,
        "diagnostics",
        json!({"severity": "warning", "source": "execute", "line": 0, "col": 0, "message": why}),
    );
}

fn push(manifest: &mut Json, list: &str, item: Json) {
    if let Some(items) = manifest[list].as_array_mut() {
        items.push(item);
    }
}

/// Writes `bytes` to `dir/name` whole or not at all (a temporary file
/// renamed into place); answers its manifest entry.
async fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<Json> {
    let partial = dir.join(format!(".{name}.partial"));
    tokio::fs::write(&partial, bytes).await?;
    tokio::fs::rename(&partial, dir.join(name)).await?;
    Ok(json!({
        "path": name,
        "pass": "execute",
        "size": bytes.len(),
        "sha256": format!("{:x}", Sha256::digest(bytes)),
    }))
}

/// `manifest.json` on disk says what the answer says.
async fn rewrite(node: &str, dir: &Path, manifest: &Json) -> Result<(), ErrorValue> {
    let mut text = manifest.to_string();
    text.push('\n');
    write(dir, "manifest.json", text.as_bytes())
        .await
        .map(drop)
        .map_err(|e| io_error(node, e))
}

fn io_error(node: &str, error: std::io::Error) -> ErrorValue {
    ErrorValue::new(format!(
        "node `{node}`: execute: cannot write the run's artifact: {error}"
    ))
    .with_code("artifact_write")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_transcript_is_stdout_then_stderr_under_a_heading() {
        let quiet = json!({"stdout": "a\n", "stderr": ""});
        assert_eq!(transcript(&quiet), "a\n");
        let loud = json!({"stdout": "a\n", "stderr": "boom\n"});
        assert_eq!(transcript(&loud), "a\n--- stderr ---\nboom\n");
    }

    #[tokio::test]
    async fn an_artifact_is_listed_with_its_size_and_digest() {
        let dir = std::env::temp_dir().join(format!("weir-execute-{}", uuid::Uuid::now_v7()));
        tokio::fs::create_dir_all(&dir).await.unwrap();
        let entry = write(&dir, ARTIFACT, b"abc").await.unwrap();
        assert_eq!(entry["size"], 3);
        // sha256("abc"), FIPS 180-2's example.
        assert_eq!(
            entry["sha256"],
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(std::fs::read(dir.join(ARTIFACT)).unwrap(), b"abc");
        assert!(!dir.join(".run.txt.partial").exists());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
