#!/usr/bin/env node
// An agent that misbehaves on purpose, for the limits tests: one JSON line
// on stdout says what it saw.
//
//   abuse-client.mjs --port P --mode MODE [--count N] [--ms N] [--kind K]
//
// Modes:
//   bodies    POST --count copies of the ~1 MB adversarial body --kind
//             (zeros: [0,0,...]; deep: [[[[...]]]]; objects: {} x 350,000
//             inside one call's arguments; strings: ["","",...]; batch: a
//             batch of tools/call) to /mcp, --parallel at a time, each on
//             its own connection; -> {statuses:[...], bodies:[first body]}
//   head      trickle a request head one byte every --ms (slowloris)
//   body      a whole head, then trickle its body one byte every --ms
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
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({
  options: {
    port: { type: 'string' },
    mode: { type: 'string' },
    kind: { type: 'string', default: 'zeros' },
    tool: { type: 'string', default: 'denied' },
    count: { type: 'string', default: '1' },
    parallel: { type: 'string', default: '4' },
    ms: { type: 'string', default: '200' },
    size: { type: 'string', default: '1048576' },
  },
});
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
function exchange(bytes) {
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
    const answers = await Promise.all(Array.from({ length: n }, () => exchange(post(body))));
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
  idle: () => trickle(Buffer.alloc(0), Buffer.alloc(0)),
  noread,
  hold,
  partial,
};
process.stdout.write(`${JSON.stringify({ pid: process.pid, ...(await modes[opt.mode]()) })}\n`);
