#!/usr/bin/env node
// The soak's agent (runs inside the intercepted cgroup): --calls tools/call
// messages over --conns keep-alive connections, in a fixed mix:
//   allowed echo (JSON) 40%, denied rm 12%, hidden secret 5%, rate-limited
//   "limited" 10%, batches [echo, rm, tools/list] 10% (3 messages), tools/list
//   5%, denied with an SSE-only Accept 5%, allowed echo answered as SSE by a
//   real SDK server 5%, clients that vanish mid-request 5%, 3% notifications.
// Meanwhile --stalled connections send calls whose answers they never read.
// Prints "progress N" now and then and a final JSON line with counts.
//
//   driver.mjs --mini PORT --sdk PORT --calls N [--conns 16] [--stalled 8]
import http from 'node:http';
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({
  options: {
    mini: { type: 'string' }, sdk: { type: 'string' }, calls: { type: 'string' },
    conns: { type: 'string', default: '16' }, stalled: { type: 'string', default: '8' },
  },
});
const total = Number(opt.calls);
const agents = { mini: new http.Agent({ keepAlive: true, maxSockets: Number(opt.conns) }), sdk: new http.Agent({ keepAlive: true, maxSockets: 4 }) };
const counts = { messages: 0, requests: 0, ok: 0, http_errors: 0, failures: 0, vanished: 0, kinds: {} };
let id = 0;

const call = (name, args = { message: 'soak' }) => ({ jsonrpc: '2.0', id: ++id, method: 'tools/call', params: { name, arguments: args } });
const MIX = [
  [40, 'allowed', () => ['mini', [call('echo')]]],
  [12, 'denied', () => ['mini', [call('rm')]]],
  [5, 'hidden', () => ['mini', [call('secret')]]],
  [10, 'limited', () => ['mini', [call('limited')]]],
  [10, 'batch', () => ['mini', [[call('echo'), call('rm'), { jsonrpc: '2.0', id: ++id, method: 'tools/list' }]]]],
  [5, 'list', () => ['mini', [{ jsonrpc: '2.0', id: ++id, method: 'tools/list' }]]],
  [5, 'denied-sse', () => ['mini', [call('rm')], 'text/event-stream']],
  [5, 'sdk-sse', () => ['sdk', [call('echo')]]],
  [5, 'vanish', () => ['vanish', [call('echo', { message: 'x'.repeat(2000) })]]],
  [3, 'notification', () => ['mini', [{ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1 } }]]],
];
const WEIGHT = MIX.reduce((s, [w]) => s + w, 0);
let tick = 0;
function nextJob() {
  let r = (tick++ * 7919) % WEIGHT; // a fixed, well-spread order
  for (const [w, kind, make] of MIX) {
    if (r < w) return [kind, ...make()];
    r -= w;
  }
  throw new Error('unreachable');
}

function post(target, body, accept) {
  const port = Number(target === 'sdk' ? opt.sdk : opt.mini);
  const path = target === 'sdk' ? '/mcp/stateless' : '/mcp';
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent: agents[target],
      headers: { 'Content-Type': 'application/json', Accept: accept ?? 'application/json, text/event-stream', 'Mcp-Session-Id': 'soak-session' } }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve(res.statusCode));
      res.on('error', () => resolve(0));
    });
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

// Connects, sends part of a request (or all of it), and is gone.
function vanish(body) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port: Number(opt.mini) }, () => {
      const head = `POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
      s.write(head + body.slice(0, (id % 3 === 0) ? body.length : body.length >> 1));
      setImmediate(() => { s.destroy(); resolve(); });
    });
    s.on('error', () => resolve());
  });
}

// Connections that ask for answers and never read them.
const stalled = [];
for (let i = 0; i < Number(opt.stalled); i++) {
  const s = net.connect({ host: '127.0.0.1', port: Number(opt.mini) }, () => {
    s.pause();
    const body = JSON.stringify(call('echo', { message: 'y'.repeat(256 << 10) }));
    for (let k = 0; k < 16; k++) s.write(`POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  });
  s.on('error', () => {});
  stalled.push(s);
}

let lastProgress = 0;
async function worker() {
  while (counts.messages < total) {
    const [kind, target, [payload], accept] = nextJob();
    const body = JSON.stringify(payload);
    counts.messages += Array.isArray(payload) ? payload.length : 1;
    counts.requests++;
    counts.kinds[kind] = (counts.kinds[kind] || 0) + 1;
    if (target === 'vanish') {
      await vanish(body);
      counts.vanished++;
    } else {
      const status = await post(target, body, accept);
      if (status >= 200 && status < 300) counts.ok++;
      else if (status) counts.http_errors++;
      else counts.failures++;
    }
    if (counts.messages - lastProgress >= 10000) {
      lastProgress = counts.messages;
      console.log(`progress ${counts.messages}`);
    }
  }
}
await Promise.all(Array.from({ length: Number(opt.conns) + 4 }, worker));
for (const s of stalled) s.destroy();
agents.mini.destroy();
agents.sdk.destroy();
console.log(JSON.stringify(counts));
