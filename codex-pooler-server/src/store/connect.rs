//! Connection options for a database URL.

use std::path::PathBuf;
use std::time::Duration;

use codex_pooler_core::store::StoreError;
use sea_orm::ConnectOptions;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};

/// How long a SQLite writer waits for another process's write lock before failing.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Pooled connections to a SQLite file: several readers, writers take turns.
const SQLITE_FILE_CONNECTIONS: u32 = 4;

/// The supported database kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A SQLite file.
    SqliteFile,
    /// A SQLite database in process memory.
    SqliteMemory,
    /// A PostgreSQL server.
    Postgres,
}

/// Connection options for `url`: `sqlite:` (the file is created when missing unless the URL
/// sets `mode=`) or `postgres://` / `postgresql://`.
pub(crate) fn options(url: &str) -> Result<ConnectOptions, StoreError> {
    let kind = kind(url)?;
    let mut options = ConnectOptions::new(url);
    options.sqlx_logging(false);
    match kind {
        Kind::Postgres => {}
        Kind::SqliteMemory => {
            // Every connection to `:memory:` is its own database: keep exactly one, forever.
            options
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .map_sqlx_sqlite_opts(|o| o.foreign_keys(true));
        }
        Kind::SqliteFile => {
            let create = !query_sets(url, "mode");
            // WAL lets readers run beside a writer, and the busy timeout lets a CLI process and
            // a running server write the same file: each waits for the other's transaction.
            options
                .max_connections(SQLITE_FILE_CONNECTIONS)
                .map_sqlx_sqlite_opts(move |o| {
                    o.create_if_missing(create)
                        .journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal)
                        .busy_timeout(SQLITE_BUSY_TIMEOUT)
                        .foreign_keys(true)
                });
        }
    }
    Ok(options)
}

/// The database file of a `sqlite:` URL naming a file on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SqliteFile {
    /// The file's path, as SQLite opens it.
    pub(crate) path: PathBuf,
    /// Whether connecting creates it when missing (the URL sets no `mode=`).
    pub(crate) created_if_missing: bool,
}

/// The file `url` opens, or `None` for PostgreSQL, in-memory SQLite and paths with
/// percent-escapes (SQLite decodes those; they are left alone rather than guessed at).
pub(crate) fn sqlite_file(url: &str) -> Option<SqliteFile> {
    if kind(url).ok()? != Kind::SqliteFile {
        return None;
    }
    // The same split as sqlx: drop the scheme, then everything from the first `?`.
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split_once('?').map_or(rest, |(path, _)| path);
    if path.is_empty() || path.contains('%') {
        return None;
    }
    Some(SqliteFile {
        path: PathBuf::from(path),
        created_if_missing: !query_sets(url, "mode"),
    })
}

fn kind(url: &str) -> Result<Kind, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Kind::Postgres)
    } else if url.starts_with("sqlite:") {
        let memory =
            url.contains(":memory:") || query_sets(url, "mode") && url.contains("mode=memory");
        Ok(if memory {
            Kind::SqliteMemory
        } else {
            Kind::SqliteFile
        })
    } else {
        // The URL itself may hold a password: name only what is accepted.
        Err(StoreError::Backend(
            "unsupported database URL: use sqlite:... or postgres://...".to_owned(),
        ))
    }
}

/// Whether the URL's query string sets `param`.
fn query_sets(url: &str, param: &str) -> bool {
    url.split_once('?').is_some_and(|(_, query)| {
        query
            .split('&')
            .any(|pair| pair.split('=').next() == Some(param))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(kind("sqlite://pooler.db").ok(), Some(Kind::SqliteFile));
        assert_eq!(
            kind("sqlite:pooler.db?mode=rwc").ok(),
            Some(Kind::SqliteFile)
        );
        assert_eq!(kind("sqlite::memory:").ok(), Some(Kind::SqliteMemory));
        assert_eq!(
            kind("sqlite://x?mode=memory").ok(),
            Some(Kind::SqliteMemory)
        );
        assert_eq!(kind("postgres://u:p@h/db").ok(), Some(Kind::Postgres));
        assert_eq!(kind("postgresql://h/db").ok(), Some(Kind::Postgres));
        assert!(kind("mysql://h/db").is_err());
    }

    #[test]
    fn sqlite_files() {
        let file = |path: &str, created_if_missing| {
            Some(SqliteFile {
                path: PathBuf::from(path),
                created_if_missing,
            })
        };
        assert_eq!(
            sqlite_file("sqlite:///data/pooler.db"),
            file("/data/pooler.db", true)
        );
        assert_eq!(sqlite_file("sqlite://rel.db"), file("rel.db", true));
        assert_eq!(sqlite_file("sqlite:rel.db?mode=rw"), file("rel.db", false));
        assert_eq!(
            sqlite_file("sqlite:///a.db?cache=shared"),
            file("/a.db", true)
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("sqlite://x?mode=memory"), None);
        assert_eq!(sqlite_file("sqlite:///a%20b.db"), None);
        assert_eq!(sqlite_file("postgres://h/db"), None);
        assert_eq!(sqlite_file("mysql://h/db"), None);
    }

    #[test]
    fn mode_param() {
        assert!(query_sets("sqlite://a.db?mode=ro", "mode"));
        assert!(query_sets("sqlite://a.db?cache=shared&mode=rw", "mode"));
        assert!(!query_sets("sqlite://a.db", "mode"));
        assert!(!query_sets("sqlite://a.db?model=x", "mode"));
    }
}
