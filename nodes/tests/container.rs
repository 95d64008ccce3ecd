//! The container runner against the real Docker daemon and the image
//! `scripts/sandbox-image.sh` builds (`scripts/test.sh` runs it, and
//! `scripts/ensure-docker.sh`, first). Every test labels its runs with a
//! process name of its own and asks the `docker` CLI, not our client,
//! whether any container is left.
#![cfg(feature = "container")]

use std::process::Command;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use weir_nodes::container::{
    Channel, ContainerSpec, ENGINE_LABEL, Engine, Event, Job, Line, Network, PROCESS_LABEL,
    RunError, RunStream, Runner,
};

/// The image: `WEIR_SANDBOX_IMAGE` (what scripts/test.sh exports), or the
/// tag scripts/sandbox-image.sh gives it (its own hash).
fn image() -> String {
    if let Ok(image) = std::env::var("WEIR_SANDBOX_IMAGE") {
        return image;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/sandbox-image.sh");
    let out = Command::new("sha256sum")
        .arg(script)
        .output()
        .expect("sha256sum runs");
    let hash = String::from_utf8(out.stdout).expect("hex");
    format!("weir-python:{}", &hash[..12])
}

async fn runner() -> Runner {
    match Runner::connect().await {
        Ok(runner) => runner,
        Err(error) => panic!("{error}\n(scripts/test.sh runs scripts/ensure-docker.sh first)"),
    }
}

fn spec() -> ContainerSpec {
    let image = image();
    let present = Command::new("docker")
        .args(["image", "inspect", &image])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        present,
        "image {image} is missing: run scripts/sandbox-image.sh (scripts/test.sh does)"
    );
    ContainerSpec::new(image)
}

fn process(test: &str) -> String {
    format!("test-{test}-{}", uuid::Uuid::now_v7().simple())
}

