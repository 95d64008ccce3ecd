//! Bounds on text read from outside (YAML and JSON), checked before a
//! parser does work that grows faster than the text.
//!
//! This module owns the two ceilings every YAML or JSON text from outside
//! is held to, whatever path it came by (spec files, API bodies, request
//! bodies, snippets of data): its size and how deeply it nests. libyaml's
//! scanner costs, per token, the number of flow collections (`[`, `{`)
//! open around it, so deeply nested flow text takes time quadratic in its
//! length before any recursion limit is reached; [`check_yaml`] measures
//! that depth in one linear pass first. JSON parsing is linear, and
//! serde_json stops at the same depth itself, so JSON needs no pre-pass.
//! It must not parse values (that is `yaml.rs` and `json.rs`).

/// The deepest nesting of lists and maps a text may have. Both parsers stop
/// at this depth themselves while building values (serde_json and
/// serde_yaml_ng the 129th; 127 is the lower); this makes the rule ours and
/// lets YAML's flow nesting be refused before it is parsed.
pub const MAX_DEPTH: usize = 127;

/// The largest YAML text read, in bytes (16 MiB). JSON bodies are bounded
/// by whoever received them (a listener's `body_limit`).
pub const MAX_YAML_BYTES: usize = 16 << 20;

/// A text beyond a limit, said in a way that names the limit.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum LimitError {
    /// Larger than [`MAX_YAML_BYTES`].
    #[error("the text is {size} bytes, more than the {limit} bytes allowed")]
    TooLarge { size: usize, limit: usize },
    /// Nested deeper than [`MAX_DEPTH`], first at `line` (1-based).
    #[error("line {line}: lists and maps nest deeper than {limit} levels")]
    TooDeep { line: usize, limit: usize },
}

/// The message parsers give when they stop at their own depth limit,
/// rewritten to [`LimitError::TooDeep`]'s wording.
pub(crate) fn is_recursion_limit(message: &str) -> bool {
    message.contains("recursion limit exceeded")
}

/// Checks YAML text's size, and that its flow collections (`[…]`, `{…}`)
/// never nest deeper than [`MAX_DEPTH`]. Block nesting costs the parser
/// nothing extra and is bounded while values are built.
///
/// The scan follows the YAML tokens that change what a bracket means:
/// quoted scalars (which may span lines), comments, block scalars (`|`,
/// `>`, skipped by indentation) and plain scalars (in which a bracket is
/// text in block context). Where it cannot tell, it counts the bracket, so
/// it may refuse contrived valid text but lets no deep nesting through.
pub fn check_yaml(text: &str) -> Result<(), LimitError> {
    if text.len() > MAX_YAML_BYTES {
        return Err(LimitError::TooLarge {
            size: text.len(),
            limit: MAX_YAML_BYTES,
        });
    }
    let mut scan = FlowScan::new();
    for (n, line) in text.lines().enumerate() {
        if !scan.line(line.as_bytes()) {
            return Err(LimitError::TooDeep {
                line: n + 1,
                limit: MAX_DEPTH,
            });
        }
    }
    Ok(())
}

/// Scanner state carried from one line to the next.
struct FlowScan {
    /// Flow collections open.
    depth: usize,
    /// The quote of a quoted scalar still open (`'` or `"`).
    quote: Option<u8>,
    /// Inside a block scalar whose parent node starts at this column: lines
    /// indented more than it are its text. The second field is the text's
    /// indentation, once its first non-blank line has set it.
    block: Option<(usize, Option<usize>)>,
    /// Whether the next token starts a node (where a quote or bracket is an
    /// indicator rather than text).
    start: bool,
    /// The column of the line that started the current block-context node,
    /// for telling a plain scalar's continuation lines.
    base: usize,
}

impl FlowScan {
    /// At the start of a document: the first token starts a node.
    fn new() -> FlowScan {
        FlowScan {
            depth: 0,
            quote: None,
            block: None,
            start: true,
            base: 0,
        }
    }
}

