use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use http::{Response, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::*;
use crate::BoxError;
use crate::body::{PoolBody, full};
use crate::clock::{ManualClock, from_unix_seconds};
use crate::error::ErrorCode;
use crate::live::LiveState;
use crate::model::{AccountId, Lifecycle};
use crate::plan::tests::{account, request};
use crate::plan::{PlannedRequest, RoutePlan};
use crate::request::UpstreamCall;

/// What the scripted upstream answers for each account.
#[derive(Clone)]
enum Script {
    Status(u16, &'static str),
    WithHeaders(u16, &'static [(&'static str, &'static str)]),
    Transport,
}

type Calls = Arc<Mutex<Vec<i64>>>;

fn upstream(
    script: HashMap<i64, Script>,
    calls: Calls,
) -> tower::util::BoxCloneService<UpstreamCall, http::Response<PoolBody>, BoxError> {
    let script = Arc::new(script);
    tower::util::BoxCloneService::new(tower::service_fn(move |call: UpstreamCall| {
        let script = Arc::clone(&script);
        let calls = Arc::clone(&calls);
        async move {
            calls.lock().unwrap().push(call.account.id.0);
            match script[&call.account.id.0].clone() {
                Script::Status(code, body) => {
                    Ok(Response::builder().status(code).body(full(body)).unwrap())
                }
                Script::WithHeaders(code, headers) => {
                    let mut b = Response::builder().status(code);
                    for (k, v) in headers {
                        b = b.header(*k, *v);
                    }
                    Ok(b.body(full("ok")).unwrap())
                }
                Script::Transport => Err::<_, BoxError>("connection refused".into()),
            }
        }
    }))
}

fn planned(ids: &[i64]) -> PlannedRequest {
    PlannedRequest {
        request: request(Some("m"), None, 1),
        plan: RoutePlan {
            candidates: ids
                .iter()
                .map(|i| Arc::new(account(*i, Lifecycle::Active, &["m"])))
                .collect(),
            exclusions: vec![],
            strategy: "test",
            eligible: ids.len(),
            pin: None,
            pin_skipped: None,
            soft_owner: None,
        },
        waits: Default::default(),
    }
}

async fn dispatch(
    script: HashMap<i64, Script>,
    ids: &[i64],
) -> (Outcome, Vec<i64>, Arc<LiveState>) {
    let calls: Calls = Arc::default();
    let live = Arc::new(LiveState::new());
    let clock = Arc::new(ManualClock::at_unix(1_000));
    let svc =
        DispatchLayer::new(Arc::clone(&live), clock).layer(upstream(script, Arc::clone(&calls)));
    let outcome = svc.oneshot(planned(ids)).await.unwrap();
    let calls = calls.lock().unwrap().clone();
    (outcome, calls, live)
}

async fn body(outcome: Outcome) -> String {
    let bytes = outcome
        .response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

use tower_layer::Layer;

const LIMIT: &str = r#"{"error":{"type":"usage_limit_reached","resets_at":5000}}"#;

#[tokio::test]
async fn fails_over_on_429_5xx_and_transport_errors() {
    let script = HashMap::from([
        (1, Script::Status(429, LIMIT)),
        (2, Script::Status(502, "bad gateway")),
        (3, Script::Transport),
        (4, Script::Status(200, "answer")),
    ]);
    let (outcome, calls, live) = dispatch(script, &[1, 2, 3, 4]).await;
    assert_eq!(calls, [1, 2, 3, 4]);
    assert_eq!(outcome.served_by.as_ref().unwrap().id, AccountId(4));
    let results: Vec<_> = outcome.attempts.iter().map(|a| a.result).collect();
    assert_eq!(
        results,
        [
            AttemptResult::Retried(429),
            AttemptResult::Retried(502),
            AttemptResult::TransportError,
            AttemptResult::Answered(200)
        ]
    );
    // The 429 body became evidence.
    assert_eq!(
        live.quota
            .exhausted_until(AccountId(1), from_unix_seconds(1_000)),
        Some(from_unix_seconds(5_000))
    );
    assert_eq!(body(outcome).await, "answer");
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let script = HashMap::from([
        (1, Script::Status(400, "bad request")),
        (2, Script::Status(200, "answer")),
    ]);
    let (outcome, calls, _) = dispatch(script, &[1, 2]).await;
    assert_eq!(calls, [1]);
    assert_eq!(outcome.response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body(outcome).await, "bad request");
}

#[tokio::test]
async fn last_5xx_is_passed_through() {
    let script = HashMap::from([
        (1, Script::Status(500, "first")),
        (2, Script::Status(503, "second")),
    ]);
    let (outcome, _, _) = dispatch(script, &[1, 2]).await;
    assert_eq!(outcome.response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(outcome.served_by.as_ref().unwrap().id, AccountId(2));
    assert_eq!(body(outcome).await, "second");
}

#[tokio::test]
async fn all_usage_limited_answers_pool_usage_limit() {
    let script = HashMap::from([
        (1, Script::Status(429, LIMIT)),
        (
            2,
            Script::Status(
                429,
                r#"{"error":{"type":"usage_limit_reached","resets_at":3000}}"#,
            ),
        ),
    ]);
    let (outcome, _, _) = dispatch(script, &[1, 2]).await;
    assert_eq!(outcome.response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        outcome.error_code.map(ErrorCode::as_str),
        Some("usage_limit_reached")
    );
    assert_eq!(outcome.response.headers()["retry-after"], "2000");
    let body: serde_json::Value = serde_json::from_str(&body(outcome).await).unwrap();
    assert_eq!(body["error"]["resets_at"], 3000);
}

#[tokio::test]
async fn all_transport_errors_answer_bad_gateway() {
    let script = HashMap::from([(1, Script::Transport), (2, Script::Transport)]);
    let (outcome, _, _) = dispatch(script, &[1, 2]).await;
    assert_eq!(outcome.response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(
        outcome.error_code.map(ErrorCode::as_str),
        Some("upstream_unavailable")
    );
    assert!(outcome.served_by.is_none());
}

#[tokio::test]
async fn quota_headers_are_observed_on_success() {
    let script = HashMap::from([(
        1,
        Script::WithHeaders(
            200,
            &[
                ("x-codex-primary-used-percent", "100"),
                ("x-codex-primary-window-minutes", "300"),
                ("x-codex-primary-reset-at", "7000"),
            ],
        ),
    )]);
    let (outcome, _, live) = dispatch(script, &[1]).await;
    assert_eq!(outcome.response.status(), StatusCode::OK);
    assert_eq!(
        live.quota
            .exhausted_until(AccountId(1), from_unix_seconds(1_000)),
        Some(from_unix_seconds(7_000))
    );
}

#[tokio::test]
async fn success_teaches_continuity_and_turn_state() {
    let script = HashMap::from([(
        2,
        Script::WithHeaders(200, &[("x-codex-turn-state", "ts-9")]),
    )]);
    let (outcome, _, live) = dispatch(script, &[2]).await;
    assert_eq!(outcome.response.status(), StatusCode::OK);
    let keys = crate::continuity::ContinuityKeys {
        turn_state: Some("ts-9".into()),
        ..Default::default()
    };
    let pin = live
        .continuity
        .resolve(crate::model::PoolId(1), &keys, from_unix_seconds(1_000))
        .unwrap();
    assert_eq!(pin.account, AccountId(2));
    assert!(pin.is_hard());
}

#[tokio::test]
async fn one_accounts_usage_limit_is_not_handed_on_over_a_transient_failure() {
    let script = HashMap::from([
        (1, Script::Status(502, "bad gateway")),
        (2, Script::Status(429, LIMIT)),
    ]);
    let (outcome, calls, _) = dispatch(script, &[1, 2]).await;
    assert_eq!(calls, [1, 2]);
    // The pool is not out of quota: the client gets the transient 502, not account 2's limit.
    assert_eq!(outcome.response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(outcome.served_by.as_ref().unwrap().id, AccountId(1));
    let results: Vec<_> = outcome.attempts.iter().map(|a| a.result).collect();
    assert_eq!(
        results,
        [AttemptResult::Answered(502), AttemptResult::Retried(429)]
    );
    assert_eq!(body(outcome).await, "bad gateway");
}

#[tokio::test]
async fn an_opened_websocket_is_served_like_a_success() {
    // A websocket connector answers 101 (the socket in the extensions): the same Dispatch
    // serves it, keeps its slot and learns the account's success from it.
    let script = HashMap::from([
        (1, Script::Status(503, "overloaded")),
        (2, Script::Status(101, "")),
    ]);
    let (outcome, calls, live) = dispatch(script, &[1, 2]).await;
    assert_eq!(calls, [1, 2]);
    assert_eq!(outcome.response.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(outcome.served_by.as_ref().unwrap().id, AccountId(2));
    assert!(outcome.guard.is_some(), "the session holds the slot");
    let results: Vec<_> = outcome.attempts.iter().map(|a| a.result).collect();
    assert_eq!(
        results,
        [AttemptResult::Retried(503), AttemptResult::Answered(101)]
    );
    assert_eq!(
        live.last_success(AccountId(2)),
        Some(from_unix_seconds(1_000))
    );
    assert_eq!(live.last_success(AccountId(1)), None);
}
