//! [`QuotaView`]: what routing may know about one account's quota at one instant.

use std::fmt;
use std::ops::Deref;
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

/// A filler for the unused slots of [`WindowViews`]; never visible through the slice.
const EMPTY_SLOT: WindowView = WindowView {
    kind: WindowKind::Short,
    used_percent: 0.0,
    resets_at: None,
};

/// The windows of a [`QuotaView`], kept inline: a view holds at most one window per
/// [`WindowKind`], so three, and the planner builds one view per account on every request
/// without a heap allocation.
///
/// Reads go through the slice it dereferences to (`iter`, `is_empty`, `len`, indexing). Built
/// with [`push`](Self::push) or by collecting; windows beyond [`CAPACITY`](Self::CAPACITY) are
/// dropped.
#[derive(Clone, Copy)]
pub struct WindowViews {
    slots: [WindowView; WindowViews::CAPACITY],
    len: u8,
}

impl WindowViews {
    /// How many windows fit: one per [`WindowKind`].
    pub const CAPACITY: usize = 3;

    /// No window.
    pub const fn new() -> Self {
        Self {
            slots: [EMPTY_SLOT; Self::CAPACITY],
            len: 0,
        }
    }

    /// Appends a window; when all [`CAPACITY`](Self::CAPACITY) slots are taken, gives it back.
    pub fn push(&mut self, window: WindowView) -> Result<(), WindowView> {
        match self.slots.get_mut(usize::from(self.len)) {
            Some(slot) => {
                *slot = window;
                self.len += 1;
                Ok(())
            }
            None => Err(window),
        }
    }

    /// The windows, in the order they were added.
    pub fn as_slice(&self) -> &[WindowView] {
        &self.slots[..usize::from(self.len)]
    }
}

impl Default for WindowViews {
    fn default() -> Self {
        Self::new()
    }
}

impl Deref for WindowViews {
    type Target = [WindowView];

    fn deref(&self) -> &[WindowView] {
        self.as_slice()
    }
}

impl PartialEq for WindowViews {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl fmt::Debug for WindowViews {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl FromIterator<WindowView> for WindowViews {
    /// Keeps the first [`CAPACITY`](Self::CAPACITY) windows.
    fn from_iter<I: IntoIterator<Item = WindowView>>(iter: I) -> Self {
        let mut views = Self::new();
        for window in iter {
            if views.push(window).is_err() {
                break;
            }
        }
        views
    }
}

impl<'a> IntoIterator for &'a WindowViews {
    type Item = &'a WindowView;
    type IntoIter = std::slice::Iter<'a, WindowView>;

    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

/// An account's quota as far as fresh evidence tells, at one instant.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QuotaView {
    /// Fresh, unexpired windows (at most one per kind, inline).
    pub windows: WindowViews,
    /// When the account is exhausted until, if it is.
    pub exhausted_until: Option<SystemTime>,
    /// Whether any fresh evidence exists (an account with none is routable but ranks after
    /// accounts with evidence).
    pub known: bool,
    /// No window is known, but the usage API freshly said the account is allowed: routable,
    /// ranked after accounts with evidence and before accounts with none.
    pub allowed_without_windows: bool,
    /// A long (weekly or monthly) window is full but fresh credits keep the account working:
    /// routable, ranked after accounts with headroom.
    pub credit_backed: bool,
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

    /// The earliest reset among windows that still have headroom (used below 100%).
    pub fn soonest_reset(&self) -> Option<SystemTime> {
        self.windows
            .iter()
            .filter(|w| w.used_percent < 100.0)
            .filter_map(|w| w.resets_at)
            .min()
    }

    /// Whether the account is known to be exhausted.
    pub fn is_exhausted(&self) -> bool {
        self.exhausted_until.is_some()
    }

    /// The window of one kind, when known.
    pub fn window(&self, kind: WindowKind) -> Option<&WindowView> {
        self.windows.iter().find(|w| w.kind == kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::from_unix_seconds;

    fn w(kind: WindowKind, used: f64, reset: Option<i64>) -> WindowView {
        WindowView {
            kind,
            used_percent: used,
            resets_at: reset.map(from_unix_seconds),
        }
    }

    #[test]
    fn helpers() {
        let unknown = QuotaView::unknown();
        assert_eq!(unknown.remaining_percent(), 100.0);
        assert_eq!(unknown.max_used_percent(), 0.0);
        assert!(unknown.binding_window().is_none() && unknown.soonest_reset().is_none());
        assert!(!unknown.is_exhausted());

        let view = QuotaView {
            windows: [
                w(WindowKind::Short, 30.0, Some(2_000)),
                w(WindowKind::Weekly, 100.0, Some(1_500)),
                w(WindowKind::Monthly, 120.0, None),
            ]
            .into_iter()
            .collect(),
            known: true,
            ..QuotaView::default()
        };
        assert_eq!(view.remaining_percent(), 0.0);
        assert_eq!(view.max_used_percent(), 120.0);
        assert_eq!(view.binding_window().unwrap().kind, WindowKind::Weekly);
        // The weekly window resets sooner, but it has no headroom.
        assert_eq!(view.soonest_reset(), Some(from_unix_seconds(2_000)));
        assert_eq!(view.window(WindowKind::Short).unwrap().used_percent, 30.0);
        assert!(!view.is_exhausted());
    }

    #[test]
    fn inline_windows_hold_three() {
        let mut views = WindowViews::new();
        assert!(views.is_empty());
        for kind in [WindowKind::Short, WindowKind::Weekly, WindowKind::Monthly] {
            assert_eq!(views.push(w(kind, 1.0, None)), Ok(()));
        }
        let extra = w(WindowKind::Short, 2.0, None);
        assert_eq!(views.push(extra), Err(extra));
        assert_eq!(views.len(), 3);
        assert_eq!(views[2].kind, WindowKind::Monthly);
        let collected: WindowViews = std::iter::repeat_n(extra, 5).collect();
        assert_eq!(collected.len(), 3);
        assert_eq!(format!("{:?}", WindowViews::new()), "[]");
    }
}
