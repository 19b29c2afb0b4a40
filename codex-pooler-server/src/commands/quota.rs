//! `codex-pooler upstreams quota`: the quota evidence the store holds, per account and window.
//!
//! Gateways flush their live evidence to the store every few seconds
//! ([`EvidenceWriter`](codex_pooler_tower::evidence::EvidenceWriter)); this reads it back, so it
//! shows what the last flush wrote, with each reading's age. The JSON is the
//! [`AccountQuotaReport`] array the REST API returns from a running gateway's live state.

use std::time::SystemTime;

use codex_pooler_core::clock::from_unix_seconds;
use codex_pooler_core::live::LiveState;
use codex_pooler_core::model::{AccountId, Snapshot};
use codex_pooler_core::plan::{RouteQuery, explain_account};
use codex_pooler_core::quota::{AccountQuotaReport, ReportScope, stored_quota_report};
use codex_pooler_core::request::RouteClass;
use codex_pooler_core::store::PoolStore;

use super::pool_named;
use crate::error::ServerError;

/// Prints the quota report of the accounts of `pool` (a slug), or of account `id`, or of all:
/// a table, or with `json` one JSON array.
pub async fn show(
    store: &dyn PoolStore,
    pool: Option<&str>,
    id: Option<i64>,
    json: bool,
) -> Result<(), ServerError> {
    let pool = match pool {
        Some(slug) => Some(pool_named(store, slug).await?.id),
        None => None,
    };
    let state = store.load_state().await?;
    if let Some(id) = id.filter(|id| !state.accounts.iter().any(|a| a.id.0 == *id)) {
        return Err(ServerError::Usage(format!(
            "no upstream account {id}; see `codex-pooler upstreams list`"
        )));
    }
    let evidence = store.load_quota_evidence().await?;
    let scope = ReportScope {
        pool,
        account: id.map(AccountId),
    };
    let now = SystemTime::now();
    let report = stored_quota_report(&Snapshot::build(state), &evidence, scope, now);
    if json {
        let out = serde_json::to_string(&report)
            .map_err(|e| ServerError::Usage(format!("cannot encode the quota report: {e}")))?;
        println!("{out}");
        return Ok(());
    }
    print_table(&report, now);
    Ok(())
}

/// Prints whether account `id` is routable in `pool` for a turn of `model`, with every reason
/// it is not: the planner's checks over the stored configuration and the quota evidence gateways
/// last wrote (circuit state is each gateway's own and not in the store).
pub async fn explain(
    store: &dyn PoolStore,
    id: i64,
    pool: &str,
    model: &str,
    json: bool,
) -> Result<(), ServerError> {
    let pool = pool_named(store, pool).await?;
    let snapshot = Snapshot::build(store.load_state().await?);
    let live = LiveState::new();
    live.restore_quota(&store.load_quota_evidence().await?);
    let query = RouteQuery::new(pool.id, RouteClass::Responses, Some(model));
    let explained = explain_account(&snapshot, &live, &query, AccountId(id), SystemTime::now())
        .map_err(|e| ServerError::Usage(format!("{e}; see `codex-pooler upstreams list`")))?;
    if json {
        let out = serde_json::to_string(&explained)
            .map_err(|e| ServerError::Usage(format!("cannot encode the explanation: {e}")))?;
        println!("{out}");
        return Ok(());
    }
    if explained.routable {
        println!(
            "upstream {id} is routable in pool {} for {model}",
            pool.slug
        );
    } else {
        println!(
            "upstream {id} is not routable in pool {} for {model}:",
            pool.slug
        );
        for reason in &explained.reasons {
            println!("  {}", reason.reason);
        }
    }
    Ok(())
}

fn print_table(report: &[AccountQuotaReport], now: SystemTime) {
    let row = |cells: [&str; 8]| {
        println!(
            "{:<6} {:<24} {:<8} {:>7} {:<10} {:<17} {:<8} {}",
            cells[0], cells[1], cells[2], cells[3], cells[4], cells[5], cells[6], cells[7]
        );
    };
    row([
        "ID",
        "LABEL",
        "WINDOW",
        "USED",
        "RESETS IN",
        "SOURCE",
        "AGE",
        "STATUS",
    ]);
    for account in report {
        let id = account.account_id.to_string();
        let label = account.label.as_str();
        if !account.has_evidence {
            row([&id, label, "-", "-", "-", "-", "-", "no evidence"]);
            continue;
        }
        for w in &account.windows {
            let used = format!("{:.1}%", w.used_percent);
            let resets = w.resets_at.map_or("-".to_owned(), |at| until(at, now));
            let status = if w.stale { "stale" } else { "" };
            row([
                &id,
                label,
                w.kind,
                &used,
                &resets,
                w.source,
                &span(w.age_seconds),
                status,
            ]);
        }
        if let Some(limit) = &account.usage_limit {
            let resets = until(limit.until, now);
            row([
                &id,
                label,
                "limit",
                "-",
                &resets,
                limit.source,
                &span(limit.age_seconds),
                "usage limit reached",
            ]);
        }
        if let Some(credits) = &account.credits {
            let what = match (credits.unlimited, credits.has_credits, &credits.balance) {
                (true, _, _) => "credits: unlimited".to_owned(),
                (false, true, Some(balance)) => format!("credits: {balance}"),
                (false, true, None) => "credits: yes".to_owned(),
                (false, false, _) => "credits: none".to_owned(),
            };
            let what = if credits.stale {
                format!("{what} (stale)")
            } else {
                what
            };
            row([
                &id,
                label,
                "credits",
                "-",
                "-",
                credits.source,
                &span(credits.age_seconds),
                &what,
            ]);
        }
        if let Some(at) = account.exhausted_until {
            row([&id, label, "-", "-", &until(at, now), "-", "-", "EXHAUSTED"]);
        }
    }
}

/// How long from `now` until unix second `at` ("passed" once it has).
fn until(at: i64, now: SystemTime) -> String {
    match from_unix_seconds(at).duration_since(now) {
        Ok(left) => span(left.as_secs()),
        Err(_) => "passed".to_owned(),
    }
}

/// A short span: `45s`, `12m`, `3h05m`, `2d04h`.
fn span(s: u64) -> String {
    match s {
        0..60 => format!("{s}s"),
        60..3_600 => format!("{}m", s / 60),
        3_600..86_400 => format!("{}h{:02}m", s / 3_600, s % 3_600 / 60),
        _ => format!("{}d{:02}h", s / 86_400, s % 86_400 / 3_600),
    }
}

#[cfg(test)]
mod tests {
    use super::span;

    #[test]
    fn spans_are_short() {
        assert_eq!(span(45), "45s");
        assert_eq!(span(720), "12m");
        assert_eq!(span(3 * 3_600 + 300), "3h05m");
        assert_eq!(span(2 * 86_400 + 4 * 3_600), "2d04h");
    }
}
