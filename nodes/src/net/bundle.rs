//! Folders of files built into the binary, for `static` specs that name a
//! `bundle` instead of a `root`: the engine console (`ui/dist/console`, built
//! from `ui/` by `scripts/ui-build.sh` and committed), served by the system
//! listener whatever the working directory. Owns only the table of embedded
//! files and their entity tags; `files.rs` does the serving.

use std::hash::{DefaultHasher, Hasher};
use std::sync::OnceLock;

/// One embedded folder: `(path, bytes)` with `/`-separated relative paths.
pub(super) struct Bundle {
    pub name: &'static str,
    files: &'static [(&'static str, &'static [u8])],
    /// Each file's entity tag, by index, computed at first use.
    tags: OnceLock<Vec<String>>,
}

macro_rules! embed {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_bytes!(concat!("../../../ui/dist/", $path)))),*]
    };
}

static BUNDLES: [Bundle; 1] = [Bundle {
    name: "console",
    files: embed![
        "console/index.html",
        "console/console.js",
        "console/style.css",
        "console/mermaid.min.js",
    ],
    tags: OnceLock::new(),
}];

/// The bundle called `name`.
pub(super) fn find(name: &str) -> Option<&'static Bundle> {
    BUNDLES.iter().find(|b| b.name == name)
}

/// The names of every bundle, for error messages.
pub(super) fn names() -> Vec<&'static str> {
    BUNDLES.iter().map(|b| b.name).collect()
}

impl Bundle {
    /// The file at `relative` (segments already checked by the caller), or
    /// the folder's `index` file; with its path and entity tag.
    pub fn get(&self, relative: &str, index: &str) -> Option<(&'static str, &'static [u8], &str)> {
        let folder_index = if relative.is_empty() {
            index.to_string()
        } else {
            format!("{relative}/{index}")
        };
        let position = self
            .files
            .iter()
            .position(|(path, _)| *path == relative)
            .or_else(|| {
                self.files
                    .iter()
                    .position(|(path, _)| *path == folder_index)
            })?;
        let (path, bytes) = self.files[position];
        let tags = self.tags.get_or_init(|| {
            self.files
                .iter()
                .map(|(_, bytes)| {
                    let mut hasher = DefaultHasher::new();
                    hasher.write(bytes);
                    format!("\"{:x}-{:016x}\"", bytes.len(), hasher.finish())
                })
                .collect()
        });
        Some((path, bytes, tags[position].as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_console_serves_its_index_for_its_folder() {
        let console = find("console").expect("the console is embedded");
        let (path, bytes, tag) = console.get("console", "index.html").expect("index");
        assert_eq!(path, "console/index.html");
        assert!(String::from_utf8_lossy(bytes).contains("Engine console"));
        assert!(tag.starts_with('"'));
        assert!(console.get("console/console.js", "index.html").is_some());
        assert!(console.get("console/nothing.js", "index.html").is_none());
        assert!(console.get("", "index.html").is_none());
    }
}
