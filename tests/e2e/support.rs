//! Shared test support: the gateway binary as a child process, a small HTTP client, and fake
//! ChatGPT credentials.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{OnceLock, mpsc};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use codex_pooler_fake_upstream::{
    FakeAccount, FakeConfig, FakeUpstream, FakeUpstreamHandle, SeenRequest,
};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// The gateway binary under test.
///
/// This suite is its own package, so Cargo does not hand it `CARGO_BIN_EXE_codex-pooler` (only
/// a package's own integration tests get its binaries). The binary sits next to this test
/// executable's directory instead: `target/<profile>/deps/e2e-<hash>` runs
/// `target/<profile>/codex-pooler`. `cargo test --workspace` builds it first, because the
/// server package has an integration test of its own (`codex-pooler-server/tests/binary.rs`)
/// and Cargo builds a package's binaries before its integration tests. `CODEX_POOLER_BIN`
/// names another binary.
pub(crate) fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        if let Some(path) = std::env::var_os("CODEX_POOLER_BIN") {
            return PathBuf::from(path);
        }
        let exe = std::env::current_exe().expect("the test executable's path");
        // target/<profile>/deps/e2e-<hash> -> target/<profile>/codex-pooler
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("the test executable sits in target/<profile>/deps");
        let path = profile_dir.join(format!("codex-pooler{}", std::env::consts::EXE_SUFFIX));
        assert!(
            path.is_file(),
            "the gateway binary {} is missing: run the suite with `cargo test --workspace` \
             (which builds it), or build it first with `cargo build -p codex-pooler-server` \
             (same profile and target directory), or name one in CODEX_POOLER_BIN",
            path.display()
        );
        path
    })
}

/// The environment variables that name the database and the secret keys: removed from every
/// child process, so tests see the embedded defaults unless they set them.
const CONFIG_ENV: [&str; 5] = [
    "CODEX_POOLER_DATABASE_URL",
    "CODEX_POOLER_METRICS_TOKEN",
    "CODEX_POOLER_SECRET_KEY",
    "CODEX_POOLER_SECRET_KEY_VERSION",
    "CODEX_POOLER_PREVIOUS_SECRET_KEYS",
];

/// Runs an operator command against `data_dir`.
pub(crate) fn cli(data_dir: &Path, args: &[&str]) -> Output {
    cli_env(data_dir, args, &[])
}

/// Runs an operator command against `data_dir` with extra environment variables.
pub(crate) fn cli_env(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(binary());
    command.arg("--data-dir").arg(data_dir).args(args);
    for name in CONFIG_ENV {
        command.env_remove(name);
    }
    command
        .envs(env.iter().copied())
        .output()
        .expect("run codex-pooler")
}

