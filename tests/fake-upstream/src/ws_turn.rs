//! What the fake answers to one websocket `response.create` frame: the events of the same answer
//! as over SSE, one JSON text frame each, or one `error` frame.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::config::{FakeAccount, FakeConfig};
use super::events::events;
use super::pacing::Ending;
use super::quota::QuotaSnapshot;
use super::state::FakeState;
use super::turn::build_reply;
use super::turn_rules::turn_refusal;

/// The frames answering one client frame, and how the answer ends.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TurnFrames {
    /// JSON text frames, in order.
    pub(crate) frames: Vec<String>,
    /// Whether all of them go out, or the stream stalls or breaks after some.
    pub(crate) ending: Ending,
    /// The response id this answer produced (a later `previous_response_id` may name it).
    pub(crate) produced: Option<String>,
}

impl TurnFrames {
    fn error(status: u16, error: &Value, headers: Option<Value>) -> Self {
        let mut frame = json!({"type": "error", "status_code": status, "error": error});
        if let (Some(headers), Value::Object(fields)) = (headers, &mut frame) {
            fields.insert("headers".to_owned(), headers);
        }
        Self {
            frames: vec![frame.to_string()],
            ending: Ending::Complete,
            produced: None,
        }
    }

    fn invalid(message: &str, code: Option<&str>, param: Option<&str>) -> Self {
        Self::error(
            400,
            &json!({"type": "invalid_request_error", "message": message, "code": code, "param": param}),
            None,
        )
    }
}

/// The answer of `account` to the client frame `frame` (`raw_len` bytes on the wire), on a socket
/// that produced the responses in `produced`:
///
/// 1. not a `response.create` with a `model`, or a frame the backend's body rules refuse
///    ([`turn_refusal`]: `store: false`, `stream: true`, no sampling parameters): a 400 `error`
///    frame (for a rule, its `error.message` is the `detail` the HTTP answer would carry; the
///    backend's websocket wording is not known);
/// 2. the account's injected `fail_status`: an `error` frame with that status;
/// 3. an exhausted account: a 429 `usage_limit_reached` `error` frame with its quota headers;
/// 4. a `previous_response_id` this socket did not produce: 400 `previous_response_not_found`;
/// 5. otherwise `codex.rate_limits`, then for a `generate: false` prewarm `response.created` and
///    `response.completed` with no output, else the same events as the SSE answer.
pub(crate) fn answer(
    state: &FakeState,
    config: &FakeConfig,
    account: &FakeAccount,
    frame: &Value,
    raw_len: usize,
    produced: &HashSet<String>,
) -> TurnFrames {
    if frame.get("type").and_then(Value::as_str) != Some("response.create") {
        return TurnFrames::invalid("unsupported websocket message type", None, Some("type"));
    }
    let Some(model) = frame
        .get("model")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
    else {
        return TurnFrames::invalid("missing required parameter: 'model'", None, Some("model"));
    };
    if let Some(detail) = turn_refusal(frame) {
        return TurnFrames::invalid(&detail, None, None);
    }
    let quota = QuotaSnapshot::of(account);
    if let Some(status) = account.fail_status {
        let error = json!({"type": "server_error", "message": format!("fake upstream failure injected with status {status}"), "code": null});
        return TurnFrames::error(status, &error, None);
    }
    if account.usage_limit_reached {
        let error = json!({
            "type": "usage_limit_reached",
            "message": "The usage limit has been reached",
            "plan_type": account.plan_type,
            "resets_at": quota.primary_reset_at(),
            "resets_in_seconds": quota.primary_reset_after_seconds(),
        });
        return TurnFrames::error(429, &error, Some(error_headers_json(&quota, account)));
    }
    if let Some(previous) = frame.get("previous_response_id").and_then(Value::as_str)
        && !produced.contains(previous)
    {
        return TurnFrames::invalid(
            &format!("Previous response with id '{previous}' not found."),
            Some("previous_response_not_found"),
            Some("previous_response_id"),
        );
    }

    let reply = build_reply(state.next_id(), config, account, model, frame, raw_len);
    let mut frames = vec![rate_limits_event(account, &quota).to_string()];
    let ending = if frame.get("generate").and_then(Value::as_bool) == Some(false) {
        let mut completed = reply.completed();
        completed["output"] = json!([]);
        completed["usage"]["output_tokens"] = json!(0);
        completed["usage"]["output_tokens_details"]["reasoning_tokens"] = json!(0);
        completed["usage"]["total_tokens"] = json!(reply.usage.input_tokens);
        frames.push(json!({"type": "response.created", "sequence_number": 0, "response": reply.in_progress()}).to_string());
        frames.push(
            json!({"type": "response.completed", "sequence_number": 1, "response": completed})
                .to_string(),
        );
        Ending::Complete
    } else {
        let events: Vec<String> = events(&reply, config.text_deltas, config.items_only_in_done)
            .iter()
            .filter_map(|event| sse_data(&event.encode()))
            .collect();
        // The rate-limits frame is extra: stalls and breaks count the answer's events only.
        let ending = Ending::choose(
            account.stall_after_events.or(config.stall_after_events),
            account.break_after_events.or(config.break_after_events),
            events.len(),
        );
        frames.extend(events);
        match ending {
            Ending::Complete => Ending::Complete,
            Ending::StallAfter(n) => Ending::StallAfter(n + 1),
            Ending::BreakAfter(n) => Ending::BreakAfter(n + 1),
        }
    };
    TurnFrames {
        frames,
        ending,
        produced: Some(reply.id),
    }
}

