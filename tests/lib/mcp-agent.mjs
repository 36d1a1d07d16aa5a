#!/usr/bin/env node
// A long-lived, unmodified MCP client (@modelcontextprotocol/sdk Client)
// driven by the test over stdin/stdout, so one agent process (one agent
// identity for mcpfence: cgroup, uid, pid) can make a scripted series of
// calls in one session.
//
//   mcp-agent.mjs --url URL [--transport streamable|sse] [--header 'Name: value' ...]
//   mcp-agent.mjs --once --url URL [--transport T] [--tool echo] [--arguments JSON] [--no-call]
//
// --once: connect, tools/list, call one tool, print one JSON line and exit:
//   {"ok":true,"pid":N,"transport":T,"serverInfo":{...},"protocolVersion":"...",
//    "tools":["echo",...],"call":{"content":[...],"isError":...}}
// or {"ok":false,"error":"..."} with exit status 1.
//
// stdin: one JSON command per line, {"seq":N,"op":OP,...}; stdout: one JSON
// line per command, {"seq":N,"ok":true,"result":...} or {"seq":N,"ok":false,"error":"..."}.
// Commands run concurrently (each answers when done), so a test can have
// several requests, and their SSE streams, open at once. Every command
// takes "session" (default "main"): one process can hold several MCP
// sessions, to one server or to several.
//   connect {url?, transport?}       -> {serverInfo, protocolVersion, sessionId, capabilities}
//                                       (defaults: --url, --transport)
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
// "mcpfence-test-model"; elicitation/create -> {"action":"decline"}, or as
// --elicit says: accept ({"action":"accept","content":{"approve":true}}),
// ignore (never answers), none (elicitation not declared at all),
// accept-after:PATH (accept once PATH exists: the test did something first).
import fs from 'node:fs';
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
    once: { type: 'boolean', default: false },
    tool: { type: 'string', default: 'echo' },
    arguments: { type: 'string', default: '{"message":"hello from mcp-agent"}' },
    'no-call': { type: 'boolean', default: false },
    'timeout-ms': { type: 'string', default: '30000' },
    elicit: { type: 'string', default: 'decline' },
  },
});

const headers = {};
for (const line of opt.header) {
  const colon = line.indexOf(':');
  headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
}
const requestInit = { headers };

// One SDK Client (one MCP session) per name; "main" is --url/--transport.
class Session {
  constructor(url, transportName) {
    this.transport = transportName === 'sse'
      ? new SSEClientTransport(url, { requestInit, eventSourceInit: { fetch: (u, init) => fetch(u, { ...init, headers: { ...init?.headers, ...headers } }) } })
      : new StreamableHTTPClientTransport(url, { requestInit });
    this.client = new Client(
      { name: 'mcpfence-test-agent', version: '1.0.0' },
      { capabilities: opt.elicit === 'none' ? { sampling: {} } : { sampling: {}, elicitation: {} } },
    );
    this.notifications = [];
    this.serverRequests = [];
    this.client.fallbackNotificationHandler = async (notification) => { this.notifications.push(notification); };
    this.client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
      this.serverRequests.push(request);
      const first = request.params.messages[0]?.content;
      return { model: 'mcpfence-test-model', role: 'assistant', content: { type: 'text', text: `sampled: ${first?.text ?? ''}` } };
    });
    if (opt.elicit !== 'none') {
      this.client.setRequestHandler(ElicitRequestSchema, async (request) => {
        this.serverRequests.push(request);
        if (opt.elicit === 'ignore') return new Promise(() => {});
        if (opt.elicit.startsWith('accept-after:')) {
          while (!fs.existsSync(opt.elicit.slice(13))) await new Promise((resolve) => setTimeout(resolve, 20));
          return { action: 'accept', content: { approve: true } };
        }
        return opt.elicit === 'accept' ? { action: 'accept', content: { approve: true } } : { action: 'decline' };
      });
    }
  }
}

// --once: the one-shot client of agents.mjs's mcpClient.
async function once() {
  const finish = (result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(result.ok ? 0 : 1);
  };
  setTimeout(() => finish({ ok: false, pid: process.pid, error: `timed out after ${opt['timeout-ms']} ms` }),
    Number(opt['timeout-ms']));
  try {
    const { client, transport } = new Session(new URL(opt.url), opt.transport);
    await client.connect(transport);
    const result = {
      ok: true,
      pid: process.pid,
      transport: opt.transport,
      serverInfo: client.getServerVersion(),
      protocolVersion: transport.protocolVersion,
      tools: (await client.listTools()).tools.map((tool) => tool.name),
    };
    if (!opt['no-call']) result.call = await client.callTool({ name: opt.tool, arguments: JSON.parse(opt.arguments) });
    await client.close();
    finish(result);
  } catch (err) {
    finish({ ok: false, pid: process.pid, error: String(err?.stack || err) });
  }
}

if (opt.once) {
  if (!opt.url || !['streamable', 'sse'].includes(opt.transport)) {
    process.stderr.write('usage: mcp-agent.mjs --once --url URL [--transport streamable|sse] ...\n');
    process.exit(2);
  }
  await once();
}

const sessions = new Map();

const ops = {
  // {session?, url?, transport?}: a new session named `session` (default
  // "main", at --url) to url (default --url).
  async connect({ session = 'main', url = opt.url, transport = opt.transport }) {
    const s = new Session(new URL(url), transport);
    sessions.set(session, s);
    await s.client.connect(s.transport);
    return {
      serverInfo: s.client.getServerVersion(),
      capabilities: s.client.getServerCapabilities(),
      protocolVersion: s.transport.protocolVersion ?? null,
      sessionId: s.transport.sessionId ?? null,
    };
  },
  async listTools(_, { client }) {
    return { tools: (await client.listTools()).tools.map((tool) => tool.name) };
  },
  async callTool({ name, arguments: args = {}, progress = false }, { client }) {
    const seen = [];
    const options = progress ? { onprogress: (p) => seen.push(p), timeout: 60000 } : { timeout: 60000 };
    const result = await client.callTool({ name, arguments: args }, undefined, options);
    return progress ? { ...result, progress: seen } : result;
  },
  async request({ method, params }, { client }) {
    return client.request({ method, params }, ResultSchema, { timeout: 60000 });
  },
  async notifications(_, s) {
    return s.notifications;
  },
  async serverRequests(_, s) {
    return s.serverRequests;
  },
  async terminate(_, { transport }) {
    await transport.terminateSession();
    return {};
  },
  async close(_, { client }) {
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
    let session;
    if (op !== 'connect') {
      session = sessions.get(args.session ?? 'main');
      if (!session) throw new Error(`no session ${args.session ?? 'main'}: connect first`);
    }
    reply({ seq, ok: true, result: await ops[op](args, session) });
  } catch (err) {
    reply({ seq, ok: false, error: String(err?.message || err), code: err?.code ?? null });
  }
});
lines.on('close', () => process.exit(0));
