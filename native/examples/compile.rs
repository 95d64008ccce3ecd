//! Compiles Python files with the native library: `compile OUT_ROOT FILE...` writes
//! each file's artifacts into OUT_ROOT/<index>/ and prints one manifest per line.
//! With `--list LISTFILE` the files come from LISTFILE (one path a line). The oracle
//! script drives the library through this.

use std::io::Write;
use std::path::PathBuf;

use weir_native::{Cancel, Input, Script, Settings, compile_blocking};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out_root = PathBuf::from(args.next().ok_or("usage: compile OUT_ROOT FILE...")?);
    let mut files: Vec<String> = Vec::new();
    while let Some(a) = args.next() {
        if a == "--list" {
            let list = std::fs::read_to_string(args.next().ok_or("--list needs a file")?)?;
            files.extend(list.lines().filter(|l| !l.is_empty()).map(str::to_owned));
        } else {
            files.push(a);
        }
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for (i, file) in files.iter().enumerate() {
        let source = std::fs::read(file)?;
        let input = Input {
            script: Script {
                name: file.clone(),
                source,
            },
            settings: Settings {
                max_input_bytes: Settings::MAX_INPUT_BYTES_CEILING,
                ..Settings::default()
            },
        };
        let dir = out_root.join(i.to_string());
        let manifest = compile_blocking(&input, &dir, &Cancel::new())?;
        writeln!(out, "{}", serde_json::to_string(&manifest)?)?;
    }
    Ok(())
}
