//! Running compiles off the async workers: a semaphore bounds how many run at once
//! on tokio's blocking pool, and a [`Cancel`] flag (set by the caller, or when the
//! compile's future is dropped) stops one between passes and inside long loops.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use tokio::sync::Semaphore;

use crate::error::NativeError;
use crate::ffi;
use crate::input::{Input, Pass};
use crate::manifest::Manifest;

/// A cancel flag the caller owns; the library reads it atomically.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Sets the flag when the compile's future is dropped before it finished.
struct CancelOnDrop(Option<Cancel>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            c.cancel();
        }
    }
}

/// A bounded pool of compiles.
#[derive(Debug, Clone)]
pub struct Compiler {
    permits: Arc<Semaphore>,
}

impl Compiler {
    /// At most `parallel` compiles at once (at least one).
    pub fn new(parallel: usize) -> Self {
        Compiler {
            permits: Arc::new(Semaphore::new(parallel.max(1))),
        }
    }

    /// Compiles on the blocking pool once a permit is free.
    pub async fn compile(
        &self,
        input: Input,
        out_dir: PathBuf,
        cancel: Cancel,
    ) -> Result<Manifest, NativeError> {
        let _permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| NativeError::Pool(e.to_string()))?;
        let mut guard = CancelOnDrop(Some(cancel.clone()));
        let result =
            tokio::task::spawn_blocking(move || compile_blocking(&input, &out_dir, &cancel))
                .await
                .map_err(|e| NativeError::Pool(e.to_string()))?;
        guard.0 = None;
        result
    }
}

fn default_compiler() -> &'static Compiler {
    static POOL: OnceLock<Compiler> = OnceLock::new();
    POOL.get_or_init(|| Compiler::new(std::thread::available_parallelism().map_or(2, |n| n.get())))
}

/// Compiles on the process-wide pool (one compile per core at a time).
pub async fn compile(
    input: Input,
    out_dir: impl Into<PathBuf>,
    cancel: Cancel,
) -> Result<Manifest, NativeError> {
    default_compiler()
        .compile(input, out_dir.into(), cancel)
        .await
}

/// Compiles on the calling thread. Creates `out_dir` if needed.
pub fn compile_blocking(
    input: &Input,
    out_dir: &Path,
    cancel: &Cancel,
) -> Result<Manifest, NativeError> {
    input.validate().map_err(NativeError::Invalid)?;
    std::fs::create_dir_all(out_dir).map_err(|source| NativeError::OutDir {
        path: out_dir.to_owned(),
        source,
    })?;
    let s = &input.settings;
    let settings = ffi::WeirSettings {
        passes: s.passes.iter().fold(0, |acc, p| acc | Pass::bit(*p)),
        strip_docstrings: u8::from(s.strip_docstrings),
        strip_comments: u8::from(s.strip_comments),
        max_input_bytes: s.max_input_bytes,
        max_depth: s.max_depth,
        max_wall_ms: s.max_wall_ms,
    };
    let span = tracing::debug_span!("native_compile", script = %input.script.name, bytes = input.script.source.len());
    let _enter = span.enter();
    let (status, body) = ffi::compile(
        &input.script.name,
        &input.script.source,
        &settings,
        out_dir.as_os_str().as_bytes(),
        &cancel.0,
    );
    let message = || String::from_utf8_lossy(&body).into_owned();
    match status {
        0 => Ok(serde_json::from_slice(&body)?),
        1 => Err(NativeError::InvalidArgument(message())),
        2 => Err(NativeError::OutOfMemory),
        3 => Err(NativeError::Cancelled),
        4 => Err(NativeError::Io(message())),
        5 => Err(NativeError::Internal(message())),
        other => Err(NativeError::UnknownStatus(other)),
    }
}
