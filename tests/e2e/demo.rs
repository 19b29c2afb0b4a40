//! `serve --demo`: the README's first command serves the line it prints, and never touches an
//! operator's store or accounts.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use codex_pooler_core::store::{PoolStore, SealedSecret, StoreState};
use codex_pooler_fake_upstream::{FakeAccount, FakeConfig, FakeUpstream, FakeUpstreamHandle};
use codex_pooler_server::store::SqlStore;

use crate::support::*;

/// The demo's printed Pool API key, once it is printed.
async fn printed_key(gateway: &Gateway) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let lines = gateway.stdout();
        let key = lines
            .iter()
            .skip_while(|l| !l.starts_with("Pool API key"))
            .nth(1)
            .map(|l| l.trim().to_owned());
        if let Some(key) = key {
            return key;
        }
        assert!(Instant::now() < deadline, "no key printed: {lines:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The demo's printed curl request, which must succeed.
async fn demo_turn(gateway: &Gateway, key: &str) -> Reply {
    let reply = post_responses(
        &gateway.url(),
        "/backend-api/codex/responses",
        key,
        DEMO_TURN,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply
}

const DEMO_TURN: &str = r#"{"model":"gpt-5.1-codex","stream":true,"store":false,"input":[{"role":"user","content":[{"type":"input_text","text":"Say hi"}]}]}"#;

#[tokio::test(flavor = "multi_thread")]
async fn demo_prints_a_working_key_and_avoids_the_full_account() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let gateway = Gateway::start(&data, &["--demo"]);
    let key = printed_key(&gateway).await;
    // The welcome is printed in one go, but read line by line: wait for its last part.
    eventually("the Codex CLI config in the welcome", || {
        gateway
            .stdout()
            .join("\n")
            .contains("model_provider = \"pooler\"")
    })
    .await;
    let printed = gateway.stdout().join("\n");
    assert!(printed.contains("curl -sN http://"), "{printed}");
    assert!(printed.contains("model_provider = \"pooler\""), "{printed}");

    // The printed curl request, six times: every answer succeeds, and demo-2 (whose 5-hour
    // window is full) answers at most once, the time its headers told the router so.
    let mut from_full = 0;
    for _ in 0..6 {
        let reply = demo_turn(&gateway, &key).await;
        assert!(reply.body.contains("response.completed"));
        if reply.body.contains("Hello from demo-2") {
            from_full += 1;
        }
    }
    assert!(from_full <= 1, "the exhausted demo account kept answering");
    gateway.stop();
}

/// An operator's store holding one imported account whose access token expires in a minute
/// (a gateway serving it refreshes it at once), and the upstream and auth server that account
/// belongs to, where the gateway is configured to go.
struct OperatorStore {
    dir: tempfile::TempDir,
    real: FakeUpstreamHandle,
    /// Environment of every command: where the store is, the upstream and token endpoint.
    env: Vec<(String, String)>,
}

impl OperatorStore {
    /// A store found through `store_env` (default paths, or `CODEX_POOLER_DATABASE_URL`).
    fn new(store_env: impl FnOnce(&Path) -> Vec<(String, String)>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let creds = expiring("acct-real", 60);
        let mut config = FakeConfig::with_accounts(vec![FakeAccount::new(
            &creds.account_id,
            &creds.access_token,
            "real",
        )]);
        config.oauth.grant(&creds.account_id, &creds.refresh_token);
        let real = FakeUpstream::start(config).unwrap();
        let tmp = dir.path().join("tmp");
        std::fs::create_dir(&tmp).unwrap();
        let mut env = store_env(dir.path());
        env.extend([
            (
                "HOME".to_owned(),
                dir.path().join("home").display().to_string(),
            ),
            ("TMPDIR".to_owned(), tmp.display().to_string()),
            ("CODEX_POOLER_UPSTREAM_BASE_URL".to_owned(), real.base_url()),
            (
                "CODEX_POOLER_TOKEN_ENDPOINT".to_owned(),
                format!("{}/oauth/token", real.base_url()),
            ),
        ]);
        let store = Self { dir, real, env };
        let auth = write_file(store.dir.path(), "auth.json", &creds.auth_json);
        store.cli(&["pools", "create", "team"]);
        store.cli(&[
            "upstreams",
            "import",
            "--pool",
            "team",
            "--auth-json",
            auth.to_str().unwrap(),
        ]);
        store.cli(&["keys", "create", "--pool", "team"]);
        store
    }

    fn command(&self) -> Command {
        let mut command = Command::new(binary());
        command
            .env_remove("CODEX_POOLER_DATA_DIR")
            .env_remove("CODEX_POOLER_DATABASE_URL")
            .env_remove("CODEX_POOLER_SECRET_KEY")
            .env_remove("XDG_DATA_HOME")
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }

    fn cli(&self, args: &[&str]) -> String {
        let out = self.command().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "codex-pooler {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// The database URL the commands use.
    fn database_url(&self) -> String {
        self.env
            .iter()
            .find(|(k, _)| k == "CODEX_POOLER_DATABASE_URL")
            .map_or_else(
                || {
                    let data = self.dir.path().join("xdg/codex-pooler/codex-pooler.db");
                    format!("sqlite://{}", data.display())
                },
                |(_, v)| v.clone(),
            )
    }

    /// Everything the store holds about configuration, secrets and requests.
    async fn contents(&self) -> (StoreState, Vec<Vec<SealedSecret>>, usize) {
        let store = SqlStore::connect(&self.database_url()).await.unwrap();
        let state = store.load_state().await.unwrap();
        let mut secrets = Vec::new();
        for account in &state.accounts {
            secrets.push(store.secrets(account.id).await.unwrap());
        }
        let records = store.recent_records(1000).await.unwrap().len();
        store.close().await.unwrap();
        (state, secrets, records)
    }

    /// Whatever a demo left in the temporary directory.
    fn temporary_leftovers(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.dir.path().join("tmp"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect()
    }

    /// Runs the demo as a newcomer would, serves its printed request and stops it.
    async fn run_demo(&self, extra: &[&str]) {
        let mut command = self.command();
        command.args(serve_args()).arg("--demo").args(extra);
        let gateway = Gateway::spawn(command, &self.dir.path().join("demo.log"));
        let key = printed_key(&gateway).await;
        for _ in 0..3 {
            demo_turn(&gateway, &key).await;
        }
        // Give the background work (refresh checks, catalog and usage reads) time to run.
        tokio::time::sleep(Duration::from_millis(600)).await;
        gateway.stop();
    }

    /// The demo left the store, the account and its upstream exactly as they were.
    async fn assert_untouched_by(&self, before: &(StoreState, Vec<Vec<SealedSecret>>, usize)) {
        let after = self.contents().await;
        assert_eq!(after.0.pools, before.0.pools, "pools changed");
        assert_eq!(after.0.accounts, before.0.accounts, "accounts changed");
        assert_eq!(after.0.keys, before.0.keys, "keys changed");
        assert_eq!(after.0.assignments, before.0.assignments);
        assert_eq!(after.1, before.1, "sealed tokens changed");
        assert_eq!(after.2, before.2, "request records were written");
        assert_eq!(
            after.0.version, before.0.version,
            "configuration was written"
        );
        assert_eq!(self.real.state().config().oauth.refresh_calls(), 0);
        assert!(
            self.real.seen().is_empty(),
            "the real upstream was called: {:?}",
            self.real.seen()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_beside_the_default_store_leaves_it_and_its_account_alone() {
    let operator = OperatorStore::new(|dir| {
        vec![(
            "XDG_DATA_HOME".to_owned(),
            dir.join("xdg").display().to_string(),
        )]
    });
    let before = operator.contents().await;
    assert_eq!(before.0.accounts.len(), 1);
    assert_eq!(before.0.accounts[0].lifecycle.as_str(), "active");

    operator.run_demo(&[]).await;
    operator.assert_untouched_by(&before).await;
    let left = operator.temporary_leftovers();
    assert!(left.is_empty(), "the demo left {left:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_ignores_the_database_url_in_the_environment() {
    let operator = OperatorStore::new(|dir| {
        vec![
            (
                "CODEX_POOLER_DATABASE_URL".to_owned(),
                format!("sqlite://{}", dir.join("operator.db").display()),
            ),
            (
                "CODEX_POOLER_SECRET_KEY".to_owned(),
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_owned(),
            ),
        ]
    });
    let before = operator.contents().await;
    assert_eq!(before.0.accounts.len(), 1);

    operator.run_demo(&[]).await;
    operator.assert_untouched_by(&before).await;
    let left = operator.temporary_leftovers();
    assert!(left.is_empty(), "the demo left {left:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_refuses_a_named_store_with_real_accounts() {
    let operator = OperatorStore::new(|dir| {
        vec![(
            "XDG_DATA_HOME".to_owned(),
            dir.join("xdg").display().to_string(),
        )]
    });
    let before = operator.contents().await;
    let data_dir = operator.dir.path().join("xdg/codex-pooler");
    let url = operator.database_url();
    for flags in [
        vec!["--data-dir", data_dir.to_str().unwrap()],
        vec!["--database-url", &url],
    ] {
        let out = operator
            .command()
            .args(&flags)
            .args(["serve", "--listen", "127.0.0.1:0", "--demo"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{flags:?}: the demo started");
        assert!(
            stderr.contains("refusing to run the demo on this store")
                && stderr.contains("not demo accounts"),
            "{flags:?}: {stderr}"
        );
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("Pool API key"),
            "{flags:?}"
        );
    }
    operator.assert_untouched_by(&before).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_reuses_a_named_demo_store_and_revokes_the_last_runs_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo-data");
    for _ in 0..2 {
        let gateway = Gateway::start(&data, &["--demo"]);
        let key = printed_key(&gateway).await;
        demo_turn(&gateway, &key).await;
        gateway.stop();
    }
    let keys = cli_ok(&data, &["keys", "list"]);
    let active = keys.lines().filter(|l| l.contains("active")).count();
    let revoked = keys.lines().filter(|l| l.contains("revoked")).count();
    assert_eq!((active, revoked), (1, 1), "{keys}");
    let accounts = cli_ok(&data, &["upstreams", "list"]);
    assert_eq!(accounts.lines().filter(|l| l.contains("demo-")).count(), 3);
}
