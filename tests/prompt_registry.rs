//! The Prompt Registry (specs/examples/prompt-registry/) end to end: a real
//! `weir start -f specs/examples` over loopback HTTP, once on SQLite (the
//! default, no setup) and once on PostgreSQL (`--database`), each test on a
//! database of its own.

#[macro_use]
mod support;

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::db::TestDb;
use support::{Client, Options, Server, root};

/// The examples served on `db`, or on SQLite in the server's own folder.
fn serve(db: Option<&TestDb>) -> Server {
    Server::launch(Options {
        files: vec![root().join("specs/examples")],
        database: db.map(|d| d.url.clone()),
        wait_for: Some("/ping"),
        ..Options::default()
    })
}

/// A valid PromptPair named `name`.
fn pair(name: &str) -> Value {
    json!({
        "name": name,
        "description": "a greeting, two ways",
        "prompt_a": "Say hi.",
        "prompt_b": "Say hello.",
        "model": "llama3",
        "temperature": 0.7,
        "max_tokens": 256
    })
}

fn create(client: &mut Client, body: &Value) -> Value {
    let reply = client.send_json("POST", "/api/prompts", body);
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.json()
}

fn code(reply: &support::Reply) -> String {
    reply.json()["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

on_both_backends!(
    the_whole_crud_cycle,
    every_error_has_its_status,
    values_are_stored_and_read_back_verbatim,
    twenty_concurrent_creates_of_one_name_make_one_prompt,
    pages_follow_the_cursor_and_the_prefix,
    a_workflow_failing_after_its_insert_leaves_no_row,
    a_commit_the_database_refuses_answers_its_error,
);

fn the_whole_crud_cycle(db: Option<&TestDb>) {
    let server = serve(db);
    let mut client = server.connect();
    let sent = pair("greeting");
    let created = client.send_json("POST", "/api/prompts", &sent);
    assert_eq!(created.status, 201, "{}", created.body);
    let record = created.json();
    let id = record["id"].as_str().expect("an id").to_string();
    assert_eq!(
        created.header("location"),
        Some(format!("/api/prompts/{id}").as_str())
    );
    for (key, value) in sent.as_object().unwrap() {
        assert_eq!(&record[key], value, "{key}");
    }
    assert_eq!(record["revision"], 1);
    let created_at = record["created_at"].as_str().unwrap();
    assert!(
        created_at.ends_with('Z') && created_at.contains('T'),
        "{created_at}"
    );
    assert_eq!(record["updated_at"], record["created_at"]);

    let got = client
        .send("GET", &format!("/api/prompts/{id}"), None, &[])
        .unwrap();
    assert_eq!((got.status, got.json()), (200, record.clone()));
    let list = client.send("GET", "/api/prompts", None, &[]).unwrap();
    assert_eq!(
        list.json(),
        json!({"items": [record.clone()], "next_cursor": null})
    );

    // An update sends back what it read, with a change.
    let mut changed = record.clone();
    changed["prompt_a"] = json!("Say hi, warmly.");
    changed["temperature"] = json!(1);
    let updated = client.send_json("PUT", &format!("/api/prompts/{id}"), &changed);
    assert_eq!(updated.status, 200, "{}", updated.body);
    let updated = updated.json();
    assert_eq!(updated["revision"], 2);
    assert_eq!(updated["prompt_a"], "Say hi, warmly.");
    assert_eq!(updated["temperature"].as_f64(), Some(1.0));
    assert_eq!(
        (&updated["id"], &updated["created_at"]),
        (&record["id"], &record["created_at"])
    );
    assert!(updated["updated_at"].as_str() >= record["updated_at"].as_str());

    // The same revision again is stale: someone changed it since.
    let stale = client.send_json("PUT", &format!("/api/prompts/{id}"), &changed);
    assert_eq!(
        (stale.status, code(&stale)),
        (409, "stale_revision".into()),
        "{}",
        stale.body
    );
    let current = client
        .send("GET", &format!("/api/prompts/{id}"), None, &[])
        .unwrap();
    assert_eq!(current.json(), updated, "the stale update changed nothing");

    let deleted = client
        .send("DELETE", &format!("/api/prompts/{id}"), None, &[])
        .unwrap();
    assert_eq!((deleted.status, deleted.body.as_str()), (204, ""));
    for (method, body) in [("GET", None), ("DELETE", None), ("PUT", Some(&updated))] {
        let reply = match body {
            Some(body) => client.send_json(method, &format!("/api/prompts/{id}"), body),
            None => client
                .send(method, &format!("/api/prompts/{id}"), None, &[])
                .unwrap(),
        };
        assert_eq!(
            (reply.status, code(&reply)),
            (404, "not_found".into()),
            "{method}: {}",
            reply.body
        );
    }
}

fn every_error_has_its_status(db: Option<&TestDb>) {
    let server = serve(db);
    let mut client = server.connect();
    // Every violation at once, each with its JSON pointer.
    let invalid = client.send_json(
        "POST",
        "/api/prompts",
        &json!({"name": "", "prompt_a": 5, "model": "m", "temperature": 2.5, "max_tokens": 40000, "colour": "red"}),
    );
    assert_eq!(
        (invalid.status, code(&invalid)),
        (400, "invalid".into()),
        "{}",
        invalid.body
    );
    let details = invalid.json()["error"]["details"].clone();
    let found: Vec<(String, String)> = details
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["pointer"].as_str().unwrap().into(),
                d["message"].as_str().unwrap().into(),
            )
        })
        .collect();
    for (pointer, words) in [
        ("/body", "\"prompt_b\" is a required property"),
        ("/body/name", "shorter than 1 character"),
        ("/body/prompt_a", "not of type \"string\""),
        ("/body/temperature", "greater than the maximum of 2"),
        ("/body/max_tokens", "greater than the maximum of 32768"),
        ("/body", "colour"),
    ] {
        assert!(
            found.iter().any(|(p, m)| p == pointer && m.contains(words)),
            "{pointer} {words}: {found:?}"
        );
    }
    let no_body = client.send("POST", "/api/prompts", None, &[]).unwrap();
    assert_eq!(no_body.status, 400, "{}", no_body.body);
    let not_json = client
        .send(
            "POST",
            "/api/prompts",
            Some(b"{\"name\":"),
            &[support::JSON],
        )
        .unwrap();
    assert_eq!(not_json.status, 400, "{}", not_json.body);

    let first = create(&mut client, &pair("taken"));
    let again = client.send_json("POST", "/api/prompts", &pair("taken"));
    assert_eq!(
        (again.status, code(&again)),
        (409, "duplicate_name".into()),
        "{}",
        again.body
    );
    let other = create(&mut client, &pair("other"));
    let mut rename = other.clone();
    rename["name"] = json!("taken");
    let clash = client.send_json(
        "PUT",
        &format!("/api/prompts/{}", other["id"].as_str().unwrap()),
        &rename,
    );
    assert_eq!(
        (clash.status, code(&clash)),
        (409, "duplicate_name".into()),
        "{}",
        clash.body
    );
    let mut no_revision = first.clone();
    no_revision.as_object_mut().unwrap().remove("revision");
    let refused = client.send_json(
        "PUT",
        &format!("/api/prompts/{}", first["id"].as_str().unwrap()),
        &no_revision,
    );
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("\\\"revision\\\" is a required property"),
        "{}",
        refused.body
    );

    let unknown = client
        .send("GET", "/api/prompts/no-such-id", None, &[])
        .unwrap();
    assert_eq!((unknown.status, code(&unknown)), (404, "not_found".into()));
    let wrong = client.send("PATCH", "/api/prompts", None, &[]).unwrap();
    assert_eq!(
        (wrong.status, wrong.header("allow")),
        (405, Some("GET, POST"))
    );
    for query in ["limit=0", "limit=101", "limit=ten"] {
        let reply = client
            .send("GET", &format!("/api/prompts?{query}"), None, &[])
            .unwrap();
        assert_eq!(
            (reply.status, code(&reply)),
            (400, "invalid".into()),
            "{query}"
        );
    }
    // Nothing half-done is left by any of it.
    let list = client
        .send("GET", "/api/prompts", None, &[])
        .unwrap()
        .json();
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["other", "taken"]);
}

