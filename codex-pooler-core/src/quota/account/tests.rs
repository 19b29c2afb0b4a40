use std::time::Duration;

use super::*;
use crate::clock::from_unix_seconds;
use crate::quota::WindowSlot;

const T: i64 = 1_800_000_000;
const MIN: Duration = Duration::from_secs(60);

fn at(secs: i64) -> SystemTime {
    from_unix_seconds(secs)
}

fn win(
    slot: WindowSlot,
    minutes: u32,
    used: f64,
    reset: Option<i64>,
    seen: SystemTime,
) -> QuotaWindow {
    QuotaWindow {
        slot,
        used_percent: used,
        window_minutes: Some(minutes),
        resets_at: reset.map(from_unix_seconds),
        observed_at: seen,
    }
}

fn short(used: f64, seen: SystemTime) -> QuotaWindow {
    win(WindowSlot::Primary, 300, used, Some(T + 3_600), seen)
}

fn weekly(used: f64, seen: SystemTime) -> QuotaWindow {
    win(WindowSlot::Secondary, 10_080, used, Some(T + 86_400), seen)
}

fn used(q: &AccountQuota, kind: WindowKind) -> Option<f64> {
    q.window(kind).map(|w| w.value.used_percent)
}

#[test]
fn simultaneous_readings_go_by_precedence() {
    let mut q = AccountQuota::default();
    let t = at(T);
    let half = Duration::from_millis(500);
    q.record_windows(EvidenceSource::StreamEvent, &[short(50.0, t)], t);
    // A usage probe and headers in the same second do not override the stream event.
    q.record_windows(EvidenceSource::UsageApi, &[short(10.0, t + half)], t + half);
    q.record_windows(
        EvidenceSource::ResponseHeaders,
        &[short(70.0, t + half)],
        t + half,
    );
    assert_eq!(used(&q, WindowKind::Short), Some(50.0));
    assert_eq!(
        q.window(WindowKind::Short).unwrap().source,
        EvidenceSource::StreamEvent
    );
    // The other way round, the event replaces the headers.
    let mut q = AccountQuota::default();
    q.record_windows(EvidenceSource::ResponseHeaders, &[short(70.0, t)], t);
    q.record_windows(
        EvidenceSource::StreamEvent,
        &[short(60.0, t + half)],
        t + half,
    );
    assert_eq!(used(&q, WindowKind::Short), Some(60.0));
    // Equal precedence: the new reading wins.
    q.record_windows(
        EvidenceSource::StreamEvent,
        &[short(65.0, t + half)],
        t + half,
    );
    assert_eq!(used(&q, WindowKind::Short), Some(65.0));
}

#[test]
fn newer_evidence_replaces_older_whatever_the_source() {
    let mut q = AccountQuota::default();
    let t = at(T);
    q.record_windows(EvidenceSource::StreamEvent, &[short(90.0, t)], t);
    let later = t + Duration::from_secs(5);
    q.record_windows(EvidenceSource::UsageApi, &[short(20.0, later)], later);
    assert_eq!(used(&q, WindowKind::Short), Some(20.0));
    // An older high-precedence reading arriving late does not override the newer one.
    let stale = t - Duration::from_secs(5);
    q.record_windows(EvidenceSource::StreamEvent, &[short(99.0, stale)], later);
    assert_eq!(used(&q, WindowKind::Short), Some(20.0));
}

#[test]
fn reading_without_reset_ranks_lower() {
    let mut q = AccountQuota::default();
    let t = at(T);
    q.record_windows(EvidenceSource::ResponseHeaders, &[short(40.0, t)], t);
    let no_reset = win(WindowSlot::Primary, 300, 45.0, None, t);
    q.record_windows(EvidenceSource::StreamEvent, &[no_reset], t);
    assert_eq!(used(&q, WindowKind::Short), Some(40.0));
}