fn is_space(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn is_flow_indicator(b: u8) -> bool {
    matches!(b, b',' | b'[' | b']' | b'{' | b'}')
}

impl FlowScan {
    /// Scans one line; false once the depth passes [`MAX_DEPTH`].
    fn line(&mut self, line: &[u8]) -> bool {
        let indent = line.iter().take_while(|&&b| b == b' ').count();
        let blank = line[indent..].iter().all(|&b| is_space(b));
        if let Some((parent, text_indent)) = self.block {
            let inside = match text_indent {
                _ if blank => true,
                Some(at) => indent >= at,
                None => indent > parent,
            };
            if inside {
                if !blank && text_indent.is_none() {
                    self.block = Some((parent, Some(indent)));
                }
                return true;
            }
            self.block = None;
        }
        if line.starts_with(b"---") || line.starts_with(b"...") {
            // A document marker ends whatever was open (or is an error).
            *self = FlowScan::new();
            return self.tokens(&line[3..], 3, 0);
        }
        if self.quote.is_none() && self.depth == 0 && !blank {
            // A line indented under a plain scalar continues it; any other
            // block-context line begins with a node.
            let continues = !self.start && indent > self.base;
            if !continues {
                self.start = true;
                self.base = indent;
            }
        }
        self.tokens(line, 0, indent)
    }

    /// Scans `line` from `from`; `indent` is the line's indentation.
    fn tokens(&mut self, line: &[u8], offset: usize, indent: usize) -> bool {
        // The column of the last key or `-` entry, a block scalar's parent.
        let mut parent = indent;
        let mut key = indent;
        let mut i = 0;
        while i < line.len() {
            let b = line[i];
            let next = line.get(i + 1).copied();
            if let Some(q) = self.quote {
                match b {
                    b'\\' if q == b'"' => i += 1,
                    _ if b == q && q == b'\'' && next == Some(b'\'') => i += 1,
                    _ if b == q => {
                        self.quote = None;
                        self.start = false;
                    }
                    _ => {}
                }
                i += 1;
                continue;
            }
            let spaced = next.is_none_or(is_space);
            if is_space(b) {
                i += 1;
                continue;
            }
            if b == b'#' && (i == 0 || is_space(line[i - 1])) {
                break;
            }
            let flow = self.depth > 0;
            match b {
                b'[' | b'{' if flow || self.start => {
                    self.depth += 1;
                    if self.depth > MAX_DEPTH {
                        return false;
                    }
                    self.start = true;
                }
                b']' | b'}' if flow => {
                    self.depth -= 1;
                    self.start = false;
                }
                b',' if flow => self.start = true,
                b'\'' | b'"' if self.start => {
                    self.quote = Some(b);
                    if !flow {
                        key = i + offset;
                    }
                }
                b'-' | b'?' if self.start && spaced && !flow => {
                    parent = i + offset;
                }
                b'?' if self.start && spaced => {}
                b':' if spaced
                    || (flow
                        && (next.is_some_and(is_flow_indicator)
                            || (i > 0 && matches!(line[i - 1], b'"' | b'\'' | b']' | b'}')))) =>
                {
                    if !flow {
                        parent = key;
                    }
                    self.start = true;
                }
                b'|' | b'>' if self.start && !flow && block_header(&line[i + 1..]) => {
                    self.block = Some((parent, None));
                    return true;
                }
                b'!' | b'&' if self.start => {
                    // A tag or anchor: the node follows it.
                    while i + 1 < line.len() && !is_space(line[i + 1]) {
                        i += 1;
                    }
                }
                _ => {
                    if self.start && !flow {
                        key = i + offset;
                    }
                    self.start = false;
                }
            }
            i += 1;
        }
        true
    }
}

/// Whether what follows `|` or `>` makes it a block scalar's header:
/// indentation and chomping indicators, then nothing but a comment.
fn block_header(rest: &[u8]) -> bool {
    let body = rest
        .iter()
        .position(|&b| !(b.is_ascii_digit() || b == b'+' || b == b'-'))
        .map_or(&[][..], |at| &rest[at..]);
    match body.iter().position(|&b| !is_space(b)) {
        None => true,
        Some(at) => body[at] == b'#' && at > 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_ok(text: &str) -> bool {
        check_yaml(text).is_ok()
    }

    #[test]
    fn deep_flow_nesting_is_refused_before_parsing() {
        let deep = "{a: ".repeat(MAX_DEPTH + 1);
        assert_eq!(
            check_yaml(&deep),
            Err(LimitError::TooDeep {
                line: 1,
                limit: MAX_DEPTH
            })
        );
        let lists = format!("k:\n  {}", "[".repeat(MAX_DEPTH + 1));
        assert!(matches!(
            check_yaml(&lists),
            Err(LimitError::TooDeep { line: 2, .. })
        ));
        let fits = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(depth_ok(&fits));
    }

    #[test]
    fn brackets_that_are_text_are_not_counted() {
        let many = "[".repeat(MAX_DEPTH * 2);
        // In quotes, comments, plain scalars, block scalars.
        assert!(depth_ok(&format!("a: '{many}'\n")));
        assert!(depth_ok(&format!("a: \"\\\"{many}\"\n")));
        assert!(depth_ok(&format!("a: 'it''s {many}'\n")));
        assert!(depth_ok(&format!("a: 1 # {many}\n")));
        assert!(depth_ok(&format!("a: x{many}\n")));
        assert!(depth_ok(&format!("a: don't {many}\n")));
        assert!(depth_ok(&format!("code: |\n  {many}\n\n  x\nb: 1\n")));
        assert!(depth_ok(&format!("- k: >-\n    {many}\n  j: 2\n")));
        assert!(depth_ok(&format!("a: 'multi\n  line {many}'\n")));
        assert!(depth_ok(&format!("a: plain\n  continued {many}\n")));
        assert!(depth_ok(&format!("{{\"a\":\"{many}\", b: '{many}'}}\n")));
    }

    #[test]
    fn quotes_and_block_scalars_do_not_hide_nesting() {
        let deep = "[".repeat(MAX_DEPTH + 1);
        // A quote inside a plain scalar opens nothing.
        assert!(!depth_ok(&format!("k: a\n  'x\nj: {deep}\nz: '\n")));
        assert!(!depth_ok(&format!("{{a:'{}", "{a:'".repeat(MAX_DEPTH + 1))));
        // A block scalar ends where its parent's siblings begin.
        assert!(!depth_ok(&format!("- k: |\n    text\n  j: {deep}\n")));
        assert!(!depth_ok(&format!("k: |\n  text\nj: {deep}\n")));
        // A document marker ends an open quote's reach.
        assert!(!depth_ok(&format!("a: 'open\n--- {deep}\n")));
    }

    #[test]
    fn large_text_is_refused() {
        let big = "a".repeat(MAX_YAML_BYTES + 1);
        assert!(matches!(check_yaml(&big), Err(LimitError::TooLarge { .. })));
    }
}
