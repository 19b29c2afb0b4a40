//! [`KeyPolicy`]: what one Pool API key may ask of its pool, on both runtime surfaces.
//!
//! A policy holds model rules (an allowlist, or one enforced model), a reasoning-effort rule
//! (enforced, or capped) and [`KeyLimits`]. The model and effort rules rewrite or refuse the
//! Codex-shaped request body ([`KeyPolicy::apply`]); the limits are metered in memory by
//! [`LiveState`](crate::live::LiveState) before anything goes upstream.
//!
//! ```
//! use codex_pooler_core::model::{EffortRule, KeyPolicy, ReasoningEffort};
//!
//! let policy = KeyPolicy {
//!     allowed_models: vec!["gpt-5.4".into()],
//!     reasoning: Some(EffortRule::AtMost(ReasoningEffort::Medium)),
//!     ..KeyPolicy::default()
//! };
//! let mut body = serde_json::json!({"model": "gpt-5.4", "reasoning": {"effort": "xhigh"}});
//! policy.apply(body.as_object_mut().unwrap()).unwrap();
//! assert_eq!(body["reasoning"]["effort"], "medium");
//!
//! let mut other = serde_json::json!({"model": "o3"});
//! let refused = policy.apply(other.as_object_mut().unwrap()).unwrap_err();
//! assert_eq!(refused.code().as_str(), "model_not_allowed");
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::UnknownVariant;
use crate::error::PoolerError;

/// The rules a key's requests follow. The default allows everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KeyPolicy {
    /// Models the key may name; empty allows every model of the pool.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_models: Vec<String>,
    /// The model every request of the key is sent with, whatever it names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enforced_model: Option<String>,
    /// The reasoning effort rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<EffortRule>,
    /// Rate and size limits.
    #[serde(skip_serializing_if = "KeyLimits::is_unlimited")]
    pub limits: KeyLimits,
}

/// Limits metered per key, in memory, on the request path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KeyLimits {
    /// Requests admitted in any 60 seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<u32>,
    /// Tokens (input plus output, as upstream reports them) in the last 24 hours.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens_per_day: Option<u64>,
    /// Tokens in the last 7 days.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens_per_week: Option<u64>,
    /// Estimated input tokens of one request (its body bytes divided by four, rounded up).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_tokens_per_request: Option<u64>,
}

impl KeyLimits {
    /// Whether no limit is set.
    pub fn is_unlimited(&self) -> bool {
        *self == Self::default()
    }
}

/// A reasoning effort the Codex backend knows, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReasoningEffort {
    /// `none`.
    None,
    /// `minimal`.
    Minimal,
    /// `low`.
    Low,
    /// `medium`, the backend's default when a request names none.
    Medium,
    /// `high`.
    High,
    /// `xhigh`.
    Xhigh,
}

impl ReasoningEffort {
    /// Every effort, lowest first.
    pub const ALL: [Self; 6] = [
        Self::None,
        Self::Minimal,
        Self::Low,
        Self::Medium,
        Self::High,
        Self::Xhigh,
    ];

    /// The wire spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Minimal => "minimal",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Xhigh => "xhigh",
        }
    }
}

impl fmt::Display for ReasoningEffort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ReasoningEffort {
    type Err = UnknownVariant;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| UnknownVariant::new("reasoning effort", s))
    }
}

/// How a key's reasoning effort is ruled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EffortRule {
    /// Every request is sent with this effort.
    Enforce(ReasoningEffort),
    /// A request asking for more is lowered to this effort; one naming none counts as
    /// [`Medium`](ReasoningEffort::Medium), the backend's default.
    AtMost(ReasoningEffort),
}

impl KeyPolicy {
    /// Whether the policy has a model or effort rule, so request bodies must be read.
    pub fn rewrites_bodies(&self) -> bool {
        !self.allowed_models.is_empty() || self.enforced_model.is_some() || self.reasoning.is_some()
    }

    /// Whether the policy narrows the models (an allowlist or an enforced model).
    pub fn restricts_models(&self) -> bool {
        self.enforced_model.is_some() || !self.allowed_models.is_empty()
    }

    /// Whether requests may name `model`: the enforced model when there is one, else any
    /// model of a non-empty allowlist, else every model.
    pub fn allows_model(&self, model: &str) -> bool {
        match &self.enforced_model {
            Some(enforced) => enforced == model,
            None => {
                self.allowed_models.is_empty() || self.allowed_models.iter().any(|m| m == model)
            }
        }
    }

    /// Applies the model and effort rules to a Codex `responses` body: the enforced model
    /// replaces the named one, a model outside the allowlist is refused with 403
    /// `model_not_allowed`, and the effort is set or lowered. Answers whether the body changed.
    pub fn apply(&self, body: &mut Map<String, Value>) -> Result<bool, PoolerError> {
        let mut changed = false;
        if let Some(model) = &self.enforced_model {
            if body.get("model").and_then(Value::as_str) != Some(model) {
                body.insert("model".into(), Value::String(model.clone()));
                changed = true;
            }
        } else if let Some(model) = body.get("model").and_then(Value::as_str)
            && !self.allows_model(model)
        {
            return Err(PoolerError::model_not_allowed(model));
        }
        if let Some(rule) = self.reasoning {
            changed |= apply_effort(rule, body)?;
        }
        Ok(changed)
    }
}