#[test]
fn evidence_expires_after_freshness() {
    let t = at(T);
    let mut q = AccountQuota::default();
    q.record_windows(EvidenceSource::ResponseHeaders, &[short(50.0, t)], t);
    assert!(q.view(t + 15 * MIN).known);
    let view = q.view(t + 15 * MIN + Duration::from_secs(1));
    assert!(!view.known && view.windows.is_empty());
    assert_eq!(q.used_percent(t + 16 * MIN), 0.0);

    let mut q = AccountQuota::new(MIN);
    assert_eq!(q.freshness(), MIN);
    q.record_windows(EvidenceSource::ResponseHeaders, &[short(50.0, t)], t);
    assert!(q.view(t + MIN).known);
    assert!(!q.view(t + 2 * MIN).known);
}

#[test]
fn exhaustion_with_reset_outlives_freshness() {
    let t = at(T);
    let mut q = AccountQuota::default();
    q.record_windows(EvidenceSource::ResponseHeaders, &[short(100.0, t)], t);
    let an_hour_less = at(T + 3_599);
    assert_eq!(q.exhausted_until(an_hour_less), Some(at(T + 3_600)));
    assert!(q.view(an_hour_less).is_exhausted());
    // The reset passing clears the window.
    assert_eq!(q.exhausted_until(at(T + 3_600)), None);
    let view = q.view(at(T + 3_600));
    assert!(!view.known && view.windows.is_empty());
    // ...and the next write forgets it.
    q.record_windows(
        EvidenceSource::ResponseHeaders,
        &[weekly(1.0, at(T + 3_600))],
        at(T + 3_600),
    );
    assert!(q.window(WindowKind::Short).is_none());
}

#[test]
fn full_window_without_reset_holds_only_while_fresh() {
    let t = at(T);
    let mut q = AccountQuota::default();
    let full = win(WindowSlot::Primary, 300, 100.0, None, t);
    q.record_windows(EvidenceSource::ResponseHeaders, &[full], t);
    assert_eq!(q.exhausted_until(t), Some(t + DEFAULT_FRESHNESS));
    assert_eq!(q.exhausted_until(t + 16 * MIN), None);
}

#[test]
fn passed_resets_are_ignored() {
    let t = at(T);
    let mut q = AccountQuota::default();
    q.record_windows(EvidenceSource::ResponseHeaders, &[short(30.0, t)], t);
    let old = win(WindowSlot::Primary, 300, 100.0, Some(T - 10), t);
    q.record_windows(EvidenceSource::StreamEvent, &[old], t);
    assert_eq!(used(&q, WindowKind::Short), Some(30.0));
    assert_eq!(q.exhausted_until(t), None);
}

#[test]
fn windows_are_keyed_by_kind_not_slot() {
    let t = at(T);
    let mut q = AccountQuota::default();
    // A Pro account: only a weekly window, sent in the primary slot.
    let weekly_in_primary = win(WindowSlot::Primary, 10_080, 100.0, Some(T + 86_400), t);
    q.record_windows(EvidenceSource::ResponseHeaders, &[weekly_in_primary], t);
    assert!(q.window(WindowKind::Short).is_none());
    assert_eq!(used(&q, WindowKind::Weekly), Some(100.0));
    assert_eq!(q.exhausted_until(t), Some(at(T + 86_400)));
    assert_eq!(q.view(t).windows[0].kind, WindowKind::Weekly);
    // A later reading of the weekly window in the secondary slot replaces it.
    let later = t + Duration::from_secs(10);
    q.record_windows(
        EvidenceSource::ResponseHeaders,
        &[short(10.0, later), weekly(20.0, later)],
        later,
    );
    assert_eq!(q.windows().len(), 2);
    assert_eq!(used(&q, WindowKind::Weekly), Some(20.0));
    assert_eq!(q.windows()[0].value.kind(), WindowKind::Short);
    // Two windows of one kind in one reading: the fuller one counts.
    let both_weekly = [
        win(WindowSlot::Primary, 10_080, 35.0, Some(T + 86_400), later),
        win(WindowSlot::Secondary, 10_080, 25.0, Some(T + 86_400), later),
    ];
    q.record_windows(EvidenceSource::ResponseHeaders, &both_weekly, later);
    assert_eq!(used(&q, WindowKind::Weekly), Some(35.0));
}

