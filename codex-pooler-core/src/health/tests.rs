//! Book-level tests: guards, slots, demotion and concurrency across threads.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, SystemTime};

use super::book::AccountLoad;
use super::circuit::CircuitPhase;
use super::slot_wait::SlotWait;
use super::*;
use crate::clock::from_unix_seconds;
use crate::model::AccountId;
use crate::request::RouteClass;

const A: AccountId = AccountId(1);
const B: AccountId = AccountId(2);
const M: &str = "gpt-5-codex";
const HTTP: RouteClass = RouteClass::Responses;
const WS: RouteClass = RouteClass::ResponsesWebsocket;

fn t(secs: i64) -> SystemTime {
    from_unix_seconds(secs)
}

fn fail(book: &HealthBook, account: AccountId, class: RouteClass, outcome: AttemptOutcome, n: u32) {
    for _ in 0..n {
        book.begin(account, M, class, t(0))
            .unwrap()
            .record(outcome, t(0));
    }
}

#[test]
fn guard_is_send_and_static() {
    fn assert_send_static<T: Send + 'static>() {}
    assert_send_static::<AttemptGuard>();
    assert_send_static::<HealthBook>();
    fn assert_sync<T: Sync>() {}
    assert_sync::<HealthBook>();
}

#[test]
fn breaker_is_per_account_model_and_class() {
    let book = HealthBook::new(HealthConfig::default());
    fail(&book, A, HTTP, AttemptOutcome::TransportError, 3);
    assert_eq!(
        book.check(A, M, HTTP, t(1)),
        Err(HealthExclusion::CircuitOpen { until: t(30) })
    );
    assert_eq!(
        book.begin(A, M, HTTP, t(1)).err(),
        Some(HealthExclusion::CircuitOpen { until: t(30) })
    );
    assert!(book.check(A, M, WS, t(1)).is_ok());
    assert!(book.check(A, "gpt-5", HTTP, t(1)).is_ok());
    assert!(book.check(B, M, HTTP, t(1)).is_ok());
    let circuits = book.circuits(t(1));
    assert_eq!(circuits.len(), 1);
    assert_eq!(circuits[0].phase, CircuitPhase::Open);
    assert_eq!(circuits[0].refused_until, Some(t(30)));
    assert_eq!(circuits[0].consecutive_failures, 3);
}

#[test]
fn unauthorized_counts_toward_the_circuit() {
    let book = HealthBook::new(HealthConfig::default());
    fail(&book, A, HTTP, AttemptOutcome::Unauthorized, 3);
    assert_eq!(
        book.check(A, M, HTTP, t(0)).unwrap_err().reason(),
        "circuit_open"
    );
}

#[test]
fn a_storm_of_429s_never_opens_the_circuit_but_demotes() {
    let book = HealthBook::new(HealthConfig::default());
    fail(&book, A, HTTP, AttemptOutcome::RateLimited, 20);
    fail(&book, A, HTTP, AttemptOutcome::UsageLimited, 20);
    assert!(book.check(A, M, HTTP, t(0)).is_ok());
    assert!(book.is_demoted(A, M, t(0)));
    assert!(book.is_demoted(A, M, t(9)));
    assert!(!book.is_demoted(A, M, t(10)));
    assert!(!book.is_demoted(A, "gpt-5", t(0)), "demotion is per model");
    assert!(!book.is_demoted(B, M, t(0)));
    assert!(book.circuits(t(0)).is_empty());
}

#[test]
fn half_open_lets_one_probe_through_the_book() {
    let book = HealthBook::new(HealthConfig::default());
    fail(&book, A, HTTP, AttemptOutcome::ServerError, 3);
    let mut probe = book.begin(A, M, HTTP, t(30)).unwrap();
    assert!(probe.is_probe());
    assert_eq!(
        book.begin(A, M, HTTP, t(31)).err(),
        Some(HealthExclusion::CircuitOpen { until: t(60) })
    );
    probe.record(AttemptOutcome::Success, t(31));
    // Closed as soon as the outcome is known, while the probe's body is still streaming.
    let other = book.begin(A, M, HTTP, t(31)).unwrap();
    assert!(!other.is_probe());
    assert_eq!(book.in_flight(A), 2);
    drop((probe, other));
    assert_eq!(book.in_flight(A), 0);
}

