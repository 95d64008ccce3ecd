//! Server-Sent Events framing: bytes as they arrive → whole events.
//!
//! This module owns the line protocol only (`data:` lines joined, a blank
//! line ends an event, comments and unknown fields skipped, any of `\n`,
//! `\r\n`, `\r` ending a line) and the ceiling on one event's size. It must
//! not read what an event means: [`super::answer`] does.

/// One event: its `event:` name (empty when none) and its data lines joined
/// by `\n`.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub name: String,
    pub data: String,
}

/// An event larger than the ceiling: a stream gone wrong, not an answer.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("a stream event is larger than {0} bytes")]
pub struct TooLarge(pub usize);

/// Splits a byte stream into events; feed it chunks as they come.
pub struct Decoder {
    limit: usize,
    line: Vec<u8>,
    /// The last chunk ended in `\r`: a `\n` opening the next one is part of
    /// the same line end.
    after_cr: bool,
    name: String,
    data: String,
    has_data: bool,
}

impl Decoder {
    /// A decoder refusing events (or lines) over `limit` bytes.
    pub fn new(limit: usize) -> Decoder {
        Decoder {
            limit,
            line: Vec::new(),
            after_cr: false,
            name: String::new(),
            data: String::new(),
            has_data: false,
        }
    }

    /// Feeds `chunk`, appending every event it completes to `events`.
    pub fn feed(&mut self, chunk: &[u8], events: &mut Vec<Event>) -> Result<(), TooLarge> {
        for &byte in chunk {
            let after_cr = std::mem::take(&mut self.after_cr);
            match byte {
                b'\n' if after_cr => {}
                b'\n' | b'\r' => {
                    self.after_cr = byte == b'\r';
                    self.end_line(events);
                }
                _ => {
                    self.line.push(byte);
                    if self.line.len() + self.data.len() > self.limit {
                        return Err(TooLarge(self.limit));
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether bytes or lines of an unfinished event are held: at the end of
    /// the stream, that is an event cut off.
    pub fn pending(&self) -> bool {
        !self.line.is_empty() || self.has_data
    }

    fn end_line(&mut self, events: &mut Vec<Event>) {
        let line = String::from_utf8_lossy(&self.line).into_owned();
        self.line.clear();
        if line.is_empty() {
            if self.has_data {
                events.push(Event {
                    name: std::mem::take(&mut self.name),
                    data: std::mem::take(&mut self.data),
                });
            }
            self.name.clear();
            self.has_data = false;
            return;
        }
        if line.starts_with(':') {
            return; // a comment (llama.cpp's keep-alive pings)
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line.as_str(), ""),
        };
        match field {
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.name = value.to_string(),
            _ => {} // id, retry: nothing to do for a one-shot answer
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(chunks: &[&[u8]]) -> Vec<Event> {
        let mut decoder = Decoder::new(1024);
        let mut events = Vec::new();
        for chunk in chunks {
            decoder.feed(chunk, &mut events).unwrap();
        }
        events
    }

    fn data(events: &[Event]) -> Vec<&str> {
        events.iter().map(|e| e.data.as_str()).collect()
    }

    #[test]
    fn events_split_anywhere_and_with_any_line_end() {
        let whole =
            b"data: one\n\n: ping\n\ndata: t\r\ndata: wo\r\n\r\nevent: error\rdata:three\r\r";
        let expected = ["one", "t\nwo", "three"];
        assert_eq!(data(&decode(&[whole])), expected);
        // Every split point, including between `\r` and `\n`.
        for at in 0..whole.len() {
            let events = decode(&[&whole[..at], &whole[at..]]);
            assert_eq!(data(&events), expected, "split at {at}");
            assert_eq!(events[2].name, "error");
        }
    }

    #[test]
    fn a_cut_event_is_pending_and_a_huge_one_refused() {
        let mut decoder = Decoder::new(16);
        let mut events = Vec::new();
        decoder.feed(b"data: abc", &mut events).unwrap();
        assert!(events.is_empty() && decoder.pending());
        assert_eq!(decoder.feed(b"defghijk", &mut events), Err(TooLarge(16)));
    }
}
