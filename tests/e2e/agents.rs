//! Real agent tools through the gateway's `/v1`, each running a tool call end to end: the fake
//! model calls one of the tool's own tools (`CALL_TOOL: <name> <arguments>` in the prompt), the
//! tool runs it, sends the result back, and the fake's final answer quotes it
//! (`"Tool said: <output>"`). Versions are pinned and installed by `.ci/run`; the scripts the
//! SDK tests run sit in `tests/e2e/agents/`.
//!
//! Every tool runs with its home, config and cache directories in a temporary directory and with
//! every proxy variable and the npm registry pointed at a closed loopback port, so nothing reads
//! the real user's configuration and nothing reaches past this machine.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::sdk::run_sdk;
use crate::support::*;

/// The skip switch of this module's tests.
const SKIP: &str = "CODEX_POOLER_SKIP_AGENT_TESTS";
/// The model every tool is configured with.
const MODEL: &str = "gpt-5.1-codex";
/// A loopback address nothing listens on: every proxy and registry points there.
const NOWHERE: &str = "http://127.0.0.1:9";

/// An agent tool as `.ci/run` installs it under `~/.cache/codex-pooler/<cached>`, or `env`.
fn installed(env: &str, cached: &str, what: &str) -> Option<PathBuf> {
    installed_client(env, cached, SKIP, what)
}

/// A script of `tests/e2e/agents/`.
fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("agents")
        .join(name)
}

/// `command` isolated under `home`: HOME and the XDG directories there, proxies and the npm
/// registry nowhere, no OpenAI variables of the caller's.
fn isolated(mut command: Command, home: &Path) -> Command {
    std::fs::create_dir_all(home).unwrap();
    command
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("XDG_STATE_HOME", home.join(".local/state"))
        .env("NPM_CONFIG_REGISTRY", format!("{NOWHERE}/"))
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .env_remove("OPENAI_BASE_URL")
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_ORG_ID")
        .env_remove("OPENAI_PROJECT_ID");
    for proxy in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
    ] {
        command.env(proxy, NOWHERE);
    }
    command
}

/// Runs an agent CLI with `stdin` as its standard input; fails the test unless it exits 0;
/// returns stdout.
fn run_cli(mut command: Command, what: &str, stdin: &str) -> String {
    use std::io::Write;
    use std::process::Stdio;

    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("run {what}: {e}"));
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).unwrap();
    drop(input);
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{what} failed ({})\nstdout: {stdout}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The gateway path a client of `api` (`responses` or `chat`) posts model turns to.
fn v1_path(api: &str) -> &'static str {
    if api == "chat" {
        "/v1/chat/completions"
    } else {
        "/v1/responses"
    }
}

/// A prompt asking the fake model to call the tool `name` with `arguments`.
fn call_tool(name: &str, arguments: &Value) -> String {
    format!("Do as told.\nCALL_TOOL: {name} {arguments}")
}

/// Upstream saw the round trip: a turn whose input ends with a `function_call` of `name` and
/// the tool's `function_call_output` for it, containing `output`. Returns how many such turns.
fn round_trips(pool: &TestPool, name: &str, output: &str) -> usize {
    let turns = pool.turns();
    let round_trips = turns
        .iter()
        .filter_map(|turn| {
            let input = turn.body.as_ref()?["input"].as_array()?;
            let [.., call, result] = input.as_slice() else {
                return None;
            };
            (result["type"] == "function_call_output").then_some((call, result))
        })
        .inspect(|(call, result)| {
            assert_eq!(call["type"], "function_call", "{call}");
            assert_eq!(call["name"], name, "{call}");
            assert_eq!(call["call_id"], result["call_id"], "{call} {result}");
            let text = result["output"].to_string();
            assert!(text.contains(output), "{output} not in {result}");
        })
        .count();
    assert!(
        round_trips > 0,
        "no tool result reached upstream: {turns:?}"
    );
    round_trips
}

