//! Responses over websocket end to end: the real Codex CLI on its built-in provider, the
//! fallback to HTTP when upstream refuses websockets, and a raw websocket client for the
//! handshake, frames, pings, key revocation, idle close and upgrade failover.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use codex_pooler_core::model::{EffortRule, KeyLimits, KeyPolicy, ReasoningEffort};
use codex_pooler_core::record::RequestRecord;
use codex_pooler_core::store::{MemoryStore, NewKey, PoolStore};
use codex_pooler_fake_upstream::{
    FakeAccount, FakeConfig, FakeUpstream, FakeUpstreamHandle, SeenRequest,
};
use codex_pooler_tower::credentials::{SealingKey, SecretSealer, import_auth_json};
use codex_pooler_tower::keys::{KeyHasher, PoolKeyMaterial, parse_pool_key};
use codex_pooler_tower::websocket::WebsocketSettings;
use codex_pooler_tower::{ConfigSync, Pooler, PoolerLayer};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tower::Layer;

use crate::codex::codex_binaries;
use crate::support::*;

pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

const PATIENCE: Duration = Duration::from_secs(15);
pub(crate) const RESPONSES: &str = "/backend-api/codex/responses";

/// A pool `team` over `creds` (imported with the fake as their base URL) and a key.
pub(crate) fn pool_of(
    dir: &Path,
    data: &Path,
    fake: &FakeUpstreamHandle,
    creds: &[FakeCredentials],
) -> String {
    cli_ok(data, &["pools", "create", "team"]);
    for c in creds {
        let path = write_file(dir, &format!("{}.json", c.account_id), &c.auth_json);
        cli_ok(
            data,
            &[
                "upstreams",
                "import",
                "--pool",
                "team",
                "--auth-json",
                path.to_str().unwrap(),
                "--base-url",
                &fake.base_url(),
            ],
        );
    }
    create_key(data, "team")
}

pub(crate) fn fake_for(
    creds: &[FakeCredentials],
    change: impl Fn(&mut FakeAccount),
) -> FakeUpstreamHandle {
    let accounts = creds
        .iter()
        .map(|c| {
            let mut account = FakeAccount::new(&c.account_id, &c.access_token, &c.account_id);
            change(&mut account);
            account
        })
        .collect();
    FakeUpstream::start(FakeConfig::with_accounts(accounts)).unwrap()
}

/// `codex exec` on the built-in provider pointed at the gateway (`openai_base_url`), with the
/// Pool API key as `CODEX_API_KEY`: the setup that makes the CLI try websockets first.
fn codex_builtin(codex: &Path, home: &Path, gateway: &Gateway, key: &str, prompt: &str) -> Output {
    let config = format!(
        "model = \"gpt-5.1-codex\"\nopenai_base_url = \"{}/v1\"\n",
        gateway.url()
    );
    std::fs::create_dir_all(home.join("work")).unwrap();
    std::fs::write(home.join("config.toml"), config).unwrap();
    Command::new(codex)
        .args([
            "exec",
            "--skip-git-repo-check",
            "--dangerously-bypass-approvals-and-sandbox",
            prompt,
        ])
        .current_dir(home.join("work"))
        .env("CODEX_HOME", home)
        .env("CODEX_API_KEY", key)
        .env_remove("OPENAI_API_KEY")
        .env_remove("CODEX_POOLER_KEY")
        .output()
        .expect("run codex")
}

pub(crate) fn responses_traffic(fake: &FakeUpstreamHandle) -> Vec<SeenRequest> {
    fake.seen()
        .into_iter()
        .filter(|r| r.path == RESPONSES)
        .collect()
}