#[test]
fn dropping_an_unrecorded_probe_frees_the_probe_slot() {
    let book = HealthBook::new(HealthConfig::default());
    fail(&book, A, HTTP, AttemptOutcome::ServerError, 3);
    let probe = book.begin(A, M, HTTP, t(30)).unwrap();
    assert!(book.check(A, M, HTTP, t(30)).is_err());
    drop(probe);
    assert!(book.begin(A, M, HTTP, t(30)).unwrap().is_probe());
}

#[test]
fn failed_probe_reopens_with_doubled_backoff() {
    let book = HealthBook::new(HealthConfig::default());
    fail(&book, A, HTTP, AttemptOutcome::ServerError, 3);
    let mut probe = book.begin(A, M, HTTP, t(30)).unwrap();
    probe.record(AttemptOutcome::ServerError, t(30));
    drop(probe);
    assert_eq!(
        book.check(A, M, HTTP, t(31)),
        Err(HealthExclusion::CircuitOpen { until: t(90) })
    );
    assert_eq!(book.circuits(t(31))[0].open_for, Duration::from_secs(60));
}

#[test]
fn only_the_first_record_counts() {
    let book = HealthBook::new(HealthConfig::default());
    let mut g = book.begin(A, M, HTTP, t(0)).unwrap();
    g.record(AttemptOutcome::Success, t(0));
    for _ in 0..5 {
        g.record(AttemptOutcome::ServerError, t(0));
    }
    assert_eq!(g.outcome(), Some(AttemptOutcome::Success));
    drop(g);
    assert!(book.circuits(t(0)).is_empty());
}

#[test]
fn busy_at_the_limit_and_slots_held_until_drop() {
    let book = HealthBook::new(HealthConfig {
        initial_limit: 2,
        ..HealthConfig::default()
    });
    let mut first = book.begin(A, M, HTTP, t(0)).unwrap();
    let second = book.begin(A, M, WS, t(0)).unwrap();
    assert_eq!(book.in_flight(A), 2);
    assert_eq!(
        book.check(A, "gpt-5", HTTP, t(0)),
        Err(HealthExclusion::Busy { limit: 2 })
    );
    assert_eq!(
        book.begin(A, M, HTTP, t(0)).err(),
        Some(HealthExclusion::Busy { limit: 2 })
    );
    assert!(
        book.check(B, M, HTTP, t(0)).is_ok(),
        "other accounts have room"
    );
    // Recording keeps the slot; only the drop frees it.
    first.record(AttemptOutcome::Success, t(0));
    assert_eq!(book.in_flight(A), 2);
    assert!(book.check(A, M, HTTP, t(0)).is_err());
    drop(first);
    assert_eq!(book.in_flight(A), 1);
    assert!(book.check(A, M, HTTP, t(0)).is_ok());
    // Overflow on purpose when every candidate is busy.
    let third = book.begin(A, M, HTTP, t(0)).unwrap();
    let fourth = book.begin_over_limit(A, M, HTTP, t(0)).unwrap();
    assert_eq!(book.in_flight(A), 3);
    drop((second, third, fourth));
    assert_eq!(book.in_flight(A), 0);
    assert_eq!(
        book.accounts(),
        vec![AccountLoad {
            account: A,
            in_flight: 0,
            limit: 2
        }]
    );
}

#[test]
fn an_open_circuit_still_refuses_an_over_limit_begin() {
    let book = HealthBook::new(HealthConfig::default());
    fail(&book, A, HTTP, AttemptOutcome::ServerError, 3);
    assert!(book.begin_over_limit(A, M, HTTP, t(1)).is_err());
}

