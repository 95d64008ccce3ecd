//! Shared by the native tests: scratch directories and CPython (`python3`, 3.11) run
//! as the oracle.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use weir_native::{Cancel, Input, Manifest, Script, Settings, compile_blocking};

/// A directory under the system temp dir, removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!(
            "weir-native-{tag}-{}-{nanos}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Scratch(dir)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn input(name: &str, source: &[u8]) -> Input {
    Input {
        script: Script {
            name: name.to_owned(),
            source: source.to_vec(),
        },
        settings: Settings::default(),
    }
}

pub fn compile(source: &[u8], out: &Path) -> Manifest {
    compile_blocking(&input("t.py", source), out, &Cancel::new()).expect("compile")
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned()
}

/// Runs python3 with `args`; panics with its stderr if it cannot run.
pub fn python(args: &[&str]) -> std::process::Output {
    Command::new("python3")
        .args(args)
        .output()
        .expect("python3 (CPython 3.11) must be installed: it is the oracle")
}

/// What `compile(source, "f", "exec")` raises: (msg, lineno, offset), or None.
pub fn cpython_compile_error(source: &[u8], scratch: &Scratch) -> Option<(String, i64, i64)> {
    let file = scratch.path().join("cpython-input.py");
    std::fs::write(&file, source).expect("write input");
    let code = "import sys, json\n\
                src = open(sys.argv[1], 'rb').read()\n\
                try:\n    compile(src, 'f', 'exec')\n    print('null')\n\
                except SyntaxError as e:\n    print(json.dumps([e.msg, e.lineno, e.offset]))\n";
    let out = python(&["-c", code, file.to_str().expect("utf-8 path")]);
    assert!(
        out.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json from python");
    let a = v.as_array()?;
    Some((
        a[0].as_str()?.to_owned(),
        a[1].as_i64()?,
        a[2].as_i64().unwrap_or(-1),
    ))
}

/// The line CPython names when it runs the file (`python3 FILE`) and refuses it.
pub fn cpython_run_error_line(source: &[u8], scratch: &Scratch) -> (String, i64) {
    let file = scratch.path().join("cpython-run.py");
    std::fs::write(&file, source).expect("write input");
    let out = python(&[file.to_str().expect("utf-8 path")]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let line = err
        .split("line ")
        .nth(1)
        .and_then(|rest| {
            rest.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .ok()
        })
        .unwrap_or(-1);
    (err, line)
}
