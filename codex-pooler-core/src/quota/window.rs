//! One rate-limit window as reported upstream.

use std::time::SystemTime;

/// Which header family slot a window was reported in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WindowSlot {
    /// `x-codex-primary-*`: usually the 5-hour window.
    Primary,
    /// `x-codex-secondary-*`: usually the weekly window.
    Secondary,
    /// `tertiary_window` of the usage payload (`tertiary` in a rate-limit event): a third
    /// window some plans report, usually monthly (lidge-jun/opencodex `src/codex/quota.ts`).
    Tertiary,
}

impl WindowSlot {
    /// Every slot, in header order.
    pub const ALL: [Self; 3] = [Self::Primary, Self::Secondary, Self::Tertiary];

    /// Stable name for storage.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Primary => "primary",
            Self::Secondary => "secondary",
            Self::Tertiary => "tertiary",
        }
    }

    /// Parses the stable name [`as_str`](Self::as_str) gives.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
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

/// A window's kind, decided by its length (not by the header slot it came in: Pro and Team
/// accounts may report only a weekly window, in the primary slot). Ordered shortest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WindowKind {
    /// Up to a day long (the 5-hour window).
    Short,
    /// More than a day, up to two weeks (the weekly window).
    Weekly,
    /// Longer than two weeks (monthly windows).
    Monthly,
}

impl WindowKind {
    /// Classifies a window by its length in minutes; `None` falls back on the slot (primary is
    /// short, secondary weekly, tertiary monthly). Slot positions differ across plans (a free
    /// or Team plan's 30-day window comes as the primary), so a reported length always wins.
    pub fn classify(window_minutes: Option<u32>, slot: WindowSlot) -> Self {
        match window_minutes {
            Some(m) if m <= 24 * 60 => Self::Short,
            Some(m) if m <= 14 * 24 * 60 => Self::Weekly,
            Some(_) => Self::Monthly,
            None => match slot {
                WindowSlot::Primary => Self::Short,
                WindowSlot::Secondary => Self::Weekly,
                WindowSlot::Tertiary => Self::Monthly,
            },
        }
    }
}

impl WindowKind {
    /// Stable name for records and metrics.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Short => "short",
            Self::Weekly => "weekly",
            Self::Monthly => "monthly",
        }
    }
}

impl QuotaWindow {
    /// This window's kind.
    pub fn kind(&self) -> WindowKind {
        WindowKind::classify(self.window_minutes, self.slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_by_length_then_slot() {
        use WindowSlot::{Primary, Secondary};
        assert_eq!(
            WindowKind::classify(Some(300), Secondary),
            WindowKind::Short
        );
        assert_eq!(
            WindowKind::classify(Some(10_080), Primary),
            WindowKind::Weekly
        );
        assert_eq!(
            WindowKind::classify(Some(43_200), Primary),
            WindowKind::Monthly
        );
        assert_eq!(WindowKind::classify(None, Primary), WindowKind::Short);
        assert_eq!(WindowKind::classify(None, Secondary), WindowKind::Weekly);
        assert_eq!(
            WindowKind::classify(None, WindowSlot::Tertiary),
            WindowKind::Monthly
        );
        // A free plan's 30-day primary (2 592 000 s) and a Team plan's ~30.4-day one.
        assert_eq!(
            WindowKind::classify(Some(43_200), Primary),
            WindowKind::Monthly
        );
        assert_eq!(
            WindowKind::classify(Some(43_800), Primary),
            WindowKind::Monthly
        );
        assert_eq!(
            WindowKind::classify(Some(300), WindowSlot::Tertiary),
            WindowKind::Short
        );
        assert!(WindowKind::Short < WindowKind::Weekly && WindowKind::Weekly < WindowKind::Monthly);
        assert_eq!(WindowKind::Monthly.as_str(), "monthly");
        for slot in WindowSlot::ALL {
            assert_eq!(WindowSlot::parse(slot.as_str()), Some(slot));
        }
        assert_eq!(WindowSlot::parse("third"), None);
    }
}
