//! Listings: stored rows as people and clients see them.
//!
//! A listing is what `weir get` prints and what the system API answers:
//! the rows a [`Filter`] selects, each spec with the status its engines
//! reported, and every secret value's data replaced by `<redacted>`. The
//! redaction happens here, once, so no caller can forget it. Raw rows, for
//! the loader and for checks, come from [`Store::list`] and [`Store::get`].

use std::collections::HashMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Entity, Row, SpecStatus, Store, StoreError};
use crate::spec::NamedValue;
use crate::spec::value::REDACTED;

/// Which rows a listing selects; every field given must match.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// Only this namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Only rows with this name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Only specs of this kind (values have none: it matches no value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Only the row with this id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
}

impl Filter {
    /// Every row of one namespace.
    pub fn namespace(namespace: impl Into<String>) -> Filter {
        Filter {
            namespace: Some(namespace.into()),
            ..Filter::default()
        }
    }

    /// The row with this id.
    pub fn id(id: Uuid) -> Filter {
        Filter {
            id: Some(id),
            ..Filter::default()
        }
    }
}

/// A row as shown: secrets redacted, a spec with its reported status.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Listed {
    /// The row.
    #[serde(flatten)]
    pub row: Row,
    /// What the engines last reported about this spec, if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SpecStatus>,
}

impl Row {
    /// The row as it may be shown: a secret value's data replaced by
    /// `<redacted>`. Specs are returned as they are.
    pub fn redacted(mut self, entity: Entity) -> Row {
        if entity == Entity::Value {
            match self.decode::<NamedValue>() {
                Ok(value) => {
                    if let Ok(shown) = serde_json::to_value(value.redacted()) {
                        self.document = shown;
                    }
                }
                // A row edited by hand into something else: hide its data
                // whatever it claims to be.
                Err(_) => {
                    if let Some(data) = self.document.get_mut("data") {
                        *data = serde_json::Value::String(REDACTED.to_string());
                    }
                }
            }
        }
        self
    }
}

impl Store {
    /// The rows `filter` selects, as they may be shown.
    pub async fn listed(&self, entity: Entity, filter: &Filter) -> Result<Vec<Listed>, StoreError> {
        let rows = self.list(entity, filter).await?;
        let mut statuses: HashMap<Uuid, SpecStatus> = match entity {
            Entity::Spec => self
                .statuses_of(filter.id)
                .await?
                .into_iter()
                .map(|s| (s.id, s))
                .collect(),
            Entity::Value => HashMap::new(),
        };
        Ok(rows
            .into_iter()
            .map(|row| Listed {
                status: statuses.remove(&row.id),
                row: row.redacted(entity),
            })
            .collect())
    }

    /// The row with `id`, as it may be shown.
    pub async fn shown(&self, entity: Entity, id: Uuid) -> Result<Option<Listed>, StoreError> {
        Ok(self.listed(entity, &Filter::id(id)).await?.pop())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(document: serde_json::Value) -> Row {
        Row {
            id: Uuid::now_v7(),
            namespace: "default".into(),
            name: "n".into(),
            document,
            revision: 1,
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    #[test]
    fn secrets_are_redacted_even_when_they_do_not_decode() {
        let secret = row(serde_json::json!({"name": "n", "data": "hush", "secret": true}));
        assert_eq!(
            secret.redacted(Entity::Value).document["data"],
            REDACTED,
            "a secret"
        );
        let plain = row(serde_json::json!({"name": "n", "data": "open"}));
        assert_eq!(plain.redacted(Entity::Value).document["data"], "open");
        let odd = row(serde_json::json!({"name": "n", "data": "hush", "surprise": 1}));
        assert_eq!(odd.redacted(Entity::Value).document["data"], REDACTED);
        let spec = row(serde_json::json!({"kind": "k", "data": "kept"}));
        assert_eq!(spec.redacted(Entity::Spec).document["data"], "kept");
    }
}
