//! What the end-to-end tests share: a `weir start` in its own folder on
//! free ports ([`Server`]), a tiny HTTP/1.1 client (std only, so the tests
//! stay honest about what goes over the wire) with a Server-Sent Events
//! reader, throwaway databases (the engine tests' own [`db`]) and a
//! PostgreSQL server of a test's own to restart ([`cluster`]).

#![allow(dead_code)] // Each test binary uses a part.

pub mod cluster;
#[path = "../../engine/tests/support/db.rs"]
pub mod db;
pub mod load;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Runs each named test body (`fn name(db: Option<&TestDb>)`) twice: as
/// `name::sqlite` on the server's own SQLite file and as `name::postgres`
/// on a fresh PostgreSQL database. Test files take it with
/// `#[macro_use] mod support;`.
#[allow(unused_macros)] // Each test binary uses a part.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn sqlite() {
                super::$name(None);
            }
            #[test]
            fn postgres() {
                let runtime = tokio::runtime::Runtime::new().unwrap();
                let db = runtime.block_on($crate::support::db::TestDb::postgres());
                super::$name(Some(&db));
            }
        }
    )*};
}

/// The repository's root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A unique name for a temporary folder.
pub fn unique(prefix: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()))
}

/// The `Content-Type` header of a JSON body.
pub const JSON: (&str, &str) = ("Content-Type", "application/json");

/// The read-only token every test server accepts (`WEIR_READ_TOKEN`).
pub const READ_TOKEN: &str = "read-only-test-token";

/// How to start a server.
#[derive(Default)]
pub struct Options {
    /// Spec files or folders for `-f`.
    pub files: Vec<PathBuf>,
    /// Extra environment.
    pub env: Vec<(String, String)>,
    /// `--database URL` (default: SQLite in the server's folder).
    pub database: Option<String>,
    /// A path on `PORT` that must answer 200 before the server counts as up.
    pub wait_for: Option<&'static str>,
    /// Start in this folder (kept when the server stops) instead of a new one.
    pub dir: Option<PathBuf>,
    /// Up once `/healthz` answers, though `/readyz` may say 503 (for tests
    /// of specs that fail where they load).
    pub unready: bool,
}

/// A `weir start` in its own folder: the examples' `PORT` and the system
/// API (`WEIR_SYSTEM_ADDR`) on free ports, the API's write token generated
/// into the folder, stderr kept in `stderr.log`.
pub struct Server {
    child: Child,
    /// The working directory.
    pub dir: PathBuf,
    owns_dir: bool,
    /// `PORT`.
    pub port: u16,
    /// The system API's port.
    pub system_port: u16,
    /// The database URL, when not the folder's SQLite file.
    pub database: Option<String>,
}

impl Server {
    /// The bundled examples.
    pub fn start() -> Server {
        Server::launch(Options {
            files: vec![root().join("specs/examples")],
            wait_for: Some("/ping"),
            ..Options::default()
        })
    }

    /// `specs` with extra environment; up once `/ping` answers.
    pub fn start_with(specs: &Path, env: &[(&str, &str)]) -> Server {
        Server::launch(Options {
            files: vec![specs.to_path_buf()],
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            wait_for: Some("/ping"),
            ..Options::default()
        })
    }

