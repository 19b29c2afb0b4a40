//! [`SpendHistory`]: the recent used-percent readings of one account, per window kind, for the
//! spend rate a [quota runway](super::runway) projects.
//!
//! The [`QuotaBook`](super::QuotaBook) keeps only the best reading per window; this keeps a few
//! past ones, bounded:
//! - readings of the current window instance only: a reading whose reset time moved by more
//!   than [`RESET_JITTER`] or whose used percent fell by more than [`USED_JITTER`] points starts
//!   the window over;
//! - readings of the last [`SPEND_LOOKBACK`], plus the newest one before it as a baseline;
//! - at most [`MAX_SAMPLES`] per kind.
//!
//! The spend rate at `now`, in used-percent points per hour, is
//! `max(0, used(newest) - used(first)) / hours(now - at(first))`, where `first` is the baseline
//! if there is one, else the oldest reading. Measured up to `now` rather than to the newest
//! reading, an account that stops answering is seen slowing down. With a single reading the
//! rate is unknown while that reading is within the lookback, and zero after it (no answer
//! for that long: nothing was spent through this pooler).

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

use super::{Evidence, QuotaWindow, WindowKind};

/// How far back readings are kept for the spend rate.
pub const SPEND_LOOKBACK: Duration = Duration::from_secs(3600);

/// Readings kept per account and window kind.
pub(crate) const MAX_SAMPLES: usize = 32;

/// Two reset times this close belong to one window instance (headers give the reset as seconds
/// from the answer, so it drifts by a second or two).
pub(crate) const RESET_JITTER: Duration = Duration::from_secs(120);

/// A used percent falling by more than this means the window reset.
pub(crate) const USED_JITTER: f64 = 1.0;

/// The rate is not measured over less than this.
const MIN_SPAN: Duration = Duration::from_secs(60);

/// One reading.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Sample {
    at: SystemTime,
    used_percent: f64,
    resets_at: Option<SystemTime>,
}

/// The readings of one window kind.
#[derive(Debug, Clone, Default, PartialEq)]
struct Samples(VecDeque<Sample>);

impl Samples {
    fn note(&mut self, w: &QuotaWindow, at: SystemTime) {
        let new = Sample {
            at,
            used_percent: w.used_percent,
            resets_at: w.resets_at,
        };
        if let Some(last) = self.0.back() {
            if at <= last.at {
                return;
            }
            let moved = match (last.resets_at, new.resets_at) {
                (Some(a), Some(b)) => a.max(b).duration_since(a.min(b)).unwrap_or_default(),
                _ => Duration::ZERO,
            };
            if moved > RESET_JITTER || new.used_percent < last.used_percent - USED_JITTER {
                self.0.clear();
            }
        }
        self.0.push_back(new);
        // Keep one baseline older than the lookback.
        let horizon = at.checked_sub(SPEND_LOOKBACK);
        while self.0.len() > 1 && horizon.is_some_and(|h| self.0.get(1).is_some_and(|s| s.at < h)) {
            self.0.pop_front();
        }
        while self.0.len() > MAX_SAMPLES {
            self.0.pop_front();
        }
    }

    fn rate(&self, now: SystemTime) -> Option<f64> {
        let horizon = now.checked_sub(SPEND_LOOKBACK);
        let readings: Vec<&Sample> = self.0.iter().filter(|s| s.at <= now).collect();
        let newest = *readings.last()?;
        // The newest reading before the lookback, else the oldest one.
        let first = readings
            .iter()
            .rev()
            .find(|s| horizon.is_some_and(|h| s.at < h))
            .or_else(|| readings.first())
            .copied()?;
        if std::ptr::eq(first, newest) {
            return horizon.is_some_and(|h| newest.at < h).then_some(0.0);
        }
        let span = now.duration_since(first.at).ok()?;
        if span < MIN_SPAN {
            return None;
        }
        let spent = (newest.used_percent - first.used_percent).max(0.0);
        Some(spent / span.as_secs_f64() * 3600.0)
    }
}

