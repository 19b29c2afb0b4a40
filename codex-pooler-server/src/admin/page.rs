//! Cursor pagination: lists come newest first, and `next_cursor` fetches the page after.
//!
//! A cursor is opaque to clients. It names the last row of the page, so rows written while a
//! client pages never shift a page or repeat a row.

use serde::Deserialize;
use utoipa::IntoParams;

use super::error::ApiError;

/// The default page size.
pub(crate) const DEFAULT_LIMIT: u64 = 50;
/// The largest page size.
pub(crate) const MAX_LIMIT: u64 = 500;

/// `?limit=&cursor=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Rows per page: 1-500, default 50.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageParams {
    /// The page size, checked.
    pub(crate) fn limit(&self) -> Result<u64, ApiError> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(_) => Err(ApiError::Invalid(format!(
                "limit must be between 1 and {MAX_LIMIT}"
            ))),
        }
    }

    /// The id rows must be older than, from the cursor.
    pub(crate) fn before_id(&self) -> Result<Option<i64>, ApiError> {
        self.cursor.as_deref().map(decode).transpose()
    }
}

/// The cursor after the row with `id`.
pub(crate) fn encode(id: i64) -> String {
    format!("c{id}")
}

fn decode(cursor: &str) -> Result<i64, ApiError> {
    cursor
        .strip_prefix('c')
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::Invalid("cursor is not one this API gave out".to_owned()))
}

/// The next cursor for a page of `len` rows whose last row has `last_id`, when a full page
/// suggests more rows follow.
pub(crate) fn next_cursor(len: usize, limit: u64, last_id: Option<i64>) -> Option<String> {
    (len as u64 == limit).then_some(()).and(last_id).map(encode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_bad_ones_are_refused() {
        let page = PageParams {
            limit: None,
            cursor: Some(encode(41)),
        };
        assert_eq!(page.before_id(), Ok(Some(41)));
        assert_eq!(page.limit(), Ok(DEFAULT_LIMIT));
        for bad in ["41", "c", "c-1", "cx", ""] {
            let page = PageParams {
                limit: None,
                cursor: Some(bad.to_owned()),
            };
            assert_eq!(
                page.before_id(),
                Err(ApiError::Invalid(
                    "cursor is not one this API gave out".to_owned()
                ))
            );
        }
        let page = PageParams {
            limit: Some(0),
            cursor: None,
        };
        assert!(page.limit().is_err());
        assert_eq!(next_cursor(3, 3, Some(7)), Some("c7".to_owned()));
        assert_eq!(next_cursor(2, 3, Some(7)), None);
    }
}
