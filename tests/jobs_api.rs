//! Durable jobs through a real `weir start`: the `job` kind (enqueue with
//! an idempotency key, a branch that fails and is retried, cancelling a
//! running job cancels its process), the system API's `/v1/jobs` (list
//! with filters and cursor, get, cancel, delete, events) and its OpenAPI
//! description, and `weir get jobs`.

#[macro_use]
mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::db::TestDb;
use support::{Client, Options, Server, root};

/// Every field a job's view carries, in the API's answers and its OpenAPI schema.
const JOB_FIELDS: [&str; 13] = [
    "id",
    "namespace",
    "node",
    "status",
    "attempts",
    "max_attempts",
    "created_at",
    "scheduled_at",
    "started_at",
    "heartbeat_at",
    "finished_at",
    "error",
    "result",
];

fn serve(db: Option<&TestDb>, env: &[(&str, &str)]) -> Server {
    Server::launch(Options {
        files: vec![root().join("tests/fixtures/jobs/work.yaml")],
        database: db.map(|d| d.url.clone()),
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        wait_for: Some("/ping"),
        ..Options::default()
    })
}

fn enqueue(server: &Server, body: &Value) -> String {
    let reply = server.connect().send_json("POST", "/jobs", body);
    assert_eq!(reply.status, 202, "{}", reply.body);
    let id = reply.json()["job_id"].as_str().unwrap().to_string();
    assert_eq!(
        reply.header("location"),
        Some(format!("/jobs/{id}").as_str())
    );
    id
}

fn api(server: &Server, method: &str, path: &str) -> support::Reply {
    server
        .api()
        .send(method, path, None, &[("Authorization", &server.bearer())])
        .unwrap()
}

