//! The system API (`specs/system/`) served by `weir start`, over real
//! loopback HTTP: every route, its auth, validation errors with field
//! paths, revision conflicts, the watch stream seeing a change made by
//! `weir apply`, secrets never in clear, the CLI's `--server` path, specs
//! created through the API serving at once, and fifty updates through the
//! API under load with no failed request. The core CRUD and watch run on
//! SQLite and on PostgreSQL (a database of their own each).

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};
use support::db::TestDb;
use support::load::Load;
use support::{Client, Options, READ_TOKEN, Reply, Server, root};

const JSON: (&str, &str) = ("Content-Type", "application/json");

/// A fresh PostgreSQL database for one test.
fn postgres() -> TestDb {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(TestDb::postgres())
}

/// Runs `scenario` with the server on SQLite and on PostgreSQL.
macro_rules! on_both {
    ($scenario:ident, $pg:ident, $sqlite:ident) => {
        #[test]
        fn $pg() {
            let db = postgres();
            $scenario(Some(db.url.clone()));
        }
        #[test]
        fn $sqlite() {
            $scenario(None);
        }
    };
}

fn server_on(database: Option<String>) -> Server {
    Server::launch(Options {
        database,
        ..Options::default()
    })
}

/// One call to the system API with the write token.
fn call(server: &Server, method: &str, path: &str, body: Option<&Json>) -> Reply {
    call_with(server, method, path, body, &[])
}

fn call_with(
    server: &Server,
    method: &str,
    path: &str,
    body: Option<&Json>,
    headers: &[(&str, &str)],
) -> Reply {
    let bearer = server.bearer();
    let mut all = vec![("Authorization", bearer.as_str()), JSON];
    all.extend_from_slice(headers);
    let body = body.map(|b| b.to_string().into_bytes());
    server
        .api()
        .send(method, path, body.as_deref(), &all)
        .unwrap()
}

fn snippet(namespace: &str, name: &str, code: &str) -> Json {
    json!({"kind": "snippet", "namespace": namespace, "name": name, "language": "text", "code": code})
}

fn names(listing: &Reply) -> Vec<String> {
    listing.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_string())
        .collect()
}

fn crud_with_revisions(database: Option<String>) {
    let server = server_on(database);
    let created = call(
        &server,
        "POST",
        "/v1/specs",
        Some(&snippet("t", "greet", "hello")),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.header("etag"), Some("\"1\""));
    let id = created.json()["id"].as_str().unwrap().to_string();
    assert_eq!(
        created.header("location"),
        Some(format!("/v1/specs/{id}").as_str())
    );
    let path = format!("/v1/specs/{id}");

    let got = call(&server, "GET", &path, None);
    assert_eq!((got.status, got.header("etag")), (200, Some("\"1\"")));
    assert_eq!(got.json()["document"]["code"], "hello");
    assert_eq!(got.json()["revision"], 1);

    // Filters.
    assert_eq!(
        names(&call(&server, "GET", "/v1/specs?namespace=t", None)),
        ["greet"]
    );
    assert_eq!(
        names(&call(
            &server,
            "GET",
            "/v1/specs?namespace=t&kind=snippet",
            None
        )),
        ["greet"]
    );
    assert!(
        names(&call(
            &server,
            "GET",
            "/v1/specs?namespace=t&kind=listener",
            None
        ))
        .is_empty()
    );
    assert_eq!(
        names(&call(&server, "GET", "/v1/specs?name=greet", None)),
        ["greet"]
    );
    assert_eq!(
        names(&call(&server, "GET", &format!("/v1/specs?id={id}"), None)),
        ["greet"]
    );
    let listing = call(&server, "GET", "/v1/specs?namespace=system", None).json();
    assert!(
        listing["items"].as_array().unwrap().len() > 10,
        "the system namespace is stored"
    );
    assert!(listing["head"].as_i64().unwrap() > 0);
    let unknown = call(&server, "GET", "/v1/specs?colour=red", None);
    assert_eq!(unknown.status, 400);
    assert!(
        unknown.body.contains("unknown query parameter `colour`"),
        "{}",
        unknown.body
    );
    assert_eq!(call(&server, "GET", "/v1/specs?id=nope", None).status, 400);

    // A name already taken.
    let again = call(
        &server,
        "POST",
        "/v1/specs",
        Some(&snippet("t", "greet", "hi")),
    );
    assert_eq!(again.status, 409);
    assert_eq!(again.json()["error"]["code"], "exists");

    // Update with the current revision, then with a stale one.
    let update = |code: &str, revision: &str| {
        call_with(
            &server,
            "PUT",
            &path,
            Some(&snippet("t", "greet", code)),
            &[("If-Match", revision)],
        )
    };
    let updated = update("bonjour", "\"1\"");
    assert_eq!(
        (updated.status, updated.header("etag")),
        (200, Some("\"2\"")),
        "{}",
        updated.body
    );
    let stale = update("hallo", "\"1\"");
    assert_eq!(stale.status, 409, "{}", stale.body);
    assert_eq!(stale.json()["error"]["code"], "conflict");
    assert!(
        stale.body.contains("is at revision 2, not 1"),
        "{}",
        stale.body
    );
    assert_eq!(
        call(&server, "GET", &path, None).json()["document"]["code"],
        "bonjour",
        "the stale update wrote nothing"
    );
    assert_eq!(
        update("hallo", "W/\"2\"").status,
        200,
        "weak tags name revisions too"
    );
    assert_eq!(
        update("x", "two").status,
        400,
        "If-Match must be a revision"
    );
    let other = serde_json::Value::String(unused_id());
    let mut moved = snippet("t", "greet", "x");
    moved["id"] = other.clone();
    let mismatch = call(&server, "PUT", &path, Some(&moved));
    assert_eq!(mismatch.status, 400);
    assert_eq!(mismatch.json()["error"]["details"][0]["path"], "id");
    let missing = call(
        &server,
        "PUT",
        &format!("/v1/specs/{}", other.as_str().unwrap()),
        Some(&snippet("t", "ghost", "x")),
    );
    assert_eq!(missing.status, 404, "{}", missing.body);

    // Delete: stale, then current.
    let delete =
        |revision: &str| call_with(&server, "DELETE", &path, None, &[("If-Match", revision)]);
    assert_eq!(delete("\"1\"").status, 409);
    let deleted = delete("\"3\"");
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(deleted.json()["name"], "greet");
    assert_eq!(call(&server, "GET", &path, None).status, 404);
    assert_eq!(call(&server, "DELETE", &path, None).status, 404);
    assert_eq!(
        call(&server, "GET", "/v1/specs/not-a-uuid", None).status,
        400
    );

    // A batch: a dry run stores nothing; then all at once; then a delete
    // and an update together.
    let batch = json!({"items": [snippet("t", "a", "1"), snippet("t", "b", "1")], "dry_run": true});
    let dry = call(&server, "POST", "/v1/specs/apply", Some(&batch));
    assert_eq!(dry.status, 200, "{}", dry.body);
    assert_eq!(dry.json()["created"], json!(["t/a", "t/b"]));
    assert!(names(&call(&server, "GET", "/v1/specs?namespace=t", None)).is_empty());
    let list = json!([snippet("t", "a", "1"), snippet("t", "b", "1")]);
    let applied = call(&server, "POST", "/v1/specs/apply", Some(&list));
    assert_eq!(
        applied.json()["created"],
        json!(["t/a", "t/b"]),
        "{}",
        applied.body
    );
    let batch = json!({
        "items": [snippet("t", "b", "2")],
        "delete": [{"namespace": "t", "name": "a"}, {"namespace": "t", "name": "nobody"}]
    });
    let plan = call(&server, "POST", "/v1/specs/apply", Some(&batch)).json();
    assert_eq!(plan["deleted"], json!(["t/a"]));
    assert_eq!(plan["missing"], json!(["t/nobody"]));
    assert_eq!(plan["updated"], json!(["t/b"]));
    assert_eq!(
        names(&call(&server, "GET", "/v1/specs?namespace=t", None)),
        ["b"]
    );

    // Values: a secret never comes back in clear.
    let secret =
        json!({"namespace": "t", "name": "password", "data": "hunter2-sekrit", "secret": true});
    let made = call(&server, "POST", "/v1/values", Some(&secret));
    assert_eq!(made.status, 201, "{}", made.body);
    let value_id = made.json()["id"].as_str().unwrap().to_string();
    let plain = json!({"namespace": "t", "name": "greeting", "data": {"text": "hello"}});
    assert_eq!(
        call(&server, "POST", "/v1/values", Some(&plain)).status,
        201
    );
    let listed = call(&server, "GET", "/v1/values?namespace=t", None);
    let got = call(&server, "GET", &format!("/v1/values/{value_id}"), None);
    let mut changed = secret.clone();
    changed["data"] = json!("hunter3-sekrit");
    let put = call(
        &server,
        "PUT",
        &format!("/v1/values/{value_id}"),
        Some(&changed),
    );
    assert_eq!(put.status, 200, "{}", put.body);
    for reply in [&made, &listed, &got, &put] {
        assert!(
            !reply.body.contains("sekrit"),
            "a secret in clear: {}",
            reply.body
        );
    }
    assert!(
        listed.body.contains("<redacted>") && listed.body.contains("hello"),
        "{}",
        listed.body
    );
    assert_eq!(got.json()["document"]["data"], "<redacted>");
    let kind_of_value = call(&server, "GET", "/v1/values?kind=snippet", None);
    assert_eq!(kind_of_value.status, 400, "values have no kind filter");
    let cli = server.weir(&[
        "get",
        "values",
        "-o",
        "json",
        "--server",
        &server.url(),
        "--token",
        &server.token(),
    ]);
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    let cli = String::from_utf8_lossy(&cli.stdout);
    assert!(
        cli.contains("<redacted>") && !cli.contains("sekrit"),
        "{cli}"
    );
    assert!(!server.stderr().contains("sekrit"), "nor in the log");
    let batch = json!({
        "items": [{"namespace": "t", "name": "greeting", "data": {"text": "bonjour"}}],
        "delete": [{"id": value_id}]
    });
    let plan = call(&server, "POST", "/v1/values/apply", Some(&batch));
    assert_eq!(plan.status, 200, "{}", plan.body);
    assert_eq!(plan.json()["deleted"], json!(["t/password"]));
    assert_eq!(plan.json()["updated"], json!(["t/greeting"]));
    let greeting = call(&server, "GET", "/v1/values?namespace=t&name=greeting", None).json();
    let greeting_id = greeting["items"][0]["id"].as_str().unwrap().to_string();
    let removed = call(
        &server,
        "DELETE",
        &format!("/v1/values/{greeting_id}"),
        None,
    );
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert!(names(&call(&server, "GET", "/v1/values?namespace=t", None)).is_empty());
}
on_both!(crud_with_revisions, crud_postgres, crud_sqlite);

