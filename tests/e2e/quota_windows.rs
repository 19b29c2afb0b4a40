//! Quota windows are classified by length, whatever slot upstream reports them in: a free
//! plan's 30-day primary (headers) and a third, 30-day window (websocket `codex.rate_limits`
//! events) show in the pool's `/wham/usage` as its monthly `tertiary_window`, and a full
//! monthly window, read from headers, from websocket events or from the usage payload, takes
//! its account out of routing.

use serde_json::{Value, json};

use crate::support::*;
use crate::ws_client;

/// The pool's `/wham/usage` answer.
async fn pool_usage(gateway: &Gateway, pool: &TestPool) -> Value {
    let auth = format!("Bearer {}", pool.key);
    let usage = send(
        "GET",
        &format!("{}/backend-api/wham/usage", gateway.url()),
        &[("authorization", &auth)],
        "",
    )
    .await;
    assert_eq!(usage.status, 200, "{}", usage.body);
    usage.json()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thirty_day_primary_from_headers_is_shown_as_monthly() {
    let pool = TestPool::new(&["acct-free"], |_, a| {
        a.plan_type = "free".to_owned();
        a.primary_window_minutes = 43_200;
        a.primary_used_percent = 40.0;
        a.primary_reset_after_seconds = 20 * 86_400;
    });
    let gateway = Gateway::start(&pool.data, &["--usage-probe-interval-secs", "0"]);
    let turn = post_responses(
        &gateway.url(),
        "/backend-api/codex/responses",
        &pool.key,
        &responses_body("gpt-5.1-codex", "hi"),
    )
    .await;
    assert_eq!(turn.status, 200, "{}", turn.body);
    let usage = pool_usage(&gateway, &pool).await;
    let rate_limit = &usage["rate_limit"];
    assert_eq!(rate_limit["primary_window"], Value::Null, "{usage}");
    assert_eq!(rate_limit["tertiary_window"]["used_percent"], 40, "{usage}");
    assert_eq!(
        rate_limit["tertiary_window"]["limit_window_seconds"],
        2_592_000
    );
    assert_eq!(
        rate_limit["secondary_window"]["limit_window_seconds"],
        604_800
    );
    gateway.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_third_window_from_websocket_events_is_shown() {
    let pool = TestPool::new(&["acct-third"], |_, a| a.tertiary_used_percent = Some(65.0));
    let gateway = Gateway::start(&pool.data, &["--usage-probe-interval-secs", "0"]);
    let mut socket = ws_client::open(&gateway.url(), &pool.key).await.unwrap();
    let frame = json!({"type": "response.create", "model": "gpt-5.1-codex", "stream": true,
        "store": false, "input": [{"type": "message", "role": "user",
        "content": [{"type": "input_text", "text": "Say hi"}]}]});
    ws_client::turn(&mut socket, &frame).await;
    let usage = pool_usage(&gateway, &pool).await;
    let rate_limit = &usage["rate_limit"];
    assert_eq!(rate_limit["tertiary_window"]["used_percent"], 65, "{usage}");
    assert_eq!(rate_limit["primary_window"]["limit_window_seconds"], 18_000);
    gateway.stop();
}

/// The usage payload is the third source: an account whose 30-day primary, or whose third
/// window, the background probe reads as full is not routed to, while the other one serves.
/// Under `headroom_first`, `acct-full` is otherwise the better account (the other has used 60 %
/// and 50 % of its short and weekly windows), so with `used` below 100 every turn goes there.
#[tokio::test(flavor = "multi_thread")]
async fn full_monthly_windows_from_the_usage_payload_are_routed_around() {
    for (used, third_window) in [(100.0, false), (100.0, true), (10.0, false), (10.0, true)] {
        let pool = TestPool::new(&["acct-full", "acct-open"], |i, a| {
            if i == 1 {
                a.primary_used_percent = 60.0;
                a.secondary_used_percent = 50.0;
            } else if third_window {
                a.tertiary_used_percent = Some(used);
            } else {
                a.primary_window_minutes = 43_200;
                a.primary_used_percent = used;
                a.primary_reset_after_seconds = 20 * 86_400;
            }
        });
        cli_ok(
            &pool.data,
            &["pools", "set-strategy", "team", "headroom_first"],
        );
        let gateway = Gateway::start(&pool.data, &["--usage-probe-interval-secs", "1"]);
        // A second probe of each account means the first ones' answers were applied.
        eventually("two usage probes of each account", || {
            ["acct-full", "acct-open"].iter().all(|id| {
                pool.fake
                    .seen()
                    .iter()
                    .filter(|r| r.path == "/backend-api/wham/usage")
                    .filter(|r| r.chatgpt_account_id.as_deref() == Some(*id))
                    .count()
                    >= 2
            })
        })
        .await;
        for turn in 0..6 {
            let answer = post_responses(
                &gateway.url(),
                "/backend-api/codex/responses",
                &pool.key,
                &responses_body("gpt-5.1-codex", &format!("turn {turn}")),
            )
            .await;
            assert_eq!(answer.status, 200, "{}", answer.body);
        }
        let served: Vec<_> = pool
            .turns()
            .into_iter()
            .filter_map(|r| r.chatgpt_account_id)
            .collect();
        let expected = if used >= 100.0 {
            "acct-open"
        } else {
            "acct-full"
        };
        assert_eq!(
            served, [expected; 6],
            "used {used}, third window: {third_window}"
        );
        gateway.stop();
    }
}

/// The headers source, routed on: under `rotation`, 24 new threads (one session id each) try
/// both accounts; the first turn `acct-full` answers reports its 30-day primary as full, and
/// it gets no turn after that. With the window at 10 % it keeps its share. (Each thread's start
/// is a hash of its session id, so an account is left untried with odds of 2^-24.)
#[tokio::test(flavor = "multi_thread")]
async fn a_full_thirty_day_window_from_headers_is_routed_around() {
    for used in [100.0, 10.0] {
        let pool = TestPool::new(&["acct-full", "acct-open"], |i, a| {
            if i == 0 {
                a.primary_window_minutes = 43_200;
                a.primary_used_percent = used;
                a.primary_reset_after_seconds = 20 * 86_400;
            }
        });
        cli_ok(&pool.data, &["pools", "set-strategy", "team", "rotation"]);
        let gateway = Gateway::start(&pool.data, &["--usage-probe-interval-secs", "0"]);
        for turn in 0..24 {
            let session = format!("thread-{turn}");
            let answer = send(
                "POST",
                &format!("{}/backend-api/codex/responses", gateway.url()),
                &[
                    ("authorization", &format!("Bearer {}", pool.key)),
                    ("content-type", "application/json"),
                    ("accept", "text/event-stream"),
                    ("session-id", &session),
                ],
                responses_body("gpt-5.1-codex", "hi"),
            )
            .await;
            assert_eq!(answer.status, 200, "{}", answer.body);
        }
        let served: Vec<String> = pool
            .turns()
            .into_iter()
            .filter_map(|r| r.chatgpt_account_id)
            .collect();
        let on_full = served.iter().filter(|a| *a == "acct-full").count();
        if used >= 100.0 {
            assert_eq!(on_full, 1, "learnt from its first answer: {served:?}");
        } else {
            assert!(
                on_full >= 2,
                "a 10 % window is no reason to skip: {served:?}"
            );
        }
        gateway.stop();
    }
}

/// The stream-event source, routed on: the third window exists only in websocket
/// `codex.rate_limits` events (not in headers), so the first session on `acct-full` learns it
/// is full from its turn's events, and no later session opens there. With the third window at
/// 10 % it keeps its share. (Each session's start is random: odds of 2^-24 to leave an account
/// untried.)
#[tokio::test(flavor = "multi_thread")]
async fn a_full_third_window_from_websocket_events_is_routed_around() {
    for used in [100.0, 10.0] {
        let pool = TestPool::new(&["acct-full", "acct-open"], |i, a| {
            if i == 0 {
                a.tertiary_used_percent = Some(used);
            }
        });
        cli_ok(&pool.data, &["pools", "set-strategy", "team", "rotation"]);
        let gateway = Gateway::start(&pool.data, &["--usage-probe-interval-secs", "0"]);
        for _ in 0..24 {
            let mut socket = ws_client::open(&gateway.url(), &pool.key).await.unwrap();
            ws_client::one_turn(&mut socket).await;
            socket.close(None).await.ok();
        }
        let sessions: Vec<String> = pool
            .fake
            .seen()
            .into_iter()
            .filter(|r| r.method == "GET" && r.path == "/backend-api/codex/responses")
            .filter_map(|r| r.chatgpt_account_id)
            .collect();
        assert_eq!(sessions.len(), 24, "{sessions:?}");
        let on_full = sessions.iter().filter(|a| *a == "acct-full").count();
        if used >= 100.0 {
            assert_eq!(on_full, 1, "learnt from its first turn: {sessions:?}");
        } else {
            assert!(
                on_full >= 2,
                "a 10 % window is no reason to skip: {sessions:?}"
            );
        }
        gateway.stop();
    }
}
