//! [`ContextEndpoint`]: one of the Codex history and notes tools' backend endpoints.
//!
//! The Codex client (since 0.169; the `codex_history_notes_extension` crate in 0.171) calls
//! `POST {codex}/alpha/history/v2/*`, `POST {codex}/alpha/notes/v2/*` and `{codex}/alpha/search`
//! with a JSON body carrying `context: {session_id, current_agent_name}`. Only these fixed paths
//! go upstream: the path sent is the endpoint's own, never copied from the client.

use super::RouteClass;

/// A history, notes or search endpoint of the Codex backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContextEndpoint {
    /// `alpha/history/v2/list_windows`.
    HistoryListWindows,
    /// `alpha/history/v2/list_items`.
    HistoryListItems,
    /// `alpha/history/v2/read_item`.
    HistoryReadItem,
    /// `alpha/history/v2/search_contents`.
    HistorySearchContents,
    /// `alpha/notes/v2/thread_hint`.
    NotesThreadHint,
    /// `alpha/notes/v2/list_files_by_prefix`.
    NotesListFilesByPrefix,
    /// `alpha/notes/v2/read_file`.
    NotesReadFile,
    /// `alpha/notes/v2/search_contents`.
    NotesSearchContents,
    /// `alpha/notes/v2/append_to_file`.
    NotesAppendToFile,
    /// `alpha/notes/v2/write_file`.
    NotesWriteFile,
    /// `alpha/search`.
    Search,
}

impl ContextEndpoint {
    /// Every endpoint.
    pub const ALL: [Self; 11] = [
        Self::HistoryListWindows,
        Self::HistoryListItems,
        Self::HistoryReadItem,
        Self::HistorySearchContents,
        Self::NotesThreadHint,
        Self::NotesListFilesByPrefix,
        Self::NotesReadFile,
        Self::NotesSearchContents,
        Self::NotesAppendToFile,
        Self::NotesWriteFile,
        Self::Search,
    ];

    /// The path below `/backend-api/codex/`.
    pub const fn tail(self) -> &'static str {
        match self {
            Self::HistoryListWindows => "alpha/history/v2/list_windows",
            Self::HistoryListItems => "alpha/history/v2/list_items",
            Self::HistoryReadItem => "alpha/history/v2/read_item",
            Self::HistorySearchContents => "alpha/history/v2/search_contents",
            Self::NotesThreadHint => "alpha/notes/v2/thread_hint",
            Self::NotesListFilesByPrefix => "alpha/notes/v2/list_files_by_prefix",
            Self::NotesReadFile => "alpha/notes/v2/read_file",
            Self::NotesSearchContents => "alpha/notes/v2/search_contents",
            Self::NotesAppendToFile => "alpha/notes/v2/append_to_file",
            Self::NotesWriteFile => "alpha/notes/v2/write_file",
            Self::Search => "alpha/search",
        }
    }

    /// The endpoint a path below `{codex}` (without its leading `/`, trailing `/` trimmed)
    /// names, if any.
    pub fn of_tail(tail: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.tail() == tail)
    }

    /// The endpoint a raw request path names (`/backend-api/codex/...`, or under its `/v1`
    /// alias), if any.
    pub fn of_path(path: &str) -> Option<Self> {
        let rest = path
            .trim_end_matches('/')
            .strip_prefix("/backend-api/codex/")?;
        Self::of_tail(rest.strip_prefix("v1/").unwrap_or(rest))
    }

    /// The route class: health, limits and routing are kept per class.
    pub const fn class(self) -> RouteClass {
        match self {
            Self::HistoryListWindows
            | Self::HistoryListItems
            | Self::HistoryReadItem
            | Self::HistorySearchContents => RouteClass::HistoryRead,
            Self::NotesThreadHint
            | Self::NotesListFilesByPrefix
            | Self::NotesReadFile
            | Self::NotesSearchContents => RouteClass::NotesRead,
            Self::NotesAppendToFile | Self::NotesWriteFile => RouteClass::NotesWrite,
            Self::Search => RouteClass::Search,
        }
    }

    /// The upstream path, relative to the account's origin.
    pub fn upstream_path(self) -> String {
        format!("/backend-api/codex/{}", self.tail())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip_and_nothing_else_matches() {
        for e in ContextEndpoint::ALL {
            assert_eq!(ContextEndpoint::of_path(&e.upstream_path()), Some(e));
            let aliased = format!("/backend-api/codex/v1/{}/", e.tail());
            assert_eq!(ContextEndpoint::of_path(&aliased), Some(e));
        }
        for path in [
            "/backend-api/codex/alpha/history/v2/drop_everything",
            "/backend-api/codex/alpha/notes/v2/read_file/../../me",
            "/backend-api/codex/alpha/notes/v2/%72ead_file",
            "/backend-api/codex/alpha",
            "/v1/alpha/search",
        ] {
            assert_eq!(ContextEndpoint::of_path(path), None, "{path}");
        }
        assert_eq!(
            ContextEndpoint::NotesWriteFile.class(),
            RouteClass::NotesWrite
        );
        assert_eq!(
            ContextEndpoint::HistoryReadItem.class(),
            RouteClass::HistoryRead
        );
    }
}
