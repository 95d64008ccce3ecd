//! The Compiler Job (specs/examples/compiler-job/) end to end: a real
//! `weir start -f specs/examples` over loopback HTTP, on SQLite and on
//! PostgreSQL: a script compiled as a durable job, followed over SSE, its
//! manifest read back from the database and its artifacts served; a
//! script that does not compile; `execute: true` running the script in
//! the Docker sandbox (scripts/test.sh starts the daemon and builds the
//! image); bad bodies; unknown jobs; artifact names that try to leave the
//! job's folder.

#[macro_use]
mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::db::TestDb;
use support::{Client, Options, Server, root};

fn serve(db: Option<&TestDb>) -> Server {
    Server::launch(Options {
        files: vec![root().join("specs/examples")],
        database: db.map(|d| d.url.clone()),
        wait_for: Some("/ping"),
        ..Options::default()
    })
}

on_both_backends!(
    the_whole_cycle,
    a_script_that_does_not_compile_fails_with_its_diagnostics,
    execute_runs_the_script_in_the_sandbox_into_run_txt,
    bad_bodies_get_every_violation,
    unknown_jobs_are_404,
    artifact_names_never_leave_the_jobs_folder,
);

const SCRIPT: &str = "\"\"\"A module.\"\"\"\nimport os\n\n\ndef area(r):\n    # the area\n    if r < 0:\n        raise ValueError(r)\n    return 3.14159 * r * r\n";

/// Posts a compile request; answers the job's id.
fn submit(server: &Server, body: &Value) -> String {
    let reply = server.connect().send_json("POST", "/api/compile", body);
    assert_eq!(reply.status, 202, "{}", reply.body);
    let answer = reply.json();
    assert_eq!(answer["status"], "queued", "{answer}");
    let id = answer["job_id"].as_str().expect("a job id").to_string();
    assert_eq!(
        reply.header("location"),
        Some(format!("/api/jobs/{id}").as_str())
    );
    id
}

/// Waits (at most 60 s) for the job to reach a final state; its view.
fn finished(server: &Server, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let reply = server.get(&format!("/api/jobs/{id}")).unwrap();
        assert_eq!(reply.status, 200, "{}", reply.body);
        let view = reply.json();
        if ["success", "failed", "cancelled"].contains(&view["status"].as_str().unwrap_or("")) {
            return view;
        }
        assert!(Instant::now() < deadline, "job {id} never finished: {view}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn the_whole_cycle(db: Option<&TestDb>) {
    let server = serve(db);
    // The schema served is the one the server checks with.
    let schema = server.get("/api/compile/schema").unwrap();
    assert_eq!(schema.status, 200, "{}", schema.body);
    let yaml =
        std::fs::read_to_string(root().join("specs/examples/compiler-job/compile.yaml")).unwrap();
    let specs = weir_codecs::json::to_json(&weir_codecs::yaml::from_str(&yaml).unwrap());
    let check = specs
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "compile-check")
        .unwrap();
    assert_eq!(schema.json(), check["schema"]);

    let id = submit(
        &server,
        &json!({"script": {"name": "area.py", "source": SCRIPT}, "settings": {"strip_comments": true}}),
    );
    // Its transitions, as Server-Sent Events, end at the final state.
    let mut events = Client::new(server.port)
        .events(&format!("/api/jobs/{id}/events"), &[])
        .unwrap()
        .expect("a stream");
    let mut seen = Vec::new();
    loop {
        let event = events.next().expect("an event before the stream ends");
        if event.event.as_deref() != Some("status") {
            continue;
        }
        let data: Value = serde_json::from_str(&event.data).unwrap();
        assert_eq!(data["job_id"], id.as_str());
        seen.push(data["status"].as_str().unwrap().to_string());
        if data["status"] == "success" {
            assert_eq!(data["manifest"]["status"], "success", "{data}");
            break;
        }
    }
    assert!(
        events.next().is_err(),
        "the stream ends after a final state"
    );
    assert!(
        seen.iter()
            .all(|s| ["queued", "building", "success"].contains(&s.as_str())),
        "{seen:?}"
    );

    let view = finished(&server, &id);
    assert_eq!(view["status"], "success", "{view}");
    assert_eq!(view["attempts"], 1);
    for time in ["created_at", "started_at", "finished_at"] {
        assert!(view[time].is_string(), "{time}: {view}");
    }
    assert!(view.get("error").is_none(), "{view}");
    let manifest = &view["manifest"];
    assert_eq!(manifest["input"]["name"], "area.py");
    let artifacts = manifest["artifacts"].as_array().unwrap();
    assert_eq!(artifacts.len(), 5, "{manifest}");

    // The manifest is the job's result in the database, not only on disk.
    let mut api = server.api();
    let stored = api
        .send(
            "GET",
            &format!("/v1/jobs/{id}"),
            None,
            &[("Authorization", &server.bearer())],
        )
        .unwrap();
    assert_eq!(stored.status, 200, "{}", stored.body);
    assert_eq!(&stored.json()["result"], manifest);

    // Every artifact, by name, with its bytes and type.
    for artifact in artifacts {
        let name = artifact["path"].as_str().unwrap();
        let reply = server
            .get(&format!("/api/jobs/{id}/artifacts/{name}"))
            .unwrap();
        assert_eq!(reply.status, 200, "{name}: {}", reply.body);
        assert_eq!(
            reply.body.len() as u64,
            artifact["size"].as_u64().unwrap(),
            "{name}"
        );
        let on_disk =
            std::fs::read_to_string(server.dir.join("weir-data/artifacts").join(&id).join(name))
                .unwrap();
        assert_eq!(reply.body, on_disk, "{name}");
        if name.ends_with(".json") {
            assert_eq!(reply.header("content-type"), Some("application/json"));
        }
    }
}

