-- wrk script for the codex-pooler baseline benchmark (bench/run.sh).
--
-- POSTs one Codex Responses request per call. Configured through the environment:
--   BENCH_AUTH     value of the Authorization header (required)
--   BENCH_ACCOUNT  chatgpt-account-id header (sent when set: direct and nginx targets)
--   BENCH_STREAM   "true" (SSE) or "false" (JSON)
--   BENCH_PAD      extra bytes of prompt text to make the body bigger (default 0)
--   BENCH_SURFACE  "backend" (default: /backend-api/codex/responses), "v1-responses"
--                  (/v1/responses) or "v1-chat" (/v1/chat/completions); the same turn each time
-- At the end it prints one machine-readable line:
--   BENCH requests=N duration_us=D rps=R p50_us=X p99_us=Y errors=E non2xx=S

local auth    = os.getenv("BENCH_AUTH") or error("BENCH_AUTH is not set")
local account = os.getenv("BENCH_ACCOUNT")
local stream  = os.getenv("BENCH_STREAM") or "true"
local pad     = tonumber(os.getenv("BENCH_PAD") or "0")
local surface = os.getenv("BENCH_SURFACE") or "backend"

local text = "Say hello in one short sentence."
if pad > 0 then text = text .. " " .. string.rep("x", pad) end

local instructions = "You are Codex, a coding agent. Answer briefly."
wrk.method = "POST"
if surface == "backend" then
  wrk.path = "/backend-api/codex/responses"
  wrk.body = '{"model":"gpt-5.1-codex",'
    .. '"instructions":"' .. instructions .. '",'
    .. '"input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"' .. text .. '"}]}],'
    .. '"tools":[],"tool_choice":"auto","parallel_tool_calls":false,'
    .. '"reasoning":{"effort":"low","summary":"auto"},"store":false,'
    .. '"stream":' .. stream .. ',"include":[],"prompt_cache_key":"bench-thread-1"}'
elseif surface == "v1-responses" then
  -- What the OpenAI SDKs send: the gateway translates it (stream and store forced upstream).
  wrk.path = "/v1/responses"
  wrk.body = '{"model":"gpt-5.1-codex","instructions":"' .. instructions .. '",'
    .. '"input":"' .. text .. '","reasoning":{"effort":"low"},'
    .. '"stream":' .. stream .. ',"prompt_cache_key":"bench-thread-1"}'
elseif surface == "v1-chat" then
  wrk.path = "/v1/chat/completions"
  wrk.body = '{"model":"gpt-5.1-codex","messages":['
    .. '{"role":"system","content":"' .. instructions .. '"},'
    .. '{"role":"user","content":"' .. text .. '"}],'
    .. '"reasoning_effort":"low","stream":' .. stream .. ',"prompt_cache_key":"bench-thread-1"}'
else
  error("unknown BENCH_SURFACE " .. surface)
end
wrk.headers["Content-Type"]  = "application/json"
wrk.headers["Authorization"] = auth
if stream == "true" then
  wrk.headers["Accept"] = "text/event-stream"
else
  wrk.headers["Accept"] = "application/json"
end
if account and account ~= "" then
  wrk.headers["chatgpt-account-id"] = account
end

function done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    "BENCH requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d errors=%d non2xx=%d\n",
    summary.requests, summary.duration, summary.requests / secs,
    math.floor(latency:percentile(50)), math.floor(latency:percentile(99)),
    e.connect + e.read + e.write + e.timeout, e.status))
end
