"""The OpenAI Agents SDK (PyPI `openai-agents`) against the gateway: an `Agent` with one
`@function_tool`, run by `Runner.run`, so it runs a tool-call round trip (call, result, final
text). Usage: python openai_agents.py <responses|chat>; env OPENAI_BASE_URL, OPENAI_API_KEY,
AGENT_NOTE (the file the tool writes). Prints one JSON line: the final output, the tool calls and
the request paths.
"""

import asyncio
import json
import os
import sys

from agents import (
    Agent,
    OpenAIChatCompletionsModel,
    Runner,
    function_tool,
    set_default_openai_client,
    set_tracing_disabled,
)
from openai import AsyncOpenAI, DefaultAsyncHttpxClient

CALLS = []
PATHS = []


async def record_path(request) -> None:
    PATHS.append(request.url.path)


@function_tool
def write_note(path: str, text: str) -> str:
    """Write a note to a file."""
    with open(path, "a", encoding="utf-8") as f:
        f.write(text + "\n")
    CALLS.append(text)
    return f"wrote {text}"


async def main(api: str) -> None:
    set_tracing_disabled(True)
    client = AsyncOpenAI(
        base_url=os.environ["OPENAI_BASE_URL"],
        api_key=os.environ["OPENAI_API_KEY"],
        http_client=DefaultAsyncHttpxClient(event_hooks={"request": [record_path]}),
    )
    set_default_openai_client(client, use_for_tracing=False)
    model = "gpt-5.1-codex"
    if api == "chat":
        model = OpenAIChatCompletionsModel(model=model, openai_client=client)
    agent = Agent(name="notes", instructions="Write notes when asked.", tools=[write_note], model=model)
    args = json.dumps({"path": os.environ["AGENT_NOTE"], "text": f"agents-{api}"})
    result = await Runner.run(agent, f"Write the note.\nCALL_TOOL: write_note {args}")
    print(json.dumps({"output": result.final_output, "calls": CALLS, "paths": PATHS}))


asyncio.run(main(sys.argv[1]))
