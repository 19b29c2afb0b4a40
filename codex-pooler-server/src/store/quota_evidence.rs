//! Quota evidence: the latest reading per account and window kind (`quota_windows`) and the
//! account-level exhaustion and credits (`quota_accounts`), replaced per account in batches.

use std::collections::BTreeMap;

use codex_pooler_core::model::AccountId;
use codex_pooler_core::quota::{
    AccountEvidence, Credits, Evidence, EvidenceSource, QuotaWindow, WindowSlot,
};
use codex_pooler_core::store::StoreError;
use sea_orm::{
    ActiveValue, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QuerySelect,
};

use super::convert::{bad, millis, now_millis, time};
use super::entity::{quota_account, quota_window, upstream_account};
use super::error::backend;
use super::txn::{begin_write, finish};

/// Accounts per statement (ids in an `IN` list, or rows of an `INSERT`: 8 parameters a row).
const PER_STATEMENT: usize = 500;

/// Replaces the stored evidence of every account in `evidence` that the store holds, in one
/// transaction; an empty entry only deletes. Does not touch the configuration version.
pub(crate) async fn save(
    db: &DatabaseConnection,
    evidence: &[AccountEvidence],
) -> Result<(), StoreError> {
    if evidence.is_empty() {
        return Ok(());
    }
    let txn = begin_write(db).await?;
    let result = async {
        let mut known = Vec::with_capacity(evidence.len());
        for chunk in evidence.chunks(PER_STATEMENT) {
            let ids: Vec<i64> = upstream_account::Entity::find()
                .select_only()
                .column(upstream_account::Column::Id)
                .filter(upstream_account::Column::Id.is_in(chunk.iter().map(|e| e.account.0)))
                .into_tuple()
                .all(&txn)
                .await
                .map_err(backend)?;
            known.extend(chunk.iter().filter(|e| ids.contains(&e.account.0)));
        }
        let updated_at = now_millis();
        for chunk in known.chunks(PER_STATEMENT) {
            let ids = || chunk.iter().map(|e| e.account.0);
            quota_window::Entity::delete_many()
                .filter(quota_window::Column::AccountId.is_in(ids()))
                .exec(&txn)
                .await
                .map_err(backend)?;
            quota_account::Entity::delete_many()
                .filter(quota_account::Column::AccountId.is_in(ids()))
                .exec(&txn)
                .await
                .map_err(backend)?;
            let windows: Vec<quota_window::ActiveModel> = chunk
                .iter()
                .flat_map(|e| e.windows.iter().map(|w| window_row(e.account, w)))
                .collect();
            insert_windows(&txn, windows).await?;
            let accounts: Vec<quota_account::ActiveModel> = chunk
                .iter()
                .filter_map(|e| account_row(e, updated_at))
                .collect();
            if !accounts.is_empty() {
                quota_account::Entity::insert_many(accounts)
                    .exec_without_returning(&txn)
                    .await
                    .map_err(backend)?;
            }
        }
        Ok(())
    }
    .await;
    finish(txn, result).await
}

/// The stored evidence of every account, by account id.
pub(crate) async fn load(db: &DatabaseConnection) -> Result<Vec<AccountEvidence>, StoreError> {
    let mut by_account: BTreeMap<i64, AccountEvidence> = BTreeMap::new();
    for row in quota_window::Entity::find()
        .all(db)
        .await
        .map_err(backend)?
    {
        let window = window_from_row(&row)?;
        entry(&mut by_account, row.account_id).windows.push(window);
    }
    for row in quota_account::Entity::find()
        .all(db)
        .await
        .map_err(backend)?
    {
        let account = row.account_id;
        let (limit, credits) = account_from_row(row)?;
        let e = entry(&mut by_account, account);
        e.exhausted_until = limit;
        e.credits = credits;
    }
    Ok(by_account
        .into_values()
        .map(|mut e| {
            e.windows.sort_by_key(|w| w.value.kind());
            e
        })
        .collect())
}

/// The evidence being gathered for account `id`.
fn entry(map: &mut BTreeMap<i64, AccountEvidence>, id: i64) -> &mut AccountEvidence {
    map.entry(id)
        .or_insert_with(|| AccountEvidence::empty(AccountId(id)))
}

async fn insert_windows(
    txn: &impl ConnectionTrait,
    rows: Vec<quota_window::ActiveModel>,
) -> Result<(), StoreError> {
    for chunk in rows.chunks(PER_STATEMENT) {
        quota_window::Entity::insert_many(chunk.iter().cloned())
            .exec_without_returning(txn)
            .await
            .map_err(backend)?;
    }
    Ok(())
}

