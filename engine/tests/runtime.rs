//! The rules of ARCHITECTURE §4, each tested on a running symbol table.
//! No test asserts a duration: parallelism and bounds are shown by counts,
//! barriers and drop guards, with generous time-outs only against hangs.

mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::future::join_all;
use tokio::sync::Barrier;
use tokio::time::timeout;
use weir_codecs::Value;
use weir_engine::runtime::{Limits, Outcome};
use weir_engine::symbol::{Change, Status};
use weir_engine::{Packet, Process};

const HANG_GUARD: Duration = Duration::from_secs(20);

fn int(p: &Packet) -> i64 {
    p.payload()
        .as_i64()
        .unwrap_or_else(|| panic!("not an int: {p:?}"))
}

/// Waits until a probe recorded `event` (fails after `HANG_GUARD`).
async fn wait_for_event(shared: &support::Shared, event: &str) {
    let seen = async {
        while !shared.events().iter().any(|e| e == event) {
            tokio::task::yield_now().await;
        }
    };
    timeout(HANG_GUARD, seen)
        .await
        .unwrap_or_else(|_| panic!("never saw `{event}`"));
}

#[tokio::test]
async fn a_chain_answers_exactly_once_and_unlinked_ports_answer_the_packet() {
    let (scheme, _) = support::scheme();
    let yaml = "
- {kind: probe, name: a, behave: relay, ports: {out: [{name: b}]}}
- {kind: probe, name: b, behave: relay}
";
    let table = support::table(&scheme, yaml, Limits::default()).await;
    let answer = table.send("a", Process::new(), Packet::new(7i64)).await;
    assert_eq!(
        int(&answer),
        7,
        "b's out is unlinked, so it answers the packet itself"
    );
    let missing = table.send("zzz", Process::new(), Packet::new(1i64)).await;
    assert_eq!(
        missing.as_error().and_then(|e| e.code.as_deref()),
        Some("not_found")
    );
}

#[tokio::test]
async fn packets_of_one_process_are_handled_in_order() {
    let (scheme, shared) = support::scheme();
    // A small in-flight bound makes most packets wait in the inbox, so the
    // order they are taken from it matters. Writers never wait for room:
    // concurrent writes that must wait race each other, as anything does.
    let limits = Limits {
        inbox: 1_000,
        max_in_flight: 8,
    };
    let table = support::table(&scheme, "- {kind: probe, name: r, behave: record}", limits).await;
    let slot = table.slot("r").unwrap();
    let processes: Vec<_> = (0..4).map(|_| Process::new()).collect();
    // Every process writes 200 packets without waiting for answers, all
    // processes interleaved.
    let sends = (0..200i64).flat_map(|i| processes.iter().map(move |p| (p.clone(), i)));
    let answers = join_all(sends.map(|(p, i)| {
        let slot = slot.clone();
        async move {
            slot.send(p, weir_engine::Port::input(), Packet::new(i))
                .await
        }
    }))
    .await;
    assert!(answers.iter().all(|a| !a.is_error()));
    let records = shared.records.lock().unwrap().clone();
    for p in &processes {
        let seen: Vec<i64> = records
            .iter()
            .filter(|(id, _)| *id == p.id())
            .map(|(_, v)| v.as_i64().unwrap())
            .collect();
        assert_eq!(
            seen,
            (0..200).collect::<Vec<_>>(),
            "process {}: {seen:?}",
            p.id()
        );
    }
}

#[tokio::test]
async fn different_processes_run_in_parallel() {
    let (scheme, shared) = support::scheme();
    let yaml = "- {kind: probe, name: b, behave: barrier, answer: 1}";
    let table = support::table(&scheme, yaml, Limits::default()).await;
    // Ten calls must all be inside the node at once to pass the barrier:
    // handled one after another, they would wait forever.
    *shared.barrier.lock().unwrap() = Some(Arc::new(Barrier::new(10)));
    let calls = (0..10).map(|_| table.send("b", Process::new(), Packet::new(0i64)));
    let answers = timeout(HANG_GUARD, join_all(calls))
        .await
        .expect("calls ran one at a time");
    assert!(answers.iter().all(|a| int(a) == 1));
}