/// A rename (or any update) that breaks another spec's link is refused
/// like a delete that would, unless asked for; the API never takes its own
/// namespace down, even when asked.
fn updates_that_take_others_down_are_refused(database: Option<String>) {
    let server = server_on(database);
    let target = call(
        &server,
        "POST",
        "/v1/specs",
        Some(&snippet("t", "target", "hi")),
    );
    assert_eq!(target.status, 201, "{}", target.body);
    let mut user = snippet("t", "user", "yo");
    user["ports"] = json!({"out": [{"name": "target"}]});
    assert_eq!(call(&server, "POST", "/v1/specs", Some(&user)).status, 201);
    let path = format!("/v1/specs/{}", target.json()["id"].as_str().unwrap());
    let renamed = snippet("t", "renamed", "hi");

    let refused = call(&server, "PUT", &path, Some(&renamed));
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert_eq!(refused.json()["error"]["code"], "would_deactivate");
    assert!(refused.body.contains("t/user"), "{}", refused.body);
    let kept = call(&server, "GET", &path, None).json();
    assert_eq!(
        (kept["name"].as_str(), kept["revision"].as_i64()),
        (Some("target"), Some(1)),
        "a refused update stores nothing"
    );
    // A change that breaks nothing goes through without the cascade.
    let same_name = snippet("t", "target", "hello");
    assert_eq!(call(&server, "PUT", &path, Some(&same_name)).status, 200);
    let cascaded = call(
        &server,
        "PUT",
        &format!("{path}?cascade=true"),
        Some(&renamed),
    );
    assert_eq!(cascaded.status, 200, "{}", cascaded.body);
    assert_eq!(cascaded.json()["name"], "renamed");

    let system = call(
        &server,
        "GET",
        "/v1/specs?namespace=system&name=front",
        None,
    )
    .json();
    let front = &system["items"][0];
    let front_path = format!("/v1/specs/{}", front["id"].as_str().unwrap());
    let mut moved = front["document"].clone();
    moved["name"] = json!("front2");
    moved.as_object_mut().unwrap().remove("id");
    let protected = call(
        &server,
        "PUT",
        &format!("{front_path}?cascade=true"),
        Some(&moved),
    );
    assert_eq!(protected.status, 409, "{}", protected.body);
    assert_eq!(protected.json()["error"]["code"], "system_protected");
    let refused = call(&server, "PUT", &front_path, Some(&moved));
    assert_eq!(
        refused.json()["error"]["code"],
        "would_deactivate",
        "{}",
        refused.body
    );
    let health = server.api().send("GET", "/healthz", None, &[]).unwrap();
    assert_eq!(health.status, 200, "the API still answers");
}
on_both!(
    updates_that_take_others_down_are_refused,
    refused_updates_postgres,
    refused_updates_sqlite
);

fn unused_id() -> String {
    // A UUID no row has.
    "0192f6a0-0000-7000-8000-000000000001".to_string()
}

