//! Where things are: data directory, database URL and the secret key.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};

use codex_pooler_tower::credentials::SecretSealer;
use codex_pooler_tower::keys::KeyHasher;

use crate::cli::GlobalArgs;
use crate::error::ServerError;
use crate::private_files::{GROUP_OR_OTHER, create_private_dir, mode};
use crate::secret_keys::{SecretKeyError, SecretKeys, load_or_generate};
use crate::store::SqlStore;

/// The environment variable holding the current secret key (base64 or hex of 32 bytes).
pub const SECRET_KEY_ENV: &str = "CODEX_POOLER_SECRET_KEY";
/// The environment variable holding the current secret key's version (default 1).
pub const SECRET_KEY_VERSION_ENV: &str = "CODEX_POOLER_SECRET_KEY_VERSION";
/// The environment variable holding previous secret keys, which only open older secrets:
/// comma-separated `VERSION:KEY` entries.
pub const PREVIOUS_SECRET_KEYS_ENV: &str = "CODEX_POOLER_PREVIOUS_SECRET_KEYS";
/// The file the embedded default keeps its secret keys in.
pub const SECRET_KEY_FILE: &str = "secret.key";
/// The embedded database file name.
pub const DATABASE_FILE: &str = "codex-pooler.db";

/// Resolved locations.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The data directory.
    pub data_dir: PathBuf,
    /// The database URL.
    pub database_url: String,
    /// Whether the database is the embedded SQLite default.
    pub embedded: bool,
    /// Warns about an open data directory once per process.
    data_dir_checked: Arc<Once>,
}

impl Settings {
    /// Resolves flags and environment into locations.
    pub fn resolve(global: &GlobalArgs) -> Self {
        let data_dir = global.data_dir.clone().unwrap_or_else(default_data_dir);
        match &global.database_url {
            Some(url) => Self {
                data_dir,
                database_url: url.clone(),
                embedded: false,
                data_dir_checked: Arc::new(Once::new()),
            },
            None => Self::embedded(&data_dir),
        }
    }

    /// The embedded SQLite database in `data_dir`, whatever the flags and environment say.
    pub fn embedded(data_dir: &Path) -> Self {
        Self {
            database_url: format!("sqlite://{}", data_dir.join(DATABASE_FILE).display()),
            data_dir: data_dir.to_owned(),
            embedded: true,
            data_dir_checked: Arc::new(Once::new()),
        }
    }

    /// Creates the data directory (mode 0700) if needed. An existing directory group or
    /// others may open is warned about, once: the files inside are private, but the names and
    /// sizes of the files are not.
    pub fn ensure_data_dir(&self) -> Result<(), ServerError> {
        create_private_dir(&self.data_dir)?;
        self.data_dir_checked.call_once(|| {
            let Ok(meta) = std::fs::metadata(&self.data_dir) else {
                return;
            };
            let mode = mode(&meta);
            if mode & GROUP_OR_OTHER != 0 {
                tracing::warn!(
                    "data directory {} is open to group or others (mode {mode:04o}); its files \
                     are private, but consider `chmod 700 {}`",
                    self.data_dir.display(),
                    self.data_dir.display()
                );
            }
        });
        Ok(())
    }

    /// Opens (and migrates) the store.
    pub async fn open_store(&self) -> Result<Arc<SqlStore>, ServerError> {
        if self.embedded {
            self.ensure_data_dir()?;
        }
        Ok(Arc::new(SqlStore::connect(&self.database_url).await?))
    }

    /// The secret keys: from [`SECRET_KEY_ENV`] (with [`SECRET_KEY_VERSION_ENV`] and
    /// [`PREVIOUS_SECRET_KEYS_ENV`]), or, when the embedded database is in use, from
    /// [`SECRET_KEY_FILE`] in the data directory (generated on first use).
    pub fn secret_keys(&self) -> Result<SecretKeys, ServerError> {
        let version = env_var(SECRET_KEY_VERSION_ENV);
        let previous = env_var(PREVIOUS_SECRET_KEYS_ENV);
        if let Some(current) = env_var(SECRET_KEY_ENV) {
            return Ok(SecretKeys::from_env(
                &current,
                version.as_deref(),
                previous.as_deref(),
            )?);
        }
        if previous.as_deref().is_some_and(|p| !p.trim().is_empty()) {
            return Err(SecretKeyError::PreviousWithoutCurrent.into());
        }
        if !self.embedded {
            return Err(ServerError::Usage(format!(
                "set {SECRET_KEY_ENV} (32 random bytes, base64): replicas sharing an external database must share one key"
            )));
        }
        self.ensure_data_dir()?;
        load_or_generate(&self.data_dir.join(SECRET_KEY_FILE), version.as_deref())
    }

    /// The sealer for upstream secrets: seals with the current key, opens with every
    /// configured one.
    pub fn sealer(&self) -> Result<SecretSealer, ServerError> {
        Ok(self.secret_keys()?.sealer())
    }

    /// The sealer for upstream secrets and the hasher for Pool API keys, which also verifies
    /// hashes of versions whose secret key is gone through the hashing keys `store` holds.
    /// Stored hashing keys that do not open, and key hashes no hashing key verifies, are
    /// warned about: those Pool API keys will be refused.
    pub async fn crypto(&self, store: &SqlStore) -> Result<(SecretSealer, KeyHasher), ServerError> {
        let keys = self.secret_keys()?;
        let (hasher, unopened) = keys.hasher(&store.hashing_keys().await?);
        for key in unopened {
            tracing::warn!(
                version = key.version,
                key_version = key.key_version,
                error = %key.error,
                "a stored hashing key does not open: pool api keys of its version will be refused"
            );
        }
        for (version, count) in store.key_hash_versions().await? {
            if hasher.hashing_key(version).is_none() {
                tracing::warn!(
                    version,
                    count,
                    "pool api keys carry a key version no configured or stored key has: they \
                     will be refused until the secret key of that version is configured again"
                );
            }
        }
        Ok((keys.sealer(), hasher))
    }
}

/// An environment variable's value, `None` when unset or not unicode.
fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn default_data_dir() -> PathBuf {
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join("codex-pooler");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(home).join(".local/share/codex-pooler");
    }
    PathBuf::from(".codex-pooler")
}
