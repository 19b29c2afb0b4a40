//! [`SimUpstream`]: the simulated Codex backend as a tower service, the far side of
//! [`Dispatch`](codex_pooler_core::dispatch::Dispatch).
//!
//! It answers like the real backend does for what routing looks at: a 200 with the
//! `x-codex-{primary,secondary}-{used-percent,window-minutes,reset-at}` headers of the account's
//! true usage, a 429 with a `usage_limit_reached` body (and the same headers) when a window is
//! full, and a code-less 429 when the account already holds as many open streams as its plan
//! allows. The size and length of a turn come from the client's `x-sim-tokens` and
//! `x-sim-duration-ms` headers, which only the simulation sends.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use codex_pooler_core::body::{PoolBody, full};
use codex_pooler_core::clock::{Clock, ManualClock};
use codex_pooler_core::request::UpstreamCall;
use http::{HeaderName, HeaderValue, Response, StatusCode};
use tower::Service;

use super::fleet::{AccountSpec, Answer, Fleet, unix_ms};

/// The request header carrying a turn's tokens.
pub const TOKENS_HEADER: &str = "x-sim-tokens";
/// The request header carrying a turn's stream length in milliseconds.
pub const DURATION_HEADER: &str = "x-sim-duration-ms";

/// The simulated upstream. Clones share one fleet.
#[derive(Debug, Clone)]
pub struct SimUpstream {
    fleet: Arc<Mutex<Fleet>>,
    clock: Arc<ManualClock>,
}

impl SimUpstream {
    /// Upstream accounts as in `specs`, telling time by `clock`.
    pub fn new(specs: &[AccountSpec], clock: Arc<ManualClock>) -> Self {
        Self {
            fleet: Arc::new(Mutex::new(Fleet::new(specs))),
            clock,
        }
    }

    pub(crate) fn fleet(&self) -> MutexGuard<'_, Fleet> {
        self.fleet.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn answer(&self, call: &UpstreamCall) -> Response<PoolBody> {
        let header = |name: &str| {
            call.request
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
        };
        let (Some(tokens), Some(duration)) = (header(TOKENS_HEADER), header(DURATION_HEADER))
        else {
            return plain(StatusCode::BAD_REQUEST, "missing simulation headers");
        };
        let now_ms = unix_ms(self.clock.now());
        let mut fleet = self.fleet();
        let id = call.account.id;
        // u64 -> f64 is exact below 2^53 tokens.
        let Some(answer) = fleet.admit(id, tokens as f64, duration, now_ms) else {
            return plain(StatusCode::UNAUTHORIZED, "unknown account");
        };
        let (status, body) = match answer {
            Answer::Served => (
                StatusCode::OK,
                "event: response.completed\ndata: {\"type\":\"response.completed\"}\n\n".to_owned(),
            ),
            Answer::UsageLimited { resets_at } => {
                let resets_in = resets_at.saturating_sub(now_ms / 1000);
                let body = serde_json::json!({"error": {
                    "type": "usage_limit_reached",
                    "message": "The usage limit has been reached",
                    "resets_at": resets_at,
                    "resets_in_seconds": resets_in,
                }});
                (StatusCode::TOO_MANY_REQUESTS, body.to_string())
            }
            Answer::TooManyStreams => {
                return plain(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
            }
        };
        let mut response = Response::new(full(body));
        *response.status_mut() = status;
        for (name, value) in fleet.quota_headers(id, now_ms) {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }
}

/// A bare answer with a code-less JSON error body and no quota headers.
fn plain(status: StatusCode, message: &str) -> Response<PoolBody> {
    let body = serde_json::json!({"error": {"message": message, "type": null, "code": null}});
    let mut response = Response::new(full(body.to_string()));
    *response.status_mut() = status;
    response
}

impl Service<UpstreamCall> for SimUpstream {
    type Response = Response<PoolBody>;
    type Error = Infallible;
    type Future = Ready<Result<Response<PoolBody>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, call: UpstreamCall) -> Self::Future {
        ready(Ok(self.answer(&call)))
    }
}
