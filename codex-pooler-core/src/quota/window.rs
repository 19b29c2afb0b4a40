//! One rate-limit window as reported upstream.

use std::time::SystemTime;

/// Which header family slot a window was reported in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WindowSlot {
    /// `x-codex-primary-*`: usually the 5-hour window.
    Primary,
    /// `x-codex-secondary-*`: usually the weekly window.
    Secondary,
}

/// A rate-limit window: how much of it is used and when it resets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuotaWindow {
    /// The slot it was reported in.
    pub slot: WindowSlot,
    /// Percent used, 0-100 (may exceed 100).
    pub used_percent: f64,
    /// Window length in minutes, when reported.
    pub window_minutes: Option<u32>,
    /// When the window resets, when reported.
    pub resets_at: Option<SystemTime>,
    /// When this evidence was observed.
    pub observed_at: SystemTime,
}

impl QuotaWindow {
    /// Whether the window is used up and has not reset yet at `now`.
    ///
    /// A full window without a reset time counts as exhausted only while fresh; the book ages it
    /// out.
    pub fn is_exhausted_at(&self, now: SystemTime) -> bool {
        self.used_percent >= 100.0 && self.resets_at.is_none_or(|at| at > now)
    }
}
