//! The real OpenAI SDKs (PyPI `openai`, npm `openai`, versions pinned in `.ci/run`) against
//! the gateway's `/v1`, with their default parameters: responses, models, chat completions,
//! images, transcriptions and files.

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

/// Chat completions: plain, streamed with the usage chunk, and a tool-call round trip (call,
/// result, final answer) in both modes.
const PYTHON_CHAT: &str = r#"
import json, openai
client = openai.OpenAI()
M = "gpt-5.1-codex"
hi = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hi"}]
plain = client.chat.completions.create(model=M, messages=hi, temperature=0.2, max_tokens=64)
streamed, finish, usage = "", None, None
for chunk in client.chat.completions.create(model=M, messages=hi, stream=True,
                                            stream_options={"include_usage": True}):
    if chunk.usage:
        usage = chunk.usage.total_tokens
    for choice in chunk.choices:
        streamed += choice.delta.content or ""
        finish = choice.finish_reason or finish
tools = [{"type": "function", "function": {"name": "exec_command", "parameters": {
    "type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"]}}}]
ask = [{"role": "user", "content": "RUN_TOOL: ls"}]

def round_trip(stream):
    if stream:
        call, why = {"id": None, "name": "", "arguments": ""}, None
        for chunk in client.chat.completions.create(model=M, messages=ask, tools=tools, stream=True):
            for choice in chunk.choices:
                for tc in choice.delta.tool_calls or []:
                    assert tc.index == 0
                    call["id"] = tc.id or call["id"]
                    call["name"] += (tc.function and tc.function.name) or ""
                    call["arguments"] += (tc.function and tc.function.arguments) or ""
                why = choice.finish_reason or why
    else:
        reply = client.chat.completions.create(model=M, messages=ask, tools=tools)
        why = reply.choices[0].finish_reason
        tc = reply.choices[0].message.tool_calls[0]
        call = {"id": tc.id, "name": tc.function.name, "arguments": tc.function.arguments}
    answer = ask + [
        {"role": "assistant", "content": None, "tool_calls": [{"id": call["id"], "type": "function",
            "function": {"name": call["name"], "arguments": call["arguments"]}}]},
        {"role": "tool", "tool_call_id": call["id"], "content": "a.txt"},
    ]
    if stream:
        text = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(
            model=M, messages=answer, tools=tools, stream=True) if c.choices)
    else:
        text = client.chat.completions.create(model=M, messages=answer, tools=tools).choices[0].message.content
    return {"finish": why, "name": call["name"], "args": json.loads(call["arguments"]), "answer": text}

print(json.dumps({"plain": plain.choices[0].message.content, "finish": plain.choices[0].finish_reason,
                  "streamed": streamed, "streamed_finish": finish, "usage": usage,
                  "tools": [round_trip(False), round_trip(True)]}))
"#;

/// `json_schema` structured output, parsed by the SDK into a pydantic model.
const PYTHON_PARSE: &str = r#"
import json, openai, pydantic
class City(pydantic.BaseModel):
    city: str
client = openai.OpenAI()
reply = client.chat.completions.parse(model="gpt-5.1-codex", response_format=City,
    messages=[{"role": "user", "content": "Name a city"}])
print(json.dumps({"city": reply.choices[0].message.parsed.city}))
"#;

