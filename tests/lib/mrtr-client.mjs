#!/usr/bin/env node
// A 2026-07-28 (stateless) MCP client, as far as Multi Round-Trip
// Requests go (the installed SDK does not speak that revision): one
// process, so one agent identity across its rounds.
//
//   mrtr-client.mjs --url URL --script-file FILE
//
// FILE: a list of JSON-RPC request objects, each POSTed alone on its own
// connection, in order. In any string of a step, "{{requestState}}" is
// replaced by the requestState of the last input_required result seen.
// A step {"sleepMs": N} waits N ms instead (no response recorded);
// {"waitFile": PATH} waits until PATH exists (the test did something).
// Each response is printed as it comes too: {"response": {...}} lines.
// The MCP-Protocol-Version header says 2025-11-25: the recording server
// (SDK 1.32.2) refuses a request naming 2026-07-28 there; the daemon reads
// the revision from params._meta, where this client declares 2026-07-28.
// Output, one JSON line:
//   {"ok":true,"responses":[{"status":200,"message":<the JSON-RPC response>|null,"body":"..."}]}
import fs from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({ options: { url: { type: 'string' }, 'script-file': { type: 'string' } } });
const steps = JSON.parse(fs.readFileSync(opt['script-file'], 'utf8'));
const url = new URL(opt.url);

function post(body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent: false,
      headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream',
        'MCP-Protocol-Version': '2025-11-25', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, type: res.headers['content-type'] || '', body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

// The JSON-RPC response in a JSON body or in an event stream.
function messageOf({ type, body }) {
  if (type.includes('application/json')) return JSON.parse(body);
  for (const line of body.split('\n')) {
    if (!line.startsWith('data:')) continue;
    const m = JSON.parse(line.slice(5));
    if (m.result !== undefined || m.error !== undefined) return m;
  }
  return null;
}

let state = '';
const responses = [];
try {
  for (const step of steps) {
    if (step.sleepMs) {
      await new Promise((resolve) => setTimeout(resolve, step.sleepMs));
      continue;
    }
    if (step.waitFile) {
      while (!fs.existsSync(step.waitFile)) await new Promise((resolve) => setTimeout(resolve, 20));
      continue;
    }
    const body = JSON.stringify(step, (k, v) => (typeof v === 'string' ? v.replaceAll('{{requestState}}', state) : v));
    const res = await post(body);
    const message = messageOf(res);
    if (message?.result?.resultType === 'input_required') state = message.result.requestState;
    responses.push({ status: res.status, message, body: res.body });
    console.log(JSON.stringify({ response: responses.at(-1) }));
  }
  console.log(JSON.stringify({ ok: true, responses }));
} catch (err) {
  console.log(JSON.stringify({ ok: false, error: String(err), responses }));
}
