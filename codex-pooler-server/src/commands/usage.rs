//! `codex-pooler usage`: requests, errors and tokens per day, from the daily rollups.

use codex_pooler_core::store::{PoolStore, StoreState};

use super::records::{key_label, pool_label};
use super::{key_in, pool_in};
use crate::cli::UsageArgs;
use crate::error::ServerError;
use crate::store::{PoolScope, SqlStore, UsageCounts, UsageGrouping, UsageQuery, UtcDay};

/// The most days one report covers.
pub const MAX_DAYS: u32 = 366;

/// The query `args` ask for on `today`, names resolved against `state`: with `--key`, that
/// key's days; with `--pool`, that pool's days; else every pool's days.
pub(crate) fn query(
    args: &UsageArgs,
    state: &StoreState,
    today: UtcDay,
) -> Result<UsageQuery, ServerError> {
    if !(1..=MAX_DAYS).contains(&args.days) {
        return Err(ServerError::Usage(format!(
            "--days {} is out of range: use 1 to {MAX_DAYS}",
            args.days
        )));
    }
    let pool = args
        .pool
        .as_deref()
        .map(|slug| pool_in(state, slug).map(|p| p.id))
        .transpose()?;
    let key = args
        .key
        .as_deref()
        .map(|key| key_in(state, key).map(|k| k.id))
        .transpose()?;
    Ok(UsageQuery {
        scope: PoolScope::All,
        pool,
        key,
        from: today.minus(i64::from(args.days) - 1),
        to: today,
        grouping: if key.is_some() {
            UsageGrouping::Key
        } else {
            UsageGrouping::Pool
        },
    })
}

/// Prints the usage report: a table with a total line, or with `--json` the report as JSON.
pub async fn show(store: &SqlStore, args: &UsageArgs) -> Result<(), ServerError> {
    let state = store.load_state().await?;
    let query = query(args, &state, UtcDay::today())?;
    let report = store.usage(&query).await?;
    if args.json {
        let out = serde_json::to_string(&report)
            .map_err(|e| ServerError::Usage(format!("cannot encode the usage: {e}")))?;
        println!("{out}");
        return Ok(());
    }
    println!(
        "{:<10} {:<12} {:<14} {:>9} {:>7} {:>12} {:>12} {:>12} {:>12} {:>12}",
        "DAY",
        "POOL",
        "KEY",
        "REQUESTS",
        "ERRORS",
        "INPUT",
        "CACHED",
        "OUTPUT",
        "REASONING",
        "TOTAL"
    );
    for row in &report.rows {
        let key = row
            .key_id
            .map_or_else(|| "-".to_owned(), |k| key_label(&state, k));
        println!(
            "{}",
            line(
                &row.day.to_string(),
                &pool_label(&state, row.pool_id),
                &key,
                &row.counts
            )
        );
    }
    println!("{}", line("TOTAL", "", "", &report.total));
    Ok(())
}

fn line(day: &str, pool: &str, key: &str, c: &UsageCounts) -> String {
    format!(
        "{day:<10} {pool:<12} {key:<14} {:>9} {:>7} {:>12} {:>12} {:>12} {:>12} {:>12}",
        c.requests,
        c.errors,
        c.input_tokens,
        c.cached_input_tokens,
        c.output_tokens,
        c.reasoning_tokens,
        c.total_tokens
    )
}

#[cfg(test)]
mod tests {
    use codex_pooler_core::model::{KeyId, PoolId};

    use super::*;
    use crate::commands::records::tests::state;

    fn args(pool: Option<&str>, key: Option<&str>, days: u32) -> UsageArgs {
        UsageArgs {
            pool: pool.map(str::to_owned),
            key: key.map(str::to_owned),
            days,
            json: false,
        }
    }

    #[test]
    fn a_key_gets_its_days_and_a_pool_its_own() {
        let today = UtcDay(20_000);
        let q = query(&args(None, Some("cpk_abc"), 7), &state(), today).expect("query");
        assert_eq!((q.from, q.to), (UtcDay(19_994), today));
        assert_eq!((q.key, q.grouping), (Some(KeyId(7)), UsageGrouping::Key));
        let q = query(&args(Some("team"), None, 1), &state(), today).expect("query");
        assert_eq!((q.from, q.to), (today, today));
        assert_eq!((q.pool, q.grouping), (Some(PoolId(1)), UsageGrouping::Pool));
        let q = query(&args(None, None, 366), &state(), today).expect("query");
        assert_eq!(
            (q.pool, q.key, q.grouping),
            (None, None, UsageGrouping::Pool)
        );
    }

    #[test]
    fn bad_input_is_refused_clearly() {
        let refused = |a: UsageArgs| match query(&a, &state(), UtcDay(20_000)) {
            Err(err) => err.to_string(),
            Ok(q) => panic!("accepted: {q:?}"),
        };
        assert_eq!(
            refused(args(None, None, 0)),
            "--days 0 is out of range: use 1 to 366"
        );
        assert_eq!(
            refused(args(None, None, 367)),
            "--days 367 is out of range: use 1 to 366"
        );
        assert_eq!(
            refused(args(Some("nope"), None, 7)),
            "no pool named \"nope\"; create it with `codex-pooler pools create nope`"
        );
        assert_eq!(
            refused(args(None, Some("99"), 7)),
            "no key with prefix or id \"99\""
        );
    }
}
