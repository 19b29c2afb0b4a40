//! [`V1Response`]: answers tagged by `V1Request` translated for the `/v1` client.

use std::convert::Infallible;
use std::task::{Context, Poll};

use bytes::Bytes;
use codex_pooler_core::body::{PoolBody, full};
use codex_pooler_core::error::PoolerError;
use futures_util::future::{BoxFuture, FutureExt};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use http::{Request, Response, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

use super::answer::V1Answer;
use super::{chat_answer, error_answer, responses_answer};

/// Wraps the stack in [`V1Response`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct V1ResponseLayer;

impl<S> Layer<S> for V1ResponseLayer {
    type Service = V1Response<S>;

    fn layer(&self, inner: S) -> Self::Service {
        V1Response { inner }
    }
}

/// Translates a successful, streamed answer tagged [`V1Answer`] for its dialect: a
/// `/v1/responses` stream guarded (a terminal event guaranteed) or collected into one
/// `response`; a chat stream turned into chunks or collected into one `chat.completion`.
/// An error answered before streaming gets the OpenAI error shape (`error_answer`); other
/// answers, and untagged ones, pass as they are.
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
            let Some(answer) = response.extensions().get::<V1Answer>().cloned() else {
                return Ok(response);
            };
            let status = response.status();
            if status.is_client_error() || status.is_server_error() {
                return Ok(error_answer::shaped(response).await);
            }
            if status != StatusCode::OK || !is_event_stream(&response) {
                return Ok(response);
            }
            let (mut parts, body) = response.into_parts();
            parts.headers.remove(CONTENT_LENGTH);
            if answer.streams() {
                let body = match &answer {
                    V1Answer::Responses { .. } => responses_answer::streamed(body),
                    V1Answer::Chat {
                        include_usage,
                        model,
                        ..
                    } => chat_answer::streamed(body, model, *include_usage),
                };
                return Ok(Response::from_parts(parts, body));
            }
            let collected = match &answer {
                V1Answer::Responses { .. } => responses_answer::collected(body).await,
                V1Answer::Chat { model, .. } => chat_answer::collected(body, model).await,
            };
            Ok(json_answer(parts, collected))
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

/// A collected answer as `application/json`, or its typed error.
fn json_answer(
    mut parts: http::response::Parts,
    collected: Result<Bytes, PoolerError>,
) -> Response<PoolBody> {
    match collected {
        Ok(json) => {
            parts
                .headers
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            Response::from_parts(parts, full(json))
        }
        Err(err) => err.to_response(),
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;
    use serde_json::Value;
    use tower::{ServiceExt, service_fn};

    use super::*;
    use crate::v1::sse_blocks::SseBlocks;

    const TEXT_TURN: &str = concat!(
        "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\"}}\n\n",
        "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"hel\"}\n\n",
        "event: response.output_item.done\ndata: {\"type\":\"response.output_item.done\",\"output_index\":0,\"item\":{\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"hello\"}]}}\n\n",
        "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_1\",\"output\":[],\"usage\":{\"total_tokens\":3}}}\n\n",
    );

    /// The answer to a `/v1/responses` client that asked `stream`, of an upstream sending
    /// `sse`.
    async fn answer(stream: bool, sse: &'static str) -> Response<PoolBody> {
        tagged(V1Answer::Responses { stream }, sse).await
    }

    /// The answer to a `/v1` client of the dialect `tag` says, of an upstream sending `sse`.
    async fn tagged(tag: V1Answer, sse: &'static str) -> Response<PoolBody> {
        let upstream = service_fn(move |_: Request<()>| {
            let tag = tag.clone();
            async move {
                let mut response = Response::new(full(sse));
                response
                    .headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
                response.extensions_mut().insert(tag);
                Ok::<_, Infallible>(response)
            }
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

    fn chat(stream: bool, include_usage: bool) -> V1Answer {
        V1Answer::Chat {
            stream,
            include_usage,
            model: "asked".to_owned(),
        }
    }

    #[tokio::test]
    async fn a_chat_client_gets_chunks_then_done() {
        let response = tagged(chat(true, true), TEXT_TURN).await;
        assert!(is_event_stream(&response));
        let body = text(response).await;
        let data: Vec<&str> = body
            .split("\n\n")
            .filter_map(|b| b.strip_prefix("data: "))
            .collect();
        assert_eq!(data.last(), Some(&"[DONE]"), "{body}");
        let chunks: Vec<Value> = data[..data.len() - 1]
            .iter()
            .map(|d| serde_json::from_str(d).unwrap())
            .collect();
        assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
        assert_eq!(chunks[1]["choices"][0]["delta"]["content"], "hel");
        assert_eq!(chunks[2]["choices"][0]["finish_reason"], "stop");
        assert_eq!(chunks[3]["choices"], serde_json::json!([]));
        assert_eq!(chunks[3]["usage"]["total_tokens"], 3);
        assert_eq!(chunks[0]["id"], "chatcmpl-1");
    }

    #[tokio::test]
    async fn a_non_stream_chat_client_gets_one_completion() {
        let response = tagged(chat(false, false), TEXT_TURN).await;
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        let body: Value = serde_json::from_str(&text(response).await).unwrap();
        assert_eq!(body["object"], "chat.completion");
        assert_eq!(body["model"], "asked");
        assert_eq!(body["choices"][0]["message"]["content"], "hello");
    }

    #[tokio::test]
    async fn a_cut_chat_stream_ends_with_one_error_chunk_and_no_done() {
        let cut = "data: {\"type\":\"response.output_text.delta\",\"delta\":\"par\"}\n\n";
        let body = text(tagged(chat(true, false), cut).await).await;
        assert!(!body.contains("[DONE]"), "{body}");
        let last = body.trim_end().rsplit("data: ").next().unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(last).unwrap(),
            serde_json::json!({"error": {"message": "upstream stream ended early",
                "type": "server_error", "code": "server_error", "param": null}})
        );
    }

    #[tokio::test]
    async fn refusals_are_openai_shaped_and_untagged_answers_pass() {
        for tagged in [true, false] {
            let upstream = service_fn(move |_: Request<()>| async move {
                let mut response = Response::new(full(r#"{"detail":"no"}"#));
                *response.status_mut() = StatusCode::BAD_REQUEST;
                if tagged {
                    response
                        .extensions_mut()
                        .insert(V1Answer::Responses { stream: false });
                }
                Ok::<_, Infallible>(response)
            });
            let response = V1ResponseLayer
                .layer(upstream)
                .oneshot(Request::new(()))
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 400);
            let body = text(response).await;
            if tagged {
                assert_eq!(
                    serde_json::from_str::<Value>(&body).unwrap(),
                    serde_json::json!({"error": {"message": "no",
                        "type": "invalid_request_error", "code": "upstream_error",
                        "param": null}})
                );
            } else {
                assert_eq!(body, r#"{"detail":"no"}"#);
            }
        }
    }
}
