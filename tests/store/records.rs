//! Request-record queries, daily usage rollups and retention on both SQL backends.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, SystemTime};

use codex_pooler_core::model::{AccountId, KeyId, PoolId};
use codex_pooler_core::record::{RequestRecord, TokenUsage};
use codex_pooler_core::request::RouteClass;
use codex_pooler_core::store::PoolStore;
use codex_pooler_server::store::{
    PageRequest, PoolScope, RecordFilter, RecordQueryError, RecordRow, RetentionTarget, SqlStore,
    StatusFilter, UsageCounts, UsageGrouping, UsageQuery, UtcDay,
};
use codex_pooler_test_kit::store_conformance::at;

/// 2026-12-03T00:00:00Z.
const BASE_MS: u64 = 1_796_256_000_000;

/// Record `i` of the sample: pools, keys, accounts, models, statuses and routes vary with `i`.
fn sample(i: u64) -> RequestRecord {
    let route = [
        RouteClass::Responses,
        RouteClass::Compact,
        RouteClass::Models,
    ][(i % 3) as usize];
    let model = match i % 4 {
        0 => None,
        1 => Some("gpt-5.4".to_owned()),
        _ => Some("gpt-5.5".to_owned()),
    };
    // Two records share each millisecond, so ties are broken by id.
    let mut r = RequestRecord::new(
        at(BASE_MS + (i / 2) * 3_600_000),
        PoolId(1 + (i % 2) as i64),
        KeyId(10 + (i % 3) as i64),
        route,
        model,
        i.is_multiple_of(2),
    );
    r.account = (!i.is_multiple_of(5)).then(|| AccountId(100 + (i % 2) as i64));
    r.status = [200, 200, 429, 502, 400, 200][(i % 6) as usize];
    r.attempts = 1;
    r.latency_ms = i * 10;
    r.usage = (i % 3 != 2).then_some(TokenUsage {
        input_tokens: 100 + i,
        cached_input_tokens: i,
        output_tokens: 10 + i,
        reasoning_tokens: i % 7,
        total_tokens: 110 + 2 * i,
    });
    r
}

/// Inserts `records` in batches of `batch` and returns them with their ids (ids are given in
/// insertion order, read back from the store).
async fn insert(store: &SqlStore, records: &[RequestRecord], batch: usize) -> Vec<RecordRow> {
    for chunk in records.chunks(batch) {
        store.insert_records(chunk).await.expect("insert");
    }
    all(store, &RecordFilter::default()).await
}

/// Every record `filter` matches, paging through with the largest page.
async fn all(store: &SqlStore, filter: &RecordFilter) -> Vec<RecordRow> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .records(
                filter,
                &PageRequest {
                    limit: Some(500),
                    cursor,
                },
            )
            .await
            .expect("page");
        out.extend(page.records);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return out,
        }
    }
}

fn ids(rows: &[RecordRow]) -> Vec<i64> {
    rows.iter().map(|r| r.id).collect()
}

/// Rows newest first: by arrival time, then id, both descending.
fn newest_first(rows: &mut [RecordRow]) {
    rows.sort_by_key(|r| std::cmp::Reverse((r.received_at, r.id)));
}

