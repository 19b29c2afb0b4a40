//! [`SlotWait`]: waiting for a busy account to free a concurrency slot.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::book::Shared;
use crate::model::AccountId;

/// Completes once one of its accounts has fewer attempts in flight than its limit (or its
/// bound, when it has one). Made by
/// [`HealthBook::slot_wait`](super::HealthBook::slot_wait).
///
/// It only watches: the slot goes to whoever claims it first, so a waiter that loses the race
/// waits again. Waiters are woken by releases, never by polling, and a dropped wait leaves
/// nothing behind but a stale waker that the next release discards.
pub(crate) struct SlotWait {
    shared: Arc<Shared>,
    accounts: Vec<(AccountId, u32)>,
}

impl SlotWait {
    pub(super) fn new(shared: Arc<Shared>, accounts: Vec<(AccountId, u32)>) -> Self {
        Self { shared, accounts }
    }

    /// The accounts watched, each with its in-flight bound (`u32::MAX`: its limit alone).
    #[cfg(test)]
    pub(crate) fn accounts(&self) -> &[(AccountId, u32)] {
        &self.accounts
    }
}

impl fmt::Debug for SlotWait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlotWait")
            .field("accounts", &self.accounts)
            .finish_non_exhaustive()
    }
}

impl Future for SlotWait {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.shared.room_or_register(&self.accounts, cx.waker()) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}