#[test]
fn credits_cover_full_long_windows_only() {
    let t = at(T);
    let has = Credits {
        has_credits: true,
        unlimited: false,
        balance: Some("5".into()),
    };
    let mut q = AccountQuota::default();
    q.record_windows(
        EvidenceSource::ResponseHeaders,
        &[short(10.0, t), weekly(100.0, t)],
        t,
    );
    assert_eq!(q.exhausted_until(t), Some(at(T + 86_400)));
    q.record_credits(EvidenceSource::ResponseHeaders, has.clone(), t);
    assert_eq!(q.exhausted_until(t), None);
    let view = q.view(t);
    assert!(view.credit_backed && view.known && !view.is_exhausted());
    // Stale credits stop covering; the weekly exhaustion (future reset) still holds.
    assert_eq!(q.exhausted_until(t + 16 * MIN), Some(at(T + 86_400)));
    // Credits do not cover the short window.
    q.record_windows(EvidenceSource::ResponseHeaders, &[short(100.0, t)], t);
    assert_eq!(q.exhausted_until(t), Some(at(T + 3_600)));
    // No credits: exhausted; unlimited: covered.
    let mut q = AccountQuota::default();
    q.record_windows(EvidenceSource::ResponseHeaders, &[weekly(100.0, t)], t);
    q.record_credits(EvidenceSource::ResponseHeaders, Credits::default(), t);
    assert!(q.view(t).is_exhausted());
    let later = t + Duration::from_secs(3);
    let unlimited = Credits {
        unlimited: true,
        ..Credits::default()
    };
    q.record_credits(EvidenceSource::UsageApi, unlimited, later);
    assert!(!q.view(later).is_exhausted());
    assert!(q.credits().unwrap().value.unlimited);
}

#[test]
fn simultaneous_credits_go_by_precedence() {
    let t = at(T);
    let mut q = AccountQuota::default();
    let yes = Credits {
        has_credits: true,
        ..Credits::default()
    };
    q.record_credits(EvidenceSource::ResponseHeaders, yes, t);
    q.record_credits(EvidenceSource::UsageApi, Credits::default(), t);
    assert!(q.credits().unwrap().value.has_credits);
}

#[test]
fn error_body_limits() {
    let t = at(T);
    let mut q = AccountQuota::default();
    let limit = UsageLimit {
        resets_at: Some(at(T + 600)),
    };
    q.record_limit(EvidenceSource::ErrorBody, limit, t);
    assert_eq!(q.exhausted_until(t), Some(at(T + 600)));
    let view = q.view(t);
    assert!(view.known && view.windows.is_empty());
    // A shorter limit does not shorten the one in force.
    let shorter = UsageLimit {
        resets_at: Some(at(T + 60)),
    };
    q.record_limit(EvidenceSource::ErrorBody, shorter, t);
    assert_eq!(q.limited_until(), Some(at(T + 600)));
    assert_eq!(q.exhausted_until(at(T + 600)), None);
    // Without a reset: the cooldown.
    let mut q = AccountQuota::default();
    q.record_limit(EvidenceSource::ErrorBody, UsageLimit { resets_at: None }, t);
    assert_eq!(q.exhausted_until(t), Some(t + UNTIMED_LIMIT_COOLDOWN));
    assert_eq!(q.limit().unwrap().source, EvidenceSource::ErrorBody);
}

fn snapshot(
    allowed: bool,
    limit_reached: bool,
    windows: Vec<QuotaWindow>,
    seen: SystemTime,
) -> UsageSnapshot {
    UsageSnapshot {
        plan_type: Some("pro".into()),
        allowed: Some(allowed),
        limit_reached: Some(limit_reached),
        windows,
        credits: None,
        named_limits: Vec::new(),
        observed_at: seen,
    }
}