#[test]
fn codeless_429_burst_halves_once_per_window() {
    let book = HealthBook::new(HealthConfig::default());
    let wave: Vec<_> = (0..8)
        .map(|_| book.begin(A, M, HTTP, t(100)).unwrap())
        .collect();
    assert!(book.check(A, M, HTTP, t(100)).is_err());
    for mut g in wave {
        g.record(AttemptOutcome::RateLimited, t(100));
    }
    assert_eq!(book.limit(A), 4);
    // usage_limit_reached has no concurrency effect.
    for _ in 0..5 {
        book.begin(A, M, HTTP, t(102))
            .unwrap()
            .record(AttemptOutcome::UsageLimited, t(102));
    }
    assert_eq!(book.limit(A), 4);
    book.begin(A, M, HTTP, t(102))
        .unwrap()
        .record(AttemptOutcome::RateLimited, t(102));
    assert_eq!(book.limit(A), 2);
}

#[test]
fn successes_under_load_grow_the_limit() {
    let book = HealthBook::new(HealthConfig::default());
    assert_eq!(book.limit(A), 8);
    // Four in flight is half the limit: successes count.
    for _ in 0..2 {
        let mut wave: Vec<_> = (0..4)
            .map(|_| book.begin(A, M, HTTP, t(0)).unwrap())
            .collect();
        for g in &mut wave {
            g.record(AttemptOutcome::Success, t(0));
        }
    }
    assert_eq!(book.limit(A), 9);
    // One at a time says nothing about the cap.
    for _ in 0..100 {
        book.begin(A, M, HTTP, t(0))
            .unwrap()
            .record(AttemptOutcome::Success, t(0));
    }
    assert_eq!(book.limit(A), 9);
}

#[test]
fn threads_keep_in_flight_consistent() {
    let book = Arc::new(HealthBook::new(HealthConfig {
        initial_limit: 6,
        max_limit: 6,
        ..HealthConfig::default()
    }));
    let outcomes = [
        AttemptOutcome::Success,
        AttemptOutcome::ClientError,
        AttemptOutcome::UsageLimited,
    ];
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let book = Arc::clone(&book);
            thread::spawn(move || {
                let mut admitted = 0u32;
                for n in 0..2_000u32 {
                    let account = if (n + i) % 2 == 0 { A } else { B };
                    if let Ok(mut g) = book.begin(account, M, HTTP, t(0)) {
                        admitted += 1;
                        let in_flight = book.in_flight(account);
                        assert!((1..=6).contains(&in_flight), "in flight {in_flight}");
                        if n % 3 != 0 {
                            g.record(outcomes[(n % 3) as usize], t(0));
                        }
                        thread::yield_now();
                    }
                }
                admitted
            })
        })
        .collect();
    let admitted: u32 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert!(admitted > 0);
    assert_eq!(book.in_flight(A), 0);
    assert_eq!(book.in_flight(B), 0);
    assert!(
        book.accounts()
            .iter()
            .all(|l| l.in_flight == 0 && l.limit == 6)
    );
}

