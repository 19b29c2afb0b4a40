//! Turn answers: tool calls, quota and turn headers.

use codex_pooler_fake_upstream::{FakeAccount, FakeConfig};
use http::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn tool_call_turn() -> TestResult {
    let fake = start_default()?;
    let prompt = user_message("Please run it.\nRUN_TOOL: echo hi-from-tool\nThanks");
    let response = post_turn(&fake, &alice(), &turn_body(std::slice::from_ref(&prompt))).await?;
    let turn_state = header(response.headers(), "x-codex-turn-state").to_owned();
    let (_, _, bytes) = read_body(response).await?;
    let events = parse_sse(std::str::from_utf8(&bytes)?)?;
    assert_eq!(events[0].0, "response.created");
    assert_eq!(events[1].0, "response.output_item.added");
    assert_eq!(events[1].1["item"]["type"], "function_call");
    let done = events
        .iter()
        .find(|(name, _)| name == "response.output_item.done")
        .ok_or("no output_item.done")?;
    let call = &done.1["item"];
    assert_eq!(call["type"], "function_call");
    assert_eq!(call["name"], "exec_command");
    assert_eq!(call["status"], "completed");
    let arguments: Value = serde_json::from_str(call["arguments"].as_str().ok_or("arguments")?)?;
    assert_eq!(arguments, json!({"cmd": "echo hi-from-tool"}));
    let arguments_done = events
        .iter()
        .find(|(name, _)| name == "response.function_call_arguments.done")
        .ok_or("no function_call_arguments.done")?;
    assert_eq!(arguments_done.1["arguments"], call["arguments"]);
    let call_id = call["call_id"].as_str().ok_or("call_id")?;
    assert!(!call_id.is_empty());
    let (last, completed) = events.last().ok_or("no events")?;
    assert_eq!(last, "response.completed");
    assert_eq!(&completed["response"]["output"][0], call);

    // The CLI's follow-up request (capture 12): full history, the call and its output last.
    let output = format!(
        "Process exited with code 0\nOutput:\nhi-from-tool\n{}",
        "x".repeat(300)
    );
    let follow_up = turn_body(&[
        prompt,
        call.clone(),
        json!({"type": "function_call_output", "call_id": call_id, "output": output}),
    ]);
    let response = post_turn_with(
        &fake,
        &alice(),
        &[("x-codex-turn-state", &turn_state)],
        &follow_up,
    )
    .await?;
    assert_eq!(header(response.headers(), "x-codex-turn-state"), turn_state);
    let (_, _, bytes) = read_body(response).await?;
    let events = parse_sse(std::str::from_utf8(&bytes)?)?;
    let done = events
        .iter()
        .find(|(name, _)| name == "response.output_item.done")
        .ok_or("no output_item.done")?;
    let expected: String = output.chars().take(200).collect();
    assert_eq!(done.1["item"]["type"], "message");
    assert_eq!(
        done.1["item"]["content"][0]["text"],
        format!("Tool said: {expected}")
    );
    Ok(())
}

#[tokio::test]
async fn quota_and_turn_headers() -> TestResult {
    let account = FakeAccount {
        primary_used_percent: 12.5,
        secondary_used_percent: 40.0,
        primary_reset_after_seconds: 1800,
        ..alice()
    };
    let fake = start(FakeConfig::with_accounts(vec![account.clone()]))?;
    let body = turn_body(&[user_message("hi")]);
    let before = now();
    let (status, headers, _) = read_body(post_turn(&fake, &account, &body).await?).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "x-codex-primary-used-percent"), "12.5");
    assert_eq!(header(&headers, "x-codex-primary-window-minutes"), "300");
    assert_eq!(header(&headers, "x-codex-secondary-used-percent"), "40.0");
    assert_eq!(
        header(&headers, "x-codex-secondary-window-minutes"),
        "10080"
    );
    let primary_reset: u64 = header(&headers, "x-codex-primary-reset-at").parse()?;
    assert!((before + 1800..=now() + 1800).contains(&primary_reset));
    let secondary_reset: u64 = header(&headers, "x-codex-secondary-reset-at").parse()?;
    assert!(secondary_reset > primary_reset);
    assert_eq!(header(&headers, "openai-model"), "gpt-5.1-codex");
    assert!(header(&headers, "x-request-id").starts_with("req_"));
    let turn_state = header(&headers, "x-codex-turn-state");
    assert!(!turn_state.is_empty() && turn_state != "<missing>");

    let echoed = post_turn_with(
        &fake,
        &account,
        &[("x-codex-turn-state", "ts-from-client")],
        &body,
    )
    .await?;
    assert_eq!(
        header(echoed.headers(), "x-codex-turn-state"),
        "ts-from-client"
    );
    Ok(())
}
