//! [`V1ImagesAnswer`]: an image turn's events as the OpenAI images answer.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use codex_pooler_core::body::{PoolBody, full};
use codex_pooler_core::clock::{Clock, unix_seconds};
use codex_pooler_core::error::PoolerError;
use codex_pooler_core::translate::images::ImageCollector;
use futures_util::future::{BoxFuture, FutureExt};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use tower_layer::Layer;
use tower_service::Service;

use super::ImagesAnswer;
use crate::v1::sse_blocks::SseBlocks;

/// Wraps the stack in [`V1ImagesAnswer`].
#[derive(Debug, Clone)]
pub(crate) struct V1ImagesAnswerLayer {
    clock: Arc<dyn Clock>,
}

impl V1ImagesAnswerLayer {
    /// A layer dating answers with `clock`.
    pub(crate) fn new(clock: Arc<dyn Clock>) -> Self {
        Self { clock }
    }
}

impl<S> Layer<S> for V1ImagesAnswerLayer {
    type Service = V1ImagesAnswer<S>;

    fn layer(&self, inner: S) -> Self::Service {
        V1ImagesAnswer {
            inner,
            clock: Arc::clone(&self.clock),
        }
    }
}

/// Collects a successful, streamed answer tagged [`ImagesAnswer`] into the images object;
/// errors and untagged answers pass as they are.
#[derive(Debug, Clone)]
pub(crate) struct V1ImagesAnswer<S> {
    inner: S,
    clock: Arc<dyn Clock>,
}

impl<S, B> Service<Request<B>> for V1ImagesAnswer<S>
where
    S: Service<Request<B>, Response = Response<PoolBody>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response<PoolBody>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<PoolBody>, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let answer = self.inner.call(request);
        let clock = Arc::clone(&self.clock);
        async move {
            let response = answer.await?;
            let streamed = response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("text/event-stream"));
            let tagged = response.extensions().get::<ImagesAnswer>().is_some();
            if !tagged || response.status() != StatusCode::OK || !streamed {
                return Ok(response);
            }
            let (mut parts, body) = response.into_parts();
            Ok(match collected(body).await {
                Ok(collector) => match collector.finish(unix_seconds(clock.now())) {
                    Ok(json) => {
                        parts.headers.remove(CONTENT_LENGTH);
                        parts
                            .headers
                            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                        Response::from_parts(parts, full(Bytes::from(json.to_string())))
                    }
                    Err(err) => err.to_response(),
                },
                Err(err) => err.to_response(),
            })
        }
        .boxed()
    }
}

/// Reads the whole stream (past its terminal event, so the record below sees it end).
async fn collected(mut body: PoolBody) -> Result<ImageCollector, PoolerError> {
    let mut blocks = SseBlocks::new();
    let mut collector = ImageCollector::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Err(PoolerError::image_generation_failed());
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let events = blocks
            .feed(&data)
            .map_err(|_| PoolerError::image_generation_failed())?;
        for event in &events {
            collector.on_event(event);
        }
    }
    if let Some(event) = blocks.finish() {
        collector.on_event(&event);
    }
    Ok(collector)
}
