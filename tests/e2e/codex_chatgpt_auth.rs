//! The ChatGPT-auth client shape over HTTPS: the gateway's TLS listener (`--tls-cert`,
//! `--tls-key`), its startup errors, and the real Codex CLI with an `auth.json` that carries a
//! Pool API key (written by `keys create --auth-json`), the built-in provider pointed at the
//! gateway with `chatgpt_base_url` and `openai_base_url`, and a test CA.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use codex_pooler_fake_upstream::MODEL_INSTRUCTIONS;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::codex::codex_binaries;
use crate::support::*;

/// A throwaway CA and a server certificate it signed for `localhost` and `127.0.0.1`, as PEM
/// files.
struct TestCa {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl TestCa {
    fn new(dir: &Path) -> Self {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "codex-pooler test CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();

        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &ca).unwrap();

        Self {
            ca: write_file(dir, "ca.pem", &ca.pem()),
            cert: write_file(dir, "server.pem", &cert.pem()),
            key: write_file(dir, "server.key", &key.serialize_pem()),
        }
    }

    /// `--tls-cert CERT --tls-key KEY`.
    fn serve_args(&self) -> [&str; 4] {
        [
            "--tls-cert",
            self.cert.to_str().unwrap(),
            "--tls-key",
            self.key.to_str().unwrap(),
        ]
    }

    /// A client trusting only this CA, offering ALPN `h2` and `http/1.1`, or only `http/1.1`.
    fn client(
        &self,
        offer_h2: bool,
    ) -> Client<
        hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
        Empty<Bytes>,
    > {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_file(&self.ca).unwrap())
            .unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        // The connector sets ALPN from the HTTP versions it enables.
        let builder = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(config)
            .https_only();
        let connector = if offer_h2 {
            builder.enable_all_versions().build()
        } else {
            builder.enable_http1().build()
        };
        Client::builder(TokioExecutor::new()).build(connector)
    }
}

/// `GET url` with `client`: the status and the HTTP version used.
async fn get_version(
    client: &Client<
        hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
        Empty<Bytes>,
    >,
    url: &str,
) -> (u16, http::Version) {
    let res = client
        .get(url.parse().unwrap())
        .await
        .expect("https request");
    let (status, version) = (res.status().as_u16(), res.version());
    res.into_body().collect().await.unwrap();
    (status, version)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_tls_listener_speaks_h2_and_http1_by_alpn() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(dir.path());
    let gateway = Gateway::start(&dir.path().join("data"), &ca.serve_args());
    // It announced itself as `codex-pooler listening on https://ADDR`.
    assert_eq!(gateway.scheme, "https");
    let url = format!("https://localhost:{}/healthz", gateway.addr.port());
    // A client that connects and never starts its handshake holds up nobody else.
    let _silent = tokio::net::TcpStream::connect(gateway.addr).await.unwrap();

    let h2 = ca.client(true);
    assert_eq!(get_version(&h2, &url).await, (200, http::Version::HTTP_2));
    let h1 = ca.client(false);
    assert_eq!(get_version(&h1, &url).await, (200, http::Version::HTTP_11));

    // Plain HTTP on the TLS port gets no HTTP answer: the handshake fails and the connection
    // closes.
    let mut tcp = tokio::net::TcpStream::connect(gateway.addr).await.unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), tcp.read_to_end(&mut answer)).await;
    assert!(
        read.is_ok(),
        "the TLS port kept a plain HTTP connection open"
    );
    assert!(!answer.starts_with(b"HTTP/"), "plain HTTP was answered");
    gateway.stop();
}