#[test]
fn guards_moved_to_other_threads_release_there() {
    let book = HealthBook::new(HealthConfig::default());
    let guards: Vec<_> = (0..8)
        .map(|_| book.begin(A, M, HTTP, t(0)).unwrap())
        .collect();
    assert!(book.check(A, M, HTTP, t(0)).is_err());
    let handles: Vec<_> = guards
        .into_iter()
        .map(|mut g| {
            thread::spawn(move || {
                g.record(AttemptOutcome::ServerError, t(0));
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(book.in_flight(A), 0);
    assert!(
        book.check(A, M, HTTP, t(0)).is_err(),
        "eight concurrent 5xx opened the circuit"
    );
}

/// A deterministic random walk over begin / record / drop / time, checking after every step that
/// the book agrees with a simple model: in-flight equals live guards, at most one live probe per
/// circuit, and the limit within bounds.
#[test]
fn random_walk_keeps_invariants() {
    let config = HealthConfig {
        initial_limit: 4,
        max_limit: 6,
        ..HealthConfig::default()
    };
    let book = HealthBook::new(config);
    let mut live: Vec<AttemptGuard> = Vec::new();
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move |bound: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % bound
    };
    let outcomes = [
        AttemptOutcome::Success,
        AttemptOutcome::ServerError,
        AttemptOutcome::TransportError,
        AttemptOutcome::Unauthorized,
        AttemptOutcome::RateLimited,
        AttemptOutcome::UsageLimited,
        AttemptOutcome::ClientError,
    ];
    let mut now = t(0);
    for _ in 0..20_000 {
        match next(4) {
            0 | 1 => {
                let account = if next(2) == 0 { A } else { B };
                let class = if next(2) == 0 { HTTP } else { WS };
                let checked = book.check(account, M, class, now);
                let begun = book.begin(account, M, class, now);
                assert_eq!(checked.is_ok(), begun.is_ok());
                if let Ok(g) = begun {
                    live.push(g);
                }
            }
            2 if !live.is_empty() => {
                let i = next(live.len() as u64) as usize;
                let outcome = outcomes[next(outcomes.len() as u64) as usize];
                live[i].record(outcome, now);
                if next(2) == 0 {
                    drop(live.swap_remove(i));
                }
            }
            _ => now += Duration::from_millis(next(5_000)),
        }
        for account in [A, B] {
            let held = live.iter().filter(|g| g.account() == account).count();
            assert_eq!(book.in_flight(account) as usize, held);
            assert!((1..=6).contains(&book.limit(account)));
        }
        for class in [HTTP, WS] {
            for account in [A, B] {
                let probes = live
                    .iter()
                    .filter(|g| {
                        g.account() == account
                            && g.class() == class
                            && g.is_probe()
                            && g.outcome().is_none()
                    })
                    .count();
                assert!(probes <= 1, "{probes} live probes");
            }
        }
    }
    live.clear();
    assert!(book.accounts().iter().all(|l| l.in_flight == 0));
}

/// Counts wake-ups.
#[derive(Default)]
struct WakeCount(std::sync::atomic::AtomicUsize);

impl std::task::Wake for WakeCount {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

fn poll_wait(wait: &mut SlotWait, waker: &std::task::Waker) -> bool {
    use std::future::Future;
    let mut cx = std::task::Context::from_waker(waker);
    std::pin::Pin::new(wait).poll(&mut cx).is_ready()
}

#[test]
fn a_slot_wait_completes_at_once_when_an_account_has_room() {
    let book = HealthBook::new(HealthConfig {
        initial_limit: 1,
        ..HealthConfig::default()
    });
    let _busy = book.begin(A, M, HTTP, t(0)).unwrap();
    let count = Arc::new(WakeCount::default());
    let waker = std::task::Waker::from(Arc::clone(&count));
    // B was never used: it has room.
    assert!(poll_wait(&mut book.slot_wait(vec![A, B]), &waker));
    assert!(!poll_wait(&mut book.slot_wait(vec![A]), &waker));
}

#[test]
fn a_slot_wait_is_woken_by_the_release_of_a_watched_account_only() {
    let book = HealthBook::new(HealthConfig {
        initial_limit: 1,
        ..HealthConfig::default()
    });
    let on_a = book.begin(A, M, HTTP, t(0)).unwrap();
    let on_b = book.begin(B, M, HTTP, t(0)).unwrap();
    let count = Arc::new(WakeCount::default());
    let waker = std::task::Waker::from(Arc::clone(&count));
    let mut wait = book.slot_wait(vec![A]);
    assert_eq!(wait.accounts(), &[(A, u32::MAX)]);
    assert!(!poll_wait(&mut wait, &waker));
    // Polled twice: registered once.
    assert!(!poll_wait(&mut wait, &waker));
    drop(on_b);
    assert_eq!(count.0.load(std::sync::atomic::Ordering::SeqCst), 0);
    drop(on_a);
    assert_eq!(count.0.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert!(poll_wait(&mut wait, &waker));
}

#[test]
fn a_woken_waiter_that_loses_the_race_waits_again() {
    let book = HealthBook::new(HealthConfig {
        initial_limit: 1,
        ..HealthConfig::default()
    });
    let first = book.begin(A, M, HTTP, t(0)).unwrap();
    let count = Arc::new(WakeCount::default());
    let waker = std::task::Waker::from(Arc::clone(&count));
    let mut wait = book.slot_wait(vec![A]);
    assert!(!poll_wait(&mut wait, &waker));
    drop(first);
    // Someone else claims the freed slot before the waiter runs.
    let _thief = book.begin(A, M, HTTP, t(0)).unwrap();
    assert!(!poll_wait(&mut wait, &waker));
}

#[test]
fn a_bounded_slot_wait_waits_for_a_release_below_the_bound() {
    let book = HealthBook::new(HealthConfig::default());
    let first = book.begin(A, M, HTTP, t(0)).unwrap();
    let _second = book.begin(A, M, HTTP, t(0)).unwrap();
    let count = Arc::new(WakeCount::default());
    let waker = std::task::Waker::from(Arc::clone(&count));
    // The limit (8) leaves room, but upstream refused a third: wait for one of the two to end.
    let mut wait = book.slot_wait_below(vec![(A, 2)]);
    assert!(!poll_wait(&mut wait, &waker));
    drop(first);
    assert!(poll_wait(&mut wait, &waker));
    // The bound replaces the limit: with the limit cut to 1, one stream in flight is still
    // below a bound of 2.
    let cut = HealthBook::new(HealthConfig {
        initial_limit: 1,
        ..HealthConfig::default()
    });
    let _one = cut.begin(A, M, HTTP, t(0)).unwrap();
    assert!(poll_wait(&mut cut.slot_wait_below(vec![(A, 2)]), &waker));
    assert!(!poll_wait(&mut cut.slot_wait(vec![A]), &waker));
    // A bound of zero never has room, even on an account the book has never seen.
    assert!(!poll_wait(&mut book.slot_wait_below(vec![(B, 0)]), &waker));
}

/// What `for_each_routing_health` reports, sorted by account.
fn notable(book: &HealthBook, now: SystemTime) -> Vec<AccountId> {
    let mut out = Vec::new();
    book.for_each_routing_health(M, HTTP, now, |id, _| out.push(id));
    out.sort();
    out
}

#[test]
fn planning_reads_only_accounts_with_something_going_on() {
    let book = HealthBook::new(HealthConfig::default());
    // A thousand accounts that served one request each, long done.
    for id in 1..=1_000 {
        let mut g = book.begin(AccountId(id), M, HTTP, t(0)).unwrap();
        g.record(AttemptOutcome::Success, t(0));
    }
    let busy = book.begin(AccountId(7), M, HTTP, t(1)).unwrap();
    let mut demoted = book.begin(AccountId(8), M, HTTP, t(1)).unwrap();
    demoted.record(AttemptOutcome::RateLimited, t(1));
    drop(demoted);
    fail(&book, AccountId(9), HTTP, AttemptOutcome::ServerError, 3);
    assert_eq!(
        notable(&book, t(2)),
        [AccountId(7), AccountId(8), AccountId(9)]
    );
    // The idle ones left the active list on that first read.
    assert_eq!(book.shared_active_len(), 3);
    // The demotion runs out; the circuit stays open (closed ones only are quiet for good).
    let later = t(2) + book.config().demote_for;
    drop(busy);
    assert_eq!(notable(&book, later), [AccountId(9)]);
    assert_eq!(book.shared_active_len(), 1);
    // Claiming a slot lists an account again.
    let _again = book.begin(AccountId(500), M, HTTP, later).unwrap();
    assert_eq!(notable(&book, later), [AccountId(9), AccountId(500)]);
}
