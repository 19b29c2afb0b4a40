use std::sync::Arc;
use std::time::{Duration, SystemTime};

use codex_pooler_core::live::LiveState;
use codex_pooler_core::model::AccountId;
use codex_pooler_core::quota::UsageLimit;
use codex_pooler_core::store::testing::{CountCalls, FailNext, HookedStore, StoreCall};
use codex_pooler_core::store::{MemoryStore, NewAccount, PoolStore};

use super::{EvidenceWriter, EvidenceWriterConfig};

type Store = HookedStore<MemoryStore, (CountCalls, FailNext)>;

/// A store holding `n` accounts (ids 1..=n), calls counted from here on.
async fn store_with_accounts(n: usize) -> Arc<Store> {
    let memory = MemoryStore::new();
    for i in 0..n {
        memory
            .create_account(NewAccount {
                label: format!("a{i}"),
                chatgpt_account_id: format!("acct-{i}"),
                user_id: None,
                email: None,
                plan_type: None,
                base_url: None,
                models: Vec::new(),
                secrets: Vec::new(),
            })
            .await
            .unwrap();
    }
    Arc::new(HookedStore::new(
        memory,
        (
            CountCalls::new(),
            FailNext::new(StoreCall::SaveQuotaEvidence, "disk full"),
        ),
    ))
}

/// What a request does with a 429 `usage_limit_reached`: tells the live book, nothing else.
fn limit_hit(live: &LiveState, account: i64, now: SystemTime) {
    let resets_at = Some(now + Duration::from_secs(3_600));
    live.observe_usage_limit(AccountId(account), UsageLimit { resets_at }, now);
}

fn writer(store: &Arc<Store>, live: &Arc<LiveState>, every: Duration) -> Arc<EvidenceWriter> {
    let config = EvidenceWriterConfig {
        flush_interval: every,
    };
    Arc::new(EvidenceWriter::new(store.clone(), Arc::clone(live), config))
}

#[tokio::test]
async fn observations_never_call_the_store_and_one_flush_writes_them_all() {
    let store = store_with_accounts(40).await;
    let live = Arc::new(LiveState::new());
    let writer = writer(&store, &live, Duration::from_secs(5));
    let now = SystemTime::now();
    for round in 0..3 {
        for account in 1..=40 {
            limit_hit(&live, account, now + Duration::from_secs(round));
        }
    }
    assert_eq!(
        store.hook().0.total(),
        0,
        "observing evidence called the store"
    );

    assert_eq!(writer.flush().await.unwrap(), 40);
    assert_eq!(store.hook().0.count(StoreCall::SaveQuotaEvidence), 1);
    let saved = store.inner().load_quota_evidence().await.unwrap();
    assert_eq!(saved.len(), 40);
    assert!(saved.iter().all(|e| e.exhausted_until.is_some()));

    // Nothing new: no store call at all.
    assert_eq!(writer.flush().await.unwrap(), 0);
    assert_eq!(store.hook().0.total(), 1);
    // One account changes: only it is written.
    limit_hit(&live, 7, now + Duration::from_secs(10));
    assert_eq!(writer.flush().await.unwrap(), 1);
}

#[tokio::test]
async fn a_failed_flush_is_retried_with_newer_changes() {
    let store = store_with_accounts(3).await;
    let live = Arc::new(LiveState::new());
    let writer = writer(&store, &live, Duration::from_secs(5));
    let now = SystemTime::now();
    limit_hit(&live, 1, now);
    limit_hit(&live, 2, now);
    store.hook().1.fail_next(1);
    let err = writer.flush().await.unwrap_err();
    assert_eq!(err.to_string(), "storage backend error: disk full");
    assert!(
        store
            .inner()
            .load_quota_evidence()
            .await
            .unwrap()
            .is_empty()
    );
    limit_hit(&live, 3, now);
    assert_eq!(
        writer.flush().await.unwrap(),
        3,
        "the failed accounts and the new one"
    );
    assert_eq!(store.inner().load_quota_evidence().await.unwrap().len(), 3);
}

#[tokio::test]
async fn restored_evidence_is_not_written_back() {
    let store = store_with_accounts(1).await;
    let before = Arc::new(LiveState::new());
    limit_hit(&before, 1, SystemTime::now());
    let saved = before.quota_changes_since(0).accounts;
    let live = Arc::new(LiveState::new());
    live.restore_quota(&saved);
    let writer = writer(&store, &live, Duration::from_secs(5));
    assert_eq!(writer.flush().await.unwrap(), 0);
    assert_eq!(store.hook().0.total(), 0);
}

/// The background task flushes on its interval, not per observation (paused time: the runtime
/// jumps to each timer).
#[tokio::test(start_paused = true)]
async fn the_background_task_flushes_once_per_interval() {
    let store = store_with_accounts(2).await;
    let live = Arc::new(LiveState::new());
    let writer = writer(&store, &live, Duration::from_secs(5));
    let task = tokio::spawn(Arc::clone(&writer).run());
    let now = SystemTime::now();
    limit_hit(&live, 1, now);
    limit_hit(&live, 2, now);
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(store.hook().0.count(StoreCall::SaveQuotaEvidence), 0);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(store.hook().0.count(StoreCall::SaveQuotaEvidence), 1);
    assert_eq!(store.inner().load_quota_evidence().await.unwrap().len(), 2);
    // Quiet intervals make no call.
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert_eq!(store.hook().0.count(StoreCall::SaveQuotaEvidence), 1);
    task.abort();
}
