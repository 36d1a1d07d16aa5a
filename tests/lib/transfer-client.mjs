#!/usr/bin/env node
// Agent side of the byte-exactness tests: HTTP/1.1 over a raw socket, so
// it controls every byte and the half-close, against echo.mjs (see
// its header for the paths), through whatever the kernel does to its
// connect(). Prints one JSON object with what it sent and received, as
// sha256 digests, plus the peer address getpeername() reports.
//
//   transfer-client.mjs --host H --port P --mode echo|sink|source --bytes N
//                       [--write-size N] [--half-close true|false]
//   transfer-client.mjs --host H --port P --mode stream --count C --size S --interval MS
//   transfer-client.mjs --host H --port P --mode many --connections C --bytes N
//
// --half-close (default true): after the request the client shuts down its
// write side (shutdown(SHUT_WR)) and still reads the whole response.
// Exit status 0 when everything matched.
import net from 'node:net';
import http from 'node:http';
import crypto from 'node:crypto';
import { parseArgs } from 'node:util';
import { Pattern, sha256 } from './pattern.mjs';

const { values: opt } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    mode: { type: 'string', default: 'echo' },
    bytes: { type: 'string', default: '0' },
    'write-size': { type: 'string', default: String(256 * 1024) },
    'half-close': { type: 'string', default: 'true' },
    count: { type: 'string', default: '20' },
    size: { type: 'string', default: '4096' },
    interval: { type: 'string', default: '100' },
    connections: { type: 'string', default: '1' },
    'timeout-ms': { type: 'string', default: '120000' },
  },
});
const host = opt.host;
const port = Number(opt.port);
const bytes = Number(opt.bytes);
const writeSize = Number(opt['write-size']); // bytes per write() call
const halfClose = opt['half-close'] !== 'false';
const hostHeader = net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
const randomSeed = () => crypto.randomInt(2 ** 47);

// Connects with allowHalfOpen, so end() is a shutdown(SHUT_WR) and the
// response can still be read afterwards.
function connect() {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, allowHalfOpen: true });
    socket.once('connect', () => { socket.off('error', reject); resolve(socket); });
    socket.once('error', reject);
  });
}

function peerOf(socket) {
  return {
    remoteAddress: socket.remoteAddress, remotePort: socket.remotePort,
    localAddress: socket.localAddress, localPort: socket.localPort, family: socket.remoteFamily,
  };
}

