//! The rest of `/v1` through the binary: the per-pool switch, the unsupported routes with
//! their exact body, usage, images, transcription and files.

use serde_json::json;

use crate::support::*;

/// Every `/v1` route the pooler does not serve, as `(method, path)`. (`/v1/files/{id}/content`
/// answers this too, after its ownership check: see `v1_files.rs`.)
const UNSUPPORTED: [(&str, &str); 11] = [
    ("POST", "/v1/responses/compact"),
    ("POST", "/v1/embeddings"),
    ("POST", "/v1/batches"),
    ("POST", "/v1/moderations"),
    ("POST", "/v1/images/variations"),
    ("POST", "/v1/fine_tuning/jobs"),
    ("GET", "/v1/responses/resp_123"),
    ("POST", "/v1/responses/resp_123/cancel"),
    ("DELETE", "/v1/responses/resp_123"),
    ("GET", "/v1/realtime"),
    ("POST", "/v1/content_provenance_checks"),
];

/// `method path` with `auth` (if any) and a JSON body.
async fn call(base: &str, method: &str, path: &str, auth: Option<&str>) -> Reply {
    let auth = auth.map(|key| format!("Bearer {key}"));
    let mut headers = vec![("content-type", "application/json")];
    if let Some(auth) = &auth {
        headers.push(("authorization", auth));
    }
    send(method, &format!("{base}{path}"), &headers, "{}").await
}

/// The exact `unsupported_endpoint` body.
pub(crate) fn unsupported_endpoint() -> serde_json::Value {
    json!({"error": {
        "message": "Unsupported OpenAI /v1 endpoint",
        "type": "invalid_request_error",
        "code": "unsupported_endpoint",
        "param": null,
    }})
}

fn invalid_api_key() -> serde_json::Value {
    json!({"error": {
        "message": "missing or invalid Pool API key",
        "type": "authentication_error",
        "code": "invalid_api_key",
        "param": null,
    }})
}

