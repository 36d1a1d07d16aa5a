// Differential test: generated adversarial requests
// (tests/differential/generate.mjs) go through the real daemon to three
// small reference servers on real stacks (Node + the TS SDK's McpServer
// behind express, Python's http.server + json, Go's net/http +
// encoding/json), each of which writes down every tool it executes. No
// server may ever execute a tool the policy denies.
//
// DIFF_REQUESTS (default 630: 10 cases of each class, to each server)
// sets how many requests go through the daemon; `make fuzz` sends 100,000.
// The same generator first runs a sample straight to the servers (outside
// the intercepted cgroup) to show what each class makes each stack do when
// nothing is in between.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { itest } from '../lib/itest.mjs';
import { sandbox } from '../lib/sandbox.mjs';
import { startDaemon } from '../lib/daemon.mjs';
import { freePorts, waitForListen } from '../lib/ports.mjs';
import { policyOf } from '../lib/mcp.mjs';
import { CLASS_NAMES, generateCase } from '../differential/generate.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = path.join(here, '..', 'differential');
const GO_SERVER = path.join(here, '..', '..', 'build', 'differential', 'go-server');
const REQUESTS = Number(process.env.DIFF_REQUESTS || 30 * CLASS_NAMES.length);
const SEED = Number(process.env.DIFF_SEED || 1);
const SERVERS = ['node', 'python', 'go'];

async function startServers(sb) {
  const ports = await freePorts(3);
  const record = path.join(sb.tmp, 'executed.jsonl');
  fs.writeFileSync(record, '');
  const cmds = {
    node: [process.execPath, [path.join(dir, 'server-node.mjs')]],
    python: ['python3', [path.join(dir, 'server.py')]],
    go: [GO_SERVER, []],
  };
  const servers = {};
  for (const [i, name] of SERVERS.entries()) {
    const [cmd, args] = cmds[name];
    const proc = sb.spawn(cmd, [...args, String(ports[i]), record]);
    await proc.waitForOutput(/listening/, { timeoutMs: 20000 });
    await waitForListen('127.0.0.1', ports[i], 5000, () => proc.running);
    servers[name] = { port: ports[i], proc };
  }
  const executed = () => fs.readFileSync(record, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  return { servers, ports, executed };
}

// Sends cases [0, count) to every server: inside the agent cgroup (through
// the daemon) or outside it (straight to the servers).
async function sendCases(sb, ports, { count, marker, inCgroup }) {
  const argv = [path.join(dir, 'agent.mjs'), '--ports', ports.join(','), '--seed', String(SEED), '--from', '0',
    '--count', String(count), '--marker', marker];
  const timeoutMs = 60000 + count * ports.length * 20;
  const res = inCgroup ? await sb.runInCgroup(process.execPath, argv, { timeoutMs })
    : await sb.runOutside(process.execPath, argv, { timeoutMs });
  assert.equal(res.code, 0, `agent failed: ${res.stderr}`);
  return { ...JSON.parse(res.stdout.trim().split('\n').pop()), pid: res.pid };
}

const DENIED = new Set(['rm', 'secret']);

// What ran, per class and server: { cls: { server: { denied: n, allowed: n } } }.
function tally(executed, marker) {
  const t = {};
  for (const e of executed) {
    const m = String(e.arguments?.m ?? '');
    const [mk, cls, index] = m.split(':');
    if (mk !== marker) continue;
    const row = (t[cls] ??= {});
    const cell = (row[e.server] ??= { denied: 0, allowed: 0, examples: [] });
    if (DENIED.has(e.tool)) {
      cell.denied++;
      if (cell.examples.length < 1) cell.examples.push(Number(index));
    } else cell.allowed++;
  }
  return t;
}

function reproducer(cls, index, port) {
  const c = generateCase(SEED, index, { host: '127.0.0.1', port, marker: 'fenced' });
  assert.equal(c.cls, cls);
  const text = c.bytes.toString('latin1');
  return JSON.stringify(text.length > 600 ? `${text.slice(0, 600)}...(${text.length} bytes)` : text);
}

itest('differential: no reference server executes a tool the policy denies', async (t) => {
  const sb = sandbox(t, 'differential');
  const { servers, ports, executed } = await startServers(sb);
  const policy = policyOf(Object.fromEntries(SERVERS.map((s) => [s, { port: servers[s].port, default: 'deny',
    tools: { echo: { action: 'allow' } }, hide: ['secret'] }])));
  const daemon = await startDaemon(sb, { policy });

  // Straight to the servers: what each class does with nothing in between.
  const sample = Math.min(Math.ceil(REQUESTS / SERVERS.length), 5 * CLASS_NAMES.length);
  await sendCases(sb, ports, { count: sample, marker: 'direct', inCgroup: false });
  // Through the daemon.
  const cases = Math.ceil(REQUESTS / SERVERS.length);
  const started = Date.now();
  const fenced = await sendCases(sb, ports, { count: cases, marker: 'fenced', inCgroup: true });
  const seconds = (Date.now() - started) / 1000;
  const direct = tally(executed(), 'direct');
  const through = tally(executed(), 'fenced');

  const failures = [];
  const lines = [`differential: ${cases * SERVERS.length} requests through the daemon in ${seconds.toFixed(1)} s `
    + `(${fenced.timeouts} timeouts, ${fenced.errors} errors); per class, denied tools executed `
    + 'direct (sample) -> through the daemon, node/python/go:'];
  for (const cls of CLASS_NAMES) {
    const cell = (tt, s) => tt[cls]?.[s] ?? { denied: 0, allowed: 0, examples: [] };
    lines.push(`  ${cls.padEnd(24)} ${SERVERS.map((s) => `${cell(direct, s).denied}->${cell(through, s).denied}`).join('  ')}`);
    for (const s of SERVERS) {
      const c = cell(through, s);
      if (!c.denied) continue;
      const what = `${cls} on ${s}: ${c.denied} denied call(s) executed, e.g. ${reproducer(cls, c.examples[0], servers[s].port)}`;
      failures.push(what);
    }
  }
  t.diagnostic(lines.join('\n'));

  // The test can fail: straight to the servers, denied tools do run ...
  for (const s of SERVERS) assert.ok(direct.plain?.[s]?.denied > 0, `${s} executed no plain denied call directly: the oracle is broken`);
  // ... and through the daemon allowed ones do, on every server.
  for (const s of SERVERS) assert.ok(through['allowed-control']?.[s]?.allowed > 0, `${s}: no allowed call went through the daemon`);
  assert.ok(daemon.interceptions({ pid: fenced.pid }).length > 0, 'the daemon intercepted none of the agent\'s connections');
  assert.ok(failures.length === 0, `denied tools executed through the daemon:\n${failures.join('\n')}`);
}, { timeoutMs: 60 * 60 * 1000 });
