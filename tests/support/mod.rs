//! What the end-to-end tests share: a `weir start` of their own on a free
//! port ([`Server`]) and a tiny HTTP/1.1 client (std only, [`Client`]),
//! which keeps the tests honest about what goes over the wire.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The repository's root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A port nothing listens on yet.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A `weir start` in its own folder, serving on a free port.
pub struct Server {
    child: Child,
    /// Its working folder (its `weir.db` when on SQLite).
    pub dir: PathBuf,
    /// The port of the examples' listener (`PORT`).
    pub port: u16,
    database: Option<String>,
}

impl Server {
    /// `weir start -f specs/examples` on SQLite.
    pub fn start() -> Server {
        Server::start_with(&root().join("specs/examples"), &[])
    }

    /// `weir start -f <specs>` on SQLite, with extra environment.
    pub fn start_with(specs: &Path, env: &[(&str, &str)]) -> Server {
        Server::launch(&[specs], None, env)
    }

    /// `weir start -f <each of specs> [--database <database>]`, with extra
    /// environment; waits until `GET /ping` answers 200 on `PORT`.
    pub fn launch(specs: &[&Path], database: Option<&str>, env: &[(&str, &str)]) -> Server {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("weir-http-{port}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_weir"));
        command.arg("start");
        for path in specs {
            command.args(["-f", path.to_str().unwrap()]);
        }
        if let Some(url) = database {
            command.args(["--database", url]);
        }
        let child = command
            .current_dir(&dir)
            .envs(env.iter().copied())
            .env("PORT", port.to_string())
            .env_remove("WEIR_DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = Server {
            child,
            dir,
            port,
            database: database.map(str::to_string),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while server.get("/ping").map(|r| r.status).ok() != Some(200) {
            assert!(Instant::now() < deadline, "the server never answered");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// A new keep-alive connection to `PORT`.
    pub fn connect(&self) -> Client {
        Client::new(self.port)
    }

    /// One request on a fresh connection.
    pub fn get(&self, path: &str) -> std::io::Result<Reply> {
        Client::open(self.port)?.send("GET", path, None, &[])
    }

    /// Runs `weir <args>` in the server's folder, on its database.
    pub fn weir(&self, args: &[&str]) -> std::process::Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_weir"));
        command.args(args).current_dir(&self.dir);
        if let Some(url) = &self.database {
            command.env("WEIR_DATABASE_URL", url);
        }
        command.output().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
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
    /// A header's value, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON; panics with the body when it is not.
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
    /// Connects to `port`, or panics.
    pub fn new(port: u16) -> Client {
        Client::open(port).expect("connects")
    }

    /// Connects to `port`.
    pub fn open(port: u16) -> std::io::Result<Client> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(20)))?;
        Ok(Client {
            reader: BufReader::new(stream),
        })
    }

    /// Sends one request and reads its response.
    pub fn send(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        headers: &[(&str, &str)],
    ) -> std::io::Result<Reply> {
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
            // A server may answer (413, say) and close before it has read
            // the whole body; like curl, read its answer all the same.
            if let Err(error) = stream.write_all(body) {
                return self.read().map_err(|_| error);
            }
        }
        self.read()
    }

    /// Sends `body` as JSON.
    pub fn send_json(&mut self, method: &str, path: &str, body: &serde_json::Value) -> Reply {
        let text = body.to_string();
        self.send(method, path, Some(text.as_bytes()), &[JSON])
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    fn read(&mut self) -> std::io::Result<Reply> {
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
}

/// The header of a JSON body.
pub const JSON: (&str, &str) = ("Content-Type", "application/json");
