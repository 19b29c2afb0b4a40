use super::*;
use crate::clock::from_unix_seconds;
use crate::model::{Assignment, Pool, PoolStatus};
use crate::quota::{Credits, EvidenceSource, QuotaWindow, WindowSlot};
use crate::store::StoreState;

fn snapshot() -> Snapshot {
    let pool = |id, slug: &str| Pool {
        id: PoolId(id),
        slug: slug.to_owned(),
        status: PoolStatus::Active,
        strategy: None,
        v1_enabled: true,
        waits: Default::default(),
    };
    Snapshot::build(StoreState {
        version: 1,
        pools: vec![pool(10, "team"), pool(11, "other")],
        accounts: vec![
            UpstreamAccount::new(AccountId(2), "two"),
            UpstreamAccount::new(AccountId(1), "one"),
        ],
        assignments: vec![
            Assignment {
                pool: PoolId(10),
                account: AccountId(1),
            },
            Assignment {
                pool: PoolId(11),
                account: AccountId(2),
            },
            Assignment {
                pool: PoolId(10),
                account: AccountId(2),
            },
        ],
        keys: Vec::new(),
    })
}

fn evidence(now: SystemTime) -> AccountEvidence {
    let observed = now - std::time::Duration::from_secs(1_200);
    AccountEvidence {
        account: AccountId(1),
        windows: vec![
            Evidence::new(
                QuotaWindow {
                    slot: WindowSlot::Primary,
                    used_percent: 100.0,
                    window_minutes: Some(300),
                    resets_at: Some(now + std::time::Duration::from_secs(600)),
                    observed_at: observed,
                },
                EvidenceSource::ErrorBody,
                observed,
            ),
            Evidence::new(
                QuotaWindow {
                    slot: WindowSlot::Secondary,
                    used_percent: 30.0,
                    window_minutes: Some(10_080),
                    resets_at: None,
                    observed_at: observed,
                },
                EvidenceSource::ResponseHeaders,
                observed,
            ),
        ],
        exhausted_until: Some(Evidence::new(
            now + std::time::Duration::from_secs(900),
            EvidenceSource::ErrorBody,
            observed,
        )),
        credits: Some(Evidence::new(
            Credits {
                has_credits: true,
                unlimited: false,
                balance: Some("5".into()),
            },
            EvidenceSource::ResponseHeaders,
            observed,
        )),
    }
}

#[test]
fn stored_and_live_reports_agree_and_keep_ages() {
    let now = from_unix_seconds(1_800_000_000);
    let snapshot = snapshot();
    let stored = stored_quota_report(&snapshot, &[evidence(now)], ReportScope::default(), now);
    let live = LiveState::new();
    live.restore_quota(&[evidence(now)]);
    assert_eq!(
        live_quota_report(&snapshot, &live, ReportScope::default(), now),
        stored
    );
    assert_eq!(stored.len(), 2);
    let one = &stored[0];
    assert_eq!((one.account_id, one.label.as_str()), (1, "one"));
    assert_eq!(one.pools, ["team"]);
    assert!(one.has_evidence);
    assert_eq!(one.exhausted_until, Some(1_800_000_900));
    assert_eq!(one.windows.len(), 2);
    let short = &one.windows[0];
    assert_eq!(
        (short.kind, short.slot, short.source),
        ("short", "primary", "error_body")
    );
    assert_eq!((short.age_seconds, short.stale), (1_200, false));
    let weekly = &one.windows[1];
    assert_eq!(
        (weekly.kind, weekly.resets_at, weekly.stale),
        ("weekly", None, true)
    );
    let limit = one.usage_limit.as_ref().unwrap();
    assert_eq!(
        (limit.until, limit.source, limit.age_seconds),
        (1_800_000_900, "error_body", 1_200)
    );
    let credits = one.credits.as_ref().unwrap();
    assert!(credits.has_credits && credits.stale);

    let two = &stored[1];
    assert!(!two.has_evidence && two.windows.is_empty() && two.exhausted_until.is_none());
    assert_eq!(two.pools, ["other", "team"]);

    let json = serde_json::to_value(one).unwrap();
    assert_eq!(json["windows"][0]["source"], "error_body");
    assert_eq!(json["usage_limit"]["until"], 1_800_000_900);
}

#[test]
fn scopes_pick_a_pool_or_an_account() {
    let now = from_unix_seconds(1_800_000_000);
    let snapshot = snapshot();
    let ids = |scope| -> Vec<i64> {
        stored_quota_report(&snapshot, &[], scope, now)
            .iter()
            .map(|r| r.account_id)
            .collect()
    };
    assert_eq!(
        ids(ReportScope {
            pool: Some(PoolId(11)),
            account: None
        }),
        [2]
    );
    assert_eq!(
        ids(ReportScope {
            pool: None,
            account: Some(AccountId(1))
        }),
        [1]
    );
    assert_eq!(
        ids(ReportScope {
            pool: Some(PoolId(11)),
            account: Some(AccountId(1))
        }),
        Vec::<i64>::new()
    );
    assert_eq!(ids(ReportScope::default()), [1, 2]);
}
