//! [`Engine`]: one QuickJS runtime, its limits, and running one call in it.
//!
//! Every call gets a fresh context: the module is loaded from its bytecode,
//! evaluated, and its default export called with the payload; then the
//! context is dropped and the runtime garbage-collected. Nothing a call
//! leaves in its globals or its module's variables is reachable by the
//! next, which is the isolation between processes. Making a context is
//! most of a call's fixed cost, so [`Engine::tidy`] makes the next one
//! between calls, after the answer has gone. Contexts carry only the ECMAScript built-ins: there
//! is no module loader, no `console`, no file, network or process access.
//!
//! Limits: the runtime's memory limit is set per call, and its interrupt
//! handler stops the script when the call's deadline passes or its caller
//! gives up. QuickJS calls that handler only between bytecodes, so a
//! built-in that allocates in a loop of its own (`split`, `join`, `map`
//! over a huge array) would run past the deadline; the runtime's allocator
//! ([`Watched`]) checks the same deadline, and once the call is stopped it
//! refuses every allocation, which ends any built-in. An engine whose call was interrupted or ran out of memory is
//! [`Engine::spent`] and must be dropped, never reused. This module runs
//! on whatever thread owns the engine; the pool decides which.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rquickjs::allocator::{Allocator, RustAllocator};
use rquickjs::context::intrinsic;
use rquickjs::{CatchResultExt, CaughtError, Context, Ctx, Module, Runtime, WriteOptions};
use weir_codecs::{ErrorValue, Value};

use super::convert::{self, ConvertError};

/// The JavaScript stack a call may use: deep recursion is a `RangeError`
/// well before the thread's own stack is at risk.
const STACK: usize = 512 * 1024;

/// The built-ins a call's context has: ECMAScript's, without `eval` and
/// `Function` (the code is fixed when the spec compiles) and without
/// `performance` (no clock to time other calls by).
type Builtins = (
    intrinsic::Date,
    intrinsic::RegExpCompiler,
    intrinsic::RegExp,
    intrinsic::Json,
    intrinsic::Proxy,
    intrinsic::MapSet,
    intrinsic::TypedArrays,
    intrinsic::Promise,
    intrinsic::WeakRef,
);

/// What a call is allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// How long the script may run.
    pub time: std::time::Duration,
    /// How many bytes the runtime may hold while it runs.
    pub memory: usize,
}

/// Why a call gave no value.
#[derive(Debug, PartialEq)]
pub enum Failure {
    /// The script threw, or its answer cannot become a value: the error.
    Script(ErrorValue),
    /// It ran past its time limit.
    Timeout,
    /// It ran out of memory.
    Memory,
    /// Its caller stopped waiting.
    Cancelled,
}

const ARMED: u8 = 0;
const TIMED_OUT: u8 = 1;
const ABANDONED: u8 = 2;

/// What the interrupt handler watches during one call.
#[derive(Default)]
struct Watch {
    call: Mutex<Option<(Instant, Arc<AtomicBool>)>>,
    tripped: AtomicU8,
}

impl Watch {
    fn arm(&self, deadline: Instant, abandoned: Arc<AtomicBool>) {
        self.tripped.store(ARMED, Ordering::Relaxed);
        *lock(&self.call) = Some((deadline, abandoned));
    }

    fn disarm(&self) -> u8 {
        *lock(&self.call) = None;
        self.tripped.load(Ordering::Relaxed)
    }

    /// Called by QuickJS every few thousand instructions: `true` stops the
    /// script with an uncatchable error, and keeps stopping it (through any
    /// `finally`) for the rest of the call.
    fn interrupt(&self) -> bool {
        if self.tripped.load(Ordering::Relaxed) != ARMED {
            return true;
        }
        let tripped = match &*lock(&self.call) {
            None => ARMED,
            Some((_, abandoned)) if abandoned.load(Ordering::Relaxed) => ABANDONED,
            Some((deadline, _)) if Instant::now() >= *deadline => TIMED_OUT,
            Some(_) => ARMED,
        };
        self.tripped.store(tripped, Ordering::Relaxed);
        tripped != ARMED
    }
}

/// Allocations between two looks at the clock, for small ones: a look
/// costs more than most of QuickJS's allocations.
const CLOCK_EVERY: u32 = 256;

/// An allocation this large always looks at the clock (64 KiB): its own
/// cost dwarfs the look.
const CLOCK_ABOVE: usize = 64 << 10;

