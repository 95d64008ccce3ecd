//! Run-to-answer time of a trivial script through the container runner,
//! beside `docker run --rm` of the same image with the same lockdown, in
//! the same run (interleaved, so both see the same machine), then how many
//! runs a second the runner sustains at a few concurrencies.
//!
//! `scripts/bench-container.sh` runs it (after the daemon and the image);
//! by hand: `cargo run -p weir-nodes --example container_bench -- IMAGE [N]`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use weir_nodes::container::{ContainerSpec, Job, Runner};

const SCRIPT: &str = "print(1)";

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let image = args.next().expect("usage: container_bench IMAGE [N]");
    let n: usize = args
        .next()
        .map_or(50, |n| n.parse().expect("N is a number"));
    let runner = Runner::connect()
        .await
        .expect("a Docker daemon (scripts/ensure-docker.sh)");
    let spec = ContainerSpec::new(&image);
    let job = Job::new(SCRIPT);

    // One of each first, so neither pays for a cold cache.
    once(&runner, &spec, &job).await;
    cli(&image);
    let (mut ours, mut theirs) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        let started = Instant::now();
        once(&runner, &spec, &job).await;
        ours.push(started.elapsed());
        let started = Instant::now();
        cli(&image);
        theirs.push(started.elapsed());
    }
    println!(
        "sequential, {n} runs each, run to answer (the runner removes after answering, the CLI before):"
    );
    report("runner (bollard)", &mut ours);
    report("docker run --rm", &mut theirs);

    for concurrency in [1, 2, 4, 8] {
        let total = n.max(concurrency * 4);
        let started = Instant::now();
        futures_util::stream::iter(0..total)
            .map(|_| once(&runner, &spec, &job))
            .buffer_unordered(concurrency)
            .collect::<Vec<()>>()
            .await;
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "concurrency {concurrency:>2}: {total} runs in {seconds:.2} s = {:.1} runs/s",
            total as f64 / seconds
        );
    }
}

async fn once(runner: &Runner, spec: &ContainerSpec, job: &Job) {
    let outcome = runner
        .run(spec, job, "bench")
        .await
        .expect("the run succeeds");
    assert_eq!(outcome.stdout, "1\n", "{outcome:?}");
}

/// The CLI with the flags the runner sets, the script given with `-c`.
fn cli(image: &str) {
    let out = Command::new("docker")
        .args([
            "run",
            "--rm",
            "--network",
            "none",
            "--read-only",
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges",
            "--user",
            "65534:65534",
            "--pids-limit",
            "64",
            "--memory",
            "256m",
            "--memory-swap",
            "256m",
            "--tmpfs",
            "/work:rw,nosuid,nodev,size=64m,uid=65534,gid=65534,mode=0700",
            "--tmpfs",
            "/tmp:rw,nosuid,nodev,noexec,size=64m",
            "-w",
            "/work",
            "--log-driver",
            "none",
            image,
            "python3",
            "-c",
            SCRIPT,
        ])
        .stdin(Stdio::null())
        .output()
        .expect("docker runs");
    assert_eq!(out.stdout, b"1\n", "{out:?}");
}

fn report(name: &str, times: &mut [Duration]) {
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "  {name:<18} p50 {:>7.1} ms   p99 {:>7.1} ms   min {:>7.1} ms",
        ms(at(0.5)),
        ms(at(0.99)),
        ms(times[0])
    );
}
