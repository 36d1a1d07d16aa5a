#!/usr/bin/env node
// An agent that writes HTTP/1.1 requests byte for byte (for the requests a
// well-behaved client library would never produce) and prints what came
// back, as one JSON line.
//
//   raw-client.mjs --host H --port P --script-file FILE   (FILE holds the JSON script)
//   raw-client.mjs --port P --mode MODE ...               (misbehaviour, below)
//
// The script is a list of steps, each sent on its own TCP connection:
//   {"method":"POST","path":"/mcp","headers":[["Name","value"],...],
//    "body":"text" | "bodyBase64":"...", "contentLength":true}
//   {"rawBase64":"..."}   exact request bytes, nothing added
// In header values and bodies, {{session}} is replaced by the last
// Mcp-Session-Id a response carried, and {{event:N}} by the id of SSE
// event N (0-based) of the previous response. "contentLength" (default
// true) adds Content-Length for the body; Host is added unless a header
// names it. "readMs": N ends the exchange after N ms with what arrived by
// then ("cut": true), for a GET SSE stream that stays open.
//
// Output: {"ok":true,"pid":N,"responses":[{"status":200,"headers":{lowercased: value},
//   "body":"...","json":<parsed application/json body>|null, "continued":true after a 100 Continue,
//   "events":[<parsed data of each SSE event>]|null,"eventIds":[...],"closed":bool}]}
// {"pipeline": [step, ...]} writes several requests back to back in one
// write on one connection and reads one response for each.
// A response is complete at its Content-Length, at the last chunk, or
// when the server closes; "closed" says the server closed the connection.
//
// --mode: an agent that misbehaves on purpose, for the limits tests; one
// JSON line on stdout says what it saw.
//
//   raw-client.mjs --port P --mode MODE [--count N] [--ms N] [--kind K]
//
// Modes:
//   bodies    POST --count copies of the ~1 MB adversarial body --kind
//             (zeros: [0,0,...]; deep: [[[[...]]]]; objects: {} x 350,000
//             inside one call's arguments; strings: ["","",...]; batch: a
//             batch of tools/call) to /mcp, --parallel at a time, each on
//             its own connection; -> {statuses:[...], bodies:[first body]}
//   head      trickle a request head one byte every --ms (slowloris)
//   body      a whole head, then trickle its body one byte every --ms
//   upload    the same for a 100-byte body that is not JSON (streamed through)
//   idle      connect and send nothing
//             -> {status, closedAfterMs} (status 0: closed without an answer)
//   partial   a request announcing --size body bytes, of which half are
//             sent, then nothing for --ms -> {status, closedAfterMs, headers}
//   noread    pipeline --count tools/call of --tool as fast as the socket
//             takes them, never read; after --ms report what was written
//             -> {written, total, closed}
//   hold      open --count connections and keep them --ms; report how
//             many were answered 503 or closed by the daemon
//             -> {open, refused, statuses}
import fs from 'node:fs';
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    'script-file': { type: 'string' },
    'timeout-ms': { type: 'string', default: '20000' },
    // --mode and its options
    mode: { type: 'string' },
    kind: { type: 'string', default: 'zeros' },
    tool: { type: 'string', default: 'denied' },
    count: { type: 'string', default: '1' },
    parallel: { type: 'string', default: '4' },
    ms: { type: 'string', default: '200' },
    size: { type: 'string', default: '1048576' },
  },
});

const WRITE_SLICE = 64 * 1024;
let session = null;
let previousEventIds = [];
const fill = (text) => (session ? text.replaceAll('{{session}}', session) : text)
  .replace(/\{\{event:(\d+)\}\}/g, (_, n) => previousEventIds[Number(n)] ?? '');