#[tokio::test]
async fn fan_out_answers_are_merged_in_link_order() {
    let (scheme, _) = support::scheme();
    let yaml = "
- {kind: probe, name: src, behave: relay, ports: {out: [{name: one}, {name: two}, {name: three}]}}
- {kind: probe, name: one, behave: answer, answer: 1}
- {kind: probe, name: two, behave: answer, answer: 2}
- {kind: probe, name: three, behave: answer, answer: 3}
- {kind: probe, name: bad, behave: relay, ports: {out: [{name: one}, {name: boom}, {name: boom2}]}}
- {kind: probe, name: boom, behave: fail, answer: first}
- {kind: probe, name: boom2, behave: fail, answer: second}
";
    let table = support::table(&scheme, yaml, Limits::default()).await;
    let answer = table.send("src", Process::new(), Packet::new(0i64)).await;
    assert_eq!(
        answer.payload(),
        &Value::list([1i64.into(), 2i64.into(), 3i64.into()])
    );
    let failed = table.send("bad", Process::new(), Packet::new(0i64)).await;
    assert_eq!(
        failed.as_error().map(|e| e.message.as_str()),
        Some("\"first\"")
    );
}

#[tokio::test]
async fn a_failure_goes_to_the_error_port_when_linked() {
    let (scheme, _) = support::scheme();
    let yaml = "
- {kind: probe, name: caught, behave: fail, answer: oops, ports: {error: [{name: handler}]}}
- {kind: probe, name: handler, behave: answer, answer: handled}
- {kind: probe, name: uncaught, behave: fail, answer: oops}
";
    let table = support::table(&scheme, yaml, Limits::default()).await;
    let caught = table
        .send("caught", Process::new(), Packet::new(0i64))
        .await;
    assert_eq!(caught.payload().as_str(), Some("handled"));
    let uncaught = table
        .send("uncaught", Process::new(), Packet::new(0i64))
        .await;
    assert_eq!(
        uncaught.as_error().and_then(|e| e.code.as_deref()),
        Some("probe")
    );
}

#[tokio::test]
async fn a_stalled_node_bounds_what_its_writers_can_queue() {
    let (scheme, shared) = support::scheme();
    let limits = Limits {
        inbox: 4,
        max_in_flight: 8,
    };
    let table = Arc::new(
        support::table(
            &scheme,
            "- {kind: probe, name: g, behave: gate, answer: 1}",
            limits,
        )
        .await,
    );
    let writers: Vec<_> = (0..1_000)
        .map(|_| {
            let table = table.clone();
            tokio::spawn(async move { table.send("g", Process::new(), Packet::new(0i64)).await })
        })
        .collect();
    // Give every writer the chance to push as much as it can.
    for _ in 0..200 {
        tokio::task::yield_now().await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        shared.started.load(Ordering::SeqCst),
        8,
        "only max_in_flight calls may run"
    );
    // Everything else waits: at most 4 in the inbox, the rest in `send`.
    shared.gate.add_permits(1_000);
    let answers = timeout(HANG_GUARD, join_all(writers))
        .await
        .expect("writers finish");
    assert!(answers.into_iter().all(|a| a.is_ok_and(|p| int(&p) == 1)));
    assert_eq!(shared.started.load(Ordering::SeqCst), 1_000);
}

#[tokio::test]
async fn cancelling_a_process_stops_its_work_downstream() {
    let (scheme, shared) = support::scheme();
    let yaml = "
- {kind: probe, name: a, behave: relay, ports: {out: [{name: b}]}}
- {kind: probe, name: b, behave: relay, ports: {out: [{name: h}]}}
- {kind: probe, name: h, behave: hang}
";
    let table = Arc::new(support::table(&scheme, yaml, Limits::default()).await);
    let process = Process::new();
    let call = tokio::spawn({
        let (table, process) = (table.clone(), process.clone());
        async move { table.send("a", process, Packet::new(0i64)).await }
    });
    while shared.started.load(Ordering::SeqCst) == 0 {
        tokio::task::yield_now().await;
    }
    process.cancel();
    let answer = timeout(HANG_GUARD, call)
        .await
        .expect("answer after cancel")
        .unwrap();
    assert_eq!(
        answer.as_error().and_then(|e| e.code.as_deref()),
        Some("cancelled")
    );
    wait_for_event(&shared, "h: dropped").await;
}

#[tokio::test]
async fn a_deadline_times_out_the_work_downstream() {
    let (scheme, shared) = support::scheme();
    let yaml = "
- {kind: probe, name: a, behave: relay, ports: {out: [{name: h}]}}
- {kind: probe, name: h, behave: hang}
";
    let table = support::table(&scheme, yaml, Limits::default()).await;
    let process = Process::with_deadline(tokio::time::Instant::now() + Duration::from_millis(50));
    let answer = timeout(HANG_GUARD, table.send("a", process, Packet::new(0i64)))
        .await
        .unwrap();
    assert_eq!(answer.as_error().and_then(|e| e.status), Some(504));
    wait_for_event(&shared, "h: dropped").await;
}

