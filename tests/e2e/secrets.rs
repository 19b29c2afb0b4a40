//! Secret-key rotation and file modes, through the real binary: `secrets rotate` re-seals
//! everything under a new key, the old key goes, and Pool API keys issued before still work.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use codex_pooler_core::store::SecretKind;
use codex_pooler_fake_upstream::{FakeAccount, FakeConfig, FakeUpstream};
use codex_pooler_server::secret_keys::SecretKeys;
use codex_pooler_server::store::SqlStore;

use crate::support::*;

const KEY_1: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const KEY_2: &str = "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";
const MODEL: &str = "gpt-5.1-codex";

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The command's stdout, failing the test (with its stderr) if it failed.
fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The command's stderr, failing the test if it succeeded.
fn fails(out: Output, what: &str) -> String {
    assert!(
        !out.status.success(),
        "{what} succeeded: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr).unwrap()
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout.trim()).unwrap_or_else(|_| panic!("not JSON: {stdout}"))
}

/// A data directory (created 0755, as an operator's `mkdir` leaves it) with a pool `team` of
/// `ids` imported against a fake upstream, configured through `env`.
struct Deployment {
    _dir: tempfile::TempDir,
    data: PathBuf,
    fake: codex_pooler_fake_upstream::FakeUpstreamHandle,
    creds: Vec<FakeCredentials>,
}

impl Deployment {
    fn new(ids: &[&str], env: &[(&str, &str)], secret_key_file: Option<&str>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        chmod(&data, 0o755);
        if let Some(contents) = secret_key_file {
            let path = data.join("secret.key");
            std::fs::write(&path, contents).unwrap();
            chmod(&path, 0o600);
        }
        let creds: Vec<FakeCredentials> = ids
            .iter()
            .map(|id| fake_credentials(id, &format!("{id}@example.com")))
            .collect();
        let fake = FakeUpstream::start(FakeConfig::with_accounts(
            creds
                .iter()
                .map(|c| FakeAccount::new(&c.account_id, &c.access_token, &c.account_id))
                .collect(),
        ))
        .unwrap();
        ok(
            cli_env(&data, &["pools", "create", "team"], env),
            "pools create",
        );
        for c in &creds {
            let path = write_file(dir.path(), &format!("{}.json", c.account_id), &c.auth_json);
            ok(
                cli_env(
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
                    env,
                ),
                "upstreams import",
            );
        }
        Self {
            _dir: dir,
            data,
            fake,
            creds,
        }
    }

    fn create_key(&self, env: &[(&str, &str)]) -> String {
        let out = ok(
            cli_env(&self.data, &["keys", "create", "--pool", "team"], env),
            "keys create",
        );
        out.lines().last().unwrap().trim().to_owned()
    }

    fn secrets(&self, command: &str, env: &[(&str, &str)]) -> serde_json::Value {
        json(&ok(
            cli_env(&self.data, &["secrets", command, "--json"], env),
            command,
        ))
    }

    fn store_url(&self) -> String {
        format!("sqlite://{}", self.data.join("codex-pooler.db").display())
    }

    /// Every stored secret's key version, and whether `keys` alone opens each of them to the
    /// token that was imported.
    async fn stored_versions(&self, keys: &SecretKeys) -> Vec<u32> {
        let store = SqlStore::connect(&self.store_url()).await.unwrap();
        let inventory = store.sealed_inventory().await.unwrap();
        let sealer = keys.sealer();
        for secret in &inventory.secrets {
            let plaintext = sealer
                .open(&secret.chatgpt_account_id, &secret.sealed)
                .unwrap_or_else(|e| panic!("{:?} does not open: {e}", secret.sealed));
            let creds = self
                .creds
                .iter()
                .find(|c| c.account_id == secret.chatgpt_account_id)
                .unwrap();
            let expected = match secret.sealed.kind {
                SecretKind::AccessToken => Some(&creds.access_token),
                SecretKind::RefreshToken => Some(&creds.refresh_token),
                _ => None,
            };
            if let Some(expected) = expected {
                assert_eq!(
                    plaintext.expose(),
                    expected.as_str(),
                    "{}",
                    creds.account_id
                );
            }
        }
        let versions = inventory
            .secrets
            .iter()
            .map(|s| s.sealed.key_version)
            .collect();
        store.close().await.unwrap();
        versions
    }
}

/// Serves one model turn with `key` and returns the status.
async fn turn(gateway: &Gateway, key: &str) -> u16 {
    let reply = post_responses(
        &gateway.url(),
        "/backend-api/codex/responses",
        key,
        &responses_body(MODEL, "hello"),
    )
    .await;
    if reply.status == 200 {
        assert!(reply.body.contains("response.completed"), "{}", reply.body);
    }
    reply.status
}

