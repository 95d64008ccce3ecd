//! A chat completion request as Weir holds it, and its JSON body for
//! `POST {base_url}/chat/completions`.
//!
//! This module owns the request's shape and the differences between
//! servers in what they are sent ([`Flavour`]). It must not send anything
//! or read answers.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::structured::Structured;

/// Which kind of server is called, where they differ in what they accept.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Flavour {
    /// llama.cpp's server (and most OpenAI-compatible local servers):
    /// `max_tokens`.
    #[default]
    LlamaCpp,
    /// OpenAI's API: `max_completion_tokens` (its reasoning models refuse
    /// `max_tokens`).
    Openai,
}

/// One message of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    pub role: Arc<str>,
    pub content: String,
}

/// A chat completion request. `stream` asks for Server-Sent Events.
#[derive(Debug, Clone, Default)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<Message>,
    pub temperature: Option<f64>,
    pub max_tokens: Option<u64>,
    pub top_p: Option<f64>,
    pub stop: Vec<String>,
    pub seed: Option<i64>,
    pub structured: Option<Arc<Structured>>,
    pub stream: bool,
}

impl ChatRequest {
    /// The body sent to a server of `flavour`. Unset options are left out,
    /// so the server's defaults apply.
    pub fn body(&self, flavour: Flavour) -> Value {
        let mut body = Map::new();
        body.insert("model".into(), json!(self.model));
        body.insert("messages".into(), json!(self.messages));
        let mut put = |name: &str, value: Option<Value>| {
            if let Some(value) = value {
                body.insert(name.into(), value);
            }
        };
        put("temperature", self.temperature.map(Value::from));
        let max_tokens = match flavour {
            Flavour::LlamaCpp => "max_tokens",
            Flavour::Openai => "max_completion_tokens",
        };
        put(max_tokens, self.max_tokens.map(Value::from));
        put("top_p", self.top_p.map(Value::from));
        put("stop", (!self.stop.is_empty()).then(|| json!(self.stop)));
        put("seed", self.seed.map(Value::from));
        // OpenAI's nested form; llama.cpp reads it too (and turns the
        // schema into a grammar that constrains decoding).
        put(
            "response_format",
            self.structured.as_ref().map(|s| s.response_format()),
        );
        if self.stream {
            put("stream", Some(Value::Bool(true)));
            // OpenAI sends usage only when asked, in a last chunk with no
            // choices; llama.cpp accepts the option.
            put("stream_options", Some(json!({"include_usage": true})));
        }
        Value::Object(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_left_unset_are_not_sent_and_flavours_name_max_tokens() {
        let request = ChatRequest {
            model: "m".into(),
            messages: vec![Message {
                role: "user".into(),
                content: "hi".into(),
            }],
            max_tokens: Some(8),
            stream: true,
            ..ChatRequest::default()
        };
        let body = request.body(Flavour::LlamaCpp);
        assert_eq!(
            body,
            json!({"model": "m", "messages": [{"role": "user", "content": "hi"}],
                   "max_tokens": 8, "stream": true, "stream_options": {"include_usage": true}})
        );
        let body = request.body(Flavour::Openai);
        assert_eq!(body["max_completion_tokens"], 8);
        assert!(body.get("max_tokens").is_none());
    }
}