/// Runs an operator command and returns its stdout, failing the test if it failed.
pub(crate) fn cli_ok(data_dir: &Path, args: &[&str]) -> String {
    let out = cli(data_dir, args);
    assert!(
        out.status.success(),
        "codex-pooler {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

/// Creates a key and returns it (the last line of stdout).
pub(crate) fn create_key(data_dir: &Path, pool: &str) -> String {
    let out = cli_ok(data_dir, &["keys", "create", "--pool", pool]);
    out.lines().last().expect("a key line").trim().to_owned()
}

/// Where `.ci/run` installs a client (`what`, e.g. "the OpenAI SDK"): `env` overrides, else
/// `~/.cache/codex-pooler/<cached>`. Missing, it fails the test with a message naming it, unless
/// the `skip` switch is `1` (then `None`).
pub(crate) fn installed_client(env: &str, cached: &str, skip: &str, what: &str) -> Option<PathBuf> {
    let candidate = std::env::var_os(env).map(PathBuf::from).or_else(|| {
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/codex-pooler").join(cached))
    })?;
    if candidate.exists() {
        return Some(candidate);
    }
    assert!(
        std::env::var(skip).as_deref() == Ok("1"),
        "{what} at {} is missing: run `bash .ci/run` (it installs it), set {env}, or set \
         {skip}=1 to skip these tests",
        candidate.display()
    );
    eprintln!("SKIPPED: {what} not installed ({skip}=1)");
    None
}

/// A JWT with `claims` and a fake signature.
pub(crate) use codex_pooler_test_kit::fake_jwt;

/// Fake ChatGPT credentials for one account.
pub(crate) struct FakeCredentials {
    pub(crate) account_id: String,
    pub(crate) access_token: String,
    pub(crate) refresh_token: String,
    pub(crate) auth_json: String,
}

/// Builds an `auth.json` for `account_id`, with tokens valid for a year.
pub(crate) fn fake_credentials(account_id: &str, email: &str) -> FakeCredentials {
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 365 * 86_400;
    let auth = serde_json::json!({
        "chatgpt_plan_type": "plus",
        "chatgpt_user_id": format!("user-{account_id}"),
        "chatgpt_account_id": account_id,
    });
    let id_token = fake_jwt(&serde_json::json!({
        "email": email, "exp": exp, "https://api.openai.com/auth": auth,
    }));
    let access_token = fake_jwt(&serde_json::json!({
        "exp": exp, "https://api.openai.com/auth": auth, "nonce": account_id,
    }));
    let refresh_token = format!("rt_FAKE_{account_id}_REFRESH");
    let auth_json = serde_json::json!({
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": null,
        "tokens": {
            "id_token": id_token,
            "access_token": access_token,
            "refresh_token": refresh_token,
            "account_id": account_id,
        },
        "last_refresh": "2026-11-24T04:59:40.000000Z",
    })
    .to_string();
    FakeCredentials {
        account_id: account_id.to_owned(),
        access_token,
        refresh_token,
        auth_json,
    }
}

/// Credentials whose access token expires `expires_in` seconds from now.
pub(crate) fn expiring(account_id: &str, expires_in: u64) -> FakeCredentials {
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + expires_in;
    let auth = serde_json::json!({
        "chatgpt_plan_type": "plus",
        "chatgpt_user_id": format!("user-{account_id}"),
        "chatgpt_account_id": account_id,
    });
    let id_token = fake_jwt(&serde_json::json!({
        "email": format!("{account_id}@example.com"), "exp": exp,
        "https://api.openai.com/auth": auth,
    }));
    let access_token = fake_jwt(&serde_json::json!({
        "exp": exp, "https://api.openai.com/auth": auth, "nonce": account_id,
    }));
    let refresh_token = format!("rt_IMPORTED_{account_id}");
    let auth_json = serde_json::json!({
        "auth_mode": "chatgpt",
        "tokens": {
            "id_token": id_token,
            "access_token": access_token,
            "refresh_token": refresh_token,
            "account_id": account_id,
        },
    })
    .to_string();
    FakeCredentials {
        account_id: account_id.to_owned(),
        access_token,
        refresh_token,
        auth_json,
    }
}

/// `serve` on a free loopback port, reloading configuration every 100 ms.
pub(crate) fn serve_args() -> [&'static str; 5] {
    [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--reload-interval-ms",
        "100",
    ]
}

/// A running gateway process; killed on drop.
pub(crate) struct Gateway {
    pub(crate) addr: SocketAddr,
    /// `http`, or `https` when started with `--tls-cert`/`--tls-key`.
    pub(crate) scheme: &'static str,
    stdout: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    child: Child,
}

impl Gateway {
    /// Starts `codex-pooler serve` on a free loopback port with the given extra arguments.
    pub(crate) fn start(data_dir: &Path, extra: &[&str]) -> Self {
        Self::start_env(data_dir, extra, &[])
    }

    /// Starts `codex-pooler serve` like [`Gateway::start`], with extra environment variables.
    pub(crate) fn start_env(data_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(binary());
        command
            .arg("--data-dir")
            .arg(data_dir)
            .args(serve_args())
            .args(extra);
        for name in CONFIG_ENV {
            command.env_remove(name);
        }
        command.envs(env.iter().copied());
        Self::spawn(command, &data_dir.with_extension("server.log"))
    }

    /// Starts `command` (a `codex-pooler ... serve` with [`serve_args`]), its stderr logged at
    /// debug level to `log_path`, and waits for its listening line.
    pub(crate) fn spawn(mut command: Command, log_path: &Path) -> Self {
        let log = std::fs::File::create(log_path).expect("log file");
        let mut child = command
            .env("RUST_LOG", "debug")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("spawn gateway");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let collected = std::sync::Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("codex-pooler listening on ") {
                    let _ = tx.send(url.trim().to_owned());
                }
                collected.lock().unwrap().push(line);
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("gateway did not report its address");
        let (scheme, addr) = url.split_once("://").expect("a listening URL");
        Self {
            addr: addr.parse().expect("socket address"),
            scheme: if scheme == "https" { "https" } else { "http" },
            stdout: lines,
            child,
        }
    }

    /// The lines printed on stdout so far.
    pub(crate) fn stdout(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    /// `http://ADDR` (or `https://ADDR`).
    pub(crate) fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// Stops the process with SIGTERM (graceful: records are flushed) and waits for it.
    pub(crate) fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("gateway did not stop on SIGTERM");
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response read whole.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: http::HeaderMap,
    pub(crate) body: String,
}

impl Reply {
    /// The body as JSON.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.body))
    }
}

/// Sends a request and reads the whole answer.
pub(crate) async fn send(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Reply {
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build(HttpConnector::new());
    let mut req = http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = client
        .request(req.body(Full::new(body.into())).expect("request"))
        .await
        .expect("send request");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = res
        .into_body()
        .collect()
        .await
        .expect("read body")
        .to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// Sends one HTTP/1.1 request with `target` written on the request line byte for byte (no URI
/// parsing or normalization on the client side) and reads the answer to the end: the status and
/// the body (the gateway's error answers have a `content-length`, never chunks).
pub(crate) async fn send_raw(
    addr: SocketAddr,
    method: &str,
    target: &[u8],
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut request = Vec::new();
    request.extend_from_slice(method.as_bytes());
    request.push(b' ');
    request.extend_from_slice(target);
    request.extend_from_slice(b" HTTP/1.1\r\n");
    request.extend_from_slice(format!("host: {addr}\r\nconnection: close\r\n").as_bytes());
    for (k, v) in headers {
        request.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    request.extend_from_slice(format!("content-length: {}\r\n\r\n{body}", body.len()).as_bytes());
    stream.write_all(&request).await.expect("write request");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read answer");
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {head}"));
    (status, body.to_owned())
}

/// A streamed Responses request body of the shape the Codex CLI sends (`store: false`,
/// `stream: true`, no sampling parameters), which the backend (and the fake) requires.
pub(crate) fn responses_body(model: &str, prompt: &str) -> String {
    serde_json::json!({
        "model": model,
        "stream": true,
        "store": false,
        "tool_choice": "auto",
        "parallel_tool_calls": false,
        "include": ["reasoning.encrypted_content"],
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": prompt}]}],
    })
    .to_string()
}

/// POSTs a streamed Responses request with a Pool API key.
pub(crate) async fn post_responses(base: &str, path: &str, key: &str, body: &str) -> Reply {
    let auth = format!("Bearer {key}");
    send(
        "POST",
        &format!("{base}{path}"),
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        body.to_owned(),
    )
    .await
}

/// Writes `contents` to `dir/name` and returns the path.
pub(crate) fn write_file(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write file");
    path
}

/// A pool `team` of fake upstream accounts imported through the operator CLI, with one key.
pub(crate) struct TestPool {
    /// Keeps the temporary directory alive.
    pub(crate) dir: tempfile::TempDir,
    /// The gateway's data directory.
    pub(crate) data: PathBuf,
    /// The accounts' credentials, in import order (store ids 1, 2, ...).
    pub(crate) creds: Vec<FakeCredentials>,
    /// The simulated upstream.
    pub(crate) fake: FakeUpstreamHandle,
    /// A Pool API key for `team`.
    pub(crate) key: String,
}

impl TestPool {
    /// Accounts named `ids` (labels too), each adjusted by `customize` before the fake starts.
    pub(crate) fn new(ids: &[&str], mut customize: impl FnMut(usize, &mut FakeAccount)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let creds: Vec<FakeCredentials> = ids
            .iter()
            .map(|id| fake_credentials(id, &format!("{id}@example.com")))
            .collect();
        let accounts = creds
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut account = FakeAccount::new(&c.account_id, &c.access_token, &c.account_id);
                customize(i, &mut account);
                account
            })
            .collect();
        let fake = FakeUpstream::start(FakeConfig::with_accounts(accounts)).expect("fake upstream");
        cli_ok(&data, &["pools", "create", "team"]);
        for c in &creds {
            let path = write_file(dir.path(), &format!("{}.json", c.account_id), &c.auth_json);
            cli_ok(
                &data,
                &[
                    "upstreams",
                    "import",
                    "--pool",
                    "team",
                    "--auth-json",
                    path.to_str().expect("utf-8 path"),
                    "--base-url",
                    &fake.base_url(),
                ],
            );
            // The imported file is the operator's: only what the gateway writes stays.
            std::fs::remove_file(path).expect("remove auth.json");
        }
        let key = create_key(&data, "team");
        Self {
            dir,
            data,
            creds,
            fake,
            key,
        }
    }

    /// Starts the gateway on this pool's data directory.
    pub(crate) fn gateway(&self) -> Gateway {
        Gateway::start(&self.data, &[])
    }

    /// The model turns upstream saw (background catalog and usage reads left out).
    pub(crate) fn turns(&self) -> Vec<SeenRequest> {
        self.fake
            .seen()
            .into_iter()
            .filter(|r| r.path == "/backend-api/codex/responses")
            .collect()
    }

    /// The account of the last request upstream saw on `path`.
    pub(crate) fn last_account_on(&self, path: &str) -> String {
        self.fake
            .seen()
            .into_iter()
            .rev()
            .find(|r| r.path == path)
            .and_then(|r| r.chatgpt_account_id)
            .expect("a request on that path")
    }
}

/// The request records the gateway with data dir `data` wrote (the newest 100), read back from
/// its SQLite database; call it after the gateway stopped, so every record is flushed.
pub(crate) async fn stored_records(data: &Path) -> Vec<codex_pooler_core::record::RequestRecord> {
    use codex_pooler_core::store::PoolStore;
    let url = format!("sqlite://{}", data.join("codex-pooler.db").display());
    let store = codex_pooler_server::store::SqlStore::connect(&url)
        .await
        .unwrap();
    let records = store.recent_records(100).await.unwrap();
    store.close().await.unwrap();
    records
}

/// Polls `check` until it holds (state changes in another process or task), failing after 20 s.
pub(crate) async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Like [`eventually`], for a check that is itself async (one that sends requests).
pub(crate) async fn eventually_async<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
