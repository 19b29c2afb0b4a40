//! `GET /metrics` end to end: after a streamed success and a 429 from the fake backend, the
//! scrape holds the expected series and values, passes `promtool check metrics`, carries no
//! secret or prompt text, and does not count itself; the bearer token and `--no-metrics`.

use std::io::Write as _;
use std::process::{Command, Stdio};

use serde_json::json;

use crate::support::*;

/// Set to `1` to skip the promtool check when promtool (Debian `prometheus`) is not installed.
const SKIP_PROMTOOL: &str = "CODEX_POOLER_SKIP_PROMTOOL_TESTS";

const METRICS_TOKEN: &str = "metrics-token-e2e-3f9a";

const PROMPT: &str = "CANARY-PROMPT-metrics-do-not-leak";

async fn scrape(base: &str, token: Option<&str>) -> Reply {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
    send("GET", &format!("{base}/metrics"), &headers, "").await
}

/// The value of the series `series` (name and labels, exactly as printed) in `text`.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn assert_value(text: &str, series: &str, expected: f64) {
    assert_eq!(value(text, series), Some(expected), "{series} in\n{text}");
}

/// Runs `promtool check metrics` on `text`; fails naming promtool when it is missing, unless
/// [`SKIP_PROMTOOL`] is set.
fn promtool_check(text: &str) {
    let spawned = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(err) if std::env::var(SKIP_PROMTOOL).as_deref() == Ok("1") => {
            eprintln!("skipping promtool check ({SKIP_PROMTOOL}=1): {err}");
            return;
        }
        Err(err) => panic!(
            "promtool (Debian package `prometheus`) is needed to check /metrics: {err}; \
             install it or set {SKIP_PROMTOOL}=1"
        ),
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics failed ({}):\n{}{}\non\n{text}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn metrics_after_traffic_hold_the_series_pass_promtool_and_leak_nothing() {
    let pool = TestPool::new(&["acct-metrics-0"], |_, _| {});
    let token_file = write_file(
        pool.dir.path(),
        "metrics-token",
        &format!("{METRICS_TOKEN}\n"),
    );
    let gateway = Gateway::start(
        &pool.data,
        &["--metrics-token-file", token_file.to_str().unwrap()],
    );
    let base = gateway.url();

    // A streamed turn that succeeds.
    let body = responses_body("gpt-5.1-codex", PROMPT);
    let ok = post_responses(&base, "/backend-api/codex/responses", &pool.key, &body).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(ok.body.contains("response.completed"), "{}", ok.body);
    // Then a 429 from the fake.
    pool.fake
        .set_account(&pool.creds[0].account_id, |a| a.usage_limit_reached = true);
    let limited = post_responses(&base, "/backend-api/codex/responses", &pool.key, &body).await;
    assert_eq!(limited.status, 429, "{}", limited.body);

    let text = scrape(&base, Some(METRICS_TOKEN)).await;
    assert_eq!(text.status, 200, "{}", text.body);
    assert!(
        text.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
        "{:?}",
        text.headers
    );
    let text = text.body;
    assert_value(
        &text,
        r#"codex_pooler_requests_total{route="responses",status="2xx",pool="team"}"#,
        1.0,
    );
    assert_value(
        &text,
        r#"codex_pooler_requests_total{route="responses",status="4xx",pool="team"}"#,
        1.0,
    );
    assert_value(
        &text,
        r#"codex_pooler_upstream_attempts_total{account="acct-1",outcome="success"}"#,
        1.0,
    );
    assert_value(
        &text,
        r#"codex_pooler_upstream_attempts_total{account="acct-1",outcome="rate_limited"}"#,
        1.0,
    );
    assert_value(
        &text,
        r#"codex_pooler_upstream_failures_total{account="acct-1",outcome="rate_limited"}"#,
        1.0,
    );
    assert_value(
        &text,
        r#"codex_pooler_request_duration_seconds_count{route="responses"}"#,
        2.0,
    );
    assert_value(
        &text,
        r#"codex_pooler_time_to_first_byte_seconds_count{route="responses"}"#,
        2.0,
    );
    assert_value(&text, "codex_pooler_requests_in_flight", 0.0);
    assert_value(&text, r#"codex_pooler_open_streams{kind="sse"}"#, 0.0);
    assert_value(&text, "codex_pooler_record_queue_dropped_total", 0.0);
    // The fake reports its quota windows with every answer: read at scrape time.
    assert!(
        value(
            &text,
            r#"codex_pooler_quota_used_percent{account="acct-1",window="short"}"#
        )
        .is_some(),
        "{text}"
    );

    promtool_check(&text);

    // Canary: no Pool API key, upstream token, account identity or prompt text.
    let creds = &pool.creds[0];
    for secret in [
        pool.key.as_str(),
        creds.access_token.as_str(),
        creds.refresh_token.as_str(),
        creds.account_id.as_str(),
        "acct-metrics-0@example.com",
        PROMPT,
        METRICS_TOKEN,
    ] {
        assert!(!text.contains(secret), "{secret} appears in /metrics");
    }

    // Scraping is not pooled traffic.
    let again = scrape(&base, Some(METRICS_TOKEN)).await.body;
    for series in [
        r#"codex_pooler_requests_total{route="responses",status="2xx",pool="team"}"#,
        r#"codex_pooler_requests_total{route="responses",status="4xx",pool="team"}"#,
    ] {
        assert_eq!(value(&again, series), value(&text, series), "{series}");
    }
    assert_eq!(
        again.matches("codex_pooler_requests_total{").count(),
        2,
        "{again}"
    );
    gateway.stop();
}

/// The answer to a scrape without the right token.
fn unauthorized_body() -> serde_json::Value {
    json!({
        "error": {
            "message": "metrics need `Authorization: Bearer <metrics token>`",
            "type": "authentication_error",
            "code": "invalid_metrics_token",
        }
    })
}

#[tokio::test]
async fn a_scrape_without_the_token_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let gateway = Gateway::start_env(&data, &[], &[("CODEX_POOLER_METRICS_TOKEN", METRICS_TOKEN)]);
    let base = gateway.url();
    for token in [None, Some("wrong-token")] {
        let reply = scrape(&base, token).await;
        assert_eq!(reply.status, 401, "{}", reply.body);
        assert_eq!(reply.json(), unauthorized_body());
        assert_eq!(reply.headers["www-authenticate"], "Bearer");
    }
    let reply = scrape(&base, Some(METRICS_TOKEN)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        reply.body.contains("codex_pooler_requests_in_flight 0\n"),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn no_metrics_turns_the_route_off() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = Gateway::start(&dir.path().join("data"), &["--no-metrics"]);
    let reply = scrape(&gateway.url(), None).await;
    assert_eq!(reply.status, 404, "{}", reply.body);
}