fn a_script_that_does_not_compile_fails_with_its_diagnostics(db: Option<&TestDb>) {
    let server = serve(db);
    let id = submit(
        &server,
        &json!({"script": {"name": "bad.py", "source": "def f(:\n    return (1\n"}}),
    );
    let view = finished(&server, &id);
    assert_eq!(view["status"], "failed", "{view}");
    // Not worth retrying: one attempt.
    assert_eq!(view["attempts"], 1, "{view}");
    let error = &view["error"];
    assert_eq!(error["code"], "compile_failed", "{view}");
    assert!(
        error["message"].as_str().unwrap().starts_with("line "),
        "{view}"
    );
    let diagnostics = error["diagnostics"].as_array().expect("diagnostics");
    assert!(!diagnostics.is_empty());
    assert_eq!(view["manifest"]["status"], "failed");
    assert_eq!(&view["manifest"]["diagnostics"], &error["diagnostics"]);
}

fn execute_runs_the_script_in_the_sandbox_into_run_txt(db: Option<&TestDb>) {
    let server = serve(db);
    let source =
        "import sys\nprint('hello', 6 * 7)\nprint('careful', file=sys.stderr)\nsys.exit(3)\n";
    let id = submit(
        &server,
        &json!({"script": {"name": "hello.py", "source": source}, "settings": {"passes": ["tokenize"], "execute": true}}),
    );
    let view = finished(&server, &id);
    // A script that compiled and ran is a success whatever its exit code:
    // the code is the run's, in the manifest.
    assert_eq!(view["status"], "success", "{view}");
    let manifest = &view["manifest"];
    assert_eq!(manifest["run"]["exit_code"], 3, "{manifest}");
    assert_eq!(manifest["run"]["timed_out"], false, "{manifest}");
    assert_eq!(manifest["settings"]["execute"], true, "{manifest}");
    let passes: Vec<&str> = manifest["passes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(passes.last(), Some(&"execute"), "{manifest}");
    let run = manifest["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["path"] == "run.txt")
        .unwrap_or_else(|| panic!("run.txt is listed: {manifest}"));
    assert_eq!(run["pass"], "execute");
    let reply = server
        .get(&format!("/api/jobs/{id}/artifacts/run.txt"))
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body, "hello 42\n--- stderr ---\ncareful\n");
    assert_eq!(run["size"].as_u64(), Some(reply.body.len() as u64));
    // The manifest on disk says what the job's result says.
    let folder = server.dir.join("weir-data/artifacts").join(&id);
    let on_disk: Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(&on_disk, manifest);

    // A script that does not compile is never run.
    let id = submit(
        &server,
        &json!({"script": {"name": "bad.py", "source": "print('no'\n"}, "settings": {"execute": true}}),
    );
    let view = finished(&server, &id);
    assert_eq!(view["status"], "failed", "{view}");
    assert!(view["manifest"].get("run").is_none(), "{view}");
    let folder = server.dir.join("weir-data/artifacts").join(&id);
    assert!(!folder.join("run.txt").exists());
}

fn bad_bodies_get_every_violation(db: Option<&TestDb>) {
    let server = serve(db);
    let mut client = server.connect();
    let reply = client.send_json(
        "POST",
        "/api/compile",
        &json!({"script": {"name": 7}, "settings": {"passes": ["tokenize", "nope"], "max_depth": 0, "execute": "yes"}, "extra": true}),
    );
    assert_eq!(reply.status, 400, "{}", reply.body);
    let error = &reply.json()["error"];
    assert_eq!(error["code"], "invalid");
    let details = error["details"].as_array().unwrap();
    let pointers: Vec<&str> = details
        .iter()
        .map(|d| d["pointer"].as_str().unwrap_or(""))
        .collect();
    for wanted in [
        "/script/name",
        "/settings/passes/1",
        "/settings/max_depth",
        "/settings/execute",
    ] {
        assert!(
            pointers.contains(&wanted),
            "{wanted} missing from {pointers:?}"
        );
    }
    let messages = details
        .iter()
        .map(|d| d["message"].to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(messages.contains("source"), "{messages}");
    assert!(messages.contains("extra"), "{messages}");

    let reply = client.send_json("POST", "/api/compile", &json!([1, 2]));
    assert_eq!(reply.status, 400, "{}", reply.body);
    let reply = client
        .send("POST", "/api/compile", Some(b"{not json"), &[support::JSON])
        .unwrap();
    assert_eq!(reply.status, 400, "{}", reply.body);
    let reply = client.send("POST", "/api/compile", None, &[]).unwrap();
    assert_eq!(reply.status, 400, "{}", reply.body);
    // Nothing was stored.
    let mut api = server.api();
    let listed = api
        .send(
            "GET",
            "/v1/jobs?namespace=examples",
            None,
            &[("Authorization", &server.bearer())],
        )
        .unwrap();
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.json()["items"], json!([]));
}

fn unknown_jobs_are_404(db: Option<&TestDb>) {
    let server = serve(db);
    let unknown = uuid::Uuid::now_v7();
    for path in [
        format!("/api/jobs/{unknown}"),
        "/api/jobs/not-a-job".to_string(),
        format!("/api/jobs/{unknown}/events"),
    ] {
        let reply = server.get(&path).unwrap();
        assert_eq!(reply.status, 404, "{path}: {}", reply.body);
        assert_eq!(reply.json()["error"]["code"], "not_found", "{path}");
    }
}

fn artifact_names_never_leave_the_jobs_folder(db: Option<&TestDb>) {
    let server = serve(db);
    let first = submit(
        &server,
        &json!({"script": {"name": "a.py", "source": "x = 1\n"}}),
    );
    let second = submit(
        &server,
        &json!({"script": {"name": "b.py", "source": "y = 2\n"}}),
    );
    assert_eq!(finished(&server, &first)["status"], "success");
    assert_eq!(finished(&server, &second)["status"], "success");
    let ok = server
        .get(&format!("/api/jobs/{first}/artifacts/manifest.json"))
        .unwrap();
    assert_eq!(ok.status, 200, "{}", ok.body);
    // A symbolic link inside the folder that points out of it.
    let folder = server.dir.join("weir-data/artifacts").join(&first);
    std::os::unix::fs::symlink(server.dir.join("weir-token"), folder.join("token.txt")).unwrap();
    std::os::unix::fs::symlink("../".to_string() + &second, folder.join("other")).unwrap();
    let attempts = [
        "..".to_string(),
        "%2e%2e".to_string(),
        "%2E%2E%2Fweir-token".to_string(),
        format!("..%2F{second}%2Fmanifest.json"),
        format!("%2e%2e%2f{second}%2fmanifest.json"),
        "%252e%252e%252fweir-token".to_string(),
        "%2Fetc%2Fpasswd".to_string(),
        "%2fetc%2fpasswd".to_string(),
        ".".to_string(),
        "token.txt".to_string(),
        "other%2Fmanifest.json".to_string(),
        "missing.json".to_string(),
    ];
    for name in attempts {
        let path = format!("/api/jobs/{first}/artifacts/{name}");
        let reply = server.get(&path).unwrap();
        assert!(
            reply.status == 400 || reply.status == 404,
            "{path}: {} {}",
            reply.status,
            reply.body
        );
        assert!(
            !reply.body.contains(&server.token()),
            "{path} leaked the token"
        );
    }
    // A raw `..` segment never reaches the route at all.
    let reply = server
        .get(&format!("/api/jobs/{first}/artifacts/../../../weir-token"))
        .unwrap();
    assert!(
        reply.status == 400 || reply.status == 404,
        "{}",
        reply.status
    );
    let reply = server
        .get("/api/jobs/..%2F..%2F/artifacts/weir-token")
        .unwrap();
    assert!(
        reply.status == 400 || reply.status == 404,
        "{}",
        reply.status
    );
}
