//! `/v1/files` through the binary: the upload runs the backend file flow (creation, the PUT of
//! the bytes to `upload_url`, finalize) on one account, later turns naming the file go to that
//! account, and the metadata routes answer only the uploading key.

use serde_json::json;

use crate::support::*;

/// A multipart form of text `fields` and a `file` part named `filename`.
pub(crate) fn file_form(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "FILEBOUNDARY";
    let mut form = Vec::new();
    for (name, value) in fields {
        form.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    if let Some((filename, data)) = file {
        form.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: text/plain\r\n\r\n").as_bytes());
        form.extend_from_slice(data);
        form.extend_from_slice(b"\r\n");
    }
    form.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), form)
}

/// `POST /v1/files` with `key`.
async fn upload(base: &str, key: &str, (kind, form): (String, Vec<u8>)) -> Reply {
    let auth = format!("Bearer {key}");
    send(
        "POST",
        &format!("{base}/v1/files"),
        &[("authorization", &auth), ("content-type", &kind)],
        form,
    )
    .await
}

/// `method path` with `key`, no body.
async fn call(base: &str, method: &str, path: &str, key: &str) -> Reply {
    let auth = format!("Bearer {key}");
    send(
        method,
        &format!("{base}{path}"),
        &[("authorization", &auth)],
        "",
    )
    .await
}

