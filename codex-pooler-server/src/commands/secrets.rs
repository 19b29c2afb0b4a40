//! `codex-pooler secrets ...`: rotating the secret key, and which key versions are in use.
//!
//! `secrets rotate` with the embedded `secret.key`:
//!
//! 1. reads every sealed value and checks that each opens with a new key added (nothing is
//!    written if one does not);
//! 2. adds a new key version, one above every version in use, to `secret.key` (atomically,
//!    mode 0600): from here on it seals;
//! 3. seals every secret and every hashing key in use again under it, in one transaction;
//! 4. rewrites `secret.key` without the versions nothing needs any more.
//!
//! With keys from the environment, steps 1 and 3 run under `CODEX_POOLER_SECRET_KEY`, and the
//! command says which `CODEX_POOLER_PREVIOUS_SECRET_KEYS` entries can go.

use std::collections::BTreeSet;
use std::path::Path;

use codex_pooler_tower::credentials::SealingKey;
use serde::Serialize;

use crate::error::ServerError;
use crate::secret_keys::rotation::{self, RotationSummary};
use crate::secret_keys::status::{self, KeyVersionReport, VersionCount};
use crate::secret_keys::{KeySource, SecretKeys, write_key_file};
use crate::settings::{PREVIOUS_SECRET_KEYS_ENV, SECRET_KEY_VERSION_ENV, Settings};
use crate::store::SqlStore;

/// What `secrets rotate` did (`--json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RotateReport {
    /// The re-seal itself.
    #[serde(flatten)]
    pub summary: RotationSummary,
    /// `environment` or `file`.
    pub source: &'static str,
    /// Versions removed from `secret.key`.
    pub removed_versions: Vec<u32>,
    /// Previous versions nothing needs any more (remove them from the environment).
    pub removable_versions: Vec<u32>,
    /// Previous versions still needed: values written with them during the rotation. Run the
    /// rotation again.
    pub still_needed_versions: Vec<u32>,
}

/// Rotates: see the [module documentation](self).
pub async fn rotate(settings: &Settings, store: &SqlStore, json: bool) -> Result<(), ServerError> {
    let keys = settings.secret_keys()?;
    let report = match keys.source() {
        KeySource::File(path) => rotate_file(&keys, path, store).await?,
        KeySource::Environment => rotate_environment(&keys, store).await?,
    };
    if json {
        println!("{}", to_json(&report)?);
        return Ok(());
    }
    let summary = &report.summary;
    println!(
        "re-sealed {} secret(s) under key version {} ({} already were); {}",
        summary.resealed_secrets,
        summary.key_version,
        summary.unchanged_secrets,
        match summary.hashing_keys.as_slice() {
            [] => "no older hashing key is in use".to_owned(),
            versions => format!("kept the hashing key(s) of version(s) {}", list(versions)),
        }
    );
    if !report.removed_versions.is_empty() {
        println!(
            "removed key version(s) {} from secret.key",
            list(&report.removed_versions)
        );
    }
    if !report.removable_versions.is_empty() {
        println!(
            "nothing needs key version(s) {} any more: remove them from {PREVIOUS_SECRET_KEYS_ENV}",
            list(&report.removable_versions)
        );
    }
    if !report.still_needed_versions.is_empty() {
        println!(
            "values sealed with key version(s) {} were written meanwhile: run `codex-pooler \
             secrets rotate` again",
            list(&report.still_needed_versions)
        );
    }
    Ok(())
}

/// Rotates the keys of the `secret.key` at `path`.
async fn rotate_file(
    keys: &SecretKeys,
    path: &Path,
    store: &SqlStore,
) -> Result<RotateReport, ServerError> {
    let before = store.sealed_inventory().await?;
    let version = rotation::next_version(keys, &before)?;
    let rotated = keys.with_new_current(SealingKey::generate(version));
    // Everything must open before the file changes.
    rotation::plan(&rotated, &before)?;
    write_key_file(path, &rotated)?;
    // From here on a failure leaves secret.key holding the new key beside the old ones, which
    // is safe: the new key seals, the old ones still open, and running again finishes the job.
    let summary = store
        .reseal(|inventory| rotation::plan(&rotated, inventory))
        .await?;
    let needed = status::needed_versions(&store.sealed_inventory().await?);
    let kept = rotated.retaining(|v| needed.contains(&v));
    write_key_file(path, &kept)?;
    if std::env::var_os(SECRET_KEY_VERSION_ENV).is_some() {
        tracing::warn!(
            "{SECRET_KEY_VERSION_ENV} is set: unset it, secret.key now names its versions \
             (the current one is {version})"
        );
    }
    let kept_versions: BTreeSet<u32> = kept.versions().collect();
    Ok(RotateReport {
        summary,
        source: "file",
        removed_versions: rotated
            .previous()
            .iter()
            .map(SealingKey::version)
            .filter(|v| !kept_versions.contains(v))
            .collect(),
        removable_versions: Vec::new(),
        still_needed_versions: kept.previous().iter().map(SealingKey::version).collect(),
    })
}

/// Re-seals under the key of the environment.
async fn rotate_environment(
    keys: &SecretKeys,
    store: &SqlStore,
) -> Result<RotateReport, ServerError> {
    let summary = store
        .reseal(|inventory| rotation::plan(keys, inventory))
        .await?;
    let needed = status::needed_versions(&store.sealed_inventory().await?);
    let (still_needed, removable): (Vec<u32>, Vec<u32>) = keys
        .previous()
        .iter()
        .map(SealingKey::version)
        .partition(|v| needed.contains(v));
    Ok(RotateReport {
        summary,
        source: "environment",
        removed_versions: Vec::new(),
        removable_versions: removable,
        still_needed_versions: still_needed,
    })
}

/// Prints which key versions stored values use and need.
pub async fn status(settings: &Settings, store: &SqlStore, json: bool) -> Result<(), ServerError> {
    let keys = settings.secret_keys()?;
    let report = status::report(&keys, &store.sealed_inventory().await?);
    if json {
        println!("{}", to_json(&report)?);
    } else {
        print_status(&report);
    }
    Ok(())
}

fn print_status(report: &KeyVersionReport) {
    let counts = |counts: &[VersionCount]| {
        if counts.is_empty() {
            return "none".to_owned();
        }
        counts
            .iter()
            .map(|c| format!("{}: {}", c.key_version, c.count))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let hashing_keys = if report.hashing_keys.is_empty() {
        "none".to_owned()
    } else {
        report
            .hashing_keys
            .iter()
            .map(|k| format!("{} (sealed with {})", k.version, k.key_version))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "current key version: {} (from {})",
        report.current_version, report.source
    );
    println!("configured versions: {}", list(&report.configured_versions));
    println!(
        "upstream secrets by key version: {}",
        counts(&report.secrets)
    );
    println!(
        "pool api key hashes by key version: {}",
        counts(&report.key_hashes)
    );
    println!("stored hashing keys: {hashing_keys}");
    println!("needed versions: {}", list(&report.needed_versions));
    println!("removable versions: {}", list(&report.removable_versions));
    println!("missing versions: {}", list(&report.missing_versions));
    println!(
        "rotation complete: {}",
        if report.rotation_complete {
            "yes"
        } else {
            "no"
        }
    );
}

/// `1, 2`, or `none`.
fn list(versions: &[u32]) -> String {
    if versions.is_empty() {
        return "none".to_owned();
    }
    versions
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn to_json(value: &impl Serialize) -> Result<String, ServerError> {
    serde_json::to_string(value)
        .map_err(|e| ServerError::Usage(format!("cannot encode the report: {e}")))
}
