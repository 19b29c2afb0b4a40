//! Operator API and MCP tokens: a public prefix and a keyed hash per token.

use std::time::SystemTime;

use codex_pooler_core::store::StoreError;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::SqlStore;
use super::convert::{millis, now_millis, parse, time, unsigned};
use super::entity::operator_token;
use super::error::{backend, missing_or_conflict};
use crate::operators::{OperatorId, OperatorToken, TokenId, TokenKind};

/// What a new token is: everything but its id and creation time.
#[derive(Debug, Clone)]
pub struct NewOperatorToken {
    /// Whose token it is.
    pub operator: OperatorId,
    /// Which surface it opens.
    pub kind: TokenKind,
    /// A label chosen by its creator.
    pub label: String,
    /// Its public prefix.
    pub prefix: String,
    /// The keyed hash of the whole token.
    pub hash: [u8; 32],
    /// The hashing key version that made `hash`.
    pub key_version: u32,
    /// When it stops working, if ever.
    pub expires_at: Option<SystemTime>,
}

/// A stored token with what verifies it.
#[derive(Clone)]
pub struct StoredOperatorToken {
    /// Its metadata.
    pub token: OperatorToken,
    /// The keyed hash of the whole token.
    pub hash: [u8; 32],
    /// The hashing key version that made `hash`.
    pub key_version: u32,
}

impl std::fmt::Debug for StoredOperatorToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredOperatorToken")
            .field("token", &self.token)
            .field("key_version", &self.key_version)
            .finish_non_exhaustive()
    }
}

impl SqlStore {
    /// Stores a new token.
    ///
    /// # Errors
    ///
    /// [`StoreError::NotFound`] for an unknown operator, [`StoreError::Conflict`] for a taken
    /// prefix, or [`StoreError::Backend`].
    pub async fn create_operator_token(
        &self,
        new: NewOperatorToken,
    ) -> Result<OperatorToken, StoreError> {
        let created_at = now_millis();
        let row = operator_token::ActiveModel {
            id: ActiveValue::NotSet,
            operator_id: ActiveValue::Set(new.operator.0),
            kind: ActiveValue::Set(new.kind.as_str().to_owned()),
            label: ActiveValue::Set(new.label.clone()),
            prefix: ActiveValue::Set(new.prefix.clone()),
            hash: ActiveValue::Set(new.hash.to_vec()),
            key_version: ActiveValue::Set(i64::from(new.key_version)),
            created_at: ActiveValue::Set(created_at),
            expires_at: ActiveValue::Set(new.expires_at.map(millis)),
            revoked_at: ActiveValue::Set(None),
        };
        let inserted = operator_token::Entity::insert(row)
            .exec(&self.db)
            .await
            .map_err(|e| {
                missing_or_conflict(
                    e,
                    || format!("operator {}", new.operator),
                    || format!("token prefix {}", new.prefix),
                )
            })?;
        Ok(OperatorToken {
            id: TokenId(inserted.last_insert_id),
            operator: new.operator,
            kind: new.kind,
            label: new.label,
            prefix: new.prefix,
            created_at: time("operator_tokens.created_at", created_at)?,
            expires_at: new.expires_at,
            revoked_at: None,
        })
    }

    /// An operator's tokens (revoked and expired ones included), in id order.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`].
    pub async fn operator_tokens(
        &self,
        operator: OperatorId,
    ) -> Result<Vec<OperatorToken>, StoreError> {
        operator_token::Entity::find()
            .filter(operator_token::Column::OperatorId.eq(operator.0))
            .order_by_asc(operator_token::Column::Id)
            .all(&self.db)
            .await
            .map_err(backend)?
            .into_iter()
            .map(|row| from_row(row).map(|stored| stored.token))
            .collect()
    }

    /// The token with `prefix`, with its hash, to verify a presented token.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`].
    pub async fn operator_token_by_prefix(
        &self,
        prefix: &str,
    ) -> Result<Option<StoredOperatorToken>, StoreError> {
        operator_token::Entity::find()
            .filter(operator_token::Column::Prefix.eq(prefix))
            .one(&self.db)
            .await
            .map_err(backend)?
            .map(from_row)
            .transpose()
    }

    /// Revokes one of `operator`'s tokens (revoking a revoked token changes nothing).
    ///
    /// # Errors
    ///
    /// [`StoreError::NotFound`] when `operator` has no such token, or [`StoreError::Backend`].
    pub async fn revoke_operator_token(
        &self,
        operator: OperatorId,
        token: TokenId,
    ) -> Result<(), StoreError> {
        let found = operator_token::Entity::find_by_id(token.0)
            .filter(operator_token::Column::OperatorId.eq(operator.0))
            .one(&self.db)
            .await
            .map_err(backend)?;
        let Some(row) = found else {
            return Err(StoreError::NotFound(format!("token {token}")));
        };
        if row.revoked_at.is_some() {
            return Ok(());
        }
        operator_token::Entity::update_many()
            .col_expr(operator_token::Column::RevokedAt, Expr::value(now_millis()))
            .filter(operator_token::Column::Id.eq(token.0))
            .exec(&self.db)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

fn from_row(row: operator_token::Model) -> Result<StoredOperatorToken, StoreError> {
    let hash: [u8; 32] = row.hash.as_slice().try_into().map_err(|_| {
        StoreError::Backend("bad stored value in operator_tokens.hash: not 32 bytes".to_owned())
    })?;
    Ok(StoredOperatorToken {
        token: OperatorToken {
            id: TokenId(row.id),
            operator: OperatorId(row.operator_id),
            kind: parse("operator_tokens.kind", &row.kind)?,
            label: row.label,
            prefix: row.prefix,
            created_at: time("operator_tokens.created_at", row.created_at)?,
            expires_at: row
                .expires_at
                .map(|ms| time("operator_tokens.expires_at", ms))
                .transpose()?,
            revoked_at: row
                .revoked_at
                .map(|ms| time("operator_tokens.revoked_at", ms))
                .transpose()?,
        },
        hash,
        key_version: unsigned("operator_tokens.key_version", row.key_version)?,
    })
}
