//! The real OpenAI SDKs (PyPI `openai`, npm `openai`, versions pinned in `.ci/run`) against
//! the gateway's `/v1`, with their default parameters.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::support::*;

/// Where `.ci/run` installs an SDK: `env` overrides, else under `~/.cache/codex-pooler`.
fn installed(env: &str, cached: &str) -> Option<PathBuf> {
    let candidate = std::env::var_os(env).map(PathBuf::from).or_else(|| {
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/codex-pooler").join(cached))
    })?;
    if candidate.exists() {
        return Some(candidate);
    }
    assert!(
        std::env::var("CODEX_POOLER_SKIP_SDK_TESTS").as_deref() == Ok("1"),
        "the OpenAI SDK at {} is missing: run `bash .ci/run` (it installs the SDKs), set {env}, \
         or set CODEX_POOLER_SKIP_SDK_TESTS=1 to skip these tests",
        candidate.display()
    );
    eprintln!("SKIPPED: OpenAI SDK not installed (CODEX_POOLER_SKIP_SDK_TESTS=1)");
    None
}

/// Runs `command` with the SDK pointed at the gateway; its last stdout line is JSON.
fn run_sdk(mut command: Command, gateway: &Gateway, key: &str) -> Value {
    let output = command
        .env("OPENAI_BASE_URL", format!("{}/v1", gateway.url()))
        .env("OPENAI_API_KEY", key)
        .output()
        .expect("run the SDK");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the SDK failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let last = stdout.lines().last().expect("a result line");
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {last}"))
}

/// Plain and streamed responses, with sampling parameters the backend refuses, and the models.
const PYTHON: &str = r#"
import json, openai
client = openai.OpenAI()
plain = client.responses.create(model="gpt-5.1-codex", input="Say hi", temperature=0.2, max_output_tokens=64)
stream = client.responses.create(model="gpt-5.1-codex", input="Say hi", stream=True, top_p=0.9)
events, streamed = [], ""
for event in stream:
    events.append(event.type)
    if event.type == "response.output_text.delta":
        streamed += event.delta
models = [m.id for m in client.models.list()]
print(json.dumps({"text": plain.output_text, "status": plain.status, "events": events,
                  "streamed": streamed, "models": models}))
"#;

const NODE: &str = r#"
const OpenAI = require('openai');
(async () => {
  const client = new OpenAI();
  const plain = await client.responses.create({ model: 'gpt-5.1-codex', input: 'Say hi', temperature: 0.2 });
  const stream = await client.responses.create({ model: 'gpt-5.1-codex', input: 'Say hi', stream: true });
  const events = []; let streamed = '';
  for await (const event of stream) {
    events.push(event.type);
    if (event.type === 'response.output_text.delta') streamed += event.delta;
  }
  const models = [];
  for await (const m of client.models.list()) models.push(m.id);
  console.log(JSON.stringify({ text: plain.output_text, status: plain.status, events, streamed, models }));
})().catch((e) => { console.error(e); process.exit(1); });
"#;

fn check(result: &Value, account: &str) {
    let hello = format!("Hello from {account}");
    assert_eq!(result["text"], hello.as_str(), "{result}");
    assert_eq!(result["status"], "completed", "{result}");
    let events = result["events"].as_array().expect("events");
    assert_eq!(
        events.first().and_then(Value::as_str),
        Some("response.created")
    );
    assert_eq!(
        events.last().and_then(Value::as_str),
        Some("response.completed")
    );
    assert_eq!(result["streamed"], hello.as_str(), "{result}");
    let models = result["models"].as_array().expect("models");
    assert!(models.iter().any(|m| m == "gpt-5.1-codex"), "{result}");
}

