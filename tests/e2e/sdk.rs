//! The real OpenAI SDKs (PyPI `openai`, npm `openai`, versions pinned in `.ci/run`) against
//! the gateway's `/v1`, with their default parameters.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::support::*;

/// Where `.ci/run` installs an SDK: `env` overrides, else under `~/.cache/codex-pooler`.
fn installed(env: &str, cached: &str) -> Option<PathBuf> {
    installed_client(env, cached, "CODEX_POOLER_SKIP_SDK_TESTS", "the OpenAI SDK")
}

/// Runs `command` with the SDK pointed at the gateway; its last stdout line is JSON.
pub(crate) fn run_sdk(mut command: Command, gateway: &Gateway, key: &str) -> Value {
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
