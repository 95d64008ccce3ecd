//! `static`: serves the files of one folder (the web panes of the bundled
//! applications).
//!
//! The request's `params.path` (from a router's `*path` segment) or else its
//! `path` names the file. It never leaves the folder: each segment is
//! percent-decoded and checked (no `..`, no `.` segments, no separators or
//! NUL inside a segment, no absolute paths), and the final path is
//! canonicalised and must still lie inside the canonical folder, which also
//! stops symbolic links pointing out. A folder serves its `index.html`.
//! Answers carry a content type by extension, `ETag` and `Last-Modified`,
//! and honour `If-None-Match` / `If-Modified-Since` with 304.
//!
//! Instead of a `root` folder a spec may name a `bundle`: files built into
//! the binary (`bundle.rs`, the engine console), looked up by the same
//! checked relative path, answered with an `ETag` of their content.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use schemars::JsonSchema;
use serde::Deserialize;
use weir_codecs::{ErrorValue, Value};
use weir_engine::runtime::BoxFuture;
use weir_engine::scheme::Context;
use weir_engine::{Activate, shared};
use weir_engine::{Call, FieldError, Kind, Node, Packet, Port, PortPattern, Ports};

use super::bundle::{self, Bundle};
use super::message::{Plus, percent_decode};

/// The fields of a `static` spec.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [
    {"required": ["root"], "properties": {"root": {"type": "string", "minLength": 1}, "bundle": {"type": "null"}}},
    {"required": ["bundle"], "properties": {"bundle": {"type": "string"}, "root": {"type": "null"}}}
]))]
pub struct StaticSpec {
    /// The folder to serve, relative to the engine's working directory or
    /// absolute. Exactly one of `root` and `bundle`.
    #[serde(default)]
    pub root: Option<String>,
    /// A folder built into the binary instead: `console` (the engine
    /// console, `ui/dist/console`), served whatever the working directory.
    #[serde(default)]
    #[schemars(extend("enum" = ["console", null]))]
    pub bundle: Option<String>,
    /// The file a folder request serves.
    #[serde(default = "default_index")]
    #[schemars(regex(pattern = r"^[^/\\]+$"), extend("not" = {"const": ".."}))]
    pub index: String,
}

fn default_index() -> String {
    "index.html".into()
}

pub(super) struct Static;

impl Kind for Static {
    type Spec = StaticSpec;

    fn name(&self) -> &'static str {
        "static"
    }

    fn summary(&self) -> &'static str {
        "Serves the files of a folder by request path: content types, ETag/Last-Modified, index.html, never outside the folder."
    }

    fn ports(&self, _: &StaticSpec) -> Ports {
        Ports::new().input(PortPattern::Exact(Port::input()))
    }

    fn compile(
        &self,
        spec: StaticSpec,
        _: &Context<'_>,
    ) -> Result<Arc<dyn Activate>, Vec<FieldError>> {
        if spec.index.is_empty() || spec.index.contains(['/', '\\']) || spec.index == ".." {
            return Err(vec![FieldError::new("index", "must be a file name")]);
        }
        let source = match (spec.root, spec.bundle) {
            (Some(root), None) if !root.is_empty() => Source::Folder(PathBuf::from(root)),
            (None, Some(name)) => match bundle::find(&name) {
                Some(bundle) => Source::Bundle(bundle),
                None => {
                    let known = bundle::names().join(", ");
                    let message = format!("no bundle `{name}` (built in: {known})");
                    return Err(vec![FieldError::new("bundle", message)]);
                }
            },
            (Some(_), Some(_)) => {
                let message = "give `root` or `bundle`, not both";
                return Err(vec![FieldError::new("bundle", message)]);
            }
            (_, None) => return Err(vec![FieldError::new("root", "must name a folder")]),
        };
        Ok(shared(StaticNode {
            source,
            index: spec.index,
        }))
    }
}

/// Where the files come from.
enum Source {
    Folder(PathBuf),
    Bundle(&'static Bundle),
}

struct StaticNode {
    source: Source,
    index: String,
}

impl Node for StaticNode {
    fn call<'a>(&'a self, _: &'a Call, input: Packet) -> BoxFuture<'a, Result<Packet, ErrorValue>> {
        Box::pin(async move {
            let request = input.payload();
            let wanted = request
                .get("params")
                .and_then(|p| p.get("path"))
                .or_else(|| request.get("path"))
                .and_then(Value::as_str)
                .unwrap_or("/");
            let Some(relative) = safe_relative(wanted) else {
                return Ok(Packet::new(status(404)));
            };
            Ok(Packet::new(match self.source {
                Source::Folder(ref root) => self.serve(root, &relative, request).await,
                Source::Bundle(bundle) => self.serve_bundle(bundle, &relative, request),
            }))
        })
    }
}

impl StaticNode {
    /// An embedded file: the path segments were checked like a folder's.
    fn serve_bundle(&self, bundle: &Bundle, relative: &Path, request: &Value) -> Value {
        let wanted: Vec<&str> = relative.iter().filter_map(|s| s.to_str()).collect();
        let Some((path, bytes, etag)) = bundle.get(&wanted.join("/"), &self.index) else {
            return status(404);
        };
        let headers = Value::map([
            ("etag", Value::string(etag)),
            ("content-type", Value::string(content_type(Path::new(path)))),
        ]);
        if header(request, "if-none-match")
            .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
        {
            return Value::map([("status", Value::Int(304)), ("header", headers)]);
        }
        Value::map([
            ("status", Value::Int(200)),
            ("header", headers),
            ("body", Value::Bytes(Bytes::from_static(bytes))),
        ])
    }

