//! The model catalog: which models each account serves, as upstream lists them.
//!
//! A background job reads each account's `GET /backend-api/codex/models` into the
//! [`CatalogBook`]. Eligibility asks it whether an account serves a model (falling back on the
//! account's configured list until its catalog has been read), and the pool's own `/models`
//! answer is the union over the pool's accounts, with a deterministic ETag.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use serde_json::Value;

use crate::live::AccountMap;
use crate::model::{AccountId, UpstreamAccount};

/// One account's catalog as last read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AccountCatalog {
    /// The model entries as upstream sent them (`ModelInfo` objects with at least a `slug`).
    pub(crate) models: Vec<Value>,
    /// When it was read.
    pub(crate) fetched_at: SystemTime,
}

impl AccountCatalog {
    fn slugs(&self) -> impl Iterator<Item = &str> {
        self.models
            .iter()
            .filter_map(|m| m.get("slug").and_then(Value::as_str))
    }
}

/// A pool's catalog: the union of its accounts' models.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolCatalog {
    /// Model entries, ordered by `priority` then slug.
    pub models: Vec<Value>,
    /// A weak ETag derived from the entries: equal catalogs have equal ETags.
    pub etag: String,
}

/// Why a catalog body was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogError {
    /// Not `{"models":[...]}`.
    #[error("model catalog is not a JSON object with a `models` array")]
    Shape,
}

/// Parses `{"models":[{"slug":..,..},..]}`; entries without a slug are dropped.
pub fn parse_catalog(body: &[u8]) -> Result<Vec<Value>, CatalogError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| CatalogError::Shape)?;
    let models = value
        .get("models")
        .and_then(Value::as_array)
        .ok_or(CatalogError::Shape)?;
    Ok(models
        .iter()
        .filter(|m| m.get("slug").and_then(Value::as_str).is_some())
        .cloned()
        .collect())
}

/// Catalogs per account, shared by all requests of a process.
#[derive(Debug, Default)]
pub(crate) struct CatalogBook {
    accounts: RwLock<AccountMap<Entry>>,
    /// Bumped by every recorded catalog that changed something, so that caches of who serves
    /// what know to refresh.
    generation: AtomicU64,
}

/// One account's catalog with its slugs pulled out once, so that eligibility compares strings
/// instead of walking JSON on every request.
#[derive(Debug)]
struct Entry {
    catalog: Arc<AccountCatalog>,
    slugs: Box<[Box<str>]>,
}

impl Entry {
    fn supports(&self, model: &str) -> bool {
        self.slugs.iter().any(|s| **s == *model)
    }
}

impl CatalogBook {
    /// An empty book.
    #[cfg(test)]
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Records an account's catalog. The [`generation`](Self::generation) moves only when the
    /// models differ from what the account had: the periodic sync mostly reads the same
    /// catalog again, and that must not make every cache of who serves what start over.
    pub(crate) fn record(&self, account: AccountId, models: Vec<Value>, now: SystemTime) {
        let mut accounts = self.accounts.write().unwrap_or_else(|p| p.into_inner());
        let changed = accounts
            .get(&account)
            .is_none_or(|old| old.catalog.models != models);
        let catalog = AccountCatalog {
            models,
            fetched_at: now,
        };
        let entry = Entry {
            slugs: catalog.slugs().map(Box::from).collect(),
            catalog: Arc::new(catalog),
        };
        accounts.insert(account, entry);
        if changed {
            self.generation.fetch_add(1, Ordering::Release);
        }
    }