#[tokio::test]
async fn exit_hooks_release_what_a_process_held() {
    let process = Process::new();
    let (tx, rx) = tokio::sync::oneshot::channel();
    process.on_exit(move |outcome| async move {
        let _ = tx.send(outcome);
        Ok(())
    });
    let exit = process
        .exit(Outcome::Failed(weir_codecs::ErrorValue::new("boom")))
        .await;
    assert_eq!(exit, Ok(()), "no hook failed");
    assert!(matches!(rx.await, Ok(Outcome::Failed(e)) if e.message == "boom"));
}

#[tokio::test]
async fn hot_swap_keeps_processes_in_flight_on_the_old_version() {
    let (scheme, shared) = support::scheme();
    let yaml = "
- {kind: probe, name: entry, behave: relay, ports: {out: [{name: svc}]}}
- {kind: probe, name: svc, behave: gate, answer: v1}
";
    let table = Arc::new(support::table(&scheme, yaml, Limits::default()).await);
    let old_calls: Vec<_> = (0..20)
        .map(|_| {
            let table = table.clone();
            tokio::spawn(
                async move { table.send("entry", Process::new(), Packet::new(0i64)).await },
            )
        })
        .collect();
    while shared.started.load(Ordering::SeqCst) < 20 {
        tokio::task::yield_now().await;
    }
    let v2 = support::symbol(
        &scheme,
        "{kind: probe, name: svc, behave: answer, answer: v2}",
    );
    let report = table.apply(vec![Change::Upsert(v2)]).await;
    assert_eq!(report.swapped, ["svc"]);
    // New processes reach the new version at once, while 20 wait in the old.
    for _ in 0..20 {
        let answer = table.send("entry", Process::new(), Packet::new(0i64)).await;
        assert_eq!(answer.payload().as_str(), Some("v2"));
    }
    assert!(
        !shared.events().contains(&"svc: unload".to_string()),
        "old version still busy"
    );
    shared.gate.add_permits(20);
    for call in old_calls {
        let answer = timeout(HANG_GUARD, call).await.unwrap().unwrap();
        assert_eq!(
            answer.payload().as_str(),
            Some("v1"),
            "in-flight processes finish on the old version"
        );
    }
    table.settled().await;
    let events = shared.events();
    assert_eq!(
        events.iter().filter(|e| *e == "svc: unload").count(),
        1,
        "{events:?}"
    );
}

#[tokio::test]
async fn activation_follows_link_targets_and_hooks_run_in_dependency_order() {
    let (scheme, shared) = support::scheme();
    let table = weir_engine::SymbolTable::new("default", Limits::default());
    let all = support::symbols(
        &scheme,
        "
- {kind: probe, name: a, behave: relay, ports: {out: [{name: b}]}}
- {kind: probe, name: b, behave: relay, ports: {out: [{name: c}]}}
- {kind: probe, name: c, behave: answer, answer: done}
",
    );
    let (a, b, c) = (all[0].clone(), all[1].clone(), all[2].clone());
    let c_id = c.id();
    // a and b without c: nothing can run.
    let report = table
        .apply(vec![Change::Upsert(a), Change::Upsert(b)])
        .await;
    assert!(report.activated.is_empty());
    let mut statuses = table.statuses().await;
    statuses.sort_by(|x, y| x.1.cmp(&y.1));
    assert!(
        matches!(&statuses[0].2, Status::Inactive(r) if r.contains("`b` is not active")),
        "{statuses:?}"
    );
    assert!(
        matches!(&statuses[1].2, Status::Inactive(r) if r.contains("no such node")),
        "{statuses:?}"
    );
    let inactive = table.send("a", Process::new(), Packet::new(0i64)).await;
    assert_eq!(
        inactive.as_error().and_then(|e| e.code.as_deref()),
        Some("inactive")
    );
    // Adding c activates all three, targets first.
    let report = table.apply(vec![Change::Upsert(c)]).await;
    assert_eq!(report.activated, ["c", "b", "a"]);
    assert_eq!(shared.events(), ["c: load", "b: load", "a: load"]);
    assert_eq!(
        table
            .send("a", Process::new(), Packet::new(0i64))
            .await
            .payload()
            .as_str(),
        Some("done")
    );
    // Removing c deactivates what depended on it, sources unloaded first.
    let report = table.apply(vec![Change::Remove(c_id)]).await;
    assert_eq!(report.deactivated.len(), 3);
    table.settled().await;
    assert_eq!(
        shared.events()[3..],
        ["a: unload", "b: unload", "c: unload"]
    );
}

