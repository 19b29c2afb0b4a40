//! Client text that would become metadata is bounded: a model name of no model shape is refused
//! before it reaches a log line or a request record.

use codex_pooler_core::store::PoolStore;
use codex_pooler_server::store::SqlStore;

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_ten_kilobyte_model_is_refused_and_kept_nowhere() {
    let pool = TestPool::new(&["acct-a"], |_, _| {});
    let gateway = Gateway::start(&pool.data, &["--usage-probe-interval-secs", "0"]);
    let marker = format!("MODELTEXT{}", "x".repeat(10 * 1024));
    let body = responses_body(&marker, "hi");
    let reply = post_responses(
        &gateway.url(),
        "/backend-api/codex/responses",
        &pool.key,
        &body,
    )
    .await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    let error = &reply.json()["error"];
    assert_eq!(error["param"], "model");
    assert!(
        !reply.body.contains("MODELTEXT"),
        "the answer echoes the model"
    );
    gateway.stop();

    assert!(
        pool.fake
            .seen()
            .iter()
            .all(|r| r.path != "/backend-api/codex/responses"),
        "the refused turn went upstream"
    );
    let log = std::fs::read_to_string(pool.data.with_extension("server.log")).unwrap();
    assert!(
        log.contains("DEBUG"),
        "the log is empty: nothing was searched"
    );
    assert!(!log.contains("MODELTEXT"), "the model reached the log");
    let url = format!("sqlite://{}", pool.data.join("codex-pooler.db").display());
    let store = SqlStore::connect(&url).await.unwrap();
    let records = store.recent_records(100).await.unwrap();
    assert!(records.iter().any(|r| r.status == 400), "{records:?}");
    assert!(records.iter().all(|r| r.model.is_none()), "{records:?}");
    store.close().await.unwrap();
    let db = std::fs::read(pool.data.join("codex-pooler.db")).unwrap();
    let wal = std::fs::read(pool.data.join("codex-pooler.db-wal")).unwrap_or_default();
    for bytes in [db, wal] {
        assert!(
            !bytes.windows(9).any(|w| w == b"MODELTEXT"),
            "the model reached the database files"
        );
    }
}
