//! Upstream accounts and their sealed secrets; removal leaves a tombstone row.

use codex_pooler_core::model::{AccountId, Lifecycle, UpstreamAccount};
use codex_pooler_core::store::{NewAccount, SealedSecret, SecretKind, StoreError};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, QueryFilter, QueryOrder,
};

use super::convert::{bad, now_millis, parse, unsigned};
use super::entity::{pool_assignment, upstream_account, upstream_secret};
use super::error::{backend, missing_or_conflict};
use super::txn::{begin_write, bump, finish};

/// Inserts an active account with its secrets.
pub(crate) async fn create(
    db: &DatabaseConnection,
    new: NewAccount,
) -> Result<UpstreamAccount, StoreError> {
    let models = serde_json::to_string(&new.models)
        .map_err(|e| StoreError::Backend(format!("cannot encode account models: {e}")))?;
    let txn = begin_write(db).await?;
    let result = async {
        let now = now_millis();
        let row = upstream_account::ActiveModel {
            id: ActiveValue::NotSet,
            label: ActiveValue::Set(new.label.clone()),
            chatgpt_account_id: ActiveValue::Set(new.chatgpt_account_id.clone()),
            user_id: ActiveValue::Set(new.user_id.clone()),
            email: ActiveValue::Set(new.email.clone()),
            plan_type: ActiveValue::Set(new.plan_type.clone()),
            base_url: ActiveValue::Set(new.base_url.clone()),
            lifecycle: ActiveValue::Set(Lifecycle::Active.as_str().to_owned()),
            models: ActiveValue::Set(models),
            created_at: ActiveValue::Set(now),
            updated_at: ActiveValue::Set(now),
        };
        let id = AccountId(
            upstream_account::Entity::insert(row)
                .exec(&txn)
                .await
                .map_err(backend)?
                .last_insert_id,
        );
        insert_secrets(&txn, id, &new.secrets).await?;
        bump(&txn).await?;
        Ok(id)
    }
    .await;
    let id = finish(txn, result).await?;
    let mut account = UpstreamAccount::new(id, new.label)
        .with_chatgpt_account_id(new.chatgpt_account_id)
        .with_base_url(new.base_url)
        .with_lifecycle(Lifecycle::Active)
        .with_models(new.models);
    account.user_id = new.user_id;
    account.email = new.email;
    account.plan_type = new.plan_type;
    Ok(account)
}

/// Sets an account's lifecycle state (the removed one by [`remove`]).
pub(crate) async fn set_lifecycle(
    db: &DatabaseConnection,
    id: AccountId,
    lifecycle: Lifecycle,
) -> Result<(), StoreError> {
    if lifecycle == Lifecycle::Removed {
        return remove(db, id).await;
    }
    set_column(
        db,
        id,
        upstream_account::Column::Lifecycle,
        lifecycle.as_str().into(),
    )
    .await
}

/// Sets an account's own upstream origin.
pub(crate) async fn set_base_url(
    db: &DatabaseConnection,
    id: AccountId,
    base_url: Option<&str>,
) -> Result<(), StoreError> {
    set_column(
        db,
        id,
        upstream_account::Column::BaseUrl,
        base_url.map(str::to_owned).into(),
    )
    .await
}

/// Sets one column of an account (and its `updated_at`) and bumps the configuration version;
/// an unknown account is not found, a removed one refused.
async fn set_column(
    db: &DatabaseConnection,
    id: AccountId,
    column: upstream_account::Column,
    value: sea_orm::Value,
) -> Result<(), StoreError> {
    let txn = begin_write(db).await?;
    let result = async {
        check_live(&txn, id).await?;
        upstream_account::Entity::update_many()
            .col_expr(column, Expr::value(value))
            .col_expr(
                upstream_account::Column::UpdatedAt,
                Expr::value(now_millis()),
            )
            .filter(upstream_account::Column::Id.eq(id.0))
            .exec(&txn)
            .await
            .map_err(backend)?;
        bump(&txn).await
    }
    .await;
    finish(txn, result).await
}

/// Replaces the account's secrets of the kinds given, keeping the others.
pub(crate) async fn replace_secrets(
    db: &DatabaseConnection,
    id: AccountId,
    secrets: Vec<SealedSecret>,
) -> Result<(), StoreError> {
    let txn = begin_write(db).await?;
    let result = async {
        check_live(&txn, id).await?;
        upstream_account::Entity::update_many()
            .col_expr(
                upstream_account::Column::UpdatedAt,
                Expr::value(now_millis()),
            )
            .filter(upstream_account::Column::Id.eq(id.0))
            .exec(&txn)
            .await
            .map_err(backend)?;
        if !secrets.is_empty() {
            upstream_secret::Entity::delete_many()
                .filter(upstream_secret::Column::AccountId.eq(id.0))
                .filter(
                    upstream_secret::Column::Kind.is_in(secrets.iter().map(|s| s.kind.as_str())),
                )
                .exec(&txn)
                .await
                .map_err(backend)?;
            insert_secrets(&txn, id, &secrets).await?;
        }
        bump(&txn).await
    }
    .await;
    finish(txn, result).await
}