fn values_are_stored_and_read_back_verbatim(db: Option<&TestDb>) {
    let server = serve(db);
    let mut client = server.connect();
    let unit = "🦀 prompt, \"quoted\" and \\escaped\\\n";
    let hundred_kb = unit.repeat(100 * 1024 / unit.len() + 1);
    let mut tricky = pair("'; DROP TABLE prompts; --");
    tricky["description"] = json!("Robert'); DROP TABLE prompts;-- $1 :name ?");
    tricky["prompt_a"] = json!("emoji 🦀🔥✨ ünïcödé 漢字 👩‍👩‍👧");
    tricky["prompt_b"] = json!(hundred_kb);
    assert!(hundred_kb.len() >= 100 * 1024, "{}", hundred_kb.len());
    let record = create(&mut client, &tricky);
    for key in ["name", "description", "prompt_a", "prompt_b"] {
        assert_eq!(record[key], tricky[key], "{key} as created");
    }
    let id = record["id"].as_str().unwrap();
    let read = client
        .send("GET", &format!("/api/prompts/{id}"), None, &[])
        .unwrap()
        .json();
    for key in ["name", "description", "prompt_a", "prompt_b"] {
        assert_eq!(read[key], tricky[key], "{key} as read");
    }
    // The table is still there, with just that row.
    let list = client
        .send("GET", "/api/prompts", None, &[])
        .unwrap()
        .json();
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    create(&mut client, &pair("after"));
}

