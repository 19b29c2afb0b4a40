//! schemathesis (PyPI, version pinned in `.ci/run`) against the real gateway's operator API:
//! every operation of `/openapi.json`, with the default checks and a bounded example count,
//! must answer only documented statuses with bodies matching the spec.

use std::process::Command;

use crate::support::*;

const SKIP: &str = "CODEX_POOLER_SKIP_SCHEMATHESIS";

#[tokio::test(flavor = "multi_thread")]
#[ignore = "schemathesis still reports findings (ST202/ST201): see docs/operator-api.md"]
async fn the_operator_api_matches_its_spec() {
    let Some(bin) = installed_client(
        "CODEX_POOLER_SCHEMATHESIS",
        "venv/bin/schemathesis",
        SKIP,
        "schemathesis",
    ) else {
        return;
    };
    // Data for the generated requests to reach: a pool `team` with an account and a key.
    let pool = TestPool::new(&["acct-st"], |_, _| {});
    let owner = cli_ok(&pool.data, &["operators", "create-owner", "--name", "root"])
        .lines()
        .last()
        .expect("a token line")
        .to_owned();
    let gateway = pool.gateway();
    let gw = gateway.url();
    let output = Command::new(bin)
        .args([
            "run",
            &format!("{gw}/openapi.json"),
            "--url",
            &gw,
            "-H",
            &format!("Authorization: Bearer {owner}"),
            "--max-examples",
            "20",
            "--seed",
            "1",
            "--no-color",
        ])
        .output()
        .expect("run schemathesis");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis found failures:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
