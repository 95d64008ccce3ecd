//! The pool of threads that run JavaScript, one [`Engine`] each.
//!
//! Scripts never run on the async workers: a busy script would stall every
//! node sharing that worker. Calls queue here instead (bounded: a caller
//! waits for room), and each thread takes the next one. A thread keeps its
//! engine between calls (a runtime costs more to make than a context) and
//! replaces it when a call left it spent (timed out, out of memory,
//! abandoned) or panicked. A caller that goes away marks its call
//! abandoned: a queued call is skipped, a running one interrupted. This
//! module knows nothing of specs or nodes.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, LazyLock, Mutex};

use tokio::sync::{Semaphore, oneshot};
use weir_codecs::{ErrorValue, Value};

use super::engine::{Engine, Failure, Limits};

/// Calls waiting or running per thread before callers wait for room.
const QUEUE_PER_THREAD: usize = 64;

/// Each thread's own stack: QuickJS's is capped well below it.
const THREAD_STACK: usize = 4 * 1024 * 1024;

static POOL: LazyLock<Pool> = LazyLock::new(Pool::start);

/// One call, as queued.
struct Job {
    bytecode: Arc<[u8]>,
    payload: Value,
    limits: Limits,
    abandoned: Arc<AtomicBool>,
    reply: oneshot::Sender<Result<Value, Failure>>,
}

struct Pool {
    jobs: Mutex<Sender<Job>>,
    room: Semaphore,
}

impl Pool {
    fn start() -> Pool {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let (jobs, queue) = channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("weir-js-{i}"))
                .stack_size(THREAD_STACK)
                .spawn(move || work(&queue));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a JavaScript thread");
            }
        }
        Pool {
            jobs: Mutex::new(jobs),
            room: Semaphore::new(threads * QUEUE_PER_THREAD),
        }
    }
}

/// Sets the flag when dropped: the caller's future went away.
struct Abandon(Arc<AtomicBool>);

impl Drop for Abandon {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Runs `bytecode`'s default export on `payload` on a pool thread.
pub async fn call(bytecode: Arc<[u8]>, payload: Value, limits: Limits) -> Result<Value, Failure> {
    let pool = &*POOL;
    let _room = pool.room.acquire().await.map_err(|_| Failure::Cancelled)?;
    let abandoned = Arc::new(AtomicBool::new(false));
    let _abandon = Abandon(abandoned.clone());
    let (reply, answer) = oneshot::channel();
    let job = Job {
        bytecode,
        payload,
        limits,
        abandoned,
        reply,
    };
    let sent = pool
        .jobs
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .send(job);
    if sent.is_err() {
        return Err(no_threads());
    }
    answer.await.unwrap_or_else(|_| Err(no_threads()))
}

fn no_threads() -> Failure {
    Failure::Script(ErrorValue::new("no JavaScript thread is running").with_code("unavailable"))
}

/// A pool thread: takes calls until the pool is gone.
fn work(queue: &Mutex<Receiver<Job>>) {
    let mut engine: Option<Engine> = None;
    loop {
        let job = match queue.lock().unwrap_or_else(|p| p.into_inner()).recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        if job.abandoned.load(Ordering::Relaxed) {
            continue;
        }
        let mut current = match engine.take() {
            Some(current) => current,
            None => match Engine::new() {
                Ok(fresh) => fresh,
                Err(e) => {
                    let _ = job.reply.send(Err(Failure::Script(ErrorValue::new(e))));
                    continue;
                }
            },
        };
        let ran = catch_unwind(AssertUnwindSafe(|| {
            current.run(&job.bytecode, Some(&job.payload), job.limits, job.abandoned)
        }));
        let answer = match ran {
            Ok(answer) => {
                if !current.spent() {
                    engine = Some(current);
                }
                answer
            }
            Err(_) => Err(Failure::Script(
                ErrorValue::new("the JavaScript engine failed").with_code("engine"),
            )),
        };
        let _ = job.reply.send(answer);
    }
}
