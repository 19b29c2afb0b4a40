//! [`V1Request`]: `/v1` request bodies translated into the Codex shape.

use std::convert::Infallible;
use std::task::{Context, Poll};

use bytes::Bytes;
use codex_pooler_core::body::PoolBody;
use codex_pooler_core::error::PoolerError;
use codex_pooler_core::request::{Route, RouteClass, RouteFamily};
use codex_pooler_core::translate::{chat, responses};
use futures_util::future::{BoxFuture, FutureExt};
use http::header::{ACCEPT, HeaderValue};
use http::{Request, Response};
use serde_json::{Map, Value};
use tower_layer::Layer;
use tower_service::Service;

use super::answer::V1Answer;
use crate::records::{DroppedParameters, refuse};

/// Wraps a decoded-request service in [`V1Request`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct V1RequestLayer;

impl<S> Layer<S> for V1RequestLayer {
    type Service = V1Request<S>;

    fn layer(&self, inner: S) -> Self::Service {
        V1Request { inner }
    }
}

/// Rewrites a `POST /v1/responses` or `POST /v1/chat/completions` body into the Codex
/// request and tags the answer with [`V1Answer`]; a body the translation refuses is answered here (400 `invalid_request` or
/// `unsupported_parameter`). Every other request passes untouched.
#[derive(Debug, Clone)]
pub(crate) struct V1Request<S> {
    inner: S,
}

impl<S> Service<Request<Bytes>> for V1Request<S>
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
        let translated = request.extensions().get::<Route>().is_some_and(|route| {
            route.family == RouteFamily::OpenAiV1 && route.class == RouteClass::Responses
        });
        if !translated {
            return self.inner.call(request).boxed();
        }
        let is_chat = Route::is_chat_completions(request.uri().path());
        let (mut parts, body) = request.into_parts();
        let translated = if is_chat {
            translate_chat(&body)
        } else {
            translate_responses(&body)
        };
        match translated {
            Ok((body, tag, dropped)) => {
                // The backend streams; the answer is collected above for non-stream clients.
                parts
                    .headers
                    .insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
                let answer = self.inner.call(Request::from_parts(parts, body));
                async move {
                    let mut response = answer.await?;
                    response.extensions_mut().insert(tag);
                    response.extensions_mut().insert(DroppedParameters(dropped));
                    Ok(response)
                }
                .boxed()
            }
            Err(err) => {
                let response = refuse(&err);
                async move { Ok(response) }.boxed()
            }
        }
    }
}

