//! [`Runner`]: runs a [`Job`] in a fresh, locked-down container under a
//! [`ContainerSpec`] and answers its [`Outcome`].
//!
//! One run is: create (named, labelled, under a [`Guard`]), attach, start;
//! write the script and then the job's stdin to the container's stdin while
//! reading its output; wait for its exit; remove it. The container's shell
//! (`/bin/sh -c`, [`BOOTSTRAP`]) copies exactly the script's length of
//! stdin into the workspace with `dd` and then `exec`s the command, which
//! reads the rest. So the script never passes through a host path or the
//! container's configuration, and nothing is written to the host's disk
//! (the containers log nowhere). The run answers as soon as it knows the
//! outcome; its container's removal follows in a task of its own. This module owns the Docker requests of a
//! run; what a container may do is [`host_config`]'s, in one place.

use std::collections::HashMap;
use std::pin::pin;
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::errors::Error;
use bollard::models::{ContainerCreateBody, HostConfig, HostConfigLogConfig};
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, CreateContainerOptionsBuilder, ListContainersOptionsBuilder,
    RemoveContainerOptionsBuilder, WaitContainerOptionsBuilder,
};
use futures_util::StreamExt;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::guard::Guard;
use super::identity::{ENGINE_LABEL, Engine, PROCESS_LABEL, Verdict};
use super::outcome::{Channel, Job, Line, Outcome, RunError};
use super::output::Capture;
use super::spec::{ContainerSpec, Limits};

/// The Docker socket the runner talks to.
pub const SOCKET: &str = "/var/run/docker.sock";
/// The largest script accepted.
pub const SOURCE_LIMIT: usize = 1 << 20;
/// The largest stdin accepted.
pub const STDIN_LIMIT: usize = 16 << 20;
/// Every run's user and group: `nobody`, in any image.
pub const USER: &str = "65534:65534";

/// The container's shell program: `$0` is the script's length, `$1` its
/// file name, the rest the command. Exit 125 (Docker's own "could not
/// run") when the script cannot be written. It runs under `timeout -s
/// KILL` (the entrypoint, so PID 1): the run's deadline holds inside the
/// container too, from its start, whatever it waits for. One whose engine
/// died midway (killed, so nothing removed it) stops by itself, and the
/// next engine's sweep removes it.
pub const BOOTSTRAP: &str = r#"if [ "$0" -gt 0 ]; then dd of="$1" bs="$0" count=1 iflag=fullblock status=none || exit 125; else : > "$1" || exit 125; fi; shift; exec "$@""#;

/// The timeout the container enforces on itself: the run's, rounded up to
/// whole seconds (what every `timeout` accepts). It starts after the
/// engine's own clock, so the engine's deadline comes first while it runs.
fn inner_timeout(timeout_ms: u64) -> String {
    timeout_ms.div_ceil(1000).max(1).to_string()
}

/// A connection to the Docker daemon, for running jobs. Cheap to clone.
#[derive(Clone)]
pub struct Runner {
    docker: Docker,
    /// This engine's identity ([`ENGINE_LABEL`]).
    engine: String,
    me: Option<Engine>,
}

impl Runner {
    /// Connects to the daemon at [`SOCKET`], agrees on an API version, and
    /// sweeps away containers that dead engines left ([`Runner::sweep`]).
    pub async fn connect() -> Result<Runner, RunError> {
        // Above the longest run, so no wait is cut short by the client.
        let timeout = Limits::CEILING.timeout_ms / 1000 + 60;
        let docker = Docker::connect_with_socket(SOCKET, timeout, bollard::API_DEFAULT_VERSION)
            .map_err(|e| RunError::Unavailable(e.to_string()))?;
        let docker = docker
            .negotiate_version()
            .await
            .map_err(|e| RunError::Unavailable(format!("{SOCKET}: {e}")))?;
        let me = Engine::current();
        let engine = me
            .as_ref()
            .map_or_else(|| "unknown".into(), Engine::to_string);
        let runner = Runner { docker, engine, me };
        let swept = runner.sweep().await?;
        if swept > 0 {
            tracing::info!(swept, "removed containers that ended engines left behind");
        }
        Ok(runner)
    }

    /// This engine's identity, as its containers are labelled.
    pub fn engine(&self) -> &str {
        &self.engine
    }

