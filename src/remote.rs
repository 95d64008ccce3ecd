//! A client of a running engine's system API (`--server URL`), for the
//! commands that otherwise read and write the database.
//!
//! It speaks the API in `docs/system-api.md` with the API's own types
//! (listings, plans, problems: `weir_engine::store`, `weir_nodes::system`),
//! so answers read back into exactly what the database path produces. The
//! token goes in `Authorization` and nowhere else: errors name the server
//! and what it said, never the token.

use anyhow::{Context, bail};
use serde::de::DeserializeOwned;
use serde_json::Value as Json;
use weir_engine::store::{Entity, Filter, Listed, Plan};
use weir_nodes::job::JobListing;
use weir_nodes::system::{Admitted, Batch, Listing, Problem};

/// A running engine's system API.
pub struct Remote {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

/// What the server answered to a write.
pub enum Written {
    /// Done (or planned, on a dry run), with what admitting it warned of.
    Plan(Plan, Vec<Problem>),
    /// Refused as invalid: every problem, nothing stored.
    Invalid(Vec<Problem>),
}

impl Remote {
    /// A client of the API at `base` (`http://host:port`).
    pub fn new(base: &str, token: Option<String>) -> anyhow::Result<Remote> {
        let base = base.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            bail!("--server must be an http:// or https:// URL, not `{base}`");
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("weir/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("cannot set up the HTTP client")?;
        Ok(Remote { http, base, token })
    }

    fn path(entity: Entity) -> &'static str {
        match entity {
            Entity::Spec => "/v1/specs",
            Entity::Value => "/v1/values",
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends, and reads a 2xx answer as `T`; any other answer is an error
    /// with the server's message. A 400 `invalid` answer's problems are
    /// handed to `invalid` instead when given.
    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> anyhow::Result<Result<T, Vec<Problem>>> {
        let response = request
            .send()
            .await
            .with_context(|| format!("cannot reach the engine at {}", self.base))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .with_context(|| format!("cannot read the answer of {}", self.base))?;
        if status.is_success() {
            let answer = serde_json::from_slice(&body)
                .with_context(|| format!("{} answered something unexpected", self.base))?;
            return Ok(Ok(answer));
        }
        let error: Json = serde_json::from_slice(&body).unwrap_or(Json::Null);
        let error = &error["error"];
        if error["code"] == "invalid"
            && let Ok(problems) = serde_json::from_value::<Vec<Problem>>(error["details"].clone())
        {
            return Ok(Err(problems));
        }
        let message = error["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| String::from_utf8_lossy(&body).trim().to_string());
        match status.as_u16() {
            401 => bail!(
                "{} refused the token ({status}): give --token or set WEIR_TOKEN",
                self.base
            ),
            _ => bail!("{} answered {status}: {message}", self.base),
        }
    }

    /// The rows `filter` selects, as listed.
    pub async fn listed(&self, entity: Entity, filter: &Filter) -> anyhow::Result<Vec<Listed>> {
        let mut query: Vec<(&str, String)> = Vec::new();
        for (name, value) in [
            ("namespace", &filter.namespace),
            ("name", &filter.name),
            ("kind", &filter.kind),
        ] {
            if let Some(value) = value {
                query.push((name, value.clone()));
            }
        }
        if let Some(id) = filter.id {
            query.push(("id", id.to_string()));
        }
        let request = self
            .request(reqwest::Method::GET, Self::path(entity))
            .query(&query);
        match self.send::<Listing>(request).await? {
            Ok(listing) => Ok(listing.items),
            Err(_) => bail!("{} refused the listing's filters", self.base),
        }
    }

    /// A page of jobs (`/v1/jobs`), newest first.
    pub async fn jobs(&self, query: &[(&str, String)]) -> anyhow::Result<JobListing> {
        let request = self.request(reqwest::Method::GET, "/v1/jobs").query(query);
        match self.send::<JobListing>(request).await? {
            Ok(listing) => Ok(listing),
            Err(_) => bail!("{} refused the listing's filters", self.base),
        }
    }

    /// Applies a batch in one transaction.
    pub async fn commit(&self, entity: Entity, batch: &Batch<Json>) -> anyhow::Result<Written> {
        let path = format!("{}/apply", Self::path(entity));
        let request = self.request(reqwest::Method::POST, &path).json(batch);
        Ok(match self.send::<Admitted<Plan>>(request).await? {
            Ok(plan) => Written::Plan(plan.stored, plan.warnings),
            Err(problems) => Written::Invalid(problems),
        })
    }
}
