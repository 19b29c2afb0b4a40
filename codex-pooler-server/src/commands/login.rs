//! `codex-pooler upstreams login`: adds (or logs in again) a ChatGPT account with the OAuth
//! device-code flow, without an `auth.json`.
//!
//! 1. checks the pool exists, then asks the issuer for a user code;
//! 2. prints the verification URL and the code; the operator opens the URL in any browser,
//!    signs in to the ChatGPT account and enters the code;
//! 3. polls until the login completes (15 minutes at most), exchanges the authorization code
//!    for tokens;
//! 4. validates the tokens exactly like `upstreams import` validates an `auth.json`, then either
//!    adds a new account to the pool, or, for an account already stored (same ChatGPT account
//!    and user), replaces its tokens and makes it `active` again: the way out of
//!    `reauth_required`.

use std::io::Write as _;
use std::time::SystemTime;

use codex_pooler_core::model::{Lifecycle, Pool, UpstreamAccount};
use codex_pooler_core::store::PoolStore;
use codex_pooler_tower::credentials::{SecretSealer, import_auth_json};
use codex_pooler_tower::refresh::{DeviceCode, DeviceLogin, LoginError, LoginTokens};

use super::pool_named;
use super::upstreams::{create_assigned, existing_account, say_imported, validate_base_url};
use crate::error::ServerError;

/// Options of `upstreams login`.
#[derive(Debug, Clone)]
pub struct LoginOptions<'a> {
    /// Pool slug.
    pub pool: &'a str,
    /// Operator label for a new account.
    pub label: Option<&'a str>,
    /// The OAuth issuer, e.g. `https://auth.openai.com`.
    pub issuer: &'a str,
    /// Per-account upstream origin for a new account.
    pub base_url: Option<&'a str>,
}

/// Runs the device-code login and stores the account.
pub async fn login(
    store: &dyn PoolStore,
    sealer: &SecretSealer,
    options: LoginOptions<'_>,
) -> Result<UpstreamAccount, ServerError> {
    let pool = pool_named(store, options.pool).await?;
    if let Some(url) = options.base_url {
        validate_base_url(url)?;
    }
    let (device, code) = start(options.issuer).await?;
    println!(
        "To add a ChatGPT account to pool {}:\n  1. open {}\n  2. sign in and enter the code {}\n\
         (the code expires in 15 minutes; never share it) waiting...",
        pool.slug, code.verification_url, code.user_code
    );
    let _ = std::io::stdout().flush();
    let done = finish(
        store,
        sealer,
        &pool,
        &device,
        &code,
        options.base_url,
        options.label,
    )
    .await?;
    match done {
        LoggedIn::Added(account) => {
            say_imported(&account, &pool);
            Ok(account)
        }
        LoggedIn::Renewed(account) => {
            println!(
                "logged in again: upstream {} ({}) has new tokens, is {} and serves pool {}",
                account.id,
                account.label,
                account.lifecycle.as_str(),
                pool.slug
            );
            Ok(account)
        }
    }
}

/// What a completed login did.
#[derive(Debug, Clone)]
pub enum LoggedIn {
    /// A new account joined the pool.
    Added(UpstreamAccount),
    /// A stored account got new tokens (and left `reauth_required` and the like).
    Renewed(UpstreamAccount),
}

impl LoggedIn {
    /// The account, either way.
    pub fn account(&self) -> &UpstreamAccount {
        match self {
            Self::Added(a) | Self::Renewed(a) => a,
        }
    }
}

/// Asks `issuer` for a user code.
///
/// # Errors
///
/// [`ServerError::Usage`] when the issuer is not a URL or refuses.
pub async fn start(issuer: &str) -> Result<(DeviceLogin, DeviceCode), ServerError> {
    let device = DeviceLogin::new(issuer).map_err(|e| login_failed(&e))?;
    let code = device.request_code().await.map_err(|e| login_failed(&e))?;
    Ok((device, code))
}

/// Waits for the operator to enter `code`, then validates the tokens like an `auth.json` import
/// and stores them: a new account of `pool`, or new tokens for the same account already stored.
///
/// # Errors
///
/// [`ServerError::Usage`] when the login fails or times out, or the tokens are refused.
pub async fn finish(
    store: &dyn PoolStore,
    sealer: &SecretSealer,
    pool: &Pool,
    device: &DeviceLogin,
    code: &DeviceCode,
    base_url: Option<&str>,
    label: Option<&str>,
) -> Result<LoggedIn, ServerError> {
    let tokens = device.complete(code).await.map_err(|e| login_failed(&e))?;
    let auth = import_auth_json(&auth_json(&tokens), SystemTime::now())?;

    let Some(existing) = existing_account(store, &auth).await? else {
        let account = create_assigned(store, sealer, pool, &auth, base_url, label).await?;
        return Ok(LoggedIn::Added(account));
    };
    store
        .replace_secrets(existing.id, auth.sealed_tokens(sealer))
        .await?;
    let revived = matches!(
        existing.lifecycle,
        Lifecycle::ReauthRequired
            | Lifecycle::RefreshFailed
            | Lifecycle::RefreshDue
            | Lifecycle::Refreshing
    );
    if revived {
        store
            .set_account_lifecycle(existing.id, Lifecycle::Active)
            .await?;
    }
    store.assign(pool.id, existing.id).await?;
    let lifecycle = if revived {
        Lifecycle::Active
    } else {
        existing.lifecycle
    };
    Ok(LoggedIn::Renewed(existing.with_lifecycle(lifecycle)))
}

/// The tokens as the `auth.json` the Codex CLI would write, for the import checks.
fn auth_json(tokens: &LoginTokens) -> Vec<u8> {
    serde_json::json!({
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": null,
        "tokens": {
            "id_token": tokens.id_token.expose(),
            "access_token": tokens.access_token.expose(),
            "refresh_token": tokens.refresh_token.expose(),
        },
    })
    .to_string()
    .into_bytes()
}

fn login_failed(err: &LoginError) -> ServerError {
    ServerError::Usage(format!("device login failed: {err}"))
}
