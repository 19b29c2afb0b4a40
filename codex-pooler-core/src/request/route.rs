//! Route classification: which pooled surface a request addresses.
//!
//! The pooler answers a small, fixed set of paths. [`Route::classify`] maps a method and path to
//! one of them, or says the path is not pooled (the embedding service handles it) or is an
//! OpenAI `/v1` path the pooler does not offer.

use http::Method;

use super::ContextEndpoint;
pub use crate::file_id::{FileId, FileIdError};
use crate::model::UnknownVariant;

/// The surface a route belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteFamily {
    /// `/backend-api/codex/*`, the Codex backend surface.
    CodexBackend,
    /// `/v1/*`, the OpenAI-compatible surface.
    OpenAiV1,
}

/// What kind of upstream work a route does; health and limits are kept per class.
///
/// Also the `route` of request records: [`as_str`](Self::as_str) is the stored label and
/// [`FromStr`](std::str::FromStr) reads it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RouteClass {
    /// A model turn over `/responses` (HTTP).
    Responses,
    /// A websocket upgrade on `/responses`.
    ResponsesWebsocket,
    /// Legacy remote compaction, `POST /responses/compact`; never retried on another account.
    Compact,
    /// The model catalog, `GET /models`, answered from the pool's accounts' catalogs.
    Models,
    /// The quota view, `GET /wham/usage` (and its aliases), answered from quota evidence; on
    /// `/v1`, `GET /v1/usage`: the calling key's use and limits beside the pool's quota.
    Usage,
    /// Workspace routing discovery, `GET /wham/accounts/check`, answered by the gateway.
    AccountsCheck,
    /// `POST /backend-api/codex/images/generations`.
    ImageGenerations,
    /// `POST /backend-api/codex/images/edits`.
    ImageEdits,
    /// `POST /backend-api/transcribe` (multipart audio).
    Transcribe,
    /// `POST /backend-api/files`: creates an upload; the file then lives on that account.
    FileCreate,
    /// `POST /backend-api/files/{id}/uploaded`: finalizes an upload, on the account holding it.
    FileFinalize,
    /// Any other `/backend-api` helper route: a deterministic 404.
    UnknownHelper,
    /// The Codex history tool, `POST {codex}/alpha/history/v2/*`: to the thread's context owner.
    HistoryRead,
    /// The notes tool's reads, `POST {codex}/alpha/notes/v2/{thread_hint,list_files_by_prefix,
    /// read_file,search_contents}`: to the thread's context owner.
    NotesRead,
    /// The notes tool's writes, `POST {codex}/alpha/notes/v2/{append_to_file,write_file}`: to the
    /// thread's context owner, never retried on another account.
    NotesWrite,
    /// `POST {codex}/alpha/search`.
    Search,
}

impl std::fmt::Display for RouteClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for RouteClass {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::str::FromStr for RouteClass {
    type Err = UnknownVariant;

    /// Reads back a stored [`as_str`](Self::as_str) label.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownVariant::new("route class", s))
    }
}

impl RouteClass {
    /// Every class.
    pub const ALL: [Self; 16] = [
        Self::Responses,
        Self::ResponsesWebsocket,
        Self::Compact,
        Self::Models,
        Self::Usage,
        Self::AccountsCheck,
        Self::ImageGenerations,
        Self::ImageEdits,
        Self::Transcribe,
        Self::FileCreate,
        Self::FileFinalize,
        Self::UnknownHelper,
        Self::HistoryRead,
        Self::NotesRead,
        Self::NotesWrite,
        Self::Search,
    ];