/// Waits (at most 60 s) until the job is in a final state.
fn settled(server: &Server, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let job = api(server, "GET", &format!("/v1/jobs/{id}")).json();
        if ["success", "failed", "cancelled"].contains(&job["status"].as_str().unwrap_or("")) {
            return job;
        }
        assert!(Instant::now() < deadline, "{id} never settled: {job}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

on_both_backends!(
    jobs_run_are_listed_and_read_through_the_system_api,
    cancelling_a_running_job_cancels_its_process
);

fn jobs_run_are_listed_and_read_through_the_system_api(db: Option<&TestDb>) {
    let server = serve(db, &[]);
    let first = enqueue(&server, &json!({"key": "k-1", "n": 1}));
    // The same key is the same job.
    assert_eq!(enqueue(&server, &json!({"key": "k-1", "n": 2})), first);
    let second = enqueue(&server, &json!({"n": 2}));
    let failing = enqueue(&server, &json!({"fail": true}));

    let done = settled(&server, &first);
    assert_eq!(done["status"], "success", "{done}");
    assert_eq!(done["result"]["job_id"], first.as_str());
    assert_eq!(done["result"]["attempt"], 1);
    for field in JOB_FIELDS {
        assert!(done.get(field).is_some(), "{field} missing: {done}");
    }
    assert_eq!(
        (done["namespace"].as_str(), done["node"].as_str()),
        (Some("work"), Some("work"))
    );
    assert_eq!(settled(&server, &second)["status"], "success");

    // A 503 from the branch is retried; the job keeps its last error.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let job = api(&server, "GET", &format!("/v1/jobs/{failing}")).json();
        if job["attempts"].as_i64() >= Some(2) {
            assert_eq!(job["error"]["code"], "asked", "{job}");
            assert_eq!(job["error"]["message"], "asked to fail");
            break;
        }
        assert!(Instant::now() < deadline, "never retried: {job}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let cancelled = api(&server, "DELETE", &format!("/v1/jobs/{failing}"));
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(settled(&server, &failing)["status"], "cancelled");

    // Listing: filters, newest first, pages by cursor.
    let all = api(&server, "GET", "/v1/jobs?namespace=work").json();
    let ids: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [failing.as_str(), second.as_str(), first.as_str()]);
    assert_eq!(all["next_cursor"], Value::Null);
    let page = api(&server, "GET", "/v1/jobs?namespace=work&limit=2").json();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().expect("a cursor").to_string();
    let rest = api(
        &server,
        "GET",
        &format!("/v1/jobs?namespace=work&limit=2&cursor={cursor}"),
    )
    .json();
    assert_eq!(rest["items"][0]["id"], first.as_str());
    let successes = api(&server, "GET", "/v1/jobs?status=success&node=work").json();
    assert_eq!(successes["items"].as_array().unwrap().len(), 2);
    let none = api(&server, "GET", "/v1/jobs?namespace=elsewhere").json();
    assert_eq!(none["items"], json!([]));
    // Bad requests name what is wrong.
    for (path, says) in [
        ("/v1/jobs?status=done", "status"),
        ("/v1/jobs?limit=0", "limit"),
        ("/v1/jobs?cursor=x", "cursor"),
        ("/v1/jobs?sort=id", "sort"),
    ] {
        let reply = api(&server, "GET", path);
        assert_eq!(reply.status, 400, "{path}: {}", reply.body);
        assert!(
            reply.json()["error"]["message"]
                .as_str()
                .unwrap()
                .contains(says),
            "{path}"
        );
    }
    let unknown = uuid::Uuid::now_v7();
    for (method, path) in [
        ("GET", format!("/v1/jobs/{unknown}")),
        ("POST", format!("/v1/jobs/{unknown}/cancel")),
        ("DELETE", format!("/v1/jobs/{unknown}")),
        ("GET", format!("/v1/jobs/{unknown}/events")),
        ("GET", "/v1/jobs/nope".to_string()),
    ] {
        let reply = api(&server, method, &path);
        assert_eq!(reply.status, 404, "{method} {path}: {}", reply.body);
        assert_eq!(reply.json()["error"]["code"], "not_found");
    }
    // Cancelling a finished job leaves it as it is.
    let again = api(&server, "POST", &format!("/v1/jobs/{first}/cancel")).json();
    assert_eq!(again["status"], "success");
    // No token, no jobs; the read token may read but not cancel.
    let bare = server.api().send("GET", "/v1/jobs", None, &[]).unwrap();
    assert_eq!(bare.status, 401);
    let read = format!("Bearer {}", support::READ_TOKEN);
    let reply = server
        .api()
        .send(
            "POST",
            &format!("/v1/jobs/{first}/cancel"),
            None,
            &[("Authorization", &read)],
        )
        .unwrap();
    assert_eq!(reply.status, 403);

    // The events of a finished job: its state, then the end.
    let mut events = Client::new(server.system_port)
        .events(
            &format!("/v1/jobs/{first}/events"),
            &[("Authorization", &server.bearer())],
        )
        .unwrap()
        .expect("a stream");
    let event = loop {
        let event = events.next().unwrap();
        if event.event.is_some() {
            break event;
        }
    };
    assert_eq!(event.event.as_deref(), Some("status"));
    let data: Value = serde_json::from_str(&event.data).unwrap();
    assert_eq!(data["status"], "success");
    assert!(events.next().is_err(), "ends at a final state");

    // `weir get jobs`, on the database and through the API.
    let table = server.weir(&["get", "jobs", "-n", "work"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.status.success(),
        "{}",
        String::from_utf8_lossy(&table.stderr)
    );
    assert!(text.starts_with("ID"), "{text}");
    assert_eq!(text.lines().count(), 4, "{text}");
    let listed = server.weir(&["get", "jobs", "--status", "success", "-o", "json"]);
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let yaml = server.weir(&[
        "get",
        "jobs",
        "--status",
        "cancelled",
        "-o",
        "yaml",
        "--server",
        &server.url(),
        "--token",
        &server.token(),
    ]);
    let text = String::from_utf8_lossy(&yaml.stdout);
    assert!(
        yaml.status.success(),
        "{}",
        String::from_utf8_lossy(&yaml.stderr)
    );
    assert!(
        text.contains(&failing) && text.contains("status: cancelled"),
        "{text}"
    );
    let bad = server.weir(&["get", "jobs", "--status", "done"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--status `done`"));
}

fn cancelling_a_running_job_cancels_its_process(db: Option<&TestDb>) {
    let server = serve(
        db,
        &[("WEIR_TEST_SLEEP", "60s"), ("WEIR_JOB_LEASE_MS", "1500")],
    );
    let id = enqueue(&server, &json!({"n": 1}));
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.get(&format!("/jobs/{id}")).unwrap().json()["status"] != "building" {
        assert!(Instant::now() < deadline, "never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let reply = server
        .connect()
        .send("DELETE", &format!("/jobs/{id}"), None, &[])
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    let job = settled(&server, &id);
    assert_eq!(job["status"], "cancelled", "{job}");
    assert_eq!(job["attempts"], 1);
    assert_eq!(job["error"]["code"], "cancelled", "{job}");
}

#[test]
fn openapi_describes_the_jobs_routes() {
    let server = Server::launch(Options {
        files: vec![],
        ..Options::default()
    });
    let document = api(&server, "GET", "/v1/openapi.json").json();
    let paths = &document["paths"];
    assert_eq!(paths["/v1/jobs"]["get"]["tags"], json!(["jobs"]));
    let names: Vec<&str> = paths["/v1/jobs"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["namespace", "status", "node", "limit", "cursor"]);
    assert!(paths["/v1/jobs/{id}"]["get"]["responses"]["404"].is_object());
    assert!(paths["/v1/jobs/{id}"]["delete"].is_object());
    assert!(paths["/v1/jobs/{id}/cancel"]["post"].is_object());
    let events = &paths["/v1/jobs/{id}/events"]["get"]["responses"]["200"];
    assert!(events["content"]["text/event-stream"].is_object());
    let job = &document["components"]["schemas"]["JobView"]["properties"];
    for field in JOB_FIELDS {
        assert!(job.get(field).is_some(), "JobView.{field}");
    }
}

#[test]
fn a_job_finds_its_node_again_after_its_engine_restarts() {
    // SQLite in a folder kept across the restart; the engine is killed
    // (SIGKILL) mid-run, and the job waits in the database meanwhile.
    let dir = support::unique("weir-jobs-restart");
    let launch = |sleep: &str| {
        Server::launch(Options {
            files: vec![root().join("tests/fixtures/jobs/work.yaml")],
            env: vec![
                ("WEIR_TEST_SLEEP".into(), sleep.into()),
                ("WEIR_JOB_LEASE_MS".into(), "1000".into()),
            ],
            wait_for: Some("/ping"),
            dir: Some(dir.clone()),
            ..Options::default()
        })
    };
    let first = launch("60s");
    let id = enqueue(&first, &json!({"n": 1}));
    let deadline = Instant::now() + Duration::from_secs(30);
    while first.get(&format!("/jobs/{id}")).unwrap().json()["status"] != "building" {
        assert!(Instant::now() < deadline, "never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    first.stop();
    let second = launch("10ms");
    let job = settled(&second, &id);
    assert_eq!(job["status"], "success", "{job}");
    assert_eq!(job["attempts"], 2, "{job}");
    assert_eq!(job["result"]["attempt"], 2);
    drop(second);
    let _ = std::fs::remove_dir_all(&dir);
}
