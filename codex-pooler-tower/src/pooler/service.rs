//! [`PoolerService`]: answers pooled paths, passes everything else to the inner service.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use codex_pooler_core::BoxError;
use codex_pooler_core::body::{PoolBody, boxed};
use codex_pooler_core::dispatch::{Outcome, ROUTE_RECEIPT_HEADER};
use codex_pooler_core::error::PoolerError;
use codex_pooler_core::facts::{RequestFacts, check_id_headers};
use codex_pooler_core::file_id::FileId;
use codex_pooler_core::record::RequestRecord;
use codex_pooler_core::request::{PoolContext, PoolRequest};
use codex_pooler_core::route::{Classified, Route, RouteClass, file_id_of_finalize};
use http::header::{CONTENT_ENCODING, CONTENT_TYPE, HeaderValue};
use http::{Request, Response};
use http_body::Body;
use http_body_util::BodyExt;
use tower::ServiceExt;
use tower_service::Service;

use super::{Pooler, Shared, local};
use crate::auth::authenticate;
use crate::decode::decode_body;
use crate::observe::{ObservedBody, RecordDraft};
use crate::upstream::filter_response_headers;

/// The pooler in front of an inner service.
///
/// Requests to `POST /backend-api/codex/responses` and `POST /v1/responses` are authenticated
/// with a Pool API key, planned, and dispatched to an upstream account; the answer streams back
/// unbuffered. Other `/v1` paths answer `unsupported_endpoint`. Every other request goes to the
/// inner service unchanged.
#[derive(Debug, Clone)]
pub struct PoolerService<S> {
    inner: S,
    pooler: Pooler,
}

impl<S> PoolerService<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, pooler: Pooler) -> Self {
        Self { inner, pooler }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for PoolerService<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    S::Future: Send + 'static,
    ReqB: Body<Data = Bytes> + Send + 'static,
    ReqB::Error: Into<BoxError>,
    ResB: Body<Data = Bytes> + Send + 'static,
    ResB::Error: Into<BoxError>,
{
    type Response = Response<PoolBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<PoolBody>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqB>) -> Self::Future {
        match Route::classify(request.method(), request.uri().path()) {
            Classified::NotPooled => {
                let fut = self.inner.call(request);
                Box::pin(async move { Ok(fut.await?.map(boxed)) })
            }
            Classified::UnsupportedV1 => {
                let shared = Arc::clone(&self.pooler.shared);
                Box::pin(async move {
                    let answer = match authorize(&shared, request.headers()) {
                        Ok(_) => PoolerError::unsupported_endpoint(),
                        Err(err) => err,
                    };
                    Ok(answer.to_response())
                })
            }
            Classified::Pooled(route) => {
                let shared = Arc::clone(&self.pooler.shared);
                Box::pin(async move { Ok(serve(shared, route, request).await) })
            }
        }
    }
}

fn authorize(shared: &Shared, headers: &http::HeaderMap) -> Result<PoolContext, PoolerError> {
    let snapshot = shared.snapshot.load();
    authenticate(headers, &snapshot, &shared.hasher, shared.clock.now())
}

async fn serve<B>(shared: Arc<Shared>, route: Route, request: Request<B>) -> Response<PoolBody>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let received_at = shared.clock.now();
    let ctx = match authorize(&shared, request.headers()) {
        Ok(ctx) => ctx,
        Err(err) => return err.to_response(),
    };
    if route.class == RouteClass::ResponsesWebsocket {
        return crate::websocket::upgrade(shared, ctx, route, request, received_at).await;
    }
    if route.class.is_local() {
        return local::answer(&shared, ctx, route.class, request.headers());
    }
    // Finalizing an upload names a file in its path: it must be a valid id the pool learned
    // from a creation it routed, checked before the body is read or anything is planned.
    let file_id = if route.class == RouteClass::FileFinalize {
        match known_file(&shared, ctx, request.uri().path()) {
            Ok(id) => Some(id),
            Err(err) => {
                let record = base_record(ctx, route, &RequestFacts::default(), received_at);
                finish_error_record(&shared, record, &err);
                return err.to_response();
            }
        }
    } else {
        None
    };

    let (parts, body) = request.into_parts();
    let prepared = read_body(body, shared.limits.max_wire_bytes)
        .await
        .and_then(|wire| decode_body(parts.headers.get(CONTENT_ENCODING), wire, shared.limits))
        .and_then(|body| {
            if route.class == RouteClass::Transcribe {
                // Multipart audio: nothing to read for routing, and nothing is looked at.
                check_id_headers(&parts.headers)?;
                return Ok((body, RequestFacts::default()));
            }
            let mut facts = RequestFacts::from_json(&parts.headers, &body)?;
            // Legacy compaction is never retried elsewhere, like a trailing compaction trigger.
            facts.compaction |= route.class == RouteClass::Compact;
            // Finalizing an upload goes to the account holding the file (a hard pin).
            if let Some(id) = &file_id {
                facts.continuity.file_ids.push(id.as_str().to_owned());
            }
            Ok((body, facts))
        });
    let (body, facts) = match prepared {
        Ok(ok) => ok,
        Err(err) => {
            let record = base_record(ctx, route, &RequestFacts::default(), received_at);
            finish_error_record(&shared, record, &err);
            return err.to_response();
        }
    };

    let pool_request = PoolRequest {
        ctx,
        route,
        facts,
        method: parts.method,
        headers: parts.headers,
        body,
        seed: rand::random(),
        received_at,
        file_id,
    };
    let record = base_record(ctx, route, &pool_request.facts, received_at);
    let mut outcome = match shared.pipeline.clone().oneshot(pool_request).await {
        Ok(outcome) => outcome,
        Err(never) => match never {},
    };
    if route.class == RouteClass::FileCreate && outcome.response.status().is_success() {
        outcome = learn_file(&shared, ctx, outcome).await;
    }
    respond(&shared, outcome, record)
}