    async fn serve(&self, root: &Path, relative: &Path, request: &Value) -> Value {
        let Ok(root) = tokio::fs::canonicalize(root).await else {
            tracing::warn!(root = %root.display(), "static root does not exist");
            return status(404);
        };
        let mut path = root.join(relative);
        if tokio::fs::metadata(&path).await.is_ok_and(|m| m.is_dir()) {
            path = path.join(&self.index);
        }
        // Canonicalising resolves symbolic links: the target must still be
        // inside the root.
        let Ok(path) = tokio::fs::canonicalize(&path).await else {
            return status(404);
        };
        if !path.starts_with(&root) {
            return status(404);
        }
        let Ok(metadata) = tokio::fs::metadata(&path).await else {
            return status(404);
        };
        if !metadata.is_file() {
            return status(404);
        }
        let modified = metadata.modified().unwrap_or(UNIX_EPOCH);
        let seconds = modified
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let etag = format!("\"{:x}-{:x}\"", metadata.len(), seconds);
        let last_modified = http_date(modified);
        let fresh = match header(request, "if-none-match") {
            Some(tags) => tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"),
            None => header(request, "if-modified-since") == Some(last_modified.as_str()),
        };
        let headers = Value::map([
            ("etag", Value::string(etag.as_str())),
            ("last-modified", Value::string(last_modified.as_str())),
            ("content-type", Value::string(content_type(&path))),
        ]);
        if fresh {
            return Value::map([("status", Value::Int(304)), ("header", headers)]);
        }
        match tokio::fs::read(&path).await {
            Ok(bytes) => Value::map([
                ("status", Value::Int(200)),
                ("header", headers),
                ("body", Value::Bytes(Bytes::from(bytes))),
            ]),
            Err(_) => status(404),
        }
    }
}

/// A request header's value.
fn header<'v>(request: &'v Value, name: &str) -> Option<&'v str> {
    request
        .get("header")
        .and_then(|h| h.get(name))
        .and_then(Value::as_str)
}

/// The request path as a relative path inside the root, or `None` when any
/// segment would leave it or is not a plain name.
fn safe_relative(wanted: &str) -> Option<PathBuf> {
    let mut relative = PathBuf::new();
    for raw in wanted.split('/') {
        let segment = percent_decode(raw, Plus::Literal);
        if segment.is_empty() {
            continue;
        }
        if segment == "." || segment == ".." || segment.contains(['/', '\\', '\0']) {
            return None;
        }
        let mut components = Path::new(&segment).components();
        match (components.next(), components.next()) {
            (Some(Component::Normal(_)), None) => relative.push(&segment),
            _ => return None,
        }
    }
    Some(relative)
}

fn status(code: i64) -> Value {
    let message = if code == 404 { "not found" } else { "refused" };
    Value::map([
        ("status", Value::Int(code)),
        (
            "body",
            Value::map([("error", Value::map([("message", Value::string(message))]))]),
        ),
    ])
}

fn content_type(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("ico") => "image/x-icon",
        Some("webp") => "image/webp",
        Some("woff2") => "font/woff2",
        Some("txt" | "md") => "text/plain; charset=utf-8",
        Some("jsonl") => "application/jsonl",
        Some("py") => "text/x-python; charset=utf-8",
        Some("dot") => "text/vnd.graphviz; charset=utf-8",
        Some("wasm") => "application/wasm",
        _ => "application/octet-stream",
    }
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), as HTTP dates are.
fn http_date(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (hour, minute, second) = (rest / 3600, rest % 3600 / 60, rest % 60);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days % 7) as usize];
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let name = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(month - 1) as usize];
    format!("{weekday}, {day:02} {name} {year} {hour:02}:{minute:02}:{second:02} GMT")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_is_refused_in_every_spelling() {
        for bad in [
            "/../etc/passwd",
            "/a/../../x",
            "/%2e%2e/x",
            "/%2E%2E%2Fx",
            "/a%2F..%2F..%2Fx",
            "/..%5cx",
            "/%00",
            "/./x",
            "/a/%2e/b",
        ] {
            assert_eq!(safe_relative(bad), None, "{bad}");
        }
        assert_eq!(
            safe_relative("/css/site.css"),
            Some(PathBuf::from("css/site.css"))
        );
        assert_eq!(safe_relative("/a%20b.txt"), Some(PathBuf::from("a b.txt")));
        assert_eq!(safe_relative("/"), Some(PathBuf::new()));
    }

    #[test]
    fn dates_are_imf_fixdates() {
        assert_eq!(
            http_date(UNIX_EPOCH + std::time::Duration::from_secs(784_111_777)),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
        assert_eq!(http_date(UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 GMT");
    }
}