    /// Removes every container labelled by an engine that is gone (see
    /// [`Engine::judge`]); answers how many.
    pub async fn sweep(&self) -> Result<usize, RunError> {
        let Some(me) = &self.me else { return Ok(0) };
        let filters = HashMap::from([("label", vec![ENGINE_LABEL])]);
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        let containers = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(|e| RunError::docker("list containers", e))?;
        let mut removed = 0;
        for container in containers {
            let owner = container
                .labels
                .as_ref()
                .and_then(|labels| labels.get(ENGINE_LABEL))
                .and_then(|label| Engine::parse(label));
            let running =
                container.state == Some(bollard::models::ContainerSummaryStateEnum::RUNNING);
            let (Some(owner), Some(id)) = (owner, container.id) else {
                continue;
            };
            if me.judge(&owner, running) == Verdict::Remove {
                let options = RemoveContainerOptionsBuilder::default()
                    .force(true)
                    .v(true)
                    .build();
                match self.docker.remove_container(&id, Some(options)).await {
                    Ok(()) => removed += 1,
                    Err(error) => {
                        tracing::warn!(container = %id, %error, "could not sweep a container")
                    }
                }
            }
        }
        Ok(removed)
    }

    /// Runs `job` under `spec`, labelled with `process`, to its outcome.
    pub async fn run(
        &self,
        spec: &ContainerSpec,
        job: &Job,
        process: &str,
    ) -> Result<Outcome, RunError> {
        self.execute(spec, job, process, None).await
    }

    /// Like [`Runner::run`], sending each line of output to `lines` as it
    /// is written (see [`super::RunStream`] for it as a stream).
    pub async fn execute(
        &self,
        spec: &ContainerSpec,
        job: &Job,
        process: &str,
        lines: Option<&mpsc::Sender<Line>>,
    ) -> Result<Outcome, RunError> {
        let problems = spec.check();
        if let Some(first) = problems.first() {
            return Err(RunError::Spec(format!(
                "{}: {}",
                first.field, first.message
            )));
        }
        let stdin = job.stdin.as_deref().unwrap_or_default();
        too_large("the script", job.source.len(), SOURCE_LIMIT)?;
        too_large("stdin", stdin.len(), STDIN_LIMIT)?;

        let name = format!("weir-{}", uuid::Uuid::now_v7().simple());
        let body = container(spec, job, &self.engine, process);
        let docker = self.docker.clone();
        let create_name = name.clone();
        let mut guard = Guard::create(self.docker.clone(), name, async move {
            let options = CreateContainerOptionsBuilder::default()
                .name(&create_name)
                .build();
            docker.create_container(Some(options), body).await.map(drop)
        });
        guard.created().await.map_err(|e| match e {
            Error::DockerResponseServerError {
                status_code: 404, ..
            } => RunError::NoImage(spec.image.clone()),
            e => RunError::docker("create the container", e),
        })?;

        let outcome = self.attend(spec, job, guard.name(), lines).await;
        // Answer first: the removal (which kills what still runs) goes on
        // in a task of its own.
        guard.dispose();
        outcome
    }