/// Runs `codex-pooler serve` with `args` and `env`, expecting it to exit at once with an error;
/// returns stderr.
fn serve_fails(data: &Path, args: &[&str], env: &[(&str, &Path)]) -> String {
    let mut command = Command::new(binary());
    command
        .arg("--data-dir")
        .arg(data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .env_remove("CODEX_POOLER_DATABASE_URL")
        .env_remove("CODEX_POOLER_SECRET_KEY")
        .env_remove("CODEX_POOLER_TLS_CERT")
        .env_remove("CODEX_POOLER_TLS_KEY")
        .stdin(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    let out = command.output().expect("run codex-pooler serve");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "serve started: {stdout}");
    assert!(!stdout.contains("listening"), "serve listened: {stdout}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn tls_flags_go_together_and_bad_files_stop_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let ca = TestCa::new(dir.path());
    let (cert, key) = (ca.cert.to_str().unwrap(), ca.key.to_str().unwrap());

    let err = serve_fails(&data, &["--tls-cert", cert], &[]);
    assert!(err.contains("--tls-key"), "{err}");
    let err = serve_fails(&data, &["--tls-key", key], &[]);
    assert!(err.contains("--tls-cert"), "{err}");
    let err = serve_fails(&data, &[], &[("CODEX_POOLER_TLS_CERT", &ca.cert)]);
    assert!(err.contains("--tls-key"), "{err}");

    let missing = dir.path().join("missing.pem");
    let err = serve_fails(
        &data,
        &["--tls-cert", missing.to_str().unwrap(), "--tls-key", key],
        &[],
    );
    assert!(err.contains("invalid TLS configuration"), "{err}");
    assert!(err.contains("missing.pem"), "{err}");

    let garbage = write_file(dir.path(), "garbage.pem", "this is not PEM\n");
    let garbage = garbage.to_str().unwrap();
    let err = serve_fails(&data, &["--tls-cert", garbage, "--tls-key", key], &[]);
    assert!(err.contains("no certificate"), "{err}");
    let err = serve_fails(&data, &["--tls-cert", cert, "--tls-key", garbage], &[]);
    assert!(err.contains("no private key"), "{err}");
    // The certificate in place of the key: valid PEM, but no key in it.
    let err = serve_fails(&data, &["--tls-cert", cert, "--tls-key", cert], &[]);
    assert!(err.contains("no private key"), "{err}");
    // Nothing was created for a server that never started.
    assert!(!data.exists());
}

#[test]
fn keys_create_writes_a_private_auth_json_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    cli_ok(&data, &["pools", "create", "team"]);
    let path = dir.path().join("auth.json");
    let out = cli_ok(
        &data,
        &[
            "keys",
            "create",
            "--pool",
            "team",
            "--auth-json",
            path.to_str().unwrap(),
        ],
    );
    let key = out.lines().last().unwrap().trim();
    let auth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(auth["tokens"]["access_token"], key);
    assert_eq!(auth["auth_mode"], "chatgpt");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // An existing file stays as it was, and no key is created.
    let keys_before = cli_ok(&data, &["keys", "list"]).lines().count();
    let again = cli(
        &data,
        &[
            "keys",
            "create",
            "--pool",
            "team",
            "--auth-json",
            path.to_str().unwrap(),
        ],
    );
    assert!(!again.status.success());
    let after: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(after, auth);
    assert_eq!(
        cli_ok(&data, &["keys", "list"]).lines().count(),
        keys_before
    );

    // A key for a pool that does not exist leaves no file behind.
    let other = dir.path().join("other.json");
    let missing_pool = cli(
        &data,
        &[
            "keys",
            "create",
            "--pool",
            "nope",
            "--auth-json",
            other.to_str().unwrap(),
        ],
    );
    assert!(!missing_pool.status.success());
    assert!(!other.exists());
}

/// Polls the gateway's `/models` until it lists upstream's `gpt-5.1-codex` entry (one with a
/// `priority`, which the placeholders for accounts not read yet lack).
async fn wait_for_synced_catalog(ca: &TestCa, url: &str, key: &str) {
    let client = ca.client(true);
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let request = http::Request::get(url)
            .header("authorization", format!("Bearer {key}"))
            .body(Empty::new())
            .unwrap();
        let res = client.request(request).await.expect("https request");
        let body = res.into_body().collect().await.unwrap().to_bytes();
        let catalog: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let synced = catalog["models"].as_array().is_some_and(|models| {
            models
                .iter()
                .any(|m| m["slug"] == "gpt-5.1-codex" && m["priority"].is_i64())
        });
        if synced {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "catalog never synced: {catalog}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn codex_in_the_chatgpt_auth_shape_completes_a_turn_over_https() {
    for codex in codex_binaries() {
        let pool = TestPool::new(&["acct-tls"], |_, _| {});
        let (fake, dir, creds) = (&pool.fake, &pool.dir, &pool.creds[0]);
        let ca = TestCa::new(dir.path());
        let gateway = Gateway::start(&pool.data, &ca.serve_args());

        // The operator's side: a key written straight into the client's auth.json.
        let home = dir.path().join("codex-home");
        std::fs::create_dir_all(home.join("work")).unwrap();
        let out = cli_ok(
            &pool.data,
            &[
                "keys",
                "create",
                "--pool",
                "team",
                "--auth-json",
                home.join("auth.json").to_str().unwrap(),
            ],
        );
        let key = out.lines().last().unwrap().trim().to_owned();

        // The client's side: the built-in provider, every ChatGPT URL on the gateway.
        let origin = format!("https://localhost:{}", gateway.addr.port());
        // The CLI reads `/models` first thing: wait until the gateway lists upstream's catalog
        // rather than its placeholders for accounts not read yet.
        wait_for_synced_catalog(&ca, &format!("{origin}/backend-api/codex/models"), &key).await;
        std::fs::write(
            home.join("config.toml"),
            format!(
                r#"model = "gpt-5.1-codex"
chatgpt_base_url = "{origin}/backend-api/"
openai_base_url = "{origin}/backend-api/codex"
cli_auth_credentials_store = "file"
"#
            ),
        )
        .unwrap();
        let out = Command::new(&codex)
            .args([
                "exec",
                "--skip-git-repo-check",
                "-s",
                "read-only",
                "Say hello over HTTPS",
            ])
            .current_dir(home.join("work"))
            .env("CODEX_HOME", &home)
            .env("CODEX_CA_CERTIFICATE", &ca.ca)
            // Never the internet: a refresh (there should be none) would go to the fake.
            .env(
                "CODEX_REFRESH_TOKEN_URL_OVERRIDE",
                format!("{}/oauth/token", fake.base_url()),
            )
            .env_remove("OPENAI_API_KEY")
            .env_remove("CODEX_API_KEY")
            .env_remove("SSL_CERT_FILE")
            .stdin(Stdio::null())
            .output()
            .expect("run codex");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success(),
            "codex exec failed\nstdout: {stdout}\nstderr: {stderr}"
        );
        assert!(
            stdout.contains(&format!("Hello from {}", creds.account_id)),
            "unexpected answer: {stdout}\nstderr: {stderr}"
        );
        // The CLI read the catalog through the gateway (the built-in provider under ChatGPT auth
        // fetches `/models`), decoded every entry and found the model it runs in it.
        assert!(
            !stderr.contains("failed to decode models response"),
            "the CLI rejected the gateway's /models answer: {stderr}"
        );
        assert!(
            !stderr.contains("Model metadata for `gpt-5.1-codex` not found"),
            "the CLI did not find its model in the gateway's catalog: {stderr}"
        );

        // Upstream saw the account's own credentials, never the Pool API key nor the client's
        // placeholder account id.
        let turns = pool.turns();
        assert!(!turns.is_empty());
        // The CLI used the catalog's entry for its model: its instructions open the turn.
        assert!(
            turns.iter().any(|t| t
                .raw_body
                .windows(MODEL_INSTRUCTIONS.len())
                .any(|w| w == MODEL_INSTRUCTIONS.as_bytes())),
            "no turn carried the catalog's base_instructions"
        );
        for turn in &turns {
            assert_eq!(turn.chatgpt_account_id.as_deref(), Some("acct-tls"));
            assert!(turn.authorized, "upstream was not sent the account's token");
            assert_eq!(
                turn.header("authorization"),
                Some(format!("Bearer {}", creds.access_token).as_str())
            );
        }
        for seen in fake.seen() {
            for (name, value) in &seen.headers {
                assert!(
                    !value.contains(&key),
                    "the Pool API key reached upstream in {name}"
                );
            }
            // The auth.json never asked for a refresh.
            assert_ne!(seen.path, "/oauth/token");
        }
        // The CLI ran workspace routing discovery against the gateway (it refuses to send a turn
        // without it), and the gateway answered it.
        gateway.stop();
        let log = std::fs::read_to_string(pool.data.with_extension("server.log")).unwrap();
        assert!(
            log.contains("accounts_check"),
            "no accounts/check in the log"
        );
    }
}
