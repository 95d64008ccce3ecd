//! A PostgreSQL server of one test's own: `initdb` into a temporary folder,
//! started on a free loopback port with trust auth, so a test can restart
//! it (or crash it) mid-run without disturbing the shared server other
//! tests use. It uses the installed server's binaries
//! (`/usr/lib/postgresql/<version>/bin`, which scripts/ensure-postgres.sh
//! installs); as root, they run as the `postgres` user, since PostgreSQL
//! refuses to run as root.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Cluster {
    pub port: u16,
    dir: PathBuf,
    bin: PathBuf,
}

impl Cluster {
    /// A new, started server.
    pub fn start() -> Cluster {
        let bin = binaries();
        let dir = super::unique("weir-pg-cluster");
        std::fs::create_dir_all(&dir).expect("a temporary folder");
        if is_root() {
            run(Command::new("chown").args(["postgres:postgres"]).arg(&dir));
        }
        let cluster = Cluster {
            port: super::free_port(),
            dir,
            bin,
        };
        let data = cluster.data();
        run(cluster
            .command("initdb")
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(&data));
        cluster.up();
        cluster
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server the way a crash does (`immediate`: no checkpoint,
    /// every connection cut, recovery from the WAL at the next start), then
    /// starts it again on the same port.
    pub fn crash_and_restart(&self) {
        self.down("immediate");
        self.up();
    }

    fn up(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {}",
            self.port,
            self.dir.display()
        );
        run(self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.join("server.log"))
            .args(["-w", "-t", "60", "-o", &options, "start"]));
    }

    fn down(&self, mode: &str) {
        run(self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-w", "-t", "60", "-m", mode, "stop"]));
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// `tool` from the server's binaries, as `postgres` when we are root.
    fn command(&self, tool: &str) -> Command {
        let path = self.bin.join(tool);
        match is_root() {
            true => {
                let mut command = Command::new("runuser");
                command.args(["-u", "postgres", "--"]).arg(path);
                command
            }
            false => Command::new(path),
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-w", "-m", "immediate", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The newest installed server's `bin` folder.
fn binaries() -> PathBuf {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (scripts/ensure-postgres.sh installs PostgreSQL)",
                root.display()
            )
        })
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .unwrap_or_else(|| panic!("no initdb under {}", root.display()))
        .1
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.starts_with(b"0\n"))
}

fn run(command: &mut Command) {
    let out = command.output().expect("runs");
    assert!(
        out.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