/// The account's sealed secrets, oldest first (empty for an unknown account).
pub(crate) async fn secrets(
    db: &DatabaseConnection,
    id: AccountId,
) -> Result<Vec<SealedSecret>, StoreError> {
    upstream_secret::Entity::find()
        .filter(upstream_secret::Column::AccountId.eq(id.0))
        .order_by_asc(upstream_secret::Column::Id)
        .all(db)
        .await
        .map_err(backend)?
        .into_iter()
        .map(secret_from_row)
        .collect()
}

/// Removes an account: deletes its secrets and assignments and leaves its row as a
/// [`Lifecycle::Removed`] tombstone. Unknown: not found; already removed: removed.
pub(crate) async fn remove(db: &DatabaseConnection, id: AccountId) -> Result<(), StoreError> {
    let txn = begin_write(db).await?;
    let result = async {
        check_live(&txn, id).await?;
        upstream_secret::Entity::delete_many()
            .filter(upstream_secret::Column::AccountId.eq(id.0))
            .exec(&txn)
            .await
            .map_err(backend)?;
        pool_assignment::Entity::delete_many()
            .filter(pool_assignment::Column::AccountId.eq(id.0))
            .exec(&txn)
            .await
            .map_err(backend)?;
        upstream_account::Entity::update_many()
            .col_expr(
                upstream_account::Column::Lifecycle,
                Expr::value(Lifecycle::Removed.as_str()),
            )
            .col_expr(
                upstream_account::Column::UpdatedAt,
                Expr::value(now_millis()),
            )
            .filter(upstream_account::Column::Id.eq(id.0))
            .exec(&txn)
            .await
            .map_err(backend)?;
        bump(&txn).await
    }
    .await;
    finish(txn, result).await
}

/// Checks inside `db` that account `id` exists and is not a removed tombstone.
pub(crate) async fn check_live<C: ConnectionTrait>(
    db: &C,
    id: AccountId,
) -> Result<(), StoreError> {
    let row = upstream_account::Entity::find_by_id(id.0)
        .one(db)
        .await
        .map_err(backend)?
        .ok_or_else(|| not_found(id))?;
    if row.lifecycle == Lifecycle::Removed.as_str() {
        return Err(StoreError::Removed(format!("account {id}")));
    }
    Ok(())
}

/// Whether account `id` exists.
pub(crate) async fn exists<C: ConnectionTrait>(db: &C, id: AccountId) -> Result<bool, StoreError> {
    Ok(upstream_account::Entity::find_by_id(id.0)
        .one(db)
        .await
        .map_err(backend)?
        .is_some())
}

/// A stored row as an [`UpstreamAccount`].
pub(crate) fn from_row(row: upstream_account::Model) -> Result<UpstreamAccount, StoreError> {
    let models: Vec<String> = serde_json::from_str(&row.models).map_err(|e| {
        bad(
            "upstream_accounts.models",
            e,
            "(not a JSON array of strings)",
        )
    })?;
    let mut account = UpstreamAccount::new(AccountId(row.id), row.label)
        .with_chatgpt_account_id(row.chatgpt_account_id)
        .with_base_url(row.base_url)
        .with_lifecycle(parse("upstream_accounts.lifecycle", &row.lifecycle)?)
        .with_models(models);
    account.user_id = row.user_id;
    account.email = row.email;
    account.plan_type = row.plan_type;
    Ok(account)
}

/// The error for a missing account.
pub(crate) fn not_found(id: AccountId) -> StoreError {
    StoreError::NotFound(format!("account {id}"))
}

async fn insert_secrets(
    txn: &DatabaseTransaction,
    id: AccountId,
    secrets: &[SealedSecret],
) -> Result<(), StoreError> {
    if secrets.is_empty() {
        return Ok(());
    }
    let now = now_millis();
    let rows = secrets.iter().map(|s| upstream_secret::ActiveModel {
        id: ActiveValue::NotSet,
        account_id: ActiveValue::Set(id.0),
        kind: ActiveValue::Set(s.kind.as_str().to_owned()),
        key_version: ActiveValue::Set(i64::from(s.key_version)),
        nonce: ActiveValue::Set(s.nonce.clone()),
        ciphertext: ActiveValue::Set(s.ciphertext.clone()),
        created_at: ActiveValue::Set(now),
    });
    upstream_secret::Entity::insert_many(rows)
        .exec_without_returning(txn)
        .await
        .map_err(|e| {
            missing_or_conflict(
                e,
                || format!("account {id}"),
                || format!("secret of account {id} with the same kind"),
            )
        })?;
    Ok(())
}

/// A stored row as a [`SealedSecret`].
pub(crate) fn secret_from_row(row: upstream_secret::Model) -> Result<SealedSecret, StoreError> {
    let kind = SecretKind::parse(&row.kind).ok_or_else(|| {
        bad(
            "upstream_secrets.kind",
            format!("{:?}", row.kind),
            "is not a secret kind",
        )
    })?;
    Ok(SealedSecret {
        kind,
        key_version: unsigned("upstream_secrets.key_version", row.key_version)?,
        nonce: row.nonce,
        ciphertext: row.ciphertext,
    })
}
