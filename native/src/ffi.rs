//! The raw C ABI and the only `unsafe` of the crate. The library owns nothing after
//! a call returns except the result buffer, which [`NativeBuf`] frees through it.

use std::ffi::{CStr, c_char};
use std::sync::atomic::AtomicBool;

#[repr(C)]
struct WeirBuf {
    ptr: *mut u8,
    len: usize,
}

/// Mirrors `weir_settings` in `cpp/weir_native.h`.
#[repr(C)]
pub(crate) struct WeirSettings {
    pub passes: u32,
    pub strip_docstrings: u8,
    pub strip_comments: u8,
    pub max_input_bytes: u64,
    pub max_depth: u32,
    pub max_wall_ms: u64,
}

unsafe extern "C" {
    #[allow(clippy::too_many_arguments)]
    fn weir_native_compile(
        name: *const u8,
        name_len: usize,
        source: *const u8,
        source_len: usize,
        settings: *const WeirSettings,
        out_dir: *const u8,
        out_dir_len: usize,
        cancel: *const u8,
        out: *mut WeirBuf,
    ) -> i32;
    fn weir_native_free(ptr: *mut u8, len: usize);
    fn weir_native_version() -> *const c_char;
}

/// A buffer the library allocated; freed by the library when dropped.
struct NativeBuf(WeirBuf);

impl NativeBuf {
    fn bytes(&self) -> &[u8] {
        if self.0.ptr.is_null() || self.0.len == 0 {
            return &[];
        }
        // SAFETY: the library returned `ptr` as a live allocation of exactly `len`
        // bytes that it no longer touches; it stays valid until `weir_native_free`,
        // which only our Drop calls, so the slice cannot outlive it (borrow of self).
        unsafe { std::slice::from_raw_parts(self.0.ptr, self.0.len) }
    }
}

impl Drop for NativeBuf {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` came from the library (or are null/0, which it accepts)
        // and are freed exactly once, here.
        unsafe { weir_native_free(self.0.ptr, self.0.len) }
    }
}

/// Calls `weir_native_compile`; returns its status and its result buffer's bytes.
pub(crate) fn compile(
    name: &str,
    source: &[u8],
    settings: &WeirSettings,
    out_dir: &[u8],
    cancel: &AtomicBool,
) -> (i32, Vec<u8>) {
    let mut out = NativeBuf(WeirBuf {
        ptr: std::ptr::null_mut(),
        len: 0,
    });
    // SAFETY: every pointer is valid for its length for the whole call (borrowed
    // slices and references); the library only reads them and keeps none after
    // returning. `cancel` points at an AtomicBool, which has the size and alignment
    // of u8 and is only ever read atomically by the library (__atomic_load_n), so
    // concurrent stores from other threads are sound. `out` is a valid, exclusively
    // borrowed WeirBuf that the library fills.
    let status = unsafe {
        weir_native_compile(
            name.as_ptr(),
            name.len(),
            source.as_ptr(),
            source.len(),
            settings,
            out_dir.as_ptr(),
            out_dir.len(),
            cancel.as_ptr().cast_const().cast::<u8>(),
            &mut out.0,
        )
    };
    (status, out.bytes().to_vec())
}

pub(crate) fn version() -> &'static str {
    // SAFETY: the library returns a pointer to a static NUL-terminated string.
    let v = unsafe { CStr::from_ptr(weir_native_version()) };
    v.to_str().unwrap_or("weir-native (version not UTF-8)")
}
