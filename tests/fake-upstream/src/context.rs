//! The Codex history and notes tools (`{codex}/alpha/history/v2/*`, `{codex}/alpha/notes/v2/*`,
//! `{codex}/alpha/search`), served per account the way the backend keeps them.
//!
//! Every request is a `POST` of a JSON object that carries the tool's arguments and
//! `context: {session_id, current_agent_name}` (the Codex client adds it to every call). Notes
//! live per account and session: a note written through account A is not visible through account
//! B. History is what an account served: its windows are the `/responses` turns of the session
//! that account answered (read back from the request log), so a thread that moved accounts has
//! part of its history on each. Bad shapes get a 400 `{"detail": ...}`, unknown endpoints a 404
//! `{"detail": "Not Found"}`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::auth;
use super::state::{FakeState, lock};

/// One session's notes on one account: virtual path to text.
type Notes = BTreeMap<String, String>;

/// Notes of one account, per session id, per virtual path.
#[derive(Debug, Default, Clone)]
pub(crate) struct NotesStore {
    notes: Arc<Mutex<HashMap<(String, String), Notes>>>,
}

impl NotesStore {
    fn with<T>(&self, account: &str, session: &str, f: impl FnOnce(&mut Notes) -> T) -> T {
        let mut notes = lock(&self.notes);
        f(notes
            .entry((account.to_owned(), session.to_owned()))
            .or_default())
    }
}

/// `POST /backend-api/codex/alpha/{*endpoint}`.
pub(crate) async fn serve(
    State(state): State<FakeState>,
    Path(endpoint): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let account = match auth::authorize(&state, &headers) {
        Ok(account) => account,
        Err(rejection) => return rejection.into_response(),
    };
    if let Some(status) = account.fail_status {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return (status, Json(json!({"detail": "injected failure"}))).into_response();
    }
    let endpoint = endpoint.trim_end_matches('/');
    let Ok(Value::Object(args)) = serde_json::from_slice::<Value>(&body) else {
        return detail(StatusCode::BAD_REQUEST, "Expected a JSON object");
    };
    if endpoint == "search" {
        return Json(json!({"results": [], "served_by": account.label})).into_response();
    }
    let Some(session) = args
        .get("context")
        .and_then(|c| c.get("session_id"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
    else {
        return detail(StatusCode::BAD_REQUEST, "context.session_id is required");
    };
    let id = account.chatgpt_account_id.as_str();
    let answer = match endpoint {
        "notes/v2/write_file" | "notes/v2/append_to_file" => {
            let (Some(path), Some(text)) = (string(&args, "path"), string(&args, "text")) else {
                return detail(StatusCode::BAD_REQUEST, "path and text are required");
            };
            let append = endpoint.ends_with("append_to_file");
            state.notes().with(id, &session, |notes| {
                let note = notes.entry(path.to_owned()).or_default();
                if !append {
                    note.clear();
                }
                note.push_str(text);
            });
            json!({"path": path})
        }
        "notes/v2/read_file" => {
            let Some(path) = string(&args, "path") else {
                return detail(StatusCode::BAD_REQUEST, "path is required");
            };
            match state
                .notes()
                .with(id, &session, |notes| notes.get(path).cloned())
            {
                Some(text) => json!({"path": path, "text": text}),
                None => return detail(StatusCode::NOT_FOUND, "Note not found"),
            }
        }
        "notes/v2/list_files_by_prefix" => {
            let prefix = string(&args, "prefix").unwrap_or("");
            let files: Vec<String> = state.notes().with(id, &session, |notes| {
                notes
                    .keys()
                    .filter(|p| p.starts_with(prefix))
                    .cloned()
                    .collect()
            });
            json!({"files": files})
        }
        "notes/v2/search_contents" => {
            let Some(query) = string(&args, "query") else {
                return detail(StatusCode::BAD_REQUEST, "query is required");
            };
            let matches: Vec<Value> = state.notes().with(id, &session, |notes| {
                notes
                    .iter()
                    .filter(|(_, text)| text.contains(query))
                    .map(|(path, _)| json!({"path": path}))
                    .collect()
            });
            json!({"matches": matches})
        }
        "notes/v2/thread_hint" => {
            let files = state.notes().with(id, &session, |notes| notes.len());
            json!({"text": if files == 0 { String::new() } else { format!("{files} note file(s)") }})
        }
        "history/v2/list_windows" => {
            let turns = served_turns(&state, id, &session);
            let windows: Vec<Value> = (0..usize::from(turns > 0))
                .map(|_| json!({"window_id": format!("win-{session}"), "item_count": turns}))
                .collect();
            json!({"windows": windows, "served_by": account.label})
        }
        "history/v2/list_items" => {
            let turns = served_turns(&state, id, &session);
            let items: Vec<Value> = (1..=turns)
                .map(|n| json!({"item_id": format!("item-{n}"), "window_id": format!("win-{session}")}))
                .collect();
            json!({"items": items, "served_by": account.label})
        }
        "history/v2/read_item" => {
            let (Some(item), Some(_window)) =
                (string(&args, "item_id"), string(&args, "window_id"))
            else {
                return detail(
                    StatusCode::BAD_REQUEST,
                    "item_id and window_id are required",
                );
            };
            json!({"item_id": item, "content": format!("turn served by {}", account.label)})
        }
        "history/v2/search_contents" => {
            if string(&args, "query").is_none() {
                return detail(StatusCode::BAD_REQUEST, "query is required");
            }
            json!({"items": [], "served_by": account.label})
        }
        _ => return detail(StatusCode::NOT_FOUND, "Not Found"),
    };
    Json(answer).into_response()
}

/// The `/responses` turns of `session` that account `id` answered, from the request log.
fn served_turns(state: &FakeState, id: &str, session: &str) -> usize {
    state
        .seen()
        .iter()
        .filter(|r| {
            r.path == crate::RESPONSES_PATH
                && r.method == "POST"
                && r.chatgpt_account_id.as_deref() == Some(id)
                && r.header("session-id") == Some(session)
        })
        .count()
}

fn string<'a>(args: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    args.get(key).and_then(Value::as_str)
}

fn detail(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"detail": message}))).into_response()
}