fn twenty_concurrent_creates_of_one_name_make_one_prompt(db: Option<&TestDb>) {
    let server = serve(db);
    let start = Arc::new(Barrier::new(20));
    let port = server.port;
    let statuses: Vec<u16> = (0..20)
        .map(|_| {
            let start = start.clone();
            std::thread::spawn(move || {
                let mut client = Client::new(port);
                start.wait();
                client
                    .send_json("POST", "/api/prompts", &pair("contested"))
                    .status
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        19,
        "{statuses:?}"
    );
    let list = server
        .connect()
        .send("GET", "/api/prompts", None, &[])
        .unwrap()
        .json();
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
}

fn pages_follow_the_cursor_and_the_prefix(db: Option<&TestDb>) {
    let server = serve(db);
    let mut client = server.connect();
    for name in ["beta-2", "alpha-3", "alpha-1", "beta-1", "alpha-2"] {
        create(&mut client, &pair(name));
    }
    let page = |client: &mut Client, query: &str| -> (Vec<String>, Option<String>) {
        let reply = client
            .send("GET", &format!("/api/prompts?{query}"), None, &[])
            .unwrap();
        assert_eq!(reply.status, 200, "{query}: {}", reply.body);
        let body = reply.json();
        let names = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect();
        (names, body["next_cursor"].as_str().map(str::to_string))
    };
    let mut seen = Vec::new();
    let mut query = "limit=2".to_string();
    // Bounded: five prompts make at most three pages of two.
    for _ in 0..4 {
        let (names, next) = page(&mut client, &query);
        seen.extend(names);
        match next {
            Some(cursor) => query = format!("limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ["alpha-1", "alpha-2", "alpha-3", "beta-1", "beta-2"]);
    assert_eq!(
        page(&mut client, "prefix=beta"),
        (vec!["beta-1".into(), "beta-2".into()], None)
    );
    let (first, cursor) = page(&mut client, "prefix=alpha&limit=2");
    assert_eq!(
        (first.as_slice(), cursor.as_deref()),
        (
            &["alpha-1".to_string(), "alpha-2".to_string()][..],
            Some("alpha-2")
        )
    );
    assert_eq!(
        page(&mut client, "prefix=alpha&limit=2&cursor=alpha-2"),
        (vec!["alpha-3".into()], None)
    );
    assert_eq!(page(&mut client, "prefix=gamma"), (vec![], None));
}

/// The examples, with tests/fixtures/sql/rollback.yaml beside them, and a
/// client of the fixture's listener.
fn serve_fixture(db: Option<&TestDb>) -> (Server, Client) {
    let fixture_port = support::free_port();
    let server = Server::launch(Options {
        files: vec![
            root().join("specs/examples"),
            root().join("tests/fixtures/sql/rollback.yaml"),
        ],
        database: db.map(|d| d.url.clone()),
        env: vec![("FIXTURE_PORT".into(), fixture_port.to_string())],
        wait_for: Some("/ping"),
        ..Options::default()
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match Client::open(fixture_port) {
            Ok(client) => break (server, client),
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("the fixture never listened: {e}"),
        }
    }
}

fn a_workflow_failing_after_its_insert_leaves_no_row(db: Option<&TestDb>) {
    let (server, mut fixture) = serve_fixture(db);
    for _ in 0..3 {
        let failed = fixture.send_json("POST", "/fail", &json!({"name": "ghost"}));
        assert_eq!(failed.status, 500, "{}", failed.body);
        assert!(
            failed.body.contains("the last node fails"),
            "{}",
            failed.body
        );
    }
    let mut client = server.connect();
    let list = client
        .send("GET", "/api/prompts?prefix=ghost", None, &[])
        .unwrap()
        .json();
    assert_eq!(list["items"], json!([]), "no row left behind");
    create(&mut client, &pair("ghost"));
}

fn a_commit_the_database_refuses_answers_its_error(db: Option<&TestDb>) {
    let (_server, mut fixture) = serve_fixture(db);
    // The INSERT itself succeeds; the foreign key is checked at COMMIT.
    let refused = fixture.send_json("POST", "/orphan", &json!({"parent": 7}));
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert_eq!(code(&refused), "23503", "{}", refused.body);
    assert!(
        refused
            .body
            .contains("cannot commit the process's transaction"),
        "{}",
        refused.body
    );
}