/// Rust's allocator, refusing to allocate for a call that is past its
/// deadline, abandoned, or already stopped. QuickJS treats a refusal as
/// running out of memory, which unwinds the script; [`Engine::run`] then
/// reports the stop's real cause.
struct Watched {
    watch: Arc<Watch>,
    count: u32,
}

impl Watched {
    /// Whether to refuse an allocation of `size` bytes: when a look at the
    /// clock (every [`CLOCK_EVERY`] allocations, and for every large one)
    /// finds the call stopped. One refused allocation ends the built-in
    /// making it; most still succeed after a stop, so QuickJS can make the
    /// uncatchable error that unwinds the script through `catch`.
    fn refuse(&mut self, size: usize) -> bool {
        self.count = self.count.wrapping_add(1);
        let look = size >= CLOCK_ABOVE || self.count.is_multiple_of(CLOCK_EVERY);
        look && self.watch.interrupt()
    }
}

// SAFETY: every allocation is made by `RustAllocator` (or refused with a
// null pointer, which the contract allows), and every pointer given back is
// handed to `RustAllocator` unchanged, so its guarantees hold.
unsafe impl Allocator for Watched {
    fn alloc(&mut self, size: usize) -> *mut u8 {
        match self.refuse(size) {
            true => std::ptr::null_mut(),
            false => RustAllocator.alloc(size),
        }
    }

    fn calloc(&mut self, count: usize, size: usize) -> *mut u8 {
        match self.refuse(count.saturating_mul(size)) {
            true => std::ptr::null_mut(),
            false => RustAllocator.calloc(count, size),
        }
    }

    unsafe fn dealloc(&mut self, ptr: *mut u8) {
        // SAFETY: `ptr` came from `RustAllocator` (see the impl's note).
        unsafe { RustAllocator.dealloc(ptr) }
    }

    unsafe fn realloc(&mut self, ptr: *mut u8, new_size: usize) -> *mut u8 {
        // Shrinking and freeing (size 0) are always let through.
        if new_size > 0 && self.refuse(new_size) {
            return std::ptr::null_mut();
        }
        // SAFETY: as `dealloc`.
        unsafe { RustAllocator.realloc(ptr, new_size) }
    }

    unsafe fn usable_size(ptr: *mut u8) -> usize {
        // SAFETY: as `dealloc`.
        unsafe { RustAllocator::usable_size(ptr) }
    }
}

/// A mutex guard even after a panic elsewhere: the guarded `Option` is
/// replaced whole, so it is never half-written.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// One QuickJS runtime.
pub struct Engine {
    runtime: Runtime,
    watch: Arc<Watch>,
    spent: bool,
    /// A context made between calls, that no code has run in yet.
    fresh: Option<Context>,
}

impl Engine {
    /// A fresh runtime.
    pub fn new() -> Result<Engine, String> {
        let watch = Arc::new(Watch::default());
        let allocator = Watched {
            watch: watch.clone(),
            count: 0,
        };
        let runtime = Runtime::new_with_alloc(allocator)
            .map_err(|e| format!("cannot start JavaScript: {e}"))?;
        runtime.set_max_stack_size(STACK);
        let handler = watch.clone();
        runtime.set_interrupt_handler(Some(Box::new(move || handler.interrupt())));
        Ok(Engine {
            runtime,
            watch,
            spent: false,
            fresh: None,
        })
    }

    /// Whether the last call was stopped (time, memory, caller gone): the
    /// runtime may hold anything now, so it must be dropped.
    pub fn spent(&self) -> bool {
        self.spent
    }

    /// Compiles an ES module to bytecode, checking its syntax. `name` is
    /// the module's name in stack traces.
    pub fn compile(&self, name: &str, source: &str) -> Result<Vec<u8>, String> {
        let context =
            Context::custom::<(intrinsic::Eval,)>(&self.runtime).map_err(|e| e.to_string())?;
        context.with(|ctx| {
            let module = Module::declare(ctx.clone(), format!("{name}.js"), source)
                .catch(&ctx)
                .map_err(|e| caught(&ctx, e).message)?;
            module
                .write(WriteOptions::default())
                .map_err(|e| e.to_string())
        })
    }

