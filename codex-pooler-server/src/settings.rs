//! Where things are: data directory, database URL and the secret key.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use codex_pooler_tower::credentials::{SealingKey, SecretSealer};
use codex_pooler_tower::keys::KeyHasher;

use crate::cli::GlobalArgs;
use crate::error::ServerError;
use crate::store::SqlStore;

/// The environment variable holding the secret key (base64 or hex of 32 bytes).
pub const SECRET_KEY_ENV: &str = "CODEX_POOLER_SECRET_KEY";
/// The environment variable holding the secret key's version (default 1).
pub const SECRET_KEY_VERSION_ENV: &str = "CODEX_POOLER_SECRET_KEY_VERSION";
/// The file the embedded default keeps its generated secret key in.
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
        }
    }

    /// Creates the data directory (mode 0700) if needed.
    pub fn ensure_data_dir(&self) -> Result<(), ServerError> {
        create_private_dir(&self.data_dir)
    }

    /// Opens (and migrates) the store.
    pub async fn open_store(&self) -> Result<Arc<SqlStore>, ServerError> {
        if self.embedded {
            self.ensure_data_dir()?;
        }
        Ok(Arc::new(SqlStore::connect(&self.database_url).await?))
    }

    /// The secret key: from [`SECRET_KEY_ENV`], or generated once into the data directory when
    /// the embedded database is in use.
    pub fn secret_key(&self) -> Result<SealingKey, ServerError> {
        let version = match std::env::var(SECRET_KEY_VERSION_ENV) {
            Ok(v) => v.trim().parse::<u32>().map_err(|_| {
                ServerError::Usage(format!(
                    "{SECRET_KEY_VERSION_ENV} must be a positive integer"
                ))
            })?,
            Err(_) => 1,
        };
        if let Ok(value) = std::env::var(SECRET_KEY_ENV) {
            return Ok(SealingKey::from_config_value(value.trim(), version)?);
        }
        if !self.embedded {
            return Err(ServerError::Usage(format!(
                "set {SECRET_KEY_ENV} (32 random bytes, base64): replicas sharing an external database must share one key"
            )));
        }
        self.ensure_data_dir()?;
        let path = self.data_dir.join(SECRET_KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(value) => Ok(SealingKey::from_config_value(value.trim(), version)?),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let key = SealingKey::generate(version);
                write_private_file(&path, key.to_config_value().as_bytes())?;
                Ok(key)
            }
            Err(err) => Err(ServerError::io(format!("reading {}", path.display()), err)),
        }
    }

    /// The sealer for upstream secrets and the hasher for Pool API keys.
    pub fn crypto(&self) -> Result<(SecretSealer, KeyHasher), ServerError> {
        let key = self.secret_key()?;
        let hasher = KeyHasher::from_sealing_key(&key);
        let version = key.version();
        let sealer = SecretSealer::new(vec![key], version)?;
        Ok((sealer, hasher))
    }
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

fn create_private_dir(dir: &Path) -> Result<(), ServerError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| ServerError::io(format!("creating {}", dir.display()), e))
}

/// Writes a new file readable by its owner only; fails if it exists.
fn write_private_file(path: &Path, contents: &[u8]) -> Result<(), ServerError> {
    let file = create_private_file(path)?;
    write_and_sync(file, path, contents)
}

/// Creates a new, empty file readable by its owner only (mode 0600); fails if it exists.
pub(crate) fn create_private_file(path: &Path) -> Result<std::fs::File, ServerError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .map_err(|e| ServerError::io(format!("creating {}", path.display()), e))
}

/// Writes `contents` to `file` (at `path`, for the error) and flushes it to disk.
pub(crate) fn write_and_sync(
    mut file: std::fs::File,
    path: &Path,
    contents: &[u8],
) -> Result<(), ServerError> {
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| ServerError::io(format!("writing {}", path.display()), e))
}
