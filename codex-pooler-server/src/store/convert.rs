//! Conversions between domain values and column values.
//!
//! Times are stored as signed unix milliseconds and unsigned counters as signed 64-bit integers,
//! which both SQLite and PostgreSQL hold exactly. Values read back are checked: a stored value
//! that does not convert is a [`StoreError::Backend`] naming the column, never a panic.

use std::fmt::Display;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use codex_pooler_core::store::StoreError;

/// `t` as unix milliseconds (sub-millisecond precision is dropped; saturates far from 1970).
pub(crate) fn millis(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
    }
}

/// The current time as unix milliseconds.
pub(crate) fn now_millis() -> i64 {
    millis(SystemTime::now())
}

/// Unix milliseconds read from `column` back as a time.
pub(crate) fn time(column: &str, ms: i64) -> Result<SystemTime, StoreError> {
    let offset = Duration::from_millis(ms.unsigned_abs());
    let t = if ms >= 0 {
        UNIX_EPOCH.checked_add(offset)
    } else {
        UNIX_EPOCH.checked_sub(offset)
    };
    t.ok_or_else(|| bad(column, ms, "is out of range for a time"))
}

/// An unsigned domain value as a signed 64-bit column value.
pub(crate) fn signed(column: &str, v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| {
        StoreError::Backend(format!(
            "{column} value {v} does not fit a 64-bit signed column"
        ))
    })
}

/// A stored signed value read from `column` as an unsigned domain value of type `T`.
pub(crate) fn unsigned<T: TryFrom<i64>>(column: &str, v: i64) -> Result<T, StoreError> {
    T::try_from(v).map_err(|_| bad(column, v, "is out of range"))
}

/// A stored spelling read from `column` parsed back with [`FromStr`].
pub(crate) fn parse<T>(column: &str, s: &str) -> Result<T, StoreError>
where
    T: FromStr,
    T::Err: Display,
{
    s.parse()
        .map_err(|e| StoreError::Backend(format!("bad stored value in {column}: {e}")))
}

/// A backend error for a stored value that does not convert.
pub(crate) fn bad(column: &str, value: impl Display, why: &str) -> StoreError {
    StoreError::Backend(format!("bad stored value in {column}: {value} {why}"))
}
