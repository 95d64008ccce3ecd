//! End-to-end tests of the database commands (`apply`, `get`, `delete`,
//! `migrate`, `start`) on a fresh SQLite file per test.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn fixture(name: &str) -> String {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "fixtures", name]
        .iter()
        .collect();
    path.display().to_string()
}

/// A working directory with its own `weir.db`, removed afterwards.
struct Workdir(PathBuf);

impl Workdir {
    fn new() -> Workdir {
        let dir =
            std::env::temp_dir().join(format!("weir-cli-{}-{}", std::process::id(), rand_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        Workdir(dir)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_weir"));
        command
            .args(args)
            .current_dir(&self.0)
            .env_remove("WEIR_DATABASE_URL")
            .env_remove("WEIR_LOG")
            // `weir start` serves the system API: never on the shared
            // default port.
            .env(
                "WEIR_SYSTEM_ADDR",
                format!("127.0.0.1:{}", support::free_port()),
            );
        command
    }

    fn weir(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("weir runs")
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn apply_is_all_or_nothing_and_names_the_error() {
    let dir = Workdir::new();
    let out = dir.weir(&["apply", "-f", &fixture("apply/mixed")]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("b-bad.yaml: spec #1 `bad` (if): when: expression does not compile"),
        "{err}"
    );
    assert!(!err.contains('\r'), "no progress line when piped: {err:?}");
    let listed = dir.weir(&["get", "specs", "-o", "json"]);
    assert_eq!(stdout(&listed).trim(), "[]", "nothing was stored");
    assert!(
        dir.path().join("weir.db").exists(),
        "the embedded default is a file in the working directory"
    );
}

#[test]
fn apply_reports_created_updated_and_unchanged_and_dry_run_stores_nothing() {
    let dir = Workdir::new();
    let dry = dir.weir(&["apply", "-f", &fixture("flow.yaml"), "--dry-run"]);
    assert!(
        stdout(&dry).contains("would create default/double"),
        "{}",
        stdout(&dry)
    );
    assert_eq!(
        stdout(&dir.weir(&["get", "specs", "-o", "json"])).trim(),
        "[]"
    );
    let first = dir.weir(&["apply", "-f", &fixture("flow.yaml")]);
    assert_eq!(
        stdout(&first).matches("created ").count(),
        4,
        "{}",
        stdout(&first)
    );
    let again = dir.weir(&["apply", "-f", &fixture("flow.yaml")]);
    assert_eq!(
        stdout(&again).matches("unchanged ").count(),
        4,
        "{}",
        stdout(&again)
    );
    let table = stdout(&dir.weir(&["get", "specs"]));
    assert!(
        table.starts_with("NAMESPACE  NAME    KIND     REVISION  STATUS"),
        "{table}"
    );
    assert!(table.contains("default    double  snippet  1"), "{table}");
    let yaml = stdout(&dir.weir(&["get", "specs", "-o", "yaml"]));
    assert!(
        yaml.contains("kind: if") && yaml.contains("when: self > 40"),
        "{yaml}"
    );
}

#[test]
fn secrets_never_print_in_clear() {
    let dir = Workdir::new();
    assert!(
        dir.weir(&["apply", "values", "-f", &fixture("apply/values.yaml")])
            .status
            .success()
    );
    for format in ["table", "json", "yaml"] {
        let out = stdout(&dir.weir(&["get", "values", "-o", format]));
        assert!(!out.contains("hunter2"), "{format}: {out}");
        assert!(
            out.contains("<redacted>") && out.contains("hello"),
            "{format}: {out}"
        );
    }
}

#[test]
fn delete_removes_by_name_or_file_and_reports_missing_names() {
    let dir = Workdir::new();
    dir.weir(&["apply", "-f", &fixture("flow.yaml")]);
    // `big` and `double` link to `yes`: deleting it is refused, naming them,
    // and nothing is deleted.
    let out = dir.weir(&["delete", "specs", "yes", "ghost"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("would deactivate default/big, default/double"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        stdout(&dir.weir(&["get", "specs", "-o", "json"]))
            .matches("\"kind\"")
            .count(),
        4,
        "a refused delete deletes nothing"
    );
    let out = dir.weir(&["delete", "specs", "yes", "ghost", "--cascade"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("deleted default/yes")
            && stdout(&out).contains("deactivated default/big")
            && stderr(&out).contains("not found: default/ghost"),
        "{}",
        stdout(&out)
    );
    let out = dir.weir(&["delete", "specs", "-f", &fixture("flow.yaml")]);
    assert_eq!(
        stdout(&out).matches("deleted ").count(),
        3,
        "{}",
        stdout(&out)
    );
    assert_eq!(
        stdout(&dir.weir(&["get", "specs", "-o", "json"])).trim(),
        "[]"
    );
}

#[test]
fn an_unreachable_database_gives_one_clear_line_and_is_retried() {
    let dir = Workdir::new();
    let mut child = dir
        .command(&[
            "start",
            "--database",
            "postgres://weir:sekrit@127.0.0.1:9/weir",
        ])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1_500));
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert!(lines.len() >= 2, "retried: {err}");
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("cannot open the PostgreSQL database")
                && l.contains("retrying in")),
        "{err}"
    );
    assert!(
        lines[0].contains("retrying in 0.2s") && lines[1].contains("retrying in 0.5s"),
        "backoff grows: {err}"
    );
    assert!(
        !err.contains("sekrit"),
        "the URL's password never prints: {err}"
    );
}

#[test]
fn a_running_engine_picks_up_specs_applied_meanwhile() {
    let dir = Workdir::new();
    let mut engine = dir
        .command(&["start", "-f", &fixture("flow.yaml")])
        .stderr(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let status_of = |name: &str| {
        let table = stdout(&dir.weir(&["get", "specs"]));
        table
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(name))
            .map(|l| l.split_whitespace().nth(4).unwrap_or("").to_string())
    };
    let wait_for = |name: &str, status: &str| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while status_of(name).as_deref() != Some(status) {
            assert!(Instant::now() < deadline, "{name} never became {status}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    wait_for("double", "active");
    assert!(
        dir.weir(&["apply", "-f", &fixture("apply/late.yaml")])
            .status
            .success()
    );
    wait_for("late", "active");
    let _ = engine.kill();
    let _ = engine.wait();
}