    /// Starts as `options` say; returns once the system API is ready (and
    /// `wait_for` answers).
    pub fn launch(options: Options) -> Server {
        let (port, system_port) = (free_port(), free_port());
        let owns_dir = options.dir.is_none();
        let dir = options.dir.unwrap_or_else(|| unique("weir-server"));
        std::fs::create_dir_all(&dir).unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("stderr.log"))
            .unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_weir"));
        command.arg("start");
        for file in &options.files {
            command.arg("-f").arg(file);
        }
        if let Some(url) = &options.database {
            command.args(["--database", url]);
        }
        command
            .current_dir(&dir)
            .env_remove("WEIR_DATABASE_URL")
            .env_remove("WEIR_TOKEN")
            .env_remove("WEIR_TOKEN_FILE")
            .env_remove("WEIR_LOG")
            .env("WEIR_READ_TOKEN", READ_TOKEN)
            .env("PORT", port.to_string())
            .env("WEIR_SYSTEM_ADDR", format!("127.0.0.1:{system_port}"))
            .envs(options.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .stderr(log);
        let child = command.spawn().unwrap();
        let server = Server {
            child,
            dir,
            owns_dir,
            port,
            system_port,
            database: options.database,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        let up = |port: u16, path: &str| {
            Client::open(port)
                .and_then(|mut c| c.send("GET", path, None, &[]))
                .map(|r| r.status)
                .ok()
                == Some(200)
        };
        let probe = if options.unready {
            "/healthz"
        } else {
            "/readyz"
        };
        while !up(server.system_port, probe)
            || options.wait_for.is_some_and(|path| !up(server.port, path))
        {
            assert!(
                Instant::now() < deadline,
                "the server never answered: {}",
                server.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// A connection to `PORT`.
    pub fn connect(&self) -> Client {
        Client::new(self.port)
    }

    /// A connection to the system API.
    pub fn api(&self) -> Client {
        Client::new(self.system_port)
    }

    /// `GET path` on `PORT`, on a new connection.
    pub fn get(&self, path: &str) -> std::io::Result<Reply> {
        Client::open(self.port)?.send("GET", path, None, &[])
    }

    /// The write token `weir start` generated.
    pub fn token(&self) -> String {
        std::fs::read_to_string(self.dir.join("weir-token"))
            .expect("the token file exists")
            .trim()
            .to_string()
    }

    /// `Authorization` with the write token.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.token())
    }

    /// The system API's URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.system_port)
    }

    /// What the server wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default()
    }

    /// Runs `weir ARGS` in the server's folder, on its database.
    pub fn weir(&self, args: &[&str]) -> std::process::Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_weir"));
        command
            .args(args)
            .current_dir(&self.dir)
            .env_remove("WEIR_DATABASE_URL")
            .env_remove("WEIR_TOKEN")
            .env_remove("WEIR_TOKEN_FILE");
        if let Some(url) = &self.database {
            command.env("WEIR_DATABASE_URL", url);
        }
        command.output().unwrap()
    }

    /// Writes `yaml` to `file` in the server's folder and `weir apply`s it,
    /// asserting that the apply succeeded.
    pub fn apply_yaml(&self, file: &str, yaml: &str) {
        let path = self.dir.join(file);
        std::fs::write(&path, yaml).unwrap();
        let out = self.weir(&["apply", "-f", path.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Waits (at most 20 s) until `GET path` answers `body`.
    pub fn wait_for_body(&self, path: &str, body: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.get(path).map(|r| r.body).ok().as_deref() != Some(body) {
            assert!(Instant::now() < deadline, "{path} never answered {body:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The engine's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the server (keeping its folder if it was given one).
    pub fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        if self.owns_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// One HTTP response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }
}

/// One keep-alive HTTP/1.1 connection.
pub struct Client {
    reader: BufReader<TcpStream>,
}

impl Client {
    /// Connects, or panics.
    pub fn new(port: u16) -> Client {
        Client::open(port).expect("connects")
    }

    /// Connects.
    pub fn open(port: u16) -> std::io::Result<Client> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(20)))?;
        Ok(Client {
            reader: BufReader::new(stream),
        })
    }

    /// How long a read may wait (20 s unless set).
    pub fn set_read_timeout(&mut self, timeout: Duration) {
        let _ = self.reader.get_ref().set_read_timeout(Some(timeout));
    }

    fn write_request(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        headers: &[(&str, &str)],
    ) -> std::io::Result<()> {
        let mut request = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        if let Some(body) = body {
            request.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        request.push_str("\r\n");
        let stream = self.reader.get_mut();
        stream.write_all(request.as_bytes())?;
        if let Some(body) = body {
            stream.write_all(body)?;
        }
        Ok(())
    }

    /// Sends a request and reads its response.
    pub fn send(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        headers: &[(&str, &str)],
    ) -> std::io::Result<Reply> {
        if let Err(error) = self.write_request(method, path, body, headers) {
            // A server may answer (413, say) and close before it has read
            // the whole body; like curl, read its answer all the same.
            return self.read().map_err(|_| error);
        }
        self.read()
    }

    fn head(&mut self) -> std::io::Result<(u16, Vec<(String, String)>)> {
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_string(), value.trim().to_string()));
            }
        }
        Ok((status, headers))
    }

