//! What the fake refuses as `chatgpt.com` does, and what it accepts: every turn body the real
//! Codex CLI 0.169 was captured sending.

use codex_pooler_fake_upstream::{UNSUPPORTED_PARAMETERS, turn_refusal};
use http::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

/// Request bodies of `POST /backend-api/codex/responses` and websocket `response.create` frames
/// from the protocol captures of the 0.169 CLI (`shared/fixtures/codex-cli`), one JSON object a
/// line: `{capture, transport, path, body}`. The one zstd-encoded HTTP body (capture 6) was not
/// recorded and is missing.
const CAPTURED: &str = include_str!("../fixtures/codex-cli-0169-turn-bodies.jsonl");

async fn refused_with(body: &Value) -> Result<(StatusCode, Value), BoxError> {
    let fake = start_default()?;
    let (status, _, body) = read_json(post_turn(&fake, &alice(), body).await?).await?;
    Ok((status, body))
}

fn with(field: &str, value: Value) -> Value {
    let mut body = turn_body(&[user_message("hi")]);
    body[field] = value;
    body
}

fn without(field: &str) -> Value {
    let mut body = turn_body(&[user_message("hi")]);
    if let Value::Object(fields) = &mut body {
        fields.remove(field);
    }
    body
}

#[tokio::test]
async fn store_absent_or_not_false_is_refused() -> TestResult {
    for body in [
        without("store"),
        with("store", json!(true)),
        with("store", json!(null)),
    ] {
        let (status, answer) = refused_with(&body).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(answer, json!({"detail": "Store must be set to false"}));
    }
    Ok(())
}

#[tokio::test]
async fn stream_absent_or_not_true_is_refused() -> TestResult {
    for body in [without("stream"), with("stream", json!(false))] {
        let (status, answer) = refused_with(&body).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(answer, json!({"detail": "Stream must be set to true"}));
    }
    Ok(())
}

#[tokio::test]
async fn each_sampling_parameter_is_refused_even_when_null() -> TestResult {
    for name in UNSUPPORTED_PARAMETERS {
        for value in [json!(1), json!(null)] {
            let (status, answer) = refused_with(&with(name, value)).await?;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{name}");
            assert_eq!(
                answer,
                json!({"detail": format!("Unsupported parameter: {name}")})
            );
        }
    }
    Ok(())
}

#[tokio::test]
async fn every_captured_cli_body_is_accepted_unchanged() -> TestResult {
    let fake = start_default()?;
    let mut http = 0;
    let mut websocket = 0;
    for line in CAPTURED.lines() {
        let record: Value = serde_json::from_str(line)?;
        let capture = record["capture"].as_str().unwrap_or("?");
        let body = &record["body"];
        assert_eq!(turn_refusal(body), None, "{capture}");
        match record["transport"].as_str() {
            Some("http") => {
                http += 1;
                let (status, _, bytes) = read_body(post_turn(&fake, &alice(), body).await?).await?;
                assert_eq!(status, StatusCode::OK, "{capture}");
                let events = parse_sse(std::str::from_utf8(&bytes)?)?;
                assert_eq!(names(&events).last(), Some(&"response.completed"));
                let seen = fake.seen().pop().ok_or("nothing seen")?;
                assert_eq!(seen.body.as_ref(), Some(body), "{capture}");
            }
            Some("websocket") => websocket += 1,
            other => return Err(format!("unknown transport {other:?}").into()),
        }
    }
    assert_eq!((http, websocket), (11, 7), "the fixture lost bodies");
    Ok(())
}