/// The acceptance test on the embedded default: a deployment from before key versions (a bare
/// key in secret.key), rotated, with the old key gone from secret.key; the Pool API key issued
/// before the rotation is still served, and every secret is under the new version.
#[tokio::test(flavor = "multi_thread")]
async fn rotation_in_the_data_directory_lets_the_old_key_go() {
    let deployment = Deployment::new(&["acct-rot-a", "acct-rot-b"], &[], Some(KEY_1));
    let data = &deployment.data;
    let old_key = deployment.create_key(&[]);

    let before = deployment.secrets("status", &[]);
    assert_eq!(before["current_version"], 1);
    assert_eq!(before["source"], "file");
    assert_eq!(
        before["secrets"],
        serde_json::json!([{"key_version": 1, "count": 6}])
    );
    assert_eq!(
        before["key_hashes"],
        serde_json::json!([{"key_version": 1, "count": 1}])
    );
    assert_eq!(before["rotation_complete"], true);

    let rotated = deployment.secrets("rotate", &[]);
    assert_eq!(rotated["key_version"], 2);
    assert_eq!(rotated["source"], "file");
    assert_eq!(rotated["resealed_secrets"], 6);
    assert_eq!(rotated["unchanged_secrets"], 0);
    assert_eq!(rotated["hashing_keys"], serde_json::json!([1]));
    assert_eq!(rotated["removed_versions"], serde_json::json!([1]));
    assert_eq!(rotated["still_needed_versions"], serde_json::json!([]));

    // secret.key holds the new key only, and is still private.
    let key_file = data.join("secret.key");
    let contents = std::fs::read_to_string(&key_file).unwrap();
    assert_eq!(contents.lines().count(), 1, "{contents}");
    assert!(contents.starts_with("2:"), "a versioned line");
    assert!(!contents.contains(KEY_1), "the old key is gone");
    assert_eq!(mode(&key_file), 0o600);
    let new_keys = SecretKeys::from_file(&contents, &key_file, None).unwrap();
    assert_eq!(new_keys.versions().collect::<Vec<_>>(), vec![2]);
    assert_eq!(deployment.stored_versions(&new_keys).await, vec![2; 6]);

    let after = deployment.secrets("status", &[]);
    assert_eq!(
        after["secrets"],
        serde_json::json!([{"key_version": 2, "count": 6}])
    );
    assert_eq!(
        after["hashing_keys"],
        serde_json::json!([{"version": 1, "key_version": 2}])
    );
    assert_eq!(after["needed_versions"], serde_json::json!([2]));
    assert_eq!(after["missing_versions"], serde_json::json!([]));
    assert_eq!(after["rotation_complete"], true);

    // A key issued after the rotation carries the new version; both are served.
    let new_key = deployment.create_key(&[]);
    let gateway = Gateway::start(data, &[]);
    assert_eq!(turn(&gateway, &old_key).await, 200, "the key from before");
    assert_eq!(turn(&gateway, &new_key).await, 200, "the key from after");
    let mut forged = old_key.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'E' } else { 'A' });
    assert_eq!(turn(&gateway, &forged).await, 401);
    gateway.stop();
    assert!(
        !deployment.fake.seen().is_empty(),
        "upstream served the turns"
    );

    // A second rotation carries the hashing key of version 1 over without key 1 or key 2.
    let again = deployment.secrets("rotate", &[]);
    assert_eq!(again["key_version"], 3);
    assert_eq!(again["hashing_keys"], serde_json::json!([1, 2]));
    assert_eq!(again["removed_versions"], serde_json::json!([2]));
    let gateway = Gateway::start(data, &[]);
    assert_eq!(turn(&gateway, &old_key).await, 200);
    assert_eq!(turn(&gateway, &new_key).await, 200);
    gateway.stop();
}

