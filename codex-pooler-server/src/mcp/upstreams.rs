//! `list_upstreams` and `get_upstream`: accounts in scope with their lifecycle, models, quota
//! windows from the running gateway's live state, and routability in each of their pools.
//!
//! An account is shown by its store id and label only: never its tokens, its ChatGPT account
//! or user id, its email or its base URL. A label that looks like an email address (an import
//! without `--label` uses the account's email) is shown as `upstream-<id>` instead.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use codex_pooler_core::model::{AccountId, Lifecycle, PoolId, UpstreamAccount};
use codex_pooler_core::plan::{ReasonReport, RouteQuery, WindowReport};
use codex_pooler_core::request::RouteClass;
use codex_pooler_core::store::{PoolStore, StoreState};
use serde::Serialize;

use super::McpState;
use super::args::{ListUpstreamsArgs, UpstreamArg};
use crate::admin::pools::scoped_pool;
use crate::admin::{ApiError, Caller};
use crate::operators::Scope;

/// An upstream account, as metadata.
#[derive(Debug, Serialize)]
pub(crate) struct UpstreamView {
    /// The account's store id: the handle other tools take.
    id: i64,
    /// Its operator-chosen label (`upstream-<id>` when the label is an email address).
    label: String,
    /// The ChatGPT plan, as sent (`plus`, `pro`, ...).
    plan_type: Option<String>,
    /// Credential lifecycle (`active`, `paused`, `needs_reauth`, ...).
    lifecycle: Lifecycle,
    /// Models it serves.
    models: Vec<String>,
    /// Its quota windows that count now, from the gateway's live state.
    quota: Vec<WindowReport>,
    /// When its quota is exhausted until (Unix milliseconds), if it is.
    exhausted_until_ms: Option<i64>,
    /// Routability in each of its pools in scope.
    routing: Vec<PoolRouting>,
}

/// Whether the account takes a request in one pool now, and why not.
#[derive(Debug, Serialize)]
struct PoolRouting {
    /// The pool's slug.
    pool: String,
    /// The model checked (none when the account lists none).
    model: Option<String>,
    /// Whether the planner counts it eligible.
    routable: bool,
    /// Every reason it is not.
    reasons: Vec<ReasonReport>,
    /// Requests in flight on it.
    in_flight: u32,
    /// Whether a recent 429 demoted it for the model.
    demoted: bool,
}

/// The accounts in scope, of one pool when `args.pool` names one.
pub(crate) async fn list(
    state: &McpState,
    caller: &Caller,
    args: ListUpstreamsArgs,
) -> Result<Vec<UpstreamView>, ApiError> {
    let only = match &args.pool {
        Some(slug) => Some(scoped_pool(&state.admin, caller, slug).await?.id),
        None => None,
    };
    let config = state.admin.store.load_state().await?;
    let scope = caller.scope();
    Ok(config
        .accounts
        .iter()
        .filter(|a| {
            let pools = pools_of(&config, a.id);
            scope.allows_any(&pools) && only.is_none_or(|p| pools.contains(&p))
        })
        .map(|a| view(state, &config, &scope, a, args.model.as_deref()))
        .collect())
}

/// One account in scope.
pub(crate) async fn get(
    state: &McpState,
    caller: &Caller,
    args: UpstreamArg,
) -> Result<UpstreamView, ApiError> {
    let config = state.admin.store.load_state().await?;
    let scope = caller.scope();
    config
        .accounts
        .iter()
        .find(|a| a.id == AccountId(args.upstream) && scope.allows_any(&pools_of(&config, a.id)))
        .map(|a| view(state, &config, &scope, a, args.model.as_deref()))
        .ok_or_else(|| ApiError::NotFound(format!("upstream account {}", args.upstream)))
}

fn pools_of(config: &StoreState, account: AccountId) -> Vec<PoolId> {
    config
        .assignments
        .iter()
        .filter(|x| x.account == account)
        .map(|x| x.pool)
        .collect()
}

fn view(
    state: &McpState,
    config: &StoreState,
    scope: &Scope,
    account: &UpstreamAccount,
    model: Option<&str>,
) -> UpstreamView {
    let pooler = &state.admin.pooler;
    let now = SystemTime::now();
    let quota = pooler.live().quota_view(account.id, now);
    let model = model.or_else(|| account.models.first().map(String::as_str));
    let slugs: BTreeMap<PoolId, &str> = config
        .pools
        .iter()
        .map(|p| (p.id, p.slug.as_str()))
        .collect();
    let routing = pools_of(config, account.id)
        .into_iter()
        .filter(|p| scope.allows(*p))
        .filter_map(|pool| {
            let query = RouteQuery::new(pool, RouteClass::Responses, model);
            // An account the gateway has not loaded yet has no explanation.
            let explained = pooler.explain_account(&query, account.id).ok()?;
            Some(PoolRouting {
                pool: slugs.get(&pool).copied().unwrap_or_default().to_owned(),
                model: explained.model,
                routable: explained.routable,
                reasons: explained.reasons,
                in_flight: explained.in_flight,
                demoted: explained.demoted,
            })
        })
        .collect();
    UpstreamView {
        id: account.id.0,
        label: shown_label(account),
        plan_type: account.plan_type.clone(),
        lifecycle: account.lifecycle,
        models: account.models.clone(),
        quota: quota.windows.iter().map(WindowReport::from).collect(),
        exhausted_until_ms: quota.exhausted_until.map(unix_millis),
        routing,
    }
}

/// The label, unless it could be an email address.
fn shown_label(account: &UpstreamAccount) -> String {
    if account.label.contains('@') {
        format!("upstream-{}", account.id.0)
    } else {
        account.label.clone()
    }
}

fn unix_millis(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_labels_are_not_shown() {
        let account = UpstreamAccount::new(AccountId(4), "ann@example.com");
        assert_eq!(shown_label(&account), "upstream-4");
        let account = UpstreamAccount::new(AccountId(4), "team-laptop");
        assert_eq!(shown_label(&account), "team-laptop");
    }
}
