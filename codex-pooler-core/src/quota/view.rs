//! [`QuotaView`]: what routing may know about one account's quota at one instant.

use std::time::SystemTime;

use super::WindowKind;

/// One usable window, as routing sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowView {
    /// The window's kind, classified by its length.
    pub kind: WindowKind,
    /// Percent used (0-100, may exceed 100).
    pub used_percent: f64,
    /// When it resets, when known.
    pub resets_at: Option<SystemTime>,
}

impl WindowView {
    /// Percent left, clamped to 0-100.
    pub fn remaining_percent(&self) -> f64 {
        (100.0 - self.used_percent).clamp(0.0, 100.0)
    }
}

/// An account's quota as far as fresh evidence tells, at one instant.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QuotaView {
    /// Fresh, unexpired windows.
    pub windows: Vec<WindowView>,
    /// When the account is exhausted until, if it is.
    pub exhausted_until: Option<SystemTime>,
    /// Whether any fresh evidence exists (an account with none is routable but ranks after
    /// accounts with evidence).
    pub known: bool,
}

impl QuotaView {
    /// A view with no evidence.
    pub fn unknown() -> Self {
        Self::default()
    }

    /// The least remaining percent over the windows (100 when none is known).
    pub fn remaining_percent(&self) -> f64 {
        self.windows
            .iter()
            .map(WindowView::remaining_percent)
            .fold(100.0, f64::min)
    }

    /// The highest used percent over the windows (0 when none is known).
    pub fn max_used_percent(&self) -> f64 {
        self.windows
            .iter()
            .map(|w| w.used_percent)
            .fold(0.0, f64::max)
    }

    /// The window that binds: the one with the least remaining percent.
    pub fn binding_window(&self) -> Option<&WindowView> {
        self.windows
            .iter()
            .min_by(|a, b| a.remaining_percent().total_cmp(&b.remaining_percent()))
    }
}
