//! [`ContainerSpec`]: what a container run may use (image, command,
//! workspace, environment, limits, network), and the checks that keep each
//! under a ceiling. Plain data: nothing here talks to Docker.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The fields of a `container` spec: how a script runs, in which image,
/// with which command, under which limits. The script itself comes with
/// each packet, `{source, stdin?, args?, timeout_ms?, stream?}`, and is
/// written into a fresh tmpfs workspace; the image, mounts and limits come
/// only from here. Every run is a new container as user 65534 with a
/// read-only root, no capabilities, no privilege gain, no swap, a PID limit
/// and no network unless `network: host`, removed when the run ends
/// (finished, timed out, or cancelled).
///
/// Ports: `in` → `out` with `{exit_code, stdout, stderr, duration_ms,
/// timed_out, oom_killed, truncated}`; the answer is what `out` answers. A
/// run past its timeout is an error (`timeout`, 504, the outcome in
/// `details`). With `stream: true` the answer is a Server-Sent Events
/// response instead: an `stdout`/`stderr` event per line, then `done`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(example = serde_json::json!({
    "image": "weir-python:latest",
    "command": ["python3", "main.py"],
    "limits": {"memory": 134217728, "timeout_ms": 5000}
}))]
pub struct ContainerSpec {
    /// The image to run, already on the daemon (nothing is pulled), e.g. the
    /// one `scripts/sandbox-image.sh` builds. It needs `/bin/sh` and `dd`,
    /// which write the script into the workspace before the command runs,
    /// and `timeout` (coreutils or busybox), which holds the run's timeout
    /// inside the container.
    #[schemars(regex(pattern = r"\S"))]
    pub image: String,
    /// The command, run in `workdir` after the script was written there as
    /// `script`; a run's `args` are appended.
    #[serde(default = "default_command")]
    #[schemars(length(min = 1), extend("prefixItems" = [{"type": "string", "minLength": 1}]))]
    pub command: Vec<String>,
    /// The file name the script is written to, inside the workspace.
    #[serde(default = "default_script")]
    #[schemars(regex(pattern = "^[^/]+$"), extend("not" = {"enum": [".", ".."]}))]
    pub script: String,
    /// The workspace: a fresh tmpfs per run, owned by the run's user, and
    /// the command's working directory. The only writable place besides
    /// `/tmp`.
    #[serde(default = "default_workdir")]
    #[schemars(
        regex(pattern = r"^(/[^/\u0000:]+)+$"),
        extend("not" = {"pattern": r"^/(tmp|proc|sys|dev)(/|$)|/\.\.?(/|$)"})
    )]
    pub workdir: String,
    /// Environment variables of the command. (Not `env`: that is every
    /// spec's own, the variables of its `{{ }}` templates.)
    #[serde(default)]
    #[schemars(extend(
        "propertyNames" = {"pattern": "^[^=\\u0000]+$"},
        "additionalProperties" = {"type": "string", "pattern": "^[^\\u0000]*$"}
    ))]
    pub environment: BTreeMap<String, String>,
    /// Resource limits; each has a default and a ceiling.
    #[serde(default)]
    pub limits: Limits,
    /// `none` (the default): no interface but the container's own
    /// loopback. `host`: the host's network, its loopback services and
    /// whatever the host can reach; only for trusted scripts.
    #[serde(default)]
    pub network: Network,
}

/// A run's resource limits. Each has a ceiling: memory 8 GiB, cpus 64, pids
/// 4096, timeout_ms 600000 (10 minutes), output_limit 16 MiB, workspace
/// 1 GiB; and a floor: memory 8 MiB, cpus 0.01, pids 2, workspace 1 MiB.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Memory in bytes (swap is not allowed on top): a script over it is
    /// OOM-killed and the answer says `oom_killed`.
    #[schemars(range(min = Limits::MIN_MEMORY, max = Limits::CEILING.memory))]
    pub memory: u64,
    /// CPUs, fractions allowed (`0.5`).
    #[schemars(range(min = 0.01, max = Limits::CEILING.cpus))]
    pub cpus: f64,
    /// Processes and threads at once: bounds a fork bomb.
    #[schemars(range(min = 2, max = Limits::CEILING.pids))]
    pub pids: u32,
    /// Wall-clock time from start to exit; past it the container is killed
    /// and the answer says `timed_out`.
    #[schemars(range(min = 1, max = Limits::CEILING.timeout_ms))]
    pub timeout_ms: u64,
    /// Bytes kept of stdout and of stderr each; a script writing more is
    /// killed and the answer says `truncated`.
    #[schemars(range(max = Limits::CEILING.output_limit))]
    pub output_limit: u64,
    /// Size in bytes of each tmpfs (the workspace and `/tmp`); what is
    /// written there counts against `memory` too.
    #[schemars(range(min = MIB, max = Limits::CEILING.workspace))]
    pub workspace: u64,
}

/// The network a container gets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Network {
    /// Only the container's own loopback.
    #[default]
    None,
    /// The host's network namespace.
    Host,
}

impl Network {
    /// Docker's `NetworkMode` for it.
    pub fn mode(self) -> &'static str {
        match self {
            Network::None => "none",
            Network::Host => "host",
        }
    }
}

const MIB: u64 = 1 << 20;

impl Limits {
    /// The largest value each limit may take.
    pub const CEILING: Limits = Limits {
        memory: 8 << 30,
        cpus: 64.0,
        pids: 4096,
        timeout_ms: 600_000,
        output_limit: 16 * MIB,
        workspace: 1 << 30,
    };