#[tokio::test]
async fn cycles_activate_and_a_failed_load_keeps_the_old_version() {
    let (scheme, shared) = support::scheme();
    let yaml = "
- {kind: probe, name: ping, behave: relay, ports: {out: [{name: pong}]}}
- {kind: probe, name: pong, behave: answer, answer: 1, ports: {out: [{name: ping}]}}
";
    let table = support::table(&scheme, yaml, Limits::default()).await;
    assert!(
        table
            .statuses()
            .await
            .iter()
            .all(|(_, _, s)| *s == Status::Active)
    );
    let broken = support::symbol(
        &scheme,
        "{kind: probe, name: pong, behave: answer, answer: 2, fail_load: true, ports: {out: [{name: ping}]}}",
    );
    let report = table.apply(vec![Change::Upsert(broken)]).await;
    assert_eq!(report.problems.len(), 1, "{report:?}");
    assert!(report.problems[0].1.contains("refused to load"));
    let answer = table.send("ping", Process::new(), Packet::new(0i64)).await;
    assert_eq!(int(&answer), 1, "the old version keeps running");
    assert!(shared.events().contains(&"pong: load".to_string()));
}

#[tokio::test]
async fn an_unchanged_spec_is_left_running() {
    let (scheme, shared) = support::scheme();
    let yaml = "- {kind: probe, name: a, id: 0190f5a8-0000-7000-8000-000000000001, behave: answer, answer: 1}";
    let table = support::table(&scheme, yaml, Limits::default()).await;
    let same = support::symbols(&scheme, yaml);
    let report = table
        .apply(same.into_iter().map(Change::Upsert).collect())
        .await;
    assert_eq!(report, Default::default());
    assert_eq!(shared.events(), ["a: load"]);
}

/// A version that failed to load is not tried again until it or its link
/// targets change: a namespace holding many broken specs once re-activated
/// every one of them on each unrelated change.
#[tokio::test]
async fn a_failed_load_is_retried_only_when_it_or_its_targets_change() {
    let (scheme, shared) = support::scheme();
    let yaml = "- {kind: probe, name: a, behave: answer, answer: 1}";
    let table = support::table(&scheme, yaml, Limits::default()).await;
    let broken = support::symbol(
        &scheme,
        "{kind: probe, name: broken, behave: relay, fail_load: true, ports: {out: [{name: a}]}}",
    );
    table.apply(vec![Change::Upsert(broken)]).await;
    let loads = |name: &str| {
        let event = format!("{name}: load");
        shared.events().iter().filter(|e| **e == event).count()
    };
    assert_eq!(loads("broken"), 1);
    let unrelated = support::symbol(&scheme, "{kind: probe, name: c, behave: answer, answer: 3}");
    let report = table.apply(vec![Change::Upsert(unrelated)]).await;
    assert_eq!(loads("broken"), 1, "not retried for an unrelated change");
    assert!(report.problems.is_empty(), "{report:?}");
    // A swapped target keeps its slot (as it does for running sources);
    // a removed and re-added one is a new target.
    let a = support::symbol(&scheme, "{kind: probe, name: a, behave: answer, answer: 2}");
    let changes = vec![Change::Remove(a.id()), Change::Upsert(a)];
    table.apply(changes).await;
    assert_eq!(loads("broken"), 2, "retried with a new link target");
    let fixed = support::symbol(
        &scheme,
        "{kind: probe, name: broken, behave: relay, ports: {out: [{name: a}]}}",
    );
    table.apply(vec![Change::Upsert(fixed)]).await;
    assert_eq!(loads("broken"), 3);
    let answer = table
        .send("broken", Process::new(), Packet::new(0i64))
        .await;
    assert_eq!(int(&answer), 2);
}

/// A panic inside one call is that call's failure (500, code `panic`),
/// not the node's end: the calls in flight beside it and every later call
/// are answered. (A panicking admission check once left the system API's
/// `apply` node inactive until a restart.)
#[tokio::test]
async fn a_panicking_call_fails_alone_and_the_node_keeps_answering() {
    let (scheme, _) = support::scheme();
    let yaml = "- {kind: probe, name: p, behave: panic_on_zero, answer: 7}";
    let table = support::table(&scheme, yaml, Limits::default()).await;
    let sends = (0..20i64).map(|i| table.send("p", Process::new(), Packet::new(i % 4)));
    let answers = timeout(HANG_GUARD, join_all(sends)).await.expect("answers");
    for (i, answer) in answers.iter().enumerate() {
        match i % 4 {
            0 => {
                let error = answer.as_error().unwrap_or_else(|| panic!("{answer:?}"));
                assert_eq!(error.code.as_deref(), Some("panic"));
                assert_eq!(error.status, Some(500));
            }
            _ => assert_eq!(int(answer), 7),
        }
    }
    let later = table.send("p", Process::new(), Packet::new(1i64)).await;
    assert_eq!(int(&later), 7, "the node is still active");
}