/// The containers labelled `process`, as `docker ps -a` lists them.
fn left(process: &str) -> Vec<String> {
    let out = Command::new("docker")
        .args(["ps", "-aq", "--filter"])
        .arg(format!("label={PROCESS_LABEL}={process}"))
        .output()
        .expect("docker ps runs");
    assert!(out.status.success(), "docker ps: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// Waits (bounded) until no container labelled `process` is left.
async fn none_left(process: &str) {
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        let left = left(process);
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < until, "containers left: {left:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn run(spec: &ContainerSpec, job: Job, test: &str) -> weir_nodes::container::Outcome {
    let process = process(test);
    let outcome = runner()
        .await
        .run(spec, &job, &process)
        .await
        .unwrap_or_else(|e| panic!("{test}: {e}"));
    // The removal follows the answer.
    none_left(&process).await;
    outcome
}

#[tokio::test]
async fn output_stdin_args_and_exit_code() {
    let job = Job {
        source: "import os, sys\n\
                 print('out', sys.argv[1:], sys.stdin.read())\n\
                 print('err', os.getuid(), os.getcwd(), file=sys.stderr)\n\
                 sys.exit(3)\n"
            .into(),
        stdin: Some("from stdin".into()),
        args: vec!["a".into(), "b c".into()],
    };
    let outcome = run(&spec(), job, "output").await;
    assert_eq!(outcome.exit_code, Some(3), "{outcome:?}");
    assert_eq!(outcome.stdout, "out ['a', 'b c'] from stdin\n");
    assert_eq!(outcome.stderr, "err 65534 /work\n");
    assert!(!outcome.timed_out && !outcome.oom_killed && !outcome.truncated);
}

#[tokio::test]
async fn the_standard_library_is_there() {
    // Scripts are ordinary Python: the image has the whole standard
    // library, not python3-minimal's few modules.
    let job = Job {
        source: "import asyncio, collections, csv, dataclasses, decimal, json, re, sqlite3, statistics\n\
                 print(statistics.mean([1, 2, 3]), sqlite3.sqlite_version_info >= (3,))\n"
            .into(),
        stdin: None,
        args: vec![],
    };
    let outcome = run(&spec(), job, "stdlib").await;
    assert_eq!(outcome.exit_code, Some(0), "{outcome:?}");
    assert_eq!(outcome.stdout, "2 True\n", "{outcome:?}");
}

#[tokio::test]
async fn an_empty_script_runs_and_env_is_passed() {
    let mut spec = spec();
    spec.command = vec![
        "sh".into(),
        "-c".into(),
        "wc -c < main.py; echo $GREETING".into(),
    ];
    spec.environment
        .insert("GREETING".into(), "hello there".into());
    let outcome = run(&spec, Job::new(""), "empty").await;
    assert_eq!(outcome.exit_code, Some(0), "{outcome:?}");
    assert_eq!(outcome.stdout, "0\nhello there\n");
}

#[tokio::test]
async fn the_network_is_unreachable() {
    // 127.0.0.1:5432 is the host's PostgreSQL (scripts/ensure-postgres.sh):
    // inside, loopback is the container's own, where nothing listens.
    let source = "import socket\n\
                  for host, port in [('1.1.1.1', 53), ('127.0.0.1', 5432), ('deb.debian.org', 80)]:\n\
                  \x20   try:\n\
                  \x20       socket.create_connection((host, port), timeout=3).close()\n\
                  \x20       print(host, 'connected')\n\
                  \x20   except OSError as e:\n\
                  \x20       print(host, 'failed', type(e).__name__)\n";
    let outcome = run(&spec(), Job::new(source), "network").await;
    assert_eq!(outcome.exit_code, Some(0), "{outcome:?}");
    assert!(!outcome.stdout.contains("connected"), "{}", outcome.stdout);
    assert_eq!(
        outcome.stdout.matches("failed").count(),
        3,
        "{}",
        outcome.stdout
    );
}

#[tokio::test]
async fn only_the_workspace_and_tmp_are_writable() {
    let source = "import os\n\
                  for path in ['/etc/x', '/x', '/usr/bin/x', '/home/x', '/work/x', '/tmp/x']:\n\
                  \x20   try:\n\
                  \x20       open(path, 'w').write('hi')\n\
                  \x20       print(path, 'written')\n\
                  \x20   except OSError as e:\n\
                  \x20       print(path, 'refused', e.strerror)\n";
    let outcome = run(&spec(), Job::new(source), "write").await;
    assert_eq!(outcome.exit_code, Some(0), "{outcome:?}");
    let lines: Vec<&str> = outcome.stdout.lines().collect();
    for refused in &lines[..4] {
        assert!(
            refused.contains("refused Read-only file system")
                || refused.contains("refused Permission denied"),
            "{refused}"
        );
    }
    assert_eq!(lines[4..], ["/work/x written", "/tmp/x written"]);
}

#[tokio::test]
async fn a_fork_bomb_is_stopped_by_the_pid_limit() {
    let mut spec = spec();
    spec.limits.pids = 16;
    let source = "import os, sys, time\n\
                  children = 0\n\
                  while children < 1000:\n\
                  \x20   try:\n\
                  \x20       pid = os.fork()\n\
                  \x20   except OSError as e:\n\
                  \x20       print('refused after', children, e.strerror)\n\
                  \x20       sys.exit(0)\n\
                  \x20   if pid == 0:\n\
                  \x20       time.sleep(30)\n\
                  \x20       os._exit(0)\n\
                  \x20   children += 1\n\
                  print('forked', children)\n";
    let outcome = run(&spec, Job::new(source), "fork").await;
    assert_eq!(outcome.exit_code, Some(0), "{outcome:?}");
    let words: Vec<&str> = outcome.stdout.split_whitespace().collect();
    assert_eq!(words[..2], ["refused", "after"], "{}", outcome.stdout);
    let children: u32 = words[2].parse().unwrap();
    assert!(children < 16, "{children} children under a limit of 16");
}

#[tokio::test]
async fn unbounded_allocation_is_oom_killed() {
    let mut spec = spec();
    spec.limits.memory = 32 << 20;
    let source = "chunks = []\nwhile True:\n    chunks.append(b'x' * (1 << 20))\n";
    let outcome = run(&spec, Job::new(source), "oom").await;
    assert!(outcome.oom_killed, "{outcome:?}");
    assert_eq!(outcome.exit_code, Some(137));
    assert!(!outcome.timed_out);
}

#[tokio::test]
async fn an_endless_loop_is_killed_at_the_timeout() {
    let mut spec = spec();
    spec.limits.timeout_ms = 3000;
    let source = "print('started', flush=True)\nwhile True:\n    pass\n";
    let outcome = run(&spec, Job::new(source), "timeout").await;
    assert!(outcome.timed_out, "{outcome:?}");
    assert_eq!(outcome.exit_code, None);
    // What it wrote before is kept.
    assert_eq!(outcome.stdout, "started\n");
    assert!(outcome.duration_ms >= 3000);
}

#[tokio::test]
async fn output_over_the_limit_is_cut_and_the_run_killed() {
    let mut spec = spec();
    spec.limits.output_limit = 1000;
    let source = "import sys\nwhile True:\n    sys.stdout.write('x' * 4096)\n";
    let outcome = run(&spec, Job::new(source), "flood").await;
    assert!(outcome.truncated, "{outcome:?}");
    assert_eq!(outcome.stdout, "x".repeat(1000));
    assert_eq!(outcome.exit_code, None);
    assert!(!outcome.timed_out);
}

#[tokio::test]
async fn a_cancelled_run_leaves_no_container() {
    let runner = runner().await;
    let spec = spec();
    let process = process("cancel");
    let job = Job::new("import time\nprint('up', flush=True)\ntime.sleep(60)\n");
    let task = tokio::spawn({
        let (runner, spec, process) = (runner.clone(), spec.clone(), process.clone());
        async move { runner.run(&spec, &job, &process).await }
    });
    let until = Instant::now() + Duration::from_secs(20);
    while left(&process).is_empty() {
        assert!(Instant::now() < until, "the run never made its container");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    none_left(&process).await;
}

/// `docker` CLI output for the containers labelled `process`, with `args`.
fn docker_ps(process: &str, args: &[&str]) -> Vec<String> {
    let out = Command::new("docker")
        .args(["ps", "-q", "--filter"])
        .arg(format!("label={PROCESS_LABEL}={process}"))
        .args(args)
        .output()
        .expect("docker ps runs");
    assert!(out.status.success(), "docker ps: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// An engine killed mid-run removes nothing: its container must still stop
/// at the run's timeout by itself (its `timeout` inside), not run on.
#[tokio::test]
async fn a_run_whose_engine_is_gone_stops_at_its_timeout_inside_the_container() {
    let runner = runner().await;
    let mut spec = spec();
    // Long enough for the container to start on a loaded machine.
    spec.limits.timeout_ms = 10_000;
    let process = process("orphan");
    let job = Job::new("import time\nprint('up', flush=True)\ntime.sleep(600)\n");
    let mut run = Box::pin(runner.run(&spec, &job, &process));
    let until = Instant::now() + Duration::from_secs(30);
    while docker_ps(&process, &["--filter", "status=running"]).is_empty() {
        assert!(
            Instant::now() < until,
            "the run never started its container"
        );
        tokio::select! {
            outcome = &mut run => panic!("the run ended before its engine went: {outcome:?}"),
            () = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
    // The engine goes: nothing of the run is polled or dropped again, so
    // neither its clock nor its guard can stop the container.
    std::mem::forget(run);
    let until = Instant::now() + Duration::from_secs(60);
    let exited = loop {
        let exited = docker_ps(&process, &["-a", "--filter", "status=exited"]);
        if !exited.is_empty() {
            break exited;
        }
        assert!(
            Instant::now() < until,
            "the container ran on past its timeout: {:?}",
            docker_ps(&process, &["-a"])
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let inspect = Command::new("docker")
        .args(["inspect", "-f", "{{.State.ExitCode}}", &exited[0]])
        .output()
        .expect("docker inspect runs");
    let code = String::from_utf8_lossy(&inspect.stdout).trim().to_string();
    let removed = Command::new("docker")
        .args(["rm", "-f", &exited[0]])
        .output()
        .expect("docker rm runs");
    assert!(removed.status.success(), "docker rm: {removed:?}");
    // SIGKILL from `timeout -s KILL`.
    assert_eq!(code, "137");
}

#[tokio::test]
async fn streamed_lines_come_in_order_then_the_outcome() {
    let runner = runner().await;
    let process = process("stream");
    let source = "import sys, time\n\
                  print('one', flush=True)\n\
                  print('warn', file=sys.stderr, flush=True)\n\
                  time.sleep(0.2)\n\
                  sys.stdout.write('two\\nthree')\n";
    let events: Vec<Event> = RunStream::new(runner, spec(), Job::new(source), process.clone())
        .map(|event| event.expect("the run succeeds"))
        .collect()
        .await;
    let line = |channel, text: &str| {
        Event::Line(Line {
            channel,
            text: text.into(),
        })
    };
    // Each channel in its order (stdout and stderr are two pipes, read
    // side by side: their interleaving is the daemon's).
    let of = |channel| {
        events[..4]
            .iter()
            .filter(|e| matches!(e, Event::Line(l) if l.channel == channel))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        of(Channel::Stdout),
        [
            line(Channel::Stdout, "one"),
            line(Channel::Stdout, "two"),
            line(Channel::Stdout, "three"),
        ]
    );
    assert_eq!(of(Channel::Stderr), [line(Channel::Stderr, "warn")]);
    let Event::Done(outcome) = &events[4] else {
        panic!("{events:?}")
    };
    assert_eq!(outcome.exit_code, Some(0));
    assert_eq!(outcome.stdout, "one\ntwo\nthree");
    assert_eq!(events.len(), 5);
    none_left(&process).await;
}

#[tokio::test]
async fn a_dropped_stream_leaves_no_container() {
    let runner = runner().await;
    let process = process("stream-drop");
    let source = "import time\nprint('up', flush=True)\ntime.sleep(60)\n";
    let mut stream = RunStream::new(runner, spec(), Job::new(source), process.clone());
    let first = stream.next().await.expect("an event").expect("no error");
    assert!(
        matches!(first, Event::Line(ref l) if l.text == "up"),
        "{first:?}"
    );
    assert_eq!(left(&process).len(), 1);
    drop(stream);
    none_left(&process).await;
}

/// A small, seeded generator: the seed is printed, so a failure replays.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

#[tokio::test]
async fn a_hundred_runs_with_random_cancellations_leave_no_container() {
    let seed = std::env::var("WEIR_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    println!("seed {seed} (WEIR_SEED={seed} replays it)");
    let mut rng = Rng(seed);
    let runner = runner().await;
    let spec = spec();
    let process = process("hundred");
    let plans: Vec<Option<u64>> = (0..100)
        .map(|_| (rng.below(2) == 0).then(|| rng.below(1500)))
        .collect();
    let runs = futures_util::stream::iter(plans.into_iter().enumerate())
        .map(|(i, cancel_after)| {
            let (runner, spec, process) = (&runner, &spec, &process);
            async move {
                let job = Job::new(format!(
                    "import time\ntime.sleep({})\nprint({i})\n",
                    (i % 5) as f64 / 10.0
                ));
                let run = runner.run(spec, &job, process);
                match cancel_after {
                    None => {
                        let outcome = run
                            .await
                            .unwrap_or_else(|e| panic!("run {i}: {e} (seed {seed})"));
                        assert_eq!(outcome.stdout, format!("{i}\n"), "run {i} (seed {seed})");
                        true
                    }
                    Some(ms) => tokio::time::timeout(Duration::from_millis(ms), run)
                        .await
                        .is_ok(),
                }
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<bool>>()
        .await;
    println!(
        "{} of 100 runs finished, the rest were cancelled",
        runs.iter().filter(|f| **f).count()
    );
    none_left(&process).await;
}

#[tokio::test]
async fn the_sweep_removes_what_dead_engines_left() {
    let runner = runner().await;
    let image = spec().image;
    let me = Engine::parse(runner.engine()).expect("this engine has an identity");
    let fields: Vec<String> = me.to_string().split(':').map(str::to_string).collect();
    // An engine that runs now (a child process), and one that is gone.
    let mut child = Command::new("sleep").arg("60").spawn().unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", child.id())).unwrap();
    let start = stat[stat.rfind(')').unwrap() + 1..]
        .split_whitespace()
        .nth(19)
        .unwrap()
        .to_string();
    let alive = format!("{}:{}:{}:{start}", fields[0], fields[1], child.id());
    let process = process("sweep");
    let create = |engine: &str| {
        let out = Command::new("docker")
            .args(["create", "--label"])
            .arg(format!("{ENGINE_LABEL}={engine}"))
            .arg("--label")
            .arg(format!("{PROCESS_LABEL}={process}"))
            .args([&image, "true"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let dead = create(&format!("{}:{}:{}:1", fields[0], fields[1], u32::MAX - 7));
    let live = create(&alive);
    runner.sweep().await.unwrap();
    let after: Vec<String> = left(&process);
    assert!(
        !after.iter().any(|id| dead.starts_with(id.as_str())),
        "{after:?}"
    );
    assert!(
        after.iter().any(|id| live.starts_with(id.as_str())),
        "{after:?}"
    );
    // Its engine ends: the next sweep takes it.
    child.kill().unwrap();
    child.wait().unwrap();
    runner.sweep().await.unwrap();
    assert!(left(&process).is_empty());
}

#[tokio::test]
async fn bad_runs_are_refused_with_what_was_wrong() {
    let runner = runner().await;
    let process = process("bad");
    let missing = ContainerSpec::new("weir-no-such-image:0");
    let error = runner
        .run(&missing, &Job::new("print(1)"), &process)
        .await
        .unwrap_err();
    assert!(matches!(error, RunError::NoImage(_)), "{error}");
    assert!(
        error.to_string().contains("scripts/sandbox-image.sh"),
        "{error}"
    );

    let mut bad = spec();
    bad.limits.pids = 1_000_000;
    let error = runner
        .run(&bad, &Job::new("print(1)"), &process)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("limits.pids"), "{error}");

    let huge = Job::new("#".repeat(weir_nodes::container::SOURCE_LIMIT + 1));
    let error = runner.run(&spec(), &huge, &process).await.unwrap_err();
    assert!(
        matches!(
            error,
            RunError::TooLarge {
                what: "the script",
                ..
            }
        ),
        "{error}"
    );

    // A command that does not exist is the command's failure, not ours.
    let mut spec = spec();
    spec.command = vec!["no-such-program".into()];
    spec.network = Network::None;
    let outcome = runner.run(&spec, &Job::new(""), &process).await.unwrap();
    assert_eq!(outcome.exit_code, Some(127), "{outcome:?}");
    none_left(&process).await;
}

/// The bundled example (specs/examples/sandbox/run.yaml), started with the
/// nodes' scheme, answering requests as its router would hand them on.
mod example {
    use std::sync::Arc;

    use weir_codecs::Value;
    use weir_engine::runtime::{Limits, Outcome};
    use weir_engine::spec::source::{Format, parse};
    use weir_engine::symbol::{Status, SymbolTable};
    use weir_engine::{Bundle, Packet, Process};

    struct NoValues;

    impl weir_engine::env::ValueSource for NoValues {
        fn value(&self, _: &str, _: Option<&str>, _: Option<uuid::Uuid>) -> Option<Value> {
            None
        }
    }

    async fn start() -> Arc<SymbolTable> {
        let file = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../specs/examples/sandbox/run.yaml"
        );
        let yaml = std::fs::read_to_string(file).unwrap();
        let specs = parse(&yaml, Format::Yaml, None).expect("parses");
        let bundle = Bundle::compile(&weir_nodes::scheme(), specs, &NoValues)
            .unwrap_or_else(|d| panic!("{d}"));
        let table = bundle.start(Limits::default()).await["examples"].clone();
        for (_, name, status) in table.statuses().await {
            assert_eq!(status, Status::Active, "{name}");
        }
        table
    }

    async fn post(table: &SymbolTable, body: serde_json::Value) -> Value {
        let request = serde_json::json!({
            "method": "POST", "path": "/api/run", "query": {}, "header": {}, "params": {},
            "body": body,
        });
        let process = Process::new();
        let answer = table
            .send(
                "sandbox",
                process.clone(),
                Packet::new(weir_codecs::json::from_json(request)),
            )
            .await;
        let outcome = match answer.as_error() {
            Some(error) => Outcome::Failed(error.clone()),
            None => Outcome::Ok,
        };
        process.exit(outcome).await.expect("no exit hook fails");
        answer.into_payload()
    }

    fn json(value: &Value) -> serde_json::Value {
        weir_codecs::json::to_json(value)
    }

    #[tokio::test]
    async fn a_script_runs_and_answers_its_outcome() {
        super::spec(); // the image is there, or say which script builds it
        let table = start().await;
        let answer = json(&post(&table, serde_json::json!({"source": "import sys\nprint(6 * 7, sys.stdin.read())", "stdin": "!"})).await);
        assert_eq!(answer["exit_code"], 0, "{answer}");
        assert_eq!(answer["stdout"], "42 !\n");
        assert_eq!(answer["timed_out"], false);
        assert_eq!(answer["oom_killed"], false);
    }

    #[tokio::test]
    async fn a_timeout_answers_504_with_what_it_wrote() {
        let table = start().await;
        let source = "print('so far', flush=True)\nwhile True: pass";
        let answer = json(
            &post(
                &table,
                serde_json::json!({"source": source, "timeout_ms": 3000}),
            )
            .await,
        );
        assert_eq!(answer["status"], 504, "{answer}");
        assert_eq!(answer["body"]["error"]["code"], "timeout");
        assert_eq!(answer["body"]["run"]["timed_out"], true);
        assert_eq!(answer["body"]["run"]["stdout"], "so far\n");
    }

    /// The example behind a listener of its own, on a free port; its
    /// container spec runs `image`.
    async fn serve(image: &str) -> (Arc<SymbolTable>, String) {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let file = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../specs/examples/sandbox/run.yaml"
        );
        let example = std::fs::read_to_string(file)
            .unwrap()
            .replace("image: weir-python:latest", &format!("image: {image}"));
        let yaml = format!(
            "- kind: listener\n  namespace: examples\n  name: front\n  host: 127.0.0.1\n  port: {port}\n  ports: {{out: [{{name: front-routes}}]}}\n\
             - kind: router\n  namespace: examples\n  name: front-routes\n  routes: [{{method: POST, path: /api/run, port: \"out[0]\"}}]\n  ports: {{\"out[0]\": [{{name: sandbox}}]}}\n{example}"
        );
        let specs = parse(&yaml, Format::Yaml, None).expect("parses");
        let bundle = Bundle::compile(&weir_nodes::scheme(), specs, &NoValues)
            .unwrap_or_else(|d| panic!("{d}"));
        let table = bundle.start(Limits::default()).await["examples"].clone();
        (table, format!("http://127.0.0.1:{port}/api/run"))
    }

    #[tokio::test]
    async fn over_http_the_answer_is_json_and_the_stream_is_events() {
        let (_table, url) = serve("weir-python:latest").await;
        let client = reqwest::Client::new();
        let answer: serde_json::Value = client
            .post(&url)
            .json(&serde_json::json!({"source": "print('hi')"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(answer["stdout"], "hi\n", "{answer}");
        let response = client
            .post(format!("{url}?stream=true"))
            .json(&serde_json::json!({"source": "import sys\nprint('a')\nprint('b\"', file=sys.stderr)"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        let events = response.text().await.unwrap();
        assert!(
            events.contains("event: stdout\ndata: \"a\"\n\n"),
            "{events}"
        );
        assert!(
            events.contains("event: stderr\ndata: \"b\\\"\"\n\n"),
            "{events}"
        );
        let done = events
            .split("event: done\ndata: ")
            .nth(1)
            .expect("a done event");
        let done: serde_json::Value = serde_json::from_str(done.trim()).unwrap();
        assert_eq!(done["exit_code"], 0, "{events}");
    }

    #[tokio::test]
    async fn a_client_that_goes_away_leaves_no_container() {
        // An image name of this test's own, to find its containers by.
        let image = format!("weir-python:gone-{}", uuid::Uuid::now_v7().simple());
        let tagged = std::process::Command::new("docker")
            .args(["tag", &super::spec().image, &image])
            .status()
            .unwrap();
        assert!(tagged.success());
        let (_table, url) = serve(&image).await;
        let mut response = reqwest::Client::new()
            .post(format!("{url}?stream=true"))
            .json(&serde_json::json!({"source": "import time\nprint('up', flush=True)\ntime.sleep(60)"}))
            .send()
            .await
            .unwrap();
        let first = response.chunk().await.unwrap().expect("an event");
        assert!(
            String::from_utf8_lossy(&first).contains("\"up\""),
            "{first:?}"
        );
        // `ancestor=` would match by image id, so every other test's
        // container too: keep those created from this test's own tag.
        let ours = || {
            let all = std::process::Command::new("docker")
                .args(["ps", "-aq"])
                .output()
                .unwrap();
            let ids = String::from_utf8_lossy(&all.stdout).to_string();
            if ids.trim().is_empty() {
                return String::new();
            }
            let inspected = std::process::Command::new("docker")
                .args(["inspect", "--format", "{{.Id}} {{.Config.Image}}"])
                .args(ids.split_whitespace())
                .output()
                .unwrap();
            String::from_utf8_lossy(&inspected.stdout)
                .lines()
                .filter(|line| line.ends_with(&format!(" {image}")))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert!(!ours().is_empty(), "the run's container runs");
        drop(response);
        let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !ours().is_empty() {
            assert!(std::time::Instant::now() < until, "left: {}", ours());
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let _ = std::process::Command::new("docker")
            .args(["rmi", &image])
            .output();
    }

    #[tokio::test]
    async fn a_bad_request_is_refused_before_anything_runs() {
        let table = start().await;
        let answer = post(
            &table,
            serde_json::json!({"source": 5, "timeout_ms": 99999}),
        )
        .await;
        let error = answer.as_error().expect("an error");
        assert_eq!(error.status, Some(400), "{error:?}");
    }
}