    /// The smallest memory Docker accepts (6 MiB) rounded up.
    pub const MIN_MEMORY: u64 = 8 * MIB;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory: 256 * MIB,
            cpus: 1.0,
            pids: 64,
            timeout_ms: 10_000,
            output_limit: MIB,
            workspace: 64 * MIB,
        }
    }
}

fn default_command() -> Vec<String> {
    vec!["python3".into(), "main.py".into()]
}

fn default_script() -> String {
    "main.py".into()
}

fn default_workdir() -> String {
    "/work".into()
}

/// One thing wrong with a spec: the field (a dotted path) and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub field: String,
    pub message: String,
}

impl ContainerSpec {
    /// A spec for `image` with every default.
    pub fn new(image: impl Into<String>) -> Self {
        ContainerSpec {
            image: image.into(),
            command: default_command(),
            script: default_script(),
            workdir: default_workdir(),
            environment: BTreeMap::new(),
            limits: Limits::default(),
            network: Network::default(),
        }
    }

    /// Every problem at once; empty when the spec can run.
    pub fn check(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut bad = |field: &str, message: String| {
            problems.push(Problem {
                field: field.to_string(),
                message,
            })
        };
        if self.image.trim().is_empty() {
            bad("image", "must name an image".into());
        }
        if self.command.is_empty() || self.command[0].is_empty() {
            bad("command", "must name a program to run".into());
        }
        if self.script.is_empty()
            || self.script.contains('/')
            || self.script == "."
            || self.script == ".."
        {
            bad(
                "script",
                format!("`{}` is not a plain file name", self.script),
            );
        }
        if !is_workspace_path(&self.workdir) {
            bad(
                "workdir",
                format!(
                    "`{}` must be an absolute path below `/` without `.` or `..` parts, and not /tmp, /proc, /sys or /dev",
                    self.workdir
                ),
            );
        }
        for name in self.environment.keys() {
            if name.is_empty() || name.contains('=') || name.contains('\0') {
                bad(
                    &format!("environment.{name}"),
                    "is not a variable name".into(),
                );
            }
        }
        if self.environment.values().any(|v| v.contains('\0')) {
            bad("environment", "values may not hold NUL".into());
        }
        self.limits.check(&mut bad);
        problems
    }
}

impl Limits {
    fn check(&self, bad: &mut impl FnMut(&str, String)) {
        let ceiling = &Limits::CEILING;
        let mut over = |field: &str, value: String, max: String| {
            bad(
                &format!("limits.{field}"),
                format!("{value} is over the ceiling {max}"),
            )
        };
        if self.memory > ceiling.memory {
            over(
                "memory",
                self.memory.to_string(),
                ceiling.memory.to_string(),
            );
        }
        if self.pids > ceiling.pids {
            over("pids", self.pids.to_string(), ceiling.pids.to_string());
        }
        if self.timeout_ms > ceiling.timeout_ms {
            over(
                "timeout_ms",
                self.timeout_ms.to_string(),
                ceiling.timeout_ms.to_string(),
            );
        }
        if self.output_limit > ceiling.output_limit {
            over(
                "output_limit",
                self.output_limit.to_string(),
                ceiling.output_limit.to_string(),
            );
        }
        if self.workspace > ceiling.workspace {
            over(
                "workspace",
                self.workspace.to_string(),
                ceiling.workspace.to_string(),
            );
        }
        if self.cpus.is_nan() || self.cpus > ceiling.cpus {
            over("cpus", self.cpus.to_string(), ceiling.cpus.to_string());
        }
        let mut under =
            |field: &str, message: &str| bad(&format!("limits.{field}"), message.into());
        if self.memory < Limits::MIN_MEMORY {
            under("memory", "must be at least 8 MiB (8388608)");
        }
        if self.cpus.is_finite() && self.cpus < 0.01 {
            under("cpus", "must be at least 0.01");
        }
        if self.pids < 2 {
            under(
                "pids",
                "must be at least 2 (the shell that writes the script, then the command)",
            );
        }
        if self.timeout_ms == 0 {
            under("timeout_ms", "must be at least 1");
        }
        if self.workspace < MIB {
            under("workspace", "must be at least 1 MiB (1048576)");
        }
    }
}

/// An absolute, normalised path that is not `/` nor a system mount.
fn is_workspace_path(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let first = parts[0];
    !rest.is_empty()
        && parts
            .iter()
            .all(|p| !p.is_empty() && *p != "." && *p != "..")
        && !["tmp", "proc", "sys", "dev"].contains(&first)
        && !path.contains('\0')
        && !path.contains(':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_pass() {
        assert!(ContainerSpec::new("weir-python:x").check().is_empty());
    }

    #[test]
    fn every_problem_is_named() {
        let mut spec = ContainerSpec::new("");
        spec.script = "../x".into();
        spec.workdir = "/tmp".into();
        spec.environment.insert("A=B".into(), "v".into());
        spec.limits.memory = 1;
        spec.limits.pids = 100_000;
        spec.limits.timeout_ms = 0;
        let fields: Vec<String> = spec.check().into_iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            [
                "image",
                "script",
                "workdir",
                "environment.A=B",
                "limits.pids",
                "limits.memory",
                "limits.timeout_ms"
            ]
        );
    }

    #[test]
    fn workspace_paths() {
        for good in ["/work", "/home/run", "/w/x"] {
            assert!(is_workspace_path(good), "{good}");
        }
        for bad in [
            "", "/", "work", "/work/", "/a/../b", "/tmp", "/proc/x", "/a:b", "/./a",
        ] {
            assert!(!is_workspace_path(bad), "{bad}");
        }
    }
}