    /// Stable label for records and metrics.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Responses => "responses",
            Self::ResponsesWebsocket => "responses_websocket",
            Self::Compact => "compact",
            Self::Models => "models",
            Self::Usage => "usage",
            Self::AccountsCheck => "accounts_check",
            Self::ImageGenerations => "image_generations",
            Self::ImageEdits => "image_edits",
            Self::Transcribe => "transcribe",
            Self::FileCreate => "file_create",
            Self::FileFinalize => "file_finalize",
            Self::UnknownHelper => "unknown_helper",
            Self::HistoryRead => "history_read",
            Self::NotesRead => "notes_read",
            Self::NotesWrite => "notes_write",
            Self::Search => "search",
        }
    }

    /// Whether the route is a model turn (it must name a model some account serves).
    pub const fn is_model_turn(self) -> bool {
        matches!(
            self,
            Self::Responses | Self::ResponsesWebsocket | Self::Compact
        )
    }

    /// Whether the route is one of the Codex history, notes or search tools, whose state lives
    /// on the thread's context owner.
    pub const fn is_context(self) -> bool {
        matches!(
            self,
            Self::HistoryRead | Self::NotesRead | Self::NotesWrite | Self::Search
        )
    }

    /// Whether the gateway answers the route itself, without an upstream call.
    pub const fn is_local(self) -> bool {
        matches!(
            self,
            Self::Models | Self::Usage | Self::AccountsCheck | Self::UnknownHelper
        )
    }

    /// The fixed upstream path this class is sent to.
    ///
    /// `None` for [`RouteClass::FileFinalize`], whose path is built from a validated
    /// [`FileId`] (see [`PoolRequest::upstream_path`](crate::request::PoolRequest::upstream_path)),
    /// for the history, notes and search classes, whose path is their
    /// [`ContextEndpoint`](crate::request::ContextEndpoint)'s, and for
    /// [`RouteClass::UnknownHelper`], which never goes upstream. No upstream path is ever
    /// copied from the client's request, nor its query string.
    pub(crate) const fn upstream_path(self) -> Option<&'static str> {
        Some(match self {
            Self::Responses | Self::ResponsesWebsocket => UPSTREAM_RESPONSES_PATH,
            Self::Compact => UPSTREAM_COMPACT_PATH,
            Self::Models => "/backend-api/codex/models",
            Self::Usage => "/backend-api/wham/usage",
            Self::AccountsCheck => "/backend-api/wham/accounts/check",
            Self::ImageGenerations => "/backend-api/codex/images/generations",
            Self::ImageEdits => "/backend-api/codex/images/edits",
            Self::Transcribe => "/backend-api/transcribe",
            Self::FileCreate => "/backend-api/files",
            Self::FileFinalize
            | Self::UnknownHelper
            | Self::HistoryRead
            | Self::NotesRead
            | Self::NotesWrite
            | Self::Search => return None,
        })
    }
}

/// A classified route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Route {
    /// The surface.
    pub family: RouteFamily,
    /// The kind of work.
    pub class: RouteClass,
}

/// The outcome of classifying a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Classified {
    /// A pooled route.
    Pooled(Route),
    /// A `/v1` path the pooler does not serve: answer `unsupported_endpoint`.
    UnsupportedV1,
    /// Not the pooler's path at all: hand it to the embedding service.
    NotPooled,
}

/// The file id of a `/backend-api/files/{segment}/uploaded` path.
///
/// `None` when `path` does not have that shape (one non-empty segment between the two fixed
/// parts); otherwise the segment parsed as a [`FileId`]. `path` is the raw request path, never
/// percent-decoded, so an escape such as `%2F` or `%2e` makes the id invalid instead of decoding
/// into a separator or a dot segment.
pub fn file_id_of_finalize(path: &str) -> Option<Result<FileId, FileIdError>> {
    let segment = path
        .trim_end_matches('/')
        .strip_prefix("/backend-api/files/")?
        .strip_suffix("/uploaded")?;
    (!segment.is_empty() && !segment.contains('/')).then(|| FileId::parse(segment))
}

/// The path, relative to the origin, of the upstream Codex responses endpoint.
pub const UPSTREAM_RESPONSES_PATH: &str = "/backend-api/codex/responses";

/// The path, relative to the origin, of the upstream legacy compaction endpoint.
pub const UPSTREAM_COMPACT_PATH: &str = "/backend-api/codex/responses/compact";

/// The path of OpenAI's chat completions endpoint; classified [`RouteClass::Responses`], told
/// apart by [`Route::is_chat_completions`].
pub const CHAT_COMPLETIONS_PATH: &str = "/v1/chat/completions";

impl Route {
    /// Whether `path` (a request path, a trailing `/` allowed) is [`CHAT_COMPLETIONS_PATH`]:
    /// the [`RouteClass::Responses`] route whose body and answer are in the chat dialect.
    pub fn is_chat_completions(path: &str) -> bool {
        path.trim_end_matches('/') == CHAT_COMPLETIONS_PATH
    }