    /// Runs the module in `bytecode` in a fresh context, calling its
    /// default export with `payload` (or, with no payload, only checking
    /// there is such a function).
    pub fn run(
        &mut self,
        bytecode: &[u8],
        payload: Option<&Value>,
        limits: Limits,
        abandoned: Arc<AtomicBool>,
    ) -> Result<Value, Failure> {
        self.runtime.set_memory_limit(limits.memory);
        self.watch.arm(Instant::now() + limits.time, abandoned);
        let context = match self.fresh.take() {
            Some(fresh) => Ok(fresh),
            None => Context::custom::<Builtins>(&self.runtime),
        };
        let result = match context {
            Ok(context) => context.with(|ctx| call(&ctx, bytecode, payload)),
            Err(rquickjs::Error::Allocation) => Err(Failure::Memory),
            Err(e) => Err(Failure::Script(
                ErrorValue::new(e.to_string()).with_code("engine"),
            )),
        };
        let result = match self.watch.disarm() {
            TIMED_OUT => Err(Failure::Timeout),
            ABANDONED => Err(Failure::Cancelled),
            _ => result,
        };
        self.spent = matches!(
            result,
            Err(Failure::Timeout | Failure::Memory | Failure::Cancelled)
        );
        result
    }

    /// Work for between calls, after the answer has gone: collects what the
    /// last call left (its context is cyclic garbage now) and makes the
    /// next call's context, so a call waits for neither.
    pub fn tidy(&mut self) {
        if self.spent {
            return;
        }
        self.runtime.run_gc();
        if self.fresh.is_none() {
            self.fresh = Context::custom::<Builtins>(&self.runtime).ok();
        }
    }
}

/// Loads, evaluates and calls the module in `ctx`.
fn call<'js>(ctx: &Ctx<'js>, bytecode: &[u8], payload: Option<&Value>) -> Result<Value, Failure> {
    let failed = |e| caught_failure(ctx, e);
    // SAFETY: `bytecode` was written by `Engine::compile` with this same
    // QuickJS build, which is the validity `Module::load` asks for.
    let module = unsafe { Module::load(ctx.clone(), bytecode) }
        .catch(ctx)
        .map_err(failed)?;
    let (module, evaluated) = module.eval().catch(ctx).map_err(failed)?;
    evaluated.finish::<()>().catch(ctx).map_err(failed)?;
    let export: rquickjs::Value = module.get("default").catch(ctx).map_err(failed)?;
    let Some(function) = export.as_function() else {
        return Err(Failure::Script(ErrorValue::new(
            "the module has no default export function (write `export default function (payload) { ... }`)",
        ).with_code("script")));
    };
    let Some(payload) = payload else {
        return Ok(Value::Null);
    };
    let argument = convert::to_js(ctx, payload).catch(ctx).map_err(failed)?;
    let answer: rquickjs::Value = function.call((argument,)).catch(ctx).map_err(failed)?;
    let answer = match answer.as_promise() {
        Some(promise) => promise.finish().catch(ctx).map_err(failed)?,
        None => answer,
    };
    match convert::from_js(ctx, &answer) {
        Ok(Value::Error(error)) => Err(Failure::Script((*error).clone())),
        Ok(value) => Ok(value),
        Err(ConvertError::Unsupported { what, at }) => Err(Failure::Script(
            ErrorValue::new(format!("cannot answer {what} (at {at})")).with_code("convert"),
        )),
        Err(ConvertError::Engine(e)) => Err(caught_failure(ctx, CaughtError::from_error(ctx, e))),
    }
}

/// A caught error as a failure: running out of memory is [`Failure::Memory`],
/// anything else what the script threw.
fn caught_failure<'js>(ctx: &Ctx<'js>, error: CaughtError<'js>) -> Failure {
    let error = caught(ctx, error);
    match error.code.as_deref() {
        Some("memory") => Failure::Memory,
        _ => Failure::Script(error),
    }
}

fn caught<'js>(ctx: &Ctx<'js>, error: CaughtError<'js>) -> ErrorValue {
    match error {
        CaughtError::Exception(exception) => {
            if exception.message().as_deref() == Some("out of memory") {
                return ErrorValue::new("out of memory").with_code("memory");
            }
            let mut at = String::from("the error");
            convert::error(ctx, &exception.into_value(), &mut at, 0)
                .unwrap_or_else(|_| ErrorValue::new("an error that cannot be read"))
        }
        CaughtError::Value(value) => convert::thrown(ctx, &value),
        CaughtError::Error(rquickjs::Error::Allocation) => {
            ErrorValue::new("out of memory").with_code("memory")
        }
        CaughtError::Error(rquickjs::Error::WouldBlock) => {
            ErrorValue::new("the promise never settled").with_code("script")
        }
        CaughtError::Error(e) => ErrorValue::new(e.to_string()).with_code("script"),
    }
}