/// The AI SDK's `generateText` and `streamText`, each with a tool, on its `api` model
/// (`responses` or `chat`).
fn vercel_ai_sdk_runs_a_tool(api: &str) {
    let Some(modules) = installed(
        "CODEX_POOLER_AGENTS_AI_MODULES",
        "agents-ai/node_modules",
        "the Vercel AI SDK (npm ai, @ai-sdk/openai)",
    ) else {
        return;
    };
    let pool = TestPool::new(&["acct-ai"], |_, _| {});
    let gateway = pool.gateway();
    let note = pool.dir.path().join("note.txt");
    let mut command = isolated(Command::new("node"), &pool.dir.path().join("home"));
    command
        .env("NODE_PATH", modules)
        .env("AGENT_NOTE", &note)
        .arg(script("ai_sdk.js"))
        .arg(api);
    let result = run_sdk(command, &gateway, &pool.key);
    gateway.stop();

    // generateText and streamText each: the tool call, its result, the final text.
    let said = |step: &str| format!("Tool said: wrote {api}-{step}");
    assert_eq!(result["generated"], said("generate").as_str(), "{result}");
    assert_eq!(result["streamed"], said("stream").as_str(), "{result}");
    assert_eq!(result["generated_steps"], 2, "{result}");
    assert_eq!(result["streamed_steps"], 2, "{result}");
    assert_eq!(
        std::fs::read_to_string(&note).unwrap(),
        format!("{api}-generate\n{api}-stream\n")
    );
    assert_eq!(
        round_trips(&pool, "write_note", &format!("wrote {api}-")),
        2
    );
    // Two model turns each for generateText and streamText, all on the API asked for.
    assert_eq!(
        result["paths"],
        serde_json::json!(vec![v1_path(api); 4]),
        "{result}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn vercel_ai_sdk_responses_model_runs_a_tool() {
    vercel_ai_sdk_runs_a_tool("responses");
}

#[tokio::test(flavor = "multi_thread")]
async fn vercel_ai_sdk_chat_model_runs_a_tool() {
    vercel_ai_sdk_runs_a_tool("chat");
}

/// An Agents SDK `Agent` with a `@function_tool`, through `Runner.run`, on the default
/// Responses model (`responses`) or an `OpenAIChatCompletionsModel` (`chat`).
fn openai_agents_sdk_runs_a_function_tool(api: &str) {
    let Some(python) = installed(
        "CODEX_POOLER_AGENTS_PYTHON",
        "agents-venv/bin/python",
        "the OpenAI Agents SDK (PyPI openai-agents)",
    ) else {
        return;
    };
    let pool = TestPool::new(&["acct-agents"], |_, _| {});
    let gateway = pool.gateway();
    let note = pool.dir.path().join("note.txt");
    let mut command = isolated(Command::new(python), &pool.dir.path().join("home"));
    command
        .env("AGENT_NOTE", &note)
        .arg(script("openai_agents.py"))
        .arg(api);
    let result = run_sdk(command, &gateway, &pool.key);
    gateway.stop();

    let text = format!("agents-{api}");
    assert_eq!(
        result["output"],
        format!("Tool said: wrote {text}").as_str(),
        "{result}"
    );
    assert_eq!(result["calls"], serde_json::json!([text]));
    assert_eq!(std::fs::read_to_string(&note).unwrap(), format!("{text}\n"));
    assert_eq!(
        round_trips(&pool, "write_note", &format!("wrote {text}")),
        1
    );
    assert_eq!(
        result["paths"],
        serde_json::json!(vec![v1_path(api); 2]),
        "{result}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn openai_agents_sdk_runs_a_function_tool_over_responses() {
    openai_agents_sdk_runs_a_function_tool("responses");
}

#[tokio::test(flavor = "multi_thread")]
async fn openai_agents_sdk_runs_a_function_tool_over_chat_completions() {
    openai_agents_sdk_runs_a_function_tool("chat");
}

/// pi's `models.json`: one provider at the gateway's `/v1` speaking `api`, with the pool key.
fn pi_models(gateway: &Gateway, key: &str, api: &str) -> String {
    serde_json::json!({"providers": {"pool": {
        "baseUrl": format!("{}/v1", gateway.url()),
        "api": api,
        "apiKey": key,
        "models": [{
            "id": MODEL, "reasoning": true, "input": ["text"],
            "contextWindow": 272_000, "maxTokens": 32_000,
        }],
    }}})
    .to_string()
}

/// pi in print mode running its `bash` tool, its provider speaking `api`
/// (`openai-responses` or `openai-completions`).
fn pi_coding_agent_runs_bash(api: &str) {
    let Some(pi) = installed(
        "CODEX_POOLER_PI_BIN",
        "agents-pi/node_modules/.bin/pi",
        "the pi coding agent (npm @mariozechner/pi-coding-agent)",
    ) else {
        return;
    };
    let pool = TestPool::new(&["acct-pi"], |_, _| {});
    let gateway = pool.gateway();
    let (home, work) = (pool.dir.path().join("home"), pool.dir.path().join("work"));
    std::fs::create_dir_all(&work).unwrap();
    let agent_dir = home.join(".pi/agent");
    std::fs::create_dir_all(&agent_dir).unwrap();
    write_file(
        &agent_dir,
        "models.json",
        &pi_models(&gateway, &pool.key, api),
    );

    let prompt = call_tool(
        "bash",
        &serde_json::json!({"command": "echo pi-ran > ran.txt && cat ran.txt"}),
    );
    let mut command = isolated(Command::new(pi), &home);
    command
        .current_dir(&work)
        .env("PWD", &work)
        .env("PI_CODING_AGENT_DIR", &agent_dir)
        .env("PI_OFFLINE", "1")
        .env("PI_TELEMETRY", "0")
        .args(["--no-session", "--provider", "pool", "--model", MODEL])
        .args(["-p", &prompt]);
    let stdout = run_cli(command, "pi", "");
    gateway.stop();

    assert_eq!(stdout.trim(), "Tool said: pi-ran", "{stdout}");
    assert_eq!(
        std::fs::read_to_string(work.join("ran.txt")).unwrap(),
        "pi-ran\n"
    );
    assert_eq!(round_trips(&pool, "bash", "pi-ran"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn pi_coding_agent_runs_bash_over_responses() {
    pi_coding_agent_runs_bash("openai-responses");
}

#[tokio::test(flavor = "multi_thread")]
async fn pi_coding_agent_runs_bash_over_chat_completions() {
    pi_coding_agent_runs_bash("openai-completions");
}

/// opencode's `opencode.json`: the provider `pool` from the npm package `npm` (bundled with
/// opencode) at the gateway's `/v1`, its model the default, tools allowed without asking.
fn opencode_config(gateway: &Gateway, key: &str, npm: &str) -> String {
    serde_json::json!({
        "$schema": "https://opencode.ai/config.json",
        "provider": {"pool": {
            "npm": npm,
            "name": "codex-pooler",
            "options": {"baseURL": format!("{}/v1", gateway.url()), "apiKey": key},
            "models": {MODEL: {"name": MODEL}},
        }},
        "model": format!("pool/{MODEL}"),
        "autoupdate": false,
        "share": "disabled",
        "permission": {"bash": "allow", "edit": "allow"},
    })
    .to_string()
}

/// `opencode run` in `work` with the prompt on stdin (a prompt argument with spaces reaches
/// the model wrapped in quotes), its offline switches on; returns stdout.
fn opencode_run(opencode: &Path, home: &Path, work: &Path, prompt: &str) -> String {
    let mut command = isolated(Command::new(opencode), home);
    command
        .current_dir(work)
        // opencode takes its project directory from `PWD`, not from its working directory.
        .env("PWD", work)
        .env("OPENCODE_DISABLE_AUTOUPDATE", "1")
        .env("OPENCODE_DISABLE_MODELS_FETCH", "1")
        .env("OPENCODE_DISABLE_DEFAULT_PLUGINS", "1")
        .env("OPENCODE_DISABLE_LSP_DOWNLOAD", "1")
        .env("OPENCODE_DISABLE_SHARE", "1")
        .env("OPENCODE_DISABLE_CLAUDE_CODE", "1")
        .env("OPENCODE_DISABLE_EXTERNAL_SKILLS", "1")
        .args(["run", "Do as told."]);
    run_cli(command, "opencode", prompt)
}

/// `opencode run` running its `bash` tool, its provider from the npm package `npm`
/// (`@ai-sdk/openai`: Responses; `@ai-sdk/openai-compatible`: chat completions).
fn opencode_runs_bash(npm: &str) {
    let Some(opencode) = installed(
        "CODEX_POOLER_OPENCODE_BIN",
        "agents-opencode/node_modules/.bin/opencode",
        "opencode (npm opencode-ai)",
    ) else {
        return;
    };
    let pool = TestPool::new(&["acct-oc"], |_, _| {});
    let gateway = pool.gateway();
    let (home, work) = (pool.dir.path().join("home"), pool.dir.path().join("work"));
    std::fs::create_dir_all(&work).unwrap();
    write_file(
        &work,
        "opencode.json",
        &opencode_config(&gateway, &pool.key, npm),
    );

    let prompt = call_tool(
        "bash",
        &serde_json::json!({
            "command": "echo oc-ran > ran.txt && cat ran.txt",
            "description": "Write ran.txt",
        }),
    );
    let stdout = opencode_run(&opencode, &home, &work, &prompt);
    gateway.stop();

    assert!(stdout.contains("Tool said: oc-ran"), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(work.join("ran.txt")).unwrap(),
        "oc-ran\n"
    );
    assert_eq!(round_trips(&pool, "bash", "oc-ran"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn opencode_runs_bash_over_responses() {
    opencode_runs_bash("@ai-sdk/openai");
}

#[tokio::test(flavor = "multi_thread")]
async fn opencode_runs_bash_over_chat_completions() {
    opencode_runs_bash("@ai-sdk/openai-compatible");
}

/// The Continue CLI's `config.yaml`: one `openai` model at the gateway's `/v1`.
fn continue_config(gateway: &Gateway, key: &str) -> String {
    format!(
        "name: pool\nversion: 1.0.0\nschema: v1\nmodels:\n  - name: pool\n    provider: openai\n    \
         model: {MODEL}\n    apiBase: {}/v1\n    apiKey: {key}\n    roles: [chat, edit, apply]\n",
        gateway.url()
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn continue_cli_runs_bash_over_responses() {
    let Some(cn) = installed(
        "CODEX_POOLER_CONTINUE_BIN",
        "agents-continue/node_modules/.bin/cn",
        "the Continue CLI (npm @continuedev/cli)",
    ) else {
        return;
    };
    let pool = TestPool::new(&["acct-cn"], |_, _| {});
    let gateway = pool.gateway();
    let (home, work) = (pool.dir.path().join("home"), pool.dir.path().join("work"));
    std::fs::create_dir_all(&work).unwrap();
    let config = write_file(
        pool.dir.path(),
        "config.yaml",
        &continue_config(&gateway, &pool.key),
    );

    // Continue uses the Responses API for GPT-5 models; its shell tool is `Bash`.
    let prompt = call_tool(
        "Bash",
        &serde_json::json!({"command": "echo cn-ran > ran.txt && cat ran.txt"}),
    );
    let mut command = isolated(Command::new(cn), &home);
    command
        .current_dir(&work)
        .env("PWD", &work)
        .env("CONTINUE_GLOBAL_DIR", home.join(".continue"))
        .env("CONTINUE_CLI_ENABLE_TELEMETRY", "0")
        .env("CONTINUE_METRICS_ENABLED", "0")
        .arg("--config")
        .arg(&config)
        .args(["--auto", "-p", &prompt]);
    let stdout = run_cli(command, "cn", "");
    gateway.stop();

    assert_eq!(stdout.trim(), "Tool said: cn-ran", "{stdout}");
    assert_eq!(
        std::fs::read_to_string(work.join("ran.txt")).unwrap(),
        "cn-ran\n"
    );
    assert_eq!(round_trips(&pool, "Bash", "cn-ran"), 1);
}