function buildRequest(step) {
  if (step.rawBase64 !== undefined) return Buffer.from(step.rawBase64, 'base64');
  const body = step.bodyBase64 !== undefined ? Buffer.from(step.bodyBase64, 'base64') : Buffer.from(fill(step.body ?? ''), 'utf8');
  const headers = (step.headers || []).map(([name, value]) => [name, fill(String(value))]);
  if (!headers.some(([name]) => name.toLowerCase() === 'host')) headers.unshift(['Host', `${opt.host.includes(':') ? `[${opt.host}]` : opt.host}:${opt.port}`]);
  if (step.contentLength !== false && (body.length > 0 || step.method === 'POST')) headers.push(['Content-Length', String(body.length)]);
  const head = `${step.method} ${step.path} HTTP/1.1\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

// Parses one HTTP response from buf; returns null while incomplete (unless
// the peer closed, then whatever arrived).
function parseResponse(buf, closed) {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) return closed ? { status: 0, headers: {}, body: buf.toString('utf8'), incomplete: true } : null;
  const lines = buf.subarray(0, headEnd).toString('latin1').split('\r\n');
  const status = Number(lines[0].split(' ')[1]);
  const headers = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] !== undefined ? `${headers[name]}, ${value}` : value;
  }
  let rest = buf.subarray(headEnd + 4);
  if (status === 100) {
    const final = parseResponse(rest, closed);
    if (final && final.used !== undefined) final.used += headEnd + 4;
    if (final) final.continued = true; // a 100 Continue came first
    return final;
  }
  if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length']);
    if (rest.length < length) return closed ? { status, headers, body: rest.toString('utf8'), incomplete: true } : null;
    return { status, headers, body: rest.subarray(0, length).toString('utf8'), used: headEnd + 4 + length };
  }
  if (/chunked/i.test(headers['transfer-encoding'] || '')) {
    const parts = [];
    for (;;) {
      const lineEnd = rest.indexOf('\r\n');
      if (lineEnd < 0) break;
      const size = parseInt(rest.subarray(0, lineEnd).toString('latin1'), 16);
      if (size === 0) {
        const trailerEnd = rest.indexOf('\r\n\r\n', lineEnd);
        if (trailerEnd < 0) break;
        return { status, headers, body: Buffer.concat(parts).toString('utf8'), used: buf.length - rest.length + trailerEnd + 4 };
      }
      if (rest.length < lineEnd + 2 + size + 2) break;
      parts.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
      rest = rest.subarray(lineEnd + 2 + size + 2);
    }
    return closed ? { status, headers, body: Buffer.concat(parts).toString('utf8'), incomplete: true } : null;
  }
  if (status === 204 || status === 304) {
    return { status, headers, body: '', used: headEnd + 4 };
  }
  return closed ? { status, headers, body: rest.toString('utf8') } : null;
}

function sseEventIds(body) {
  return body.split(/\r?\n\r?\n/).map((block) => block.split(/\r?\n/).find((l) => l.startsWith('id:')))
    .filter(Boolean).map((l) => l.slice(3).trim());
}

function sseEvents(body) {
  const events = [];
  for (const block of body.split(/\r?\n\r?\n/)) {
    const data = block.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, '')).join('\n');
    if (!data) continue;
    try { events.push(JSON.parse(data)); } catch { events.push({ unparsed: data }); }
  }
  return events;
}

// Sends request on a new connection and resolves with the list of `count`
// responses read from it (pipelined requests get one each).
function exchange(request, readMs, count = 1) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: opt.host, port: Number(opt.port) });
    let buf = Buffer.alloc(0);
    let done = false;
    const got = [];
    const finish = (closed) => {
      while (!done) {
        const res = parseResponse(buf, closed);
        if (!res || (res.incomplete && res.status === 0 && buf.length === 0)) return;
        got.push({ ...res, closed });
        buf = res.used !== undefined ? buf.subarray(res.used) : Buffer.alloc(0);
        if (got.length === count || res.used === undefined) {
          done = true;
          socket.destroy();
          resolve(got);
        }
      }
    };
    // Written in slices, stopping once a response has begun (as curl does):
    // a server may answer early (413 on Content-Length) and close.
    socket.on('connect', async () => {
      for (let at = 0; at < request.length && buf.length === 0 && !socket.destroyed; at += WRITE_SLICE) {
        if (!socket.write(request.subarray(at, at + WRITE_SLICE))) {
          await new Promise((resolve) => { socket.once('drain', resolve); socket.once('close', resolve); });
        }
        await new Promise(setImmediate); // let a response be read in between
      }
    });
    socket.on('data', (chunk) => { buf = Buffer.concat([buf, chunk]); finish(false); });
    if (readMs) {
      const timer = setTimeout(() => {
        if (done) return;
        done = true;
        socket.destroy();
        resolve([...got, { ...(parseResponse(buf, true)), closed: false, cut: true }]);
      }, readMs);
      socket.once('close', () => clearTimeout(timer));
    }
    socket.on('end', () => finish(true));
    socket.on('close', () => {
      finish(true);
      if (!done) { done = true; resolve([...got, { status: 0, headers: {}, body: '', closed: true, incomplete: true }]); }
    });
    // A write error after the server answered early and closed ends the
    // request; whatever response arrived is the answer.
    socket.on('error', (err) => {
      finish(true);
      if (!done) { done = true; reject(err); }
    });
  });
}

// ---- --mode: misbehaviour ----

const port = Number(opt.port);
const count = Number(opt.count);
const ms = Number(opt.ms);
const MB = 1 << 20;

function adversarial(kind) {
  const call = (args) => `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":${args}}}`;
  switch (kind) {
    case 'zeros': return `[${'0,'.repeat(MB / 2 - 1)}0]`;
    case 'deep': return `${'['.repeat(MB / 2)}${']'.repeat(MB / 2)}`;
    case 'objects': return call(`{"a":[${'{},'.repeat(MB / 3 - 40)}{}]}`);
    case 'strings': return `[${'"",'.repeat(MB / 3 - 1)}""]`;
    case 'batch': {
      const one = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"denied","arguments":{}}},';
      return `[${one.repeat(Math.floor(MB / one.length)).slice(0, -1)}]`;
    }
    default: throw new Error(`no kind ${kind}`);
  }
}

