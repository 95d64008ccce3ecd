//! JavaScript for `snippet`: an ES module whose default export is called
//! with the payload, on QuickJS (`rquickjs`), embedded, with no Node.js.
//!
//! [`Script::compile`] checks the code when the spec compiles, once: its
//! syntax, and that evaluating it yields a default export function (under
//! the spec's limits, so `weir validate` reports both). The bytecode is
//! kept; each call runs it in a fresh context on a pool thread
//! ([`pool`]), under a time and a memory limit ([`engine`]). Values cross
//! as [`convert`] describes. Errors are mapped to error values here.

mod convert;
mod engine;
mod pool;

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use weir_codecs::{ErrorValue, Value};

use super::duration::Duration;
use super::limit::Limit;
pub use engine::{Failure, Limits};

/// A compiled JavaScript module.
pub struct Script {
    bytecode: Arc<[u8]>,
}

thread_local! {
    /// The engine specs compile with on this thread: a runtime costs more
    /// to make than a context, and a namespace may hold many scripts.
    static COMPILER: RefCell<Option<engine::Engine>> = const { RefCell::new(None) };
}

impl Script {
    /// Compiles `source` and checks, within `limits`, that it exports a
    /// default function. The error is a message for the field `code`.
    pub fn compile(node: &str, source: &str, limits: Limits) -> Result<Script, String> {
        let mut engine = match COMPILER.with(|c| c.borrow_mut().take()) {
            Some(engine) => engine,
            None => engine::Engine::new()?,
        };
        let compiled = engine.compile(node, source);
        let checked = compiled.map(|bytecode| {
            let bytecode: Arc<[u8]> = bytecode.into();
            let ran = engine.run(&bytecode, None, limits, Arc::new(AtomicBool::new(false)));
            (bytecode, ran)
        });
        if !engine.spent() {
            engine.tidy();
            COMPILER.with(|c| *c.borrow_mut() = Some(engine));
        }
        let (bytecode, ran) = checked?;
        match ran {
            Ok(_) => Ok(Script { bytecode }),
            Err(Failure::Script(error)) => Err(error.message),
            Err(Failure::Timeout) => Err(format!(
                "the module's top level ran past the time limit of {}",
                Duration(limits.time)
            )),
            Err(Failure::Memory) => Err(format!(
                "the module's top level ran out of its {} MiB of memory",
                limits.memory >> 20
            )),
            Err(Failure::Cancelled) => Err("the check was cancelled".into()),
        }
    }

    /// Calls the default export with `payload`, off the async workers.
    pub async fn call(&self, payload: Value, limits: Limits) -> Result<Value, Failure> {
        pool::call(self.bytecode.clone(), payload, limits).await
    }
}

/// The error a failed call of `limit`'s node answers.
pub fn failure(limit: &Limit, failure: Failure, limits: Limits) -> ErrorValue {
    let node = limit.node();
    match failure {
        Failure::Script(mut error) => {
            error.message = format!("node `{node}`: {}", error.message);
            error
        }
        Failure::Timeout => limit.timed_out(Duration(limits.time)),
        Failure::Memory => ErrorValue::new(format!(
            "node `{node}`: ran out of its memory limit of {} MiB",
            limits.memory >> 20
        ))
        .with_code("memory")
        .with_status(500),
        Failure::Cancelled => {
            ErrorValue::new(format!("node `{node}`: cancelled")).with_code("cancelled")
        }
    }
}