#[test]
fn allowed_without_windows_is_routable_but_unknown() {
    let t = at(T);
    let mut q = AccountQuota::default();
    q.record_usage(&snapshot(true, false, Vec::new(), t));
    let view = q.view(t);
    assert!(!view.known && view.allowed_without_windows && !view.is_exhausted());
    assert_eq!(q.plan_type(), Some("pro"));
    assert!(q.provider_allowed().unwrap().value);
    // It ages out like any evidence.
    assert!(!q.view(t + 16 * MIN).allowed_without_windows);
    // With a window, the account is simply known.
    q.record_windows(EvidenceSource::ResponseHeaders, &[short(5.0, t)], t);
    let view = q.view(t);
    assert!(view.known && !view.allowed_without_windows);
}

#[test]
fn limit_reached_snapshot_blocks_until_latest_reset() {
    let t = at(T);
    let mut q = AccountQuota::default();
    q.record_usage(&snapshot(
        false,
        true,
        vec![short(100.0, t), weekly(100.0, t)],
        t,
    ));
    assert_eq!(q.exhausted_until(t), Some(at(T + 86_400)));
    assert_eq!(q.limit().unwrap().source, EvidenceSource::UsageApi);
    // A simultaneous "allowed" does not lift it; a later one does.
    let mut q = AccountQuota::default();
    q.record_limit(
        EvidenceSource::ErrorBody,
        UsageLimit {
            resets_at: Some(at(T + 900)),
        },
        t,
    );
    q.record_usage(&snapshot(true, false, Vec::new(), t));
    assert_eq!(q.exhausted_until(t), Some(at(T + 900)));
    let later = t + Duration::from_secs(30);
    q.record_usage(&snapshot(true, false, vec![short(40.0, later)], later));
    assert_eq!(q.exhausted_until(later), None);
}

#[test]
fn named_limits_are_kept_not_routed() {
    let t = at(T);
    let mut q = AccountQuota::default();
    let named = NamedLimit {
        id: "codex_bengalfox".into(),
        name: None,
        windows: vec![short(100.0, t)],
    };
    q.record_named_limits(EvidenceSource::ResponseHeaders, &[named], t);
    assert_eq!(q.named_limits().len(), 1);
    assert_eq!(q.exhausted_until(t), None);
    q.record_windows(
        EvidenceSource::ResponseHeaders,
        &[short(1.0, t + 16 * MIN)],
        t + 16 * MIN,
    );
    assert!(q.named_limits().is_empty());
}

