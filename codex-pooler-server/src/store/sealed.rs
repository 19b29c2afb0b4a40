//! Every sealed value at once: the inventory a key rotation reads and the re-seal it writes.
//!
//! [`SqlStore::reseal`] reads the inventory and writes the re-sealed values in one write
//! transaction, so a rotation is all or nothing. Each secret is replaced only if it still holds
//! the ciphertext that was read (matched by its nonce): a token a replica refreshed in the
//! meantime is never overwritten with the older one; the rotation fails instead and is run again.

use std::collections::BTreeMap;

use codex_pooler_core::model::AccountId;
use codex_pooler_core::store::{SealedSecret, SecretKind, StoreError};
use codex_pooler_tower::keys::SealedHashingKey;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::SqlStore;
use super::convert::{bad, now_millis, unsigned};
use super::entity::{hashing_key, pool_api_key, upstream_account, upstream_secret};
use super::error::backend;
use super::txn::{begin_snapshot, begin_write, bump, finish, rollback};

/// Every sealed value in the store.
#[derive(Debug, Clone, Default)]
pub struct SealedInventory {
    /// Every upstream secret, in row order.
    pub secrets: Vec<StoredSecret>,
    /// Every stored hashing key, by version.
    pub hashing_keys: Vec<SealedHashingKey>,
    /// How many Pool API key hashes each hashing key version made.
    pub key_hashes: BTreeMap<u32, u64>,
}

/// A stored upstream secret with the account it belongs to.
#[derive(Debug, Clone)]
pub struct StoredSecret {
    /// The account's store id.
    pub account: AccountId,
    /// The ChatGPT account id the secret is bound to.
    pub chatgpt_account_id: String,
    /// The sealed secret.
    pub sealed: SealedSecret,
}

/// A secret sealed again, replacing the stored one it was made from.
#[derive(Debug, Clone)]
pub struct ResealedSecret {
    /// The account's store id.
    pub account: AccountId,
    /// The nonce of the stored secret it replaces (of the same kind).
    pub replaces_nonce: Vec<u8>,
    /// The new sealed secret.
    pub sealed: SealedSecret,
}

/// What a re-seal writes.
#[derive(Debug, Clone, Default)]
pub struct Resealed {
    /// Secrets sealed again; secrets not listed are left as they are.
    pub secrets: Vec<ResealedSecret>,
    /// The new set of stored hashing keys: it replaces every stored one.
    pub hashing_keys: Vec<SealedHashingKey>,
}

/// Why a re-seal wrote nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResealError<E> {
    /// The plan refused (it could not open something, for example).
    #[error(transparent)]
    Plan(E),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A secret changed between reading and writing.
    #[error(
        "the {} of upstream {account} changed while it was being re-sealed (a token refresh?); \
         nothing was changed, run the command again",
        kind.as_str()
    )]
    Changed {
        /// The account.
        account: AccountId,
        /// Which secret.
        kind: SecretKind,
    },
}

impl SqlStore {
    /// Every sealed value, read from one consistent snapshot.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the database fails or holds a value that does not convert.
    pub async fn sealed_inventory(&self) -> Result<SealedInventory, StoreError> {
        let txn = begin_snapshot(&self.db).await?;
        let result = inventory(&txn).await;
        finish(txn, result).await
    }

    /// The stored hashing keys, by version.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the database fails or holds a value that does not convert.
    pub async fn hashing_keys(&self) -> Result<Vec<SealedHashingKey>, StoreError> {
        hashing_keys(&self.db).await
    }

    /// How many Pool API key hashes each hashing key version made.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the database fails or holds a value that does not convert.
    pub async fn key_hash_versions(&self) -> Result<BTreeMap<u32, u64>, StoreError> {
        key_hash_versions(&self.db).await
    }

    /// Reads the inventory, lets `plan` decide what to write, and writes it, all in one write
    /// transaction that also bumps the configuration version. Nothing is written unless `plan`
    /// succeeds and every re-sealed secret is still the one it was made from.
    ///
    /// # Errors
    ///
    /// [`ResealError::Plan`] with `plan`'s error, [`ResealError::Changed`] when a secret changed
    /// meanwhile, [`ResealError::Store`] when the database fails.
    pub async fn reseal<T, E>(
        &self,
        plan: impl FnOnce(&SealedInventory) -> Result<(Resealed, T), E>,
    ) -> Result<T, ResealError<E>> {
        let txn = begin_write(&self.db).await?;
        let result = async {
            let inventory = inventory(&txn).await?;
            let (resealed, value) = plan(&inventory).map_err(ResealError::Plan)?;
            write(&txn, resealed).await?;
            bump(&txn).await?;
            Ok(value)
        }
        .await;
        match result {
            Ok(value) => {
                txn.commit().await.map_err(backend)?;
                Ok(value)
            }
            Err(err) => {
                rollback(txn).await;
                Err(err)
            }
        }
    }
}