#[tokio::test(flavor = "multi_thread")]
async fn python_sdk_responses_and_models() {
    let Some(python) = installed("CODEX_POOLER_PYTHON", "venv/bin/python") else {
        return;
    };
    let pool = TestPool::new(&["acct-py"], |_, _| {});
    let gateway = pool.gateway();
    let mut command = Command::new(python);
    command.args(["-c", PYTHON]);
    check(&run_sdk(command, &gateway, &pool.key), "acct-py");
    gateway.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn node_sdk_responses_and_models() {
    let Some(modules) = installed("CODEX_POOLER_NODE_MODULES", "sdk-node/node_modules") else {
        return;
    };
    let pool = TestPool::new(&["acct-node"], |_, _| {});
    let gateway = pool.gateway();
    let mut command = Command::new("node");
    command.env("NODE_PATH", modules).args(["-e", NODE]);
    check(&run_sdk(command, &gateway, &pool.key), "acct-node");
    gateway.stop();
}

/// Waits for the pool's catalog (image turns run on one of its models), then makes an image
/// and a transcription; prints the image bytes in hex and the transcript.
const PYTHON_MEDIA: &str = r#"
import json, time, base64, openai
client = openai.OpenAI()
deadline = time.time() + 15
while not list(client.models.list()) and time.time() < deadline:
    time.sleep(0.1)
image = client.images.generate(model="gpt-image-1", prompt="a red fox", size="1024x1024")
raw = base64.b64decode(image.data[0].b64_json)
transcript = client.audio.transcriptions.create(
    model="gpt-4o-transcribe", file=("a.wav", b"RIFF0000WAVE", "audio/wav"))
print(json.dumps({"image": raw.hex(), "text": transcript.text}))
"#;

const NODE_MEDIA: &str = r#"
const OpenAI = require('openai');
const { toFile } = require('openai');
(async () => {
  const client = new OpenAI();
  const deadline = Date.now() + 15000;
  for (;;) {
    const models = [];
    for await (const m of client.models.list()) models.push(m.id);
    if (models.length > 0 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const image = await client.images.generate({ model: 'gpt-image-1', prompt: 'a red fox' });
  const raw = Buffer.from(image.data[0].b64_json, 'base64');
  const file = await toFile(Buffer.from('RIFF0000WAVE'), 'a.wav', { type: 'audio/wav' });
  const transcript = await client.audio.transcriptions.create({ model: 'gpt-4o-transcribe', file });
  console.log(JSON.stringify({ image: raw.toString('hex'), text: transcript.text }));
})().catch((e) => { console.error(e); process.exit(1); });
"#;

/// The image is the fake's bytes for `account`; the transcript names it.
fn check_media(result: &Value, account: &str) {
    let expected: String = [
        &b"\x89PNG\r\n\x1a\n"[..],
        format!("image-from-{account} inputs=0").as_bytes(),
    ]
    .concat()
    .iter()
    .map(|b| format!("{b:02x}"))
    .collect();
    assert_eq!(result["image"], expected.as_str(), "{result}");
    let text = result["text"].as_str().expect("a transcript");
    assert!(
        text.starts_with(&format!("transcribed by {account}")),
        "{result}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn python_sdk_images_and_transcription() {
    let Some(python) = installed("CODEX_POOLER_PYTHON", "venv/bin/python") else {
        return;
    };
    let pool = TestPool::new(&["acct-pym"], |_, _| {});
    let gateway = pool.gateway();
    let mut command = Command::new(python);
    command.args(["-c", PYTHON_MEDIA]);
    check_media(&run_sdk(command, &gateway, &pool.key), "acct-pym");
    gateway.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn node_sdk_images_and_transcription() {
    let Some(modules) = installed("CODEX_POOLER_NODE_MODULES", "sdk-node/node_modules") else {
        return;
    };
    let pool = TestPool::new(&["acct-nodem"], |_, _| {});
    let gateway = pool.gateway();
    let mut command = Command::new("node");
    command.env("NODE_PATH", modules).args(["-e", NODE_MEDIA]);
    check_media(&run_sdk(command, &gateway, &pool.key), "acct-nodem");
    gateway.stop();
}
