//! `serve --demo`: a simulated Codex backend with three accounts in a `demo` pool.
//!
//! The simulated accounts differ on purpose: one has plenty of quota, one reports its 5-hour
//! window full (the router stops choosing it once it has seen that), one sits in between. A
//! newcomer sees requests spread, and an exhausted account avoided, without any real account.

use codex_pooler_core::model::DEFAULT_CODEX_MODELS;
use codex_pooler_core::store::{NewAccount, PoolStore, SecretKind};
use codex_pooler_tower::credentials::SecretSealer;
use codex_pooler_tower::keys::KeyHasher;

use crate::commands::keys::create_key;
use crate::error::ServerError;
use crate::fake_upstream::{FakeAccount, FakeConfig, FakeUpstream, FakeUpstreamHandle};

/// The demo pool's slug.
pub(crate) const DEMO_POOL: &str = "demo";

/// A running demo: the simulated backend and the key made for this run.
#[derive(Debug)]
pub(crate) struct Demo {
    fake: FakeUpstreamHandle,
    key: String,
}

impl Demo {
    /// The simulated backend's origin, used as the upstream base URL in demo mode.
    pub(crate) fn upstream_base_url(&self) -> String {
        self.fake.base_url()
    }

    /// Prints how to try the demo.
    pub(crate) fn print_welcome(&self, origin: &str) {
        let key = &self.key;
        println!(
            "\n\
demo mode: a simulated Codex backend with 3 accounts serves pool `{DEMO_POOL}`\n\
(upstream base URL {fake} for this run; accounts: demo-1 healthy, demo-2 at 100% of its\n\
5-hour window, demo-3 half used)\n\
\n\
Pool API key for this run:\n  {key}\n\
\n\
Try it:\n  \
curl -sN {origin}/backend-api/codex/responses \\\n    \
-H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \\\n    \
-d '{{\"model\":\"gpt-5.1-codex\",\"stream\":true,\"input\":[{{\"role\":\"user\",\"content\":[{{\"type\":\"input_text\",\"text\":\"Say hi\"}}]}}]}}'\n\
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
                format!("demo-account-{i}"),
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

/// Starts the simulated backend and makes sure the demo pool, its accounts and a key exist.
pub(crate) async fn prepare(
    store: &dyn PoolStore,
    sealer: &SecretSealer,
    hasher: &KeyHasher,
) -> Result<Demo, ServerError> {
    let accounts = demo_accounts();
    let fake = FakeUpstream::start(FakeConfig::with_accounts(accounts.clone()))
        .map_err(|e| ServerError::io("starting the simulated backend", e))?;

    let pool = match store.pool_by_slug(DEMO_POOL).await? {
        Some(pool) => pool,
        None => store.create_pool(DEMO_POOL).await?,
    };
    let state = store.load_state().await?;
    for fake_account in &accounts {
        let existing = state
            .accounts
            .iter()
            .find(|a| a.chatgpt_account_id == fake_account.chatgpt_account_id);
        let id = match existing {
            Some(a) => a.id,
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
                        base_url: None,
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
    let created = create_key(store, hasher, DEMO_POOL, "demo", None).await?;
    Ok(Demo {
        fake,
        key: created.plaintext,
    })
}