pub(crate) async fn every_filter(store: &SqlStore) {
    let records: Vec<RequestRecord> = (0..40).map(sample).collect();
    let mut stored = insert(store, &records, 7).await;
    assert_eq!(stored.len(), 40);
    let mut expected_order = stored.clone();
    newest_first(&mut expected_order);
    assert_eq!(
        ids(&stored),
        ids(&expected_order),
        "newest first, ties by id"
    );
    newest_first(&mut stored);

    let since = at(BASE_MS + 5 * 3_600_000);
    let until = at(BASE_MS + 12 * 3_600_000);
    type Check = (RecordFilter, Box<dyn Fn(&RecordRow) -> bool>);
    let checks: Vec<Check> = vec![
        (
            RecordFilter {
                pool: Some(PoolId(2)),
                ..RecordFilter::default()
            },
            Box::new(|r| r.pool_id == PoolId(2)),
        ),
        (
            RecordFilter {
                scope: PoolScope::Pools(vec![PoolId(1)]),
                ..RecordFilter::default()
            },
            Box::new(|r| r.pool_id == PoolId(1)),
        ),
        (
            RecordFilter {
                scope: PoolScope::Pools(vec![PoolId(1)]),
                pool: Some(PoolId(2)),
                ..RecordFilter::default()
            },
            Box::new(|_| false),
        ),
        (
            RecordFilter {
                scope: PoolScope::Pools(Vec::new()),
                ..RecordFilter::default()
            },
            Box::new(|_| false),
        ),
        (
            RecordFilter {
                key: Some(KeyId(11)),
                ..RecordFilter::default()
            },
            Box::new(|r| r.key_id == KeyId(11)),
        ),
        (
            RecordFilter {
                account: Some(AccountId(101)),
                ..RecordFilter::default()
            },
            Box::new(|r| r.account_id == Some(AccountId(101))),
        ),
        (
            RecordFilter {
                model: Some("gpt-5.4".to_owned()),
                ..RecordFilter::default()
            },
            Box::new(|r| r.model.as_deref() == Some("gpt-5.4")),
        ),
        (
            RecordFilter {
                status: Some(StatusFilter::Exact(429)),
                ..RecordFilter::default()
            },
            Box::new(|r| r.status == 429),
        ),
        (
            RecordFilter {
                status: Some(StatusFilter::Class(4)),
                ..RecordFilter::default()
            },
            Box::new(|r| (400..500).contains(&r.status)),
        ),
        (
            RecordFilter {
                route: Some(RouteClass::Compact),
                ..RecordFilter::default()
            },
            Box::new(|r| r.route == RouteClass::Compact),
        ),
        (
            RecordFilter {
                since: Some(since),
                until: Some(until),
                ..RecordFilter::default()
            },
            Box::new(move |r| r.received_at >= since && r.received_at < until),
        ),
        (
            RecordFilter {
                pool: Some(PoolId(1)),
                key: Some(KeyId(10)),
                status: Some(StatusFilter::Class(2)),
                since: Some(since),
                ..RecordFilter::default()
            },
            Box::new(move |r| {
                r.pool_id == PoolId(1)
                    && r.key_id == KeyId(10)
                    && (200..300).contains(&r.status)
                    && r.received_at >= since
            }),
        ),
    ];
    for (filter, keep) in checks {
        let expected: Vec<i64> = stored.iter().filter(|r| keep(r)).map(|r| r.id).collect();
        let got = ids(&all(store, &filter).await);
        assert_eq!(got, expected, "{filter:?}");
    }
    // Sanity: the checks above are not all vacuous.
    assert!(stored.iter().any(|r| r.status == 429));

    // A single record by id, scoped.
    let one = &stored[3];
    assert_eq!(
        store
            .record(one.id, &PoolScope::All)
            .await
            .expect("by id")
            .as_ref(),
        Some(one)
    );
    let other_pool = PoolId(3 - one.pool_id.0);
    assert_eq!(
        store
            .record(one.id, &PoolScope::Pools(vec![other_pool]))
            .await
            .expect("by id"),
        None
    );
    assert_eq!(
        store
            .record(one.id, &PoolScope::Pools(vec![one.pool_id]))
            .await
            .expect("by id")
            .as_ref(),
        Some(one)
    );
    assert_eq!(
        store.record(999_999, &PoolScope::All).await.expect("by id"),
        None
    );
}

