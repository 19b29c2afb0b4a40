//! [`ModelsEtags`]: the pool catalog's ETag, the one `x-models-etag` value clients see.
//!
//! Upstream stamps its own `x-models-etag` on model answers, and the Codex CLI fetches `/models`
//! again whenever that value differs from the ETag of the catalog it holds. The gateway serves
//! the pool's catalog (the union of its accounts'), so it answers every `x-models-etag` with that
//! catalog's ETag instead; otherwise the CLI would refetch the catalog on every turn.

use std::collections::HashMap;
use std::sync::Mutex;

use codex_pooler_core::live::LiveState;
use codex_pooler_core::live::PoolCatalog;
use codex_pooler_core::model::PoolId;
use codex_pooler_core::model::{Snapshot, SnapshotHandle};
use http::HeaderMap;
use http::header::HeaderValue;

/// The header Codex clients compare with their catalog's ETag.
pub(crate) const MODELS_ETAG_HEADER: &str = "x-models-etag";

/// Pool catalog ETags, computed once per configuration version and catalog generation.
#[derive(Debug, Default)]
pub(crate) struct ModelsEtags {
    cached: Mutex<HashMap<PoolId, Cached>>,
}

#[derive(Debug, Clone)]
struct Cached {
    version: u64,
    generation: u64,
    etag: Option<HeaderValue>,
}

impl ModelsEtags {
    /// The pool's catalog and its ETag, computed fresh (for `GET /models`).
    pub(crate) fn catalog(
        &self,
        snapshot: &Snapshot,
        live: &LiveState,
        pool: PoolId,
    ) -> PoolCatalog {
        let generation = live.catalog_generation();
        let accounts: Vec<_> = snapshot
            .pool_accounts(pool)
            .iter()
            .filter(|a| a.lifecycle.is_routable())
            .cloned()
            .collect();
        let catalog = live.pool_catalog(&accounts);
        self.store(pool, snapshot.version(), generation, &catalog.etag);
        catalog
    }

    /// The pool's catalog ETag, from the cache while neither the configuration nor any
    /// account's catalog changed.
    pub(crate) fn etag(
        &self,
        snapshot: &Snapshot,
        live: &LiveState,
        pool: PoolId,
    ) -> Option<HeaderValue> {
        let (version, generation) = (snapshot.version(), live.catalog_generation());
        let hit = self
            .lock()
            .get(&pool)
            .filter(|c| c.version == version && c.generation == generation)
            .map(|c| c.etag.clone());
        match hit {
            Some(etag) => etag,
            None => {
                let catalog = self.catalog(snapshot, live, pool);
                HeaderValue::from_str(&catalog.etag).ok()
            }
        }
    }

    /// Replaces an upstream `x-models-etag` in `headers` with the pool's; leaves headers without
    /// one alone.
    pub(crate) fn rewrite(
        &self,
        headers: &mut HeaderMap,
        snapshot: &SnapshotHandle,
        live: &LiveState,
        pool: PoolId,
    ) {
        if !headers.contains_key(MODELS_ETAG_HEADER) {
            return;
        }
        match self.etag(&snapshot.load(), live, pool) {
            Some(etag) => {
                headers.insert(MODELS_ETAG_HEADER, etag);
            }
            None => {
                headers.remove(MODELS_ETAG_HEADER);
            }
        }
    }

    fn store(&self, pool: PoolId, version: u64, generation: u64, etag: &str) {
        let cached = Cached {
            version,
            generation,
            etag: HeaderValue::from_str(etag).ok(),
        };
        self.lock().insert(pool, cached);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PoolId, Cached>> {
        self.cached.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use codex_pooler_core::clock::from_unix_seconds;
    use codex_pooler_core::live::parse_catalog;
    use codex_pooler_core::model::{AccountId, Assignment, Pool, PoolStatus, UpstreamAccount};
    use codex_pooler_core::store::StoreState;

    use super::*;

    const POOL: PoolId = PoolId(1);

    fn snapshot(version: u64) -> SnapshotHandle {
        SnapshotHandle::new(Snapshot::build(StoreState {
            version,
            pools: vec![Pool {
                id: POOL,
                slug: "p".into(),
                status: PoolStatus::Active,
                strategy: None,
                v1_enabled: true,
                waits: Default::default(),
            }],
            accounts: vec![UpstreamAccount::new(AccountId(1), "a").with_chatgpt_account_id("acc")],
            assignments: vec![Assignment {
                pool: POOL,
                account: AccountId(1),
            }],
            keys: vec![],
        }))
    }

    fn record(live: &LiveState, slug: &str) {
        let body = format!(r#"{{"models":[{{"slug":"{slug}"}}]}}"#);
        live.record_catalog(
            AccountId(1),
            parse_catalog(body.as_bytes()).unwrap(),
            from_unix_seconds(1),
        );
    }

    fn rewritten(etags: &ModelsEtags, snapshot: &SnapshotHandle, live: &LiveState) -> String {
        let mut headers = HeaderMap::new();
        headers.insert(MODELS_ETAG_HEADER, HeaderValue::from_static("\"upstream\""));
        etags.rewrite(&mut headers, snapshot, live, POOL);
        headers[MODELS_ETAG_HEADER].to_str().unwrap().to_owned()
    }

    #[test]
    fn upstream_etags_become_the_pool_catalogs_and_follow_its_changes() {
        let (etags, live, snapshot) = (ModelsEtags::default(), LiveState::new(), snapshot(1));
        record(&live, "m1");
        let first = rewritten(&etags, &snapshot, &live);
        let served = etags.catalog(&snapshot.load(), &live, POOL).etag;
        assert_eq!(first, served);
        assert_ne!(first, "\"upstream\"");
        assert_eq!(rewritten(&etags, &snapshot, &live), first, "cached");
        record(&live, "m2");
        assert_ne!(
            rewritten(&etags, &snapshot, &live),
            first,
            "a new catalog, a new ETag"
        );
    }

    #[test]
    fn answers_without_the_header_are_left_alone() {
        let (etags, live, snapshot) = (ModelsEtags::default(), LiveState::new(), snapshot(1));
        let mut headers = HeaderMap::new();
        etags.rewrite(&mut headers, &snapshot, &live, POOL);
        assert!(headers.is_empty());
    }
}
