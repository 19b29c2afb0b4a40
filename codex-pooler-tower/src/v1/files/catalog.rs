//! [`FileCatalog`]: the metadata of `/v1/files` uploads, in memory, per key.
//!
//! Metadata lives in this process only: it does not survive a restart and each replica knows
//! only the uploads it ran. Entries expire with the backend's file (24 h) and each key keeps at
//! most [`PER_KEY`] of them (the oldest go first).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use codex_pooler_core::model::KeyId;
use codex_pooler_core::translate::files::FileObject;

/// The most uploads remembered per key.
pub(crate) const PER_KEY: usize = 1_000;

/// Upload metadata per key, shared by the upload layer and the metadata routes.
#[derive(Debug, Clone, Default)]
pub(crate) struct FileCatalog {
    keys: Arc<Mutex<HashMap<KeyId, VecDeque<FileObject>>>>,
}

impl FileCatalog {
    /// Remembers `file` as `key`'s.
    pub(crate) fn insert(&self, key: KeyId, file: FileObject, now: i64) {
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        let files = keys.entry(key).or_default();
        files.retain(|f| f.expires_at() > now && f.id != file.id);
        while files.len() >= PER_KEY {
            files.pop_front();
        }
        files.push_back(file);
    }

    /// `key`'s unexpired files, newest first.
    pub(crate) fn list(&self, key: KeyId, now: i64) -> Vec<FileObject> {
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(files) = keys.get_mut(&key) else {
            return Vec::new();
        };
        files.retain(|f| f.expires_at() > now);
        let listed = files.iter().rev().cloned().collect();
        if files.is_empty() {
            keys.remove(&key);
        }
        listed
    }

    /// `key`'s unexpired file `id`; another key's file is as unknown as a missing one.
    pub(crate) fn get(&self, key: KeyId, id: &str, now: i64) -> Option<FileObject> {
        self.list(key, now).into_iter().find(|f| f.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(id: &str, created_at: i64) -> FileObject {
        FileObject {
            id: id.into(),
            bytes: 1,
            created_at,
            filename: "a".into(),
            purpose: "user_data".into(),
        }
    }

    #[test]
    fn files_are_per_key_and_expire() {
        let catalog = FileCatalog::default();
        catalog.insert(KeyId(1), file("file_a", 0), 0);
        catalog.insert(KeyId(1), file("file_b", 10), 10);
        assert_eq!(catalog.list(KeyId(1), 20).len(), 2);
        assert_eq!(catalog.list(KeyId(1), 20)[0].id, "file_b");
        assert_eq!(catalog.get(KeyId(2), "file_a", 20), None);
        assert_eq!(catalog.get(KeyId(1), "file_a", 86_400), None);
        assert!(catalog.get(KeyId(1), "file_b", 86_400).is_some());
    }

    #[test]
    fn a_key_keeps_a_bounded_number() {
        let catalog = FileCatalog::default();
        for i in 0..=PER_KEY {
            catalog.insert(KeyId(1), file(&format!("file_{i}"), 0), 0);
        }
        assert_eq!(catalog.list(KeyId(1), 0).len(), PER_KEY);
        assert_eq!(catalog.get(KeyId(1), "file_0", 0), None);
    }
}
