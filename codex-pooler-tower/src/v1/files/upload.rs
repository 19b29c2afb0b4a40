//! [`V1FileUpload`]: `POST /v1/files` run through the backend file flow on one account.
//!
//! The form ([`FileUpload`]) becomes `POST /backend-api/files`, routed by the pool like any
//! creation (and learned for its account by `LearnFile`). The gateway then PUTs the bytes to
//! the `upload_url` upstream answered, but only to a host it trusts (the serving account's base
//! URL host, or one of the configured upload hosts: never an arbitrary host from an answer),
//! and finalizes the upload with `POST /backend-api/files/{id}/uploaded` on the same account.
//! The client gets the OpenAI `file` object, which is also kept in the [`FileCatalog`].

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use codex_pooler_core::body::{PoolBody, full};
use codex_pooler_core::clock::{Clock, unix_seconds};
use codex_pooler_core::error::PoolerError;
use codex_pooler_core::model::SnapshotHandle;
use codex_pooler_core::request::{FileId, PoolContext, Route, RouteClass, RouteFamily};
use codex_pooler_core::translate::files::{CreatedFile, FileObject, FileUpload, finalized};
use codex_pooler_core::translate::multipart::Form;
use futures_util::future::{BoxFuture, FutureExt};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use http::response::Parts;
use http::{Extensions, HeaderMap, Method, Request, Response, StatusCode, Uri};
use http_body_util::Full;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use tower_layer::Layer;
use tower_service::Service;

use super::catalog::FileCatalog;
use crate::read_body::collect_limited;
use crate::records::refuse;
use crate::respond::Served;
use crate::upstream::connector::https_client;

/// The most a creation or finalize answer (a small JSON object) may be.
const ANSWER_LIMIT: usize = 64 * 1024;

/// The host suffix of Azure Blob Storage accounts (`<account>.blob.core.windows.net`), trusted
/// for uploads over `https` without configuration.
const AZURE_BLOB_SUFFIX: &str = ".blob.core.windows.net";

/// What the upload flow needs besides the stack below it.
#[derive(Clone, Debug)]
pub(crate) struct FileUploads {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    catalog: FileCatalog,
    snapshot: SnapshotHandle,
    default_base_url: Arc<str>,
    trusted_hosts: Arc<[String]>,
    clock: Arc<dyn Clock>,
}

impl FileUploads {
    /// The flow's settings: `catalog` gets each upload, accounts without their own base URL
    /// use `default_base_url`, and `trusted_hosts` are the upload hosts trusted beside each
    /// account's base URL host.
    pub(crate) fn new(
        catalog: FileCatalog,
        snapshot: SnapshotHandle,
        default_base_url: &str,
        trusted_hosts: Vec<String>,
        tls: Option<rustls::ClientConfig>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            client: https_client(tls, 8),
            catalog,
            snapshot,
            default_base_url: default_base_url.trim_end_matches('/').into(),
            trusted_hosts: trusted_hosts
                .into_iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
            clock,
        }
    }

    /// Whether `upload_url` may receive the bytes of a file created on the account whose
    /// base URL is `base_url`: an `http(s)` URL whose authority is the base URL's, or whose
    /// host is a trusted upload host (`*.suffix` entries match any subdomain), or an `https`
    /// URL on Azure Blob Storage ([`AZURE_BLOB_SUFFIX`]), where the backend's `upload_url`s
    /// point: the PUT it asks for (`x-ms-blob-type: BlockBlob`) is Azure's Put Blob call.
    fn trusts(&self, base_url: &str, upload_url: &Uri) -> bool {
        let scheme_ok = matches!(upload_url.scheme_str(), Some("http" | "https"));
        let Some(authority) = upload_url.authority() else {
            return false;
        };
        let same_origin = base_url
            .parse::<Uri>()
            .ok()
            .and_then(|base| base.authority().cloned())
            .is_some_and(|base| base.as_str().eq_ignore_ascii_case(authority.as_str()));
        let host = authority.host().to_ascii_lowercase();
        let trusted = self
            .trusted_hosts
            .iter()
            .any(|entry| match entry.strip_prefix("*.") {
                Some(suffix) => host
                    .strip_suffix(suffix)
                    .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
                None => *entry == host,
            });
        let azure = upload_url.scheme_str() == Some("https")
            && host
                .strip_suffix(AZURE_BLOB_SUFFIX)
                .is_some_and(|account| !account.is_empty() && !account.contains('.'));
        scheme_ok && (same_origin || trusted || azure)
    }

    fn base_url_of(&self, served: Option<&Served>) -> Option<String> {
        let account = served?.account?;
        let snapshot = self.snapshot.load();
        let account = snapshot.account(account)?;
        Some(
            account
                .base_url
                .as_deref()
                .unwrap_or(&self.default_base_url)
                .to_owned(),
        )
    }

    /// PUTs `upload`'s bytes to `url` as a block blob; anything but a 2xx is `upstream_error`.
    async fn put(&self, url: Uri, upload: &FileUpload) -> Result<(), PoolerError> {
        let kind = upload
            .content_type
            .as_deref()
            .and_then(|c| HeaderValue::try_from(c).ok())
            .unwrap_or_else(|| HeaderValue::from_static("application/octet-stream"));
        let mut request = Request::new(Full::new(upload.data.clone()));
        *request.method_mut() = Method::PUT;
        *request.uri_mut() = url;
        let headers = request.headers_mut();
        headers.insert("x-ms-blob-type", HeaderValue::from_static("BlockBlob"));
        headers.insert(CONTENT_TYPE, kind);
        headers.insert(CONTENT_LENGTH, HeaderValue::from(upload.data.len()));
        match self.client.request(request).await {
            Ok(answer) if answer.status().is_success() => Ok(()),
            Ok(answer) => {
                tracing::warn!(status = answer.status().as_u16(), "file upload PUT refused");
                Err(PoolerError::upstream_error(None))
            }
            Err(err) => {
                tracing::warn!(error = %err, "file upload PUT failed");
                Err(PoolerError::upstream_error(None))
            }
        }
    }
}

