//! `codex-pooler records list`: request records, newest first, a page at a time.

use codex_pooler_core::model::{AccountId, KeyId, PoolId};
use codex_pooler_core::request::RouteClass;
use codex_pooler_core::store::{PoolStore, StoreState};

use super::{key_in, pool_in};
use crate::cli::RecordsListArgs;
use crate::error::ServerError;
use crate::store::{
    MAX_PAGE_SIZE, PageRequest, PoolScope, RecordFilter, RecordQueryError, RecordRow, SqlStore,
    StatusFilter, parse_rfc3339, rfc3339,
};

/// The filter and page `args` ask for, names resolved against `state`.
pub(crate) fn query(
    args: &RecordsListArgs,
    state: &StoreState,
) -> Result<(RecordFilter, PageRequest), ServerError> {
    let time = |flag: &str, value: &Option<String>| {
        value
            .as_deref()
            .map(|v| {
                parse_rfc3339(v).ok_or_else(|| {
                    ServerError::Usage(format!(
                        "{flag} {v:?} is not an RFC 3339 time (like 2026-12-03T00:00:00Z)"
                    ))
                })
            })
            .transpose()
    };
    let since = time("--since", &args.since)?;
    let until = time("--until", &args.until)?;
    if let (Some(since), Some(until)) = (since, until)
        && since >= until
    {
        return Err(ServerError::Usage(
            "--since must be before --until".to_owned(),
        ));
    }
    let status = args
        .status
        .as_deref()
        .map(|s| s.parse::<StatusFilter>())
        .transpose()
        .map_err(|e| ServerError::Usage(format!("--status: {e}")))?;
    let route = args
        .route
        .as_deref()
        .map(|r| {
            r.parse::<RouteClass>().map_err(|_| {
                let known: Vec<&str> = RouteClass::ALL.iter().map(|c| c.as_str()).collect();
                ServerError::Usage(format!(
                    "--route {r:?} is not a route class; use one of {}",
                    known.join(", ")
                ))
            })
        })
        .transpose()?;
    if let Some(limit) = args.limit
        && !(1..=MAX_PAGE_SIZE).contains(&limit)
    {
        return Err(ServerError::Usage(format!(
            "--limit {limit} is out of range: use 1 to {MAX_PAGE_SIZE}"
        )));
    }
    let filter = RecordFilter {
        scope: PoolScope::All,
        pool: args
            .pool
            .as_deref()
            .map(|slug| pool_in(state, slug).map(|p| p.id))
            .transpose()?,
        key: args
            .key
            .as_deref()
            .map(|key| key_in(state, key).map(|k| k.id))
            .transpose()?,
        account: args.account.map(AccountId),
        model: args.model.clone(),
        status,
        route,
        since,
        until,
    };
    let page = PageRequest {
        limit: args.limit,
        cursor: args.cursor.clone(),
    };
    Ok((filter, page))
}

/// Prints one page of records: a table (the next cursor on stderr when more follow), or with
/// `--json` the page as JSON.
pub async fn list(store: &SqlStore, args: &RecordsListArgs) -> Result<(), ServerError> {
    let state = store.load_state().await?;
    let (filter, page) = query(args, &state)?;
    let page = store
        .records(&filter, &page)
        .await
        .map_err(|err| match err {
            RecordQueryError::BadCursor => ServerError::Usage(
                "--cursor is not a cursor `records list` printed; pass it unchanged".to_owned(),
            ),
            RecordQueryError::BadPageSize(n) => ServerError::Usage(format!(
                "--limit {n} is out of range: use 1 to {MAX_PAGE_SIZE}"
            )),
            RecordQueryError::Store(err) => err.into(),
        })?;
    if args.json {
        let out = serde_json::to_string(&page)
            .map_err(|e| ServerError::Usage(format!("cannot encode the records: {e}")))?;
        println!("{out}");
        return Ok(());
    }
    println!(
        "{:<8} {:<24} {:<12} {:<14} {:<8} {:<20} {:<16} {:<6} {:>8} {:>10} END",
        "ID", "RECEIVED", "POOL", "KEY", "ACCOUNT", "ROUTE", "MODEL", "STATUS", "MS", "TOKENS"
    );
    for row in &page.records {
        println!("{}", table_line(row, &state));
    }
    if let Some(cursor) = &page.next_cursor {
        eprintln!("more records: --cursor {cursor}");
    }
    Ok(())
}

/// One record as a table line, pools and keys by slug and prefix.
fn table_line(row: &RecordRow, state: &StoreState) -> String {
    let pool = pool_label(state, row.pool_id);
    let key = key_label(state, row.key_id);
    let dash = || "-".to_owned();
    format!(
        "{:<8} {:<24} {:<12} {:<14} {:<8} {:<20} {:<16} {:<6} {:>8} {:>10} {}",
        row.id,
        rfc3339(row.received_at),
        pool,
        key,
        row.account_id.map_or_else(dash, |a| a.to_string()),
        row.route.as_str(),
        row.model.clone().unwrap_or_else(dash),
        row.status,
        row.latency_ms,
        row.usage.map_or_else(dash, |u| u.total_tokens.to_string()),
        if row.end.as_str().is_empty() {
            "-"
        } else {
            row.end.as_str()
        },
    )
}

