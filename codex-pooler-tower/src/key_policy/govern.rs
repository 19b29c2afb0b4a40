//! [`govern_body`]: one request body under its key's policy, shared by HTTP requests and
//! websocket turns.

use std::time::SystemTime;

use bytes::Bytes;
use codex_pooler_core::error::PoolerError;
use codex_pooler_core::live::LiveState;
use codex_pooler_core::model::{KeyId, KeyPolicy, Snapshot};
use serde_json::{Map, Value};

/// The policy of `key`, when it has any rule (a key without rules costs one lookup).
pub(crate) fn rules_for(snapshot: &Snapshot, key: KeyId) -> Option<&KeyPolicy> {
    snapshot
        .key(key)
        .map(|k| &k.policy)
        .filter(|p| p.rewrites_bodies() || !p.limits.is_unlimited())
}

/// Applies `policy` to a request of `key` and admits it under the key's limits. With
/// `responses_body` (a Codex `responses` or compact JSON body) the model and effort rules
/// rewrite or refuse it and its size counts as input; other bodies (files, audio) only count
/// as a request.
///
/// The model and effort rules go first, so a refused model costs the key no request. A body
/// that is no JSON object is left as it is for the facts reader to refuse. Answers the
/// rewritten body when a rule changed it; `None` sends `body` as it is.
pub(crate) fn govern_body(
    policy: &KeyPolicy,
    key: KeyId,
    body: &[u8],
    responses_body: bool,
    live: &LiveState,
    now: SystemTime,
) -> Result<Option<Bytes>, PoolerError> {
    let rewritten = if responses_body && policy.rewrites_bodies() {
        rewritten(policy, body)?
    } else {
        None
    };
    if !policy.limits.is_unlimited() {
        let input = match (&rewritten, responses_body) {
            (Some(new), _) => new.len(),
            (None, true) => body.len(),
            (None, false) => 0,
        };
        live.admit_key(key, &policy.limits, input, now)?;
    }
    Ok(rewritten)
}

fn rewritten(policy: &KeyPolicy, body: &[u8]) -> Result<Option<Bytes>, PoolerError> {
    let Ok(mut fields) = serde_json::from_slice::<Map<String, Value>>(body) else {
        return Ok(None);
    };
    if !policy.apply(&mut fields)? {
        return Ok(None);
    }
    serde_json::to_vec(&fields)
        .map(|encoded| Some(Bytes::from(encoded)))
        .map_err(|e| PoolerError::internal(format!("cannot encode the request body: {e}")))
}

#[cfg(test)]
mod tests {
    use codex_pooler_core::model::{EffortRule, KeyLimits, ReasoningEffort};

    use super::*;

    /// [`govern_body`], answering the body to send.
    fn govern_body(
        policy: &KeyPolicy,
        key: KeyId,
        body: Bytes,
        responses_body: bool,
        live: &LiveState,
        now: SystemTime,
    ) -> Result<Bytes, PoolerError> {
        super::govern_body(policy, key, &body, responses_body, live, now)
            .map(|rewritten| rewritten.unwrap_or(body))
    }

    fn now() -> SystemTime {
        codex_pooler_core::clock::from_unix_seconds(1_000_000)
    }

    #[test]
    fn the_body_is_rewritten_only_when_a_rule_changes_it() {
        let live = LiveState::new();
        let policy = KeyPolicy {
            reasoning: Some(EffortRule::AtMost(ReasoningEffort::Low)),
            ..KeyPolicy::default()
        };
        let low = Bytes::from_static(br#"{"model":"m","reasoning":{"effort":"low"}}"#);
        let kept = govern_body(&policy, KeyId(1), low.clone(), true, &live, now()).unwrap();
        assert_eq!(kept, low);
        let high = Bytes::from_static(br#"{"model":"m","reasoning":{"effort":"high"}}"#);
        let lowered = govern_body(&policy, KeyId(1), high, true, &live, now()).unwrap();
        let lowered: Value = serde_json::from_slice(&lowered).unwrap();
        assert_eq!(lowered["reasoning"]["effort"], "low");
        let broken = Bytes::from_static(b"not json");
        assert_eq!(
            govern_body(&policy, KeyId(1), broken.clone(), true, &live, now()).unwrap(),
            broken
        );
    }

    #[test]
    fn a_refused_model_costs_no_request() {
        let live = LiveState::new();
        let policy = KeyPolicy {
            allowed_models: vec!["a".into()],
            limits: KeyLimits {
                requests_per_minute: Some(1),
                ..KeyLimits::default()
            },
            ..KeyPolicy::default()
        };
        let other = Bytes::from_static(br#"{"model":"b"}"#);
        let refused = govern_body(&policy, KeyId(1), other, true, &live, now()).unwrap_err();
        assert_eq!(refused.code().as_str(), "model_not_allowed");
        let allowed = Bytes::from_static(br#"{"model":"a"}"#);
        govern_body(&policy, KeyId(1), allowed.clone(), true, &live, now()).unwrap();
        let limited = govern_body(&policy, KeyId(1), allowed, true, &live, now()).unwrap_err();
        assert_eq!(limited.status().as_u16(), 429);
        assert!(limited.retry_after().is_some());
    }
}