/// Reads every sealed value through `db`.
async fn inventory<C: ConnectionTrait>(db: &C) -> Result<SealedInventory, StoreError> {
    let accounts: BTreeMap<i64, String> = upstream_account::Entity::find()
        .select_only()
        .column(upstream_account::Column::Id)
        .column(upstream_account::Column::ChatgptAccountId)
        .into_tuple::<(i64, String)>()
        .all(db)
        .await
        .map_err(backend)?
        .into_iter()
        .collect();
    let secrets = upstream_secret::Entity::find()
        .order_by_asc(upstream_secret::Column::Id)
        .all(db)
        .await
        .map_err(backend)?
        .into_iter()
        .map(|row| {
            let chatgpt_account_id = accounts.get(&row.account_id).cloned().ok_or_else(|| {
                bad(
                    "upstream_secrets.account_id",
                    row.account_id,
                    "names no account",
                )
            })?;
            Ok(StoredSecret {
                account: AccountId(row.account_id),
                chatgpt_account_id,
                sealed: super::accounts::secret_from_row(row)?,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(SealedInventory {
        secrets,
        hashing_keys: hashing_keys(db).await?,
        key_hashes: key_hash_versions(db).await?,
    })
}

/// How many Pool API key hashes each hashing key version made, through `db`.
async fn key_hash_versions<C: ConnectionTrait>(db: &C) -> Result<BTreeMap<u32, u64>, StoreError> {
    let versions: Vec<i64> = pool_api_key::Entity::find()
        .select_only()
        .column(pool_api_key::Column::KeyVersion)
        .into_tuple()
        .all(db)
        .await
        .map_err(backend)?;
    let mut counts = BTreeMap::new();
    for version in versions {
        *counts
            .entry(unsigned("pool_api_keys.key_version", version)?)
            .or_insert(0) += 1;
    }
    Ok(counts)
}

/// The stored hashing keys through `db`, by version.
async fn hashing_keys<C: ConnectionTrait>(db: &C) -> Result<Vec<SealedHashingKey>, StoreError> {
    hashing_key::Entity::find()
        .order_by_asc(hashing_key::Column::Version)
        .all(db)
        .await
        .map_err(backend)?
        .into_iter()
        .map(|row| {
            Ok(SealedHashingKey {
                version: unsigned("hashing_keys.version", row.version)?,
                key_version: unsigned("hashing_keys.key_version", row.key_version)?,
                nonce: row.nonce,
                ciphertext: row.ciphertext,
            })
        })
        .collect()
}

/// Writes `resealed` inside `txn`.
async fn write<E>(txn: &DatabaseTransaction, resealed: Resealed) -> Result<(), ResealError<E>> {
    for secret in resealed.secrets {
        let updated = upstream_secret::Entity::update_many()
            .col_expr(
                upstream_secret::Column::KeyVersion,
                Expr::value(i64::from(secret.sealed.key_version)),
            )
            .col_expr(
                upstream_secret::Column::Nonce,
                Expr::value(secret.sealed.nonce),
            )
            .col_expr(
                upstream_secret::Column::Ciphertext,
                Expr::value(secret.sealed.ciphertext),
            )
            .filter(upstream_secret::Column::AccountId.eq(secret.account.0))
            .filter(upstream_secret::Column::Kind.eq(secret.sealed.kind.as_str()))
            .filter(upstream_secret::Column::Nonce.eq(secret.replaces_nonce))
            .exec(txn)
            .await
            .map_err(backend)?;
        if updated.rows_affected != 1 {
            return Err(ResealError::Changed {
                account: secret.account,
                kind: secret.sealed.kind,
            });
        }
    }
    hashing_key::Entity::delete_many()
        .exec(txn)
        .await
        .map_err(backend)?;
    if !resealed.hashing_keys.is_empty() {
        let now = now_millis();
        let rows = resealed
            .hashing_keys
            .into_iter()
            .map(|key| hashing_key::ActiveModel {
                version: ActiveValue::Set(i64::from(key.version)),
                key_version: ActiveValue::Set(i64::from(key.key_version)),
                nonce: ActiveValue::Set(key.nonce),
                ciphertext: ActiveValue::Set(key.ciphertext),
                created_at: ActiveValue::Set(now),
            });
        hashing_key::Entity::insert_many(rows)
            .exec_without_returning(txn)
            .await
            .map_err(backend)?;
    }
    Ok(())
}