const NODE_CHAT: &str = r#"
const OpenAI = require('openai');
(async () => {
  const client = new OpenAI();
  const M = 'gpt-5.1-codex';
  const hi = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Say hi' }];
  const plain = await client.chat.completions.create({ model: M, messages: hi, temperature: 0.2 });
  let streamed = '', finish = null, usage = null;
  const stream = await client.chat.completions.create({ model: M, messages: hi, stream: true,
    stream_options: { include_usage: true } });
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage.total_tokens;
    for (const choice of chunk.choices) {
      streamed += choice.delta.content || '';
      finish = choice.finish_reason || finish;
    }
  }
  const tools = [{ type: 'function', function: { name: 'exec_command', parameters: {
    type: 'object', properties: { cmd: { type: 'string' } }, required: ['cmd'] } } }];
  const ask = [{ role: 'user', content: 'RUN_TOOL: ls' }];
  const roundTrip = async (streaming) => {
    let call, why = null;
    if (streaming) {
      call = { id: null, name: '', arguments: '' };
      const s = await client.chat.completions.create({ model: M, messages: ask, tools, stream: true });
      for await (const chunk of s) {
        for (const choice of chunk.choices) {
          for (const tc of choice.delta.tool_calls || []) {
            if (tc.index !== 0) throw new Error('index ' + tc.index);
            call.id = tc.id || call.id;
            call.name += (tc.function && tc.function.name) || '';
            call.arguments += (tc.function && tc.function.arguments) || '';
          }
          why = choice.finish_reason || why;
        }
      }
    } else {
      const reply = await client.chat.completions.create({ model: M, messages: ask, tools });
      why = reply.choices[0].finish_reason;
      const tc = reply.choices[0].message.tool_calls[0];
      call = { id: tc.id, name: tc.function.name, arguments: tc.function.arguments };
    }
    const answer = ask.concat([
      { role: 'assistant', content: null, tool_calls: [{ id: call.id, type: 'function',
        function: { name: call.name, arguments: call.arguments } }] },
      { role: 'tool', tool_call_id: call.id, content: 'a.txt' },
    ]);
    let text = '';
    if (streaming) {
      const s = await client.chat.completions.create({ model: M, messages: answer, tools, stream: true });
      for await (const chunk of s) for (const c of chunk.choices) text += c.delta.content || '';
    } else {
      const reply = await client.chat.completions.create({ model: M, messages: answer, tools });
      text = reply.choices[0].message.content;
    }
    return { finish: why, name: call.name, args: JSON.parse(call.arguments), answer: text };
  };
  const toolRuns = [await roundTrip(false), await roundTrip(true)];
  console.log(JSON.stringify({ plain: plain.choices[0].message.content,
    finish: plain.choices[0].finish_reason, streamed, streamed_finish: finish, usage,
    tools: toolRuns }));
})().catch((e) => { console.error(e); process.exit(1); });
"#;

/// `json_schema` structured output as a plain JSON schema, the content parsed as JSON.
const NODE_PARSE: &str = r#"
const OpenAI = require('openai');
(async () => {
  const client = new OpenAI();
  const reply = await client.chat.completions.create({ model: 'gpt-5.1-codex',
    messages: [{ role: 'user', content: 'Name a city' }],
    response_format: { type: 'json_schema', json_schema: { name: 'city', strict: true, schema: {
      type: 'object', properties: { city: { type: 'string' } }, required: ['city'],
      additionalProperties: false } } } });
  console.log(JSON.stringify({ city: JSON.parse(reply.choices[0].message.content).city }));
})().catch((e) => { console.error(e); process.exit(1); });
"#;

/// The answer structured-output runs get from the fake: a JSON document, as a model
/// following the schema writes it.
const CITY_JSON: &str = r#"{"city":"Paris"}"#;

fn check_chat(result: &Value, account: &str) {
    let hello = format!("Hello from {account}");
    assert_eq!(result["plain"], hello.as_str(), "{result}");
    assert_eq!(result["finish"], "stop", "{result}");
    assert_eq!(result["streamed"], hello.as_str(), "{result}");
    assert_eq!(result["streamed_finish"], "stop", "{result}");
    assert!(result["usage"].as_u64().is_some_and(|t| t > 0), "{result}");
    for run in result["tools"].as_array().expect("tool runs") {
        assert_eq!(run["finish"], "tool_calls", "{result}");
        assert_eq!(run["name"], "exec_command", "{result}");
        assert_eq!(run["args"], serde_json::json!({"cmd": "ls"}), "{result}");
        assert_eq!(run["answer"], "Tool said: a.txt", "{result}");
    }
}

