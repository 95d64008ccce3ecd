//! The system namespace `weir start` serves by default: its specs, embedded
//! in the binary so a fresh machine needs nothing, and the API token.
//!
//! The specs are `specs/system/*.yaml` as the binary was built; `weir
//! start` applies them like `-f` files (an unchanged spec is left alone).
//! The token: `WEIR_TOKEN` if set, else the file `WEIR_TOKEN_FILE`
//! (default `weir-token` in the working directory), generated at the first
//! start with mode 0600 and reused afterwards. The `auth` spec in
//! `http.yaml` reads the same variables, so the two agree. This module
//! never prints or logs a token, only the file's path.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use weir_engine::Diagnostics;
use weir_engine::spec::source::{self, Format, Sourced};

/// The namespace the system specs live in.
pub const NAMESPACE: &str = weir_nodes::system::NAMESPACE;

/// The system specs, by the path they were built from.
const SPECS: [(&str, &str); 6] = [
    (
        "specs/system/http.yaml",
        include_str!("../specs/system/http.yaml"),
    ),
    (
        "specs/system/specs.yaml",
        include_str!("../specs/system/specs.yaml"),
    ),
    (
        "specs/system/values.yaml",
        include_str!("../specs/system/values.yaml"),
    ),
    (
        "specs/system/docs.yaml",
        include_str!("../specs/system/docs.yaml"),
    ),
    (
        "specs/system/jobs.yaml",
        include_str!("../specs/system/jobs.yaml"),
    ),
    (
        "specs/system/console.yaml",
        include_str!("../specs/system/console.yaml"),
    ),
];

/// The embedded system specs, labelled `(built-in) specs/system/…`.
pub fn specs() -> Result<Vec<Sourced>, Diagnostics> {
    let mut all = Vec::new();
    for (path, text) in SPECS {
        let label: Arc<str> = format!("(built-in) {path}").into();
        all.extend(source::parse(text, Format::Yaml, Some(label))?);
    }
    Ok(all)
}

/// Where the generated token lives: `WEIR_TOKEN_FILE`, else `weir-token`.
pub fn token_file() -> PathBuf {
    std::env::var_os("WEIR_TOKEN_FILE")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("weir-token"))
}

/// Makes sure the system API has a write token: `WEIR_TOKEN`, else the
/// token file, generated (mode 0600) when missing. Returns the file's path
/// when it was just made, for the caller to say so once.
pub fn ensure_token() -> anyhow::Result<Option<PathBuf>> {
    if std::env::var("WEIR_TOKEN").is_ok_and(|t| !t.trim().is_empty()) {
        return Ok(None);
    }
    let path = token_file();
    // 256 bits from the operating system's generator.
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| anyhow::anyhow!("cannot generate an API token: {e}"))?;
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path);
    match created {
        Ok(mut file) => {
            file.write_all(format!("{token}\n").as_bytes())
                .with_context(|| format!("cannot write the token file {}", path.display()))?;
            Ok(Some(path))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let mode = std::fs::metadata(&path)
                .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()))
                .unwrap_or(0o600);
            if mode & 0o077 != 0 {
                eprintln!(
                    "warning: the token file {} can be read by others (mode {:o}): chmod 600 it",
                    path.display(),
                    mode & 0o777
                );
            }
            Ok(None)
        }
        Err(e) => {
            Err(e).with_context(|| format!("cannot create the token file {}", path.display()))
        }
    }
}

/// The token a client command sends when given none: the token file's,
/// if there is one here.
pub fn local_token() -> Option<String> {
    let token = std::fs::read_to_string(token_file()).ok()?;
    let token = token.trim();
    (!token.is_empty()).then(|| token.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_specs_all_live_in_the_system_namespace() {
        let specs = specs().expect("the embedded specs parse");
        assert!(specs.len() > 10);
        assert!(specs.iter().all(|s| s.spec.namespace == NAMESPACE));
        let first = specs[0].origin.to_string();
        assert!(
            first.starts_with("(built-in) specs/system/http.yaml"),
            "{first}"
        );
    }
}
