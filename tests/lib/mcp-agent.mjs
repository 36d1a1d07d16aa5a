#!/usr/bin/env node
// A long-lived, unmodified MCP client (@modelcontextprotocol/sdk Client)
// driven by the test over stdin/stdout, so one agent process (one agent
// identity for mcpfence: cgroup, uid, pid) can make a scripted series of
// calls in one session.
//
//   mcp-agent.mjs --url URL [--transport streamable|sse] [--header 'Name: value' ...]
//
// stdin: one JSON command per line, {"seq":N,"op":OP,...}; stdout: one JSON
// line per command, {"seq":N,"ok":true,"result":...} or {"seq":N,"ok":false,"error":"..."}.
// Commands run concurrently (each answers when done), so a test can have
// several requests, and their SSE streams, open at once.
//   connect                          -> {serverInfo, protocolVersion, sessionId, capabilities}
//   listTools                        -> {tools:[names]}
//   callTool {name, arguments, progress?}  -> the CallToolResult, plus
//                                       progress: [notifications/progress params]
//                                       when progress is true (a progressToken is sent)
//   request {method, params}         -> the raw result of any request
//   notifications                    -> every notification received so far
//   serverRequests                   -> every server->client request answered so far
//   terminate                        -> DELETE of the session (Streamable HTTP)
//   close
// The client declares sampling and elicitation and answers them itself:
// sampling/createMessage -> text "sampled: <first message text>" from model
// "mcpfence-test-model"; elicitation/create -> {"action":"decline"}.
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import {
  CreateMessageRequestSchema, ElicitRequestSchema, ResultSchema,
} from '@modelcontextprotocol/sdk/types.js';

const { values: opt } = parseArgs({
  options: {
    url: { type: 'string' },
    transport: { type: 'string', default: 'streamable' },
    header: { type: 'string', multiple: true, default: [] },
  },
});

const headers = {};
for (const line of opt.header) {
  const colon = line.indexOf(':');
  headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
}
const requestInit = { headers };
const url = new URL(opt.url);
const transport = opt.transport === 'sse'
  ? new SSEClientTransport(url, { requestInit, eventSourceInit: { fetch: (u, init) => fetch(u, { ...init, headers: { ...init?.headers, ...headers } }) } })
  : new StreamableHTTPClientTransport(url, { requestInit });

const client = new Client(
  { name: 'mcpfence-test-agent', version: '1.0.0' },
  { capabilities: { sampling: {}, elicitation: {} } },
);
const notifications = [];
const serverRequests = [];
client.fallbackNotificationHandler = async (notification) => { notifications.push(notification); };
client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
  serverRequests.push(request);
  const first = request.params.messages[0]?.content;
  return { model: 'mcpfence-test-model', role: 'assistant', content: { type: 'text', text: `sampled: ${first?.text ?? ''}` } };
});
client.setRequestHandler(ElicitRequestSchema, async (request) => {
  serverRequests.push(request);
  return { action: 'decline' };
});

const ops = {
  async connect() {
    await client.connect(transport);
    return {
      serverInfo: client.getServerVersion(),
      capabilities: client.getServerCapabilities(),
      protocolVersion: transport.protocolVersion ?? null,
      sessionId: transport.sessionId ?? null,
    };
  },
  async listTools() {
    return { tools: (await client.listTools()).tools.map((tool) => tool.name) };
  },
  async callTool({ name, arguments: args = {}, progress = false }) {
    const seen = [];
    const options = progress ? { onprogress: (p) => seen.push(p), timeout: 60000 } : { timeout: 60000 };
    const result = await client.callTool({ name, arguments: args }, undefined, options);
    return progress ? { ...result, progress: seen } : result;
  },
  async request({ method, params }) {
    return client.request({ method, params }, ResultSchema, { timeout: 60000 });
  },
  async notifications() {
    return notifications;
  },
  async serverRequests() {
    return serverRequests;
  },
  async terminate() {
    await transport.terminateSession();
    return {};
  },
  async close() {
    await client.close();
    return {};
  },
};

function reply(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

const lines = readline.createInterface({ input: process.stdin });
lines.on('line', async (line) => {
  let command;
  try {
    command = JSON.parse(line);
  } catch {
    reply({ seq: null, ok: false, error: `bad command line ${line}` });
    return;
  }
  const { seq, op, ...args } = command;
  if (!ops[op]) {
    reply({ seq, ok: false, error: `unknown op ${op}` });
    return;
  }
  try {
    reply({ seq, ok: true, result: await ops[op](args) });
  } catch (err) {
    reply({ seq, ok: false, error: String(err?.message || err), code: err?.code ?? null });
  }
});
lines.on('close', () => process.exit(0));