/// Sets or lowers `reasoning.effort` under `rule`.
fn apply_effort(rule: EffortRule, body: &mut Map<String, Value>) -> Result<bool, PoolerError> {
    let current = body
        .get("reasoning")
        .and_then(|r| r.get("effort"))
        .and_then(Value::as_str);
    let target = match rule {
        EffortRule::Enforce(effort) => effort,
        EffortRule::AtMost(cap) => {
            let asked = match current {
                None => ReasoningEffort::Medium,
                Some(name) => name.parse().map_err(|_| {
                    PoolerError::invalid_request(format!(
                        "unknown reasoning effort {name:?}; this key caps effort at {cap}"
                    ))
                    .with_param("reasoning.effort")
                })?,
            };
            if asked <= cap {
                return Ok(false);
            }
            cap
        }
    };
    if current == Some(target.as_str()) {
        return Ok(false);
    }
    let reasoning = body
        .entry("reasoning")
        .or_insert_with(|| Value::Object(Map::new()));
    match reasoning {
        Value::Object(fields) => {
            fields.insert("effort".into(), Value::String(target.as_str().into()));
        }
        other => *other = serde_json::json!({ "effort": target.as_str() }),
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn applied(policy: &KeyPolicy, mut body: Value) -> Result<(bool, Value), String> {
        let changed = policy
            .apply(body.as_object_mut().unwrap())
            .map_err(|e| e.code().as_str().to_owned())?;
        Ok((changed, body))
    }

    #[test]
    fn the_default_policy_changes_nothing() {
        let body = json!({"model": "m", "reasoning": {"effort": "xhigh"}});
        let policy = KeyPolicy::default();
        assert!(!policy.rewrites_bodies());
        assert_eq!(applied(&policy, body.clone()), Ok((false, body)));
    }

    #[test]
    fn an_enforced_model_replaces_the_named_one_and_overrides_the_allowlist() {
        let policy = KeyPolicy {
            allowed_models: vec!["a".into()],
            enforced_model: Some("b".into()),
            ..KeyPolicy::default()
        };
        let (changed, body) = applied(&policy, json!({"model": "c"})).unwrap();
        assert!(changed);
        assert_eq!(body["model"], "b");
        let (changed, _) = applied(&policy, json!({"model": "b"})).unwrap();
        assert!(!changed);
    }

    #[test]
    fn a_model_outside_the_allowlist_is_refused() {
        let policy = KeyPolicy {
            allowed_models: vec!["a".into(), "b".into()],
            ..KeyPolicy::default()
        };
        assert!(!applied(&policy, json!({"model": "b"})).unwrap().0);
        assert_eq!(
            applied(&policy, json!({"model": "c"})),
            Err("model_not_allowed".into())
        );
        // No model: the facts layer answers `model_required` later.
        assert!(applied(&policy, json!({})).is_ok());
    }

    #[test]
    fn an_effort_cap_lowers_higher_efforts_and_a_missing_one_counts_as_medium() {
        let low = KeyPolicy {
            reasoning: Some(EffortRule::AtMost(ReasoningEffort::Low)),
            ..KeyPolicy::default()
        };
        let (changed, body) = applied(
            &low,
            json!({"reasoning": {"effort": "high", "summary": "auto"}}),
        )
        .unwrap();
        assert!(changed);
        assert_eq!(
            body["reasoning"],
            json!({"effort": "low", "summary": "auto"})
        );
        assert!(
            !applied(&low, json!({"reasoning": {"effort": "minimal"}}))
                .unwrap()
                .0
        );
        let (_, body) = applied(&low, json!({"model": "m"})).unwrap();
        assert_eq!(body["reasoning"]["effort"], "low");
        let high = KeyPolicy {
            reasoning: Some(EffortRule::AtMost(ReasoningEffort::High)),
            ..KeyPolicy::default()
        };
        let (changed, body) = applied(&high, json!({"model": "m"})).unwrap();
        assert!(!changed);
        assert!(body.get("reasoning").is_none());
        assert_eq!(
            applied(&high, json!({"reasoning": {"effort": "turbo"}})),
            Err("invalid_request".into())
        );
    }

    #[test]
    fn an_enforced_effort_is_always_sent() {
        let policy = KeyPolicy {
            reasoning: Some(EffortRule::Enforce(ReasoningEffort::High)),
            ..KeyPolicy::default()
        };
        for body in [
            json!({}),
            json!({"reasoning": null}),
            json!({"reasoning": {"effort": "low"}}),
        ] {
            let (_, body) = applied(&policy, body).unwrap();
            assert_eq!(body["reasoning"]["effort"], "high");
        }
    }

    #[test]
    fn the_stored_form_is_compact_and_refuses_unknown_fields() {
        let policy = KeyPolicy {
            limits: KeyLimits {
                requests_per_minute: Some(5),
                ..KeyLimits::default()
            },
            reasoning: Some(EffortRule::AtMost(ReasoningEffort::Medium)),
            ..KeyPolicy::default()
        };
        let text = serde_json::to_string(&policy).unwrap();
        assert_eq!(
            text,
            r#"{"reasoning":{"at_most":"medium"},"limits":{"requests_per_minute":5}}"#
        );
        assert_eq!(serde_json::from_str::<KeyPolicy>(&text).unwrap(), policy);
        assert_eq!(serde_json::to_string(&KeyPolicy::default()).unwrap(), "{}");
        assert!(serde_json::from_str::<KeyPolicy>(r#"{"rpm":1}"#).is_err());
    }
}