function post(body, extra = '') {
  return Buffer.from(`POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n`
    + `Accept: application/json, text/event-stream\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

const statusOf = (buf) => {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(buf.toString('latin1'));
  return m ? Number(m[1]) : 0;
};

// Sends bytes (all at once), resolves with the response bytes once the
// daemon closes the connection or a whole response arrived.
function sendAll(bytes) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let got = Buffer.alloc(0);
    const done = () => { sock.destroy(); resolve(got); };
    sock.on('connect', () => sock.write(bytes));
    sock.on('data', (d) => {
      got = Buffer.concat([got, d]);
      const text = got.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const len = /content-length: (\d+)/i.exec(text);
      if (end >= 0 && len && got.length >= end + 4 + Number(len[1])) done();
    });
    sock.on('error', done);
    sock.on('close', done);
  });
}

async function bodies() {
  const body = adversarial(opt.kind);
  const statuses = [];
  let first = null;
  for (let i = 0; i < count; i += Number(opt.parallel)) {
    const n = Math.min(Number(opt.parallel), count - i);
    const answers = await Promise.all(Array.from({ length: n }, () => sendAll(post(body))));
    for (const a of answers) {
      statuses.push(statusOf(a));
      if (first === null) first = a.toString('utf8').split('\r\n\r\n').slice(1).join('\r\n\r\n');
    }
  }
  return { bytes: body.length, statuses, body: first };
}

// A held body, half sent: the daemon keeps it until the body timeout.
function partial() {
  const size = Number(opt.size);
  return new Promise((resolve) => {
    const started = Date.now();
    const sock = net.connect(port, '127.0.0.1');
    let got = Buffer.alloc(0);
    const finish = () => {
      clearTimeout(timer);
      sock.destroy();
      const text = got.toString('latin1');
      resolve({ status: statusOf(got), closedAfterMs: Date.now() - started, head: text.split('\r\n\r\n')[0], body: text.split('\r\n\r\n')[1] || '' });
    };
    const timer = setTimeout(finish, ms);
    sock.on('connect', () => sock.write(Buffer.concat([
      Buffer.from(`POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`),
      Buffer.alloc(size / 2, ' ')])));
    sock.on('data', (d) => { got = Buffer.concat([got, d]); });
    sock.on('error', finish);
    sock.on('close', finish);
  });
}

// Trickles bytes one at a time; resolves when the daemon answers or closes.
function trickle(prefix, drip) {
  return new Promise((resolve) => {
    const started = Date.now();
    const sock = net.connect(port, '127.0.0.1');
    let got = Buffer.alloc(0);
    let i = 0;
    let timer = null;
    const finish = () => {
      clearInterval(timer);
      sock.destroy();
      resolve({ status: statusOf(got), closedAfterMs: Date.now() - started, body: got.toString('utf8') });
    };
    sock.on('connect', () => {
      if (prefix.length) sock.write(prefix);
      if (drip.length) timer = setInterval(() => { if (i < drip.length) sock.write(drip.subarray(i, ++i)); }, ms);
    });
    sock.on('data', (d) => { got = Buffer.concat([got, d]); });
    sock.on('error', finish);
    sock.on('close', finish);
  });
}

async function noread() {
  const one = post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: opt.tool, arguments: {} } }));
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let closed = false;
    let written = 0;
    // what the kernel took from us (sent minus still queued), until the end
    const sample = setInterval(() => { if (!closed) written = sock.bytesWritten - sock.writableLength; }, 50);
    sock.on('connect', () => {
      sock.pause(); // never read
      for (let i = 0; i < count; i++) sock.write(one); // one by one: the queue says what the kernel took
    });
    sock.on('error', () => { closed = true; });
    sock.on('close', () => { closed = true; });
    setTimeout(() => {
      clearInterval(sample);
      resolve({ written, total: count * one.length, closed });
      sock.destroy();
    }, ms);
  });
}

async function hold() {
  const socks = [];
  const statuses = [];
  let refused = 0;
  await Promise.all(Array.from({ length: count }, () => new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let got = Buffer.alloc(0);
    let counted = false;
    const gone = () => {
      if (!counted) { counted = true; refused++; statuses.push(statusOf(got)); }
      resolve();
    };
    sock.on('connect', () => setTimeout(resolve, 200));
    sock.on('data', (d) => { got = Buffer.concat([got, d]); });
    sock.on('error', gone);
    sock.on('close', gone);
    socks.push(sock);
  })));
  await new Promise((r) => setTimeout(r, ms));
  const result = { open: count - refused, refused, statuses };
  for (const s of socks) s.destroy();
  return result;
}

const head = Buffer.from(`POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nX-Pad: ${'p'.repeat(200)}\r\n\r\n`);
const modes = {
  bodies,
  head: () => trickle(Buffer.alloc(0), head),
  body: () => trickle(Buffer.from(`POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n`), Buffer.alloc(1000, ' ')),
  // not JSON from its first bytes: streamed through to the server as it comes
  upload: () => trickle(Buffer.from(`POST /upload HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/octet-stream\r\nContent-Length: 100\r\n\r\nabcd`), Buffer.alloc(96, 'x')),
  idle: () => trickle(Buffer.alloc(0), Buffer.alloc(0)),
  noread,
  hold,
  partial,
};

// ---- --script-file ----

async function runScript() {
  const timer = setTimeout(() => {
    process.stdout.write(`${JSON.stringify({ ok: false, pid: process.pid, error: `timed out after ${opt['timeout-ms']} ms` })}\n`);
    process.exit(1);
  }, Number(opt['timeout-ms']));

  try {
    const steps = JSON.parse(fs.readFileSync(opt['script-file'], 'utf8'));
    const responses = [];
    for (const step of steps) {
      // {"pipeline": [step, ...]}: the requests back to back in one write.
      const parts = step.pipeline || [step];
      const results = await exchange(Buffer.concat(parts.map(buildRequest)), step.readMs, parts.length);
      for (const res of results) {
        if (res.headers['mcp-session-id']) session = res.headers['mcp-session-id'];
        const type = res.headers['content-type'] || '';
        let json = null;
        if (/application\/json/.test(type)) {
          try { json = JSON.parse(res.body); } catch { json = null; }
        }
        const sse = /text\/event-stream/.test(type);
        if (sse) previousEventIds = sseEventIds(res.body);
        responses.push({ ...res, json, events: sse ? sseEvents(res.body) : null, eventIds: sse ? previousEventIds : null });
      }
    }
    clearTimeout(timer);
    process.stdout.write(`${JSON.stringify({ ok: true, pid: process.pid, responses })}\n`);
  } catch (err) {
    clearTimeout(timer);
    process.stdout.write(`${JSON.stringify({ ok: false, pid: process.pid, error: String(err?.stack || err) })}\n`);
    process.exitCode = 1;
  }
}

if (opt.mode) process.stdout.write(`${JSON.stringify({ pid: process.pid, ...(await modes[opt.mode]()) })}\n`);
else await runScript();