#[tokio::test(flavor = "multi_thread")]
async fn unsupported_routes_answer_the_exact_body_after_authentication() {
    let pool = TestPool::new(&["acct-u0"], |_, _| {});
    let gateway = pool.gateway();
    let base = gateway.url();
    let before = pool.fake.seen().len();
    for (method, path) in UNSUPPORTED {
        let anonymous = call(&base, method, path, None).await;
        assert_eq!(anonymous.status, 401, "{method} {path}");
        assert_eq!(anonymous.json(), invalid_api_key(), "{method} {path}");

        let reply = call(&base, method, path, Some(&pool.key)).await;
        assert_eq!(reply.status, 404, "{method} {path}: {}", reply.body);
        assert_eq!(reply.headers["content-type"], "application/json");
        assert_eq!(reply.json(), unsupported_endpoint(), "{method} {path}");
    }
    let upstream: Vec<_> = pool.fake.seen()[before..]
        .iter()
        .filter(|r| r.path.starts_with("/v1") || r.path.contains("/codex/responses"))
        .map(|r| r.path.clone())
        .collect();
    assert!(upstream.is_empty(), "reached upstream: {upstream:?}");
    gateway.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pool_with_v1_off_refuses_every_v1_request_after_authentication() {
    let pool = TestPool::new(&["acct-off"], |_, _| {});
    let out = cli_ok(&pool.data, &["pools", "set-v1", "team", "off"]);
    assert!(out.contains("/v1 off"), "{out}");
    let listed = cli_ok(&pool.data, &["pools", "list"]);
    let row = listed.lines().find(|l| l.contains("team")).unwrap();
    assert!(row.split_whitespace().any(|c| c == "off"), "{listed}");
    let bad = cli(&pool.data, &["pools", "set-v1", "team", "maybe"]);
    assert!(!bad.status.success());

    let gateway = pool.gateway();
    let base = gateway.url();
    let disabled = json!({"error": {
        "message": "OpenAI /v1 compatibility is disabled for this pool",
        "type": "invalid_request_error",
        "code": "v1_compatibility_disabled",
        "param": null,
    }});
    let routes = [
        ("POST", "/v1/responses"),
        ("GET", "/v1/models"),
        ("GET", "/v1/usage"),
        ("POST", "/v1/images/generations"),
        ("POST", "/v1/embeddings"),
    ];
    for (method, path) in routes {
        let anonymous = call(&base, method, path, None).await;
        assert_eq!(anonymous.status, 401, "{method} {path}");
        assert_eq!(anonymous.json(), invalid_api_key(), "{method} {path}");
        let reply = call(&base, method, path, Some(&pool.key)).await;
        assert_eq!(reply.status, 403, "{method} {path}: {}", reply.body);
        assert_eq!(reply.json(), disabled, "{method} {path}");
    }
    assert!(
        pool.turns().is_empty(),
        "a refused /v1 turn reached upstream"
    );

    // The Codex backend surface of the same pool is untouched.
    let backend = post_responses(
        &base,
        "/backend-api/codex/responses",
        &pool.key,
        &responses_body("gpt-5.1-codex", "hi"),
    )
    .await;
    assert_eq!(backend.status, 200, "{}", backend.body);
    gateway.stop();

    // Switched back on (and a pool created with it off).
    cli_ok(&pool.data, &["pools", "set-v1", "team", "on"]);
    let created = cli_ok(&pool.data, &["pools", "create", "quiet", "--v1", "off"]);
    assert!(created.contains("/v1 off"), "{created}");
    let gateway = pool.gateway();
    let models = call(&gateway.url(), "GET", "/v1/models", Some(&pool.key)).await;
    assert_eq!(models.status, 200, "{}", models.body);
    gateway.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_reports_the_key_its_limits_and_the_pool_quota() {
    let pool = TestPool::new(&["acct-use"], |_, _| {});
    let limited = cli_ok(
        &pool.data,
        &[
            "keys",
            "create",
            "--pool",
            "team",
            "--requests-per-minute",
            "50",
            "--tokens-per-day",
            "100000",
        ],
    );
    let limited = limited.lines().last().unwrap().trim().to_owned();
    let gateway = pool.gateway();
    let base = gateway.url();

    let fresh = call(&base, "GET", "/v1/usage", Some(&limited)).await;
    assert_eq!(fresh.status, 200, "{}", fresh.body);
    assert_eq!(fresh.json()["request_count"], 0);

    let mut total = 0;
    for _ in 0..2 {
        let reply = post_responses(
            &base,
            "/v1/responses",
            &limited,
            r#"{"model":"gpt-5.1-codex","input":"hi"}"#,
        )
        .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        total += reply.json()["usage"]["total_tokens"].as_u64().unwrap();
    }
    assert!(total > 0);
    // Records close as their bodies end, just after the client has read them.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let usage = loop {
        let usage = call(&base, "GET", "/v1/usage", Some(&limited)).await.json();
        if usage["request_count"] == 2 {
            break usage;
        }
        assert!(std::time::Instant::now() < deadline, "{usage}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(usage["object"], "usage");
    assert_eq!(usage["total_tokens"], total, "{usage}");
    let sum = usage["input_tokens"].as_u64().unwrap() + usage["output_tokens"].as_u64().unwrap();
    assert_eq!(sum, total, "{usage}");
    assert_eq!(
        usage["limits"],
        json!([
            {"name": "requests_per_minute", "limit": 50, "used": 2, "remaining": 48, "window_seconds": 60},
            {"name": "tokens_per_day", "limit": 100000, "used": total, "remaining": 100_000 - total, "window_seconds": 86400},
        ]),
        "{usage}"
    );
    let windows = usage["upstream_limits"].as_array().unwrap();
    assert!(
        windows.iter().any(|w| w["name"] == "primary"),
        "the fake reports quota headers: {usage}"
    );
    assert!(
        !usage.to_string().contains("acct-use"),
        "no account identity"
    );

    // The pool's other key has its own totals.
    let other = call(&base, "GET", "/v1/usage", Some(&pool.key))
        .await
        .json();
    assert_eq!(other["request_count"], 0);
    assert_eq!(other["limits"], json!([]));

    let queried = call(&base, "GET", "/v1/usage?start_time=1", Some(&limited)).await;
    assert_eq!(queried.status, 400);
    assert_eq!(
        queried.json(),
        json!({"error": {
            "message": "Unsupported parameter: start_time",
            "type": "invalid_request_error",
            "code": "unsupported_parameter",
            "param": "start_time",
        }})
    );
    let anonymous = call(&base, "GET", "/v1/usage", None).await;
    assert_eq!(anonymous.status, 401);
    gateway.stop();
}

/// Posts `body` to `path` until the pool's catalog has synced (the image turn runs on one of
/// its models; before that the gateway answers 503).
async fn once_synced(
    base: &str,
    path: &str,
    key: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Reply {
    let auth = format!("Bearer {key}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let headers = [
            ("authorization", auth.as_str()),
            ("content-type", content_type),
        ];
        let reply = send("POST", &format!("{base}{path}"), &headers, body.clone()).await;
        if reply.status != 503 {
            return reply;
        }
        assert!(std::time::Instant::now() < deadline, "catalog never synced");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

fn b64(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn images_run_as_an_image_tool_turn_and_answer_b64_json() {
    let pool = TestPool::new(&["acct-img"], |_, _| {});
    let gateway = pool.gateway();
    let base = gateway.url();
    let body = json!({"prompt": "a red fox", "model": "gpt-image-1.5", "size": "1024x1536",
        "quality": "high", "response_format": "b64_json"});
    let reply = once_synced(
        &base,
        "/v1/images/generations",
        &pool.key,
        "application/json",
        body.to_string().into_bytes(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.headers["content-type"], "application/json");
    let answer = reply.json();
    let image = b64(answer["data"][0]["b64_json"].as_str().unwrap());
    assert_eq!(&image[..8], b"\x89PNG\r\n\x1a\n");
    assert!(image.ends_with(b"image-from-acct-img inputs=0"), "{answer}");
    assert_eq!(answer["size"], "1024x1536");
    assert_eq!(answer["quality"], "high");
    assert!(answer["created"].as_i64().unwrap() > 1_700_000_000);
    assert!(
        answer["usage"]["total_tokens"].as_u64().unwrap() > 0,
        "{answer}"
    );
    let turns = pool.turns();
    let upstream = turns.last().unwrap().body.clone().unwrap();
    assert_eq!(upstream["stream"], true);
    assert_eq!(upstream["store"], false);
    assert_eq!(upstream["tool_choice"], json!({"type": "image_generation"}));
    assert_eq!(upstream["tools"][0]["model"], "gpt-image-1.5");
    assert_eq!(
        upstream["model"], "gpt-5.1-codex",
        "the pool's first model runs the tool"
    );

    // Edits: multipart images, the mask last.
    let boundary = "EDITBOUNDARY";
    let mut form = Vec::new();
    for (name, file, kind, data) in [
        ("image[]", "a.png", "image/png", &b"PNG-A"[..]),
        ("image[]", "b.png", "image/png", &b"PNG-B"[..]),
        ("mask", "m.png", "image/png", &b"MASK"[..]),
    ] {
        form.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: {kind}\r\n\r\n").as_bytes());
        form.extend_from_slice(data);
        form.extend_from_slice(b"\r\n");
    }
    form.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\nmake it blue\r\n--{boundary}--\r\n").as_bytes());
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let edit = once_synced(&base, "/v1/images/edits", &pool.key, &content_type, form).await;
    assert_eq!(edit.status, 200, "{}", edit.body);
    let image = b64(edit.json()["data"][0]["b64_json"].as_str().unwrap());
    assert!(image.ends_with(b"inputs=3"), "two images and the mask");
    let upstream = pool.turns().last().unwrap().body.clone().unwrap();
    let content = upstream["input"][0]["content"].as_array().unwrap();
    assert_eq!(
        content.last().unwrap()["image_url"],
        "data:image/png;base64,TUFTSw=="
    );

    // Refusals, before anything goes upstream.
    let before = pool.turns().len();
    let url = once_synced(
        &base,
        "/v1/images/generations",
        &pool.key,
        "application/json",
        br#"{"prompt":"x","response_format":"url"}"#.to_vec(),
    )
    .await;
    assert_eq!(url.status, 400);
    assert_eq!(
        url.json(),
        json!({"error": {
        "message": "response_format must be b64_json: images are returned as base64, never as URLs",
        "type": "invalid_request_error", "code": "unsupported_parameter", "param": "response_format"}})
    );
    let size = once_synced(
        &base,
        "/v1/images/generations",
        &pool.key,
        "application/json",
        br#"{"prompt":"x","size":"512x512"}"#.to_vec(),
    )
    .await;
    assert_eq!(size.status, 400);
    assert_eq!(
        size.json(),
        json!({"error": {
        "message": "size must be one of auto, 1024x1024, 1024x1536, 1536x1024",
        "type": "invalid_request_error", "code": "invalid_request", "param": "size"}})
    );
    assert_eq!(pool.turns().len(), before);

    // A failed upstream turn is 502 image_generation_failed.
    pool.fake
        .set_account("acct-img", |a| a.break_after_events = Some(2));
    let failed = once_synced(
        &base,
        "/v1/images/generations",
        &pool.key,
        "application/json",
        br#"{"prompt":"x"}"#.to_vec(),
    )
    .await;
    assert_eq!(failed.status, 502, "{}", failed.body);
    assert_eq!(
        failed.json(),
        json!({"error": {
        "message": "image generation failed upstream",
        "type": "server_error", "code": "image_generation_failed", "param": null}})
    );
    gateway.stop();
}

/// A multipart form of text `fields` and an audio `file`.
fn audio_form(fields: &[(&str, &str)], file: Option<&[u8]>) -> (String, Vec<u8>) {
    let boundary = "AUDIOBOUNDARY";
    let mut form = Vec::new();
    for (name, value) in fields {
        form.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    if let Some(data) = file {
        form.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\n").as_bytes());
        form.extend_from_slice(data);
        form.extend_from_slice(b"\r\n");
    }
    form.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), form)
}

#[tokio::test(flavor = "multi_thread")]
async fn transcriptions_go_to_the_backend_transcribe_route() {
    let pool = TestPool::new(&["acct-aud"], |_, _| {});
    let gateway = pool.gateway();
    let base = gateway.url();
    let auth = format!("Bearer {}", pool.key);
    let post = |content_type: String, body: Vec<u8>| {
        let url = format!("{base}/v1/audio/transcriptions");
        let auth = auth.clone();
        async move {
            send(
                "POST",
                &url,
                &[("authorization", &auth), ("content-type", &content_type)],
                body,
            )
            .await
        }
    };
    let (kind, form) = audio_form(
        &[
            ("model", "gpt-4o-transcribe"),
            ("language", "en"),
            ("temperature", "0.3"),
        ],
        Some(b"RIFF0000WAVE"),
    );
    let reply = post(kind, form).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.headers["content-type"], "application/json");
    let text = reply.json()["text"].as_str().unwrap().to_owned();
    assert!(text.starts_with("transcribed by acct-aud"), "{text}");
    let seen = pool.fake.seen();
    let upstream = seen
        .iter()
        .rev()
        .find(|r| r.path == "/backend-api/transcribe")
        .unwrap();
    assert_eq!(upstream.method, "POST");

    let (kind, form) = audio_form(
        &[("model", "gpt-transcribe"), ("response_format", "text")],
        Some(b"RIFF0000WAVE"),
    );
    let plain = post(kind, form).await;
    assert_eq!(plain.status, 200, "{}", plain.body);
    assert!(
        plain.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert!(
        plain.body.starts_with("transcribed by acct-aud"),
        "{}",
        plain.body
    );

    let before = pool.fake.seen().len();
    let (kind, form) = audio_form(&[("model", "whisper-1")], Some(b"RIFF"));
    let model = post(kind, form).await;
    assert_eq!(model.status, 400);
    assert_eq!(
        model.json(),
        json!({"error": {
        "message": "model must be one of gpt-4o-transcribe, gpt-transcribe",
        "type": "invalid_request_error", "code": "invalid_request", "param": "model"}})
    );
    let big = vec![b'a'; 25 * 1024 * 1024 + 1];
    let (kind, form) = audio_form(&[("model", "gpt-transcribe")], Some(&big));
    let too_large = post(kind, form).await;
    assert_eq!(too_large.status, 413);
    assert_eq!(
        too_large.json(),
        json!({"error": {
        "message": "the request body exceeds the 26214400-byte limit",
        "type": "invalid_request_error", "code": "request_too_large", "param": null}})
    );
    let transcribes = pool.fake.seen()[before..]
        .iter()
        .filter(|r| r.path == "/backend-api/transcribe")
        .count();
    assert_eq!(transcribes, 0, "refusals never reach upstream");
    gateway.stop();
}