/// Runs the chat script, then the structured-output script with the fake answering JSON.
fn chat_and_parse(
    pool: &TestPool,
    gateway: &Gateway,
    account: &str,
    command: impl Fn(&str) -> Command,
    scripts: (&str, &str),
) {
    check_chat(&run_sdk(command(scripts.0), gateway, &pool.key), account);
    pool.fake
        .update_config(|c| c.text = Some(CITY_JSON.to_owned()));
    let parsed = run_sdk(command(scripts.1), gateway, &pool.key);
    assert_eq!(parsed["city"], "Paris", "{parsed}");
    let upstream = pool
        .turns()
        .pop()
        .expect("a turn")
        .body
        .expect("a JSON body");
    assert_eq!(
        upstream["text"]["format"]["type"], "json_schema",
        "{upstream}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn python_sdk_chat_completions() {
    let Some(python) = installed("CODEX_POOLER_PYTHON", "venv/bin/python") else {
        return;
    };
    let pool = TestPool::new(&["acct-py-chat"], |_, _| {});
    let gateway = pool.gateway();
    let command = |script: &str| {
        let mut command = Command::new(&python);
        command.args(["-c", script]);
        command
    };
    chat_and_parse(
        &pool,
        &gateway,
        "acct-py-chat",
        command,
        (PYTHON_CHAT, PYTHON_PARSE),
    );
    gateway.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn node_sdk_chat_completions() {
    let Some(modules) = installed("CODEX_POOLER_NODE_MODULES", "sdk-node/node_modules") else {
        return;
    };
    let pool = TestPool::new(&["acct-node-chat"], |_, _| {});
    let gateway = pool.gateway();
    let command = |script: &str| {
        let mut command = Command::new("node");
        command.env("NODE_PATH", &modules).args(["-e", script]);
        command
    };
    chat_and_parse(
        &pool,
        &gateway,
        "acct-node-chat",
        command,
        (NODE_CHAT, NODE_PARSE),
    );
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

/// Uploads a file with `purpose="user_data"`, retrieves it and lists the key's files.
const PYTHON_FILES: &str = r#"
import json, openai
client = openai.OpenAI()
made = client.files.create(file=("notes.txt", b"file bytes from python", "text/plain"), purpose="user_data")
got = client.files.retrieve(made.id)
listed = [f.id for f in client.files.list()]
print(json.dumps({"id": made.id, "bytes": made.bytes, "filename": made.filename,
                  "got": [got.id, got.bytes, got.filename, got.purpose], "listed": listed}))
"#;

const NODE_FILES: &str = r#"
const OpenAI = require('openai');
const { toFile } = require('openai');
(async () => {
  const client = new OpenAI();
  const file = await toFile(Buffer.from('file bytes from node'), 'notes.txt', { type: 'text/plain' });
  const made = await client.files.create({ file, purpose: 'user_data' });
  const got = await client.files.retrieve(made.id);
  const listed = [];
  for await (const f of client.files.list()) listed.push(f.id);
  console.log(JSON.stringify({ id: made.id, bytes: made.bytes, filename: made.filename,
    got: [got.id, got.bytes, got.filename, got.purpose], listed }));
})().catch((e) => { console.error(e); process.exit(1); });
"#;

/// The upload's id names `account`, its size is `content`'s, and the fake holds `content`.
fn check_file(result: &Value, pool: &TestPool, account: &str, content: &str) {
    let id = result["id"].as_str().expect("a file id");
    assert!(id.starts_with(&format!("file-{account}-")), "{result}");
    assert_eq!(result["bytes"], content.len(), "{result}");
    assert_eq!(result["filename"], "notes.txt", "{result}");
    assert_eq!(
        result["got"],
        serde_json::json!([id, content.len(), "notes.txt", "user_data"]),
        "{result}"
    );
    assert_eq!(result["listed"], serde_json::json!([id]), "{result}");
    assert_eq!(
        pool.fake.state().uploaded(id).as_deref(),
        Some(content.as_bytes())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn python_sdk_files() {
    let Some(python) = installed("CODEX_POOLER_PYTHON", "venv/bin/python") else {
        return;
    };
    let pool = TestPool::new(&["acct-pyf"], |_, _| {});
    let gateway = pool.gateway();
    let mut command = Command::new(python);
    command.args(["-c", PYTHON_FILES]);
    let result = run_sdk(command, &gateway, &pool.key);
    check_file(&result, &pool, "acct-pyf", "file bytes from python");
    gateway.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn node_sdk_files() {
    let Some(modules) = installed("CODEX_POOLER_NODE_MODULES", "sdk-node/node_modules") else {
        return;
    };
    let pool = TestPool::new(&["acct-nodef"], |_, _| {});
    let gateway = pool.gateway();
    let mut command = Command::new("node");
    command.env("NODE_PATH", modules).args(["-e", NODE_FILES]);
    let result = run_sdk(command, &gateway, &pool.key);
    check_file(&result, &pool, "acct-nodef", "file bytes from node");
    gateway.stop();
}
