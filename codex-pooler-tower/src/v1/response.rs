//! [`V1Response`]: answers tagged by `V1Request` translated for the `/v1` client.

use std::convert::Infallible;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use codex_pooler_core::BoxError;
use codex_pooler_core::body::{PoolBody, full};
use codex_pooler_core::error::PoolerError;
use codex_pooler_core::translate::collect::{ResponseCollector, ResponsesStreamGuard};
use futures_util::future::{BoxFuture, FutureExt};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use tower_layer::Layer;
use tower_service::Service;

use super::answer::V1Answer;
use super::sse_blocks::{SseBlocks, encode};

/// Wraps the stack in [`V1Response`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct V1ResponseLayer;

impl<S> Layer<S> for V1ResponseLayer {
    type Service = V1Response<S>;

    fn layer(&self, inner: S) -> Self::Service {
        V1Response { inner }
    }
}

/// Translates a successful, streamed answer tagged [`V1Answer`]: a streaming client gets the
/// events through a [`ResponsesStreamGuard`] (a terminal event guaranteed), a non-stream
/// client one JSON `response` built by a [`ResponseCollector`]. Errors and untagged answers
/// pass as they are.
#[derive(Debug, Clone)]
pub(crate) struct V1Response<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for V1Response<S>
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
        async move {
            let response = answer.await?;
            let Some(V1Answer::Responses { stream }) =
                response.extensions().get::<V1Answer>().copied()
            else {
                return Ok(response);
            };
            if response.status() != StatusCode::OK || !is_event_stream(&response) {
                return Ok(response);
            }
            let (mut parts, body) = response.into_parts();
            parts.headers.remove(CONTENT_LENGTH);
            if stream {
                return Ok(Response::from_parts(parts, guarded(body)));
            }
            Ok(match collected(body).await {
                Ok(json) => {
                    parts
                        .headers
                        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                    Response::from_parts(parts, full(json))
                }
                Err(err) => err.to_response(),
            })
        }
        .boxed()
    }
}

fn is_event_stream(response: &Response<PoolBody>) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"))
}

/// The whole upstream stream as one `response` object (or the typed error to answer).
async fn collected(mut body: PoolBody) -> Result<Bytes, PoolerError> {
    let mut blocks = SseBlocks::new();
    let mut collector = ResponseCollector::new();
    // Read to the end, past the terminal event, so the record below sees the stream finish.
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Err(PoolerError::upstream_error(None));
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let events = blocks
            .feed(&data)
            .map_err(|_| PoolerError::upstream_error(None))?;
        for event in &events {
            collector.on_event(event);
        }
    }
    if let Some(event) = blocks.finish() {
        collector.on_event(&event);
    }
    let response = collector.finish()?;
    serde_json::to_vec(&response)
        .map(Bytes::from)
        .map_err(|e| PoolerError::internal(format!("cannot encode the response: {e}")))
}

/// What the streaming relay holds between frames.
struct Relay {
    body: PoolBody,
    blocks: SseBlocks,
    guard: ResponsesStreamGuard,
    done: bool,
}

impl Relay {
    /// The client's bytes for `events`.
    fn forward(&mut self, events: Vec<serde_json::Value>, out: &mut BytesMut) {
        for event in events {
            if let Some(event) = self.guard.on_event(event) {
                out.extend_from_slice(&encode(&event));
            }
        }
    }

    /// The end of the stream: a last unterminated block, then the synthetic error when the
    /// turn never reached its terminal event.
    fn end(&mut self, out: &mut BytesMut) {
        self.done = true;
        if let Some(event) = self.blocks.finish() {
            self.forward(vec![event], out);
        }
        if let Some(error) = self.guard.finish() {
            out.extend_from_slice(&encode(&error));
        }
    }
}

