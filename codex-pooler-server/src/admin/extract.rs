//! Extractors whose rejections are the API's own 400 error body, not axum's plain-text ones.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// The message for a body that is JSON but not an object.
const NOT_AN_OBJECT: &str = "the request body must be a JSON object";

/// A JSON request body (an object); a malformed one is 400 `invalid_request`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Body<T>(pub(crate) T);

impl<S, T> FromRequest<S> for Body<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(value) = axum::Json::<serde_json::Value>::from_request(req, state)
            .await
            .map_err(|e: JsonRejection| ApiError::Invalid(e.body_text()))?;
        // serde reads a struct from an array too; every body here is an object.
        if !value.is_object() {
            return Err(ApiError::Invalid(NOT_AN_OBJECT.to_owned()));
        }
        serde_json::from_value(value).map(Self).map_err(|e| {
            ApiError::Invalid(format!(
                "Failed to deserialize the JSON body into the target type: {e}"
            ))
        })
    }
}

/// Path parameters; ones that do not parse are 400 `invalid_request`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PathParams<T>(pub(crate) T);

impl<S, T> FromRequestParts<S> for PathParams<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| Self(v))
            .map_err(|e: PathRejection| ApiError::Invalid(e.body_text()))
    }
}

/// Query parameters; ones that do not parse are 400 `invalid_request`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct QueryParams<T>(pub(crate) T);

impl<S, T> FromRequestParts<S> for QueryParams<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| Self(v))
            .map_err(|e: QueryRejection| ApiError::Invalid(e.body_text()))
    }
}
