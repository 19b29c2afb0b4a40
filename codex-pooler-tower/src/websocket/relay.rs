//! The relay: frames both ways between the client's websocket and the account's, for the
//! session's life.

use std::sync::Arc;
use std::time::Duration;

use codex_pooler_core::error::PoolerError;
use codex_pooler_core::health::AttemptGuard;
use codex_pooler_core::model::AccountId;
use codex_pooler_core::quota::EvidenceSource;
use codex_pooler_core::record::RecordEnd;
use codex_pooler_core::request::PoolContext;
use futures_util::{SinkExt, StreamExt};
use http::HeaderMap;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use super::connect::{UpstreamSocket, frame_config};
use super::frames::{self, Signal};
use super::key_watch::{KeyChange, KeyWatch, MOVED_POOL_REASON, SessionKey};
use super::reconnect::{self, InFlight};
use super::transcript::Transcript;
use super::turn_policy::{TurnVerdict, govern_turn};
use super::turns::TurnLedger;
use crate::pooler::Shared;

/// How long a closing side gets to answer the close handshake.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// One open session: who it is for, where it goes, its records and its concurrency slot.
#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) shared: Arc<Shared>,
    pub(crate) ctx: PoolContext,
    /// The key the session was opened with, as it was then.
    pub(crate) key: SessionKey,
    pub(crate) account: AccountId,
    pub(crate) ledger: TurnLedger,
    /// Held for the session's life: a socket is one in-flight use of the account.
    pub(crate) guard: AttemptGuard,
    /// The largest message the client side accepts
    /// ([`WebsocketSettings::client_message_limit`](super::WebsocketSettings::client_message_limit)
    /// of upstream's `101`).
    pub(crate) client_message_limit: usize,
    /// The upgrade's headers: a fresh upstream socket is opened with them.
    pub(crate) client_headers: HeaderMap,
    /// When the current upstream socket opened.
    pub(crate) upstream_opened: Instant,
    /// Fresh upstream sockets opened so far.
    pub(crate) reconnects: u32,
    /// The turn sent upstream and not finished yet.
    pub(crate) in_flight: Option<InFlight>,
    /// The current response chain, to send a turn again on a fresh socket.
    pub(crate) transcript: Transcript,
}

/// Why a session ended.
#[derive(Debug)]
enum End {
    /// The client sent a close frame (already answered).
    ClientClosed(Option<CloseFrame>),
    /// The client's connection failed or ended without a close frame.
    ClientGone,
    /// Upstream sent a close frame (already answered).
    UpstreamClosed(Option<CloseFrame>),
    /// Upstream's connection failed or ended without a close frame.
    UpstreamGone,
    /// No frame either way for the idle timeout.
    Idle,
    /// The Pool API key (or its pool) may no longer be used.
    KeyRefused(PoolerError),
    /// The Pool API key moved to another pool.
    KeyMoved,
    /// The upstream socket had to be replaced and no fresh one opened.
    ReopenFailed,
}

impl End {
    fn label(&self) -> &'static str {
        match self {
            Self::ClientClosed(_) => "client_closed",
            Self::ClientGone => "client_gone",
            Self::UpstreamClosed(_) => "upstream_closed",
            Self::UpstreamGone => "upstream_gone",
            Self::Idle => "idle",
            Self::KeyRefused(_) => "key_refused",
            Self::KeyMoved => "key_moved",
            Self::ReopenFailed => "reopen_failed",
        }
    }
}