fn file_not_found() -> serde_json::Value {
    json!({"error": {
        "message": "no file with this id was uploaded through this pool",
        "type": "invalid_request_error", "code": "file_not_found", "param": "file_id"}})
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_lives_on_its_account_and_only_its_key_sees_it() {
    let pool = TestPool::new(&["acct-f0", "acct-f1", "acct-f2"], |_, _| {});
    let other_key = cli_ok(&pool.data, &["keys", "create", "--pool", "team"]);
    let other_key = other_key.lines().last().unwrap().trim().to_owned();
    let gateway = pool.gateway();
    let base = gateway.url();

    let bytes = b"the quick brown fox\n";
    let reply = upload(
        &base,
        &pool.key,
        file_form(&[("purpose", "user_data")], Some(("notes.txt", bytes))),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let file = reply.json();
    let id = file["id"].as_str().unwrap().to_owned();
    let created_at = file["created_at"].as_i64().unwrap();
    assert_eq!(
        file,
        json!({"id": id, "object": "file", "bytes": bytes.len(), "created_at": created_at,
            "filename": "notes.txt", "purpose": "user_data", "status": "processed",
            "expires_at": created_at + 86_400})
    );
    let owner = pool.last_account_on("/backend-api/files");
    assert!(
        id.starts_with(&format!("file-{owner}-")),
        "{id} not on {owner}"
    );
    let seen = pool.fake.seen();
    let create = seen
        .iter()
        .find(|r| r.path == "/backend-api/files")
        .unwrap();
    assert_eq!(
        create.body,
        Some(json!({"file_name": "notes.txt", "file_size": bytes.len(), "use_case": "codex"}))
    );
    // The bytes went to the upload URL, as a block blob, without the account's token.
    let put = seen.iter().find(|r| r.method == "PUT").unwrap();
    assert_eq!(put.path, format!("/upload/{id}"));
    assert_eq!(put.header("x-ms-blob-type"), Some("BlockBlob"));
    assert_eq!(put.header("authorization"), None);
    assert_eq!(&put.raw_body[..], bytes);
    assert_eq!(pool.fake.state().uploaded(&id).as_deref(), Some(&bytes[..]));
    let finalize = seen
        .iter()
        .find(|r| r.path == format!("/backend-api/files/{id}/uploaded"))
        .unwrap();
    assert_eq!(finalize.chatgpt_account_id.as_deref(), Some(owner.as_str()));

    let one = call(&base, "GET", &format!("/v1/files/{id}"), &pool.key).await;
    assert_eq!((one.status, one.json()), (200, file.clone()));
    let list = call(&base, "GET", "/v1/files", &pool.key).await;
    assert_eq!(
        (list.status, list.json()),
        (
            200,
            json!({"object": "list", "data": [file.clone()], "has_more": false})
        )
    );

    // Turns naming the file go to the account holding it, on both dialects.
    for i in 0..4 {
        let body = json!({"model": "gpt-5.1-codex", "input": [{"role": "user", "content": [
            {"type": "input_text", "text": format!("summarize {i}")},
            {"type": "input_file", "file_id": id},
        ]}]});
        let reply = post_responses(&base, "/v1/responses", &pool.key, &body.to_string()).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(pool.last_account_on("/backend-api/codex/responses"), owner);
        let chat = json!({"model": "gpt-5.1-codex", "messages": [{"role": "user", "content": [
            {"type": "text", "text": format!("summarize {i}")},
            {"type": "file", "file": {"file_id": id}},
        ]}]});
        let reply =
            post_responses(&base, "/v1/chat/completions", &pool.key, &chat.to_string()).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(pool.last_account_on("/backend-api/codex/responses"), owner);
    }

    // Content and deletion: the ownership check, then unsupported.
    let file_traffic = || {
        pool.fake
            .seen()
            .iter()
            .filter(|r| r.path.starts_with("/backend-api/files") || r.method != "GET")
            .count()
    };
    let before = file_traffic();
    for (method, path) in [
        ("GET", format!("/v1/files/{id}/content")),
        ("DELETE", format!("/v1/files/{id}")),
    ] {
        let reply = call(&base, method, &path, &pool.key).await;
        assert_eq!(
            (reply.status, reply.json()),
            (404, crate::v1_rest::unsupported_endpoint()),
            "{method} {path}"
        );
    }
    // Another key, or an unknown id: not found, never revealing the file exists.
    for (method, path, key) in [
        ("GET", format!("/v1/files/{id}"), &other_key),
        ("GET", format!("/v1/files/{id}/content"), &other_key),
        ("DELETE", format!("/v1/files/{id}"), &other_key),
        ("GET", "/v1/files/file-unknown".to_owned(), &pool.key),
        ("DELETE", "/v1/files/file-unknown".to_owned(), &pool.key),
    ] {
        let reply = call(&base, method, &path, key).await;
        assert_eq!(
            (reply.status, reply.json()),
            (404, file_not_found()),
            "{method} {path}"
        );
    }
    let theirs = call(&base, "GET", "/v1/files", &other_key).await;
    assert_eq!(
        theirs.json(),
        json!({"object": "list", "data": [], "has_more": false})
    );
    assert_eq!(file_traffic(), before, "metadata routes are local");
    gateway.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_uploads_answer_the_exact_error_and_reach_nothing() {
    let pool = TestPool::new(&["acct-fr"], |_, _| {});
    let gateway = pool.gateway();
    let base = gateway.url();

    let purpose = upload(
        &base,
        &pool.key,
        file_form(&[("purpose", "fine-tuning")], Some(("a.txt", b"x"))),
    )
    .await;
    assert_eq!(purpose.status, 400);
    assert_eq!(
        purpose.json(),
        json!({"error": {
            "message": "purpose must be one of assistants, batch, fine-tune, vision, user_data, evals",
            "type": "invalid_request_error", "code": "invalid_request", "param": "purpose"}})
    );
    let no_file = upload(
        &base,
        &pool.key,
        file_form(&[("purpose", "user_data")], None),
    )
    .await;
    assert_eq!(no_file.status, 400);
    assert_eq!(
        no_file.json(),
        json!({"error": {"message": "file is required",
            "type": "invalid_request_error", "code": "invalid_request", "param": "file"}})
    );
    let big = vec![b'a'; 25 * 1024 * 1024 + 1];
    let too_large = upload(
        &base,
        &pool.key,
        file_form(&[("purpose", "user_data")], Some(("big.txt", &big))),
    )
    .await;
    assert_eq!(too_large.status, 413);
    assert_eq!(
        too_large.json(),
        json!({"error": {
        "message": "the request body exceeds the 26214400-byte limit",
        "type": "invalid_request_error", "code": "request_too_large", "param": null}})
    );
    let file_traffic = pool
        .fake
        .seen()
        .iter()
        .filter(|r| r.path.starts_with("/backend-api/files") || r.method == "PUT")
        .count();
    assert_eq!(file_traffic, 0, "nothing went upstream");
    gateway.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_url_on_an_untrusted_host_gets_no_bytes() {
    let pool = TestPool::new(&["acct-fx"], |_, _| {});
    // The same fake under another authority: a host the gateway was only told about.
    let port = pool.fake.local_addr().port();
    pool.fake
        .update_config(|c| c.upload_origin = Some(format!("http://localhost:{port}")));
    let gateway = pool.gateway();
    let base = gateway.url();
    let reply = upload(
        &base,
        &pool.key,
        file_form(&[("purpose", "assistants")], Some(("a.txt", b"secret"))),
    )
    .await;
    assert_eq!(reply.status, 502);
    assert_eq!(
        reply.json(),
        json!({"error": {"message": "upstream request failed",
            "type": "server_error", "code": "upstream_error", "param": null}})
    );
    let seen = pool.fake.seen();
    assert!(seen.iter().any(|r| r.path == "/backend-api/files"));
    assert!(
        !seen.iter().any(|r| r.method == "PUT"),
        "no bytes were sent"
    );
    assert!(!seen.iter().any(|r| r.path.ends_with("/uploaded")));
    let list = call(&base, "GET", "/v1/files", &pool.key).await;
    assert_eq!(list.json()["data"], json!([]));
    gateway.stop();
}
