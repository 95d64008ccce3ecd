//! What a call answers, and reading it from a server's JSON: the whole
//! answer at once, or assembled from a stream's chunks.
//!
//! This module owns the answer's shape and the tolerance for how servers
//! differ (llama.cpp's `timings`, a `null` delta content, usage in a chunk
//! with no choices, at any point, or in the last one with choices; OpenAI's
//! `refusal`). It must not do I/O or decide about retries.

use serde::Serialize;
use serde_json::Value;

/// Token counts as the server reports them (absent when it does not).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Usage {
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
    pub total_tokens: Option<u64>,
}

/// A call's answer. Times are from the call's start, retries included.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answer {
    pub content: String,
    /// The parsed content, when a schema was asked for (and matched).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json: Option<Value>,
    pub finish_reason: Option<String>,
    pub usage: Usage,
    pub model: String,
    pub latency_ms: u64,
    /// When the first content arrived; streamed calls only.
    pub time_to_first_token_ms: Option<u64>,
    pub attempts: u32,
    /// The server's own timings (llama.cpp's `timings`) when it sends them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_timings: Option<Value>,
}

/// What the server said, before the call adds its times and attempts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reply {
    pub content: String,
    pub finish_reason: Option<String>,
    pub usage: Usage,
    pub model: Option<String>,
    pub server_timings: Option<Value>,
}

/// A reply the server sent that is not a chat completion, or says it failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Malformed {
    #[error("the answer is not JSON: {0}")]
    NotJson(String),
    #[error("the answer has no choices[0].message")]
    NoMessage,
    #[error("the model refused: {0}")]
    Refused(String),
    #[error("the server reported an error: {0}")]
    Reported(String),
}

/// Reads a whole (not streamed) chat completion.
pub fn whole(body: &[u8]) -> Result<Reply, Malformed> {
    let json: Value =
        serde_json::from_slice(body).map_err(|e| Malformed::NotJson(e.to_string()))?;
    reported(&json)?;
    let choice = json.pointer("/choices/0").ok_or(Malformed::NoMessage)?;
    let message = choice.get("message").ok_or(Malformed::NoMessage)?;
    refused(message)?;
    let mut reply = Reply {
        content: text(message.get("content")).to_string(),
        finish_reason: choice
            .get("finish_reason")
            .and_then(Value::as_str)
            .map(str::to_string),
        ..Reply::default()
    };
    common(&json, &mut reply);
    Ok(reply)
}

/// Assembles a streamed reply, chunk by chunk.
#[derive(Debug, Default)]
pub struct Assembly {
    reply: Reply,
    chunks: u64,
    done: bool,
}

impl Assembly {
    /// Takes one event's data; answers the content delta it carries (empty
    /// when none). `[DONE]` ends the stream.
    pub fn take(&mut self, data: &str) -> Result<String, Malformed> {
        if data.trim() == "[DONE]" {
            self.done = true;
            return Ok(String::new());
        }
        let json: Value =
            serde_json::from_str(data).map_err(|e| Malformed::NotJson(e.to_string()))?;
        reported(&json)?;
        self.chunks += 1;
        common(&json, &mut self.reply);
        // Usage-only chunks have no (or empty) choices: fine at any point.
        let Some(choice) = json.pointer("/choices/0") else {
            return Ok(String::new());
        };
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            self.reply.finish_reason = Some(reason.to_string());
        }
        let Some(delta) = choice.get("delta") else {
            return Ok(String::new());
        };
        refused(delta)?;
        let piece = text(delta.get("content"));
        self.reply.content.push_str(piece);
        Ok(piece.to_string())
    }

    /// Whether `[DONE]` came.
    pub fn done(&self) -> bool {
        self.done
    }

    /// How many chunks came, for the message of a stream cut short.
    pub fn chunks(&self) -> u64 {
        self.chunks
    }

    pub fn content_len(&self) -> usize {
        self.reply.content.len()
    }

    pub fn finish(self) -> Reply {
        self.reply
    }
}

