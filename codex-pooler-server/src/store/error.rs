//! Mapping sea-orm errors onto [`StoreError`].

use codex_pooler_core::store::StoreError;
use sea_orm::{DbErr, SqlErr};

/// Any database failure, as a backend error.
// Takes the error by value so it can be passed as `.map_err(backend)`.
#[allow(clippy::needless_pass_by_value)]
pub(crate) fn backend(err: DbErr) -> StoreError {
    StoreError::Backend(err.to_string())
}

/// A unique-constraint violation becomes [`StoreError::Conflict`] naming `what`; anything else
/// is a backend error.
pub(crate) fn conflict_or_backend(err: DbErr, what: impl FnOnce() -> String) -> StoreError {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => StoreError::Conflict(what()),
        _ => backend(err),
    }
}

/// A foreign-key violation (the referenced row vanished under a concurrent writer) becomes
/// [`StoreError::NotFound`] naming `what`; anything else goes through [`conflict_or_backend`].
pub(crate) fn missing_or_conflict(
    err: DbErr,
    missing: impl FnOnce() -> String,
    conflict: impl FnOnce() -> String,
) -> StoreError {
    match err.sql_err() {
        Some(SqlErr::ForeignKeyConstraintViolation(_)) => StoreError::NotFound(missing()),
        _ => conflict_or_backend(err, conflict),
    }
}