/// The file a finalize request names, parsed from the raw (never percent-decoded) path:
/// `invalid_file_id` unless it has the upstream id shape, `file_not_found` unless the pool's
/// continuity book learned it from a file creation the gateway routed.
fn known_file(shared: &Shared, ctx: PoolContext, path: &str) -> Result<FileId, PoolerError> {
    let id = match file_id_of_finalize(path) {
        Some(Ok(id)) => id,
        Some(Err(reason)) => return Err(PoolerError::invalid_file_id(&reason)),
        // Classification only names this route for the finalize shape.
        None => return Err(PoolerError::file_not_found()),
    };
    let now = shared.clock.now();
    match shared
        .live
        .continuity
        .file_owner(ctx.pool, id.as_str(), now)
    {
        Some(_) => Ok(id),
        None => Err(PoolerError::file_not_found()),
    }
}

/// A created file lives on the account that created it: remember `file_id` so requests naming
/// it are pinned there. The answer is a small JSON object, read whole and passed on unchanged.
async fn learn_file(shared: &Shared, ctx: PoolContext, mut outcome: Outcome) -> Outcome {
    const LIMIT: usize = 64 * 1024;
    let placeholder = Response::new(codex_pooler_core::body::full(bytes::Bytes::new()));
    let (parts, body) = std::mem::replace(&mut outcome.response, placeholder).into_parts();
    let bytes = match read_body(body, LIMIT).await {
        Ok(bytes) => bytes,
        Err(err) => {
            tracing::warn!(code = err.code(), "file creation answer could not be read");
            let error = PoolerError::upstream_unavailable();
            outcome.response = error.to_response();
            outcome.served_by = None;
            outcome.error_code = Some(error.code());
            return outcome;
        }
    };
    let file_id = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| {
            v.get("file_id")
                .and_then(|id| id.as_str().map(FileId::parse))
        });
    match (file_id, outcome.served_by.as_ref()) {
        (Some(Ok(id)), Some(account)) => {
            shared.live.continuity.learn_file(
                ctx.pool,
                id.as_str(),
                account.id,
                shared.clock.now(),
            );
        }
        // An id that could never be finalized through the gateway is not remembered.
        (Some(Err(reason)), _) => {
            tracing::warn!(%reason, "upstream created a file with an id of unexpected shape");
        }
        _ => {}
    }
    outcome.response = Response::from_parts(parts, codex_pooler_core::body::full(bytes));
    outcome
}

/// Turns the pipeline's outcome into the client response, with the record attached to its body.
fn respond(shared: &Shared, outcome: Outcome, mut record: RequestRecord) -> Response<PoolBody> {
    let (mut parts, body) = outcome.response.into_parts();
    filter_response_headers(&mut parts.headers);
    shared.models_etags.rewrite(
        &mut parts.headers,
        &shared.snapshot,
        &shared.live,
        record.pool,
    );
    if let Some(value) = outcome
        .receipt
        .as_ref()
        .and_then(|r| HeaderValue::from_str(&r.header_value(&shared.handles)).ok())
    {
        parts.headers.insert(ROUTE_RECEIPT_HEADER, value);
    }
    let sse = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    let account = outcome.served_by.as_ref().map(|a| a.id);
    record.account = account;
    record.status = parts.status.as_u16();
    record.attempts = u32::try_from(outcome.attempts.len()).unwrap_or(u32::MAX);
    record.error_code = outcome.error_code.map(str::to_owned);
    record.set_exclusions(&outcome.exclusions);
    let draft = RecordDraft {
        record,
        sink: Arc::clone(&shared.records),
    };
    let body = ObservedBody::new(
        body,
        sse,
        account,
        Arc::clone(&shared.live),
        Arc::clone(&shared.clock),
        draft,
        outcome.guard,
    );
    Response::from_parts(parts, boxed(body))
}

fn base_record(
    ctx: PoolContext,
    route: Route,
    facts: &RequestFacts,
    received_at: std::time::SystemTime,
) -> RequestRecord {
    RequestRecord::new(
        received_at,
        ctx.pool,
        ctx.key,
        route.class.as_str(),
        facts.model.clone(),
        facts.stream,
    )
}

fn finish_error_record(shared: &Shared, mut record: RequestRecord, err: &PoolerError) {
    record.status = err.status().as_u16();
    record.error_code = Some(err.code().to_owned());
    record.finish(shared.clock.now(), "rejected");
    shared.records.submit(record);
}

/// Reads a request body up to `limit` bytes.
async fn read_body<B>(body: B, limit: usize) -> Result<Bytes, PoolerError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    if body
        .size_hint()
        .exact()
        .is_some_and(|n| n > u64::try_from(limit).unwrap_or(u64::MAX))
    {
        return Err(PoolerError::body_too_large(limit));
    }
    let mut body = std::pin::pin!(body);
    let mut buf = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame
            .map_err(|_| PoolerError::invalid_request("the request body could not be read"))?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                return Err(PoolerError::body_too_large(limit));
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf.freeze())
}
