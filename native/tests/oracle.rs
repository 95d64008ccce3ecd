//! CPython as the oracle, on a fast deterministic subset of the standard library:
//! 100 files (every n-th of the sorted list), compiled by the library and compared
//! with CPython's tokenize and ast run here. The full run is
//! `scripts/oracle-native.sh`.

mod support;

use std::io::Write;

use support::{Scratch, python, repo_root};
use weir_native::{Cancel, Input, Script, Settings, compile_blocking};

const SUBSET: usize = 100;

#[test]
fn stdlib_subset_matches_cpython() {
    let helper = repo_root().join("native/oracle/oracle.py");
    let helper = helper.to_str().expect("utf-8 path");
    let listing = python(&[helper, "stdlib"]);
    assert!(
        listing.status.success(),
        "{}",
        String::from_utf8_lossy(&listing.stderr)
    );
    let all: Vec<String> = String::from_utf8(listing.stdout)
        .expect("paths are UTF-8")
        .lines()
        .map(str::to_owned)
        .collect();
    assert!(
        all.len() > 1000,
        "expected the stdlib, found {} files",
        all.len()
    );
    let step = all.len() / SUBSET;
    let chosen: Vec<&String> = all.iter().step_by(step).take(SUBSET).collect();

    let scratch = Scratch::new("oracle");
    let out_root = scratch.path().join("out");
    let mut manifests =
        std::fs::File::create(scratch.path().join("manifests.jsonl")).expect("create");
    for (i, path) in chosen.iter().enumerate() {
        let input = Input {
            script: Script {
                name: (*path).clone(),
                source: std::fs::read(path).expect("read stdlib file"),
            },
            settings: Settings {
                max_input_bytes: Settings::MAX_INPUT_BYTES_CEILING,
                ..Settings::default()
            },
        };
        let manifest = compile_blocking(&input, &out_root.join(i.to_string()), &Cancel::new())
            .expect("compile");
        writeln!(
            manifests,
            "{}",
            serde_json::to_string(&manifest).expect("json")
        )
        .expect("write");
    }
    drop(manifests);
    let list = scratch.path().join("files.txt");
    std::fs::write(
        &list,
        chosen.iter().map(|p| format!("{p}\n")).collect::<String>(),
    )
    .expect("write list");
    let out = python(&[
        helper,
        "compare",
        out_root.to_str().expect("utf-8"),
        list.to_str().expect("utf-8"),
        scratch
            .path()
            .join("manifests.jsonl")
            .to_str()
            .expect("utf-8"),
    ]);
    let report = String::from_utf8_lossy(&out.stdout);
    println!("{report}");
    assert!(
        out.status.success(),
        "the library disagrees with CPython:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
