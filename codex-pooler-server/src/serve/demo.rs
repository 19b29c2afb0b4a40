//! `serve --demo`: a simulated Codex backend with three accounts in a `demo` pool.
//!
//! The simulated accounts differ on purpose: one has plenty of quota, one reports its 5-hour
//! window full (the router stops choosing it once it has seen that), one sits in between. A
//! newcomer sees requests spread, and an exhausted account avoided, without any real account.
//!
//! A demo never touches an operator's accounts. It keeps its data in a throwaway directory of
//! its own (whatever `CODEX_POOLER_DATA_DIR` or `CODEX_POOLER_DATABASE_URL` say), removed when
//! it stops. Only a store named by a flag on the command line is used instead, and only when it
//! holds no account but the demo's. The simulated backend is the demo accounts' own base URL:
//! the gateway's upstream base URL and token endpoint stay as configured for every other
//! account, and the demo accounts have no refresh token to send anywhere.

use std::path::Path;

use codex_pooler_core::model::{DEFAULT_CODEX_MODELS, KeyPolicy, KeyStatus, UpstreamAccount};
use codex_pooler_core::store::{NewAccount, PoolStore, SecretKind, StoreState};
use codex_pooler_tower::credentials::SecretSealer;
use codex_pooler_tower::keys::KeyHasher;

use crate::cli::GlobalArgs;
use crate::commands::keys::{KeySpec, create_key};
use crate::error::ServerError;
use crate::settings::Settings;
use codex_pooler_fake_upstream::{FakeAccount, FakeConfig, FakeUpstream, FakeUpstreamHandle};

/// The demo pool's slug.
pub(crate) const DEMO_POOL: &str = "demo";

/// The name of the key each demo run creates (earlier ones are revoked).
const DEMO_KEY_NAME: &str = "demo";

/// The ChatGPT account ids of the simulated accounts start with this; no real one does.
const DEMO_ACCOUNT_PREFIX: &str = "demo-account-";

/// Where a demo run keeps its data.
#[derive(Debug)]
pub(crate) enum DemoPlace {
    /// A directory of its own, removed (with the database in it) when the run ends.
    Throwaway(tempfile::TempDir),
    /// The store the operator named with `--data-dir` or `--database-url`.
    Named,
}

impl DemoPlace {
    /// The demo's store: the one named by `flags` (store flags given on the command line, not
    /// from the environment), else a new throwaway directory.
    pub(crate) fn choose(flags: &GlobalArgs) -> Result<(Self, Settings), ServerError> {
        if flags.data_dir.is_some() || flags.database_url.is_some() {
            return Ok((Self::Named, Settings::resolve(flags)));
        }
        let dir = tempfile::Builder::new()
            .prefix("codex-pooler-demo-")
            .tempdir()
            .map_err(|e| ServerError::io("creating the demo's data directory", e))?;
        let settings = Settings::embedded(dir.path());
        Ok((Self::Throwaway(dir), settings))
    }

    /// The throwaway directory, if the demo has one.
    pub(crate) fn throwaway_dir(&self) -> Option<&Path> {
        match self {
            Self::Throwaway(dir) => Some(dir.path()),
            Self::Named => None,
        }
    }
}

/// A running demo: the simulated backend and the key made for this run.
#[derive(Debug)]
pub(crate) struct Demo {
    fake: FakeUpstreamHandle,
    key: String,
}

impl Demo {
    /// Prints how to try the demo.
    pub(crate) fn print_welcome(&self, origin: &str, place: &DemoPlace) {
        let key = &self.key;
        println!(
            "\n\
demo mode: a simulated Codex backend with 3 accounts serves pool `{DEMO_POOL}`\n\
(simulated at {fake}, for this run only; accounts: demo-1 healthy, demo-2 at 100% of its\n\
5-hour window, demo-3 half used)\n\
{data}\n\
Pool API key for this run:\n  {key}\n\
\n\
Try it:\n  \
curl -sN {origin}/backend-api/codex/responses \\\n    \
-H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \\\n    \
-d '{{\"model\":\"gpt-5.1-codex\",\"stream\":true,\"store\":false,\"input\":[{{\"role\":\"user\",\"content\":[{{\"type\":\"input_text\",\"text\":\"Say hi\"}}]}}]}}'\n\
\n\
Codex CLI: put this in $CODEX_HOME/config.toml\n  \
model = \"gpt-5.1-codex\"\n  \
model_provider = \"pooler\"\n  \
[model_providers.pooler]\n  \
name = \"codex-pooler\"\n  \
base_url = \"{origin}/backend-api/codex\"\n  \
wire_api = \"responses\"\n  \
env_key = \"CODEX_POOLER_KEY\"\n\
then: CODEX_POOLER_KEY={key} codex exec 'Say hi'\n",
            fake = self.fake.base_url(),
            data = place
                .throwaway_dir()
                .map_or_else(String::new, |dir| format!(
                    "data of this run (removed when it stops): {}\n",
                    dir.display()
                )),
        );
    }

    /// Stops the simulated backend.
    pub(crate) fn shutdown(self) {
        self.fake.shutdown();
    }
}