/// Waits for the client's connection to be handed over, then relays until either side ends.
pub(crate) async fn run(mut session: Session, on_upgrade: OnUpgrade, mut upstream: UpstreamSocket) {
    let upgraded = match on_upgrade.await {
        Ok(upgraded) => upgraded,
        Err(err) => {
            tracing::debug!(error = %err, "client websocket upgrade did not complete");
            close(&mut upstream, None).await;
            return;
        }
    };
    let config = frame_config(session.client_message_limit);
    let mut client =
        WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config)).await;
    tracing::info!(
        pool = %session.ctx.pool,
        key = %session.ctx.key,
        account = session.account.0,
        "websocket session opened"
    );
    let end = pump(&mut session, &mut client, &mut upstream).await;
    tracing::info!(
        pool = %session.ctx.pool,
        key = %session.ctx.key,
        account = session.account.0,
        turns = session.ledger.turns(),
        reconnects = session.reconnects,
        end = end.label(),
        "websocket session closed"
    );
    let open_turn_end = if session.ledger.has_open() {
        RecordEnd::Incomplete
    } else {
        RecordEnd::Completed
    };
    match end {
        End::ClientClosed(frame) => {
            close(&mut upstream, frame).await;
            drain(&mut client).await;
            session.ledger.close_all(RecordEnd::ClientClosed, None);
        }
        End::ClientGone => {
            close(&mut upstream, None).await;
            session.ledger.close_all(RecordEnd::ClientClosed, None);
        }
        End::UpstreamClosed(frame) => {
            close(&mut client, frame).await;
            drain(&mut upstream).await;
            session.ledger.close_all(open_turn_end, None);
        }
        End::UpstreamGone => {
            let frame = close_frame(CloseCode::Error, "upstream connection lost");
            close(&mut client, frame).await;
            session.ledger.close_all(RecordEnd::UpstreamError, None);
        }
        End::ReopenFailed => {
            let frame = close_frame(CloseCode::Error, "upstream reconnect failed");
            close(&mut client, frame).await;
            session.ledger.close_all(RecordEnd::UpstreamError, None);
        }
        End::Idle => {
            let (client_frame, upstream_frame) = (
                close_frame(CloseCode::Normal, "idle timeout"),
                close_frame(CloseCode::Normal, "idle timeout"),
            );
            tokio::join!(
                close(&mut client, client_frame),
                close(&mut upstream, upstream_frame)
            );
            session.ledger.close_all(open_turn_end, None);
        }
        End::KeyRefused(error) => {
            let client_frame = close_frame(CloseCode::Policy, error.code().as_str());
            let upstream_frame = close_frame(CloseCode::Normal, "client gone");
            tokio::join!(
                close(&mut client, client_frame),
                close(&mut upstream, upstream_frame)
            );
            session
                .ledger
                .close_all(RecordEnd::Rejected, Some(error.code()));
        }
        End::KeyMoved => {
            // The key still works: a new socket is routed in its new pool.
            let client_frame = close_frame(CloseCode::Restart, MOVED_POOL_REASON);
            let upstream_frame = close_frame(CloseCode::Normal, "client gone");
            tokio::join!(
                close(&mut client, client_frame),
                close(&mut upstream, upstream_frame)
            );
            session.ledger.close_all(RecordEnd::Rejected, None);
        }
    }
    drop(session.guard);
}

/// Relays frames until the session ends; says why.
async fn pump<C>(
    session: &mut Session,
    client: &mut WebSocketStream<C>,
    upstream: &mut UpstreamSocket,
) -> End
where
    C: AsyncRead + AsyncWrite + Unpin,
{
    let settings = session.shared.websocket.settings;
    let mut key_watch = KeyWatch::new(Arc::clone(&session.shared), session.key.clone());
    let mut last_frame = Instant::now();
    loop {
        let idle = tokio::time::sleep_until(last_frame + settings.idle_timeout);
        tokio::select! {
            incoming = client.next() => {
                let Some(Ok(message)) = incoming else { return End::ClientGone };
                last_frame = Instant::now();
                let forward = match message {
                    Message::Text(text) => match govern_turn(session, text) {
                        TurnVerdict::Forward(text, Some(turn)) => {
                            let text = match fresh_socket_for_turn(session, upstream, text).await {
                                Ok(text) => text,
                                Err(end) => return end,
                            };
                            session.ledger.start(turn);
                            session.transcript.started(text.as_str());
                            session.in_flight = Some(InFlight::new(text.clone()));
                            Message::Text(text)
                        }
                        TurnVerdict::Forward(text, None) => Message::Text(text),
                        TurnVerdict::Refuse(reply, turn, error) => {
                            session.ledger.refuse(turn, &error);
                            if client.send(Message::Text(reply)).await.is_err() {
                                return End::ClientGone;
                            }
                            continue;
                        }
                    },
                    Message::Binary(data) => Message::Binary(data),
                    Message::Close(frame) => return End::ClientClosed(frame),
                    // Pings are answered by the socket itself; pongs need nothing.
                    Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
                };
                if upstream.send(forward).await.is_err() {
                    return End::UpstreamGone;
                }
            }
            incoming = upstream.next() => {
                let Some(Ok(message)) = incoming else { return End::UpstreamGone };
                last_frame = Instant::now();
                let forward = match message {
                    Message::Text(text) => {
                        if reconnect::is_connection_limit(text.as_str()) {
                            match resend_on_fresh_socket(session, upstream).await {
                                Resent::Done => continue,
                                Resent::Relay => {}
                                Resent::Failed => {
                                    // The client retries a connection-limit refusal itself.
                                    let _ = client.send(Message::Text(text)).await;
                                    return End::ReopenFailed;
                                }
                            }
                        }
                        if let Some(turn) = session.in_flight.as_mut()
                            && !text.as_str().contains("\"codex.rate_limits\"")
                        {
                            turn.answered = true;
                        }
                        session.transcript.observe(text.as_str());
                        observe(session, text.as_str());
                        match frames::scrub_headers(text.as_str()) {
                            Some(scrubbed) => Message::Text(scrubbed.into()),
                            None => Message::Text(text),
                        }
                    }
                    Message::Binary(data) => Message::Binary(data),
                    Message::Close(frame) => return End::UpstreamClosed(frame),
                    Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
                };
                if client.send(forward).await.is_err() {
                    return End::ClientGone;
                }
            }
            change = key_watch.ended() => {
                return match change {
                    KeyChange::Refused(error) => End::KeyRefused(error),
                    KeyChange::Moved => End::KeyMoved,
                };
            }
            () = idle => return End::Idle,
        }
    }
}