/// Random sequences of observations never panic, and what the account reports stays coherent.
#[test]
fn random_observation_sequences_stay_coherent() {
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for _ in 0..200 {
        let mut q = AccountQuota::new(Duration::from_secs(1 + next(2_000)));
        let mut now = at(T);
        for _ in 0..40 {
            now += Duration::from_secs(next(600));
            let seen = now - Duration::from_secs(next(30));
            let source = EvidenceSource::ALL[next(4) as usize];
            let reset = (next(3) > 0).then(|| T + next(200_000) as i64);
            let minutes = [60, 300, 10_080, 43_200][next(4) as usize];
            let slot = if next(2) == 0 {
                WindowSlot::Primary
            } else {
                WindowSlot::Secondary
            };
            let used = next(130) as f64;
            match next(4) {
                0 => q.record_limit(
                    source,
                    UsageLimit {
                        resets_at: reset.map(from_unix_seconds),
                    },
                    now,
                ),
                1 => q.record_credits(
                    source,
                    Credits {
                        has_credits: next(2) == 0,
                        unlimited: next(5) == 0,
                        balance: None,
                    },
                    now,
                ),
                2 => q.record_usage(&snapshot(
                    next(2) == 0,
                    next(2) == 0,
                    vec![win(slot, minutes, used, reset, seen)],
                    now,
                )),
                _ => q.record_windows(source, &[win(slot, minutes, used, reset, seen)], now),
            }
            let view = q.view(now);
            // The one-pass view and its lifetime agree with the rules read one by one.
            for probe in [now, now - MIN, now + Duration::from_secs(next(2_000))] {
                assert_eq!(q.view(probe), reference_view(&q, probe));
            }
            let (held, until) = q.view_until(now);
            assert_eq!(held, view);
            for step in [1, 59, 600, 5_000, 90_000] {
                let t = now + Duration::from_secs(step);
                if until.is_none_or(|until| t < until) {
                    assert_eq!(q.view(t), view, "{step} s later");
                }
            }
            if let Some(until) = until {
                let last = until - Duration::from_nanos(1);
                assert_eq!(q.view(last), view);
            }
            // And it held since the previous flip.
            let from = q.previous_change(now);
            for step in [1, 59, 600, 5_000] {
                let t = now - Duration::from_secs(step);
                if from.is_none_or(|from| t >= from) {
                    assert_eq!(q.view(t), view, "{step} s earlier");
                }
            }
            if let Some(from) = from {
                assert_eq!(q.view(from), view);
            }
            assert!(view.exhausted_until.is_none_or(|until| until > now));
            assert_eq!(view.is_exhausted(), q.exhausted_until(now).is_some());
            assert!(!(view.known && view.allowed_without_windows));
            assert!(view.windows.windows(2).all(|w| w[0].kind < w[1].kind));
            assert!((0.0..=100.0).contains(&view.remaining_percent()));
        }
    }
}

/// The view as the reading rules state it, one rule at a time: what the one-pass
/// [`AccountQuota::view`] must match.
fn reference_view(q: &AccountQuota, now: SystemTime) -> QuotaView {
    let covered = q
        .credits()
        .is_some_and(|c| c.is_fresh(now, q.freshness()) && c.value.cover_long_windows());
    let windows: WindowViews = q
        .windows()
        .iter()
        .filter(|w| q.counts(w, now))
        .map(|w| WindowView {
            kind: w.value.kind(),
            used_percent: w.value.used_percent,
            resets_at: w.value.resets_at,
        })
        .collect();
    let exhausted_until = q.exhausted_until(now);
    let known = !windows.is_empty() || exhausted_until.is_some();
    let allowed = q
        .provider_allowed()
        .is_some_and(|a| a.value && a.is_fresh(now, q.freshness()));
    QuotaView {
        credit_backed: covered
            && windows
                .iter()
                .any(|w| w.kind != WindowKind::Short && w.used_percent >= 100.0),
        allowed_without_windows: !known && allowed,
        windows,
        exhausted_until,
        known,
    }
}

/// An exhaustion ends as soon as a newer reading says the window was reset, long before the
/// reset time the full reading gave (a monthly window here, learnt from headers, cleared by a
/// later stream event and by a later usage snapshot alike).
#[test]
fn an_observed_reset_clears_exhaustion_at_once() {
    let t = at(T);
    let monthly = |used, reset, seen| win(WindowSlot::Primary, 43_200, used, Some(reset), seen);
    for source in [EvidenceSource::StreamEvent, EvidenceSource::UsageApi] {
        let mut q = AccountQuota::default();
        q.record_windows(
            EvidenceSource::ResponseHeaders,
            &[monthly(100.0, T + 20 * 86_400, t)],
            t,
        );
        assert_eq!(q.exhausted_until(t + MIN), Some(at(T + 20 * 86_400)));
        let later = t + 10 * MIN;
        q.record_windows(source, &[monthly(2.0, T + 30 * 86_400, later)], later);
        assert_eq!(q.exhausted_until(later), None, "{source:?}");
        assert_eq!(used(&q, WindowKind::Monthly), Some(2.0));
    }
}
