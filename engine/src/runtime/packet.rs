//! Packets: what travels between ports.
//!
//! A packet wraps a [`Value`]. Values share their buffers, so cloning a packet
//! for a fan-out never copies data. This module owns only the wrapper; how
//! packets move is the business of [`super::outputs`] and [`super::slot`].

use weir_codecs::{ErrorValue, Value};

/// One unit of data on a port.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Packet {
    payload: Value,
}

impl Packet {
    /// A packet carrying `payload`.
    pub fn new(payload: impl Into<Value>) -> Packet {
        Packet {
            payload: payload.into(),
        }
    }

    /// An error packet.
    pub fn error(error: ErrorValue) -> Packet {
        Packet::new(Value::error(error))
    }

    /// The value carried.
    pub fn payload(&self) -> &Value {
        &self.payload
    }

    /// The value carried, by value.
    pub fn into_payload(self) -> Value {
        self.payload
    }

    /// The error carried, if this is an error packet.
    pub fn as_error(&self) -> Option<&ErrorValue> {
        self.payload.as_error()
    }

    /// Whether this packet carries an error.
    pub fn is_error(&self) -> bool {
        self.payload.is_error()
    }
}

impl From<Value> for Packet {
    fn from(payload: Value) -> Packet {
        Packet { payload }
    }
}

/// Merges the answers of several linked nodes into the one answer a writer
/// gets: one answer is itself, several are a list, and any error wins (the
/// first in link order, so the outcome does not depend on timing).
pub fn merge(mut answers: Vec<Packet>) -> Packet {
    if answers.len() == 1 {
        return answers.swap_remove(0);
    }
    if let Some(error) = answers.iter().find(|p| p.is_error()) {
        return error.clone();
    }
    Packet::new(Value::list(answers.into_iter().map(Packet::into_payload)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_follows_the_rules() {
        assert_eq!(merge(vec![Packet::new(1i64)]), Packet::new(1i64));
        assert_eq!(
            merge(vec![Packet::new(1i64), Packet::new(2i64)]),
            Packet::new(Value::list([Value::Int(1), Value::Int(2)]))
        );
        let failed = merge(vec![
            Packet::new(1i64),
            Packet::error(ErrorValue::new("first")),
            Packet::error(ErrorValue::new("second")),
        ]);
        assert_eq!(failed.as_error().map(|e| e.message.as_str()), Some("first"));
    }
}
