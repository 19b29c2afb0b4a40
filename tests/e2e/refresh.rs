//! The upstream credential lifecycle through the real binary and the fake's OAuth server:
//! expiry-driven refresh, 401 recovery, single-flight, permanent and transient failures, and
//! the device-code login. The crash window is in `refresh/crash.rs`.

mod crash;

use std::path::{Path, PathBuf};
use std::time::Duration;

use codex_pooler_fake_upstream::{
    FakeAccount, FakeConfig, FakeRefreshFailure, FakeUpstream, FakeUpstreamHandle, SeenRequest,
};

use crate::support::*;

const TURNS: &str = "/backend-api/codex/responses";

/// A pool `team` of accounts imported from `creds`, a fake that knows their refresh tokens,
/// and a key.
struct World {
    _dir: tempfile::TempDir,
    data: PathBuf,
    fake: FakeUpstreamHandle,
    key: String,
}

impl World {
    fn new(creds: &[FakeCredentials], configure: impl FnOnce(&mut FakeConfig)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let mut config = FakeConfig::with_accounts(
            creds
                .iter()
                .map(|c| FakeAccount::new(&c.account_id, &c.access_token, &c.account_id))
                .collect(),
        );
        for c in creds {
            config.oauth.grant(&c.account_id, &c.refresh_token);
        }
        configure(&mut config);
        let fake = FakeUpstream::start(config).unwrap();
        cli_ok(&data, &["pools", "create", "team"]);
        for c in creds {
            let path = write_file(dir.path(), &format!("{}.json", c.account_id), &c.auth_json);
            cli_ok(
                &data,
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
        let key = create_key(&data, "team");
        Self {
            _dir: dir,
            data,
            fake,
            key,
        }
    }

    /// The gateway, refreshing at the fake, checking every 100 ms, backing off from 100 ms.
    fn gateway(&self) -> Gateway {
        let endpoint = format!("{}/oauth/token", self.fake.base_url());
        Gateway::start(
            &self.data,
            &[
                "--token-endpoint",
                &endpoint,
                "--token-refresh-check-ms",
                "100",
                "--token-refresh-backoff-ms",
                "100",
                "--usage-probe-interval-secs",
                "0",
            ],
        )
    }

    /// Waits until upstream has answered each account's start-up catalog read and workspace
    /// discovery.
    async fn wait_for_start_up_reads(&self, creds: &[FakeCredentials]) {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let seen = self.fake.seen();
            let read = |account: &str, path: &str| {
                seen.iter().any(|r| {
                    r.authorized
                        && r.path == path
                        && r.chatgpt_account_id.as_deref() == Some(account)
                })
            };
            if creds.iter().all(|c| {
                read(&c.account_id, "/backend-api/codex/models")
                    && read(&c.account_id, "/backend-api/wham/accounts/check")
            }) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the start-up reads never came"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn turn(&self, gateway: &Gateway, prompt: &str) -> Reply {
        post_responses(
            &gateway.url(),
            TURNS,
            &self.key,
            &responses_body("gpt-5.1-codex", prompt),
        )
        .await
    }

    fn refresh_calls(&self) -> u64 {
        self.fake.state().config().oauth.refresh_calls()
    }

    fn turns_seen(&self) -> Vec<SeenRequest> {
        self.fake
            .seen()
            .into_iter()
            .filter(|r| r.path == TURNS)
            .collect()
    }

    fn refreshes_seen(&self) -> Vec<serde_json::Value> {
        self.fake
            .seen()
            .into_iter()
            .filter(|r| r.path == "/oauth/token")
            .filter_map(|r| r.body)
            .collect()
    }

    /// The lifecycle `upstreams list` shows for the account labelled `label`.
    fn lifecycle(&self, label: &str) -> String {
        lifecycle_in(&self.data, label)
    }
}

fn lifecycle_in(data: &Path, label: &str) -> String {
    let list = cli_ok(data, &["upstreams", "list"]);
    let line = list
        .lines()
        .find(|l| l.contains(label))
        .unwrap_or_else(|| panic!("{label} not listed:\n{list}"));
    ["active", "reauth_required", "refresh_failed", "paused"]
        .into_iter()
        .find(|state| line.split_whitespace().any(|w| w == *state))
        .unwrap_or_default()
        .to_owned()
}

fn who(reply: &Reply) -> String {
    reply
        .body
        .split("Hello from ")
        .nth(1)
        .and_then(|s| s.split(['"', ' ']).next())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_expiring_soon_is_refreshed_before_use() {
    let c = expiring("acct-soon", 120);
    let world = World::new(std::slice::from_ref(&c), |_| {});
    let gateway = world.gateway();
    let reply = world.turn(&gateway, "hi").await;
    assert_eq!(reply.status, 200, "{}", reply.body);

    assert_eq!(world.refresh_calls(), 1);
    let sent = &world.refreshes_seen()[0];
    assert_eq!(sent["grant_type"], "refresh_token");
    assert_eq!(sent["client_id"], "app_EMoamEEZ73f0CkXaXp7hrann");
    assert_eq!(sent["refresh_reason"], "proactive_expiry");
    assert_eq!(sent["refresh_token"], c.refresh_token.as_str());
    let turns = world.turns_seen();
    assert!(!turns.is_empty());
    for turn in &turns {
        assert!(
            turn.authorized,
            "a turn reached upstream with a stale token"
        );
        assert_ne!(
            turn.header("authorization"),
            Some(format!("Bearer {}", c.access_token).as_str()),
            "the expiring token was used"
        );
    }
    // The rotated refresh token is what the gateway stored: it keeps working.
    assert!(
        world
            .fake
            .state()
            .config()
            .oauth
            .live_refresh_token("acct-soon")
            .is_some()
    );
    assert_eq!(world.lifecycle("acct-soon"), "active");
    gateway.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_401_refreshes_once_and_retries_on_the_same_account() {
    let creds = [expiring("acct-a", 86_400), expiring("acct-b", 86_400)];
    let world = World::new(&creds, |_| {});
    let gateway = world.gateway();
    // The start-up reads (catalog, workspace discovery) go first: met with a revoked token, they
    // would refresh it themselves and the turn would never see the 401 this test is about.
    world.wait_for_start_up_reads(&creds).await;
    // Upstream stops accepting both access tokens (revoked early, say).
    for c in &creds {
        world
            .fake
            .set_account(&c.account_id, |a| a.access_token = "revoked".to_owned());
    }
    world.fake.clear_seen();
    let reply = world.turn(&gateway, "hi").await;
    assert_eq!(reply.status, 200, "{}", reply.body);

    let turns = world.turns_seen();
    assert_eq!(turns.len(), 2, "one refused attempt and one retry");
    assert!(!turns[0].authorized && turns[1].authorized);
    assert_eq!(
        turns[0].chatgpt_account_id, turns[1].chatgpt_account_id,
        "retried on the same account"
    );
    // One refresh of the serving account's lineage. (The other account's revoked token may be
    // refreshed too, by a background read meeting its own 401.)
    let served = turns[1].chatgpt_account_id.clone().unwrap();
    let refreshes: Vec<_> = world
        .refreshes_seen()
        .into_iter()
        .filter(|r| r["refresh_token"] == format!("rt_IMPORTED_{served}").as_str())
        .collect();
    assert_eq!(refreshes.len(), 1);
    assert_eq!(refreshes[0]["refresh_reason"], "unauthorized_recovery");
    assert_eq!(who(&reply), served);
    gateway.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_concurrent_requests_share_one_refresh() {
    let c = expiring("acct-busy", 120);
    let world = World::new(std::slice::from_ref(&c), |config| {
        config.oauth.refresh_delay = Duration::from_millis(1500);
    });
    let gateway = world.gateway();
    let prompts: Vec<String> = (0..50).map(|i| format!("r{i}")).collect();
    let replies =
        futures_util::future::join_all(prompts.iter().map(|p| world.turn(&gateway, p))).await;
    for reply in &replies {
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    assert_eq!(
        world.refresh_calls(),
        1,
        "exactly one refresh for 50 requests"
    );
    let turns = world.turns_seen();
    assert_eq!(turns.len(), 50);
    assert!(
        turns.iter().all(|t| t.authorized),
        "every turn used the new token"
    );
    gateway.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_grant_needs_a_new_login_and_the_account_is_not_routed() {
    let creds = [expiring("acct-dead", 120), expiring("acct-fine", 86_400)];
    let world = World::new(&creds, |config| {
        config.oauth.refresh_failure = Some(FakeRefreshFailure::InvalidGrant);
    });
    let gateway = world.gateway();
    eventually("reauth_required", || {
        world.lifecycle("acct-dead") == "reauth_required"
    })
    .await;
    assert_eq!(world.lifecycle("acct-fine"), "active");
    // Three reload intervals: the gateway has seen the new lifecycle.
    tokio::time::sleep(Duration::from_millis(300)).await;
    world.fake.clear_seen();
    for i in 0..6 {
        let reply = world.turn(&gateway, &format!("r{i}")).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(who(&reply), "acct-fine");
    }
    assert!(
        world
            .turns_seen()
            .iter()
            .all(|t| t.chatgpt_account_id.as_deref() == Some("acct-fine"))
    );

    // An operator logs the account in again: it is active and routed again.
    world.fake.update_config(|config| {
        config.oauth.refresh_failure = None;
        config.oauth.device_account = Some("acct-dead".to_owned());
    });
    let issuer = world.fake.base_url();
    let out = cli_ok(
        &world.data,
        &["upstreams", "login", "--pool", "team", "--issuer", &issuer],
    );
    assert!(out.contains("logged in again"), "{out}");
    assert_eq!(world.lifecycle("acct-dead"), "active");
    gateway.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_auth_server_marks_refresh_failed_then_recovers() {
    let c = expiring("acct-flaky", 10);
    let world = World::new(std::slice::from_ref(&c), |config| {
        config.oauth.refresh_failure = Some(FakeRefreshFailure::Status(503));
    });
    let gateway = world.gateway();
    // While the token is valid the account keeps serving, although its refresh fails.
    let reply = world.turn(&gateway, "early").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(world.lifecycle("acct-flaky"), "active");

    eventually("refresh_failed", || {
        world.lifecycle("acct-flaky") == "refresh_failed"
    })
    .await;
    assert!(world.refresh_calls() >= 2, "retried with backoff");

    world
        .fake
        .update_config(|config| config.oauth.refresh_failure = None);
    eventually("active again", || world.lifecycle("acct-flaky") == "active").await;
    // Three reload intervals: the gateway has seen the new lifecycle.
    tokio::time::sleep(Duration::from_millis(300)).await;
    world.fake.clear_seen();
    let reply = world.turn(&gateway, "late").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(world.turns_seen().iter().all(|t| t.authorized));
    gateway.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn upstreams_login_adds_an_account_with_the_device_flow() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut config =
        FakeConfig::with_accounts(vec![FakeAccount::new("acct-new", "not-yet", "newbie")]);
    config.oauth.device_account = Some("acct-new".to_owned());
    config.oauth.device_pending_polls = 2;
    let fake = FakeUpstream::start(config).unwrap();
    cli_ok(&data, &["pools", "create", "team"]);

    let issuer = fake.base_url();
    let out = cli_ok(
        &data,
        &[
            "upstreams",
            "login",
            "--pool",
            "team",
            "--issuer",
            &issuer,
            "--base-url",
            &issuer,
        ],
    );
    assert!(out.contains(&format!("{issuer}/codex/device")), "{out}");
    assert!(out.contains("FAKE-0001"), "{out}");
    assert!(out.contains("imported upstream"), "{out}");
    let polls = fake
        .seen()
        .iter()
        .filter(|r| r.path == "/api/accounts/deviceauth/token")
        .count();
    assert_eq!(polls, 3, "two pending polls, then the code");
    assert_eq!(lifecycle_in(&data, "newbie@example.com"), "active");

    let key = create_key(&data, "team");
    let endpoint = format!("{issuer}/oauth/token");
    let gateway = Gateway::start(
        &data,
        &[
            "--usage-probe-interval-secs",
            "0",
            "--token-endpoint",
            &endpoint,
        ],
    );
    let reply = post_responses(
        &gateway.url(),
        TURNS,
        &key,
        &responses_body("gpt-5.1-codex", "hi"),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(who(&reply), "newbie");

    // Device login not offered: a clear error, nothing stored.
    fake.update_config(|config| config.oauth.device_account = None);
    let failed = cli(
        &data,
        &["upstreams", "login", "--pool", "team", "--issuer", &issuer],
    );
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("not enabled"));
    gateway.stop();
}