/// Wraps a decoded-request service in [`V1FileUpload`].
#[derive(Clone, Debug)]
pub(crate) struct V1FileUploadLayer {
    uploads: FileUploads,
}

impl V1FileUploadLayer {
    /// A layer running uploads with `uploads`.
    pub(crate) fn new(uploads: FileUploads) -> Self {
        Self { uploads }
    }
}

impl<S> Layer<S> for V1FileUploadLayer {
    type Service = V1FileUpload<S>;

    fn layer(&self, inner: S) -> Self::Service {
        V1FileUpload {
            inner,
            uploads: self.uploads.clone(),
        }
    }
}

/// Runs a `POST /v1/files` form (at most 25 MiB, else 413 `request_too_large`) through the
/// backend file flow: creation and finalize go down the stack, the PUT goes straight to the
/// trusted upload URL. Refused forms are answered here; other requests pass untouched.
#[derive(Clone, Debug)]
pub(crate) struct V1FileUpload<S> {
    inner: S,
    uploads: FileUploads,
}

impl<S> Service<Request<Bytes>> for V1FileUpload<S>
where
    S: Service<Request<Bytes>, Response = Response<PoolBody>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<PoolBody>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<PoolBody>, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Bytes>) -> Self::Future {
        let ours = request.extensions().get::<Route>().is_some_and(|r| {
            r.family == RouteFamily::OpenAiV1 && r.class == RouteClass::FileCreate
        });
        let ctx = request.extensions().get::<PoolContext>().copied();
        let (true, Some(ctx)) = (ours, ctx) else {
            return self.inner.call(request).boxed();
        };
        let (mut parts, body) = request.into_parts();
        let content_type = parts
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        let parsed = Form::parse(content_type, &body).and_then(|form| FileUpload::from_form(&form));
        let upload = match parsed {
            Ok(upload) => upload,
            Err(err) => {
                let response = refuse(&err);
                return async move { Ok(response) }.boxed();
            }
        };
        parts
            .headers
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        parts.headers.remove(CONTENT_LENGTH);
        let finalize_head = (parts.headers.clone(), parts.extensions.clone());
        // The inner service was made ready for this call; the finalize call gets a clone.
        let mut finalizer = self.inner.clone();
        let created = self
            .inner
            .call(Request::from_parts(parts, upload.create_body()));
        let uploads = self.uploads.clone();
        async move {
            let response = created.await?;
            if response.status() != StatusCode::OK {
                return Ok(response);
            }
            let (mut head, body) = response.into_parts();
            let answered = run(
                &uploads,
                &mut finalizer,
                ctx,
                finalize_head,
                &head,
                body,
                upload,
            )
            .await;
            // The answer keeps the creation's routing (its account) for the record, with the
            // pooler's error code when the flow failed after it.
            let (answer, error_code) = match answered {
                Ok(answer) => (answer, None),
                Err(err) => (err.to_response(), Some(err.code())),
            };
            let (answer, body) = answer.into_parts();
            head.status = answer.status;
            head.headers = answer.headers;
            if let Some(served) = head.extensions.get_mut::<Served>() {
                served.error_code = error_code;
            }
            Ok(Response::from_parts(head, body))
        }
        .boxed()
    }
}