/// A pool's slug, or its id when it is gone.
pub(crate) fn pool_label(state: &StoreState, id: PoolId) -> String {
    state
        .pools
        .iter()
        .find(|p| p.id == id)
        .map_or_else(|| id.to_string(), |p| p.slug.clone())
}

/// A key's prefix, or its id when it is gone.
pub(crate) fn key_label(state: &StoreState, id: KeyId) -> String {
    state
        .keys
        .iter()
        .find(|k| k.id == id)
        .map_or_else(|| id.to_string(), |k| k.prefix.clone())
}

#[cfg(test)]
pub(crate) mod tests {
    use codex_pooler_core::model::{KeyPolicy, KeyStatus, Pool, PoolApiKey, PoolStatus};

    use super::*;

    /// One pool `team` (id 1) with one key `cpk_abc` (id 7).
    pub(crate) fn state() -> StoreState {
        StoreState {
            pools: vec![Pool {
                id: PoolId(1),
                slug: "team".to_owned(),
                status: PoolStatus::Active,
                strategy: None,
                v1_enabled: true,
                waits: Default::default(),
            }],
            keys: vec![PoolApiKey {
                id: KeyId(7),
                pool: PoolId(1),
                name: "k".to_owned(),
                prefix: "cpk_abc".to_owned(),
                hash: [0; 32],
                key_version: 1,
                status: KeyStatus::Active,
                expires_at: None,
                policy: KeyPolicy::default(),
                previous: None,
            }],
            ..StoreState::default()
        }
    }

    fn refused(args: &RecordsListArgs) -> String {
        match query(args, &state()) {
            Err(err) => err.to_string(),
            Ok(q) => panic!("accepted: {q:?}"),
        }
    }

    #[test]
    fn names_resolve_and_values_parse() {
        let args = RecordsListArgs {
            pool: Some("team".to_owned()),
            key: Some("7".to_owned()),
            account: Some(3),
            model: Some("gpt-5.5".to_owned()),
            status: Some("4xx".to_owned()),
            route: Some("compact".to_owned()),
            since: Some("2026-12-03T00:00:00Z".to_owned()),
            until: Some("2026-12-04T00:00:00+01:00".to_owned()),
            limit: Some(500),
            cursor: Some("c".to_owned()),
            json: true,
        };
        let (filter, page) = query(&args, &state()).expect("query");
        assert_eq!(filter.pool, Some(PoolId(1)));
        assert_eq!(filter.key, Some(KeyId(7)));
        assert_eq!(filter.account, Some(AccountId(3)));
        assert_eq!(filter.status, Some(StatusFilter::Class(4)));
        assert_eq!(filter.route, Some(RouteClass::Compact));
        assert_eq!(filter.since, parse_rfc3339("2026-12-03T00:00:00Z"));
        assert_eq!(filter.until, parse_rfc3339("2026-12-03T23:00:00Z"));
        assert_eq!(page.limit, Some(500));
        let by_prefix = RecordsListArgs {
            key: Some("cpk_abc".to_owned()),
            ..RecordsListArgs::default()
        };
        assert_eq!(
            query(&by_prefix, &state()).expect("query").0.key,
            Some(KeyId(7))
        );
    }

    #[test]
    fn bad_input_is_refused_clearly() {
        let with = |f: fn(&mut RecordsListArgs)| {
            let mut args = RecordsListArgs::default();
            f(&mut args);
            refused(&args)
        };
        assert_eq!(
            with(|a| a.pool = Some("nope".to_owned())),
            "no pool named \"nope\"; create it with `codex-pooler pools create nope`"
        );
        assert_eq!(
            with(|a| a.key = Some("cpk_zzz".to_owned())),
            "no key with prefix or id \"cpk_zzz\""
        );
        assert_eq!(
            with(|a| a.status = Some("4x".to_owned())),
            "--status: bad status \"4x\": use an HTTP status (429) or a class (1xx to 5xx)"
        );
        assert!(
            with(|a| a.route = Some("chat".to_owned()))
                .starts_with("--route \"chat\" is not a route class; use one of responses, "),
        );
        assert_eq!(
            with(|a| a.since = Some("yesterday".to_owned())),
            "--since \"yesterday\" is not an RFC 3339 time (like 2026-12-03T00:00:00Z)"
        );
        assert_eq!(
            with(|a| a.until = Some("2026-12-03".to_owned())),
            "--until \"2026-12-03\" is not an RFC 3339 time (like 2026-12-03T00:00:00Z)"
        );
        assert_eq!(
            with(|a| {
                a.since = Some("2026-12-03T00:00:00Z".to_owned());
                a.until = Some("2026-12-03T00:00:00Z".to_owned());
            }),
            "--since must be before --until"
        );
        assert_eq!(
            with(|a| a.limit = Some(0)),
            "--limit 0 is out of range: use 1 to 500"
        );
        assert_eq!(
            with(|a| a.limit = Some(501)),
            "--limit 501 is out of range: use 1 to 500"
        );
    }
}
