//! [`V1Transcription`]: `/v1/audio/transcriptions` onto `/backend-api/transcribe` and back
//! ([`translate::transcription`](codex_pooler_core::translate::transcription)).

use std::convert::Infallible;
use std::task::{Context, Poll};

use bytes::Bytes;
use codex_pooler_core::body::{PoolBody, full};
use codex_pooler_core::error::PoolerError;
use codex_pooler_core::request::{Route, RouteClass, RouteFamily};
use codex_pooler_core::translate::multipart::Form;
use codex_pooler_core::translate::transcription::Transcription;
use futures_util::future::{BoxFuture, FutureExt};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use tower_layer::Layer;
use tower_service::Service;

use crate::records::refuse;

/// Wraps a decoded-request service in [`V1Transcription`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct V1TranscriptionLayer;

impl<S> Layer<S> for V1TranscriptionLayer {
    type Service = V1Transcription<S>;

    fn layer(&self, inner: S) -> Self::Service {
        V1Transcription { inner }
    }
}

/// Rewrites a `/v1/audio/transcriptions` form into the backend's (at most 25 MiB, else 413
/// `request_too_large`), and upstream's `{"text"}` answer into the format the client asked
/// for. Refused forms are answered here; every other request passes untouched. The answer is
/// plain JSON (no events), so it is translated right here, below the record.
#[derive(Debug, Clone)]
pub(crate) struct V1Transcription<S> {
    inner: S,
}

impl<S> Service<Request<Bytes>> for V1Transcription<S>
where
    S: Service<Request<Bytes>, Response = Response<PoolBody>, Error = Infallible>,
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
            r.family == RouteFamily::OpenAiV1 && r.class == RouteClass::Transcribe
        });
        if !ours {
            return self.inner.call(request).boxed();
        }
        let (mut parts, body) = request.into_parts();
        let content_type = parts
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        let parsed =
            Form::parse(content_type, &body).and_then(|form| Transcription::from_form(&form));
        let transcription = match parsed {
            Ok(t) => t,
            Err(err) => {
                let response = refuse(&err);
                return async move { Ok(response) }.boxed();
            }
        };
        let (content_type, body) = transcription.to_upstream();
        match HeaderValue::try_from(content_type) {
            Ok(value) => parts.headers.insert(CONTENT_TYPE, value),
            Err(_) => parts.headers.remove(CONTENT_TYPE),
        };
        parts.headers.remove(CONTENT_LENGTH);
        let answer = self.inner.call(Request::from_parts(parts, body));
        async move {
            let response = answer.await?;
            if response.status() != StatusCode::OK {
                return Ok(response);
            }
            let (mut parts, body) = response.into_parts();
            let Ok(collected) = body.collect().await else {
                return Ok(PoolerError::upstream_error(None).to_response());
            };
            Ok(match transcription.answer(&collected.to_bytes()) {
                Ok((kind, text)) => {
                    parts.headers.remove(CONTENT_LENGTH);
                    parts
                        .headers
                        .insert(CONTENT_TYPE, HeaderValue::from_static(kind));
                    Response::from_parts(parts, full(text))
                }
                Err(err) => err.to_response(),
            })
        }
        .boxed()
    }
}
