//! The native pipeline compiler's safe Rust face.
//!
//! The C++17 library in `native/cpp/` tokenizes a Python script exactly as CPython
//! 3.11's `tokenize` does, parses its statement structure, and runs the selected
//! passes (`tokenize`, `outline`, `metrics`, `strip`, `callgraph`), writing artifacts
//! and a manifest into a directory. This crate owns the boundary: [`compile`] and
//! [`Compiler`] run a compile on a bounded blocking pool, with a [`Cancel`] flag, and
//! every `unsafe` block lives in the private `ffi` module. It does not know about
//! nodes, the engine or the CLI; those call [`Compiler::compile`] with an [`Input`].
//! The ABI, ownership, threading and limits are described in `docs/native.md`.

mod error;
mod ffi;
mod input;
mod manifest;
mod pool;

pub use error::{FieldError, NativeError};
pub use input::{Input, Pass, Script, Settings};
pub use manifest::{Artifact, Diagnostic, InputInfo, Manifest, PassRun, Status};
pub use pool::{Cancel, Compiler, compile, compile_blocking};

/// The library's version string, as the C++ side reports it.
pub fn version() -> &'static str {
    ffi::version()
}