function requestHead(method, path, headers = {}) {
  const lines = [`${method} ${path} HTTP/1.1`, `Host: ${hostHeader}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

// Writes `total` bytes of `pattern` with back-pressure; resolves with their sha256.
function writePattern(socket, pattern, total) {
  const hash = crypto.createHash('sha256');
  return new Promise((resolve, reject) => {
    let left = total;
    socket.once('error', reject);
    const pump = () => {
      while (left > 0) {
        const chunk = pattern.next(Math.min(left, writeSize));
        left -= chunk.length;
        hash.update(chunk);
        if (!socket.write(chunk)) {
          socket.once('drain', pump);
          return;
        }
      }
      socket.off('error', reject);
      resolve(hash.digest('hex'));
    };
    pump();
  });
}

// Reads HTTP/1.1 responses (Content-Length bodies) off one socket, one
// after another. onBody sees body bytes as they arrive.
class ResponseReader {
  constructor(socket) {
    this.buffered = Buffer.alloc(0);
    this.ended = false;
    this.error = null;
    this.wake = () => {};
    socket.on('data', (chunk) => { this.buffered = Buffer.concat([this.buffered, chunk]); this.wake(); });
    socket.on('end', () => { this.ended = true; this.wake(); });
    socket.on('error', (err) => { this.error = err; this.wake(); });
  }

  async more(what) {
    if (this.error) throw this.error;
    if (this.ended) throw new Error(`connection closed before ${what}`);
    await new Promise((resolve) => { this.wake = resolve; });
  }

  // Resolves with { status, headers, bytes, sha256, body } (body kept if keep).
  async next({ keep = false, onBody = () => {} } = {}) {
    let headEnd;
    while ((headEnd = this.buffered.indexOf('\r\n\r\n')) < 0) await this.more('the response head');
    const [statusLine, ...headerLines] = this.buffered.subarray(0, headEnd).toString('latin1').split('\r\n');
    this.buffered = this.buffered.subarray(headEnd + 4);
    const headers = {};
    for (const line of headerLines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const status = Number(statusLine.split(' ')[1]);
    if (!('content-length' in headers)) throw new Error(`response without Content-Length: ${statusLine} ${JSON.stringify(headers)}`);
    let left = Number(headers['content-length']);
    const hash = crypto.createHash('sha256');
    const kept = [];
    let received = 0;
    for (;;) {
      const take = this.buffered.subarray(0, left);
      this.buffered = this.buffered.subarray(take.length);
      if (take.length) {
        hash.update(take);
        received += take.length;
        left -= take.length;
        if (keep) kept.push(take);
        onBody(take, received);
      }
      if (left === 0) break;
      await this.more(`the end of the body (${received} of ${received + left} bytes)`);
    }
    return { status, headers, bytes: received, sha256: hash.digest('hex'), body: keep ? Buffer.concat(kept) : undefined };
  }

  // After a Connection: close response: nothing more may arrive but EOF.
  async expectEof() {
    while (!this.ended) {
      if (this.buffered.length) throw new Error(`${this.buffered.length} bytes after the response`);
      await this.more('EOF').catch((err) => { if (!this.ended) throw err; });
    }
    if (this.buffered.length) throw new Error(`${this.buffered.length} bytes after the response`);
  }
}

// One request with a body of `total` pattern bytes, then (half-)close;
// resolves with the sent digest and the response.
async function upload(path, total, { keep = false } = {}) {
  const socket = await connect();
  const peer = peerOf(socket);
  const reader = new ResponseReader(socket);
  socket.write(requestHead('POST', path, {
    'Content-Type': 'application/octet-stream', 'Content-Length': total, Connection: 'close',
  }));
  const sentSha256 = await writePattern(socket, new Pattern(randomSeed()), total);
  if (halfClose) socket.end();
  const response = await reader.next({ keep });
  await reader.expectEof();
  socket.destroy();
  return { peer, sentSha256, response };
}

async function echo() {
  const { peer, sentSha256, response } = await upload('/echo', bytes);
  return { ...peer, halfClose, status: response.status, sentBytes: bytes, sentSha256,
    receivedBytes: response.bytes, receivedSha256: response.sha256,
    ok: response.status === 200 && response.bytes === bytes && response.sha256 === sentSha256 };
}

async function sink() {
  const { peer, sentSha256, response } = await upload('/sink', bytes, { keep: true });
  const server = response.status === 200 ? JSON.parse(response.body.toString()) : {};
  return { ...peer, halfClose, status: response.status, sentBytes: bytes, sentSha256,
    serverBytes: server.bytes, serverSha256: server.sha256,
    ok: response.status === 200 && server.bytes === bytes && server.sha256 === sentSha256 };
}

function patternSha256(seed, total) {
  const pattern = new Pattern(seed);
  const hash = crypto.createHash('sha256');
  for (let left = total; left > 0; left -= 1 << 20) hash.update(pattern.next(Math.min(left, 1 << 20)));
  return hash.digest('hex');
}

async function source() {
  const seed = randomSeed();
  const socket = await connect();
  const peer = peerOf(socket);
  const reader = new ResponseReader(socket);
  socket.write(requestHead('GET', `/source?bytes=${bytes}&seed=${seed}`, { Connection: 'close' }));
  if (halfClose) socket.end();
  const response = await reader.next();
  await reader.expectEof();
  socket.destroy();
  const expectedSha256 = patternSha256(seed, bytes);
  return { ...peer, halfClose, status: response.status, expectedBytes: bytes, expectedSha256,
    receivedBytes: response.bytes, receivedSha256: response.sha256,
    ok: response.status === 200 && response.bytes === bytes && response.sha256 === expectedSha256 };
}

async function stream() {
  const count = Number(opt.count);
  const size = Number(opt.size);
  const seed = randomSeed();
  const id = crypto.randomUUID();
  const ackAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const ack = () => new Promise((resolve, reject) => {
    const req = http.request({ host, port, method: 'POST', path: `/ack?id=${id}`, agent: ackAgent, headers: { 'Content-Length': 0 } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 204 ? resolve() : reject(new Error(`ack answered ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
  const socket = await connect();
  const peer = peerOf(socket);
  const reader = new ResponseReader(socket);
  const started = Date.now();
  const chunkTimes = [];
  const acks = [];
  socket.write(requestHead('GET', `/stream?count=${count}&size=${size}&interval=${Number(opt.interval)}&seed=${seed}&id=${id}`, { Connection: 'close' }));
  const response = await reader.next({
    onBody: (_, received) => {
      // Ack every chunk completed by this read: the server sends the next only then.
      while (chunkTimes.length < Math.floor(received / size)) {
        chunkTimes.push(Date.now() - started);
        if (chunkTimes.length < count) acks.push(ack());
      }
    },
  });
  await Promise.all(acks);
  await reader.expectEof();
  socket.destroy();
  ackAgent.destroy();
  const expectedSha256 = sha256(new Pattern(seed).next(count * size));
  return { ...peer, status: response.status, chunks: chunkTimes.length, durationMs: Date.now() - started, chunkTimesMs: chunkTimes,
    receivedBytes: response.bytes, expectedBytes: count * size, receivedSha256: response.sha256, expectedSha256,
    ok: response.status === 200 && response.bytes === count * size && response.sha256 === expectedSha256 && chunkTimes.length === count };
}

// C connections held open at the same time: on every one a first request
// (keep-alive) has been answered end to end, so the daemon holds both legs
// of all C at once, before any of them sends its payload request
// (Connection: close), half-closes and reads the echo.
async function many() {
  const wanted = Number(opt.connections);
  const failures = [];
  const results = await Promise.allSettled(Array.from({ length: wanted }, async () => {
    const socket = await connect();
    socket.on('error', () => {});
    const reader = new ResponseReader(socket);
    socket.write(requestHead('POST', '/echo', { 'Content-Type': 'application/octet-stream', 'Content-Length': 1 }) + '!');
    const probe = await reader.next({ keep: true });
    if (probe.status !== 200 || probe.body.toString() !== '!') throw new Error(`probe answered ${probe.status} ${probe.body}`);
    return { socket, reader };
  }));
  const open = [];
  for (const r of results) {
    if (r.status === 'fulfilled') open.push(r.value);
    else failures.push(`setup: ${r.reason.message}`);
  }
  const concurrent = open.length;
  const transfers = await Promise.allSettled(open.map(async ({ socket, reader }) => {
    socket.write(requestHead('POST', '/echo', { 'Content-Type': 'application/octet-stream', 'Content-Length': bytes, Connection: 'close' }));
    const sentSha256 = await writePattern(socket, new Pattern(randomSeed()), bytes);
    if (halfClose) socket.end();
    const response = await reader.next();
    await reader.expectEof();
    socket.destroy();
    if (response.status !== 200 || response.bytes !== bytes || response.sha256 !== sentSha256) {
      throw new Error(`sent ${bytes} bytes sha256 ${sentSha256}, got ${response.status} ${response.bytes} bytes sha256 ${response.sha256}`);
    }
  }));
  let succeeded = 0;
  for (const r of transfers) {
    if (r.status === 'fulfilled') succeeded++;
    else failures.push(`transfer: ${r.reason.message}`);
  }
  return { connections: wanted, concurrent, succeeded, failures: failures.slice(0, 10), ok: succeeded === wanted };
}

const modes = { echo, sink, source, stream, many };
if (!modes[opt.mode] || !Number.isInteger(port)) {
  process.stderr.write('usage: transfer-client.mjs --host H --port P --mode echo|sink|source|stream|many ...\n');
  process.exit(2);
}
const timer = setTimeout(() => {
  process.stdout.write(`${JSON.stringify({ mode: opt.mode, pid: process.pid, ok: false, error: `timed out after ${opt['timeout-ms']} ms` })}\n`);
  process.exit(1);
}, Number(opt['timeout-ms']));
try {
  const result = { mode: opt.mode, pid: process.pid, ...(await modes[opt.mode]()) };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  clearTimeout(timer);
  process.exitCode = result.ok ? 0 : 1;
} catch (err) {
  clearTimeout(timer);
  process.stdout.write(`${JSON.stringify({ mode: opt.mode, pid: process.pid, ok: false, error: err.message })}\n`);
  process.exitCode = 1;
}
