use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Mutex;

use bytes::Bytes;
use codex_pooler_core::clock::{ManualClock, from_unix_seconds};
use codex_pooler_core::model::Snapshot;
use codex_pooler_core::model::{AccountId, Lifecycle};
use codex_pooler_core::quota::{EvidenceSource, QuotaWindow, WindowKind, WindowSlot};
use codex_pooler_core::store::StoreState;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;

use super::*;
use codex_pooler_core::live::LiveState;
use codex_pooler_core::model::SnapshotHandle;

use crate::upstream::{AccessToken, StaticCredentials};

const NOW: u64 = 1_800_000_000;

/// What the fake usage endpoint saw: path, authorization and chatgpt-account-id.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    path: String,
    authorization: Option<String>,
    account_id: Option<String>,
}

fn usage_json() -> String {
    serde_json::json!({
        "plan_type": "pro",
        "rate_limit": {
            "allowed": true,
            "limit_reached": false,
            "primary_window": {"used_percent": 37, "limit_window_seconds": 604_800,
                               "reset_after_seconds": 3600, "reset_at": NOW + 3600},
            "secondary_window": null
        },
        "credits": {"has_credits": false, "unlimited": false, "balance": "0"}
    })
    .to_string()
}

/// Answers by token: `tok-429` gets 429, `tok-garbage` gets HTML, `tok-slow` never answers,
/// anything else the usage payload.
async fn answer(
    req: Request<Incoming>,
    seen: Arc<Mutex<Vec<Seen>>>,
    tx: mpsc::UnboundedSender<()>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let entry = Seen {
        path: req.uri().path().to_owned(),
        authorization: header("authorization"),
        account_id: header("chatgpt-account-id"),
    };
    let auth = entry.authorization.clone().unwrap_or_default();
    seen.lock().unwrap().push(entry);
    let _ = tx.send(());
    let (status, body) = match auth.as_str() {
        "Bearer tok-429" => (
            429,
            r#"{"error":{"type":"rate_limit_exceeded"}}"#.to_owned(),
        ),
        "Bearer tok-garbage" => (200, "<html>".to_owned()),
        "Bearer tok-slow" => {
            std::future::pending::<()>().await;
            (200, String::new())
        }
        _ => (200, usage_json()),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
    Ok(response)
}

struct Fake {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    requests: mpsc::UnboundedReceiver<()>,
}

async fn fake_upstream() -> Fake {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (tx, requests) = mpsc::unbounded_channel();
    let seen_server = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (seen, tx) = (Arc::clone(&seen_server), tx.clone());
            tokio::spawn(async move {
                let service = service_fn(move |req| answer(req, Arc::clone(&seen), tx.clone()));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Fake {
        addr,
        seen,
        requests,
    }
}

fn account(id: i64, lifecycle: Lifecycle, base_url: Option<String>) -> UpstreamAccount {
    UpstreamAccount::new(AccountId(id), format!("acc-{id}"))
        .with_chatgpt_account_id(format!("workspace-{id}"))
        .with_base_url(base_url)
        .with_lifecycle(lifecycle)
        .with_models(["gpt-5.1-codex"])
}

fn probe(
    accounts: Vec<UpstreamAccount>,
    tokens: &[(i64, &str)],
    base_url: &str,
) -> (UsageProbe, Arc<LiveState>) {
    let snapshot = SnapshotHandle::new(Snapshot::build(StoreState {
        accounts,
        ..StoreState::default()
    }));
    let credentials = StaticCredentials::new();
    for (id, token) in tokens {
        credentials.insert(AccountId(*id), AccessToken::new(*token));
    }
    let live = Arc::new(LiveState::new());
    let jobs = JobContext::new(snapshot, Arc::new(credentials), Arc::clone(&live), base_url)
        .clock(Arc::new(ManualClock::at_unix(NOW)));
    let probe = UsageProbe::new(&jobs);
    (probe, live)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_usage_and_sends_credentials() {
    let fake = fake_upstream().await;
    let base = format!("http://{}/", fake.addr);
    let (probe, live) = probe(
        vec![
            account(1, Lifecycle::Active, None),
            account(2, Lifecycle::Paused, None),
            account(3, Lifecycle::RefreshDue, None),
        ],
        &[(1, "tok-1"), (2, "tok-2")],
        &base,
    );
    let report = probe.probe_once().await;
    assert_eq!(report.skipped, [AccountId(2)]);
    assert_eq!(report.outcome(AccountId(1)), Some(ProbeOutcome::Recorded));
    assert_eq!(
        report.outcome(AccountId(3)),
        Some(ProbeOutcome::NoCredentials)
    );
    assert_eq!(report.recorded(), 1);

    let seen = fake.seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [Seen {
            path: USAGE_PATH.to_owned(),
            authorization: Some("Bearer tok-1".to_owned()),
            account_id: Some("workspace-1".to_owned()),
        }]
    );

    let now = from_unix_seconds(i64::try_from(NOW).unwrap());
    let view = live.quota_view(AccountId(1), now);
    assert!(view.known && !view.is_exhausted());
    // The 604 800-second primary window is weekly.
    assert_eq!(view.window(WindowKind::Weekly).unwrap().used_percent, 37.0);
    let quota = live.account_quota(AccountId(1)).unwrap();
    assert_eq!(quota.windows()[0].source, EvidenceSource::UsageApi);
    assert_eq!(quota.plan_type(), Some("pro"));
    assert!(live.account_quota(AccountId(2)).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_and_failures_keep_existing_evidence() {
    let fake = fake_upstream().await;
    let base = format!("http://{}", fake.addr);
    let (probe, live) = probe(
        vec![
            account(1, Lifecycle::Active, None),
            account(2, Lifecycle::Active, None),
            account(3, Lifecycle::Active, None),
        ],
        &[(1, "tok-429"), (2, "tok-garbage"), (3, "tok-slow")],
        &base,
    );
    let probe = probe.timeout(Duration::from_millis(200));
    let now = from_unix_seconds(i64::try_from(NOW).unwrap());
    let full = QuotaWindow {
        slot: WindowSlot::Primary,
        used_percent: 100.0,
        window_minutes: Some(300),
        resets_at: Some(now + Duration::from_secs(600)),
        observed_at: now,
    };
    for id in 1..=3 {
        live.observe_windows(AccountId(id), EvidenceSource::ResponseHeaders, &[full], now);
    }
    let report = probe.probe_once().await;
    assert_eq!(
        report.outcome(AccountId(1)),
        Some(ProbeOutcome::RateLimited)
    );
    assert_eq!(
        report.outcome(AccountId(2)),
        Some(ProbeOutcome::InvalidPayload)
    );
    assert_eq!(report.outcome(AccountId(3)), Some(ProbeOutcome::Timeout));
    for id in 1..=3 {
        assert_eq!(
            live.exhausted_until(AccountId(id), now),
            Some(now + Duration::from_secs(600))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_base_url_overrides_the_default() {
    let fake = fake_upstream().await;
    let (probe, live) = probe(
        vec![
            account(1, Lifecycle::Active, Some(format!("http://{}", fake.addr))),
            account(2, Lifecycle::Active, None),
        ],
        &[(1, "tok-1"), (2, "tok-2")],
        "http://not a url",
    );
    let report = probe.probe_once().await;
    assert_eq!(report.outcome(AccountId(1)), Some(ProbeOutcome::Recorded));
    assert_eq!(report.outcome(AccountId(2)), Some(ProbeOutcome::InvalidUrl));
    assert!(live.account_quota(AccountId(1)).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn placeholder_account_ids_are_not_sent() {
    let fake = fake_upstream().await;
    let mut local = account(1, Lifecycle::Active, None);
    local.chatgpt_account_id = "local_123".into();
    let (probe, _) = probe(
        vec![local],
        &[(1, "tok-1")],
        &format!("http://{}", fake.addr),
    );
    assert_eq!(probe.probe_once().await.recorded(), 1);
    assert_eq!(fake.seen.lock().unwrap()[0].account_id, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_job_probes_every_interval() {
    let mut fake = fake_upstream().await;
    let (probe, live) = probe(
        vec![account(1, Lifecycle::Active, None)],
        &[(1, "tok-1")],
        &format!("http://{}", fake.addr),
    );
    let job = probe.interval(Duration::from_secs(1)).spawn();
    // The second request means the first round finished and recorded its answer.
    for _ in 0..2 {
        tokio::time::timeout(Duration::from_secs(10), fake.requests.recv())
            .await
            .unwrap()
            .unwrap();
    }
    job.abort();
    assert!(live.account_quota(AccountId(1)).is_some());
}
