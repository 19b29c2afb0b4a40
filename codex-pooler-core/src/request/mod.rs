//! The request types passed between the pooler's services: the route a path names, the facts
//! read from its headers and body, and the pooled request built from them.

mod context_endpoint;
mod facts;
mod route;

pub use context_endpoint::ContextEndpoint;
pub use facts::{
    FactsError, MAX_CLIENT_ID_LEN, MAX_MODEL_LEN, RequestFacts, check_id_headers, is_model_name,
};
pub use route::{
    CHAT_COMPLETIONS_PATH, Classified, FileId, FileIdError, Route, RouteClass, RouteFamily,
    UPSTREAM_COMPACT_PATH, UPSTREAM_RESPONSES_PATH, file_id_of_finalize,
};

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::{HeaderMap, Method};

use crate::model::{KeyId, PoolId, UpstreamAccount};

/// Who is asking: the authenticated key and its pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PoolContext {
    /// The key's pool.
    pub pool: PoolId,
    /// The key.
    pub key: KeyId,
}

/// An authenticated, classified request with its (decoded) body held for replay on failover.
///
/// Its `Debug` output names the headers but shows none of their values (the client's
/// `Authorization` among them) and gives only the body's length.
///
/// Built with [`PoolRequest::new`] and the `with_*` methods; other crates cannot write it as a
/// literal.
#[derive(Clone)]
#[non_exhaustive]
pub struct PoolRequest {
    /// Who is asking.
    pub ctx: PoolContext,
    /// The route it addresses.
    pub route: Route,
    /// What routing needs to know.
    pub facts: RequestFacts,
    /// HTTP method.
    pub method: Method,
    /// The client's request headers (credentials are dropped before forwarding).
    pub headers: HeaderMap,
    /// The decoded request body.
    pub body: Bytes,
    /// A per-request random seed, used when the request carries no continuity key.
    pub seed: u64,
    /// When the gateway received it.
    pub received_at: SystemTime,
    /// The file a [`RouteClass::FileFinalize`] request finalizes, validated and known to the
    /// pool; its upstream path is built from it. `None` for every other route.
    pub file_id: Option<FileId>,
    /// The history, notes or search endpoint a request of those classes calls; its upstream
    /// path is the endpoint's. `None` for every other route.
    pub context_endpoint: Option<ContextEndpoint>,
}

impl PoolRequest {
    /// A request from `ctx` on `route` with `facts`, received at `received_at`: method `GET`,
    /// no headers, an empty body, seed 0 and no file id until the `with_*` methods set them.
    pub fn new(
        ctx: PoolContext,
        route: Route,
        facts: RequestFacts,
        received_at: SystemTime,
    ) -> Self {
        Self {
            ctx,
            route,
            facts,
            method: Method::GET,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            seed: 0,
            received_at,
            file_id: None,
            context_endpoint: None,
        }
    }

    /// This request with HTTP method `method`.
    #[must_use]
    pub fn with_method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    /// This request with the client's headers `headers`.
    #[must_use]
    pub fn with_headers(mut self, headers: HeaderMap) -> Self {
        self.headers = headers;
        self
    }

    /// This request with the decoded body `body`.
    #[must_use]
    pub fn with_body(mut self, body: Bytes) -> Self {
        self.body = body;
        self
    }

    /// This request with the random seed `seed` (used when it carries no continuity key).
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// This request finalizing the file `file_id` (for [`RouteClass::FileFinalize`]).
    #[must_use]
    pub fn with_file_id(mut self, file_id: Option<FileId>) -> Self {
        self.file_id = file_id;
        self
    }

    /// This request calling the history, notes or search endpoint `endpoint`.
    #[must_use]
    pub fn with_context_endpoint(mut self, endpoint: Option<ContextEndpoint>) -> Self {
        self.context_endpoint = endpoint;
        self
    }

    /// The path, relative to the account's origin, to send this request to: the route class's
    /// fixed path, or for a finalize request the path built from its [`FileId`].
    ///
    /// `None` when the request has no upstream path (a finalize request without a file id, a
    /// helper route answered locally); such a request must not be sent.
    pub fn upstream_path(&self) -> Option<Cow<'static, str>> {
        match (self.route.class, &self.file_id) {
            (RouteClass::FileFinalize, Some(id)) => Some(Cow::Owned(id.uploaded_path())),
            (class, _) if let Some(e) = self.context_endpoint.filter(|e| e.class() == class) => {
                Some(Cow::Owned(e.upstream_path()))
            }
            (class, _) => class.upstream_path().map(Cow::Borrowed),
        }
    }
}

