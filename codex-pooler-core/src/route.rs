//! Route classification: which pooled surface a request addresses.
//!
//! The pooler answers a small, fixed set of paths. [`Route::classify`] maps a method and path to
//! one of them, or says the path is not pooled (the embedding service handles it) or is an
//! OpenAI `/v1` path the pooler does not offer.

use http::Method;

/// The surface a route belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteFamily {
    /// `/backend-api/codex/*`, the Codex backend surface.
    CodexBackend,
    /// `/v1/*`, the OpenAI-compatible surface.
    OpenAiV1,
}

/// What kind of upstream work a route does; health and limits are kept per class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteClass {
    /// A model turn over `/responses` (HTTP).
    Responses,
    /// A websocket upgrade on `/responses`.
    ResponsesWebsocket,
    /// Legacy remote compaction, `POST /responses/compact`; never retried on another account.
    Compact,
}

impl RouteClass {
    /// Stable label for records and metrics.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Responses => "responses",
            Self::ResponsesWebsocket => "responses_websocket",
            Self::Compact => "compact",
        }
    }

    /// The upstream path this class is sent to.
    pub const fn upstream_path(self) -> &'static str {
        match self {
            Self::Responses | Self::ResponsesWebsocket => UPSTREAM_RESPONSES_PATH,
            Self::Compact => UPSTREAM_COMPACT_PATH,
        }
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

/// The path, relative to the origin, of the upstream Codex responses endpoint.
pub const UPSTREAM_RESPONSES_PATH: &str = "/backend-api/codex/responses";

/// The path, relative to the origin, of the upstream legacy compaction endpoint.
pub const UPSTREAM_COMPACT_PATH: &str = "/backend-api/codex/responses/compact";

impl Route {
    /// Classifies a request by method and path.
    pub fn classify(method: &Method, path: &str) -> Classified {
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
            _ => None,
        };
        match (class, family) {
            (Some(class), family) => Classified::Pooled(Route { family, class }),
            (None, RouteFamily::OpenAiV1) => Classified::UnsupportedV1,
            (None, RouteFamily::CodexBackend) => Classified::NotPooled,
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
            Route::classify(&post, "/v1/embeddings"),
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
}
