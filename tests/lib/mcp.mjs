// MCP peers and agents for the policy tests:
//   startRecorder(sb, options)     recording-server.mjs: a real SDK server that
//                                  writes down every request and tool call it gets
//   spawnAgent(sb, url, options)   mcp-agent.mjs: a long-lived SDK client in a
//                                  cgroup, driven command by command
//   rawExchange(sb, port, steps)   raw-client.mjs: exact HTTP bytes, in a cgroup
//   denialText(result)             the text of an isError tools/call result
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitForListen } from './ports.mjs';
import { sleep } from './sleep.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const RECORDING_SERVER = path.join(here, 'recording-server.mjs');
const MCP_AGENT = path.join(here, 'mcp-agent.mjs');
const RAW_CLIENT = path.join(here, 'raw-client.mjs');

let recorderSequence = 0;
let rawSequence = 0;

// Starts the recording server outside the test cgroups. options: tools
// (names), jsonResponse, allowedHosts, allowedOrigins. Returns
// { port, url(path, host), records(), calls(), posts() }.
// pod: start it inside that pod (pods.mjs) instead, on port (required).
export async function startRecorder(sb, { tools = ['echo'], jsonResponse = false, allowedHosts, allowedOrigins, port, pod } = {}) {
  const recordFile = path.join(sb.tmp, `recorder-${++recorderSequence}.jsonl`);
  fs.writeFileSync(recordFile, '');
  const listenPort = port ?? await freePort();
  const argv = [RECORDING_SERVER, '--port', String(listenPort), '--record', recordFile, '--tools', tools.join(',')];
  if (jsonResponse) argv.push('--json-response');
  if (allowedHosts) argv.push('--allowed-hosts', allowedHosts.join(','));
  if (allowedOrigins) argv.push('--allowed-origins', allowedOrigins.join(','));
  const proc = pod ? pod.spawn(process.execPath, argv) : sb.spawn(process.execPath, argv);
  await proc.waitForOutput(/recording server listening on port/, { stream: 'stderr', timeoutMs: 20000 });
  if (!pod) await waitForListen('127.0.0.1', listenPort, 5000, () => proc.running);
  const records = () => fs.readFileSync(recordFile, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
  return {
    proc,
    port: listenPort,
    url: (p = '/mcp', host = '127.0.0.1') => `http://${host}:${listenPort}${p}`,
    records,
    calls: () => records().filter((r) => r.kind === 'call'),
    http: () => records().filter((r) => r.kind === 'http'),
    // Every HTTP request whose (decoded or raw) body contains text.
    requestsMentioning: (text) => records().filter((r) => r.kind === 'http'
      && (r.body.includes(text) || Buffer.from(r.rawBodyBase64, 'base64').toString('latin1').includes(text))),
  };
}

// Lines server-everything prints per POST it receives ("Received MCP POST
// request" for Streamable HTTP, "Client Message from" for HTTP+SSE).
export function everythingPosts(everything) {
  const pattern = everything.transport === 'sse' ? /Client Message from/g : /Received MCP POST request/g;
  return (everything.proc.stdout.match(pattern) || []).length + (everything.proc.stderr.match(pattern) || []).length;
}

export class Agent {
  constructor(proc) {
    this.proc = proc;
    this.pid = proc.pid;
    this.seq = 0;
    this.pending = new Map();
    this.buffer = '';
    proc.child.stdout.on('data', (chunk) => {
      this.buffer += chunk;
      let nl;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        let msg;
        try { msg = JSON.parse(line); } catch { continue; }
        const waiter = this.pending.get(msg.seq);
        if (waiter) {
          this.pending.delete(msg.seq);
          waiter(msg);
        }
      }
    });
    proc.exited.then(() => {
      for (const [, waiter] of this.pending) waiter({ ok: false, error: `agent exited ${JSON.stringify(proc.exitStatus)}: ${proc.stderr}` });
      this.pending.clear();
    });
  }

  // Sends one command; resolves with { ok, result | error }.
  send(op, args = {}, timeoutMs = 60000) {
    const seq = ++this.seq;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        resolve({ ok: false, error: `agent did not answer ${op} within ${timeoutMs} ms; stderr: ${this.proc.stderr}` });
      }, timeoutMs);
      this.pending.set(seq, (msg) => { clearTimeout(timer); resolve(msg); });
      if (!this.proc.running) return;
      this.proc.child.stdin.write(`${JSON.stringify({ seq, op, ...args })}\n`);
    });
  }

  // Like send, but throws unless ok; returns the result.
  async must(op, args = {}, timeoutMs) {
    const res = await this.send(op, args, timeoutMs);
    if (!res.ok) throw new Error(`agent ${op} ${JSON.stringify(args)} failed: ${res.error}\nagent stderr: ${this.proc.stderr}`);
    return res.result;
  }

  callTool(name, args = {}, extra = {}) {
    return this.must('callTool', { name, arguments: args, ...extra });
  }

  async close() {
    if (this.proc.running) await this.send('close', {}, 10000);
    this.proc.child.stdin.end();
    return this.proc.stop('SIGTERM', 5000);
  }
}

