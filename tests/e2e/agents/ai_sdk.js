// The Vercel AI SDK (npm `ai` + `@ai-sdk/openai`) against the gateway: `generateText` and
// `streamText` with one tool, so each runs a tool-call round trip (call, result, final text).
// Usage: node ai_sdk.js <responses|chat> ; env OPENAI_BASE_URL, OPENAI_API_KEY, AGENT_NOTE (the
// file the tool writes). Prints one JSON line: the texts, the tool calls it executed and the request paths.
const fs = require('fs');
const { generateText, streamText, tool, jsonSchema, stepCountIs } = require('ai');
const { createOpenAI } = require('@ai-sdk/openai');

const api = process.argv[2];
// Every request path the SDK sends, to show which API the model used.
const paths = [];
const openai = createOpenAI({
  baseURL: process.env.OPENAI_BASE_URL,
  apiKey: process.env.OPENAI_API_KEY,
  fetch: (url, init) => { paths.push(new URL(url).pathname); return fetch(url, init); },
});
const model = api === 'chat' ? openai.chat('gpt-5.1-codex') : openai.responses('gpt-5.1-codex');
const calls = [];
const tools = {
  write_note: tool({
    description: 'Write a note to a file',
    inputSchema: jsonSchema({
      type: 'object',
      properties: { path: { type: 'string' }, text: { type: 'string' } },
      required: ['path', 'text'],
      additionalProperties: false,
    }),
    execute: async ({ path, text }) => {
      fs.appendFileSync(path, text + '\n');
      calls.push(text);
      return `wrote ${text}`;
    },
  }),
};
const prompt = (text) =>
  `Write the note.\nCALL_TOOL: write_note ${JSON.stringify({ path: process.env.AGENT_NOTE, text })}`;

(async () => {
  const generated = await generateText({
    model, tools, stopWhen: stepCountIs(3), prompt: prompt(`${api}-generate`),
  });
  const streamed = streamText({ model, tools, stopWhen: stepCountIs(3), prompt: prompt(`${api}-stream`) });
  let text = '';
  for await (const delta of streamed.textStream) text += delta;
  console.log(JSON.stringify({
    generated: generated.text,
    generated_steps: generated.steps.length,
    streamed: text,
    streamed_steps: (await streamed.steps).length,
    calls,
    paths,
  }));
})().catch((e) => { console.error(e); process.exit(1); });
