use super::*;
use crate::clock::from_unix_seconds;
use crate::quota::account::UNTIMED_LIMIT_COOLDOWN;
use crate::quota::{Evidence, WindowKind, WindowSlot};

fn window(slot: WindowSlot, used: f64, reset: Option<i64>, now: SystemTime) -> QuotaWindow {
    QuotaWindow {
        slot,
        used_percent: used,
        window_minutes: Some(300),
        resets_at: reset.map(from_unix_seconds),
        observed_at: now,
    }
}

#[test]
fn full_window_blocks_until_reset() {
    let now = from_unix_seconds(1_000);
    let book = QuotaBook::new();
    let a = AccountId(1);
    book.observe_windows(a, &[window(WindowSlot::Primary, 100.0, Some(2_000), now)]);
    assert_eq!(book.exhausted_until(a, now), Some(from_unix_seconds(2_000)));
    assert_eq!(book.exhausted_until(a, from_unix_seconds(2_000)), None);
    // A newer, non-full reading replaces it.
    book.observe_windows(a, &[window(WindowSlot::Primary, 10.0, Some(2_000), now)]);
    assert_eq!(book.exhausted_until(a, now), None);
    assert_eq!(
        book.get(a).unwrap().windows()[0].source,
        EvidenceSource::ResponseHeaders
    );
}

#[test]
fn limit_without_reset_uses_cooldown() {
    let now = from_unix_seconds(1_000);
    let book = QuotaBook::new();
    let a = AccountId(2);
    book.observe_limit(a, UsageLimit { resets_at: None }, now);
    assert_eq!(
        book.exhausted_until(a, now),
        Some(now + UNTIMED_LIMIT_COOLDOWN)
    );
    assert_eq!(book.exhausted_until(AccountId(3), now), None);
    assert_eq!(book.view(AccountId(3), now), QuotaView::unknown());
}

#[test]
fn latest_blocking_reset_wins() {
    let now = from_unix_seconds(1_000);
    let book = QuotaBook::new();
    let a = AccountId(4);
    let mut weekly = window(WindowSlot::Secondary, 100.0, Some(9_000), now);
    weekly.window_minutes = Some(10_080);
    book.observe(
        a,
        EvidenceSource::StreamEvent,
        &[window(WindowSlot::Primary, 100.0, Some(1_500), now), weekly],
        now,
    );
    book.observe_limit(
        a,
        UsageLimit {
            resets_at: Some(from_unix_seconds(1_200)),
        },
        now,
    );
    let q = book.get(a).unwrap();
    assert_eq!(q.exhausted_until(now), Some(from_unix_seconds(9_000)));
    assert_eq!(q.used_percent(now), 100.0);
    assert_eq!(q.view(now), book.view(a, now));
}

#[test]
fn freshness_is_configurable() {
    let now = from_unix_seconds(1_000);
    let book = QuotaBook::with_freshness(Duration::from_secs(30));
    assert_eq!(book.freshness(), Duration::from_secs(30));
    let a = AccountId(5);
    book.observe(
        a,
        EvidenceSource::UsageApi,
        &[window(WindowSlot::Primary, 20.0, Some(5_000), now)],
        now,
    );
    assert!(book.view(a, now + Duration::from_secs(30)).known);
    assert!(!book.view(a, now + Duration::from_secs(31)).known);
    // The freshness travels with the account's copy.
    assert_eq!(book.get(a).unwrap().freshness(), Duration::from_secs(30));
    book.forget(a);
    assert!(book.get(a).is_none());
}

#[test]
fn headers_carry_windows_credits_and_named_limits() {
    let now = from_unix_seconds(1_800_000_000);
    let mut h = HeaderMap::new();
    for (k, v) in [
        ("x-codex-primary-used-percent", "12.0"),
        ("x-codex-primary-window-minutes", "300"),
        ("x-codex-primary-reset-at", "1800000600"),
        ("x-codex-secondary-used-percent", "100.0"),
        ("x-codex-secondary-window-minutes", "10080"),
        ("x-codex-secondary-reset-at", "1800500000"),
        ("x-codex-credits-has-credits", "true"),
        ("x-codex-credits-unlimited", "false"),
        ("x-codex-credits-balance", "40"),
        ("x-codex-bengalfox-primary-used-percent", "100"),
        ("x-codex-bengalfox-limit-name", "gpt-5.2-codex-sonic"),
    ] {
        h.insert(k, v.parse().unwrap());
    }
    let book = QuotaBook::new();
    let a = AccountId(6);
    book.observe_headers(a, &h, now);
    let view = book.view(a, now);
    // The weekly window is full, but credits keep the account working.
    assert!(!view.is_exhausted() && view.credit_backed);
    assert_eq!(view.window(WindowKind::Short).unwrap().used_percent, 12.0);
    let q = book.get(a).unwrap();
    assert_eq!(q.credits().unwrap().value.balance_value(), Some(40.0));
    assert_eq!(q.named_limits()[0].value.id, "codex_bengalfox");
    // Headers without quota evidence create nothing.
    book.observe_headers(AccountId(7), &HeaderMap::new(), now);
    assert!(book.get(AccountId(7)).is_none());
}