// An SDK client process in the agent cgroup (cgroup: true), another cgroup
// (a path) or outside (false). options: transport, headers ({name: value}).
export async function spawnAgent(sb, url, { transport = 'streamable', headers = {}, cgroup = true, connect = true, elicit } = {}) {
  const argv = [MCP_AGENT, '--url', url, '--transport', transport];
  if (elicit) argv.push('--elicit', elicit);
  for (const [name, value] of Object.entries(headers)) argv.push('--header', `${name}: ${value}`);
  const proc = sb.spawn(process.execPath, argv, { cgroup, stdin: 'pipe' });
  const agent = new Agent(proc);
  if (connect) agent.connected = await agent.must('connect');
  return agent;
}

// Runs raw-client.mjs with these steps (see its header) against
// host:port from the agent cgroup (or cgroup: PATH / false).
export async function rawExchange(sb, port, steps, { host = '127.0.0.1', cgroup = true, timeoutMs = 30000 } = {}) {
  const scriptFile = path.join(sb.tmp, `raw-script-${++rawSequence}.json`);
  fs.writeFileSync(scriptFile, JSON.stringify(steps));
  const argv = [RAW_CLIENT, '--host', host, '--port', String(port), '--script-file', scriptFile, '--timeout-ms', String(timeoutMs - 5000)];
  const run = cgroup === false ? sb.runOutside.bind(sb) : (c, a, o) => sb.runInCgroup(c, a, { ...o, ...(cgroup === true ? {} : { cgroup }) });
  const res = await run(process.execPath, argv, { timeoutMs });
  const line = res.stdout.trim().split('\n').pop();
  try {
    return { ...JSON.parse(line), pid: res.pid };
  } catch {
    throw new Error(`raw-client printed no JSON (exit ${res.code})\nstdout: ${res.stdout}\nstderr: ${res.stderr}`);
  }
}

// The JSON-RPC message in a raw response: the JSON body, or the SSE event
// carrying a response (result or error).
export function rawMessages(response) {
  if (response.json !== null && response.json !== undefined) return Array.isArray(response.json) ? response.json : [response.json];
  return (response.events || []).filter((e) => e && (e.result !== undefined || e.error !== undefined));
}

export const ACCEPT_BOTH = ['Accept', 'application/json, text/event-stream'];
export const JSON_TYPE = ['Content-Type', 'application/json'];

// Steps that open a Streamable HTTP session (initialize + initialized) at
// protocolVersion; later steps use {{session}}.
export function sessionSteps(pathname = '/mcp', protocolVersion = '2025-03-26') {
  return [
    { method: 'POST', path: pathname, headers: [JSON_TYPE, ACCEPT_BOTH],
      body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize',
        params: { protocolVersion, capabilities: {}, clientInfo: { name: 'raw-client', version: '1' } } }) },
    { method: 'POST', path: pathname, headers: [JSON_TYPE, ACCEPT_BOTH, ['Mcp-Session-Id', '{{session}}'], ['MCP-Protocol-Version', protocolVersion]],
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) },
  ];
}

// A POST step in the session opened by sessionSteps.
export function sessionPost(body, { pathname = '/mcp', protocolVersion = '2025-03-26', headers = [], accept = ACCEPT_BOTH[1] } = {}) {
  return { method: 'POST', path: pathname,
    headers: [JSON_TYPE, ['Accept', accept], ['Mcp-Session-Id', '{{session}}'], ['MCP-Protocol-Version', protocolVersion], ...headers],
    ...(typeof body === 'string' ? { body } : body) };
}

export function toolCall(id, name, args = {}) {
  return { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } };
}

// Text of a tools/call result's content.
export function resultText(result) {
  return (result?.content || []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');
}

// Asserts helper: a denial result from mcpfence (isError, text naming
// mcpfence, the rule and the reason). Returns the text.
export function expectDenial(assert, result, { rule, reason, retry = false } = {}) {
  assert.equal(result.isError, true, `expected an mcpfence denial, got ${JSON.stringify(result)}`);
  const text = resultText(result);
  assert.match(text, /mcpfence/i, text);
  if (rule) assert.ok(text.includes(rule), `rule ${rule} not in: ${text}`);
  if (reason) assert.ok(text.includes(reason), `reason ${reason} not in: ${text}`);
  if (retry) assert.match(text, /retry after \d+/i, text);
  return text;
}

export async function waitUntil(predicate, what, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

// A policy file object: servers = { name: { port, default, tools, hide } },
// each server's endpoints being 127.0.0.1:port and [::1]:port.
export function policyOf(servers) {
  const policy = { version: '1', servers: {} };
  for (const [name, { port, default: dflt = 'allow', tools = {}, hide }] of Object.entries(servers)) {
    policy.servers[name] = { endpoints: [`127.0.0.1:${port}`, `[::1]:${port}`], default: dflt, tools, ...(hide ? { hide } : {}) };
  }
  return policy;
}
