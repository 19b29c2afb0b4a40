//! [`Journal`]: which accounts' quota evidence changed, in order, so that caches built from the
//! [`QuotaBook`](super::QuotaBook) can catch up without rereading every account.

use crate::model::AccountId;

/// An append-only log of changed accounts, addressed by an ever-growing position.
///
/// Only the newest [`CAPACITY`](Self::CAPACITY) entries are kept: a reader that fell further
/// behind is told so and rereads everything.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    /// The position of `ids[0]`.
    base: u64,
    ids: Vec<AccountId>,
}

impl Journal {
    /// How many changes are kept; half are dropped when it is full.
    pub(crate) const CAPACITY: usize = 1 << 14;

    /// Notes that `account` changed.
    pub(crate) fn push(&mut self, account: AccountId) {
        if self.ids.len() >= Self::CAPACITY {
            let dropped = Self::CAPACITY / 2;
            self.ids.drain(..dropped);
            self.base += dropped as u64;
        }
        self.ids.push(account);
    }

    /// The position the next change will get.
    pub(crate) fn end(&self) -> u64 {
        self.base + self.ids.len() as u64
    }

    /// The accounts changed from position `from` on, or `None` when some of them were dropped.
    pub(crate) fn since(&self, from: u64) -> Option<&[AccountId]> {
        let skip = usize::try_from(from.checked_sub(self.base)?).ok()?;
        self.ids.get(skip..)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_catch_up_or_learn_they_fell_behind() {
        let mut journal = Journal::default();
        assert_eq!(journal.since(0), Some(&[][..]));
        journal.push(AccountId(1));
        journal.push(AccountId(2));
        assert_eq!(journal.since(1), Some(&[AccountId(2)][..]));
        assert_eq!(journal.since(3), None);
        for i in 0..Journal::CAPACITY as i64 {
            journal.push(AccountId(i));
        }
        assert_eq!(journal.end(), 2 + Journal::CAPACITY as u64);
        assert_eq!(journal.since(0), None);
        let end = journal.end();
        assert_eq!(
            journal.since(end - 1),
            Some(&[AccountId(Journal::CAPACITY as i64 - 1)][..])
        );
    }
}