    /// Sends `body` as JSON and reads the response.
    pub fn send_json(&mut self, method: &str, path: &str, body: &serde_json::Value) -> Reply {
        let text = body.to_string();
        self.send(method, path, Some(text.as_bytes()), &[JSON])
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// Reads one response (with a `Content-Length` body).
    pub fn read(&mut self) -> std::io::Result<Reply> {
        let (status, headers) = self.head()?;
        let length = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body)?;
        Ok(Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }

    /// Sends a request whose answer is a stream of Server-Sent Events.
    pub fn events(
        self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> std::io::Result<Result<Events, Reply>> {
        self.request_events("GET", path, None, headers)
    }

    /// Sends any request whose answer is a stream of Server-Sent Events.
    pub fn request_events(
        mut self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        headers: &[(&str, &str)],
    ) -> std::io::Result<Result<Events, Reply>> {
        self.write_request(method, path, body, headers)?;
        let (status, response_headers) = self.head()?;
        let chunked = response_headers.iter().any(|(n, v)| {
            n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
        });
        if status != 200 || !chunked {
            let length = response_headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; length];
            self.reader.read_exact(&mut body)?;
            return Ok(Err(Reply {
                status,
                headers: response_headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            }));
        }
        Ok(Ok(Events {
            client: self,
            headers: response_headers,
            text: String::new(),
        }))
    }
}

/// One Server-Sent Event.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: String,
    /// Comment lines (`: …`) before it.
    pub comments: Vec<String>,
}

/// A stream of Server-Sent Events over a chunked response.
pub struct Events {
    client: Client,
    pub headers: Vec<(String, String)>,
    text: String,
}

impl Events {
    /// The next event (or comment block); an error after the read timeout
    /// or when the stream ends.
    pub fn next(&mut self) -> std::io::Result<Event> {
        loop {
            if let Some(end) = self.text.find("\n\n") {
                let block: String = self.text.drain(..end + 2).collect();
                let mut event = Event::default();
                for line in block.lines() {
                    match line.split_once(':') {
                        Some(("", comment)) => event.comments.push(comment.trim().to_string()),
                        Some(("id", v)) => event.id = Some(v.trim().to_string()),
                        Some(("event", v)) => event.event = Some(v.trim().to_string()),
                        Some(("data", v)) => event.data.push_str(v.trim()),
                        _ => {}
                    }
                }
                return Ok(event);
            }
            let chunk = self.chunk()?;
            if chunk.is_empty() {
                return Err(std::io::Error::other("the stream ended"));
            }
            self.text.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// The next event named `change`, skipping comments.
    pub fn next_change(&mut self) -> std::io::Result<Event> {
        loop {
            let event = self.next()?;
            if event.event.as_deref() == Some("change") {
                return Ok(event);
            }
        }
    }

    fn chunk(&mut self) -> std::io::Result<Vec<u8>> {
        let reader = &mut self.client.reader;
        let mut size = String::new();
        reader.read_line(&mut size)?;
        let size = usize::from_str_radix(size.trim(), 16)
            .map_err(|_| std::io::Error::other(format!("bad chunk size {size:?}")))?;
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk)?;
        chunk.truncate(size);
        Ok(chunk)
    }
}