fn window_row(account: AccountId, w: &Evidence<QuotaWindow>) -> quota_window::ActiveModel {
    quota_window::ActiveModel {
        account_id: ActiveValue::Set(account.0),
        kind: ActiveValue::Set(w.value.kind().as_str().to_owned()),
        slot: ActiveValue::Set(w.value.slot.as_str().to_owned()),
        used_percent: ActiveValue::Set(w.value.used_percent),
        // Window lengths are minutes: far below i32::MAX; a larger one saturates.
        window_minutes: ActiveValue::Set(
            w.value
                .window_minutes
                .map(|m| i32::try_from(m).unwrap_or(i32::MAX)),
        ),
        resets_at: ActiveValue::Set(w.value.resets_at.map(millis)),
        source: ActiveValue::Set(w.source.as_str().to_owned()),
        observed_at: ActiveValue::Set(millis(w.observed_at)),
    }
}

fn account_row(e: &AccountEvidence, updated_at: i64) -> Option<quota_account::ActiveModel> {
    if e.exhausted_until.is_none() && e.credits.is_none() {
        return None;
    }
    let limit = e.exhausted_until.as_ref();
    let credits = e.credits.as_ref();
    Some(quota_account::ActiveModel {
        account_id: ActiveValue::Set(e.account.0),
        exhausted_until: ActiveValue::Set(limit.map(|l| millis(l.value))),
        limit_source: ActiveValue::Set(limit.map(|l| l.source.as_str().to_owned())),
        limit_observed_at: ActiveValue::Set(limit.map(|l| millis(l.observed_at))),
        has_credits: ActiveValue::Set(credits.map(|c| c.value.has_credits)),
        credits_unlimited: ActiveValue::Set(credits.map(|c| c.value.unlimited)),
        credits_balance: ActiveValue::Set(credits.and_then(|c| c.value.balance.clone())),
        credits_source: ActiveValue::Set(credits.map(|c| c.source.as_str().to_owned())),
        credits_observed_at: ActiveValue::Set(credits.map(|c| millis(c.observed_at))),
        updated_at: ActiveValue::Set(updated_at),
    })
}

fn source(column: &str, s: &str) -> Result<EvidenceSource, StoreError> {
    EvidenceSource::parse(s).ok_or_else(|| bad(column, s, "is not an evidence source"))
}

fn window_from_row(row: &quota_window::Model) -> Result<Evidence<QuotaWindow>, StoreError> {
    let slot = WindowSlot::parse(&row.slot)
        .ok_or_else(|| bad("quota_windows.slot", &row.slot, "is not a window slot"))?;
    let observed_at = time("quota_windows.observed_at", row.observed_at)?;
    let window_minutes = row
        .window_minutes
        .map(|m| {
            u32::try_from(m).map_err(|_| bad("quota_windows.window_minutes", m, "is negative"))
        })
        .transpose()?;
    let resets_at = row
        .resets_at
        .map(|ms| time("quota_windows.resets_at", ms))
        .transpose()?;
    let window = QuotaWindow {
        slot,
        used_percent: row.used_percent,
        window_minutes,
        resets_at,
        observed_at,
    };
    Ok(Evidence::new(
        window,
        source("quota_windows.source", &row.source)?,
        observed_at,
    ))
}

type AccountParts = (
    Option<Evidence<std::time::SystemTime>>,
    Option<Evidence<Credits>>,
);

fn account_from_row(row: quota_account::Model) -> Result<AccountParts, StoreError> {
    let limit = match (row.exhausted_until, row.limit_source, row.limit_observed_at) {
        (Some(until), Some(src), Some(observed)) => Some(Evidence::new(
            time("quota_accounts.exhausted_until", until)?,
            source("quota_accounts.limit_source", &src)?,
            time("quota_accounts.limit_observed_at", observed)?,
        )),
        _ => None,
    };
    let credits = match (row.credits_source, row.credits_observed_at) {
        (Some(src), Some(observed)) => Some(Evidence::new(
            Credits {
                has_credits: row.has_credits.unwrap_or(false),
                unlimited: row.credits_unlimited.unwrap_or(false),
                balance: row.credits_balance,
            },
            source("quota_accounts.credits_source", &src)?,
            time("quota_accounts.credits_observed_at", observed)?,
        )),
        _ => None,
    };
    Ok((limit, credits))
}
