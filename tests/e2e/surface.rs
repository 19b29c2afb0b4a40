//! The rest of the Codex backend surface: models, usage, workspace discovery, helper 404s,
//! compaction, images, transcription and files with their account affinity.

use std::time::{Duration, Instant};

use crate::support::*;

struct Setup {
    pool: TestPool,
    gateway: Gateway,
}

fn setup(accounts: usize) -> Setup {
    let ids: Vec<String> = (0..accounts).map(|i| format!("acct-s{i}")).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let pool = TestPool::new(&ids, |_, _| {});
    let gateway = pool.gateway();
    Setup { pool, gateway }
}

#[tokio::test(flavor = "multi_thread")]
async fn models_come_from_the_synced_catalog_and_feed_eligibility() {
    let s = setup(2);
    let url = format!(
        "{}/backend-api/codex/models?client_version=0.169.0",
        s.gateway.url()
    );
    let auth = format!("Bearer {}", s.pool.key);
    // The catalog is read from each account in the background; wait for it.
    let deadline = Instant::now() + Duration::from_secs(15);
    let reply = loop {
        let reply = send("GET", &url, &[("authorization", &auth)], "").await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let slugs: Vec<String> = reply.json()["models"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["slug"].as_str().unwrap().to_owned())
            .collect();
        if slugs
            == [
                "gpt-5.1-codex",
                "gpt-5.1-codex-mini",
                "gpt-6.2-sol",
                "gpt-6.2-astra",
            ]
        {
            break reply;
        }
        assert!(Instant::now() < deadline, "catalog never synced: {slugs:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let etag = reply.headers["etag"].to_str().unwrap().to_owned();
    assert_eq!(reply.headers["x-models-etag"].to_str().unwrap(), etag);
    let again = send("GET", &url, &[("authorization", &auth)], "").await;
    assert_eq!(
        again.headers["etag"].to_str().unwrap(),
        etag,
        "deterministic ETag"
    );
    let cached = send(
        "GET",
        &url,
        &[("authorization", &auth), ("if-none-match", &etag)],
        "",
    )
    .await;
    assert_eq!(cached.status, 304);

    // Model answers carry the pool catalog's ETag, not the account's (the CLI refetches
    // /models whenever the two differ).
    let turn = post_responses(
        &s.gateway.url(),
        "/backend-api/codex/responses",
        &s.pool.key,
        &responses_body("gpt-5.1-codex", "hi"),
    )
    .await;
    assert_eq!(turn.status, 200, "{}", turn.body);
    assert_eq!(turn.headers["x-models-etag"].to_str().unwrap(), etag);

    // A model the defaults list but no account's catalog serves is refused.
    let missing = post_responses(
        &s.gateway.url(),
        "/backend-api/codex/responses",
        &s.pool.key,
        &responses_body("gpt-5.2-codex", "hi"),
    )
    .await;
    assert_eq!(missing.status, 404, "{}", missing.body);
    assert_eq!(missing.json()["error"]["code"], "model_not_found");
    let unauthenticated = send("GET", &url, &[], "").await;
    assert_eq!(unauthenticated.status, 401);
    s.gateway.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_discovery_and_helper_routes() {
    let s = setup(1);
    let auth = format!("Bearer {}", s.pool.key);
    // Serve one turn so the gateway has quota evidence.
    post_responses(
        &s.gateway.url(),
        "/backend-api/codex/responses",
        &s.pool.key,
        &responses_body("gpt-5.1-codex", "x"),
    )
    .await;
    for path in ["/backend-api/wham/usage", "/wham/usage", "/api/codex/usage"] {
        let usage = send(
            "GET",
            &format!("{}{path}", s.gateway.url()),
            &[("authorization", &auth)],
            "",
        )
        .await;
        assert_eq!(usage.status, 200, "{path}: {}", usage.body);
        let body = usage.json();
        assert_eq!(body["rate_limit"]["allowed"], true);
        assert_eq!(body["rate_limit"]["limit_reached"], false);
        assert_eq!(
            body["rate_limit"]["primary_window"]["limit_window_seconds"],
            18_000
        );
        assert!(body["rate_limit"]["primary_window"]["used_percent"].is_i64());
    }
    let check = send(
        "GET",
        &format!("{}/backend-api/wham/accounts/check", s.gateway.url()),
        &[("authorization", &auth), ("chatgpt-account-id", "ws-123")],
        "",
    )
    .await;
    assert_eq!(check.status, 200);
    assert_eq!(check.json()["accounts"][0]["id"], "ws-123");
    assert_eq!(
        check.json()["accounts"][0]["workspace_backend_origin"],
        "NO_CONSTRAINT"
    );
    for (method, path) in [
        ("GET", "/backend-api/ps/plugins/installed"),
        ("POST", "/backend-api/codex/analytics-events/events"),
    ] {
        let helper = send(
            method,
            &format!("{}{path}", s.gateway.url()),
            &[("authorization", &auth)],
            "{}",
        )
        .await;
        assert_eq!(helper.status, 404, "{path}");
        assert_eq!(helper.json()["error"]["code"], "not_found");
    }
    assert!(
        s.pool
            .fake
            .seen()
            .iter()
            .all(|r| !r.path.contains("plugins")),
        "helper routes never go upstream"
    );
    s.gateway.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn compaction_images_and_transcription_are_proxied() {
    let s = setup(2);
    let auth = format!("Bearer {}", s.pool.key);
    let base = s.gateway.url();
    let compact = send(
        "POST",
        &format!("{base}/backend-api/codex/responses/compact"),
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        r#"{"model":"gpt-5.1-codex","input":[],"instructions":""}"#,
    )
    .await;
    assert_eq!(compact.status, 200, "{}", compact.body);
    assert_eq!(compact.json()["output"][0]["type"], "compaction");

    let image = send(
        "POST",
        &format!("{base}/backend-api/codex/images/generations"),
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        r#"{"prompt":"a cat","size":"1024x1024"}"#,
    )
    .await;
    assert_eq!(image.status, 200, "{}", image.body);
    assert!(image.json()["data"][0]["b64_json"].is_string());

    let boundary = "XBOUNDARYX";
    let multipart = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\nRIFF0000WAVE\r\n--{boundary}--\r\n"
    );
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let transcript = send(
        "POST",
        &format!("{base}/backend-api/transcribe"),
        &[("authorization", &auth), ("content-type", &content_type)],
        multipart,
    )
    .await;
    assert_eq!(transcript.status, 200, "{}", transcript.body);
    assert!(
        transcript.json()["text"]
            .as_str()
            .unwrap()
            .starts_with("transcribed by")
    );

    // Compaction is never retried on another account.
    for id in ["acct-s0", "acct-s1"] {
        s.pool.fake.set_account(id, |a| a.fail_status = Some(503));
    }
    s.pool.fake.clear_seen();
    let failed = send(
        "POST",
        &format!("{base}/backend-api/codex/responses/compact"),
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        r#"{"model":"gpt-5.1-codex","input":[],"instructions":""}"#,
    )
    .await;
    assert_eq!(failed.status, 503);
    let compactions = s
        .pool
        .fake
        .seen()
        .iter()
        .filter(|r| r.path.ends_with("/compact"))
        .count();
    assert_eq!(compactions, 1, "compaction was retried");
    s.gateway.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn files_pin_follow_ups_to_the_uploading_account() {
    let s = setup(3);
    let auth = format!("Bearer {}", s.pool.key);
    let created = send(
        "POST",
        &format!("{}/backend-api/files", s.gateway.url()),
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        r#"{"file_name":"notes.txt","file_size":12,"use_case":"codex"}"#,
    )
    .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let file_id = created.json()["file_id"].as_str().unwrap().to_owned();
    let owner = s.pool.last_account_on("/backend-api/files");
    assert!(file_id.starts_with(&format!("file-{owner}-")));

    // Not finalized before its bytes arrive; then PUT to the upload URL (no token needed).
    let early = send(
        "POST",
        &format!("{}/backend-api/files/{file_id}/uploaded", s.gateway.url()),
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        "{}",
    )
    .await;
    assert_eq!(early.status, 400, "{}", early.body);
    let upload_url = created.json()["upload_url"].as_str().unwrap().to_owned();
    let put = send(
        "PUT",
        &upload_url,
        &[("x-ms-blob-type", "BlockBlob")],
        "hello world!",
    )
    .await;
    assert_eq!(put.status, 201, "{}", put.body);

    // Finalizing the upload reaches the account holding the file (the fake refuses it anywhere
    // else), every time.
    for _ in 0..5 {
        let finalized = send(
            "POST",
            &format!("{}/backend-api/files/{file_id}/uploaded", s.gateway.url()),
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            "{}",
        )
        .await;
        assert_eq!(finalized.status, 200, "{}", finalized.body);
        assert_eq!(finalized.json()["status"], "success");
    }

    for i in 0..8 {
        let body = serde_json::json!({
            "model": "gpt-5.1-codex", "stream": true, "store": false,
            "input": [{"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": format!("read it {i}")},
                {"type": "input_file", "file_id": file_id},
            ]}],
        });
        let reply = post_responses(
            &s.gateway.url(),
            "/backend-api/codex/responses",
            &s.pool.key,
            &body.to_string(),
        )
        .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(
            Some(
                s.pool
                    .last_account_on("/backend-api/codex/responses")
                    .as_str()
            ),
            Some(owner.as_str())
        );
        assert!(
            reply.headers["x-codex-pooler-route"]
                .to_str()
                .unwrap()
                .contains("pin=file")
        );
    }
    s.gateway.stop();
}

/// Finalize paths with traversal-shaped, malformed or unknown file ids: each is refused by the
/// gateway with a typed 4xx, and nothing at all reaches upstream (the fake's request log holds
/// only the gateway's own background reads).
#[tokio::test(flavor = "multi_thread")]
async fn file_finalize_refuses_traversal_and_unknown_ids_before_upstream() {
    let ids = ["acct-s0", "acct-s1"];
    let pool = TestPool::new(&ids, |_, _| {});
    let gateway = Gateway::start(&pool.data, &["--usage-probe-interval-secs", "0"]);
    let auth = format!("Bearer {}", pool.key);
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];

    // A real upload, so the pool knows one file; its id must not make a traversal valid.
    let created = send(
        "POST",
        &format!("{}/backend-api/files", gateway.url()),
        &headers,
        r#"{"file_name":"notes.txt","file_size":12,"use_case":"codex"}"#,
    )
    .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let known = created.json()["file_id"].as_str().unwrap().to_owned();
    let upload_url = created.json()["upload_url"].as_str().unwrap().to_owned();
    let put = send(
        "PUT",
        &upload_url,
        &[("x-ms-blob-type", "BlockBlob")],
        "hello world!",
    )
    .await;
    assert_eq!(put.status, 201, "{}", put.body);

    // Let the start-up reads (catalog, discovery) land, then watch from a clean log.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ids.iter().all(|id| {
        pool.fake.seen().iter().any(|r| {
            r.path == "/backend-api/wham/accounts/check"
                && r.chatgpt_account_id.as_deref() == Some(id)
        })
    }) {
        assert!(Instant::now() < deadline, "the start-up reads never came");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    pool.fake.clear_seen();

    let long = format!("file-{}", "a".repeat(200));
    let invalid: Vec<Vec<u8>> = [
        "..",
        ".",
        "%2e%2e",
        "%2E%2e",
        "%2e",
        "..%2F..%2Fbackend-api%2Fme",
        "..%2f..%2fbackend-api%2fme",
        "file-a%2F..%2F..%2Fme",
        "file-a%252F..%252Fme",
        "%252e%252e",
        "file-a%5C..%5Cme",
        "file-a%C3%A9",
        "FILE-abc",
        "file-",
        "me",
        long.as_str(),
        &format!("{known}%2F..%2F..%2Fme"),
        &format!("{known}%00"),
    ]
    .iter()
    .map(|id| format!("/backend-api/files/{id}/uploaded").into_bytes())
    .collect();
    for target in &invalid {
        let (status, body) = send_raw(gateway.addr, "POST", target, &headers, "{}").await;
        let shown = String::from_utf8_lossy(target);
        assert_eq!(status, 400, "{shown}: {body}");
        let error: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(error["error"]["code"], "invalid_file_id", "{shown}");
        assert_eq!(error["error"]["param"], "file_id", "{shown}");
    }

    // Raw bytes no URI may hold (a backslash, UTF-8): refused before the gateway or by it.
    for target in [
        &b"/backend-api/files/file-a\\..\\me/uploaded"[..],
        "/backend-api/files/file-é/uploaded".as_bytes(),
    ] {
        let (status, body) = send_raw(gateway.addr, "POST", target, &headers, "{}").await;
        assert_eq!(status, 400, "{}: {body}", String::from_utf8_lossy(target));
        if !body.is_empty() {
            let error: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(error["error"]["code"], "invalid_file_id");
        }
    }

    // Well-formed ids the pool never created (one shaped like the other account's files), with
    // a query string that must not travel either.
    let other = if known.starts_with("file-acct-s0-") {
        "acct-s1"
    } else {
        "acct-s0"
    };
    for target in [
        format!("/backend-api/files/file-{other}-1/uploaded"),
        format!("/backend-api/files/{known}0/uploaded"),
        "/backend-api/files/file_0000000000000000/uploaded".to_owned(),
        "/backend-api/files/file-unknown/uploaded?next=..%2F..%2Fme".to_owned(),
    ] {
        let (status, body) =
            send_raw(gateway.addr, "POST", target.as_bytes(), &headers, "{}").await;
        assert_eq!(status, 404, "{target}: {body}");
        let error: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(error["error"]["code"], "file_not_found", "{target}");
        assert_eq!(error["error"]["type"], "invalid_request_error");
    }

    // Not the finalize shape at all: the gateway's own helper 404.
    for target in [
        "/backend-api/files/../../backend-api/me/uploaded",
        "/backend-api/files/file-a/../uploaded",
        "/backend-api/files/%2e%2e",
        "/backend-api/files/file-a/uploaded/..",
    ] {
        let (status, body) =
            send_raw(gateway.addr, "POST", target.as_bytes(), &headers, "{}").await;
        assert_eq!(status, 404, "{target}: {body}");
        let error: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(error["error"]["code"], "not_found", "{target}");
    }

    let leaked: Vec<_> = pool
        .fake
        .seen()
        .into_iter()
        .filter(|r| {
            !(r.method == "GET"
                && [
                    "/backend-api/codex/models",
                    "/backend-api/wham/usage",
                    "/backend-api/wham/accounts/check",
                ]
                .contains(&r.path.as_str()))
        })
        .map(|r| format!("{} {} {:?}", r.method, r.path, r.query))
        .collect();
    assert!(leaked.is_empty(), "upstream saw {leaked:?}");

    // The known file still finalizes, on its account: the log does see real requests.
    let finalized = send_raw(
        gateway.addr,
        "POST",
        format!("/backend-api/files/{known}/uploaded").as_bytes(),
        &headers,
        "{}",
    )
    .await;
    assert_eq!(finalized.0, 200, "{}", finalized.1);
    let seen = pool.fake.seen();
    let last = seen.last().unwrap();
    assert_eq!(last.path, format!("/backend-api/files/{known}/uploaded"));
    assert_eq!(last.query, None);
    gateway.stop();
}