/// The recent readings of one account, per window kind (see the module docs).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct SpendHistory {
    /// Short, weekly, monthly.
    kinds: [Samples; 3],
}

/// The slot of `kind` in [`SpendHistory::kinds`].
const fn slot(kind: WindowKind) -> usize {
    match kind {
        WindowKind::Short => 0,
        WindowKind::Weekly => 1,
        WindowKind::Monthly => 2,
    }
}

impl SpendHistory {
    /// Notes the account's best readings after a merge (readings not newer than the last one of
    /// their kind are skipped).
    pub(crate) fn note(&mut self, windows: &[Evidence<QuotaWindow>]) {
        for w in windows {
            if let Some(samples) = self.kinds.get_mut(slot(w.value.kind())) {
                samples.note(&w.value, w.observed_at);
            }
        }
    }

    /// The spend rate of window `kind` at `now`, in used-percent points per hour; `None` when
    /// unknown.
    pub(crate) fn rate(&self, kind: WindowKind, now: SystemTime) -> Option<f64> {
        self.kinds.get(slot(kind))?.rate(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::from_unix_seconds;
    use crate::quota::{EvidenceSource, WindowSlot};

    fn reading(used: f64, at: i64, reset: i64) -> Evidence<QuotaWindow> {
        let at = from_unix_seconds(at);
        Evidence::new(
            QuotaWindow {
                slot: WindowSlot::Primary,
                used_percent: used,
                window_minutes: Some(300),
                resets_at: Some(from_unix_seconds(reset)),
                observed_at: at,
            },
            EvidenceSource::ResponseHeaders,
            at,
        )
    }

    #[test]
    fn rate_over_the_lookback_in_points_per_hour() {
        let mut h = SpendHistory::default();
        let short = WindowKind::Short;
        assert_eq!(h.rate(short, from_unix_seconds(0)), None);
        h.note(&[reading(10.0, 10_000, 20_000)]);
        // One reading: unknown while recent, zero once older than the lookback.
        assert_eq!(h.rate(short, from_unix_seconds(10_030)), None);
        assert_eq!(h.rate(short, from_unix_seconds(10_000 + 3_601)), Some(0.0));
        h.note(&[reading(15.0, 11_800, 20_001)]);
        // 5 points in half an hour.
        assert_eq!(h.rate(short, from_unix_seconds(11_800)), Some(10.0));
        // Measured to `now`: idle for another half hour, the rate halves.
        assert_eq!(h.rate(short, from_unix_seconds(13_600)), Some(5.0));
        // A repeated or older reading changes nothing.
        h.note(&[reading(90.0, 11_800, 20_001)]);
        assert_eq!(h.rate(short, from_unix_seconds(11_800)), Some(10.0));
        assert_eq!(h.rate(WindowKind::Weekly, from_unix_seconds(11_800)), None);
    }

    #[test]
    fn a_reset_starts_over_and_old_readings_leave() {
        let mut h = SpendHistory::default();
        h.note(&[reading(80.0, 10_000, 20_000)]);
        h.note(&[reading(90.0, 11_000, 20_000)]);
        // The window reset: its reset time moved.
        h.note(&[reading(2.0, 21_000, 38_000)]);
        assert_eq!(h.rate(WindowKind::Short, from_unix_seconds(21_030)), None);
        h.note(&[reading(4.0, 21_000 + 360, 38_000)]);
        assert_eq!(
            h.rate(WindowKind::Short, from_unix_seconds(21_360)),
            Some(20.0)
        );
        // Far more readings than kept: the oldest go, one baseline stays before the lookback.
        for i in 0..100 {
            h.note(&[reading(
                4.0 + f64::from(i) * 0.1,
                22_000 + i64::from(i) * 60,
                38_000,
            )]);
        }
        let kept = &h.kinds[0].0;
        assert!(kept.len() <= MAX_SAMPLES, "{}", kept.len());
        assert_eq!(kept.back().unwrap().at, from_unix_seconds(22_000 + 99 * 60));
    }
}
