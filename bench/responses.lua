-- wrk script for the codex-pooler baseline benchmark (bench/run.sh).
--
-- POSTs one Codex Responses request per call. Configured through the environment:
--   BENCH_AUTH     value of the Authorization header (required)
--   BENCH_ACCOUNT  chatgpt-account-id header (sent when set: direct and nginx targets)
--   BENCH_STREAM   "true" (SSE) or "false" (JSON)
--   BENCH_PAD      extra bytes of prompt text to make the body bigger (default 0)
--   BENCH_DIALECT  "codex" (default: POST /backend-api/codex/responses) or "chat"
--                  (POST /v1/chat/completions, the same prompt as an OpenAI chat body)
-- At the end it prints one machine-readable line:
--   BENCH requests=N duration_us=D rps=R p50_us=X p99_us=Y errors=E non2xx=S

local auth    = os.getenv("BENCH_AUTH") or error("BENCH_AUTH is not set")
local account = os.getenv("BENCH_ACCOUNT")
local stream  = os.getenv("BENCH_STREAM") or "true"
local pad     = tonumber(os.getenv("BENCH_PAD") or "0")

local text = "Say hello in one short sentence."
if pad > 0 then text = text .. " " .. string.rep("x", pad) end

local dialect = os.getenv("BENCH_DIALECT") or "codex"

wrk.method = "POST"
if dialect == "chat" then
  wrk.path = "/v1/chat/completions"
  wrk.body = '{"model":"gpt-5.1-codex",'
    .. '"messages":[{"role":"system","content":"You are Codex, a coding agent. Answer briefly."},'
    .. '{"role":"user","content":"' .. text .. '"}],'
    .. '"tools":[],"tool_choice":"auto","parallel_tool_calls":false,'
    .. '"reasoning_effort":"low","temperature":0.2,'
    .. '"stream":' .. stream .. ',"prompt_cache_key":"bench-thread-1"}'
else
  wrk.path = "/backend-api/codex/responses"
  wrk.body = '{"model":"gpt-5.1-codex",'
    .. '"instructions":"You are Codex, a coding agent. Answer briefly.",'
    .. '"input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"' .. text .. '"}]}],'
    .. '"tools":[],"tool_choice":"auto","parallel_tool_calls":false,'
    .. '"reasoning":{"effort":"low","summary":"auto"},"store":false,'
    .. '"stream":' .. stream .. ',"include":[],"prompt_cache_key":"bench-thread-1"}'
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
