//! `serve --demo`: the README's first command serves the line it prints.

use std::time::{Duration, Instant};

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn demo_prints_a_working_key_and_avoids_the_full_account() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let gateway = Gateway::start(&data, &["--demo"]);

    // The key is printed after the listening line; wait for it.
    let deadline = Instant::now() + Duration::from_secs(20);
    let key = loop {
        let lines = gateway.stdout();
        let key = lines
            .iter()
            .skip_while(|l| !l.starts_with("Pool API key"))
            .nth(1)
            .map(|l| l.trim().to_owned());
        if let Some(key) = key {
            break key;
        }
        assert!(Instant::now() < deadline, "no key printed: {lines:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let printed = gateway.stdout().join("\n");
    assert!(printed.contains("curl -sN http://"), "{printed}");
    assert!(printed.contains("model_provider = \"pooler\""), "{printed}");

    // The printed curl request, six times: every answer succeeds, and demo-2 (whose 5-hour
    // window is full) answers at most once, the time its headers told the router so.
    let body = r#"{"model":"gpt-5.1-codex","stream":true,"input":[{"role":"user","content":[{"type":"input_text","text":"Say hi"}]}]}"#;
    let mut from_full = 0;
    for _ in 0..6 {
        let reply =
            post_responses(&gateway.url(), "/backend-api/codex/responses", &key, body).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert!(reply.body.contains("response.completed"));
        if reply.body.contains("Hello from demo-2") {
            from_full += 1;
        }
    }
    assert!(from_full <= 1, "the exhausted demo account kept answering");
    gateway.stop();
}
