//! Errors as one line: an error and its causes joined by `: `, skipping a
//! cause whose text the message before it already contains (libraries often
//! embed their source's text in their own).

/// `error` and its causes on one line, without repeats.
pub fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    let mut previous = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if !previous.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
        previous = text;
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_causes_are_dropped() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let error = anyhow::Error::new(io)
            .context("communicating: refused")
            .context("cannot open");
        assert_eq!(one_line(&error), "cannot open: communicating: refused");
    }
}
