//! The conversation as templates: each message's `content` a minijinja
//! template ([`weir_codecs::Template`]) rendered over a context (the
//! payload, the env) into the messages sent.
//!
//! This module owns compiling the messages once and rendering them; it
//! must not choose the context.

use std::sync::Arc;

use weir_codecs::{Template, Value};

use super::request::Message;

/// The roles a message may have.
pub const ROLES: [&str; 4] = ["system", "developer", "user", "assistant"];

/// Messages compiled for rendering.
#[derive(Debug, Clone)]
pub struct Prompt {
    messages: Vec<(Arc<str>, Content)>,
}

#[derive(Debug, Clone)]
enum Content {
    Text(String),
    Template(Template),
}

impl Prompt {
    /// Compiles `(role, content)` pairs; every problem is answered with the
    /// message's index (`[1].content: …`).
    pub fn compile<'a>(
        messages: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Prompt, Vec<(String, String)>> {
        let mut errors = Vec::new();
        let mut compiled = Vec::new();
        for (i, (role, content)) in messages.into_iter().enumerate() {
            if !ROLES.contains(&role) {
                let known = ROLES.join(", ");
                errors.push((
                    format!("[{i}].role"),
                    format!("`{role}` is not a role ({known})"),
                ));
            }
            let content = match weir_codecs::template::is_template(content) {
                false => Content::Text(content.to_string()),
                true => match Template::compile(content) {
                    Ok(template) => Content::Template(template),
                    Err(e) => {
                        errors.push((format!("[{i}].content"), e.to_string()));
                        continue;
                    }
                },
            };
            compiled.push((Arc::from(role), content));
        }
        if compiled.is_empty() && errors.is_empty() {
            errors.push((String::new(), "there must be at least one message".into()));
        }
        match errors.is_empty() {
            true => Ok(Prompt { messages: compiled }),
            false => Err(errors),
        }
    }

    /// Renders every message over `context`. A template yielding something
    /// other than text is sent as its JSON. The error names the message,
    /// never what was rendered.
    pub fn render(&self, context: &Value) -> Result<Vec<Message>, String> {
        self.messages
            .iter()
            .enumerate()
            .map(|(i, (role, content))| {
                let content = match content {
                    Content::Text(text) => text.clone(),
                    Content::Template(template) => match template.render(context) {
                        Ok(Value::String(text)) => text.to_string(),
                        Ok(other) => weir_codecs::json::to_json(&other).to_string(),
                        Err(e) => return Err(format!("messages[{i}].content: {e}")),
                    },
                };
                Ok(Message {
                    role: role.clone(),
                    content,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_render_over_the_context() {
        let prompt = Prompt::compile([
            ("system", "Be brief."),
            ("user", "Say {{ payload.word }}."),
            ("user", "{{ payload }}"),
        ])
        .unwrap();
        let payload = Value::map([("word", Value::string("hi"))]);
        let context = Value::map([("payload", payload)]);
        let messages = prompt.render(&context).unwrap();
        assert_eq!(messages[0].content, "Be brief.");
        assert_eq!(messages[1].content, "Say hi.");
        assert_eq!(messages[2].content, r#"{"word":"hi"}"#);
        let error = prompt
            .render(&Value::map([("payload", Value::Null)]))
            .unwrap_err();
        assert!(error.starts_with("messages[1].content: "), "{error}");
    }

    #[test]
    fn bad_roles_and_templates_are_named() {
        let errors = Prompt::compile([("robot", "x"), ("user", "{{ 1 + }}")]).unwrap_err();
        let paths: Vec<&str> = errors.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["[0].role", "[1].content"]);
        assert!(Prompt::compile([]).is_err());
    }
}