fn demo_accounts() -> Vec<FakeAccount> {
    let mut accounts: Vec<FakeAccount> = (1..=3)
        .map(|i| {
            FakeAccount::new(
                format!("{DEMO_ACCOUNT_PREFIX}{i}"),
                format!("demo-access-token-{i}"),
                format!("demo-{i}"),
            )
        })
        .collect();
    accounts[0].primary_used_percent = 12.0;
    accounts[1].primary_used_percent = 100.0;
    accounts[2].primary_used_percent = 55.0;
    accounts
}

/// Whether `account` is one of the demo's simulated accounts.
fn is_demo_account(account: &UpstreamAccount) -> bool {
    account.chatgpt_account_id.starts_with(DEMO_ACCOUNT_PREFIX)
}

/// With a demo `place`: the demo's store as it is ([`checked_state`]); without one, `None`.
pub(crate) async fn checked(
    place: Option<&DemoPlace>,
    store: &dyn PoolStore,
) -> Result<Option<StoreState>, ServerError> {
    match place {
        Some(_) => Ok(Some(checked_state(store).await?)),
        None => Ok(None),
    }
}

/// With a checked demo `state`: [`prepare`]s the demo; without one, `None`.
pub(crate) async fn start(
    state: Option<&StoreState>,
    store: &dyn PoolStore,
    sealer: &SecretSealer,
    hasher: &KeyHasher,
) -> Result<Option<Demo>, ServerError> {
    match state {
        Some(state) => Ok(Some(prepare(store, state, sealer, hasher).await?)),
        None => Ok(None),
    }
}

/// Prints how to try the demo, when there is one, once the gateway listens at `origin`.
pub(crate) fn welcome(demo: Option<&Demo>, place: Option<&DemoPlace>, origin: &str) {
    if let (Some(demo), Some(place)) = (demo, place) {
        demo.print_welcome(origin, place);
    }
}

/// Stops the simulated backend, when there is one.
pub(crate) fn stop(demo: Option<Demo>) {
    if let Some(demo) = demo {
        demo.shutdown();
    }
}

/// The demo's store as it is, refused when it holds accounts other than the demo's: the demo
/// must not run beside them. Nothing is written before this check.
pub(crate) async fn checked_state(store: &dyn PoolStore) -> Result<StoreState, ServerError> {
    let state = store.load_state().await?;
    refuse_foreign_accounts(&state)?;
    Ok(state)
}

fn refuse_foreign_accounts(state: &StoreState) -> Result<(), ServerError> {
    let foreign: Vec<String> = state
        .accounts
        .iter()
        .filter(|a| !is_demo_account(a))
        .map(|a| a.id.to_string())
        .collect();
    if foreign.is_empty() {
        return Ok(());
    }
    Err(ServerError::Usage(format!(
        "refusing to run the demo on this store: it holds {} upstream account(s) that are not \
         demo accounts (id {}); run `codex-pooler serve --demo` without --data-dir and \
         --database-url to use a throwaway store",
        foreign.len(),
        foreign.join(", ")
    )))
}

/// Starts the simulated backend and makes sure the demo pool, its accounts (pointed at the
/// simulated backend) and a new key exist in a store `state` (from [`checked_state`]) describes.
pub(crate) async fn prepare(
    store: &dyn PoolStore,
    state: &StoreState,
    sealer: &SecretSealer,
    hasher: &KeyHasher,
) -> Result<Demo, ServerError> {
    let accounts = demo_accounts();
    let fake = FakeUpstream::start(FakeConfig::with_accounts(accounts.clone()))
        .map_err(|e| ServerError::io("starting the simulated backend", e))?;
    let base_url = fake.base_url();

    let pool = match store.pool_by_slug(DEMO_POOL).await? {
        Some(pool) => pool,
        None => store.create_pool(DEMO_POOL).await?,
    };
    for fake_account in &accounts {
        let existing = state
            .accounts
            .iter()
            .find(|a| a.chatgpt_account_id == fake_account.chatgpt_account_id);
        let id = match existing {
            Some(a) => {
                // The simulated backend listens on a new port each run.
                store.set_account_base_url(a.id, Some(&base_url)).await?;
                a.id
            }
            None => {
                let secrets = vec![sealer.seal(
                    &fake_account.chatgpt_account_id,
                    SecretKind::AccessToken,
                    fake_account.access_token.as_bytes(),
                )];
                store
                    .create_account(NewAccount {
                        label: fake_account.label.clone(),
                        chatgpt_account_id: fake_account.chatgpt_account_id.clone(),
                        user_id: None,
                        email: None,
                        plan_type: Some(fake_account.plan_type.clone()),
                        base_url: Some(base_url.clone()),
                        models: DEFAULT_CODEX_MODELS
                            .iter()
                            .map(|m| (*m).to_owned())
                            .collect(),
                        secrets,
                    })
                    .await?
                    .id
            }
        };
        store.assign(pool.id, id).await?;
    }
    // One live demo key at a time: a run's key ends with the next run.
    for key in state
        .keys
        .iter()
        .filter(|k| k.pool == pool.id && k.name == DEMO_KEY_NAME && k.status == KeyStatus::Active)
    {
        store.set_key_status(key.id, KeyStatus::Revoked).await?;
    }
    let spec = KeySpec {
        pool: DEMO_POOL,
        name: DEMO_KEY_NAME,
        expires_in_days: None,
        policy: KeyPolicy::default(),
    };
    let created = create_key(store, hasher, spec).await?;
    Ok(Demo {
        fake,
        key: created.plaintext,
    })
}