/// The upstream events for a streaming client, in order, through a [`ResponsesStreamGuard`].
fn guarded(body: PoolBody) -> PoolBody {
    let relay = Relay {
        body,
        blocks: SseBlocks::new(),
        guard: ResponsesStreamGuard::new(),
        done: false,
    };
    let frames = futures_util::stream::unfold(relay, |mut relay| async move {
        let mut out = BytesMut::new();
        while !relay.done && out.is_empty() {
            match relay.body.frame().await {
                Some(Ok(frame)) => {
                    let Ok(data) = frame.into_data() else {
                        continue;
                    };
                    match relay.blocks.feed(&data) {
                        Ok(events) => relay.forward(events, &mut out),
                        // A broken framing ends the turn like a cut stream.
                        Err(_) => relay.end(&mut out),
                    }
                }
                // Upstream broke or ended: close the turn for the client.
                Some(Err(_)) | None => relay.end(&mut out),
            }
        }
        if out.is_empty() {
            return None;
        }
        Some((Ok::<_, BoxError>(Frame::data(out.freeze())), relay))
    });
    StreamBody::new(frames).boxed_unsync()
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;
    use serde_json::Value;
    use tower::{ServiceExt, service_fn};

    use super::*;

    const TEXT_TURN: &str = concat!(
        "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\"}}\n\n",
        "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"hel\"}\n\n",
        "event: response.output_item.done\ndata: {\"type\":\"response.output_item.done\",\"output_index\":0,\"item\":{\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"hello\"}]}}\n\n",
        "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_1\",\"output\":[],\"usage\":{\"total_tokens\":3}}}\n\n",
    );

    /// The answer to a `/v1` client that asked `stream`, of an upstream sending `sse`.
    async fn answer(stream: bool, sse: &'static str) -> Response<PoolBody> {
        let upstream = service_fn(move |_: Request<()>| async move {
            let mut response = Response::new(full(sse));
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
            response
                .extensions_mut()
                .insert(V1Answer::Responses { stream });
            Ok::<_, Infallible>(response)
        });
        V1ResponseLayer
            .layer(upstream)
            .oneshot(Request::new(()))
            .await
            .unwrap()
    }

    async fn text(response: Response<PoolBody>) -> String {
        let body = response.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(body.to_vec()).unwrap()
    }

    fn events(sse: &str) -> Vec<Value> {
        let mut blocks = SseBlocks::new();
        blocks.feed(sse.as_bytes()).unwrap()
    }

    #[tokio::test]
    async fn a_non_stream_client_gets_one_response_with_the_items() {
        let response = answer(false, TEXT_TURN).await;
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        let body: Value = serde_json::from_str(&text(response).await).unwrap();
        assert_eq!(body["id"], "resp_1");
        assert_eq!(body["object"], "response");
        assert_eq!(body["output"][0]["content"][0]["text"], "hello");
        assert_eq!(body["usage"]["total_tokens"], 3);
    }

    #[tokio::test]
    async fn a_failed_turn_is_a_sanitized_502_for_a_non_stream_client() {
        let failed = "data: {\"type\":\"response.failed\",\"response\":{\"id\":\"resp_2\",\"error\":{\"code\":\"server_error\",\"message\":\"secret detail\"}}}\n\n";
        let response = answer(false, failed).await;
        assert_eq!(response.status().as_u16(), 502);
        let body = text(response).await;
        assert!(!body.contains("secret detail"), "{body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["error"]["code"], "upstream_error");
    }

    #[tokio::test]
    async fn a_stream_passes_in_order_and_completed_output_is_filled() {
        let response = answer(true, TEXT_TURN).await;
        let got = events(&text(response).await);
        let kinds: Vec<_> = got.iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            [
                "response.created",
                "response.output_text.delta",
                "response.output_item.done",
                "response.completed"
            ]
        );
        assert_eq!(
            got[3]["response"]["output"][0]["content"][0]["text"],
            "hello"
        );
    }

    #[tokio::test]
    async fn a_stream_cut_after_output_ends_with_an_error_event() {
        let cut = concat!(
            "data: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_3\"}}\n\n",
            "data: {\"type\":\"response.output_text.delta\",\"delta\":\"par\"}\n\n",
        );
        let response = answer(true, cut).await;
        let got = events(&text(response).await);
        let last = got.last().unwrap();
        assert_eq!(last["type"], "error", "{got:?}");
        assert_eq!(last["error"]["type"], "server_error");
    }

    #[tokio::test]
    async fn errors_and_untagged_answers_pass_as_they_are() {
        let upstream = service_fn(|_: Request<()>| async {
            let mut response = Response::new(full(r#"{"detail":"no"}"#));
            *response.status_mut() = StatusCode::BAD_REQUEST;
            response
                .extensions_mut()
                .insert(V1Answer::Responses { stream: false });
            Ok::<_, Infallible>(response)
        });
        let response = V1ResponseLayer
            .layer(upstream)
            .oneshot(Request::new(()))
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 400);
        assert_eq!(text(response).await, r#"{"detail":"no"}"#);
    }
}