/// The `data:` JSON of one encoded SSE event.
fn sse_data(encoded: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(encoded).ok()?;
    let (_, data) = text.split_once("\ndata: ")?;
    Some(data.trim_end_matches('\n').to_owned())
}

/// The account's quota headers (and the serving-account header) as the JSON object an `error`
/// frame carries.
fn error_headers_json(quota: &QuotaSnapshot, account: &FakeAccount) -> Value {
    let mut headers = quota.headers();
    super::auth::name_serving_account(&mut headers, account);
    headers
        .iter()
        .filter_map(|(name, value)| {
            Some((
                name.as_str().to_owned(),
                Value::from(value.to_str().ok()?.to_owned()),
            ))
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// A `codex.rate_limits` event with the account's windows (the numbers of its quota headers).
fn rate_limits_event(account: &FakeAccount, quota: &QuotaSnapshot) -> Value {
    let headers = quota.headers();
    let number = |name: String| -> Value {
        let text = headers.get(name.as_str()).and_then(|v| v.to_str().ok());
        match text {
            Some(t) if t.contains('.') => t.parse::<f64>().map_or(Value::Null, Value::from),
            Some(t) => t.parse::<u64>().map_or(Value::Null, Value::from),
            None => Value::Null,
        }
    };
    let window = |family: &str| {
        json!({
            "used_percent": number(format!("x-codex-{family}-used-percent")),
            "window_minutes": number(format!("x-codex-{family}-window-minutes")),
            "reset_at": number(format!("x-codex-{family}-reset-at")),
        })
    };
    json!({
        "type": "codex.rate_limits",
        "plan_type": account.plan_type,
        "rate_limits": {
            "primary": window("primary"),
            "secondary": window("secondary"),
            "tertiary": quota.tertiary_event_window(),
        },
        "credits": {"has_credits": false, "unlimited": false, "balance": "0"},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(extra: Value) -> Value {
        let mut frame = json!({"type": "response.create", "model": "m", "stream": true, "store": false,
            "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}]});
        if let (Value::Object(f), Value::Object(e)) = (&mut frame, extra) {
            f.extend(e);
        }
        frame
    }

    fn kinds(turn: &TurnFrames) -> Vec<String> {
        turn.frames
            .iter()
            .map(|f| {
                serde_json::from_str::<Value>(f).unwrap()["type"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }

    #[test]
    fn answers_turns_prewarms_and_refusals() {
        let state = FakeState::new(FakeConfig::default());
        let config = FakeConfig {
            text_deltas: 1,
            ..FakeConfig::default()
        };
        let account = FakeAccount::new("acc", "tok", "alice");
        let mut produced = HashSet::new();

        let prewarm = answer(
            &state,
            &config,
            &account,
            &create(json!({"generate": false})),
            10,
            &produced,
        );
        assert_eq!(
            kinds(&prewarm),
            [
                "codex.rate_limits",
                "response.created",
                "response.completed"
            ]
        );
        assert!(prewarm.frames[2].contains(r#""output":[]"#));
        produced.extend(prewarm.produced.clone());

        let turn = answer(&state, &config, &account, &create(json!({})), 10, &produced);
        assert_eq!(
            kinds(&turn),
            [
                "codex.rate_limits",
                "response.created",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.completed"
            ]
        );
        assert!(turn.frames[4].contains("Hello from alice"));

        let follow = create(json!({"previous_response_id": prewarm.produced.unwrap()}));
        assert_eq!(
            answer(&state, &config, &account, &follow, 10, &produced)
                .frames
                .len(),
            9
        );
        let unknown = create(json!({"previous_response_id": "resp_other"}));
        let refused = answer(&state, &config, &account, &unknown, 10, &produced);
        assert_eq!(kinds(&refused), ["error"]);
        assert!(refused.frames[0].contains("previous_response_not_found"));
        assert!(refused.produced.is_none());

        let exhausted = FakeAccount {
            usage_limit_reached: true,
            ..account.clone()
        };
        let limited = answer(
            &state,
            &config,
            &exhausted,
            &create(json!({})),
            10,
            &produced,
        );
        let frame: Value = serde_json::from_str(&limited.frames[0]).unwrap();
        assert_eq!(frame["status_code"], 429);
        assert_eq!(frame["error"]["type"], "usage_limit_reached");
        assert_eq!(frame["headers"]["x-codex-primary-used-percent"], "100.0");
    }

    #[test]
    fn frames_the_backend_refuses_get_an_error_frame() {
        let state = FakeState::new(FakeConfig::default());
        let account = FakeAccount::new("acc", "tok", "alice");
        let no_store = {
            let mut frame = create(json!({}));
            frame.as_object_mut().map(|f| f.remove("store"));
            frame
        };
        for (frame, detail) in [
            (no_store, "Store must be set to false"),
            (
                create(json!({"stream": false})),
                "Stream must be set to true",
            ),
            (
                create(json!({"temperature": 0.2})),
                "Unsupported parameter: temperature",
            ),
        ] {
            let config = FakeConfig::default();
            let turn = answer(&state, &config, &account, &frame, 10, &HashSet::new());
            let error: Value = serde_json::from_str(&turn.frames[0]).unwrap();
            assert_eq!(turn.frames.len(), 1);
            assert_eq!(error["status_code"], 400);
            assert_eq!(error["error"]["message"], detail);
            assert!(turn.produced.is_none());
        }
    }

    #[test]
    fn rate_limits_event_has_the_quota_windows() {
        let mut account = FakeAccount::new("acc", "tok", "alice");
        account.primary_used_percent = 12.5;
        let event = rate_limits_event(&account, &QuotaSnapshot::of(&account));
        assert_eq!(event["rate_limits"]["primary"]["used_percent"], 12.5);
        assert_eq!(event["rate_limits"]["primary"]["window_minutes"], 300);
        assert_eq!(event["rate_limits"]["secondary"]["window_minutes"], 10080);
        assert!(
            event["rate_limits"]["primary"]["reset_at"]
                .as_u64()
                .is_some()
        );
    }
}