    /// Classifies a request by method and path.
    pub fn classify(method: &Method, path: &str) -> Classified {
        if let Some(class) = Self::classify_helper(method, path) {
            return Classified::Pooled(Route {
                family: RouteFamily::CodexBackend,
                class,
            });
        }
        let (family, rest) = if let Some(rest) = path.strip_prefix("/backend-api/codex") {
            (RouteFamily::CodexBackend, rest)
        } else if let Some(rest) = path.strip_prefix("/v1") {
            (RouteFamily::OpenAiV1, rest)
        } else {
            return Classified::NotPooled;
        };
        if !(rest.is_empty() || rest.starts_with('/')) {
            return Classified::NotPooled;
        }
        let rest = rest.trim_end_matches('/');
        // The Codex backend also answers its paths under a `/v1` prefix.
        let rest = match family {
            RouteFamily::CodexBackend => rest.strip_prefix("/v1").unwrap_or(rest),
            RouteFamily::OpenAiV1 => rest,
        };
        let class = match (method, rest, family) {
            (&Method::POST, "/responses", _) => Some(RouteClass::Responses),
            (&Method::GET, "/responses", _) => Some(RouteClass::ResponsesWebsocket),
            (&Method::POST, "/responses/compact", RouteFamily::CodexBackend) => {
                Some(RouteClass::Compact)
            }
            // A chat turn is a Responses turn upstream; health and limits are shared.
            (&Method::POST, "/chat/completions", RouteFamily::OpenAiV1) => {
                Some(RouteClass::Responses)
            }
            (&Method::GET, "/models", _) => Some(RouteClass::Models),
            (&Method::GET, "/usage", _) => Some(RouteClass::Usage),
            // On `/v1` these are translated into an image-tool turn before routing.
            (&Method::POST, "/images/generations", _) => Some(RouteClass::ImageGenerations),
            (&Method::POST, "/images/edits", _) => Some(RouteClass::ImageEdits),
            (&Method::POST, "/audio/transcriptions", RouteFamily::OpenAiV1) => {
                Some(RouteClass::Transcribe)
            }
            // A multipart upload run through the backend file flow (`/v1/files` metadata reads
            // are answered by the gateway, as unsupported routes are).
            (&Method::POST, "/files", RouteFamily::OpenAiV1) => Some(RouteClass::FileCreate),
            (&Method::POST, tail, RouteFamily::CodexBackend) => tail
                .strip_prefix('/')
                .and_then(ContextEndpoint::of_tail)
                .map(ContextEndpoint::class),
            _ => None,
        };
        match (class, family) {
            (Some(class), family) => Classified::Pooled(Route { family, class }),
            (None, RouteFamily::OpenAiV1) => Classified::UnsupportedV1,
            (None, RouteFamily::CodexBackend) => Classified::Pooled(Route {
                family,
                class: RouteClass::UnknownHelper,
            }),
        }
    }

