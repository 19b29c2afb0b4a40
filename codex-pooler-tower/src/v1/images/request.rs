//! [`V1ImagesRequest`]: `/v1/images/*` bodies translated into a Codex image-tool turn.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use codex_pooler_core::body::PoolBody;
use codex_pooler_core::error::{ErrorCode, ErrorType, PoolerError};
use codex_pooler_core::request::{PoolContext, Route, RouteClass, RouteFamily};
use codex_pooler_core::translate::images::{ImageRequest, ImageRoute};
use codex_pooler_core::translate::multipart::Form;
use futures_util::future::{BoxFuture, FutureExt};
use http::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use http::{Request, Response, StatusCode};
use serde_json::{Map, Value};
use tower_layer::Layer;
use tower_service::Service;

use super::ImagesAnswer;
use crate::pooler::Shared;
use crate::records::refuse;

/// Wraps a decoded-request service in [`V1ImagesRequest`].
#[derive(Debug, Clone)]
pub(crate) struct V1ImagesRequestLayer {
    shared: Arc<Shared>,
}

impl V1ImagesRequestLayer {
    /// A layer choosing the turn's model from the pool catalog in `shared`.
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }
}

impl<S> Layer<S> for V1ImagesRequestLayer {
    type Service = V1ImagesRequest<S>;

    fn layer(&self, inner: S) -> Self::Service {
        V1ImagesRequest {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

/// Rewrites a `/v1/images/generations` or `/v1/images/edits` request into the Codex turn and
/// tags its answer [`ImagesAnswer`]; a body the translation refuses is answered here. Every
/// other request passes untouched.
#[derive(Debug, Clone)]
pub(crate) struct V1ImagesRequest<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> Service<Request<Bytes>> for V1ImagesRequest<S>
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
        let image_route = match request.extensions().get::<Route>() {
            Some(Route {
                family: RouteFamily::OpenAiV1,
                class: RouteClass::ImageGenerations,
            }) => ImageRoute::Generations,
            Some(Route {
                family: RouteFamily::OpenAiV1,
                class: RouteClass::ImageEdits,
            }) => ImageRoute::Edits,
            _ => return self.inner.call(request).boxed(),
        };
        let (mut parts, body) = request.into_parts();
        let translated = parts
            .extensions
            .get::<PoolContext>()
            .copied()
            .ok_or_else(PoolerError::invalid_api_key)
            .and_then(|ctx| {
                let content_type = parts
                    .headers
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok());
                let image = parse(image_route, content_type, &body)?;
                let model = host_model(&self.shared, ctx).ok_or_else(no_host_model)?;
                serde_json::to_vec(&image.to_codex(&model))
                    .map(Bytes::from)
                    .map_err(|e| PoolerError::internal(format!("cannot encode the request: {e}")))
            });
        let body = match translated {
            Ok(body) => body,
            Err(err) => {
                let response = refuse(&err);
                return async move { Ok(response) }.boxed();
            }
        };
        parts.extensions.insert(Route {
            family: RouteFamily::OpenAiV1,
            class: RouteClass::Responses,
        });
        let headers = &mut parts.headers;
        headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.remove(CONTENT_LENGTH);
        let answer = self.inner.call(Request::from_parts(parts, body));
        async move {
            let mut response = answer.await?;
            response.extensions_mut().insert(ImagesAnswer);
            Ok(response)
        }
        .boxed()
    }
}

/// The validated request: JSON for generations, multipart (at most 25 MiB) for edits.
fn parse(
    route: ImageRoute,
    content_type: Option<&str>,
    body: &Bytes,
) -> Result<ImageRequest, PoolerError> {
    match route {
        ImageRoute::Generations => {
            let fields: Map<String, Value> = serde_json::from_slice(body).map_err(|_| {
                PoolerError::invalid_request("the request body must be a JSON object")
            })?;
            ImageRequest::from_fields(route, &fields)
        }
        ImageRoute::Edits => ImageRequest::from_form(&Form::parse(content_type, body)?),
    }
}

/// The model the image turn runs on: the first of the pool's catalog the key may use.
fn host_model(shared: &Shared, ctx: PoolContext) -> Option<String> {
    let snapshot = shared.snapshot.load();
    let accounts: Vec<_> = snapshot
        .pool_accounts(ctx.pool)
        .iter()
        .filter(|a| a.lifecycle.is_routable())
        .cloned()
        .collect();
    let catalog = shared.live.pool_catalog(&accounts);
    let policy = snapshot.key(ctx.key).map(|k| &k.policy);
    catalog
        .models
        .iter()
        .filter_map(|entry| entry.get("slug").and_then(Value::as_str))
        .find(|slug| policy.is_none_or(|p| p.allows_model(slug)))
        .map(str::to_owned)
}

/// 503 `no_eligible_account`: no model of the pool is known yet to run the image tool on.
fn no_host_model() -> PoolerError {
    PoolerError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        ErrorType::InvalidRequestError,
        ErrorCode::NoEligibleAccount,
        "no model of this pool is available to run image generation",
    )
}
