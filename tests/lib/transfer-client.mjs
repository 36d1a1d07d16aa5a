#!/usr/bin/env node
// Agent side of the byte-exactness tests: talks to echo-server.mjs (see
// its header for the modes) through whatever the kernel does to its
// connect(), and prints one JSON object with what it sent and received,
// as sha256 digests, plus the peer address that getpeername() reports.
//
//   transfer-client.mjs --host H --port P --mode echo|sink|source --bytes N [--write-size N]
//   transfer-client.mjs --host H --port P --mode stream --count C --size S --interval MS
//   transfer-client.mjs --host H --port P --mode many --connections C --bytes N
//
// Every mode half-closes (shutdown(SHUT_WR)) after sending and still reads
// the peer's full reply. Exit status 0 when everything matched.
import net from 'node:net';
import crypto from 'node:crypto';
import { parseArgs } from 'node:util';
import { Pattern, sha256 } from './pattern.mjs';

const { values: opt } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    mode: { type: 'string', default: 'echo' },
    bytes: { type: 'string', default: '0' },
    count: { type: 'string', default: '20' },
    size: { type: 'string', default: '4096' },
    interval: { type: 'string', default: '100' },
    connections: { type: 'string', default: '1' },
    'write-size': { type: 'string', default: String(256 * 1024) },
    'timeout-ms': { type: 'string', default: '120000' },
  },
});
const host = opt.host;
const port = Number(opt.port);
const bytes = Number(opt.bytes);
const writeSize = Number(opt['write-size']); // bytes per write() call
const randomSeed = () => crypto.randomInt(2 ** 47);

// Connects, with allowHalfOpen so our end() is a shutdown(SHUT_WR) and the
// reply can still be read afterwards.
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
      resolve(hash.digest('hex'));
    };
    pump();
  });
}

// Reads until the peer closes its side; resolves with { bytes, sha256, buffer? }.
function readAll(socket, { keep = false } = {}) {
  const hash = crypto.createHash('sha256');
  const kept = [];
  let total = 0;
  return new Promise((resolve, reject) => {
    socket.on('data', (chunk) => {
      hash.update(chunk);
      total += chunk.length;
      if (keep) kept.push(chunk);
    });
    socket.once('end', () => resolve({ bytes: total, sha256: hash.digest('hex'), buffer: keep ? Buffer.concat(kept) : undefined }));
    socket.once('error', reject);
  });
}

async function echo(total = bytes) {
  const socket = await connect();
  const peer = peerOf(socket);
  const reply = readAll(socket);
  socket.write('echo\n');
  const sentSha256 = await writePattern(socket, new Pattern(randomSeed()), total);
  socket.end();
  const got = await reply;
  socket.destroy();
  return { ...peer, sentBytes: total, sentSha256, receivedBytes: got.bytes, receivedSha256: got.sha256,
    ok: got.bytes === total && got.sha256 === sentSha256 };
}

async function sink() {
  const socket = await connect();
  const peer = peerOf(socket);
  const reply = readAll(socket, { keep: true });
  socket.write('sink\n');
  const sentSha256 = await writePattern(socket, new Pattern(randomSeed()), bytes);
  socket.end();
  const [serverBytes, serverSha256] = (await reply).buffer.toString().trim().split(' ');
  socket.destroy();
  return { ...peer, sentBytes: bytes, sentSha256, serverBytes: Number(serverBytes), serverSha256,
    ok: Number(serverBytes) === bytes && serverSha256 === sentSha256 };
}

async function source() {
  const seed = randomSeed();
  const socket = await connect();
  const peer = peerOf(socket);
  const reply = readAll(socket);
  socket.end(`source ${bytes} ${seed}\n`); // half-close right after the request
  const got = await reply;
  socket.destroy();
  const expected = new Pattern(seed);
  const expectedHash = crypto.createHash('sha256');
  for (let left = bytes; left > 0; left -= 1 << 20) expectedHash.update(expected.next(Math.min(left, 1 << 20)));
  const expectedSha256 = expectedHash.digest('hex');
  return { ...peer, expectedBytes: bytes, expectedSha256, receivedBytes: got.bytes, receivedSha256: got.sha256,
    ok: got.bytes === bytes && got.sha256 === expectedSha256 };
}

async function stream() {
  const count = Number(opt.count);
  const size = Number(opt.size);
  const seed = randomSeed();
  const socket = await connect();
  const peer = peerOf(socket);
  const hash = crypto.createHash('sha256');
  let received = 0;
  const chunkTimes = [];
  const started = Date.now();
  const done = new Promise((resolve, reject) => {
    socket.on('data', (chunk) => {
      hash.update(chunk);
      const before = Math.floor(received / size);
      received += chunk.length;
      // Ack every completed chunk: the server sends the next only then.
      for (let k = before; k < Math.floor(received / size); k++) {
        chunkTimes.push(Date.now() - started);
        socket.write('a');
      }
    });
    socket.once('end', resolve);
    socket.once('error', reject);
  });
  socket.write(`stream ${count} ${size} ${Number(opt.interval)} ${seed}\n`);
  await done;
  socket.end();
  socket.destroy();
  const expectedSha256 = sha256(new Pattern(seed).next(count * size));
  const receivedSha256 = hash.digest('hex');
  return { ...peer, chunks: chunkTimes.length, durationMs: Date.now() - started, chunkTimesMs: chunkTimes,
    receivedBytes: received, expectedBytes: count * size, receivedSha256, expectedSha256,
    ok: received === count * size && receivedSha256 === expectedSha256 && chunkTimes.length === count };
}

// C connections held open at the same time: every one is connected and has
// had a probe byte echoed end to end (so the daemon holds both legs of all
// C at once) before any of them sends its payload and half-closes.
async function many() {
  const wanted = Number(opt.connections);
  const failures = [];
  const results = await Promise.allSettled(Array.from({ length: wanted }, async () => {
    const socket = await connect();
    socket.on('error', () => {});
    const probe = new Promise((resolve, reject) => {
      socket.once('data', (chunk) => (chunk.length === 1 && chunk[0] === 0x21 ? resolve() : reject(new Error(`bad probe echo ${chunk.toString('hex')}`))));
      socket.once('close', () => reject(new Error('closed before the probe came back')));
    });
    socket.write('echo\n!');
    await probe;
    return socket;
  }));
  const sockets = [];
  for (const r of results) {
    if (r.status === 'fulfilled') sockets.push(r.value);
    else failures.push(`setup: ${r.reason.message}`);
  }
  const concurrent = sockets.length;
  const transfers = await Promise.allSettled(sockets.map(async (socket) => {
    const reply = readAll(socket);
    const sentSha256 = await writePattern(socket, new Pattern(randomSeed()), bytes);
    socket.end();
    const got = await reply;
    socket.destroy();
    // The probe was consumed above: what follows is exactly the payload.
    if (got.bytes !== bytes || got.sha256 !== sentSha256) {
      throw new Error(`sent ${bytes} bytes sha256 ${sentSha256}, got ${got.bytes} bytes sha256 ${got.sha256}`);
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
  process.stdout.write(`${JSON.stringify({ mode: opt.mode, ok: false, error: `timed out after ${opt['timeout-ms']} ms` })}\n`);
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
