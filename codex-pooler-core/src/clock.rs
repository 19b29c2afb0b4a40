//! Time as the core sees it: an injected [`Clock`].
//!
//! The router compares quota reset times, key expiries and latencies against "now", and the
//! dispatcher waits a bounded time for a busy account's slot. Reading the system clock or a
//! runtime timer inside that logic would make it untestable, so every service takes a clock.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A future that completes at a deadline of a [`Clock`].
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A source of the current wall-clock time, and of timers on the same time line.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;

    /// A future that completes once [`now`](Self::now) has reached `deadline` (at once when it
    /// already has).
    ///
    /// The default sleeps on the tokio timer for the wall-clock distance to `deadline`, so it
    /// must be polled inside a tokio runtime with its time driver enabled (as every server and
    /// tokio test is). Clocks that move on their own terms, like [`ManualClock`], override it.
    fn sleep_until(&self, deadline: SystemTime) -> Sleep {
        let wait = deadline
            .duration_since(self.now())
            .unwrap_or(Duration::ZERO);
        if wait.is_zero() {
            return Box::pin(std::future::ready(()));
        }
        Box::pin(tokio::time::sleep(wait))
    }
}

/// The real system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to; for tests and simulations.
///
/// Its timers ([`Clock::sleep_until`]) complete when [`advance`](Self::advance) moves the clock
/// to or past their deadline; [`next_deadline`](Self::next_deadline) tells a driver (such as a
/// simulation) when the next one is due.
#[derive(Debug, Clone)]
pub struct ManualClock {
    shared: Arc<Mutex<ManualState>>,
}

#[derive(Debug)]
struct ManualState {
    now: SystemTime,
    /// Deadlines of pending timers, with the waker of the task polling each.
    timers: Vec<(SystemTime, Option<Waker>)>,
}

impl ManualClock {
    /// A clock frozen at `unix_seconds` after the epoch.
    pub fn at_unix(unix_seconds: u64) -> Self {
        Self {
            shared: Arc::new(Mutex::new(ManualState {
                now: UNIX_EPOCH + Duration::from_secs(unix_seconds),
                timers: Vec::new(),
            })),
        }
    }

    /// Moves the clock forward and wakes the timers now due.
    pub fn advance(&self, by: Duration) {
        let mut state = self.lock();
        state.now += by;
        let now = state.now;
        let mut due = Vec::new();
        state.timers.retain_mut(|(deadline, waker)| {
            if *deadline <= now {
                due.extend(waker.take());
                false
            } else {
                true
            }
        });
        drop(state);
        due.into_iter().for_each(Waker::wake);
    }

    /// The earliest deadline of a timer not yet due, if any.
    pub fn next_deadline(&self) -> Option<SystemTime> {
        self.lock().timers.iter().map(|(at, _)| *at).min()
    }

    fn lock(&self) -> MutexGuard<'_, ManualState> {
        self.shared
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        self.lock().now
    }

    fn sleep_until(&self, deadline: SystemTime) -> Sleep {
        Box::pin(ManualSleep {
            clock: self.clone(),
            deadline,
            registered: false,
        })
    }
}

/// A timer of a [`ManualClock`].
#[derive(Debug)]
struct ManualSleep {
    clock: ManualClock,
    deadline: SystemTime,
    registered: bool,
}

impl Future for ManualSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let deadline = self.deadline;
        let registered = self.registered;
        let mut state = self.clock.lock();
        if state.now >= deadline {
            return Poll::Ready(());
        }
        if registered {
            // Refresh the waker of this timer's entry (the first one with its deadline whose
            // waker is still set or was taken; duplicates are harmless: each wakes a re-check).
            if let Some(entry) = state.timers.iter_mut().find(|(at, _)| *at == deadline) {
                entry.1 = Some(cx.waker().clone());
                return Poll::Pending;
            }
        }
        state.timers.push((deadline, Some(cx.waker().clone())));
        drop(state);
        self.registered = true;
        Poll::Pending
    }
}

/// Seconds since the Unix epoch for `t` (0 for times before it).
pub fn unix_seconds(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Milliseconds since the Unix epoch (0 before it), as the operator surface's `*_ms` fields
/// carry times.
pub fn unix_millis(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The time `secs` seconds after the Unix epoch (the epoch itself for negative input).
pub fn from_unix_seconds(secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use std::task::Waker;

    use super::*;

    fn poll(sleep: &mut Sleep) -> Poll<()> {
        sleep.as_mut().poll(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn manual_timers_fire_when_the_clock_reaches_them() {
        let clock = ManualClock::at_unix(1_000);
        let deadline = clock.now() + Duration::from_secs(5);
        let mut sleep = clock.sleep_until(deadline);
        assert!(poll(&mut sleep).is_pending());
        assert_eq!(clock.next_deadline(), Some(deadline));
        clock.advance(Duration::from_secs(4));
        assert!(poll(&mut sleep).is_pending());
        clock.advance(Duration::from_secs(1));
        assert_eq!(clock.next_deadline(), None);
        assert!(poll(&mut sleep).is_ready());
    }

    #[test]
    fn a_past_deadline_is_ready_at_once() {
        let clock = ManualClock::at_unix(1_000);
        let mut sleep = clock.sleep_until(from_unix_seconds(999));
        assert!(poll(&mut sleep).is_ready());
        assert_eq!(clock.next_deadline(), None);
    }

    #[test]
    fn advancing_wakes_the_waiting_task() {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::task::Wake;
        #[derive(Default)]
        struct Flag(AtomicBool);
        impl Wake for Flag {
            fn wake(self: Arc<Self>) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let flag = Arc::new(Flag::default());
        let waker = Waker::from(Arc::clone(&flag));
        let clock = ManualClock::at_unix(1_000);
        let mut sleep = clock.sleep_until(clock.now() + Duration::from_secs(1));
        assert!(
            sleep
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        );
        clock.advance(Duration::from_millis(500));
        assert!(!flag.0.load(Ordering::SeqCst));
        clock.advance(Duration::from_millis(500));
        assert!(flag.0.load(Ordering::SeqCst));
    }

    #[tokio::test(start_paused = true)]
    async fn the_system_clock_sleeps_on_the_tokio_timer() {
        let clock = SystemClock;
        clock
            .sleep_until(clock.now() + Duration::from_millis(20))
            .await;
        clock
            .sleep_until(clock.now() - Duration::from_secs(1))
            .await;
    }
}
