//! Request records and daily usage through the operator CLI: traffic through the real server,
//! then `records list` and `usage` show it, and their bad input is refused clearly.

use serde_json::Value;

use crate::support::*;

const PATH: &str = "/backend-api/codex/responses";

fn json(data: &std::path::Path, args: &[&str]) -> Value {
    let out = cli_ok(data, args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {out}"))
}

fn refused(data: &std::path::Path, args: &[&str]) -> String {
    let out = cli(data, args);
    assert!(!out.status.success(), "{args:?} succeeded");
    assert!(out.stdout.is_empty(), "{args:?} printed on stdout");
    String::from_utf8(out.stderr).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn records_and_usage_show_the_traffic() {
    let pool = TestPool::new(&["acct-a"], |_, _| {});
    let gateway = Gateway::start(&pool.data, &["--usage-probe-interval-secs", "0"]);
    for prompt in ["one", "two", "three"] {
        let body = responses_body("gpt-5.1-codex", prompt);
        let reply = post_responses(&gateway.url(), PATH, &pool.key, &body).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    let refused_key = post_responses(&gateway.url(), PATH, "cpk_not_a_key", "{}").await;
    assert_eq!(refused_key.status, 401);
    // Stopping flushes every record (and its rollup, in the same transaction).
    gateway.stop();

    let page = json(&pool.data, &["records", "list", "--json"]);
    let records = page["records"].as_array().unwrap();
    assert_eq!(records.len(), 3, "{page}");
    assert_eq!(page["next_cursor"], Value::Null);
    let keys = json(&pool.data, &["keys", "list", "--json"]);
    let key_id = keys[0]["id"].as_i64().unwrap();
    let prefix = keys[0]["prefix"].as_str().unwrap().to_owned();
    for r in records {
        assert_eq!(r["route"], "responses");
        assert_eq!(r["status"], 200);
        assert_eq!(r["model"], "gpt-5.1-codex");
        assert_eq!(r["key_id"], key_id);
        assert_eq!(r["end"], "completed");
        assert!(r["received_at"].as_str().unwrap().ends_with('Z'), "{r}");
        assert!(r["usage"]["total_tokens"].as_u64().unwrap() > 0, "{r}");
    }
    let ids: Vec<i64> = records.iter().map(|r| r["id"].as_i64().unwrap()).collect();

    // Two pages of two and one, the cursor in the JSON.
    let first = json(&pool.data, &["records", "list", "--limit", "2", "--json"]);
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let second = json(
        &pool.data,
        &[
            "records", "list", "--limit", "2", "--cursor", &cursor, "--json",
        ],
    );
    let paged: Vec<i64> = [&first, &second]
        .iter()
        .flat_map(|p| p["records"].as_array().unwrap().iter())
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(paged, ids);
    assert_eq!(second["next_cursor"], Value::Null);

    // The table: a header and one line a record; the next cursor on stderr.
    let out = cli(
        &pool.data,
        &[
            "records", "list", "--key", &prefix, "--status", "2xx", "--limit", "1",
        ],
    );
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    assert!(lines[0].starts_with("ID "), "{table}");
    assert!(
        lines[1].contains("team") && lines[1].contains(&prefix),
        "{table}"
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.starts_with("more records: --cursor "), "{stderr}");
    // Filters that match nothing.
    for args in [
        ["--status", "4xx"],
        ["--model", "gpt-4o"],
        ["--route", "compact"],
        ["--since", "2100-01-01T00:00:00Z"],
    ] {
        let page = json(&pool.data, &["records", "list", args[0], args[1], "--json"]);
        assert_eq!(page["records"], serde_json::json!([]), "{args:?}");
    }

    // Usage: the key's and the pool's days, and their totals, equal the records' sums.
    let sum = |field: &str| -> u64 {
        records
            .iter()
            .map(|r| r["usage"][field].as_u64().unwrap())
            .sum()
    };
    for args in [
        vec!["usage", "--key", prefix.as_str(), "--json"],
        vec!["usage", "--pool", "team", "--json"],
        vec!["usage", "--days", "1", "--json"],
    ] {
        let report = json(&pool.data, &args);
        let total = &report["total"];
        assert_eq!(total["requests"], 3, "{report}");
        assert_eq!(total["errors"], 0, "{report}");
        for field in ["input_tokens", "output_tokens", "total_tokens"] {
            assert_eq!(
                total[field].as_u64().unwrap(),
                sum(field),
                "{field}: {report}"
            );
        }
        let rows = report["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 1, "{report}");
        assert_eq!(rows[0]["requests"], 3);
        assert_eq!(rows[0]["day"], report["to"]);
    }
    let table = cli_ok(&pool.data, &["usage", "--key", &prefix]);
    let last = table.lines().last().unwrap();
    assert!(last.starts_with("TOTAL"), "{table}");
    assert!(last.split_whitespace().nth(1) == Some("3"), "{table}");
}

#[test]
fn bad_record_and_usage_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    cli_ok(&data, &["pools", "create", "team"]);
    let cases: [(&[&str], &str); 7] = [
        (
            &["records", "list", "--cursor", "nope"],
            "error: --cursor is not a cursor `records list` printed; pass it unchanged\n",
        ),
        (
            &["records", "list", "--status", "99"],
            "error: --status: bad status \"99\": use an HTTP status (429) or a class (1xx to 5xx)\n",
        ),
        (
            &["records", "list", "--since", "today"],
            "error: --since \"today\" is not an RFC 3339 time (like 2026-12-03T00:00:00Z)\n",
        ),
        (
            &["records", "list", "--limit", "501"],
            "error: --limit 501 is out of range: use 1 to 500\n",
        ),
        (
            &["records", "list", "--pool", "nope"],
            "error: no pool named \"nope\"; create it with `codex-pooler pools create nope`\n",
        ),
        (
            &["usage", "--key", "cpk_nope"],
            "error: no key with prefix or id \"cpk_nope\"\n",
        ),
        (
            &["usage", "--days", "0"],
            "error: --days 0 is out of range: use 1 to 366\n",
        ),
    ];
    for (args, expected) in cases {
        assert_eq!(refused(&data, args), expected, "{args:?}");
    }
    let both = refused(&data, &["usage", "--pool", "team", "--key", "1"]);
    assert!(
        both.contains("the argument '--pool <SLUG>' cannot be used with '--key <PREFIX_OR_ID>'"),
        "{both}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_prunes_old_records_at_start_and_keeps_their_usage() {
    use codex_pooler_core::model::{KeyId, PoolId};
    use codex_pooler_core::record::RequestRecord;
    use codex_pooler_core::request::RouteClass;
    use codex_pooler_core::store::PoolStore;
    use std::time::{Duration, SystemTime};

    let pool = TestPool::new(&["acct-a"], |_, _| {});
    let url = format!("sqlite://{}", pool.data.join("codex-pooler.db").display());
    let store = codex_pooler_server::store::SqlStore::connect(&url)
        .await
        .unwrap();
    let old = |days: u64| {
        let mut r = RequestRecord::new(
            SystemTime::now() - Duration::from_secs(days * 86_400),
            PoolId(1),
            KeyId(1),
            RouteClass::Responses,
            Some("gpt-5.1-codex".to_owned()),
            true,
        );
        r.status = 200;
        r
    };
    store
        .insert_records(&[old(12), old(5), old(1)])
        .await
        .unwrap();
    store.close().await.unwrap();

    let gateway = Gateway::start(
        &pool.data,
        &[
            "--usage-probe-interval-secs",
            "0",
            "--record-retention-days",
            "3",
        ],
    );
    let log = pool.data.with_extension("server.log");
    eventually("the retention pass at start", || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("retention deleted old rows")
    })
    .await;
    gateway.stop();

    let page = json(&pool.data, &["records", "list", "--json"]);
    assert_eq!(page["records"].as_array().unwrap().len(), 1, "{page}");
    let usage = json(&pool.data, &["usage", "--days", "30", "--json"]);
    assert_eq!(usage["total"]["requests"], 3, "{usage}");
}
