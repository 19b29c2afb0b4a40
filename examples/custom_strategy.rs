//! A custom routing strategy plugged into the pooler.
//!
//! Run with `cargo run -p codex-pooler-examples --example custom_strategy`.
//!
//! `PrimaryFirst` prefers accounts whose label starts with `primary-` and, within each group,
//! the account with the most quota left. The example builds a pooler with it over an in-memory
//! store, records some quota evidence, and prints the order the strategy chooses.

use std::error::Error;
use std::sync::Arc;
use std::time::SystemTime;

use axum::http::{HeaderMap, HeaderValue};
use codex_pooler_core::model::KeyId;
use codex_pooler_core::request::RequestFacts;
use codex_pooler_core::store::{MemoryStore, NewAccount, PoolStore};
use codex_pooler_core::strategy::{Candidate, HeadroomFirst, RoutingStrategy, StrategyInput};
use codex_pooler_tower::credentials::{SealingKey, SecretSealer};
use codex_pooler_tower::keys::KeyHasher;
use codex_pooler_tower::{ConfigSync, Pooler};

/// Accounts labelled `primary-*` first, then the rest; most headroom first within each group.
///
/// It sorts on the label, which a rank of the quota alone cannot express, so it does not
/// implement `RoutingStrategy::ranked`: the planner hands it every eligible account. That is
/// fine for pools of a few hundred accounts; a strategy that is a pure rank of the quota view
/// (like the built-in ones) can opt into the planner's per-pool index through `ranked`.
#[derive(Debug)]
struct PrimaryFirst;

impl RoutingStrategy for PrimaryFirst {
    fn name(&self) -> &'static str {
        "primary_first"
    }

    fn order(&self, input: &StrategyInput<'_>, candidates: &mut [Candidate]) {
        // 1. Headroom order (ties by rendezvous on the continuity key, then by load).
        HeadroomFirst.order(input, candidates);
        // 2. A stable sort moves the primaries to the front and keeps step 1 within each group.
        candidates.sort_by_key(|c| !c.account.label.starts_with("primary-"));
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error + Send + Sync>> {
    let _ = rustls::crypto::ring::default_provider().install_default();

    // A pool of four accounts, configured in code.
    let store: Arc<dyn PoolStore> = Arc::new(MemoryStore::new());
    let pool = store.create_pool("team").await?;
    for label in ["spare-a", "primary-b", "spare-c", "primary-d"] {
        let account = store
            .create_account(NewAccount {
                label: label.into(),
                chatgpt_account_id: format!("acc-{label}"),
                user_id: None,
                email: None,
                plan_type: Some("plus".into()),
                base_url: None,
                models: vec!["gpt-5".into()],
                secrets: vec![],
            })
            .await?;
        store.assign(pool.id, account.id).await?;
    }

    // The pooler, routing with the custom strategy.
    let sealing_key = SealingKey::generate(1);
    let hasher = KeyHasher::from_sealing_key(&sealing_key);
    let sync = ConfigSync::load(store, SecretSealer::new(vec![sealing_key], 1)?).await?;
    let strategy: Arc<dyn RoutingStrategy> = Arc::new(PrimaryFirst);
    let pooler = Pooler::builder(sync.snapshot(), hasher)
        .credentials(sync.credentials())
        .strategy(Arc::clone(&strategy))
        .build();

    // Quota evidence, as upstream answers would have reported it: used percent per account.
    let now = SystemTime::now();
    let snapshot = pooler.snapshot().load();
    let accounts = snapshot.pool_accounts(pool.id);
    for (account, used) in accounts.iter().zip([10u32, 70, 5, 40]) {
        let mut headers = HeaderMap::new();
        headers.insert("x-codex-primary-used-percent", HeaderValue::from(used));
        headers.insert("x-codex-primary-window-minutes", HeaderValue::from(300));
        pooler.live().observe_headers(account.id, &headers, now);
    }

    // The order the pooler's strategy would choose for one request.
    let mut candidates: Vec<Candidate> = accounts
        .iter()
        .map(|account| Candidate {
            quota: pooler.live().quota_view(account.id, now),
            ..Candidate::new(Arc::clone(account))
        })
        .collect();
    let facts = RequestFacts {
        model: Some("gpt-5".into()),
        continuity_key: Some("session-id:example".into()),
        ..RequestFacts::default()
    };
    let input = StrategyInput {
        facts: &facts,
        pool: pool.id,
        key: KeyId(0),
        seed: 7,
        now,
    };
    strategy.order(&input, &mut candidates);
    println!("{} would try, in order:", strategy.name());
    for c in &candidates {
        println!(
            "  {:<10} {:>5.1}% left",
            c.account.label,
            c.quota.remaining_percent()
        );
    }
    Ok(())
}