    /// Attaches to the created container, starts it, feeds it and reads it
    /// to its end or its limits.
    async fn attend(
        &self,
        spec: &ContainerSpec,
        job: &Job,
        name: &str,
        lines: Option<&mpsc::Sender<Line>>,
    ) -> Result<Outcome, RunError> {
        let docker = &self.docker;
        let options = AttachContainerOptionsBuilder::default()
            .stdin(true)
            .stdout(true)
            .stderr(true)
            .stream(true)
            .build();
        let attached = docker
            .attach_container(name, Some(options))
            .await
            .map_err(|e| RunError::docker("attach to the container", e))?;
        let started = Instant::now();
        let deadline =
            tokio::time::Instant::from_std(started) + Duration::from_millis(spec.limits.timeout_ms);
        docker
            .start_container(name, None)
            .await
            .map_err(|e| RunError::docker("start the container", e))?;

        let limit = usize::try_from(spec.limits.output_limit).unwrap_or(usize::MAX);
        let mut capture = Capture::new(limit);
        let stdin = job.stdin.as_deref().unwrap_or_default().as_bytes();
        let feed = feed(attached.input, job.source.as_bytes(), stdin);
        let drain = drain(attached.output, &mut capture, lines);
        // The wait for its exit goes out now, so its answer is on its way
        // while the script runs rather than one round trip after it.
        let exit = wait(docker, name);
        let ended = tokio::time::timeout_at(deadline, settle(exchange(feed, drain), exit)).await;

        let mut outcome = Outcome {
            exit_code: None,
            stdout: String::new(),
            stderr: String::new(),
            duration_ms: 0,
            timed_out: false,
            oom_killed: false,
            truncated: false,
        };
        match ended {
            Err(_elapsed) => outcome.timed_out = true,
            Ok(Err(error)) => return Err(error),
            Ok(Ok(Ended::Flooded)) => {}
            Ok(Ok(Ended::Exited(code))) => {
                outcome.exit_code = Some(code);
                // The kernel's OOM kill is a SIGKILL: only then ask.
                outcome.oom_killed = code == 137 && oom_killed(docker, name).await?;
                // The container's own `timeout` killed it at the deadline
                // (it fires after the engine's clock, so only rarely first).
                if code == 137 && !outcome.oom_killed && tokio::time::Instant::now() >= deadline {
                    outcome.timed_out = true;
                    outcome.exit_code = None;
                }
            }
        }
        outcome.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        if let Some(lines) = lines {
            for channel in [Channel::Stdout, Channel::Stderr] {
                for line in capture.lines(channel, true) {
                    let _ = lines.send(line).await;
                }
            }
        }
        outcome.truncated = capture.truncated();
        (outcome.stdout, outcome.stderr) = capture.into_text();
        Ok(outcome)
    }
}

fn too_large(what: &'static str, size: usize, limit: usize) -> Result<(), RunError> {
    if size > limit {
        Err(RunError::TooLarge { what, size, limit })
    } else {
        Ok(())
    }
}

/// How reading the output ended.
enum Drained {
    /// The container closed its output: it exited.
    Ended,
    /// It wrote more than the limit; it is killed when removed.
    Flooded,
}

/// How a run ended, short of its timeout.
enum Ended {
    /// With this exit code.
    Exited(i64),
    /// Killed for its output (when removed).
    Flooded,
}

/// Drives the exchange to its end with the wait for the exit beside it;
/// the exit code counts once the output is read to its end.
async fn settle(
    exchange: impl Future<Output = Result<Drained, Error>>,
    exit: impl Future<Output = Result<i64, RunError>>,
) -> Result<Ended, RunError> {
    let mut exchange = pin!(exchange);
    let mut exit = pin!(exit);
    let mut code = None;
    let drained = loop {
        tokio::select! {
            drained = &mut exchange => break drained,
            exited = &mut exit, if code.is_none() => code = Some(exited),
        }
    };
    match drained.map_err(|e| RunError::docker("read the container's output", e))? {
        Drained::Flooded => Ok(Ended::Flooded),
        Drained::Ended => Ok(Ended::Exited(match code {
            Some(code) => code?,
            None => exit.await?,
        })),
    }
}

/// Drives `drain` to its end, and `feed` beside it as long as it lasts.
async fn exchange(
    feed: impl Future<Output = ()>,
    drain: impl Future<Output = Result<Drained, Error>>,
) -> Result<Drained, Error> {
    let mut feed = pin!(feed);
    let mut drain = pin!(drain);
    let mut fed = false;
    loop {
        tokio::select! {
            drained = &mut drain => return drained,
            () = &mut feed, if !fed => fed = true,
        }
    }
}

/// Writes the script, then stdin, then closes the container's stdin. A
/// container that exits without reading it all is no failure of the feed.
async fn feed(mut input: std::pin::Pin<Box<dyn AsyncWrite + Send>>, source: &[u8], stdin: &[u8]) {
    let written = async {
        input.write_all(source).await?;
        input.write_all(stdin).await?;
        input.shutdown().await
    };
    if let Err(error) = written.await {
        tracing::debug!(%error, "the container's stdin closed early");
    }
}

/// Reads the container's output into `capture` until it ends or floods.
async fn drain(
    mut output: std::pin::Pin<
        Box<dyn futures_util::Stream<Item = Result<LogOutput, Error>> + Send>,
    >,
    capture: &mut Capture,
    lines: Option<&mpsc::Sender<Line>>,
) -> Result<Drained, Error> {
    while let Some(frame) = output.next().await {
        let (channel, bytes) = match frame? {
            LogOutput::StdOut { message } | LogOutput::Console { message } => {
                (Channel::Stdout, message)
            }
            LogOutput::StdErr { message } => (Channel::Stderr, message),
            LogOutput::StdIn { .. } => continue,
        };
        let within = capture.push(channel, &bytes);
        if let Some(lines) = lines {
            for line in capture.lines(channel, false) {
                let _ = lines.send(line).await;
            }
        }
        if !within {
            return Ok(Drained::Flooded);
        }
    }
    Ok(Drained::Ended)
}