    /// The ChatGPT backend helper routes outside `/backend-api/codex`.
    fn classify_helper(method: &Method, path: &str) -> Option<RouteClass> {
        let path = path.trim_end_matches('/');
        match (method, path) {
            (&Method::GET, "/backend-api/wham/usage" | "/wham/usage" | "/api/codex/usage") => {
                Some(RouteClass::Usage)
            }
            (&Method::GET, "/backend-api/wham/accounts/check" | "/wham/accounts/check") => {
                Some(RouteClass::AccountsCheck)
            }
            (&Method::POST, "/backend-api/transcribe") => Some(RouteClass::Transcribe),
            (&Method::POST, "/backend-api/files") => Some(RouteClass::FileCreate),
            (&Method::POST, p) if file_id_of_finalize(p).is_some() => {
                Some(RouteClass::FileFinalize)
            }
            (_, p) if p.starts_with("/backend-api/") && !p.starts_with("/backend-api/codex") => {
                Some(RouteClass::UnknownHelper)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies() {
        let post = Method::POST;
        assert_eq!(
            Route::classify(&post, "/backend-api/codex/responses"),
            Classified::Pooled(Route {
                family: RouteFamily::CodexBackend,
                class: RouteClass::Responses
            })
        );
        assert_eq!(
            Route::classify(&post, "/v1/responses/"),
            Classified::Pooled(Route {
                family: RouteFamily::OpenAiV1,
                class: RouteClass::Responses
            })
        );
        assert_eq!(
            Route::classify(&Method::GET, "/v1/responses"),
            Classified::Pooled(Route {
                family: RouteFamily::OpenAiV1,
                class: RouteClass::ResponsesWebsocket
            })
        );
        assert_eq!(
            Route::classify(&post, "/v1/chat/completions/"),
            Classified::Pooled(Route {
                family: RouteFamily::OpenAiV1,
                class: RouteClass::Responses
            })
        );
        assert!(Route::is_chat_completions("/v1/chat/completions/"));
        assert!(!Route::is_chat_completions("/v1/responses"));
        assert_eq!(
            Route::classify(&Method::GET, "/v1/chat/completions"),
            Classified::UnsupportedV1
        );
        assert_eq!(
            Route::classify(&post, "/v1/embeddings"),
            Classified::UnsupportedV1
        );
        assert_eq!(
            Route::classify(&post, "/v1/files"),
            Classified::Pooled(Route {
                family: RouteFamily::OpenAiV1,
                class: RouteClass::FileCreate
            })
        );
        assert_eq!(
            Route::classify(&Method::GET, "/v1/files"),
            Classified::UnsupportedV1
        );
        assert_eq!(
            Route::classify(&post, "/backend-api/codex/responses/compact"),
            Classified::Pooled(Route {
                family: RouteFamily::CodexBackend,
                class: RouteClass::Compact
            })
        );
        assert_eq!(
            Route::classify(&post, "/backend-api/codex/v1/responses"),
            Classified::Pooled(Route {
                family: RouteFamily::CodexBackend,
                class: RouteClass::Responses
            })
        );
        // Compaction is not part of the OpenAI surface.
        assert_eq!(
            Route::classify(&post, "/v1/responses/compact"),
            Classified::UnsupportedV1
        );
        assert_eq!(
            Route::classify(&post, "/v1x/responses"),
            Classified::NotPooled
        );
        assert_eq!(Route::classify(&post, "/healthz"), Classified::NotPooled);
    }

    #[test]
    fn classifies_the_backend_helpers() {
        let get = Method::GET;
        let class = |m: &Method, p: &str| match Route::classify(m, p) {
            Classified::Pooled(r) => Some(r.class),
            _ => None,
        };
        assert_eq!(
            class(&get, "/backend-api/codex/models"),
            Some(RouteClass::Models)
        );
        assert_eq!(
            class(&get, "/backend-api/wham/usage"),
            Some(RouteClass::Usage)
        );
        assert_eq!(class(&get, "/wham/usage"), Some(RouteClass::Usage));
        assert_eq!(
            class(&get, "/backend-api/wham/accounts/check"),
            Some(RouteClass::AccountsCheck)
        );
        assert_eq!(
            class(&Method::POST, "/backend-api/transcribe"),
            Some(RouteClass::Transcribe)
        );
        assert_eq!(
            class(&Method::POST, "/backend-api/codex/images/edits"),
            Some(RouteClass::ImageEdits)
        );
        assert_eq!(
            class(&Method::POST, "/backend-api/files"),
            Some(RouteClass::FileCreate)
        );
        assert_eq!(
            class(&Method::POST, "/backend-api/files/file-1/uploaded"),
            Some(RouteClass::FileFinalize)
        );
        assert_eq!(
            file_id_of_finalize("/backend-api/files/file-1/uploaded"),
            Some(Ok("file-1".parse().unwrap()))
        );
        assert_eq!(file_id_of_finalize("/backend-api/files//uploaded"), None);
        assert_eq!(file_id_of_finalize("/backend-api/files/a/b/uploaded"), None);
        assert_eq!(
            class(&get, "/backend-api/ps/plugins/installed"),
            Some(RouteClass::UnknownHelper)
        );
        assert_eq!(
            class(&Method::POST, "/backend-api/codex/analytics-events/events"),
            Some(RouteClass::UnknownHelper)
        );
        assert_eq!(
            class(
                &Method::POST,
                "/backend-api/codex/alpha/notes/v2/write_file"
            ),
            Some(RouteClass::NotesWrite)
        );
        assert_eq!(
            class(
                &Method::POST,
                "/backend-api/codex/v1/alpha/history/v2/list_items/"
            ),
            Some(RouteClass::HistoryRead)
        );
        assert_eq!(
            class(&Method::POST, "/backend-api/codex/alpha/search"),
            Some(RouteClass::Search)
        );
        // Other `alpha/*` paths, and the tools' paths by other methods, stay soft 404s.
        for (m, p) in [
            (
                &Method::POST,
                "/backend-api/codex/alpha/history/v3/list_windows",
            ),
            (
                &Method::POST,
                "/backend-api/codex/alpha/notes/v2/delete_file",
            ),
            (&get, "/backend-api/codex/alpha/notes/v2/read_file"),
        ] {
            assert_eq!(class(m, p), Some(RouteClass::UnknownHelper), "{p}");
        }
    }

    /// Traversal-shaped finalize paths: matched on the raw path, each either a finalize route
    /// whose id is refused, or not a finalize route at all (answered locally); never a valid id.
    #[test]
    fn finalize_paths_never_yield_a_traversal_id() {
        let post = Method::POST;
        let shaped_but_invalid = [
            "/backend-api/files/../uploaded",
            "/backend-api/files/./uploaded",
            "/backend-api/files/%2e%2e/uploaded",
            "/backend-api/files/%2E%2e/uploaded",
            "/backend-api/files/..%2F..%2Fbackend-api%2Fme/uploaded",
            "/backend-api/files/file-a%2F..%2F..%2Fme/uploaded",
            "/backend-api/files/file-a%252F..%252Fme/uploaded",
            "/backend-api/files/file-a%5C..%5Cme/uploaded",
            "/backend-api/files/file-a\\..\\me/uploaded",
            "/backend-api/files/file-%C3%A9/uploaded",
            "/backend-api/files/file-\u{e9}/uploaded",
            "/backend-api/files/FILE-abc/uploaded",
            "/backend-api/files/file-/uploaded",
        ];
        for path in shaped_but_invalid {
            assert!(
                matches!(file_id_of_finalize(path), Some(Err(_))),
                "{path} gave an id"
            );
            assert_eq!(
                Route::classify(&post, path),
                Classified::Pooled(Route {
                    family: RouteFamily::CodexBackend,
                    class: RouteClass::FileFinalize
                }),
                "{path}"
            );
        }
        let long = format!("/backend-api/files/file-{}/uploaded", "a".repeat(200));
        assert!(matches!(file_id_of_finalize(&long), Some(Err(_))));

        // Not the finalize shape: a helper route the gateway answers itself.
        for path in [
            "/backend-api/files//uploaded",
            "/backend-api/files/../../backend-api/me/uploaded",
            "/backend-api/files/file-a/../uploaded",
            "/backend-api/files/file-a/uploaded/..",
            "/backend-api/files/file-a/uploaded%2F..",
            "/backend-api/files/..",
        ] {
            assert_eq!(file_id_of_finalize(path), None, "{path}");
            assert_eq!(
                Route::classify(&post, path),
                Classified::Pooled(Route {
                    family: RouteFamily::CodexBackend,
                    class: RouteClass::UnknownHelper
                }),
                "{path}"
            );
        }
        assert!(RouteClass::UnknownHelper.is_local());
    }

    #[test]
    fn only_fixed_paths_go_upstream() {
        assert_eq!(RouteClass::FileFinalize.upstream_path(), None);
        assert_eq!(RouteClass::UnknownHelper.upstream_path(), None);
        assert_eq!(
            RouteClass::Compact.upstream_path(),
            Some(UPSTREAM_COMPACT_PATH)
        );
        // Other spellings of the pooled paths are helper routes, never forwarded.
        let post = Method::POST;
        for path in [
            "/backend-api/codex/responses/../../me",
            "/backend-api/codex/%2e%2e/responses",
            "/backend-api/codex/responses%2F..%2Fme",
            "/backend-api/transcribe/..",
            "/backend-api/files/%2e%2e",
        ] {
            assert_eq!(
                Route::classify(&post, path),
                Classified::Pooled(Route {
                    family: RouteFamily::CodexBackend,
                    class: RouteClass::UnknownHelper
                }),
                "{path}"
            );
        }
    }
}
