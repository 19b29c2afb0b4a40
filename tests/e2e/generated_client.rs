//! A Python client generated from `docs/openapi.json` by PyPI `openapi-python-client` (version
//! pinned in `.ci/run`) drives the real gateway: it creates a pool, imports an account, creates
//! a key, sends one request with that key and reads the key's usage.

use std::process::Command;

use codex_pooler_fake_upstream::{FakeAccount, FakeConfig, FakeUpstream};

use crate::support::*;

const SKIP: &str = "CODEX_POOLER_SKIP_GENERATED_CLIENT";

/// Uses only the generated client for the operator API; plain httpx for the one pooled call.
const SCRIPT: &str = r#"
import json, os, sys, time
sys.path.insert(0, os.environ["CLIENT_DIR"])
import httpx
from codex_pooler_operator_api_client import AuthenticatedClient
from codex_pooler_operator_api_client.api.pools import create_pool
from codex_pooler_operator_api_client.api.accounts import import_account
from codex_pooler_operator_api_client.api.keys import create_pool_key
from codex_pooler_operator_api_client.api.records import key_usage
from codex_pooler_operator_api_client.models import (
    CreatePool, ImportAccount, ImportAccountAuthJson, CreateKey)

gw = os.environ["GATEWAY"]
client = AuthenticatedClient(base_url=gw, token=os.environ["OWNER"])
pool = create_pool.sync_detailed(client=client, body=CreatePool(slug="generated"))
assert pool.status_code == 201, pool.content
auth = ImportAccountAuthJson.from_dict(json.loads(os.environ["AUTH_JSON"]))
account = import_account.sync_detailed("generated", client=client,
    body=ImportAccount(auth_json=auth, base_url=os.environ["UPSTREAM"]))
assert account.status_code == 201, account.content
key = create_pool_key.sync_detailed("generated", client=client, body=CreateKey(name="gen"))
assert key.status_code == 201, key.content
# The gateway picks up a new key at its next configuration reload (100 ms here): poll.
deadline = time.monotonic() + 20
while True:
    sent = httpx.post(gw + "/backend-api/codex/responses", content=os.environ["BODY"],
        headers={"authorization": "Bearer " + key.parsed.secret,
                 "content-type": "application/json"}, timeout=30)
    if sent.status_code != 401 or time.monotonic() > deadline:
        break
    time.sleep(0.05)
assert sent.status_code == 200, sent.text
deadline = time.monotonic() + 20
while True:
    usage = key_usage.sync_detailed(key.parsed.key.id, client=client)
    assert usage.status_code == 200, usage.content
    rows = usage.parsed.usage.to_dict()["rows"]
    requests = sum(r["requests"] for r in rows)
    if requests >= 1 or time.monotonic() > deadline:
        break
    time.sleep(0.1)
print(json.dumps({"requests": requests, "pool": pool.parsed.slug}))
"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_generated_client_drives_the_api() {
    let Some(generator) = installed_client(
        "CODEX_POOLER_OPENAPI_CLIENT",
        "venv/bin/openapi-python-client",
        SKIP,
        "openapi-python-client",
    ) else {
        return;
    };
    let python = generator.with_file_name("python");
    let creds = fake_credentials("acct-gen", "gen@example.com");
    let fake = FakeUpstream::start(FakeConfig::with_accounts(vec![FakeAccount::new(
        &creds.account_id,
        &creds.access_token,
        &creds.account_id,
    )]))
    .expect("fake upstream");
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let owner = cli_ok(&data, &["operators", "create-owner", "--name", "root"])
        .lines()
        .last()
        .expect("a token line")
        .to_owned();
    let spec = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
    let config = write_file(dir.path(), "config.yaml", "post_hooks: []\n");
    let out = dir.path().join("client");
    let generated = Command::new(&generator)
        .args(["generate", "--path", spec, "--config"])
        .arg(&config)
        .arg("--output-path")
        .arg(&out)
        .output()
        .expect("run openapi-python-client");
    assert!(
        generated.status.success(),
        "generating the client failed: {}\n{}",
        String::from_utf8_lossy(&generated.stdout),
        String::from_utf8_lossy(&generated.stderr)
    );
    let gateway = Gateway::start(&data, &[]);
    let output = Command::new(python)
        .args(["-c", SCRIPT])
        .env("CLIENT_DIR", &out)
        .env("GATEWAY", gateway.url())
        .env("OWNER", &owner)
        .env("AUTH_JSON", &creds.auth_json)
        .env("UPSTREAM", fake.base_url())
        .env("BODY", responses_body("gpt-5.1-codex", "hi"))
        .output()
        .expect("run the generated client");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the generated client failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: serde_json::Value =
        serde_json::from_str(stdout.lines().last().expect("a result line")).expect("json");
    assert_eq!(
        result,
        serde_json::json!({"requests": 1, "pool": "generated"})
    );
}