/// The container's exit code, once it stopped.
async fn wait(docker: &Docker, name: &str) -> Result<i64, RunError> {
    let options = WaitContainerOptionsBuilder::default()
        .condition("not-running")
        .build();
    match docker.wait_container(name, Some(options)).next().await {
        Some(Ok(exit)) => Ok(exit.status_code),
        Some(Err(Error::DockerContainerWaitError { code, .. })) => Ok(code),
        Some(Err(error)) => Err(RunError::docker("wait for the container", error)),
        None => Err(RunError::Docker {
            during: "wait for the container",
            message: "the daemon answered nothing".into(),
        }),
    }
}

/// Whether the kernel OOM-killed it. The daemon may learn of the OOM event
/// a moment after the exit, so a SIGKILL without the flag is asked again
/// a few times (at most ~200 ms).
async fn oom_killed(docker: &Docker, name: &str) -> Result<bool, RunError> {
    for attempt in 0..5 {
        let inspected = docker
            .inspect_container(name, None)
            .await
            .map_err(|e| RunError::docker("inspect the container", e))?;
        if inspected.state.and_then(|state| state.oom_killed) == Some(true) {
            return Ok(true);
        }
        if attempt < 4 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(false)
}

/// The container a run gets: the spec's image and command behind the
/// bootstrap shell, labelled, under [`host_config`].
fn container(spec: &ContainerSpec, job: &Job, engine: &str, process: &str) -> ContainerCreateBody {
    let mut cmd = vec![job.source.len().to_string(), spec.script.clone()];
    cmd.extend(spec.command.iter().cloned());
    cmd.extend(job.args.iter().cloned());
    ContainerCreateBody {
        image: Some(spec.image.clone()),
        entrypoint: Some(vec![
            "timeout".into(),
            "-s".into(),
            "KILL".into(),
            inner_timeout(spec.limits.timeout_ms),
            "/bin/sh".into(),
            "-c".into(),
            BOOTSTRAP.into(),
        ]),
        cmd: Some(cmd),
        working_dir: Some(spec.workdir.clone()),
        env: Some(
            spec.environment
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
        ),
        user: Some(USER.into()),
        labels: Some(HashMap::from([
            (ENGINE_LABEL.to_string(), engine.to_string()),
            (PROCESS_LABEL.to_string(), process.to_string()),
        ])),
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        open_stdin: Some(true),
        stdin_once: Some(true),
        tty: Some(false),
        host_config: Some(host_config(spec)),
        ..ContainerCreateBody::default()
    }
}

/// What every container may do, whatever its spec says: no capabilities,
/// no privilege gain, a read-only root, tmpfs only for the workspace and
/// `/tmp`, memory without swap, a PID limit, no logs kept.
pub fn host_config(spec: &ContainerSpec) -> HostConfig {
    let limits = &spec.limits;
    let memory = i64::try_from(limits.memory).unwrap_or(i64::MAX);
    let size = limits.workspace;
    HostConfig {
        memory: Some(memory),
        memory_swap: Some(memory),
        nano_cpus: Some((limits.cpus * 1e9) as i64),
        pids_limit: Some(i64::from(limits.pids)),
        readonly_rootfs: Some(true),
        cap_drop: Some(vec!["ALL".into()]),
        security_opt: Some(vec!["no-new-privileges".into()]),
        network_mode: Some(spec.network.mode().into()),
        tmpfs: Some(HashMap::from([
            (
                spec.workdir.clone(),
                format!("rw,nosuid,nodev,size={size},uid=65534,gid=65534,mode=0700"),
            ),
            (
                "/tmp".into(),
                format!("rw,nosuid,nodev,noexec,size={size},mode=1777"),
            ),
        ])),
        log_config: Some(HostConfigLogConfig {
            typ: Some("none".into()),
            config: None,
        }),
        auto_remove: Some(false),
        ..HostConfig::default()
    }
}
