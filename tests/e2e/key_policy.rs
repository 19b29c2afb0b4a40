//! Key policy through the real binary: rules set with `keys create` and `keys set-policy`,
//! enforced before anything goes upstream.

use crate::support::*;

const PATH: &str = "/backend-api/codex/responses";

fn prefix(key: &str) -> String {
    key[7..19].to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn limits_and_model_rules_answer_before_upstream() {
    let pool = TestPool::new(&["acct-policy"], |_, _| {});
    let limited = cli_ok(
        &pool.data,
        &[
            "keys",
            "create",
            "--pool",
            "team",
            "--name",
            "limited",
            "--requests-per-minute",
            "2",
            "--allow-model",
            "gpt-5.1-codex",
            "--max-reasoning-effort",
            "low",
        ],
    )
    .lines()
    .last()
    .unwrap()
    .to_owned();
    let listed = cli_ok(&pool.data, &["keys", "list", "--json"]);
    let keys: serde_json::Value = serde_json::from_str(&listed).unwrap();
    let entry = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["prefix"] == prefix(&limited))
        .expect("the key is listed");
    assert_eq!(
        entry["policy"]["limits"]["requests_per_minute"], 2,
        "{entry}"
    );
    assert_eq!(entry["policy"]["reasoning"]["at_most"], "low", "{entry}");
    assert!(!listed.contains(&limited), "keys list never shows a key");
    let table = cli_ok(&pool.data, &["keys", "list"]);
    assert!(
        table.contains("models=gpt-5.1-codex effort<=low rpm=2"),
        "{table}"
    );

    let gateway = pool.gateway();
    let url = gateway.url();

    // A model outside the allowlist: 403, and it costs no request of the minute's two.
    let other = post_responses(&url, PATH, &limited, &responses_body("o3", "hi")).await;
    assert_eq!(other.status, 403, "{}", other.body);
    assert_eq!(other.json()["error"]["code"], "model_not_allowed");
    assert!(pool.turns().is_empty());

    // The effort above the cap is lowered on its way upstream.
    let mut body: serde_json::Value =
        serde_json::from_str(&responses_body("gpt-5.1-codex", "hi")).unwrap();
    body["reasoning"] = serde_json::json!({"effort": "high"});
    let served = post_responses(&url, PATH, &limited, &body.to_string()).await;
    assert_eq!(served.status, 200, "{}", served.body);
    let seen = pool.turns();
    assert_eq!(seen.len(), 1);
    let upstream_body = seen[0].body.as_ref().expect("a JSON body");
    assert_eq!(upstream_body["reasoning"]["effort"], "low");
    assert_eq!(upstream_body["input"], body["input"], "the rest is as sent");

    let second = post_responses(&url, PATH, &limited, &responses_body("gpt-5.1-codex", "hi")).await;
    assert_eq!(second.status, 200, "{}", second.body);

    // The third in the minute: 429 with Retry-After, and upstream never sees it.
    let third = post_responses(&url, PATH, &limited, &responses_body("gpt-5.1-codex", "hi")).await;
    assert_eq!(third.status, 429, "{}", third.body);
    let retry: u64 = third.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let error = &third.json()["error"];
    assert_eq!(error["code"], "rate_limit_exceeded", "{error}");
    assert_eq!(error["type"], "requests", "{error}");
    assert_eq!(
        pool.turns().len(),
        2,
        "nothing over the limit reached upstream"
    );

    // Another key of the pool is not limited by this one's count.
    let free = post_responses(
        &url,
        PATH,
        &pool.key,
        &responses_body("gpt-5.1-codex", "hi"),
    )
    .await;
    assert_eq!(free.status, 200, "{}", free.body);
    gateway.stop();

    // `set-policy` replaces the whole policy; a restarted gateway applies the new rules.
    let set = cli_ok(
        &pool.data,
        &[
            "keys",
            "set-policy",
            &prefix(&limited),
            "--enforce-model",
            "gpt-5.1-codex",
        ],
    );
    assert!(set.contains("model=gpt-5.1-codex"), "{set}");
    let gateway = pool.gateway();
    let url = gateway.url();
    let rewritten = post_responses(&url, PATH, &limited, &responses_body("o3", "hi")).await;
    assert_eq!(rewritten.status, 200, "{}", rewritten.body);
    let last = pool.turns().pop().expect("a turn");
    assert_eq!(last.body.as_ref().unwrap()["model"], "gpt-5.1-codex");
    gateway.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn contradicting_rules_are_refused_by_the_cli() {
    let pool = TestPool::new(&["acct-policy-cli"], |_, _| {});
    let out = cli(
        &pool.data,
        &[
            "keys",
            "create",
            "--pool",
            "team",
            "--allow-model",
            "a",
            "--enforce-model",
            "b",
        ],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--enforce-model b"), "{stderr}");
    let zero = cli(
        &pool.data,
        &[
            "keys",
            "create",
            "--pool",
            "team",
            "--requests-per-minute",
            "0",
        ],
    );
    assert!(!zero.status.success());
    let both = cli(
        &pool.data,
        &[
            "keys",
            "create",
            "--pool",
            "team",
            "--reasoning-effort",
            "low",
            "--max-reasoning-effort",
            "high",
        ],
    );
    assert!(!both.status.success());
    let missing = cli(&pool.data, &["keys", "set-policy", "cpk_nothing"]);
    assert!(!missing.status.success());
}