/// With keys from the environment: deploy the new key with the old one as previous, rotate,
/// drop the previous key; the old Pool API key is still served.
#[tokio::test(flavor = "multi_thread")]
async fn rotation_with_keys_from_the_environment() {
    let old: &[(&str, &str)] = &[("CODEX_POOLER_SECRET_KEY", KEY_1)];
    let deployment = Deployment::new(&["acct-env-a"], old, None);
    let data = &deployment.data;
    assert!(
        !data.join("secret.key").exists(),
        "keys from the environment write no file"
    );
    let old_key = deployment.create_key(old);

    // The new key alone cannot rotate: nothing opens. Nothing is changed.
    let new_only: &[(&str, &str)] = &[
        ("CODEX_POOLER_SECRET_KEY", KEY_2),
        ("CODEX_POOLER_SECRET_KEY_VERSION", "2"),
    ];
    let stderr = fails(
        cli_env(data, &["secrets", "rotate"], new_only),
        "rotate without the old key",
    );
    assert!(
        stderr.contains("upstream 1, sealed with key version 1, does not open")
            && stderr.contains("no sealing key with version 1 is configured")
            && stderr.contains("nothing was changed"),
        "{stderr}"
    );
    assert!(
        !stderr.contains(KEY_1) && !stderr.contains(KEY_2),
        "{stderr}"
    );
    let status = deployment.secrets("status", new_only);
    assert_eq!(status["missing_versions"], serde_json::json!([1]));
    assert_eq!(status["rotation_complete"], false);

    let previous = format!("1:{KEY_1}");
    let both: &[(&str, &str)] = &[
        ("CODEX_POOLER_SECRET_KEY", KEY_2),
        ("CODEX_POOLER_SECRET_KEY_VERSION", "2"),
        ("CODEX_POOLER_PREVIOUS_SECRET_KEYS", &previous),
    ];
    // A gateway running with both keys serves throughout.
    let gateway = Gateway::start_env(data, &[], both);
    assert_eq!(turn(&gateway, &old_key).await, 200);
    let rotated = deployment.secrets("rotate", both);
    assert_eq!(rotated["key_version"], 2);
    assert_eq!(rotated["source"], "environment");
    assert_eq!(rotated["resealed_secrets"], 3);
    assert_eq!(rotated["hashing_keys"], serde_json::json!([1]));
    assert_eq!(rotated["removable_versions"], serde_json::json!([1]));
    assert_eq!(rotated["still_needed_versions"], serde_json::json!([]));
    let human = ok(cli_env(data, &["secrets", "rotate"], both), "rotate again");
    assert!(
        human.contains("remove them from CODEX_POOLER_PREVIOUS_SECRET_KEYS"),
        "{human}"
    );
    assert_eq!(turn(&gateway, &old_key).await, 200, "during the rotation");
    gateway.stop();

    let new_keys = SecretKeys::from_env(KEY_2, Some("2"), None).unwrap();
    assert_eq!(deployment.stored_versions(&new_keys).await, vec![2; 3]);
    assert_eq!(
        deployment.secrets("status", new_only)["rotation_complete"],
        true
    );
    let gateway = Gateway::start_env(data, &[], new_only);
    assert_eq!(turn(&gateway, &old_key).await, 200, "with the new key only");
    gateway.stop();
}

/// Bad key configuration stops every command with a message naming the problem, not the key.
#[test]
fn bad_key_configuration_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let previous_key = format!("2:{KEY_2}");
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![
                ("CODEX_POOLER_SECRET_KEY", KEY_1),
                ("CODEX_POOLER_PREVIOUS_SECRET_KEYS", KEY_2),
            ],
            "CODEX_POOLER_PREVIOUS_SECRET_KEYS entry 1 is not VERSION:KEY",
        ),
        (
            vec![
                ("CODEX_POOLER_SECRET_KEY", KEY_1),
                ("CODEX_POOLER_SECRET_KEY_VERSION", "2"),
                ("CODEX_POOLER_PREVIOUS_SECRET_KEYS", &previous_key),
            ],
            "key version 2 is configured twice",
        ),
        (
            vec![("CODEX_POOLER_PREVIOUS_SECRET_KEYS", &previous_key)],
            "CODEX_POOLER_PREVIOUS_SECRET_KEYS is set but CODEX_POOLER_SECRET_KEY is not",
        ),
        (
            vec![
                ("CODEX_POOLER_SECRET_KEY", KEY_1),
                ("CODEX_POOLER_SECRET_KEY_VERSION", "v1"),
            ],
            "CODEX_POOLER_SECRET_KEY_VERSION must be a whole number",
        ),
        (
            vec![("CODEX_POOLER_SECRET_KEY", "c2hvcnQ=")],
            "CODEX_POOLER_SECRET_KEY: sealing key decodes to 5 bytes",
        ),
    ];
    for (env, expected) in cases {
        for args in [&["secrets", "status"][..], &["secrets", "rotate"][..]] {
            let stderr = fails(cli_env(&data, args, &env), expected);
            assert!(stderr.contains(expected), "{args:?} {env:?}: {stderr}");
            assert!(
                !stderr.contains(KEY_1) && !stderr.contains(KEY_2),
                "{stderr}"
            );
        }
    }

    // secret.key: two lines of one version, a version variable that disagrees.
    std::fs::create_dir_all(&data).unwrap();
    let key_file = data.join("secret.key");
    let write = |contents: &str| {
        std::fs::write(&key_file, contents).unwrap();
        chmod(&key_file, 0o600);
    };
    write(&format!("2:{KEY_1}\n2:{KEY_2}\n"));
    let stderr = fails(cli(&data, &["secrets", "status"]), "duplicate lines");
    assert!(
        stderr.contains("key version 2 is configured twice") && stderr.contains("line 2"),
        "{stderr}"
    );
    write(&format!("3:{KEY_1}\n"));
    let stderr = fails(
        cli_env(
            &data,
            &["secrets", "status"],
            &[("CODEX_POOLER_SECRET_KEY_VERSION", "1")],
        ),
        "version mismatch",
    );
    assert!(
        stderr.contains("CODEX_POOLER_SECRET_KEY_VERSION is 1 but") && stderr.contains("3"),
        "{stderr}"
    );
    write(&format!("3:{KEY_1}\n{KEY_2}\n"));
    let stderr = fails(
        cli(&data, &["secrets", "status"]),
        "bare line among versioned",
    );
    assert!(stderr.contains("line 2 is not VERSION:KEY"), "{stderr}");
}

