//! Live changes over real `weir start` processes: what a user does with
//! `weir delete` and `weir apply` while an engine runs, and what it must
//! see afterwards (issue: "live changes lose nodes").

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use support::{Options, Server, root};

fn fixture(name: &str) -> String {
    root()
        .join("tests/fixtures/live")
        .join(name)
        .display()
        .to_string()
}

fn launch(files: &[&str], wait_for: Option<&'static str>) -> Server {
    Server::launch(Options {
        files: files
            .iter()
            .map(|f| root().join("tests/fixtures/live").join(f))
            .collect(),
        env: vec![("WEIR_LOG".into(), "info".into())],
        wait_for,
        ..Options::default()
    })
}

fn ok(out: std::process::Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// Waits (at most 20 s) until `check` holds.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The reported status of spec `name` in namespace `t`, as the table of
/// `weir get specs` shows it.
fn status(server: &Server, name: &str) -> Option<String> {
    let out = server.weir(&["get", "specs", "-n", "t"]);
    let table = String::from_utf8_lossy(&out.stdout).to_string();
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.get(1) == Some(&name)).then(|| fields.get(4).unwrap_or(&"").to_string())
    })
}

#[test]
fn a_fork_reloaded_after_its_branch_is_re_created_writes_to_the_new_branch() {
    // The launch waits for one request to answer; each request logs once.
    let server = launch(&["audit.yaml", "fork.yaml"], Some("/"));
    let audited = |server: &Server| server.stderr().matches("audited").count();
    assert_eq!(server.get("/").unwrap().status, 200);
    eventually("the branch logs each request", || audited(&server) == 2);
    // The branch goes away (the fork depends on it: it takes --cascade)
    // and comes back as a new spec with a new id.
    ok(server.weir(&["delete", "specs", "audit", "-n", "t", "--cascade"]));
    ok(server.weir(&["apply", "-f", &fixture("audit.yaml")]));
    eventually("the fork is active again", || {
        status(&server, "split").as_deref() == Some("active")
    });
    for _ in 0..3 {
        assert_eq!(server.get("/").unwrap().status, 200);
    }
    eventually("each later request logs through the new branch", || {
        audited(&server) == 5
    });
}

#[test]
fn deleting_and_re_creating_a_spec_at_once_always_leaves_it_serving() {
    let server = launch(&["pong.yaml", "pong-listener.yaml"], Some("/"));
    for _ in 0..15 {
        ok(server.weir(&["delete", "specs", "pong", "-n", "t", "--cascade"]));
        ok(server.weir(&["apply", "-f", &fixture("pong.yaml")]));
    }
    eventually("pong serves", || {
        server
            .get("/")
            .is_ok_and(|r| r.status == 200 && r.body == "pong")
    });
    eventually("every stored spec reports active", || {
        status(&server, "pong").as_deref() == Some("active")
            && status(&server, "web").as_deref() == Some("active")
    });
}

#[test]
fn a_listener_whose_downstream_is_deleted_keeps_its_port_and_answers_503() {
    let server = launch(&["pong.yaml", "pong-listener.yaml"], Some("/"));
    ok(server.weir(&["delete", "specs", "pong", "-n", "t", "--cascade"]));
    eventually("the listener answers 503 naming pong", || {
        server
            .get("/")
            .is_ok_and(|r| r.status == 503 && r.body.contains("pong"))
    });
    ok(server.weir(&["apply", "-f", &fixture("pong.yaml")]));
    eventually("pong serves again on the same port", || {
        server.get("/").is_ok_and(|r| r.status == 200)
    });
}

#[test]
fn a_downstream_deleted_and_re_created_under_load_never_hangs_a_request() {
    let server = Arc::new(launch(&["pong.yaml", "pong-listener.yaml"], Some("/")));
    let stop = Arc::new(AtomicBool::new(false));
    let (served, unavailable) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (server, stop) = (server.clone(), stop.clone());
            let (served, unavailable) = (served.clone(), unavailable.clone());
            std::thread::spawn(move || {
                let mut client = server.connect();
                let deadline = Instant::now() + Duration::from_secs(60);
                let mut wrong = Vec::new();
                while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                    // The client's read timeout (20 s) turns a hang into an
                    // error.
                    match client.send("GET", "/", None, &[]) {
                        Ok(r) if r.status == 200 && r.body.starts_with("pong") => {
                            served.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(r) if r.status == 503 && r.body.contains("is not active") => {
                            unavailable.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(r) => wrong.push(format!("{r:?}")),
                        Err(e) => {
                            wrong.push(e.to_string());
                            client = server.connect();
                        }
                    }
                }
                wrong
            })
        })
        .collect();
    for round in 0..10 {
        ok(server.weir(&["delete", "specs", "pong", "-n", "t", "--cascade"]));
        let yaml = format!(
            "- {{kind: snippet, namespace: t, name: pong, language: json, code: '{{\"status\": 200, \"body\": \"pong {round}\"}}'}}\n"
        );
        server.apply_yaml("pong-next.yaml", &yaml);
    }
    server.wait_for_body("/", "pong 9");
    stop.store(true, Ordering::SeqCst);
    let wrong: Vec<String> = clients
        .into_iter()
        .flat_map(|c| c.join().expect("client"))
        .collect();
    assert!(wrong.is_empty(), "answers outside the contract: {wrong:?}");
    assert!(
        served.load(Ordering::SeqCst) > 10,
        "the load ran throughout"
    );
    eprintln!(
        "served {}, answered 503 while pong was missing {}",
        served.load(Ordering::SeqCst),
        unavailable.load(Ordering::SeqCst)
    );
}