pub(crate) async fn pages_while_records_arrive(store: &SqlStore) {
    let first: Vec<RequestRecord> = (0..25).map(sample).collect();
    let before = insert(store, &first, 25).await;
    let mut seen = Vec::new();
    let mut cursor = None;
    let mut arrivals = 100;
    loop {
        let page = store
            .records(
                &RecordFilter::default(),
                &PageRequest {
                    limit: Some(4),
                    cursor: cursor.clone(),
                },
            )
            .await
            .expect("page");
        assert!(page.records.len() <= 4);
        seen.extend(page.records);
        // New records arrive between pages: newer ones, and one that arrived earlier but
        // finished late (a long stream) and so lands behind the cursor.
        store
            .insert_records(&[sample(arrivals), sample(arrivals % 25)])
            .await
            .expect("insert");
        arrivals += 1;
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let seen_ids = ids(&seen);
    let unique: HashSet<i64> = seen_ids.iter().copied().collect();
    assert_eq!(
        unique.len(),
        seen_ids.len(),
        "no record twice: {seen_ids:?}"
    );
    for r in &before {
        assert!(unique.contains(&r.id), "record {} was skipped", r.id);
    }
    let mut sorted = seen.clone();
    newest_first(&mut sorted);
    assert_eq!(ids(&sorted), seen_ids, "pages continue in order");
}

pub(crate) async fn bad_pages(store: &SqlStore) {
    let page = |limit, cursor: Option<&str>| PageRequest {
        limit,
        cursor: cursor.map(str::to_owned),
    };
    let filter = RecordFilter::default();
    for bad in ["nope", "cjI", ""] {
        let err = store
            .records(&filter, &page(None, Some(bad)))
            .await
            .expect_err("bad cursor");
        assert!(matches!(err, RecordQueryError::BadCursor), "{err:?}");
        assert_eq!(
            err.to_string(),
            "bad cursor: pass the next_cursor of a previous page unchanged"
        );
    }
    for limit in [0, 501] {
        let err = store
            .records(&filter, &page(Some(limit), None))
            .await
            .expect_err("bad size");
        assert_eq!(
            err.to_string(),
            format!("page size {limit} is out of range: use 1 to 500")
        );
    }
    store
        .insert_records(&(0..60).map(sample).collect::<Vec<_>>())
        .await
        .expect("insert");
    let default = store
        .records(&filter, &page(None, None))
        .await
        .expect("page");
    assert_eq!(default.records.len(), 50, "default page size");
    assert!(default.next_cursor.is_some());
    let rest = store
        .records(&filter, &page(Some(500), default.next_cursor.as_deref()))
        .await
        .expect("page");
    assert_eq!(rest.records.len(), 10);
    assert_eq!(rest.next_cursor, None);
}

/// Usage rows by (day, pool, key).
type Rows = BTreeMap<(UtcDay, i64, Option<i64>), UsageCounts>;

/// What the rollups should say, added up from `records` in the test.
fn expected_usage(
    records: &[RequestRecord],
    grouping: UsageGrouping,
    keep: impl Fn(&RequestRecord) -> bool,
) -> (Rows, UsageCounts) {
    let mut rows = BTreeMap::new();
    let mut total = UsageCounts::default();
    for r in records.iter().filter(|r| keep(r)) {
        let key = match grouping {
            UsageGrouping::Key => Some(r.key.0),
            UsageGrouping::Pool => None,
        };
        let mut c = UsageCounts {
            requests: 1,
            errors: u64::from(r.status >= 400),
            ..UsageCounts::default()
        };
        if let Some(u) = r.usage {
            c.input_tokens = u.input_tokens;
            c.cached_input_tokens = u.cached_input_tokens;
            c.output_tokens = u.output_tokens;
            c.reasoning_tokens = u.reasoning_tokens;
            c.total_tokens = u.total_tokens;
        }
        rows.entry((UtcDay::of(r.received_at), r.pool.0, key))
            .or_insert_with(UsageCounts::default)
            .add(&c);
        total.add(&c);
    }
    (rows, total)
}

async fn check_usage(
    store: &SqlStore,
    records: &[RequestRecord],
    query: UsageQuery,
    keep: impl Fn(&RequestRecord) -> bool,
) {
    let report = store.usage(&query).await.expect("usage");
    let (rows, total) = expected_usage(records, query.grouping, |r| {
        let day = UtcDay::of(r.received_at);
        day >= query.from && day <= query.to && keep(r)
    });
    let got: BTreeMap<_, _> = report
        .rows
        .iter()
        .map(|r| ((r.day, r.pool_id.0, r.key_id.map(|k| k.0)), r.counts))
        .collect();
    assert_eq!(got.len(), report.rows.len(), "one row per group");
    assert_eq!(got, rows, "{query:?}");
    assert_eq!(report.total, total, "{query:?}");
    let days: Vec<UtcDay> = report.rows.iter().map(|r| r.day).collect();
    assert!(days.windows(2).all(|w| w[0] <= w[1]), "oldest day first");
}

pub(crate) async fn rollups_equal_records(store: &SqlStore) {
    // 150 records over four days (two an hour), written in uneven batches
    // so the same rollup row is added to across transactions.
    let records: Vec<RequestRecord> = (0..150).map(sample).collect();
    for chunk in records.chunks(11) {
        store.insert_records(chunk).await.expect("insert");
    }
    let first = UtcDay::of(at(BASE_MS));
    let last = UtcDay::of(at(BASE_MS + 74 * 3_600_000));
    assert_eq!(last.0 - first.0, 3);
    for grouping in [UsageGrouping::Key, UsageGrouping::Pool] {
        let query = |scope, pool, key, from, to| UsageQuery {
            scope,
            pool,
            key,
            from,
            to,
            grouping,
        };
        check_usage(
            store,
            &records,
            query(PoolScope::All, None, None, first, last),
            |_| true,
        )
        .await;
        check_usage(
            store,
            &records,
            query(PoolScope::All, None, None, first.minus(-1), first.minus(-2)),
            |_| true,
        )
        .await;
        check_usage(
            store,
            &records,
            query(PoolScope::All, Some(PoolId(2)), None, first, last),
            |r| r.pool == PoolId(2),
        )
        .await;
        check_usage(
            store,
            &records,
            query(PoolScope::All, None, Some(KeyId(12)), first, last),
            |r| r.key == KeyId(12),
        )
        .await;
        check_usage(
            store,
            &records,
            query(PoolScope::Pools(vec![PoolId(1)]), None, None, first, last),
            |r| r.pool == PoolId(1),
        )
        .await;
        check_usage(
            store,
            &records,
            query(PoolScope::Pools(Vec::new()), None, None, first, last),
            |_| false,
        )
        .await;
    }
    let report = store
        .usage(&UsageQuery {
            scope: PoolScope::All,
            pool: None,
            key: None,
            from: first,
            to: last,
            grouping: UsageGrouping::Pool,
        })
        .await
        .expect("usage");
    assert_eq!(report.total.requests, 150);
    assert_eq!(
        report.total.errors,
        records.iter().filter(|r| r.status >= 400).count() as u64
    );
}

pub(crate) async fn retention_prunes_old_records_and_keeps_rollups(store: &SqlStore) {
    let now = SystemTime::now();
    let old_at = now - Duration::from_secs(40 * 86_400);
    let whole_ms = |t: SystemTime| {
        at(t.duration_since(SystemTime::UNIX_EPOCH)
            .expect("after 1970")
            .as_millis() as u64)
    };
    let mut records = Vec::new();
    for i in 0..7 {
        let mut old = sample(i);
        old.received_at = whole_ms(old_at) + Duration::from_millis(i);
        records.push(old);
        let mut new = sample(i);
        new.received_at = whole_ms(now) - Duration::from_millis(i);
        records.push(new);
    }
    store.insert_records(&records).await.expect("insert");
    let cutoff = now - Duration::from_secs(30 * 86_400);
    let deleted = store
        .prune(RetentionTarget::REQUEST_RECORDS, cutoff, 3)
        .await
        .expect("prune");
    assert_eq!(deleted, 7, "the old records, in batches of 3");
    let left = all(store, &RecordFilter::default()).await;
    assert_eq!(left.len(), 7);
    assert!(
        left.iter().all(|r| r.received_at >= cutoff),
        "new records stay"
    );
    // Nothing more to prune.
    let again = store
        .prune(RetentionTarget::REQUEST_RECORDS, cutoff, 3)
        .await
        .expect("prune");
    assert_eq!(again, 0);
    // The rollups still count the pruned records.
    let report = store
        .usage(&UsageQuery {
            scope: PoolScope::All,
            pool: None,
            key: None,
            from: UtcDay::of(old_at).minus(1),
            to: UtcDay::of(now).minus(-1),
            grouping: UsageGrouping::Pool,
        })
        .await
        .expect("usage");
    assert_eq!(report.total.requests, 14);
    let old_day = UtcDay::of(old_at);
    assert!(
        report.rows.iter().any(|r| r.day == old_day),
        "old days stay"
    );
}

pub(crate) async fn concurrent_prunes_share_the_work(store: &SqlStore) {
    let old_at = SystemTime::now() - Duration::from_secs(40 * 86_400);
    let records: Vec<RequestRecord> = (0..60)
        .map(|i| {
            let mut r = sample(i);
            r.received_at = old_at;
            r
        })
        .collect();
    store.insert_records(&records).await.expect("insert");
    let cutoff = SystemTime::now() - Duration::from_secs(30 * 86_400);
    let (a, b, c) = tokio::join!(
        store.prune(RetentionTarget::REQUEST_RECORDS, cutoff, 4),
        store.prune(RetentionTarget::REQUEST_RECORDS, cutoff, 4),
        store.prune(RetentionTarget::REQUEST_RECORDS, cutoff, 4),
    );
    let (a, b, c) = (a.expect("a"), b.expect("b"), c.expect("c"));
    // A pass may stop early while another holds the last rows; a second pass finishes.
    let rest = store
        .prune(RetentionTarget::REQUEST_RECORDS, cutoff, 4)
        .await
        .expect("rest");
    assert_eq!(
        a + b + c + rest,
        60,
        "each row deleted once: {a} {b} {c} {rest}"
    );
    assert!(all(store, &RecordFilter::default()).await.is_empty());
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let db = crate::temp_sqlite::TempSqlite::new().await;
                    super::$name(&db.store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(db) = crate::temp_postgres::TempPostgres::new().await else {
                        return;
                    };
                    super::$name(&db.store).await;
                }
            )*
        }
    };
}

on_both_backends!(
    every_filter,
    pages_while_records_arrive,
    bad_pages,
    rollups_equal_records,
    retention_prunes_old_records_and_keeps_rollups,
    concurrent_prunes_share_the_work,
);