impl fmt::Debug for PoolRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolRequest")
            .field("ctx", &self.ctx)
            .field("route", &self.route)
            .field("facts", &self.facts)
            .field("method", &self.method)
            .field("headers", &HeaderNames(&self.headers))
            .field("body", &BodyLen(self.body.len()))
            .field("seed", &self.seed)
            .field("received_at", &self.received_at)
            .field("file_id", &self.file_id)
            .finish()
    }
}

/// `Debug` for a header map that lists the names and never the values.
///
/// For any type holding client or upstream headers: values carry credentials (`Authorization`,
/// cookies) and account identities that must not reach logs.
pub struct HeaderNames<'a>(pub &'a HeaderMap);

impl fmt::Debug for HeaderNames<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.0.keys().map(http::HeaderName::as_str))
            .finish()
    }
}

/// `Debug` for a body that shows its length only.
#[derive(Clone, Copy)]
pub struct BodyLen(pub usize);

impl fmt::Debug for BodyLen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes>", self.0)
    }
}

/// One attempt to serve a request on one upstream account. `Debug` redacts the request as
/// [`PoolRequest`] does.
#[derive(Debug, Clone)]
pub struct UpstreamCall {
    /// The account to use.
    pub account: Arc<UpstreamAccount>,
    /// The request, shared across attempts.
    pub request: Arc<PoolRequest>,
    /// 1 for the first attempt, 2 for the first failover, ...
    pub attempt: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{KeyId, PoolId};
    use crate::request::RouteFamily;

    fn request(class: RouteClass, file_id: Option<&str>) -> PoolRequest {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::AUTHORIZATION,
            "Bearer sk-cxp-SECRET-TOKEN-123".parse().unwrap(),
        );
        headers.insert("cookie", "session=COOKIE-VALUE".parse().unwrap());
        headers.insert("session-id", "s-1".parse().unwrap());
        PoolRequest {
            ctx: PoolContext {
                pool: PoolId(1),
                key: KeyId(2),
            },
            route: Route {
                family: RouteFamily::CodexBackend,
                class,
            },
            facts: RequestFacts::default(),
            method: Method::POST,
            headers,
            body: Bytes::from_static(br#"{"input":"BODY-MARKER-xyzzy"}"#),
            seed: 7,
            received_at: SystemTime::UNIX_EPOCH,
            file_id: file_id.map(|id| id.parse().unwrap()),
            context_endpoint: None,
        }
    }

    #[test]
    fn debug_redacts_header_values_and_the_body() {
        let request = request(RouteClass::Responses, None);
        let shown = format!("{request:?}");
        assert!(shown.contains("authorization"), "{shown}");
        assert!(shown.contains("session-id"), "{shown}");
        let len = format!("<{} bytes>", request.body.len());
        assert!(shown.contains(&len), "{shown}");
        for secret in [
            "SECRET-TOKEN",
            "Bearer",
            "COOKIE-VALUE",
            "s-1",
            "BODY-MARKER",
        ] {
            assert!(!shown.contains(secret), "{secret} leaked: {shown}");
        }
        let call = UpstreamCall {
            account: Arc::new(crate::plan::tests::account(
                3,
                crate::model::Lifecycle::Active,
                &[],
            )),
            request: Arc::new(request),
            attempt: 1,
        };
        let shown = format!("{call:?} {:#?}", call.request);
        assert!(!shown.contains("SECRET-TOKEN") && !shown.contains("BODY-MARKER"));
    }

    #[test]
    fn upstream_paths_are_built_by_the_gateway() {
        let finalize = request(RouteClass::FileFinalize, Some("file-abc"));
        assert_eq!(
            finalize.upstream_path().as_deref(),
            Some("/backend-api/files/file-abc/uploaded")
        );
        assert_eq!(
            request(RouteClass::FileFinalize, None).upstream_path(),
            None
        );
        assert_eq!(
            request(RouteClass::UnknownHelper, None).upstream_path(),
            None
        );
        assert_eq!(
            request(RouteClass::Compact, Some("file-abc"))
                .upstream_path()
                .as_deref(),
            Some(crate::request::UPSTREAM_COMPACT_PATH)
        );
    }
}
