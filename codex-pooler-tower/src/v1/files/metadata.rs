//! The `/v1/files` metadata routes, answered from the [`FileCatalog`] of the calling key.
//!
//! `GET /v1/files` lists the key's uploads, `GET /v1/files/{id}` answers one; content and
//! deletion (`GET /v1/files/{id}/content`, `DELETE /v1/files/{id}`) answer 404
//! `unsupported_endpoint` once the file is known to be the key's. A file of another key, or
//! one unknown or expired, is 404 `file_not_found` on every route: existence never leaks.

use codex_pooler_core::body::PoolBody;
use codex_pooler_core::error::PoolerError;
use codex_pooler_core::model::KeyId;
use http::{Method, Response, StatusCode};
use serde_json::{Value, json};

use super::catalog::FileCatalog;
use crate::local_routes::json_response;

/// The answer to a `/v1/files` metadata request, or `None` when `method` and `path` name no
/// metadata route (the caller answers `unsupported_endpoint`).
pub(crate) fn answer(
    catalog: &FileCatalog,
    key: KeyId,
    method: &Method,
    path: &str,
    now: i64,
) -> Option<Response<PoolBody>> {
    let rest = path.trim_end_matches('/').strip_prefix("/v1/files")?;
    if rest.is_empty() {
        if method != Method::GET {
            return None;
        }
        let data: Vec<Value> = catalog.list(key, now).iter().map(|f| f.to_json()).collect();
        let list = json!({"object": "list", "data": data, "has_more": false});
        return Some(json_response(StatusCode::OK, &list));
    }
    let rest = rest.strip_prefix('/')?;
    let (id, content) = match rest.strip_suffix("/content") {
        Some(id) => (id, true),
        None => (rest, false),
    };
    if id.is_empty() || id.contains('/') {
        return None;
    }
    let served = matches!(
        (method, content),
        (&Method::GET, _) | (&Method::DELETE, false)
    );
    if !served {
        return None;
    }
    let Some(file) = catalog.get(key, id, now) else {
        return Some(PoolerError::file_not_found().to_response());
    };
    Some(if method == Method::GET && !content {
        json_response(StatusCode::OK, &file.to_json())
    } else {
        PoolerError::unsupported_endpoint().to_response()
    })
}

#[cfg(test)]
mod tests {
    use codex_pooler_core::translate::files::FileObject;
    use http_body_util::BodyExt;

    use super::*;

    async fn body(response: Response<PoolBody>) -> (u16, Value) {
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    fn catalog() -> FileCatalog {
        let catalog = FileCatalog::default();
        let file = FileObject {
            id: "file_a".into(),
            bytes: 3,
            created_at: 100,
            filename: "a.txt".into(),
            purpose: "user_data".into(),
        };
        catalog.insert(KeyId(1), file, 100);
        catalog
    }

    #[tokio::test]
    async fn lists_and_gets_the_keys_files() {
        let catalog = catalog();
        let list = answer(&catalog, KeyId(1), &Method::GET, "/v1/files", 200).unwrap();
        let (status, list) = body(list).await;
        assert_eq!(status, 200);
        assert_eq!(list["object"], "list");
        assert_eq!(list["has_more"], false);
        assert_eq!(list["data"][0]["id"], "file_a");
        let one = answer(&catalog, KeyId(1), &Method::GET, "/v1/files/file_a", 200).unwrap();
        assert_eq!(body(one).await.1["bytes"], 3);
        let empty = answer(&catalog, KeyId(2), &Method::GET, "/v1/files", 200).unwrap();
        assert_eq!(body(empty).await.1["data"], json!([]));
    }

    #[tokio::test]
    async fn another_keys_file_is_not_found_everywhere() {
        let catalog = catalog();
        for (method, path) in [
            (Method::GET, "/v1/files/file_a"),
            (Method::GET, "/v1/files/file_a/content"),
            (Method::DELETE, "/v1/files/file_a"),
        ] {
            let response = answer(&catalog, KeyId(2), &method, path, 200).unwrap();
            assert_eq!(
                body(response).await,
                (404, PoolerError::file_not_found().body())
            );
        }
    }

    #[tokio::test]
    async fn content_and_delete_are_unsupported_after_the_ownership_check() {
        let catalog = catalog();
        for (method, path) in [
            (Method::GET, "/v1/files/file_a/content"),
            (Method::DELETE, "/v1/files/file_a"),
        ] {
            let response = answer(&catalog, KeyId(1), &method, path, 200).unwrap();
            assert_eq!(
                body(response).await,
                (404, PoolerError::unsupported_endpoint().body())
            );
        }
        assert!(answer(&catalog, KeyId(1), &Method::PUT, "/v1/files/file_a", 200).is_none());
        assert!(answer(&catalog, KeyId(1), &Method::GET, "/v1/filesx", 200).is_none());
    }
}
