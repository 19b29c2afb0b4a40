//! SSE streams: event sequence, incremental writes, delays, stalls and breaks.

use std::time::Duration;

use codex_pooler_fake_upstream::FakeConfig;
use http::StatusCode;
use http_body_util::BodyExt;
use hyper::body::Body as _;
use tokio::time::{Instant, timeout};

use crate::support::*;

#[tokio::test]
async fn streams_the_codex_sse_sequence() -> TestResult {
    let fake = start_default()?;
    let body = turn_body(&[user_message("Say hi")]);
    let (status, headers, bytes) = read_body(post_turn(&fake, &alice(), &body).await?).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "content-type"), "text/event-stream");
    let events = parse_sse(std::str::from_utf8(&bytes)?)?;
    assert_eq!(
        names(&events),
        [
            "response.created",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    let created = &events[0].1["response"];
    assert_eq!(created["status"], "in_progress");
    assert_eq!(created["model"], "gpt-5.1-codex");
    let deltas: String = events
        .iter()
        .filter(|(name, _)| name == "response.output_text.delta")
        .filter_map(|(_, data)| data["delta"].as_str())
        .collect();
    assert_eq!(deltas, "Hello from alice");
    // The content part opens empty and closes with the whole text, as the text does.
    assert_eq!(events[2].1["part"]["text"], "");
    assert_eq!(events[2].1["content_index"], 0);
    assert_eq!(events[7].1["text"], "Hello from alice");
    assert_eq!(events[8].1["part"]["text"], "Hello from alice");
    let item = &events[9].1["item"];
    assert_eq!(item["type"], "message");
    assert_eq!(item["role"], "assistant");
    assert_eq!(item["content"][0]["type"], "output_text");
    assert_eq!(item["content"][0]["text"], "Hello from alice");
    assert_eq!(events[3].1["item_id"], item["id"]);
    let completed = &events[10].1["response"];
    assert_eq!(completed["id"], created["id"]);
    assert_eq!(completed["status"], "completed");
    let usage = &completed["usage"];
    let input = usage["input_tokens"].as_u64().ok_or("input_tokens")?;
    let output = usage["output_tokens"].as_u64().ok_or("output_tokens")?;
    assert!(input > 10, "input tokens are estimated from the body size");
    assert!(output > 0);
    assert_eq!(usage["total_tokens"].as_u64(), Some(input + output));
    assert_eq!(usage["input_tokens_details"]["cached_tokens"], 0);
    assert_eq!(usage["output_tokens_details"]["reasoning_tokens"], 0);
    Ok(())
}

#[tokio::test]
async fn configured_text_and_usage_are_reported() -> TestResult {
    let fake = start(FakeConfig {
        text: Some("custom answer".to_owned()),
        text_deltas: 2,
        output_tokens: Some(50),
        cached_tokens: 7,
        reasoning_tokens: 20,
        ..FakeConfig::with_accounts(vec![alice()])
    })?;
    let body = turn_body(&[user_message("Say hi")]);
    let (_, _, bytes) = read_body(post_turn(&fake, &alice(), &body).await?).await?;
    let events = parse_sse(std::str::from_utf8(&bytes)?)?;
    assert_eq!(events.len(), 9);
    assert_eq!(events[3].1["delta"], "custom");
    assert_eq!(events[4].1["delta"], " answer");
    let usage = &events[8].1["response"]["usage"];
    assert_eq!(usage["output_tokens"], 50);
    assert_eq!(usage["input_tokens_details"]["cached_tokens"], 7);
    assert_eq!(usage["output_tokens_details"]["reasoning_tokens"], 20);
    Ok(())
}

#[tokio::test]
async fn chunks_arrive_incrementally() -> TestResult {
    let delay = Duration::from_millis(20);
    let fake = start(FakeConfig {
        chunk_size: Some(64),
        chunk_delay: delay,
        ..FakeConfig::with_accounts(vec![alice()])
    })?;
    let body = turn_body(&[user_message("Say hi")]);
    let response = post_turn(&fake, &alice(), &body).await?;
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let first = timeout(PATIENCE, body.frame()).await?.ok_or("no frame")??;
    let first_at = Instant::now();
    let first = first.into_data().map_err(|_| "not data")?;
    assert!(first.len() <= 64, "first write is one chunk");
    assert!(first.starts_with(b"event: response.created"));
    let mut text = String::from_utf8(first.to_vec())?;
    let mut frames = 1;
    while let Some(frame) = timeout(PATIENCE, body.frame()).await? {
        let data = frame?.into_data().map_err(|_| "not data")?;
        assert!(data.len() <= 64, "every write is at most one chunk");
        text.push_str(std::str::from_utf8(&data)?);
        frames += 1;
    }
    let last_at = Instant::now();
    assert!(
        frames >= 10,
        "a ~1.5 KB stream in 64-byte chunks, got {frames} frames"
    );
    // The first chunk was readable long before the last one was written.
    assert!(last_at - first_at >= delay * 5);
    assert_eq!(
        names(&parse_sse(&text)?).last(),
        Some(&"response.completed")
    );
    Ok(())
}

#[tokio::test]
async fn events_are_written_one_at_a_time() -> TestResult {
    let fake = start(FakeConfig {
        chunk_delay: Duration::from_millis(50),
        ..FakeConfig::with_accounts(vec![alice()])
    })?;
    let body = turn_body(&[user_message("Say hi")]);
    let mut body = post_turn(&fake, &alice(), &body).await?.into_body();
    let first = read_events(&mut body, 1).await?;
    assert!(first.starts_with("event: response.created\n"));
    assert!(!first.contains("response.completed"));
    assert!(!body.is_end_stream());
    let rest = timeout(PATIENCE, body.collect()).await??.to_bytes();
    assert!(std::str::from_utf8(&rest)?.contains("event: response.completed\n"));
    Ok(())
}

#[tokio::test]
async fn first_byte_delay_holds_back_the_response_head() -> TestResult {
    let delay = Duration::from_millis(150);
    let fake = start(FakeConfig {
        first_byte_delay: delay,
        ..FakeConfig::with_accounts(vec![alice()])
    })?;
    let started = Instant::now();
    let response = post_turn(&fake, &alice(), &turn_body(&[user_message("hi")])).await?;
    assert!(started.elapsed() >= delay);
    assert_eq!(response.status(), StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn stall_keeps_the_connection_open_until_shutdown() -> TestResult {
    let fake = start(FakeConfig {
        stall_after_events: Some(2),
        ..FakeConfig::with_accounts(vec![alice()])
    })?;
    let response = post_turn(&fake, &alice(), &turn_body(&[user_message("hi")])).await?;
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let text = read_events(&mut body, 2).await?;
    assert_eq!(
        names(&parse_sse(&text)?),
        ["response.created", "response.output_item.added"]
    );
    // Nothing more comes, and the body does not end.
    assert!(
        timeout(Duration::from_millis(300), body.frame())
            .await
            .is_err()
    );
    fake.shutdown();
    let after = timeout(PATIENCE, body.frame()).await?;
    assert!(
        matches!(after, Some(Err(_))),
        "shutdown aborts a stalled stream: {after:?}"
    );
    Ok(())
}

#[tokio::test]
async fn break_closes_the_stream_before_completion() -> TestResult {
    let fake = start_default()?;
    assert!(fake.set_account("acc-bob", |a| a.break_after_events = Some(3)));
    let response = post_turn(&fake, &bob(), &turn_body(&[user_message("hi")])).await?;
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let mut text = String::new();
    let mut failed = false;
    while let Some(frame) = timeout(PATIENCE, body.frame()).await? {
        match frame {
            Ok(frame) => {
                if let Ok(data) = frame.into_data() {
                    text.push_str(std::str::from_utf8(&data)?);
                }
            }
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    assert!(failed, "the body must end with an error, not cleanly");
    assert_eq!(parse_sse(&text)?.len(), 3);
    assert!(!text.contains("response.completed"));

    // Alice has no override and completes normally.
    let (_, _, bytes) =
        read_body(post_turn(&fake, &alice(), &turn_body(&[user_message("hi")])).await?).await?;
    assert!(std::str::from_utf8(&bytes)?.contains("event: response.completed"));
    Ok(())
}

/// `gzip`-decodes `bytes` whole.
fn gunzip(bytes: &[u8]) -> Result<String, BoxError> {
    use std::io::Read;
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes).read_to_string(&mut text)?;
    Ok(text)
}

#[tokio::test]
async fn answers_are_gzipped_when_the_client_offers_it() -> TestResult {
    let fake = start_default()?;
    let body = turn_body(&[user_message("hi")]);
    let offer = [("accept-encoding", "zstd,gzip")];
    let (status, headers, wire) =
        read_body(post_turn_with(&fake, &alice(), &offer, &body).await?).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "content-encoding"), "gzip");
    let events = parse_sse(&gunzip(&wire)?)?;
    assert_eq!(names(&events).last(), Some(&"response.completed"));
    // Quota headers stay readable: only the body is encoded.
    assert_eq!(header(&headers, "x-codex-primary-used-percent"), "0.0");

    let bearer = format!("Bearer {}", alice().access_token);
    let auth = [
        ("authorization", bearer.as_str()),
        ("chatgpt-account-id", "acc-alice"),
        ("accept-encoding", "zstd,gzip"),
    ];
    for path in [
        codex_pooler_fake_upstream::USAGE_PATH,
        codex_pooler_fake_upstream::MODELS_PATH,
    ] {
        let (status, headers, wire) =
            read_body(send(&fake, http::Method::GET, path, &auth, bytes::Bytes::new()).await?)
                .await?;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(header(&headers, "content-encoding"), "gzip", "{path}");
        let _: serde_json::Value = serde_json::from_str(&gunzip(&wire)?)?;
    }

    // Without the offer, the body is plain.
    let (_, headers, wire) = read_body(post_turn(&fake, &alice(), &body).await?).await?;
    assert_eq!(header(&headers, "content-encoding"), "<missing>");
    parse_sse(std::str::from_utf8(&wire)?)?;
    Ok(())
}
