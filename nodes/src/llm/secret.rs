//! The API key: a secret that is sent in one header and shown nowhere else.
//!
//! This module owns keeping the key out of `Debug`, logs and error text
//! (`scrub` removes it from text a server sent back). It must not decide
//! where the key comes from: the kind binds it from a secret value.

use http::HeaderValue;

/// An API key. `Debug` prints `<redacted>`; there is no `Display`.
#[derive(Clone)]
pub struct ApiKey(Box<str>);

impl ApiKey {
    /// `None` for an empty key (a local server needs none).
    pub fn new(key: &str) -> Option<ApiKey> {
        let key = key.trim();
        (!key.is_empty()).then(|| ApiKey(key.into()))
    }

    /// `Bearer KEY`, marked sensitive so HTTP/2 never indexes it. `None`
    /// when the key holds characters a header cannot carry (said without
    /// quoting it).
    pub(crate) fn bearer(&self) -> Option<HeaderValue> {
        let mut value = HeaderValue::try_from(format!("Bearer {}", self.0)).ok()?;
        value.set_sensitive(true);
        Some(value)
    }

    /// `text` with every occurrence of the key replaced by `<redacted>`:
    /// for what a server says back, which may quote it.
    pub(crate) fn scrub(&self, text: &str) -> String {
        text.replace(&*self.0, "<redacted>")
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_shows_nowhere() {
        let key = ApiKey::new(" sk-hunter2 ").unwrap();
        assert_eq!(format!("{key:?}"), "ApiKey(<redacted>)");
        assert_eq!(key.scrub("bad key sk-hunter2!"), "bad key <redacted>!");
        assert!(key.bearer().unwrap().is_sensitive());
        assert!(ApiKey::new("  ").is_none());
        assert!(ApiKey::new("a\nb").unwrap().bearer().is_none());
    }
}