fn watch_sees_changes(database: Option<String>) {
    let server = server_on(database);
    let bearer = server.bearer();
    let auth = [("Authorization", bearer.as_str())];
    let mut events = server
        .api()
        .events("/v1/specs/watch?namespace=w", &auth)
        .unwrap()
        .expect("a stream");
    let content_type = events
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.clone());
    assert_eq!(content_type.as_deref(), Some("text/event-stream"));
    let hello = events.next().unwrap();
    assert!(
        hello.comments[0].starts_with("watching after "),
        "{hello:?}"
    );

    // A change made by `weir apply`, straight to the database.
    let apply = |namespace: &str, name: &str| {
        server.apply_yaml(
            &format!("{namespace}-{name}.yaml"),
            &format!("- {{kind: snippet, namespace: {namespace}, name: {name}, language: text, code: hi}}\n"),
        )
    };
    apply("w", "x");
    let x = events.next_change().unwrap();
    let change: Json = serde_json::from_str(&x.data).unwrap();
    assert_eq!(
        (&change["name"], &change["operation"], &change["entity"]),
        (&json!("x"), &json!("insert"), &json!("spec"))
    );
    assert_eq!(x.id.as_deref(), Some(change["seq"].to_string().as_str()));
    assert!(
        change.get("document").is_none(),
        "changes carry no documents"
    );
    // Another namespace's change is filtered out; the next is y.
    apply("other", "z");
    apply("w", "y");
    let y = events.next_change().unwrap();
    assert!(y.data.contains("\"name\":\"y\""), "{y:?}");

    // A client that reconnects resumes after the last event it saw.
    let last = x.id.clone().unwrap();
    let mut resumed = server
        .api()
        .events(
            "/v1/specs/watch?namespace=w",
            &[auth[0], ("Last-Event-ID", &last)],
        )
        .unwrap()
        .expect("a stream");
    let again = resumed.next_change().unwrap();
    assert_eq!(again.id, y.id, "resumed after x");
    let mut from_zero = server
        .api()
        .events("/v1/specs/watch?after=0&name=x", &auth)
        .unwrap()
        .expect("a stream");
    assert_eq!(from_zero.next_change().unwrap().id, x.id, "?after replays");

    // Positions that do not exist: malformed is 400, not reached yet 409.
    for (bad, status) in [
        ("/v1/specs/watch?after=999999999", 409),
        ("/v1/specs/watch?after=soon", 400),
        ("/v1/specs/watch?kind=snippet", 400),
    ] {
        let refused = server
            .api()
            .events(bad, &auth)
            .unwrap()
            .err()
            .expect("refused");
        assert_eq!(refused.status, status, "{bad}: {}", refused.body);
    }

    // Values have their own stream, with no data in it.
    let mut values = server
        .api()
        .events("/v1/values/watch", &auth)
        .unwrap()
        .expect("a stream");
    let secret = json!({"namespace": "w", "name": "key", "data": "sekrit", "secret": true});
    assert_eq!(
        call(&server, "POST", "/v1/values", Some(&secret)).status,
        201
    );
    let change = values.next_change().unwrap();
    assert!(
        change.data.contains("\"entity\":\"value\"") && !change.data.contains("sekrit"),
        "{change:?}"
    );
}
on_both!(watch_sees_changes, watch_postgres, watch_sqlite);

#[test]
fn health_needs_no_token_and_every_v1_route_needs_one() {
    let server = server_on(None);
    let mut client = server.api();
    assert_eq!(
        client.send("GET", "/healthz", None, &[]).unwrap().status,
        200
    );
    let ready = client.send("GET", "/readyz", None, &[]).unwrap();
    assert_eq!((ready.status, &ready.json()["ready"]), (200, &json!(true)));

    let none = client.send("GET", "/v1/specs", None, &[]).unwrap();
    assert_eq!(none.status, 401);
    assert_eq!(
        none.header("www-authenticate"),
        Some("Bearer realm=\"weir\"")
    );
    let wrong = client
        .send(
            "GET",
            "/v1/openapi.json",
            None,
            &[("Authorization", "Bearer nope")],
        )
        .unwrap();
    assert_eq!(wrong.status, 401);
    assert!(
        wrong
            .header("www-authenticate")
            .unwrap()
            .contains("invalid_token")
    );
    let basic = client
        .send(
            "GET",
            "/v1/specs",
            None,
            &[("Authorization", "Basic dXNlcjpwYXNz")],
        )
        .unwrap();
    assert_eq!(basic.status, 401);

    let read = format!("Bearer {READ_TOKEN}");
    let read = [("Authorization", read.as_str()), JSON];
    assert_eq!(
        client
            .send("GET", "/v1/values", None, &read)
            .unwrap()
            .status,
        200
    );
    let body = snippet("t", "r", "x").to_string();
    let forbidden = client
        .send("POST", "/v1/specs", Some(body.as_bytes()), &read)
        .unwrap();
    assert_eq!(forbidden.status, 403);
    assert_eq!(forbidden.json()["error"]["code"], "forbidden");
    assert_eq!(
        call(&server, "POST", "/v1/specs", Some(&snippet("t", "r", "x"))).status,
        201
    );

    // The generated token: mode 0600, its path printed once, never itself.
    use std::os::unix::fs::PermissionsExt;
    let file = server.dir.join("weir-token");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let token = server.token();
    assert_eq!(token.len(), 64, "256 random bits in hex");
    let log = server.stderr();
    assert_eq!(
        log.matches("system API token written to weir-token")
            .count(),
        1,
        "{log}"
    );
    assert!(
        !log.contains(&token) && !log.contains(READ_TOKEN),
        "no token in the log"
    );
    for reply in [&none, &wrong, &forbidden] {
        assert!(!reply.body.contains(&token) && !reply.body.contains(READ_TOKEN));
    }

    // A restart reuses the token and says nothing more.
    let dir = server.dir.clone();
    let kept = support::unique("weir-restart");
    std::fs::create_dir_all(&kept).unwrap();
    std::fs::copy(dir.join("weir-token"), kept.join("weir-token")).unwrap();
    drop(server);
    let again = Server::launch(Options {
        dir: Some(kept.clone()),
        ..Options::default()
    });
    assert_eq!(again.token(), token);
    assert!(
        !again.stderr().contains("token written"),
        "{}",
        again.stderr()
    );
    again.stop();
    let _ = std::fs::remove_dir_all(&kept);
}

