#!/usr/bin/env node
// The differential test's agent: generates cases [from, from+count) of
// generate.mjs and sends each, on its own TCP connection, to every server
// port given; writes the bytes, half-closes, reads until the peer closes
// (or --timeout-ms). Prints one JSON line: {"sent":N,"timeouts":N,"errors":N}.
//
//   agent.mjs --ports 3001,3002,3003 --seed S --from 0 --count N --marker M [--concurrency C]
import net from 'node:net';
import { parseArgs } from 'node:util';
import { generateCase } from './generate.mjs';

const { values: opt } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    ports: { type: 'string' },
    seed: { type: 'string', default: '1' },
    from: { type: 'string', default: '0' },
    count: { type: 'string' },
    marker: { type: 'string' },
    concurrency: { type: 'string', default: '24' },
    'timeout-ms': { type: 'string', default: '5000' },
  },
});
const ports = opt.ports.split(',').map(Number);
const timeoutMs = Number(opt['timeout-ms']);
const stats = { sent: 0, timeouts: 0, errors: 0 };

function exchange(port, bytes) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: opt.host, port });
    const timer = setTimeout(() => { stats.timeouts++; sock.destroy(); }, timeoutMs);
    sock.on('connect', () => sock.end(bytes));
    sock.on('data', () => {});
    sock.on('error', () => { stats.errors++; });
    sock.on('close', () => { clearTimeout(timer); stats.sent++; resolve(); });
  });
}

const from = Number(opt.from), count = Number(opt.count), seed = Number(opt.seed);
let next = 0;
const jobs = count * ports.length;
async function worker() {
  while (next < jobs) {
    const job = next++;
    const port = ports[job % ports.length];
    const c = generateCase(seed, from + Math.floor(job / ports.length), { host: opt.host, port, marker: opt.marker });
    await exchange(port, c.bytes);
  }
}
await Promise.all(Array.from({ length: Number(opt.concurrency) }, worker));
console.log(JSON.stringify(stats));
