//! From an imported login to the account the store keeps: metadata plus sealed tokens.

use codex_pooler_core::model::DEFAULT_CODEX_MODELS;
use codex_pooler_core::store::{NewAccount, SealedSecret};

use super::{ImportedAuth, SecretSealer};

impl ImportedAuth {
    /// The three tokens, each sealed for this account.
    pub fn sealed_tokens(&self, sealer: &SecretSealer) -> Vec<SealedSecret> {
        self.secrets()
            .into_iter()
            .map(|(kind, token)| {
                sealer.seal(&self.chatgpt_account_id, kind, token.expose().as_bytes())
            })
            .collect()
    }

    /// The account to store for this login: its identity, the default Codex models, the sealed
    /// tokens, `base_url` (trailing `/` dropped) and `label` (default: the email, else the
    /// account id).
    pub fn new_account(
        &self,
        sealer: &SecretSealer,
        label: Option<&str>,
        base_url: Option<&str>,
    ) -> NewAccount {
        NewAccount {
            label: label
                .map(str::to_owned)
                .or_else(|| self.email.clone())
                .unwrap_or_else(|| self.chatgpt_account_id.clone()),
            chatgpt_account_id: self.chatgpt_account_id.clone(),
            user_id: self.user_id.clone(),
            email: self.email.clone(),
            plan_type: self.plan_type.clone(),
            base_url: base_url.map(|u| u.trim_end_matches('/').to_owned()),
            models: DEFAULT_CODEX_MODELS
                .iter()
                .map(|m| (*m).to_owned())
                .collect(),
            secrets: self.sealed_tokens(sealer),
        }
    }
}