    /// How many catalogs were recorded so far: equal generations mean equal answers, so a
    /// [`PoolCatalog`] computed at one generation holds until the next.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// An account's catalog, if it was read.
    pub(crate) fn get(&self, account: AccountId) -> Option<Arc<AccountCatalog>> {
        self.accounts
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&account)
            .map(|e| Arc::clone(&e.catalog))
    }

    /// Whether `account` serves `model`: its read catalog, else its configured list.
    #[cfg(test)]
    pub(crate) fn supports(&self, account: &UpstreamAccount, model: &str) -> bool {
        let accounts = self.accounts.read().unwrap_or_else(|p| p.into_inner());
        match accounts.get(&account.id) {
            Some(entry) => entry.supports(model),
            None => account.supports_model(model),
        }
    }

    /// [`supports`](Self::supports) for each of `accounts`, in the same order, under one lock.
    pub(crate) fn supports_each(
        &self,
        accounts: &[Arc<UpstreamAccount>],
        model: &str,
    ) -> Vec<bool> {
        let catalogs = self.accounts.read().unwrap_or_else(|p| p.into_inner());
        accounts
            .iter()
            .map(|account| match catalogs.get(&account.id) {
                Some(entry) => entry.supports(model),
                None => account.supports_model(model),
            })
            .collect()
    }

    /// The union of the accounts' catalogs, as upstream wrote them. Accounts whose catalog was
    /// not read yet contribute nothing: Codex clients reject a whole catalog when one entry
    /// lacks a field they require (instructions, truncation policy, ...), and the gateway has
    /// no honest values to make up; an empty list makes them fall back to their built-in model
    /// metadata instead. Those accounts still serve their configured models (see
    /// [`supports`](Self::supports)).
    pub(crate) fn pool_catalog(&self, accounts: &[Arc<UpstreamAccount>]) -> PoolCatalog {
        let mut by_slug: BTreeMap<String, Value> = BTreeMap::new();
        for catalog in accounts.iter().filter_map(|a| self.get(a.id)) {
            for model in &catalog.models {
                if let Some(slug) = model.get("slug").and_then(Value::as_str) {
                    by_slug
                        .entry(slug.to_owned())
                        .or_insert_with(|| model.clone());
                }
            }
        }
        let mut models: Vec<Value> = by_slug.into_values().collect();
        models.sort_by_key(|m| {
            let priority = m
                .get("priority")
                .and_then(Value::as_i64)
                .unwrap_or(i64::MAX);
            let slug = m
                .get("slug")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            (priority, slug)
        });
        let body = Value::Array(models.clone()).to_string();
        let hash = body.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        PoolCatalog {
            models,
            etag: format!("W/\"{hash:016x}\""),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::from_unix_seconds;

    fn account(id: i64, models: &[&str]) -> Arc<UpstreamAccount> {
        Arc::new(
            UpstreamAccount::new(AccountId(id), format!("a{id}"))
                .with_models(models.iter().copied()),
        )
    }

    #[test]
    fn parses_and_rejects() {
        let models = parse_catalog(br#"{"models":[{"slug":"a","priority":2},{"x":1}]}"#).unwrap();
        assert_eq!(models.len(), 1);
        assert_eq!(parse_catalog(b"[]"), Err(CatalogError::Shape));
        assert_eq!(parse_catalog(b"nope"), Err(CatalogError::Shape));
    }

    #[test]
    fn read_catalogs_override_configured_lists() {
        let book = CatalogBook::new();
        let a = account(1, &["configured"]);
        assert!(book.supports(&a, "configured"));
        book.record(
            a.id,
            parse_catalog(br#"{"models":[{"slug":"synced"}]}"#).unwrap(),
            from_unix_seconds(1),
        );
        assert!(book.supports(&a, "synced"));
        assert!(!book.supports(&a, "configured"));
        let b = account(2, &["configured"]);
        assert_eq!(
            book.supports_each(&[Arc::clone(&a), b], "configured"),
            [false, true]
        );
    }

    #[test]
    fn reading_the_same_catalog_again_keeps_the_generation() {
        let book = CatalogBook::new();
        let models = || parse_catalog(br#"{"models":[{"slug":"m1"}]}"#).unwrap();
        book.record(AccountId(1), models(), from_unix_seconds(1));
        let first = book.generation();
        book.record(AccountId(1), models(), from_unix_seconds(2));
        assert_eq!(book.generation(), first, "same models, same answers");
        assert_eq!(
            book.get(AccountId(1)).unwrap().fetched_at,
            from_unix_seconds(2)
        );
        book.record(
            AccountId(1),
            parse_catalog(br#"{"models":[{"slug":"m2"}]}"#).unwrap(),
            from_unix_seconds(3),
        );
        assert_ne!(book.generation(), first);
        book.record(AccountId(2), models(), from_unix_seconds(3));
        assert_ne!(
            book.generation(),
            first + 1,
            "a new account's catalog counts"
        );
    }

    #[test]
    fn pool_catalog_is_a_sorted_union_with_a_stable_etag() {
        let book = CatalogBook::new();
        let a = account(1, &[]);
        let b = account(2, &["z-configured"]);
        book.record(
            a.id,
            parse_catalog(br#"{"models":[{"slug":"m2","priority":2},{"slug":"m1","priority":1}]}"#)
                .unwrap(),
            from_unix_seconds(1),
        );
        let one = book.pool_catalog(&[Arc::clone(&a), Arc::clone(&b)]);
        let slugs: Vec<_> = one.models.iter().map(|m| m["slug"].clone()).collect();
        // Account 2's catalog was not read: it adds no made-up entry.
        assert_eq!(slugs, ["m1", "m2"]);
        let two = book.pool_catalog(&[b, a]);
        assert_eq!(one.etag, two.etag);
        assert!(one.etag.starts_with("W/\""));
        let other = book.pool_catalog(&[account(3, &["x"])]);
        assert!(other.models.is_empty());
        assert_ne!(one.etag, other.etag);
    }
}
