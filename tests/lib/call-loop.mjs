#!/usr/bin/env node
// An agent that keeps calling tools, for restart tests: stateless
// tools/call POSTs (2026-07-28 shape, one new TCP connection each) to
// http://127.0.0.1:PORT/mcp/stateless, alternating an allowed and a denied
// tool, until SIGTERM; then prints one JSON line:
//   {"allowed":{"ok":N,"failed":[{i,error}]},
//    "denied":{"refused":N,"connectRefused":N,"passed":[{i,text}],"failed":[{i,error}]}}
// "refused" is mcpfence's denial; "connectRefused" a connect() that failed
// (fail-closed with no daemon listening); "passed" a denied tool that ran.
// Prints {"progress":N} after every 10 rounds.
//
//   call-loop.mjs --port N --allowed echo --denied execute
import http from 'node:http';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({
  options: {
    port: { type: 'string' },
    allowed: { type: 'string', default: 'echo' },
    denied: { type: 'string', default: 'execute' },
  },
});

const summary = {
  allowed: { ok: 0, connectRefused: 0, failed: [] },
  denied: { refused: 0, connectRefused: 0, passed: [], failed: [] },
};
let stopping = false;
process.on('SIGTERM', () => { stopping = true; });

const b64 = (text) => `=?base64?${Buffer.from(text).toString('base64')}?=`;

function call(id, tool, args) {
  const body = JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: tool, arguments: args } });
  return new Promise((resolve) => {
    const req = http.request({
      host: '127.0.0.1', port: Number(opt.port), path: '/mcp/stateless', method: 'POST', agent: false,
      headers: {
        'Content-Type': 'application/json', Accept: 'application/json, text/event-stream',
        'MCP-Protocol-Version': '2025-11-25', 'Mcp-Method': 'tools/call', 'Mcp-Name': b64(tool),
        'Content-Length': Buffer.byteLength(body), Connection: 'close',
      },
      timeout: 20000,
    }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk) => { text += chunk; });
      res.on('end', () => {
        try {
          const msg = JSON.parse(text);
          const content = (msg.result?.content || []).map((c) => c.text).join('\n');
          resolve({ status: res.statusCode, isError: msg.result?.isError === true, text: content || text });
        } catch {
          resolve({ error: `HTTP ${res.statusCode}: ${text.slice(0, 200)}` });
        }
      });
      res.on('error', (err) => resolve({ error: err.message }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ error: `${err.code || ''} ${err.message}`, connect: !req.reusedSocket && /EPERM|EACCES|ECONNREFUSED/.test(err.code || '') }));
    req.end(body);
  });
}

for (let i = 0; !stopping; i++) {
  const ok = await call(2 * i, opt.allowed, { m: `allowed-${i}` });
  if (ok.connect) summary.allowed.connectRefused++;
  else if (!ok.error && !ok.isError && ok.text === `ran ${opt.allowed} {"m":"allowed-${i}"}`) summary.allowed.ok++;
  else summary.allowed.failed.push({ i, error: ok.error || ok.text });

  const no = await call(2 * i + 1, opt.denied, { m: `denied-${i}` });
  if (no.connect) summary.denied.connectRefused++;
  else if (no.error) summary.denied.failed.push({ i, error: no.error });
  else if (no.isError && /Blocked by mcpfence/.test(no.text)) summary.denied.refused++;
  else summary.denied.passed.push({ i, text: no.text });
  if ((i + 1) % 10 === 0) process.stdout.write(`${JSON.stringify({ progress: i + 1 })}\n`);
}
process.stdout.write(`${JSON.stringify(summary)}\n`);