/// Learns from an upstream text frame: response ids, quota, the end of a turn.
fn observe(session: &mut Session, text: &str) {
    let shared = &session.shared;
    let now = shared.clock.now();
    let Some(signal) = frames::signal(text, now) else {
        return;
    };
    let (live, account) = (&shared.live, session.account);
    match signal {
        Signal::Created(id) => {
            // A later `previous_response_id` naming it must reach this account.
            live.learn_response_id(session.ctx.pool, &id, account, now);
        }
        Signal::Completed(usage) => {
            session.transcript.completed();
            session.in_flight = None;
            session.ledger.finish(200, RecordEnd::Completed, usage);
        }
        Signal::Failed => {
            session.end_turn();
            session.ledger.finish(200, RecordEnd::ResponseFailed, None);
        }
        Signal::Incomplete => {
            session.end_turn();
            session.ledger.finish(200, RecordEnd::Incomplete, None);
        }
        Signal::RateLimits(windows) => {
            live.observe_windows(account, EvidenceSource::StreamEvent, &windows, now);
        }
        Signal::Error {
            status,
            limit,
            headers,
        } => {
            live.observe_headers(account, &headers, now);
            if let Some(limit) = limit {
                live.observe_usage_limit(account, limit, now);
            }
            session.end_turn();
            session
                .ledger
                .finish(status, RecordEnd::UpstreamError, None);
        }
    }
}

impl Session {
    /// The turn in flight ended without completing.
    fn end_turn(&mut self) {
        self.transcript.abandoned();
        self.in_flight = None;
    }
}

/// What became of a connection-limit refusal.
enum Resent {
    /// The turn went out again on a fresh socket (or, between turns, the socket was replaced).
    Done,
    /// Not resent (its output already reached the client, or it was resent once): relay it.
    Relay,
    /// No fresh socket opened.
    Failed,
}

/// Upstream refused the socket for its age: open a fresh one and, when the turn in flight had
/// no output yet, send it again there.
async fn resend_on_fresh_socket(session: &mut Session, upstream: &mut UpstreamSocket) -> Resent {
    let frame = match &session.in_flight {
        Some(turn) if !turn.may_resend() => return Resent::Relay,
        Some(turn) => Some(turn.frame.clone()),
        None => None,
    };
    if let Err(err) = reconnect::reopen(session, upstream).await {
        tracing::warn!(account = session.account.0, error = %err, "websocket reconnect failed");
        return Resent::Failed;
    }
    let Some(frame) = frame else {
        return Resent::Done;
    };
    let frame = standalone(session, frame);
    // The rewritten turn starts afresh: its chain is the same.
    session.transcript.started(frame.as_str());
    if let Some(turn) = session.in_flight.as_mut() {
        turn.resent = true;
        turn.frame = frame.clone();
    }
    if upstream.send(Message::Text(frame)).await.is_err() {
        return Resent::Failed;
    }
    Resent::Done
}

/// A turn about to start: on a socket past [`WebsocketSettings::upstream_lifetime`], a fresh
/// socket first, and the turn made standalone for it.
async fn fresh_socket_for_turn(
    session: &mut Session,
    upstream: &mut UpstreamSocket,
    text: Utf8Bytes,
) -> Result<Utf8Bytes, End> {
    let lifetime = session.shared.websocket.settings.upstream_lifetime;
    if session.in_flight.is_some()
        || !reconnect::is_due(session.upstream_opened, lifetime, Instant::now())
    {
        return Ok(text);
    }
    if let Err(err) = reconnect::reopen(session, upstream).await {
        tracing::warn!(account = session.account.0, error = %err, "websocket rotation failed");
        return Err(End::ReopenFailed);
    }
    Ok(standalone(session, text))
}

/// `frame` rewritten to carry its whole context, when it continues the old socket's response.
fn standalone(session: &Session, frame: Utf8Bytes) -> Utf8Bytes {
    session
        .transcript
        .standalone(frame.as_str())
        .map_or(frame, Utf8Bytes::from)
}

/// A normal (1000) close frame with `reason`.
pub(crate) fn close_frame_normal(reason: &'static str) -> Option<CloseFrame> {
    close_frame(CloseCode::Normal, reason)
}

fn close_frame(code: CloseCode, reason: &'static str) -> Option<CloseFrame> {
    Some(CloseFrame {
        code,
        reason: reason.into(),
    })
}

/// Sends a close frame (if the socket is still open) and waits briefly for the answer.
pub(crate) async fn close<S>(socket: &mut WebSocketStream<S>, frame: Option<CloseFrame>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let _ = tokio::time::timeout(CLOSE_GRACE, socket.close(frame)).await;
    drain(socket).await;
}

/// Reads (and drops) what is left until the socket ends, for at most [`CLOSE_GRACE`]; this also
/// flushes a close answer the socket queued itself.
async fn drain<S>(socket: &mut WebSocketStream<S>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        while let Some(Ok(_)) = socket.next().await {}
    })
    .await;
}