/// Commands run in a data directory an operator created 0755 leave the database (and its WAL
/// and SHM) and secret.key at 0600, warn about the directory, and refuse a secret.key others
/// may read.
#[test]
fn commands_in_an_open_data_directory_keep_their_files_private() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    chmod(&data, 0o755);
    let warn: &[(&str, &str)] = &[("RUST_LOG", "warn")];

    let out = cli_env(&data, &["pools", "create", "team"], warn);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    ok(out, "pools create");
    let warning = format!(
        "data directory {} is open to group or others (mode 0755)",
        data.display()
    );
    assert_eq!(stderr.matches(&warning).count(), 1, "one warning: {stderr}");
    assert!(
        stderr.contains(&format!("chmod 700 {}", data.display())),
        "{stderr}"
    );
    let out = cli_env(&data, &["keys", "create", "--pool", "team"], warn);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    ok(out, "keys create");
    assert_eq!(stderr.matches(&warning).count(), 1, "{stderr}");

    let db = data.join("codex-pooler.db");
    assert_eq!(mode(&db), 0o600);
    for suffix in ["-wal", "-shm"] {
        let companion = data.join(format!("codex-pooler.db{suffix}"));
        if companion.exists() {
            assert_eq!(mode(&companion), 0o600, "{}", companion.display());
        }
    }
    let key_file = data.join("secret.key");
    assert_eq!(mode(&key_file), 0o600);
    assert_eq!(
        mode(&data),
        0o755,
        "the operator's directory is left as it is"
    );

    // While a gateway runs, the WAL and SHM exist: private too.
    let gateway = Gateway::start(&data, &[]);
    for suffix in ["", "-wal", "-shm"] {
        let file = data.join(format!("codex-pooler.db{suffix}"));
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    gateway.stop();

    // A private data directory is not warned about.
    chmod(&data, 0o700);
    let out = cli_env(&data, &["pools", "list"], warn);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    ok(out, "pools list");
    assert!(!stderr.contains("open to group or others"), "{stderr}");

    // A secret.key others may read is refused, with the fix in the message.
    chmod(&key_file, 0o644);
    let stderr = fails(
        cli(&data, &["keys", "create", "--pool", "team"]),
        "keys create with an open secret.key",
    );
    assert!(
        stderr.contains(&format!(
            "{} is open to group or others (mode 0644)",
            key_file.display()
        )) && stderr.contains(&format!("run `chmod 600 {}`", key_file.display())),
        "{stderr}"
    );
    let stderr = fails(
        Command::new(binary())
            .arg("--data-dir")
            .arg(&data)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env_remove("CODEX_POOLER_SECRET_KEY")
            .env_remove("CODEX_POOLER_DATABASE_URL")
            .output()
            .unwrap(),
        "serve with an open secret.key",
    );
    assert!(stderr.contains("chmod 600"), "{stderr}");
    chmod(&key_file, 0o600);
    ok(cli(&data, &["keys", "list"]), "keys list");
}

/// An older database file (0644) is narrowed to 0600 when a command opens it.
#[test]
fn an_older_world_readable_database_is_narrowed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    ok(cli(&data, &["pools", "create", "team"]), "pools create");
    let db = data.join("codex-pooler.db");
    chmod(&db, 0o644);
    chmod(&data, 0o755);
    ok(cli(&data, &["pools", "list"]), "pools list");
    assert_eq!(mode(&db), 0o600);
}