/// Model, usage and timings, wherever a server puts them.
fn common(json: &Value, reply: &mut Reply) {
    if let Some(model) = json.get("model").and_then(Value::as_str) {
        reply.model = Some(model.to_string());
    }
    if let Some(usage) = json.get("usage").filter(|u| u.is_object()) {
        let count = |name: &str| usage.get(name).and_then(Value::as_u64);
        reply.usage = Usage {
            prompt_tokens: count("prompt_tokens"),
            completion_tokens: count("completion_tokens"),
            total_tokens: count("total_tokens"),
        };
    }
    if let Some(timings) = json.get("timings").filter(|t| t.is_object()) {
        reply.server_timings = Some(timings.clone());
    }
}

/// An `{"error": …}` body (OpenAI and llama.cpp both send one, llama.cpp
/// also mid-stream).
fn reported(json: &Value) -> Result<(), Malformed> {
    match json.get("error") {
        None | Some(Value::Null) => Ok(()),
        Some(error) => Err(Malformed::Reported(error_message(error))),
    }
}

/// The message of an OpenAI/llama.cpp error object, or the whole of it.
pub fn error_message(error: &Value) -> String {
    match error.get("message").and_then(Value::as_str) {
        Some(message) => message.to_string(),
        None => match error.as_str() {
            Some(text) => text.to_string(),
            None => error.to_string(),
        },
    }
}

fn refused(message: &Value) -> Result<(), Malformed> {
    match message.get("refusal").and_then(Value::as_str) {
        Some(refusal) if !refusal.is_empty() => Err(Malformed::Refused(refusal.to_string())),
        _ => Ok(()),
    }
}

/// A content field: text, or nothing for `null` or absent.
fn text(content: Option<&Value>) -> &str {
    content.and_then(Value::as_str).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_answer_with_llama_cpp_timings() {
        let reply = whole(br#"{"choices":[{"finish_reason":"stop","message":{"role":"assistant","content":"hi"}}],"model":"g","usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4},"timings":{"prompt_ms":1.5}}"#).unwrap();
        assert_eq!(reply.content, "hi");
        assert_eq!(reply.finish_reason.as_deref(), Some("stop"));
        assert_eq!(reply.usage.total_tokens, Some(4));
        assert_eq!(reply.server_timings.unwrap()["prompt_ms"], 1.5);
        assert!(matches!(whole(b"{}"), Err(Malformed::NoMessage)));
        assert!(matches!(
            whole(br#"{"error":{"code":400,"message":"bad"}}"#),
            Err(Malformed::Reported(m)) if m == "bad"
        ));
        assert!(matches!(
            whole(br#"{"choices":[{"message":{"content":null,"refusal":"no"}}]}"#),
            Err(Malformed::Refused(_))
        ));
    }

    #[test]
    fn usage_may_come_anywhere_in_a_stream() {
        let mut assembly = Assembly::default();
        let chunks = [
            r#"{"choices":[],"usage":{"prompt_tokens":2,"completion_tokens":0,"total_tokens":2}}"#,
            r#"{"choices":[{"delta":{"role":"assistant","content":null}}],"model":"g"}"#,
            r#"{"choices":[{"delta":{"content":"he"}}]}"#,
            r#"{"choices":[{"delta":{"content":"y"},"finish_reason":"stop"}]}"#,
            r#"{"choices":[],"usage":{"prompt_tokens":2,"completion_tokens":2,"total_tokens":4}}"#,
        ];
        let deltas: Vec<String> = chunks.iter().map(|c| assembly.take(c).unwrap()).collect();
        assert_eq!(deltas, ["", "", "he", "y", ""]);
        assert!(!assembly.done());
        assembly.take("[DONE]").unwrap();
        assert!(assembly.done());
        let reply = assembly.finish();
        assert_eq!(reply.content, "hey");
        assert_eq!(reply.usage.completion_tokens, Some(2));
        assert_eq!(reply.model.as_deref(), Some("g"));
        let mut assembly = Assembly::default();
        assert!(matches!(
            assembly.take(r#"{"error":{"message":"slot lost"}}"#),
            Err(Malformed::Reported(_))
        ));
    }
}