/// A translated body: the upstream bytes, the answer's tag and the dropped parameters' names.
type Translated = (Bytes, V1Answer, Vec<&'static str>);

/// The Codex body for a `/v1/responses` body, and the answer's tag.
fn translate_responses(body: &[u8]) -> Result<Translated, PoolerError> {
    let call = responses::to_codex(json_object(body)?)?;
    let tag = V1Answer::Responses {
        stream: call.client_stream,
    };
    Ok((encode(&call.body)?, tag, call.dropped))
}

/// The Codex body for a `/v1/chat/completions` body, and the answer's tag.
fn translate_chat(body: &[u8]) -> Result<Translated, PoolerError> {
    let call = chat::to_codex(json_object(body)?)?;
    let encoded = encode(&call.body)?;
    let tag = V1Answer::Chat {
        stream: call.client_stream,
        include_usage: call.include_usage,
        model: call.model,
    };
    Ok((encoded, tag, call.dropped))
}

fn json_object(body: &[u8]) -> Result<Map<String, Value>, PoolerError> {
    serde_json::from_slice(body)
        .map_err(|_| PoolerError::invalid_request("the request body must be a JSON object"))
}

/// The upstream body's bytes.
fn encode(body: &Map<String, Value>) -> Result<Bytes, PoolerError> {
    serde_json::to_vec(body)
        .map(Bytes::from)
        .map_err(|e| PoolerError::internal(format!("cannot encode the request body: {e}")))
}

#[cfg(test)]
mod tests {
    use codex_pooler_core::request::Classified;
    use http::Method;
    use http_body_util::BodyExt;
    use tower::{ServiceExt, service_fn};

    use super::*;

    /// Sends `body` to `path`; the inner service echoes the body it got.
    async fn send(path: &str, body: &'static str) -> Response<PoolBody> {
        let Classified::Pooled(route) = Route::classify(&Method::POST, path) else {
            panic!("{path} is not pooled");
        };
        let echo = service_fn(|request: Request<Bytes>| async move {
            let accept = request.headers().get(ACCEPT).cloned();
            let mut response = Response::new(codex_pooler_core::body::full(request.into_body()));
            if let Some(accept) = accept {
                response.headers_mut().insert(ACCEPT, accept);
            }
            Ok::<_, Infallible>(response)
        });
        let mut request = Request::new(Bytes::from_static(body.as_bytes()));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = path.parse().unwrap();
        request.extensions_mut().insert(route);
        V1RequestLayer.layer(echo).oneshot(request).await.unwrap()
    }

    async fn json(response: Response<PoolBody>) -> Value {
        let body = response.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&body).unwrap()
    }

    #[tokio::test]
    async fn a_v1_responses_body_goes_upstream_in_the_codex_shape() {
        let response = send(
            "/v1/responses",
            r#"{"model":"gpt-5.4","input":"hi","temperature":0.2,"store":true}"#,
        )
        .await;
        assert_eq!(
            response.extensions().get::<V1Answer>(),
            Some(&V1Answer::Responses { stream: false })
        );
        assert_eq!(response.headers()[ACCEPT], "text/event-stream");
        let body = json(response).await;
        assert_eq!(body["stream"], true);
        assert_eq!(body["store"], false);
        assert!(body.get("temperature").is_none());
        assert_eq!(body["input"][0]["content"][0]["text"], "hi");
    }

    #[tokio::test]
    async fn a_parameter_with_no_codex_meaning_is_refused_by_name() {
        let response = send(
            "/v1/responses",
            r#"{"model":"gpt-5.4","input":"hi","background":true}"#,
        )
        .await;
        assert_eq!(response.status().as_u16(), 400);
        let body = json(response).await;
        assert_eq!(
            body,
            serde_json::json!({"error": {
                "message": "Unsupported parameter: background",
                "type": "invalid_request_error",
                "code": "unsupported_parameter",
                "param": "background",
            }})
        );
    }

    #[tokio::test]
    async fn a_chat_body_goes_upstream_as_a_responses_turn() {
        let response = send(
            "/v1/chat/completions",
            r#"{"model":"gpt-5.4","messages":[{"role":"user","content":"hi"}],"stream":true,
                "stream_options":{"include_usage":true},"max_tokens":9}"#,
        )
        .await;
        assert_eq!(
            response.extensions().get::<V1Answer>(),
            Some(&V1Answer::Chat {
                stream: true,
                include_usage: true,
                model: "gpt-5.4".into()
            })
        );
        assert_eq!(response.headers()[ACCEPT], "text/event-stream");
        let body = json(response).await;
        assert_eq!(body["stream"], true);
        assert_eq!(body["store"], false);
        assert!(body.get("max_tokens").is_none());
        assert!(body.get("messages").is_none());
        assert_eq!(body["input"][0]["content"][0]["text"], "hi");
    }

    #[tokio::test]
    async fn a_refused_chat_parameter_is_answered_here() {
        let response = send(
            "/v1/chat/completions",
            r#"{"model":"gpt-5.4","messages":[{"role":"user","content":"hi"}],"n":3}"#,
        )
        .await;
        assert_eq!(response.status().as_u16(), 400);
        assert_eq!(
            json(response).await,
            serde_json::json!({"error": {
                "message": "Unsupported parameter: n",
                "type": "invalid_request_error",
                "code": "unsupported_parameter",
                "param": "n",
            }})
        );
    }

    #[tokio::test]
    async fn a_body_of_no_json_object_is_refused() {
        let response = send("/v1/responses", "[]").await;
        assert_eq!(response.status().as_u16(), 400);
        assert_eq!(json(response).await["error"]["code"], "invalid_request");
    }

    #[tokio::test]
    async fn backend_requests_pass_untouched() {
        let body = r#"{"model":"gpt-5.4","input":[],"temperature":0.2}"#;
        let response = send("/backend-api/codex/responses", body).await;
        assert!(response.extensions().get::<V1Answer>().is_none());
        assert_eq!(json(response).await["temperature"], 0.2);
    }
}