pub(crate) async fn websocket_records(data: &Path) -> Vec<RequestRecord> {
    stored_records(data)
        .await
        .into_iter()
        .filter(|r| r.route == "responses_websocket")
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn codex_cli_runs_a_tool_turn_over_one_websocket() {
    for codex in codex_binaries() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let creds = [
            fake_credentials("acct-ws-a", "a@example.com"),
            fake_credentials("acct-ws-b", "b@example.com"),
        ];
        let fake = fake_for(&creds, |_| {});
        let key = pool_of(dir.path(), &data, &fake, &creds);
        let gateway = Gateway::start(&data, &[]);

        let prompt = "Please run this. RUN_TOOL: echo hi-from-ws-tool";
        let out = codex_builtin(&codex, &dir.path().join("home"), &gateway, &key, prompt);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
        assert!(stdout.contains("Tool said:"), "{stdout}");
        assert!(stdout.contains("hi-from-ws-tool"), "{stdout}");
        assert!(!stderr.contains("Falling back"), "{stderr}");

        // One websocket session upstream, on one account, and no HTTP turn.
        let traffic = responses_traffic(&fake);
        assert!(
            traffic.iter().all(|r| r.method != "POST"),
            "HTTP turns were sent: {traffic:?}"
        );
        let upgrades: Vec<_> = traffic.iter().filter(|r| r.method == "GET").collect();
        assert_eq!(upgrades.len(), 1, "{upgrades:?}");
        assert!(upgrades[0].authorized);
        assert!(
            upgrades[0]
                .header("openai-beta")
                .is_some_and(|v| v.starts_with("responses_websockets="))
        );
        assert!(upgrades[0].header("session-id").is_some());
        assert!(
            upgrades[0]
                .header("authorization")
                .is_some_and(|v| !v.contains(&key)),
            "the pool key went upstream"
        );
        let account = upgrades[0].chatgpt_account_id.clone();
        let frames: Vec<_> = traffic.iter().filter(|r| r.method == "WS").collect();
        assert!(frames.iter().all(|f| f.chatgpt_account_id == account));
        let bodies: Vec<&Value> = frames.iter().filter_map(|f| f.body.as_ref()).collect();
        assert!(bodies.len() >= 3, "{bodies:?}");
        assert!(bodies.iter().all(|b| b["type"] == "response.create"));
        assert_eq!(
            bodies[0]["generate"], false,
            "the first frame is the prewarm"
        );
        // Every later frame chains onto the response before it on this socket (the turn onto the
        // prewarm), and the tool round sends only the tool's output.
        assert!(
            bodies[1..]
                .iter()
                .all(|b| b["previous_response_id"].is_string()),
            "{bodies:?}"
        );
        let follow_up = bodies.last().unwrap();
        assert_eq!(follow_up["input"].as_array().map(Vec::len), Some(1));
        assert_eq!(follow_up["input"][0]["type"], "function_call_output");

        gateway.stop();
        let records = websocket_records(&data).await;
        assert!(records.len() >= 3, "{records:?}");
        assert!(
            records
                .iter()
                .all(|r| r.status == 200 && r.end == "completed")
        );
        assert!(records.iter().all(|r| r.account == records[0].account));
        assert!(
            records
                .iter()
                .any(|r| r.usage.is_some_and(|u| u.output_tokens > 0))
        );

        // Frames are relayed, never logged or stored.
        let log = data.with_extension("server.log");
        for path in [log, data.join("codex-pooler.db")] {
            let contents = std::fs::read(&path).unwrap();
            for needle in [prompt, key.as_str(), creds[0].access_token.as_str()] {
                assert!(
                    !contents
                        .windows(needle.len())
                        .any(|w| w == needle.as_bytes()),
                    "found in {}",
                    path.display()
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn codex_cli_falls_back_to_http_when_upstream_refuses_websockets() {
    for codex in codex_binaries() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let creds = [fake_credentials("acct-nows", "nows@example.com")];
        let fake = fake_for(&creds, |a| a.websocket = false);
        let key = pool_of(dir.path(), &data, &fake, &creds);
        let gateway = Gateway::start(&data, &[]);

        let out = codex_builtin(&codex, &dir.path().join("home"), &gateway, &key, "Say hi");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "stdout: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("Hello from acct-nows"), "{stdout}");
        let traffic = responses_traffic(&fake);
        assert!(
            traffic.iter().any(|r| r.method == "GET"),
            "no upgrade tried"
        );
        assert!(traffic.iter().any(|r| r.method == "POST"), "no HTTP turn");
        assert!(traffic.iter().all(|r| r.method != "WS"));
        gateway.stop();
    }
}

/// Opens a websocket to the gateway with `key` (if any) and a Codex-like upgrade.
pub(crate) async fn connect(base: &str, path: &str, key: Option<&str>) -> Result<Socket, WsError> {
    connect_with(base, path, key)
        .await
        .map(|(socket, _)| socket)
}

async fn connect_with(
    base: &str,
    path: &str,
    key: Option<&str>,
) -> Result<(Socket, http::HeaderMap), WsError> {
    let url = format!("{}{path}", base.replacen("http://", "ws://", 1));
    let mut request = url.into_client_request()?;
    let headers = request.headers_mut();
    if let Some(key) = key {
        headers.insert("authorization", format!("Bearer {key}").parse().unwrap());
    }
    headers.insert("session-id", "ws-session-1".parse().unwrap());
    headers.insert("originator", "codex_exec".parse().unwrap());
    headers.insert(
        "openai-beta",
        "responses_websockets=2026-02-06".parse().unwrap(),
    );
    headers.insert(
        "x-codex-turn-metadata",
        r#"{"session_id":"ws-session-1","model":"gpt-5.1-codex","request_kind":"prewarm"}"#
            .parse()
            .unwrap(),
    );
    let (socket, response) = timeout(PATIENCE, tokio_tungstenite::connect_async(request))
        .await
        .expect("connect in time")?;
    Ok((socket, response.headers().clone()))
}

fn status_of(result: Result<Socket, WsError>) -> u16 {
    match result {
        Err(WsError::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("the upgrade was accepted"),
    }
}

pub(crate) fn user(text: &str) -> Value {
    json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})
}

pub(crate) fn create(extra: Value) -> Message {
    let mut frame = json!({"type": "response.create", "model": "gpt-5.1-codex", "stream": true,
        "store": false, "input": [user("Say hi")]});
    if let (Value::Object(f), Value::Object(e)) = (&mut frame, extra) {
        f.extend(e);
    }
    Message::Text(frame.to_string().into())
}

/// Reads text frames up to and including the turn's terminal event.
pub(crate) async fn turn(socket: &mut Socket) -> Vec<Value> {
    let mut frames = Vec::new();
    loop {
        let message = timeout(PATIENCE, socket.next())
            .await
            .expect("a frame in time")
            .expect("socket open")
            .expect("a frame");
        let Message::Text(text) = message else {
            continue;
        };
        let frame: Value = serde_json::from_str(text.as_str()).unwrap();
        let kind = frame["type"].as_str().unwrap_or_default().to_owned();
        frames.push(frame);
        if matches!(
            kind.as_str(),
            "response.completed" | "response.failed" | "response.incomplete" | "error"
        ) {
            return frames;
        }
    }
}

pub(crate) fn kinds(frames: &[Value]) -> Vec<&str> {
    frames
        .iter()
        .map(|f| f["type"].as_str().unwrap_or_default())
        .collect()
}

/// Waits for a close frame; returns its code and reason.
pub(crate) async fn closed(socket: &mut Socket) -> (CloseCode, String) {
    loop {
        let message = timeout(PATIENCE, socket.next())
            .await
            .expect("closed in time");
        match message {
            Some(Ok(Message::Close(Some(frame)))) => {
                return (frame.code, frame.reason.as_str().to_owned());
            }
            Some(Ok(_)) => {}
            other => panic!("no close frame: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn raw_websocket_session_through_the_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let creds = [fake_credentials("acct-raw", "raw@example.com")];
    let fake = fake_for(&creds, |a| a.primary_used_percent = 12.5);
    let key = pool_of(dir.path(), &data, &fake, &creds);
    let gateway = Gateway::start(&data, &[]);
    let base = gateway.url();

    // Unauthenticated upgrades are refused before anything reaches upstream.
    assert_eq!(status_of(connect(&base, RESPONSES, None).await), 401);
    assert_eq!(
        status_of(connect(&base, RESPONSES, Some("sk-cxp-nope-nope")).await),
        401
    );
    assert!(responses_traffic(&fake).is_empty());

    // The 101 carries upstream's turn state and quota headers, and the routing receipt.
    let (mut ws, headers) = connect_with(&base, "/v1/responses", Some(&key))
        .await
        .unwrap();
    let header = |n: &str| headers.get(n).map(|v| v.to_str().unwrap().to_owned());
    assert!(
        header("x-codex-turn-state").is_some_and(|v| v.starts_with("fake-turn-state-")),
        "{headers:?}"
    );
    assert_eq!(
        header("x-codex-primary-used-percent").as_deref(),
        Some("12.5")
    );
    assert_eq!(
        header("x-codex-secondary-window-minutes").as_deref(),
        Some("10080")
    );
    // The pool catalog's ETag, never the account's own.
    assert!(
        header("x-models-etag")
            .is_some_and(|v| v.starts_with("W/\"") && !v.contains("fake-models")),
        "{headers:?}"
    );
    assert!(header("x-codex-pooler-route").is_some_and(|v| v.contains("account=acct_")));

    // Pings are answered.
    ws.send(Message::Ping("are-you-there".into()))
        .await
        .unwrap();
    let pong = timeout(PATIENCE, ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(pong, Message::Pong("are-you-there".into()));

    // Prewarm, a tool turn, its follow-up on the same socket, and a foreign follow-up.
    let prewarm = exchange(&mut ws, create(json!({"generate": false}))).await;
    assert_eq!(
        kinds(&prewarm),
        [
            "codex.rate_limits",
            "response.created",
            "response.completed"
        ]
    );
    let tool = exchange(
        &mut ws,
        create(json!({"input": [user("RUN_TOOL: echo raw")]})),
    )
    .await;
    assert_eq!(kinds(&tool).last(), Some(&"response.completed"));
    let completed = tool.last().unwrap();
    let response_id = completed["response"]["id"].as_str().unwrap().to_owned();
    let call_id = completed["response"]["output"][0]["call_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let follow = exchange(
        &mut ws,
        create(json!({"previous_response_id": response_id,
                "input": [{"type": "function_call_output", "call_id": call_id, "output": "raw"}]})),
    )
    .await;
    assert!(
        follow
            .iter()
            .any(|f| f["delta"].as_str().is_some_and(|d| !d.is_empty())),
        "{follow:?}"
    );
    let text = follow.last().unwrap()["response"]["output"][0]["content"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(text, "Tool said: raw");
    let foreign = exchange(
        &mut ws,
        create(json!({"previous_response_id": "resp_from_elsewhere"})),
    )
    .await;
    assert_eq!(kinds(&foreign), ["error"]);
    assert_eq!(foreign[0]["error"]["code"], "previous_response_not_found");

    // Pausing the key closes the session with a policy violation.
    let prefix = parse_pool_key(&key).unwrap().prefix.to_owned();
    cli_ok(&data, &["keys", "pause", &prefix]);
    let (code, reason) = closed(&mut ws).await;
    assert_eq!(code, CloseCode::Policy);
    assert_eq!(reason, "api_key_paused");
    // A paused key cannot open a new session either.
    assert_eq!(status_of(connect(&base, RESPONSES, Some(&key)).await), 401);

    gateway.stop();
    let records = websocket_records(&data).await;
    let mut ends: Vec<(u16, &str)> = records.iter().map(|r| (r.status, r.end.as_str())).collect();
    ends.sort_unstable();
    assert_eq!(
        ends,
        [
            (200, "completed"),
            (200, "completed"),
            (200, "completed"),
            (400, "upstream_error")
        ]
    );
}

/// Sends a frame, then reads its turn.
pub(crate) async fn exchange(socket: &mut Socket, frame: Message) -> Vec<Value> {
    socket.send(frame).await.unwrap();
    turn(socket).await
}

/// A gateway in this process over an in-memory store, with websocket `settings`.
pub(crate) async fn in_process_gateway(
    creds: &[FakeCredentials],
    fake: &FakeUpstreamHandle,
    settings: WebsocketSettings,
) -> (String, String) {
    in_process_gateway_with(creds, fake, settings, KeyPolicy::default()).await
}

/// [`in_process_gateway`], with a key under `policy`.
async fn in_process_gateway_with(
    creds: &[FakeCredentials],
    fake: &FakeUpstreamHandle,
    settings: WebsocketSettings,
    policy: KeyPolicy,
) -> (String, String) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let store: Arc<dyn PoolStore> = Arc::new(MemoryStore::new());
    let sealing = SealingKey::generate(1);
    let hasher = KeyHasher::from_sealing_key(&sealing);
    let sealer = SecretSealer::new(vec![sealing], 1).unwrap();
    let pool = store.create_pool("team").await.unwrap();
    for c in creds {
        let auth = import_auth_json(c.auth_json.as_bytes(), SystemTime::now()).unwrap();
        let account = store
            .create_account(auth.new_account(&sealer, Some(&c.account_id), Some(&fake.base_url())))
            .await
            .unwrap();
        store.assign(pool.id, account.id).await.unwrap();
    }
    let key = PoolKeyMaterial::generate();
    store
        .create_key(NewKey {
            pool: pool.id,
            name: "ws".into(),
            prefix: key.prefix.clone(),
            hash: hasher.hash(key.plaintext.expose()),
            key_version: hasher.key_version(),
            expires_at: None,
            policy,
        })
        .await
        .unwrap();
    let sync = ConfigSync::load(store, sealer).await.unwrap();
    let pooler = Pooler::builder(sync.snapshot(), hasher)
        .credentials(sync.credentials())
        .websocket(settings)
        .build();
    let app = Router::new().fallback_service(PoolerLayer::new(pooler).layer(Router::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, key.plaintext.expose().to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn upgrades_fail_over_idle_sessions_close_and_refusals_answer_426() {
    let creds = [
        fake_credentials("acct-broken", "broken@example.com"),
        fake_credentials("acct-healthy", "healthy@example.com"),
    ];
    let fake = fake_for(&creds, |a| {
        if a.chatgpt_account_id == "acct-broken" {
            a.fail_status = Some(503);
        }
    });
    let settings = WebsocketSettings::default().with_idle_timeout(Duration::from_millis(600));
    let (base, key) = in_process_gateway(&creds, &fake, settings).await;

    // Whichever account is tried first, the session opens on the healthy one.
    let mut ws = connect(&base, RESPONSES, Some(&key)).await.unwrap();
    ws.send(create(json!({}))).await.unwrap();
    let frames = turn(&mut ws).await;
    let done = frames.last().unwrap();
    assert_eq!(done["type"], "response.completed");
    assert_eq!(
        done["response"]["output"][0]["content"][0]["text"],
        "Hello from acct-healthy"
    );
    let upgrades: Vec<_> = responses_traffic(&fake)
        .into_iter()
        .filter(|r| r.method == "GET")
        .collect();
    assert!(!upgrades.is_empty() && upgrades.len() <= 2, "{upgrades:?}");
    assert_eq!(
        upgrades.last().unwrap().chatgpt_account_id.as_deref(),
        Some("acct-healthy")
    );

    // Silence closes the session.
    let (code, reason) = closed(&mut ws).await;
    assert_eq!(code, CloseCode::Normal);
    assert_eq!(reason, "idle timeout");

    // Upstream without websockets: 426, which sends the Codex CLI to HTTP.
    for c in &creds {
        fake.set_account(&c.account_id, |a| {
            a.websocket = false;
            a.fail_status = None;
        });
    }
    let refused = send(
        "GET",
        &format!("{base}{RESPONSES}"),
        &[
            ("authorization", &format!("Bearer {key}")),
            ("connection", "Upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-version", "13"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ],
        "",
    )
    .await;
    assert_eq!(refused.status, 426, "{}", refused.body);
    assert_eq!(refused.json()["error"]["code"], "websocket_unsupported");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upgrade_refused_for_concurrency_waits_for_the_accounts_stream_to_end() {
    let creds = [fake_credentials("acct-capped", "capped@example.com")];
    let fake = fake_for(&creds, |_| {});
    fake.update_config(|config| config.chunk_delay = Duration::from_millis(300));
    let (base, key) = in_process_gateway(&creds, &fake, WebsocketSettings::default()).await;

    // A slow HTTP turn streams on the account...
    let (url, http_key) = (base.clone(), key.clone());
    let first = tokio::spawn(async move {
        post_responses(
            &url,
            RESPONSES,
            &http_key,
            &responses_body("gpt-5.1-codex", "first"),
        )
        .await
    });
    let deadline = std::time::Instant::now() + PATIENCE;
    while !responses_traffic(&fake).iter().any(|r| r.method == "POST") {
        assert!(
            std::time::Instant::now() < deadline,
            "the HTTP turn never reached upstream"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // ...while upstream refuses the account's upgrade for concurrency.
    let id = creds[0].account_id.clone();
    fake.set_account(&id, |a| a.fail_status = Some(429));
    let (ws_base, ws_key) = (base.clone(), key.clone());
    let opening =
        tokio::spawn(async move { connect_with(&ws_base, RESPONSES, Some(&ws_key)).await });
    while !responses_traffic(&fake).iter().any(|r| r.method == "GET") {
        assert!(
            std::time::Instant::now() < deadline,
            "the upgrade never reached upstream"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    fake.set_account(&id, |a| a.fail_status = None);

    // The upgrade waits for the HTTP stream to end, then opens on the same account.
    let (mut ws, headers) = opening.await.unwrap().expect("the upgrade opens");
    assert_eq!(first.await.unwrap().status, 200);
    let receipt = headers
        .get("x-codex-pooler-route")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(receipt.contains("failover=429"), "{receipt}");
    assert!(receipt.contains("waited="), "{receipt}");
    let frames = exchange(&mut ws, create(json!({}))).await;
    let done = frames.last().unwrap();
    assert_eq!(done["type"], "response.completed");
    assert_eq!(
        done["response"]["output"][0]["content"][0]["text"],
        "Hello from acct-capped"
    );
    let upgrades = responses_traffic(&fake)
        .into_iter()
        .filter(|r| r.method == "GET")
        .count();
    assert_eq!(upgrades, 2, "refused once, then opened");
}

#[tokio::test(flavor = "multi_thread")]
async fn turns_follow_the_key_policy_and_a_refused_turn_keeps_the_socket() {
    let creds = [fake_credentials("acct-ws-policy", "ws-policy@example.com")];
    let fake = fake_for(&creds, |_| {});
    let policy = KeyPolicy {
        allowed_models: vec!["gpt-5.1-codex".into()],
        reasoning: Some(EffortRule::AtMost(ReasoningEffort::Low)),
        limits: KeyLimits {
            requests_per_minute: Some(1),
            ..KeyLimits::default()
        },
        ..KeyPolicy::default()
    };
    let (base, key) =
        in_process_gateway_with(&creds, &fake, WebsocketSettings::default(), policy).await;
    let mut ws = connect(&base, RESPONSES, Some(&key)).await.unwrap();
    let frames_upstream = |fake: &FakeUpstreamHandle| -> Vec<Value> {
        responses_traffic(fake)
            .into_iter()
            .filter(|r| r.method == "WS")
            .filter_map(|r| r.body)
            .filter(|b| b["type"] == "response.create")
            .collect()
    };

    // A model outside the allowlist: an error frame, nothing upstream, the socket stays.
    let refused = exchange(&mut ws, create(json!({"model": "o3"}))).await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["type"], "error");
    assert_eq!(refused[0]["status"], 403);
    assert_eq!(refused[0]["error"]["code"], "model_not_allowed");
    assert!(frames_upstream(&fake).is_empty());

    // The effort is lowered on its way upstream.
    let served = exchange(&mut ws, create(json!({"reasoning": {"effort": "xhigh"}}))).await;
    assert_eq!(served.last().unwrap()["type"], "response.completed");
    let sent = frames_upstream(&fake);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["reasoning"]["effort"], "low");

    // Over the minute's one turn: 429 with a retry hint, and upstream never sees it.
    let limited = exchange(&mut ws, create(json!({}))).await;
    assert_eq!(limited.len(), 1, "{limited:?}");
    assert_eq!(limited[0]["status"], 429);
    assert_eq!(limited[0]["error"]["code"], "rate_limit_exceeded");
    let retry: u64 = limited[0]["headers"]["retry-after"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(frames_upstream(&fake).len(), 1);
}