#[test]
fn usage_snapshots_and_events_merge() {
    let now = from_unix_seconds(1_800_000_000);
    let book = QuotaBook::new();
    let a = AccountId(8);
    let body = br#"{"plan_type":"plus","rate_limit":{"allowed":true,"limit_reached":false,
        "primary_window":{"used_percent":30,"limit_window_seconds":18000,"reset_at":1800001000}},
        "credits":{"has_credits":false,"unlimited":false,"balance":"0"}}"#;
    book.observe_usage(a, &crate::quota::parse_usage_payload(body, now).unwrap());
    assert_eq!(book.view(a, now).max_used_percent(), 30.0);
    // A stream event in the same second outranks the probe.
    book.observe(
        a,
        EvidenceSource::StreamEvent,
        &[window(WindowSlot::Primary, 45.0, Some(1_800_001_000), now)],
        now,
    );
    assert_eq!(book.view(a, now).max_used_percent(), 45.0);
    // A probe in the same second does not undo it.
    book.observe_usage(a, &crate::quota::parse_usage_payload(body, now).unwrap());
    assert_eq!(book.view(a, now).max_used_percent(), 45.0);
    assert_eq!(book.get(a).unwrap().plan_type(), Some("plus"));
    book.observe_credits(a, EvidenceSource::StreamEvent, Credits::default(), now);
    book.observe_named_limits(a, EvidenceSource::StreamEvent, &[], now);
}

#[test]
fn changes_since_reports_each_changed_account_once_and_restore_keeps_ages() {
    let t0 = from_unix_seconds(1_000);
    let book = QuotaBook::new();
    let start = book.journal_end();
    let (a, b) = (AccountId(1), AccountId(2));
    book.observe_windows(a, &[window(WindowSlot::Primary, 40.0, Some(9_000), t0)]);
    book.observe_windows(a, &[window(WindowSlot::Primary, 50.0, Some(9_000), t0)]);
    book.observe_limit(
        b,
        UsageLimit {
            resets_at: Some(from_unix_seconds(5_000)),
        },
        t0,
    );
    let changes = book.changes_since(start);
    assert_eq!(changes.end, book.journal_end());
    let ids: Vec<AccountId> = changes.accounts.iter().map(|e| e.account).collect();
    assert_eq!(ids, [a, b]);
    assert_eq!(changes.accounts[0].windows[0].value.used_percent, 50.0);
    assert_eq!(
        changes.accounts[1].exhausted_until.map(|l| l.value),
        Some(from_unix_seconds(5_000))
    );
    // Nothing changed since: nothing to write.
    assert!(book.changes_since(changes.end).accounts.is_empty());
    // A forgotten account comes back empty (its stored rows are dropped).
    book.forget(a);
    let forgotten = book.changes_since(changes.end);
    assert!(forgotten.accounts[0].is_empty() && forgotten.accounts[0].account == a);
    // A reader that fell off the journal gets every account.
    assert_eq!(book.changes_since(u64::MAX).accounts.len(), 1);

    // Restored much later, b is still out until its reset, and a stale window stays stale.
    let later = from_unix_seconds(4_000);
    let fresh = QuotaBook::new();
    let stale = AccountEvidence {
        account: a,
        windows: vec![Evidence::new(
            window(WindowSlot::Primary, 50.0, Some(9_000), t0),
            EvidenceSource::StreamEvent,
            t0,
        )],
        exhausted_until: None,
        credits: None,
    };
    fresh.restore(&[
        stale,
        changes.accounts[1].clone(),
        AccountEvidence::empty(AccountId(3)),
    ]);
    assert_eq!(
        fresh.exhausted_until(b, later),
        Some(from_unix_seconds(5_000))
    );
    let restored = fresh.get(a).unwrap();
    assert_eq!(restored.windows()[0].observed_at, t0);
    assert_eq!(restored.windows()[0].source, EvidenceSource::StreamEvent);
    assert!(!restored.counts(&restored.windows()[0], later));
    assert!(!fresh.view(a, later).known);
    assert!(fresh.get(AccountId(3)).is_none());
    assert_eq!(
        fresh.changes_since(0).accounts.len(),
        2,
        "restores are journalled"
    );
}
