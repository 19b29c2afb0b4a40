//! `keys list` and `keys set-policy`: keys with their rules.

use codex_pooler_core::model::{EffortRule, KeyPolicy, PoolApiKey};
use codex_pooler_core::store::PoolStore;
use serde::Serialize;

use super::find_key;
use crate::error::ServerError;

/// One key as `keys list --json` prints it: metadata and rules, never the key or its hash.
#[derive(Debug, Serialize)]
struct ListedKey<'a> {
    id: i64,
    prefix: &'a str,
    pool: i64,
    name: &'a str,
    status: &'a str,
    /// Unix seconds.
    expires_at: Option<i64>,
    policy: &'a KeyPolicy,
    /// Unix seconds: until when the secret before the last rotation is still accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_secret_until: Option<i64>,
}

impl<'a> From<&'a PoolApiKey> for ListedKey<'a> {
    fn from(key: &'a PoolApiKey) -> Self {
        Self {
            id: key.id.0,
            prefix: &key.prefix,
            pool: key.pool.0,
            name: &key.name,
            status: key.status.as_str(),
            expires_at: key.expires_at.map(codex_pooler_core::clock::unix_seconds),
            policy: &key.policy,
            previous_secret_until: key
                .previous
                .map(|p| codex_pooler_core::clock::unix_seconds(p.until)),
        }
    }
}

/// Prints every key (prefixes only) with its rules: a table, or with `json` one JSON array.
pub async fn list(store: &dyn PoolStore, json: bool) -> Result<(), ServerError> {
    let state = store.load_state().await?;
    if json {
        let keys: Vec<ListedKey<'_>> = state.keys.iter().map(ListedKey::from).collect();
        let out = serde_json::to_string(&keys)
            .map_err(|e| ServerError::Usage(format!("cannot encode the keys: {e}")))?;
        println!("{out}");
        return Ok(());
    }
    println!(
        "{:<6} {:<14} {:<8} {:<10} {:<20} POLICY",
        "ID", "PREFIX", "POOL", "STATUS", "NAME"
    );
    for key in &state.keys {
        println!(
            "{:<6} {:<14} {:<8} {:<10} {:<20} {}",
            key.id,
            key.prefix,
            key.pool,
            key.status.as_str(),
            key.name,
            summary(&key.policy)
        );
    }
    Ok(())
}

/// Replaces the whole policy of the key with prefix or id `key`.
pub async fn set_policy(
    store: &dyn PoolStore,
    key: &str,
    policy: KeyPolicy,
) -> Result<(), ServerError> {
    check(&policy)?;
    let found = find_key(store, key).await?;
    let line = summary(&policy);
    store.set_key_policy(found.id, policy).await?;
    println!("key {} policy: {line}", found.prefix);
    Ok(())
}

/// Refuses rules that contradict each other.
pub(crate) fn check(policy: &KeyPolicy) -> Result<(), ServerError> {
    if let Some(model) = &policy.enforced_model
        && !policy.allowed_models.is_empty()
        && !policy.allowed_models.contains(model)
    {
        return Err(ServerError::Usage(format!(
            "--enforce-model {model} is not one of the --allow-model models"
        )));
    }
    Ok(())
}

/// The rules on one line, `-` for none: `models=a,b effort<=medium rpm=60 tpd=100000`.
fn summary(policy: &KeyPolicy) -> String {
    let mut parts = Vec::new();
    if let Some(model) = &policy.enforced_model {
        parts.push(format!("model={model}"));
    } else if !policy.allowed_models.is_empty() {
        parts.push(format!("models={}", policy.allowed_models.join(",")));
    }
    match policy.reasoning {
        Some(EffortRule::Enforce(effort)) => parts.push(format!("effort={effort}")),
        Some(EffortRule::AtMost(cap)) => parts.push(format!("effort<={cap}")),
        None => {}
    }
    let limits = policy.limits;
    for (name, value) in [
        ("rpm", limits.requests_per_minute.map(u64::from)),
        ("tpd", limits.tokens_per_day),
        ("tpw", limits.tokens_per_week),
        ("max_input", limits.input_tokens_per_request),
    ] {
        if let Some(value) = value {
            parts.push(format!("{name}={value}"));
        }
    }
    if parts.is_empty() {
        return "-".to_owned();
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use codex_pooler_core::model::{KeyLimits, ReasoningEffort};

    use super::*;

    #[test]
    fn a_policy_reads_on_one_line() {
        assert_eq!(summary(&KeyPolicy::default()), "-");
        let policy = KeyPolicy {
            allowed_models: vec!["gpt-5.4".into(), "gpt-5.5".into()],
            enforced_model: None,
            reasoning: Some(EffortRule::AtMost(ReasoningEffort::Medium)),
            limits: KeyLimits {
                requests_per_minute: Some(60),
                tokens_per_day: Some(1000),
                ..KeyLimits::default()
            },
        };
        assert_eq!(
            summary(&policy),
            "models=gpt-5.4,gpt-5.5 effort<=medium rpm=60 tpd=1000"
        );
    }

    #[test]
    fn an_enforced_model_outside_the_allowlist_is_refused() {
        let policy = KeyPolicy {
            allowed_models: vec!["a".into()],
            enforced_model: Some("b".into()),
            ..KeyPolicy::default()
        };
        assert!(check(&policy).is_err());
        let fine = KeyPolicy {
            enforced_model: Some("a".into()),
            ..policy
        };
        assert!(check(&fine).is_ok());
    }
}
