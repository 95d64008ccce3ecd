//! Which engine a container belongs to, and whether that engine is gone.
//!
//! Every container carries the label [`ENGINE_LABEL`] whose value names the
//! engine process that made it: `boot:pidns:pid:start` — the kernel's boot
//! id, the PID namespace, the process id, and the process's start time in
//! clock ticks since boot (`/proc/PID/stat`, field 22). The four together
//! name one process for the life of one kernel: a reused pid has another
//! start time. So an engine starting up can tell, without any heartbeat or
//! shared store, that a labelled container's engine has died (killed,
//! crashed) and remove the container ([`Verdict`]). Only local facts are
//! read (`/proc`); nothing is removed that this engine cannot judge.

use std::fmt;

/// The label every container of ours carries: its engine's identity.
pub const ENGINE_LABEL: &str = "weir.engine";
/// The label naming the process (the run) a container serves.
pub const PROCESS_LABEL: &str = "weir.process";

/// One engine process, as the kernel knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Engine {
    boot: String,
    pid_ns: u64,
    pid: u32,
    start: u64,
}

/// What the sweep does with a container another engine labelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Its engine is this one or may still run: leave it.
    Keep,
    /// Its engine is gone: remove it.
    Remove,
}

impl Engine {
    /// This process; `None` where `/proc` does not tell (not Linux), in
    /// which case containers are still labelled but none is ever swept.
    pub fn current() -> Option<Engine> {
        let pid = std::process::id();
        Some(Engine {
            boot: boot_id()?,
            pid_ns: pid_namespace()?,
            pid,
            start: start_time(pid)?,
        })
    }

    /// Reads a label's value back; `None` when it is not one of ours.
    pub fn parse(label: &str) -> Option<Engine> {
        let mut parts = label.split(':');
        let engine = Engine {
            boot: parts.next().filter(|b| !b.is_empty())?.to_string(),
            pid_ns: parts.next()?.parse().ok()?,
            pid: parts.next()?.parse().ok()?,
            start: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(engine)
    }

    /// What to do with a container labelled `owner`, `running` or not,
    /// when this engine (`self`) sweeps.
    ///
    /// - the same engine: keep (it is running it now);
    /// - same boot and PID namespace: remove when that process is gone or
    ///   its pid now belongs to a process started at another time;
    /// - same boot, another PID namespace: keep (its processes are not
    ///   visible from here);
    /// - another boot: the engine died with that boot unless the daemon is
    ///   shared across machines; a container left from before a reboot is
    ///   not running (the daemon does not restart it), so remove those and
    ///   keep running ones.
    pub fn judge(&self, owner: &Engine, running: bool) -> Verdict {
        let gone = if owner == self {
            false
        } else if owner.boot != self.boot {
            !running
        } else {
            owner.pid_ns == self.pid_ns && start_time(owner.pid) != Some(owner.start)
        };
        if gone { Verdict::Remove } else { Verdict::Keep }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}:{}",
            self.boot, self.pid_ns, self.pid, self.start
        )
    }
}

fn boot_id() -> Option<String> {
    let id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let id = id.trim();
    (!id.is_empty() && !id.contains(':')).then(|| id.to_string())
}

/// The inode of this process's PID namespace (`pid:[4026531836]`).
fn pid_namespace() -> Option<u64> {
    let link = std::fs::read_link("/proc/self/ns/pid").ok()?;
    let link = link.to_str()?;
    link.strip_prefix("pid:[")?.strip_suffix(']')?.parse().ok()
}

/// A process's start time in clock ticks since boot; `None` when no such
/// process is visible.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: the
    // fields after it start after its last `)`. Start time is field 22.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_reads_back_and_is_kept() {
        let me = Engine::current().expect("/proc tells");
        assert_eq!(Engine::parse(&me.to_string()), Some(me.clone()));
        assert_eq!(me.judge(&me, true), Verdict::Keep);
    }

    #[test]
    fn gone_and_reused_pids_are_removed() {
        let me = Engine::current().unwrap();
        // Pid 1 runs, but it did not start at tick 0 of a process we made.
        let reused = Engine {
            pid: 1,
            start: u64::MAX,
            ..me.clone()
        };
        assert_eq!(me.judge(&reused, true), Verdict::Remove);
        let gone = Engine {
            pid: u32::MAX - 1,
            ..me.clone()
        };
        assert_eq!(me.judge(&gone, false), Verdict::Remove);
        // A live process, judged by another engine of the same machine.
        let parent = std::os::unix::process::parent_id();
        let alive = Engine {
            pid: parent,
            start: start_time(parent).unwrap(),
            ..me.clone()
        };
        assert_eq!(me.judge(&alive, true), Verdict::Keep);
    }

    #[test]
    fn what_cannot_be_judged_is_kept() {
        let me = Engine::current().unwrap();
        let elsewhere = Engine {
            pid_ns: me.pid_ns + 1,
            pid: u32::MAX - 1,
            ..me.clone()
        };
        assert_eq!(me.judge(&elsewhere, false), Verdict::Keep);
        let other_boot = Engine {
            boot: "another".into(),
            ..me.clone()
        };
        assert_eq!(me.judge(&other_boot, true), Verdict::Keep);
        assert_eq!(me.judge(&other_boot, false), Verdict::Remove);
        for bad in ["", "a:b:c", "a:1:2:3:4", ":1:2:3", "a:x:2:3"] {
            assert_eq!(Engine::parse(bad), None, "{bad}");
        }
    }
}