#[test]
fn weir_token_replaces_the_token_file() {
    let dir = support::unique("weir-env-token");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("weir-token"), "stale-file-token\n").unwrap();
    let server = Server::launch(Options {
        dir: Some(dir.clone()),
        env: vec![("WEIR_TOKEN".into(), "from-the-environment".into())],
        ..Options::default()
    });
    let mut client = server.api();
    let with = |token: &str| {
        let bearer = format!("Bearer {token}");
        Client::new(server.system_port)
            .send("GET", "/v1/specs", None, &[("Authorization", &bearer)])
            .unwrap()
            .status
    };
    assert_eq!(with("from-the-environment"), 200);
    assert_eq!(
        with("stale-file-token"),
        401,
        "the file is not used when WEIR_TOKEN is set"
    );
    assert_eq!(
        client.send("GET", "/healthz", None, &[]).unwrap().status,
        200
    );
    assert!(!server.stderr().contains("token written"));
    // WEIR_TOKEN in the environment serves --server, and is no obstacle to
    // the database path.
    let weir = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_weir"))
            .args(args)
            .current_dir(&dir)
            .env("WEIR_TOKEN", "from-the-environment")
            .env_remove("WEIR_DATABASE_URL")
            .output()
            .unwrap()
    };
    let direct = weir(&["get", "specs", "-n", "system", "-o", "json"]);
    let remote = weir(&[
        "get",
        "specs",
        "-n",
        "system",
        "-o",
        "json",
        "--server",
        &server.url(),
    ]);
    assert!(
        direct.status.success(),
        "{}",
        String::from_utf8_lossy(&direct.stderr)
    );
    assert!(
        remote.status.success(),
        "{}",
        String::from_utf8_lossy(&remote.stderr)
    );
    assert_eq!(direct.stdout, remote.stdout);
    server.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn invalid_documents_get_every_problem_with_its_field_path_and_nothing_is_stored() {
    let server = server_on(None);
    let many = json!({"kind": "snippet", "namespace": "t", "name": "bad", "languag": "text"});
    let refused = call(&server, "POST", "/v1/specs", Some(&many));
    assert_eq!(refused.status, 400);
    let error = &refused.json()["error"];
    assert_eq!(error["code"], "invalid");
    let paths: Vec<&str> = error["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    for expected in ["languag", "language", "code"] {
        assert!(paths.contains(&expected), "{expected} in {paths:?}");
    }
    assert_eq!(error["details"][0]["name"], "bad");
    assert_eq!(error["details"][0]["kind"], "snippet");

    // A batch: the problems of each spec, by position; nothing stored.
    let batch = json!([
        {"kind": "if", "namespace": "t", "name": "branch", "when": "self >", "ports": {"out[0]": [{"name": "nowhere"}]}},
        snippet("t", "fine", "x"),
        {"kind": "snippet", "namespace": "t", "name": "linked", "language": "text", "code": "x",
         "ports": {"out": [{"name": "fine", "namespace": "elsewhere"}]}},
        {"kind": "specs", "namespace": "t", "name": "sneaky", "op": "list"},
        {"kind": "nope", "namespace": "t", "name": "unknown"}
    ]);
    let refused = call(&server, "POST", "/v1/specs/apply", Some(&batch));
    assert_eq!(refused.status, 400, "{}", refused.body);
    let problems: Vec<(u64, String)> = refused.json()["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["index"].as_u64().unwrap(),
                p["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // (A link written to another namespace, #2, is a warning: refused,
    // the answer lists what refuses it.)
    assert!(!problems.iter().any(|(i, _)| *i == 2), "{problems:?}");
    for expected in [(0, "when"), (3, "namespace"), (4, "kind")] {
        assert!(
            problems.contains(&(expected.0, expected.1.to_string())),
            "{expected:?} in {problems:?}"
        );
    }
    assert!(
        refused.body.contains("runs only in the `system` namespace"),
        "{}",
        refused.body
    );
    assert!(
        names(&call(&server, "GET", "/v1/specs?namespace=t", None)).is_empty(),
        "nothing stored"
    );

    // Bodies that are not documents.
    let list = call(
        &server,
        "POST",
        "/v1/specs",
        Some(&json!([snippet("t", "a", "x")])),
    );
    assert_eq!(list.status, 400);
    let scalar = call(&server, "POST", "/v1/specs/apply", Some(&json!("specs")));
    assert_eq!(scalar.status, 400);
    assert!(
        scalar.body.contains("a JSON object or list, not string"),
        "{}",
        scalar.body
    );
    let mut client = server.api();
    let bearer = server.bearer();
    let invalid = client
        .send(
            "POST",
            "/v1/specs",
            Some(b"{\"kind\": "),
            &[("Authorization", &bearer), JSON],
        )
        .unwrap();
    assert_eq!(invalid.status, 400);
    assert!(invalid.body.contains("not valid JSON"), "{}", invalid.body);
    let text = client
        .send(
            "POST",
            "/v1/specs",
            Some(b"kind: snippet"),
            &[("Authorization", &bearer), ("Content-Type", "text/plain")],
        )
        .unwrap();
    assert_eq!(text.status, 415, "{}", text.body);
    let empty = client
        .send("POST", "/v1/specs", None, &[("Authorization", &bearer)])
        .unwrap();
    assert_eq!(empty.status, 400);
    // YAML is read too, with the same checks.
    let yaml = b"- {kind: snippet, namespace: t, name: from-yaml, language: text, code: hi}\n";
    let applied = client
        .send(
            "POST",
            "/v1/specs/apply",
            Some(yaml),
            &[
                ("Authorization", &bearer),
                ("Content-Type", "application/yaml"),
            ],
        )
        .unwrap();
    assert_eq!(applied.status, 200, "{}", applied.body);
    assert_eq!(applied.json()["created"], json!(["t/from-yaml"]));
    // A value with a name that cannot be one.
    let bad_value = call(
        &server,
        "POST",
        "/v1/values",
        Some(&json!({"name": "a/b", "data": 1})),
    );
    assert_eq!(bad_value.status, 400);
    assert_eq!(bad_value.json()["error"]["details"][0]["path"], "name");
}

#[test]
fn bad_http_unknown_routes_and_big_bodies_are_refused() {
    let server = server_on(None);
    let bearer = server.bearer();
    let auth = [("Authorization", bearer.as_str()), JSON];
    let mut client = server.api();
    assert_eq!(
        client.send("GET", "/nowhere", None, &[]).unwrap().status,
        404
    );
    assert_eq!(
        client
            .send("GET", "/v1/nowhere", None, &auth)
            .unwrap()
            .status,
        404
    );
    let wrong = client.send("DELETE", "/v1/specs", None, &auth).unwrap();
    assert_eq!(
        (wrong.status, wrong.header("allow")),
        (405, Some("GET, POST"))
    );
    let huge = vec![b'x'; 2 * 1024 * 1024];
    let too_big = server
        .api()
        .send("POST", "/v1/specs", Some(&huge), &auth)
        .unwrap();
    assert_eq!(too_big.status, 413);
    use std::io::{Read, Write};
    let mut raw = std::net::TcpStream::connect(("127.0.0.1", server.system_port)).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    raw.write_all(b"GARBAGE\r\n\r\n").unwrap();
    let mut answer = String::new();
    let _ = raw.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer:?}");
    assert_eq!(
        server
            .api()
            .send("GET", "/healthz", None, &[])
            .unwrap()
            .status,
        200
    );
}

/// What the OpenAPI document allows is accepted, and what the server
/// refuses is in it: empty `If-Match` and `Last-Event-ID` are absent, an
/// apply with the wrong method is a 405, a repeated query parameter or body
/// key is a 400 naming it, and names must be non-empty in the schemas.
#[test]
fn answers_keep_the_documents_contract() {
    let server = server_on(None);
    let created = call(
        &server,
        "POST",
        "/v1/specs",
        Some(&snippet("c", "one", "hi")),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let path = format!("/v1/specs/{}", created.json()["id"].as_str().unwrap());
    let empty = call_with(
        &server,
        "PUT",
        &path,
        Some(&snippet("c", "one", "bye")),
        &[("If-Match", "")],
    );
    assert_eq!(
        empty.status, 200,
        "an empty If-Match expects nothing: {}",
        empty.body
    );
    let bearer = server.bearer();
    let watch = server
        .api()
        .events(
            "/v1/specs/watch",
            &[("Authorization", bearer.as_str()), ("Last-Event-ID", "")],
        )
        .unwrap();
    assert!(watch.is_ok(), "an empty Last-Event-ID is none");
    // A value outside the documented pattern is refused, also when its
    // bytes are not visible ASCII (once dropped, so read as absent).
    let odd = call_with(
        &server,
        "PUT",
        &path,
        Some(&snippet("c", "one", "odd")),
        &[("If-Match", "\u{84}")],
    );
    assert_eq!(odd.status, 400, "{}", odd.body);
    let odd = server
        .api()
        .send(
            "GET",
            "/v1/specs/watch",
            None,
            &[
                ("Authorization", bearer.as_str()),
                ("Last-Event-ID", "\u{84}"),
            ],
        )
        .unwrap();
    assert_eq!(odd.status, 400, "{}", odd.body);
    let put = call(&server, "PUT", "/v1/specs/apply", Some(&json!([])));
    assert_eq!(
        (put.status, put.header("allow")),
        (405, Some("POST")),
        "{}",
        put.body
    );
    let repeated = call(&server, "GET", "/v1/specs?name=a&name=b", None);
    assert_eq!(repeated.status, 400);
    assert!(
        repeated.body.contains("query parameter `name` is repeated"),
        "{}",
        repeated.body
    );
    let bytes =
        br#"{"kind": "snippet", "name": "x", "name": "y", "language": "text", "code": "a"}"#;
    let auth = [("Authorization", bearer.as_str()), JSON];
    let twice = server
        .api()
        .send("POST", "/v1/specs", Some(&bytes[..]), &auth)
        .unwrap();
    assert_eq!(twice.status, 400);
    assert!(
        twice.body.contains("duplicate key `name`"),
        "{}",
        twice.body
    );
    let doc = call(&server, "GET", "/v1/openapi.json", None).json();
    let text = doc.to_string();
    assert!(
        text.contains(r#""pattern":"^[^/\\u0000-\\u001f\\u007f-\\u009f]+$""#),
        "names must be non-empty in the schemas"
    );
    assert!(
        text.contains(r#""not":{"required":["id"]}"#),
        "update bodies leave the id to the URL"
    );
}

/// The document's links are followed as a client (or schemathesis's
/// stateful phase) follows them: from a create to replace (with the ETag
/// as `If-Match`), from that answer to get, then delete; each call is
/// made from the link's operation and expressions alone.
#[test]
fn openapi_links_lead_from_a_write_to_the_row_it_stored() {
    let server = server_on(None);
    let document: Json = call(&server, "GET", "/v1/openapi.json", None).json();
    let operation = |id: &str| -> (String, String) {
        for (path, item) in document["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                if op["operationId"] == id {
                    return (method.to_uppercase(), path.clone());
                }
            }
        }
        panic!("no operation {id}");
    };
    // Follows `link` of `answer`: the method, the URL and the If-Match header.
    let follow = |answer: &Reply, link: &Json| -> (String, String, Option<String>) {
        let (method, mut path) = operation(link["operationId"].as_str().unwrap());
        let mut if_match = None;
        for (name, expression) in link["parameters"].as_object().unwrap() {
            let value = match expression.as_str().unwrap() {
                "$response.body#/id" => answer.json()["id"].as_str().unwrap().to_string(),
                "$response.header.ETag" => answer.header("etag").unwrap().to_string(),
                other => panic!("an expression this test does not know: {other}"),
            };
            match name.strip_prefix("header.") {
                Some("If-Match") => if_match = Some(value),
                Some(other) => panic!("header {other}"),
                None => path = path.replace(&format!("{{{name}}}"), &value),
            }
        }
        (method, path, if_match)
    };
    let created = call(
        &server,
        "POST",
        "/v1/specs",
        Some(&snippet("linked", "a", "1")),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let links = &document["paths"]["/v1/specs"]["post"]["responses"]["201"]["links"];
    let (method, path, if_match) = follow(&created, &links["replace"]);
    let if_match = if_match.expect("replace sends If-Match");
    let replaced = call_with(
        &server,
        &method,
        &path,
        Some(
            &json!({"kind": "snippet", "namespace": "linked", "name": "a", "language": "text", "code": "2"}),
        ),
        &[("If-Match", &if_match)],
    );
    assert_eq!(replaced.status, 200, "{method} {path}: {}", replaced.body);
    let links = &document["paths"]["/v1/specs/{id}"]["put"]["responses"]["200"]["links"];
    let (method, path, _) = follow(&replaced, &links["get"]);
    let got = call(&server, &method, &path, None);
    assert_eq!(got.json()["document"]["code"], "2", "{}", got.body);
    let links = &document["paths"]["/v1/specs/{id}"]["get"]["responses"]["200"]["links"];
    let (method, path, if_match) = follow(&got, &links["delete"]);
    let if_match = if_match.unwrap();
    let deleted = call_with(&server, &method, &path, None, &[("If-Match", &if_match)]);
    assert_eq!(deleted.status, 200, "{method} {path}: {}", deleted.body);
    assert_eq!(call(&server, "GET", &path, None).status, 404);
}

#[test]
fn openapi_describes_every_route_and_schemas_every_kind() {
    let server = server_on(None);
    let described = call(&server, "GET", "/v1/openapi.json", None);
    assert_eq!(described.status, 200);
    // The shape is checked here; schemathesis (scripts/schemathesis.sh)
    // reads it as OpenAPI 3.1 with its own validator.
    let document: Json = described.json();
    assert_eq!(document["openapi"], "3.1.0");
    // Every route the bundled routers serve is named, with its method.
    let http = std::fs::read_to_string(root().join("specs/system/http.yaml")).unwrap();
    let specs: Vec<Json> = serde_yaml_ng_free(&http);
    let mut routes = 0;
    for router in specs.iter().filter(|s| s["kind"] == "router") {
        for route in router["routes"].as_array().unwrap() {
            let method = route["method"].as_str().unwrap().to_ascii_lowercase();
            let path = route["path"].as_str().unwrap();
            if path.contains('*') {
                continue; // The front router's /v1/* leads to the api router.
            }
            let template: String = path
                .split('/')
                .map(|s| match s.strip_prefix(':') {
                    Some(name) => format!("{{{name}}}"),
                    None => s.to_string(),
                })
                .collect::<Vec<_>>()
                .join("/");
            let operation = &document["paths"][&template][&method];
            assert!(operation["responses"].is_object(), "{method} {template}");
            let secured = operation["security"]
                .as_array()
                .is_some_and(|s| !s.is_empty());
            assert_eq!(secured, template.starts_with("/v1"), "{method} {template}");
            routes += 1;
        }
    }
    assert!(routes >= 19, "{routes}");
    let schemas = &document["components"]["schemas"];
    for name in [
        "Spec",
        "NamedValue",
        "Listed",
        "ListedAdmitted",
        "PlanAdmitted",
        "ChangeRow",
        "Problem",
    ] {
        assert!(schemas[name].is_object(), "{name} in {schemas}");
    }
    // A spec is one of a schema per kind, each naming its kind.
    let kinds: Vec<&str> = schemas["Spec"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["$ref"].as_str().unwrap())
        .map(|r| r.trim_start_matches("#/components/schemas/Spec_"))
        .collect();
    assert!(
        kinds.contains(&"specs") && kinds.contains(&"listener"),
        "{kinds:?}"
    );
    for kind in &kinds {
        let variant = &schemas[format!("Spec_{kind}")];
        assert_eq!(variant["properties"]["kind"]["enum"], json!([kind]));
        assert_eq!(variant["additionalProperties"], false, "{kind}");
    }
    assert_eq!(
        schemas["Spec_auth"]["required"],
        json!(["kind", "tokens"]),
        "a kind's required fields are the spec's"
    );

    let all = call(&server, "GET", "/v1/schemas", None).json();
    for kind in [
        "listener", "router", "auth", "snippet", "specs", "values", "schemas", "openapi",
    ] {
        assert!(all["kinds"][kind]["schema"].is_object(), "{kind}");
    }
    assert!(all["spec"]["properties"]["kind"].is_object());
    let one = call(&server, "GET", "/v1/schemas/specs", None).json();
    assert_eq!(one["kind"], "specs");
    assert!(one["schema"].to_string().contains("watch"), "{one}");
    let none = call(&server, "GET", "/v1/schemas/nope", None);
    assert_eq!(none.status, 404);
    assert!(none.body.contains("no kind `nope`"));
}

/// YAML to JSON values without a YAML dependency of the tests' own: the
/// engine's reader.
fn serde_yaml_ng_free(text: &str) -> Vec<Json> {
    weir_engine::spec::source::parse(text, weir_engine::spec::source::Format::Yaml, None)
        .unwrap()
        .into_iter()
        .map(|s| serde_json::to_value(s.spec).unwrap())
        .collect()
}

#[test]
fn a_spec_created_through_the_api_serves_without_a_restart() {
    let server = Server::start();
    assert_eq!(server.get("/hello").unwrap().status, 404);
    let listed = call(
        &server,
        "GET",
        "/v1/specs?namespace=examples&name=routes",
        None,
    )
    .json();
    let mut router = listed["items"][0]["document"].clone();
    router["routes"]
        .as_array_mut()
        .unwrap()
        .push(json!({"method": "GET", "path": "/hello", "port": "out[2]"}));
    router["ports"]["out[2]"] = json!([{"name": "hello"}]);
    let batch = json!({"items": [router, snippet("examples", "hello", "hello from the API")]});
    let applied = call(&server, "POST", "/v1/specs/apply", Some(&batch));
    assert_eq!(applied.status, 200, "{}", applied.body);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let reply = server.get("/hello").unwrap();
        if reply.status == 200 {
            assert_eq!(reply.json(), "hello from the API");
            break;
        }
        assert!(Instant::now() < deadline, "never served: {reply:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        server.get("/ping").unwrap().body,
        "pong",
        "the rest still serves"
    );
}

#[test]
fn fifty_updates_through_the_api_under_load_fail_no_request() {
    let server = Arc::new(Server::start());
    let ping = call(
        &server,
        "GET",
        "/v1/specs?namespace=examples&name=ping",
        None,
    )
    .json();
    let id = ping["items"][0]["id"].as_str().unwrap().to_string();
    let mut revision = ping["items"][0]["revision"].as_i64().unwrap();
    let load = Load::start(&server, "/ping", 4);
    let path = format!("/v1/specs/{id}");
    for version in 1..=50 {
        let spec = json!({
            "kind": "snippet", "namespace": "examples", "name": "ping", "language": "json",
            "code": format!("{{\"status\": 200, \"body\": \"pong {version}\"}}")
        });
        let tag = format!("\"{revision}\"");
        let updated = call_with(&server, "PUT", &path, Some(&spec), &[("If-Match", &tag)]);
        assert_eq!(updated.status, 200, "{}", updated.body);
        revision = updated.json()["revision"].as_i64().unwrap();
    }
    server.wait_for_body("/ping", "pong 50");
    let seen = load.finish();
    assert_eq!(seen.failed, 0, "no request failed during 50 updates");
    assert!(seen.served > 50, "the load ran throughout");
    assert!(seen.lasts.iter().all(|l| l.starts_with("pong")), "{seen:?}");
}

#[test]
fn the_cli_talks_to_a_running_engine_with_the_same_output() {
    let server = server_on(None);
    let url = server.url();
    let token = server.token();
    let flow = root().join("tests/fixtures/flow.yaml");
    let flow = flow.to_str().unwrap();
    let remote = |args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--server", &url, "--token", &token]);
        server.weir(&all)
    };
    let text = |out: &std::process::Output| {
        (
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let dry = remote(&["apply", "-f", flow, "--dry-run"]);
    assert!(
        text(&dry).0.contains("would create default/double"),
        "{:?}",
        text(&dry)
    );
    let applied = remote(&["apply", "-f", flow]);
    assert!(applied.status.success(), "{:?}", text(&applied));
    assert_eq!(text(&applied).0.matches("created ").count(), 4);
    // The same listing either way.
    let through_api = text(&remote(&["get", "specs", "-n", "default", "-o", "yaml"])).0;
    let direct = text(&server.weir(&["get", "specs", "-n", "default", "-o", "yaml"])).0;
    assert_eq!(through_api, direct);
    assert!(through_api.contains("kind: if"), "{through_api}");
    let table = text(&remote(&[
        "get", "specs", "-n", "default", "--kind", "snippet",
    ]))
    .0;
    assert!(table.starts_with("NAMESPACE  NAME"), "{table}");
    assert_eq!(table.lines().count(), 4, "{table}");

    // An invalid file: the same lines, with file and spec, either way.
    let bad = root().join("tests/fixtures/apply/mixed");
    let bad = bad.to_str().unwrap();
    let through_api = remote(&["apply", "-f", bad]);
    let direct = server.weir(&["apply", "-f", bad]);
    assert_eq!(through_api.status.code(), Some(1));
    assert_eq!(text(&through_api).1, text(&direct).1);
    assert!(
        text(&direct)
            .1
            .contains("b-bad.yaml: spec #1 `bad` (if): when:"),
        "{}",
        text(&direct).1
    );

    // Values, secrets redacted on the way back.
    let values = root().join("tests/fixtures/apply/values.yaml");
    let stored = remote(&["apply", "values", "-f", values.to_str().unwrap()]);
    assert!(stored.status.success(), "{:?}", text(&stored));
    let listed = text(&remote(&["get", "values"])).0;
    assert_eq!(listed, text(&server.weir(&["get", "values"])).0);
    assert!(
        listed.contains("<redacted>") && !listed.contains("hunter2"),
        "{listed}"
    );

    // A delete that would take other specs down is refused, naming them;
    // with --cascade it goes ahead. Names that were not there are reported.
    let refused = remote(&["delete", "specs", "yes", "ghost"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused)
            .1
            .contains("would deactivate default/big, default/double"),
        "{:?}",
        text(&refused)
    );
    let deleted = remote(&["delete", "specs", "yes", "ghost", "--cascade"]);
    assert_eq!(deleted.status.code(), Some(1));
    let (out, err) = text(&deleted);
    assert!(
        out.contains("deleted default/yes") && err.contains("not found: default/ghost"),
        "{out} {err}"
    );

    // Without a token the server says so.
    let refused = server.weir(&["get", "specs", "--server", &url]);
    let dir_token = refused.status.success();
    assert!(
        dir_token,
        "the token file in the working directory is used by default"
    );
    let elsewhere = support::unique("weir-no-token");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(["get", "specs", "--server", &url])
        .current_dir(&elsewhere)
        .env_remove("WEIR_TOKEN")
        .env_remove("WEIR_TOKEN_FILE")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&elsewhere);
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("refused the token") && err.contains("--token"),
        "{err}"
    );
    assert!(!err.contains(&token));
}

/// The console's files come from the binary (the server runs in a folder of
/// its own): the page, its script with a validator, and nothing else.
#[test]
fn the_console_is_served_from_the_binary() {
    let server = server_on(None);
    let mut client = server.api();
    let page = client.send("GET", "/console", None, &[]).unwrap();
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(page.body.contains("Engine console"));
    let script = client
        .send("GET", "/console/console.js", None, &[])
        .unwrap();
    assert_eq!(
        (script.status, script.header("content-type")),
        (200, Some("text/javascript; charset=utf-8"))
    );
    let etag = script.header("etag").unwrap().to_string();
    let again = client
        .send(
            "GET",
            "/console/console.js",
            None,
            &[("If-None-Match", &etag)],
        )
        .unwrap();
    assert_eq!(again.status, 304);
    for missing in [
        "/console/nothing.js",
        "/console/..%2f..%2fCargo.toml",
        "/console/../weir-token",
    ] {
        assert_eq!(
            client.send("GET", missing, None, &[]).unwrap().status,
            404,
            "{missing}"
        );
    }
}
/// A listener whose port is an `os` variable with no default.
const UNBOUND: &str = r#"
- kind: listener
  namespace: envtest
  name: unbound
  env:
    PORT: {os: WEIR_TEST_UNBOUND_PORT}
  port: "{{ PORT }}"
  ports:
    out: [{name: unbound-pong}]
- kind: snippet
  namespace: envtest
  name: unbound-pong
  language: json
  code: '"pong"'
"#;

/// `weir apply` in `dir` (on `database`, else the folder's SQLite file),
/// with `WEIR_TEST_UNBOUND_PORT` as given in the applying shell.
fn apply_in(dir: &std::path::Path, database: &Option<String>, shell_port: Option<&str>) {
    let file = dir.join("unbound.yaml");
    std::fs::write(&file, UNBOUND).unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_weir"));
    command
        .args(["apply", "-f", file.to_str().unwrap()])
        .current_dir(dir)
        .env_remove("WEIR_DATABASE_URL")
        .env_remove("WEIR_TEST_UNBOUND_PORT");
    if let Some(url) = database {
        command.args(["--database", url]);
    }
    if let Some(port) = shell_port {
        command.env("WEIR_TEST_UNBOUND_PORT", port);
    }
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "apply refused a spec whose os variable only the engine binds: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The `weir get specs -n envtest` line of `unbound`.
fn unbound_status(server: &Server) -> String {
    let out = server.weir(&["get", "specs", "-n", "envtest"]);
    let table = String::from_utf8_lossy(&out.stdout).to_string();
    table
        .lines()
        .find(|line| line.split_whitespace().nth(1) == Some("unbound"))
        .unwrap_or_default()
        .to_string()
}

/// `os` variables are bound where a spec loads, never where it is applied:
/// apply takes the spec whatever the applying shell's environment says; an
/// engine without the variable reports the spec failed (naming the
/// variable) in `weir get specs` and `/readyz`; one with it serves.
fn os_variables_bind_at_load(database: Option<String>) {
    let dir = support::unique("weir-unbound");
    std::fs::create_dir_all(&dir).unwrap();
    apply_in(&dir, &database, None);
    // What the applying shell holds is not looked at: not even a bad value.
    apply_in(&dir, &database, Some("not-a-port"));

    let server = Server::launch(Options {
        database: database.clone(),
        dir: Some(dir.clone()),
        unready: true,
        ..Options::default()
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let line = loop {
        let line = unbound_status(&server);
        if line.contains("failed") {
            break line;
        }
        assert!(Instant::now() < deadline, "never reported failed: {line:?}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(line.contains("WEIR_TEST_UNBOUND_PORT"), "{line}");
    assert!(line.contains("not set"), "{line}");
    let ready = server.api().send("GET", "/readyz", None, &[]).unwrap();
    assert_eq!(ready.status, 503, "{}", ready.body);
    let failed = ready.json()["failed"].clone();
    let named = failed.as_array().unwrap().iter().any(|f| {
        f["message"]
            .as_str()
            .is_some_and(|m| m.contains("WEIR_TEST_UNBOUND_PORT"))
    });
    assert!(named, "{failed}");
    server.stop();

    // An engine whose environment has it binds it and serves.
    let port = support::free_port();
    let server = Server::launch(Options {
        database,
        dir: Some(dir.clone()),
        env: vec![("WEIR_TEST_UNBOUND_PORT".into(), port.to_string())],
        ..Options::default()
    });
    let mut client = Client::new(port);
    let pong = client.send("GET", "/", None, &[]).unwrap();
    assert_eq!((pong.status, pong.body.as_str()), (200, "\"pong\""));
    assert!(
        unbound_status(&server).contains("active"),
        "{}",
        unbound_status(&server)
    );
    server.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
on_both!(
    os_variables_bind_at_load,
    os_variables_bind_at_load_postgres,
    os_variables_bind_at_load_sqlite
);

/// A spec needing an `os` variable is checked where it is applied for what
/// does not depend on the variable: its `env` (a variable with no source
/// and no, or a null, `default` is refused), and, when no field is a
/// template, its own fields; not stored to fail at load. (Both found by
/// schemathesis's fuzzing.)
#[test]
fn an_env_variable_with_no_source_is_refused_beside_an_os_one() {
    let server = server_on(None);
    let spec = json!({
        "kind": "snippet", "namespace": "shape", "name": "a", "language": "text", "code": "1",
        "env": {"PORT": {"os": "WEIR_TEST_NEVER_SET"}, "k": {"default": null}, "j": {}}
    });
    for (method, path) in [("POST", "/v1/specs"), ("POST", "/v1/specs/apply")] {
        let body = match path {
            "/v1/specs" => spec.clone(),
            _ => json!([spec]),
        };
        let refused = call(&server, method, path, Some(&body));
        assert_eq!(refused.status, 400, "{path}: {}", refused.body);
        let paths: Vec<String> = refused.json()["error"]["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["path"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(paths, ["env.j", "env.k"], "{}", refused.body);
    }
    // Its own fields are checked too when none is a template (no field
    // depends on the variable): a `job` whose `node` is no name.
    let job = json!({
        "kind": "job", "namespace": "shape", "name": "j", "op": "list", "node": [[]],
        "env": {"PORT": {"os": "WEIR_TEST_NEVER_SET"}}
    });
    let refused = call(&server, "POST", "/v1/specs", Some(&job));
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("node"), "{}", refused.body);
    let listed = call(&server, "GET", "/v1/specs?namespace=shape", None);
    assert!(names(&listed).is_empty(), "nothing stored: {}", listed.body);
}

/// A document whose only fault is naming what the namespace does not hold
/// (a link's target, a stored value) conflicts with the store's state:
/// 409 `unresolved`, every such reference listed. Once the target exists
/// the same document is accepted. A document that is also wrong in itself
/// stays a 400.
#[test]
fn references_to_what_is_not_stored_are_a_conflict_not_a_bad_request() {
    let server = server_on(None);
    let linked = json!({
        "kind": "snippet", "namespace": "refs", "name": "a",
        "language": "cel", "code": "1",
        "ports": {"out": [{"name": "b"}]},
        "env": {"K": {"from": "missing-value"}}
    });
    let unresolved = |paths: &[&str]| {
        let refused = call(&server, "POST", "/v1/specs", Some(&linked));
        assert_eq!(refused.status, 409, "{}", refused.body);
        let error = &refused.json()["error"];
        assert_eq!(error["code"], "unresolved");
        let found: Vec<String> = error["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["path"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(found, paths, "{error}");
    };
    // The value is bound first; a spec that does not bind is not linked.
    unresolved(&["env.K"]);
    let value = json!({"namespace": "refs", "name": "missing-value", "data": "v"});
    assert_eq!(
        call(&server, "POST", "/v1/values", Some(&value)).status,
        201
    );
    unresolved(&["ports.out[0]"]);

    let also_bad = json!({
        "kind": "if", "namespace": "refs", "name": "c", "when": "(((",
        "ports": {"out[0]": [{"name": "b"}]}
    });
    let refused = call(&server, "POST", "/v1/specs", Some(&also_bad));
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(refused.json()["error"]["code"], "invalid");

    let target = json!({"kind": "snippet", "namespace": "refs", "name": "b", "language": "cel", "code": "2"});
    assert_eq!(
        call(&server, "POST", "/v1/specs", Some(&target)).status,
        201
    );
    let accepted = call(&server, "POST", "/v1/specs", Some(&linked));
    assert_eq!(accepted.status, 201, "{}", accepted.body);
}

/// What the published schema allows but cannot work as written (a field
/// naming what another field or the store lacks) is stored, with warnings
/// in the answer; the node then says why it does not load. A name given
/// twice in a batch: the later spec replaces the earlier.
#[test]
fn schema_valid_specs_that_cannot_work_are_stored_with_warnings() {
    let server = server_on(None);
    let batch = json!({"items": [
        {"kind": "sql", "namespace": "warn", "name": "q", "connection": "DB",
         "query": "SELECT :a", "params": {"b": "b"}},
        {"kind": "snippet", "namespace": "warn", "name": "s", "language": "text", "code": "x",
         "ports": {"out": [{"name": "q", "namespace": "elsewhere"}]}},
        {"kind": "snippet", "namespace": "warn", "name": "s", "language": "text", "code": "y"}
    ]});
    let applied = call(&server, "POST", "/v1/specs/apply", Some(&batch));
    assert_eq!(applied.status, 200, "{}", applied.body);
    let answer = applied.json();
    let warned: Vec<(u64, &str)> = answer["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["index"].as_u64().unwrap(), w["path"].as_str().unwrap()))
        .collect();
    // The replaced spec's own warning goes with it.
    assert_eq!(
        warned,
        [(0, "connection"), (0, "params.b"), (2, "name")],
        "{answer}"
    );
    assert_eq!(answer["created"], json!(["warn/q", "warn/s"]), "{answer}");
    let listed = call(&server, "GET", "/v1/specs?namespace=warn&name=s", None);
    assert_eq!(listed.json()["items"][0]["document"]["code"], "y");

    // The node reports it as it loads: `/readyz` names it and why.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ready = call(&server, "GET", "/readyz", None);
        let failed = ready.json()["failed"].to_string();
        if failed.contains("is not a variable of this spec's `env`") {
            assert_eq!(ready.status, 503);
            break;
        }
        assert!(Instant::now() < deadline, "never reported: {}", ready.body);
        std::thread::sleep(Duration::from_millis(50));
    }

    // One document: the same, with the row.
    let one = json!({"kind": "snippet", "namespace": "warn", "name": "t", "language": "text",
                     "code": "x", "ports": {"out": [{"name": "s", "namespace": "other"}]}});
    let created = call(&server, "POST", "/v1/specs", Some(&one));
    assert_eq!(created.status, 201, "{}", created.body);
    let created = created.json();
    assert_eq!(created["name"], "t");
    assert!(
        created["warnings"][0]["message"]
            .as_str()
            .is_some_and(|m| m.ends_with("links cannot cross namespaces: the node will not load")),
        "{created}"
    );
    // Without warnings, the answer has none.
    let clean = call(
        &server,
        "POST",
        "/v1/specs",
        Some(&snippet("warn", "u", "x")),
    );
    assert!(clean.json().get("warnings").is_none(), "{}", clean.body);
}

/// Admission checks a document among the stored specs it reaches, which
/// are decoded for their ports and links only: a cycle through a stored
/// spec is refused, and so is a link to an in-port a stored spec lacks.
#[test]
fn admission_sees_the_stored_specs_a_document_reaches() {
    let server = server_on(None);
    let log = |name: &str, to: Option<&str>| {
        let mut spec = json!({"kind": "log", "namespace": "reach", "name": name});
        if let Some(to) = to {
            spec["ports"] = json!({"out": [{"name": to}]});
        }
        spec
    };
    for spec in [log("b", None), log("a", Some("b"))] {
        let created = call(&server, "POST", "/v1/specs", Some(&spec));
        assert_eq!(created.status, 201, "{}", created.body);
    }
    // `b` now back to `a`: a → b → a, every node with one output.
    let looped = call(
        &server,
        "POST",
        "/v1/specs/apply",
        Some(&json!([log("b", Some("a"))])),
    );
    assert_eq!(looped.status, 400, "{}", looped.body);
    assert!(
        looped.body.contains("a cycle no node can end"),
        "{}",
        looped.body
    );
    // A stored `log` has no in-port `in[3]`.
    let mut wrong_port = log("c", None);
    wrong_port["ports"] = json!({"out": [{"name": "a", "port": "in[3]"}]});
    let refused = call(&server, "POST", "/v1/specs", Some(&wrong_port));
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(
        refused.body.contains("has no input `in[3]`"),
        "{}",
        refused.body
    );
}