/// The flow after a successful creation answer: PUT, finalize, remember, answer the `file`.
async fn run<S>(
    uploads: &FileUploads,
    finalizer: &mut S,
    ctx: PoolContext,
    (headers, extensions): (HeaderMap, Extensions),
    created: &Parts,
    body: PoolBody,
    upload: FileUpload,
) -> Result<Response<PoolBody>, PoolerError>
where
    S: Service<Request<Bytes>, Response = Response<PoolBody>, Error = Infallible>,
{
    let answer = collect_limited(body, ANSWER_LIMIT)
        .await
        .map_err(|_| PoolerError::upstream_error(None))?;
    let file = CreatedFile::parse(&answer)?;
    let id = FileId::parse(&file.file_id).map_err(|_| PoolerError::upstream_error(None))?;
    let base_url = uploads
        .base_url_of(created.extensions.get::<Served>())
        .ok_or_else(|| PoolerError::upstream_error(None))?;
    let upload_url = file
        .upload_url
        .parse::<Uri>()
        .ok()
        .filter(|url| uploads.trusts(&base_url, url))
        .ok_or_else(|| {
            // The URL itself is a pre-signed credential: never logged.
            tracing::warn!("file upload URL names an untrusted host; refused");
            PoolerError::upstream_error(None)
        })?;
    uploads.put(upload_url, &upload).await?;

    let mut request = Request::new(Bytes::from_static(b"{}"));
    *request.method_mut() = Method::POST;
    *request.uri_mut() = Uri::from_static("/v1/files");
    *request.headers_mut() = headers;
    *request.extensions_mut() = extensions;
    request.extensions_mut().insert(Route {
        family: RouteFamily::OpenAiV1,
        class: RouteClass::FileFinalize,
    });
    request.extensions_mut().insert(id);
    if let Err(never) = std::future::poll_fn(|cx| finalizer.poll_ready(cx)).await {
        match never {}
    }
    let response = match finalizer.call(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    if response.status() != StatusCode::OK {
        return Err(PoolerError::upstream_error(None));
    }
    let answer = collect_limited(response.into_body(), ANSWER_LIMIT)
        .await
        .map_err(|_| PoolerError::upstream_error(None))?;
    finalized(&answer)?;

    let now = unix_seconds(uploads.clock.now());
    let object = FileObject {
        id: file.file_id,
        bytes: upload.data.len(),
        created_at: now,
        filename: upload.filename,
        purpose: upload.purpose,
    };
    uploads.catalog.insert(ctx.key, object.clone(), now);
    let mut response = Response::new(full(object.to_json().to_string()));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use codex_pooler_core::clock::SystemClock;
    use codex_pooler_core::model::Snapshot;

    use super::*;

    fn uploads(trusted: &[&str]) -> FileUploads {
        FileUploads::new(
            FileCatalog::default(),
            SnapshotHandle::new(Snapshot::default()),
            "https://chatgpt.com",
            trusted.iter().map(|h| (*h).to_owned()).collect(),
            None,
            Arc::new(SystemClock),
        )
    }

    #[test]
    fn only_the_accounts_origin_or_a_trusted_host_gets_the_bytes() {
        let uploads = uploads(&["files.example.net", "*.uploads.example.org"]);
        let base = "http://127.0.0.1:4000";
        let trusts = |url: &str| uploads.trusts(base, &url.parse().unwrap());
        assert!(trusts("http://127.0.0.1:4000/upload/file_1?sig=x"));
        assert!(trusts("https://FILES.example.net/blob/1"));
        assert!(!trusts("http://127.0.0.1:4001/upload/file_1"));
        assert!(!trusts("http://169.254.169.254/latest/meta-data"));
        assert!(!trusts("ftp://files.example.net/blob/1"));
        assert!(!trusts("/upload/file_1"));
        // Suffix entries match subdomains only, on a label boundary.
        assert!(trusts("https://eu.uploads.example.org/b/1"));
        assert!(!trusts("https://uploads.example.org/b/1"));
        assert!(!trusts("https://eviluploads.example.org/b/1"));
        // Azure Blob Storage, over https only, one account label.
        assert!(trusts("https://oaifiles.blob.core.windows.net/c/f?sig=x"));
        assert!(!trusts("http://oaifiles.blob.core.windows.net/c/f"));
        assert!(!trusts("https://blob.core.windows.net/c/f"));
        assert!(!trusts("https://a.b.blob.core.windows.net/c/f"));
        assert!(!trusts("https://blob.core.windows.net.evil.example/c/f"));
    }
}
