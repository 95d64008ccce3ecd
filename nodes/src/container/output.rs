//! [`Capture`]: a run's stdout and stderr, kept up to a limit each, and cut
//! into lines for a streamed run. Plain data; nothing here does I/O.

use super::outcome::{Channel, Line};

/// The output of one run so far.
#[derive(Debug)]
pub struct Capture {
    limit: usize,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    /// Where the next line of each channel starts, for [`Capture::lines`].
    line_start: [usize; 2],
    truncated: bool,
}

impl Capture {
    pub fn new(limit: usize) -> Self {
        Capture {
            limit,
            stdout: Vec::new(),
            stderr: Vec::new(),
            line_start: [0, 0],
            truncated: false,
        }
    }

    /// Keeps what fits of `bytes`; false once a channel went over the
    /// limit (what did not fit is dropped).
    pub fn push(&mut self, channel: Channel, bytes: &[u8]) -> bool {
        let limit = self.limit;
        let kept = self.buffer(channel);
        let room = limit.saturating_sub(kept.len());
        kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
        if bytes.len() > room {
            self.truncated = true;
        }
        !self.truncated
    }

    /// The lines of `channel` completed since the last call; with `all`, a
    /// last line without its newline too.
    pub fn lines(&mut self, channel: Channel, all: bool) -> Vec<Line> {
        let index = channel as usize;
        let start = self.line_start[index];
        let kept = match channel {
            Channel::Stdout => &self.stdout,
            Channel::Stderr => &self.stderr,
        };
        let mut lines = Vec::new();
        let mut from = start;
        while let Some(n) = kept[from..].iter().position(|b| *b == b'\n') {
            lines.push(line(channel, &kept[from..from + n]));
            from += n + 1;
        }
        if all && from < kept.len() {
            lines.push(line(channel, &kept[from..]));
            from = kept.len();
        }
        self.line_start[index] = from;
        lines
    }

    /// Whether a channel went over the limit.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// stdout and stderr as text (invalid UTF-8 replaced).
    pub fn into_text(self) -> (String, String) {
        (text(self.stdout), text(self.stderr))
    }

    fn buffer(&mut self, channel: Channel) -> &mut Vec<u8> {
        match channel {
            Channel::Stdout => &mut self.stdout,
            Channel::Stderr => &mut self.stderr,
        }
    }
}

fn line(channel: Channel, bytes: &[u8]) -> Line {
    Line {
        channel,
        text: String::from_utf8_lossy(bytes).into_owned(),
    }
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_up_to_the_limit_per_channel() {
        let mut capture = Capture::new(4);
        assert!(capture.push(Channel::Stdout, b"abc"));
        assert!(capture.push(Channel::Stderr, b"wxyz"));
        assert!(!capture.push(Channel::Stdout, b"de"));
        assert!(capture.truncated());
        assert_eq!(capture.into_text(), ("abcd".into(), "wxyz".into()));
    }

    #[test]
    fn lines_come_once_each_and_the_rest_at_the_end() {
        let mut capture = Capture::new(100);
        capture.push(Channel::Stdout, b"one\ntw");
        let texts = |lines: Vec<Line>| lines.into_iter().map(|l| l.text).collect::<Vec<_>>();
        assert_eq!(texts(capture.lines(Channel::Stdout, false)), ["one"]);
        capture.push(Channel::Stdout, b"o\n\nthree");
        assert_eq!(texts(capture.lines(Channel::Stdout, false)), ["two", ""]);
        assert_eq!(texts(capture.lines(Channel::Stdout, true)), ["three"]);
        assert!(capture.lines(Channel::Stdout, true).is_empty());
        assert!(capture.lines(Channel::Stderr, true).is_empty());
    }
}
