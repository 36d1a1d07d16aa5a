// No input can crash or stall the daemon. Adversarial
// bodies, slowloris, agents that never read, connection floods and fd
// exhaustion are thrown at a daemon whose memory is capped; it stays up,
// its memory stays bounded, other agents' calls keep working, and no
// denied or refused call reaches the server.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { itest } from '../lib/itest.mjs';
import { sandbox } from '../lib/sandbox.mjs';
import { startDaemon } from '../lib/daemon.mjs';
import { startRecorder, spawnAgent, resultText, expectDenial, policyOf, waitUntil, rawExchange, JSON_TYPE, ACCEPT_BOTH } from '../lib/mcp.mjs';
import { scrapeMetrics, parseSamples, auditLines } from '../lib/metrics.mjs';
import { sleep } from '../lib/sleep.mjs';

const RAW_CLIENT = path.join(path.dirname(fileURLToPath(import.meta.url)), '../lib/raw-client.mjs');
const MEMORY_CAP = 64 << 20;

async function abuse(sb, port, mode, opts = {}, timeoutMs = 60000) {
  const argv = [RAW_CLIENT, '--port', String(port), '--mode', mode];
  for (const [k, v] of Object.entries(opts)) argv.push(`--${k}`, String(v));
  const res = await sb.runInCgroup(process.execPath, argv, { timeoutMs, ...(opts.cgroup ? { cgroup: opts.cgroup } : {}) });
  const line = res.stdout.trim().split('\n').pop();
  try {
    return JSON.parse(line);
  } catch {
    throw new Error(`raw-client --mode ${mode} printed no JSON (exit ${res.code})\n${res.stdout}\n${res.stderr}`);
  }
}

// The daemon runs in sb.daemonCgroup; where the cgroup v2 memory
// controller is enabled its memory.max is the cap, and the peak RSS is
// checked against the same cap either way (hybrid hosts have no v2 memory
// controller).
function capMemory(sb) {
  const max = path.join(sb.daemonCgroup, 'memory.max');
  if (!fs.existsSync(max)) return false;
  fs.writeFileSync(max, String(MEMORY_CAP));
  return true;
}

function peakRss(pid) {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]) * 1024;
}

function cpuTicks(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}

async function metric(daemon, name, labels = {}) {
  const s = parseSamples(await scrapeMetrics(daemon)).find((x) => x.name === name
    && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s ? s.value : undefined;
}

async function setup(t, label, args = []) {
  const sb = sandbox(t, label);
  const capped = capMemory(sb);
  const rec = await startRecorder(sb, { tools: ['echo', 'denied'] });
  const daemon = await startDaemon(sb, {
    args,
    policy: policyOf({ rec: { port: rec.port, tools: { denied: { action: 'deny', reason: 'limits test' } } } }),
  });
  return { sb, rec, daemon, capped };
}

// Another agent, in its own cgroup, whose calls must keep working.
async function bystanderWorks(sb, rec) {
  const agent = await spawnAgent(sb, rec.url(), { cgroup: sb.childCgroup(`bystander-${Date.now()}`) });
  assert.equal(resultText(await agent.callTool('echo', { ok: 1 })), 'ran echo {"ok":1}');
  expectDenial(assert, await agent.callTool('denied', {}), { reason: 'limits test' });
  await agent.close();
}

function deniedNeverRan(rec) {
  assert.deepEqual(rec.calls().filter((c) => c.tool !== 'echo'), [], 'a denied or refused call reached the server');
}

itest('~1 MB adversarial bodies are refused before any tree is built; memory stays bounded', async (t) => {
  const { sb, rec, daemon, capped } = await setup(t, 'limits-bodies');
  const expected = { zeros: 413, deep: 400, objects: 413, strings: 413, batch: 413 };
  for (const [kind, status] of Object.entries(expected)) {
    const started = Date.now();
    const out = await abuse(sb, rec.port, 'bodies', { kind, count: 8, parallel: 4 });
    t.diagnostic(`${kind}: ${out.bytes} bytes x8, ${Date.now() - started} ms, statuses ${out.statuses.join(',')}`);
    assert.deepEqual(out.statuses, Array(8).fill(status), `${kind}: ${out.body}`);
    const body = JSON.parse(out.body);
    assert.equal(body.error.code, status === 400 ? -32700 : -32600, out.body);
    assert.match(body.error.message, /mcpfence: .*(limit)/, out.body);
  }
  const rss = peakRss(daemon.pid);
  t.diagnostic(`daemon peak RSS ${(rss / (1 << 20)).toFixed(1)} MiB${capped ? ' (memory.max 64 MiB)' : ' (no cgroup v2 memory controller: RSS checked)'}`);
  assert.ok(rss < MEMORY_CAP, `peak RSS ${rss} over ${MEMORY_CAP}`);
  assert.equal((await daemon.healthz()).status, 200);
  if (capped) assert.match(fs.readFileSync(path.join(sb.daemonCgroup, 'memory.events'), 'utf8'), /oom_kill 0/);
  await bystanderWorks(sb, rec);
  deniedNeverRan(rec);
  assert.equal(rec.http().filter((r) => r.body.length > 100000).length, 0, 'an adversarial body reached the server');
});

itest('slowloris heads and bodies get 408, idle connections are closed, others keep working', async (t) => {
  const { sb, rec, daemon } = await setup(t, 'limits-slow',
    ['--header-timeout', '2', '--body-timeout', '2', '--idle-timeout', '3']);
  const [head, body, upload, idle] = await Promise.all([
    abuse(sb, rec.port, 'head', { ms: 200 }),
    abuse(sb, rec.port, 'body', { ms: 200 }),
    abuse(sb, rec.port, 'upload', { ms: 120 }),
    abuse(sb, rec.port, 'idle'),
    bystanderWorks(sb, rec),
  ]);
  t.diagnostic(`head: ${head.status} after ${head.closedAfterMs} ms; body: ${body.status} after ${body.closedAfterMs} ms; ` +
    `streamed upload: ${upload.status} after ${upload.closedAfterMs} ms; idle: closed after ${idle.closedAfterMs} ms`);
  // a body streamed through ends with the body timeout too (the server
  // has part of it: the connection is closed, no answer); 96 bytes at
  // 120 ms would take 11.5 s
  assert.ok(upload.closedAfterMs >= 1500 && upload.closedAfterMs < 6000, `streamed upload closed after ${upload.closedAfterMs} ms`);
  assert.ok(upload.status === 0 || upload.status === 408, upload.body);
  assert.equal(head.status, 408, head.body);
  assert.match(head.body, /request head not complete in time/);
  assert.ok(head.closedAfterMs >= 1500 && head.closedAfterMs < 8000, `head closed after ${head.closedAfterMs} ms`);
  assert.equal(body.status, 408, body.body);
  assert.match(body.body, /request body not complete in time/);
  assert.ok(body.closedAfterMs >= 1500 && body.closedAfterMs < 8000, `body closed after ${body.closedAfterMs} ms`);
  assert.equal(idle.status, 0);
  assert.ok(idle.closedAfterMs >= 2500 && idle.closedAfterMs < 9000, `idle closed after ${idle.closedAfterMs} ms`);
  assert.ok(await metric(daemon, 'mcpfence_limit_refusals_total', { limit: 'timeout' }) >= 4);
  deniedNeverRan(rec);
});

itest('an agent that pipelines and never reads is not read either, holds little, and is reset', async (t) => {
  const { sb, rec, daemon } = await setup(t, 'limits-noread', ['--idle-timeout', '3']);
  const noread = abuse(sb, rec.port, 'noread', { count: 60000, ms: 9000 });
  await sleep(2500);
  const held = await metric(daemon, 'mcpfence_held_bytes');
  t.diagnostic(`held while the agent does not read: ${held} bytes`);
  assert.ok(held < 2 << 20, `the daemon holds ${held} bytes for an agent that does not read`);
  await bystanderWorks(sb, rec);
  const out = await noread;
  t.diagnostic(`never-reading agent: ${out.written} of ${out.total} bytes taken, reset: ${out.closed}`);
  assert.ok(out.written < out.total, 'every pipelined request was read although no answer was');
  assert.equal(out.closed, true, 'the daemon did not end the connection of an agent that does not read');
  assert.ok((await metric(daemon, 'mcpfence_held_bytes_peak')) < 8 << 20);
  assert.ok(peakRss(daemon.pid) < MEMORY_CAP);
  deniedNeverRan(rec);
});

itest('memory budget: held bodies past it are refused 503 with Retry-After, never grown past; freed, calls work again', async (t) => {
  const budget = 4 << 20;
  const { sb, rec, daemon } = await setup(t, 'limits-memory', ['--memory-budget', String(budget), '--body-timeout', '4']);
  // twelve requests announcing ~1 MB bodies, half sent: a body's room is
  // reserved at its head, so the first ones are held (until the body
  // timeout) and the rest refused at once
  const held = await Promise.all(Array.from({ length: 12 }, () => abuse(sb, rec.port, 'partial', { size: 1000000, ms: 8000 })));
  const refused = held.filter((r) => r.status === 503);
  const timedOut = held.filter((r) => r.status === 408);
  t.diagnostic(`12 half-sent 1 MB bodies under a 4 MiB budget: ${refused.length} refused 503, ${timedOut.length} held until 408`);
  assert.ok(refused.length >= 8, JSON.stringify(held.map((r) => r.status)));
  assert.ok(timedOut.length >= 2, JSON.stringify(held.map((r) => r.status)));
  assert.ok(refused.every((r) => r.closedAfterMs < timedOut[0].closedAfterMs), 'refused only after others timed out');
  assert.equal(refused.length + timedOut.length, 12, JSON.stringify(held.map((r) => r.status)));
  assert.match(refused[0].head, /\r\nRetry-After: 1\r\n/i, refused[0].head);
  assert.match(JSON.parse(refused[0].body).error.message, /memory budget exhausted/);
  const peak = await metric(daemon, 'mcpfence_held_bytes_peak');
  t.diagnostic(`held bytes peak ${peak} (budget ${budget})`);
  assert.ok(peak <= budget, `held ${peak} bytes, over the budget of ${budget}`);
  assert.ok(await metric(daemon, 'mcpfence_limit_refusals_total', { limit: 'memory' }) >= 6);
  await waitUntil(async () => (await metric(daemon, 'mcpfence_held_bytes')) < 1 << 20, 'held bytes given back');
  await bystanderWorks(sb, rec);
  deniedNeverRan(rec);
});

itest('a server answer the daemon must hold but has no room for ends that connection, not the daemon', async (t) => {
  const sb = sandbox(t, 'limits-held-answer');
  // tools/list answers are held whole to filter them: ~6 MiB, or small
  const server = http.createServer((req, res) => {
    const parts = [];
    req.on('data', (d) => parts.push(d));
    req.on('end', () => {
      const call = JSON.parse(Buffer.concat(parts).toString('utf8'));
      const tools = Array.from({ length: call.params?.cursor === 'big' ? 6000 : 2 }, (_, i) => ({ name: `t${i}`, description: 'd'.repeat(1000) }));
      const body = JSON.stringify({ jsonrpc: '2.0', id: call.id, result: { tools } });
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => { server.closeAllConnections(); server.close(); });
  const port = server.address().port;
  const daemon = await startDaemon(sb, { args: ['--memory-budget', String(4 << 20)], policy: policyOf({ big: { port, hide: ['t1'] } }) });
  const list = (cursor) => ({ method: 'POST', path: '/mcp', headers: [JSON_TYPE, ACCEPT_BOTH],
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { cursor } }) });
  const big = await rawExchange(sb, port, [list('big')]);
  const got = big.ok ? `status ${big.responses[0].status}` : big.error;
  assert.ok(!big.ok || big.responses[0].status !== 200, `an answer over the budget was relayed (unfiltered?): ${got}`);
  const peak = await metric(daemon, 'mcpfence_held_bytes_peak');
  t.diagnostic(`6 MiB tools/list answer under a 4 MiB budget: ${got}; held peak ${peak}`);
  assert.ok(peak <= 4 << 20, `held ${peak}`);
  assert.ok(await metric(daemon, 'mcpfence_limit_refusals_total', { limit: 'memory' }) >= 1);
  const small = await rawExchange(sb, port, [list('small')]);
  assert.equal(small.responses[0].status, 200);
  assert.deepEqual(small.responses[0].json.result.tools.map((x) => x.name), ['t0'], 'filtered as before');
});

itest('endless streams to agents that do not read stay within the memory budget', async (t) => {
  const sb = sandbox(t, 'limits-streams');
  capMemory(sb);
  // a server streaming to every GET as fast as it can, without end (bytes
  // the daemon relays as they come, holding none of them whole)
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    const chunk = Buffer.alloc(60000, 'x');
    const pump = () => { while (res.write(chunk)); };
    res.on('drain', pump);
    pump();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => { server.closeAllConnections(); server.close(); });
  const port = server.address().port;
  const budget = 8 << 20;
  const daemon = await startDaemon(sb, { args: ['--memory-budget', String(budget)], policy: policyOf({ sse: { port } }) });
  // 400 agents' GETs, none of which reads a byte of its stream
  const script = `const net = require('node:net'); const socks = [];
    for (let i = 0; i < 400; i++) { const s = net.connect(${port}, '127.0.0.1', () =>
      s.write('GET /download HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')); s.pause(); socks.push(s); }
    setTimeout(() => { for (const s of socks) s.destroy(); }, 3000);`;
  await sb.runInCgroup(process.execPath, ['-e', script], { timeoutMs: 20000 });
  const peak = await metric(daemon, 'mcpfence_held_bytes_peak');
  t.diagnostic(`400 endless streams, agents not reading, ${budget} byte budget: held peak ${peak}`);
  assert.ok(peak > 1 << 20, `the streams did not run (peak ${peak})`);
  assert.ok(peak <= budget, `held ${peak} over a budget of ${budget}`);
});

itest('connection caps: an agent over its cap gets 503s, the total stays under the global cap', async (t) => {
  const { sb, rec, daemon } = await setup(t, 'limits-conns', ['--max-agent-conns', '10', '--max-conns', '40']);
  const one = await abuse(sb, rec.port, 'hold', { count: 30, ms: 1000 });
  assert.equal(one.open, 10, JSON.stringify(one));
  assert.equal(one.refused, 20);
  assert.ok(one.statuses.includes(503), JSON.stringify(one.statuses));
  // five agents (processes), ten each at most, forty in all
  const many = await Promise.all(Array.from({ length: 5 }, () => abuse(sb, rec.port, 'hold', { count: 10, ms: 1500 })));
  const open = many.reduce((n, r) => n + r.open, 0);
  t.diagnostic(`five agents x10: ${open} open, ${many.reduce((n, r) => n + r.refused, 0)} refused`);
  assert.ok(open <= 40 && open >= 30, `open ${open}`);
  assert.ok(await metric(daemon, 'mcpfence_limit_refusals_total', { limit: 'agent_connections' }) >= 20);
  assert.ok(await metric(daemon, 'mcpfence_limit_refusals_total', { limit: 'connections' }) >= 1);
  await waitUntil(async () => (await metric(daemon, 'mcpfence_connections_active')) === 0, 'connections closed');
  await bystanderWorks(sb, rec);
  deniedNeverRan(rec);
});

itest('the metrics endpoint holds at most 16 connections and closes idle ones', async (t) => {
  const { sb, daemon } = await setup(t, 'limits-admin');
  const flood = await abuse(sb, daemon.metricsPort, 'hold', { count: 50, ms: 500 });
  t.diagnostic(`50 idle connections to /metrics: ${flood.open} kept, ${flood.refused} closed`);
  assert.ok(flood.open <= 16, JSON.stringify(flood));
  assert.ok((await metric(daemon, 'mcpfence_held_bytes')) !== undefined, 'a scrape during the flood');
  const idle = await abuse(sb, daemon.metricsPort, 'hold', { count: 3, ms: 9000 });
  assert.equal(idle.refused, 3, `idle connections to /metrics kept open: ${JSON.stringify(idle)}`);
});

itest('out of file descriptors: the listener rests instead of spinning, and accepts again after', async (t) => {
  const { sb, rec, daemon } = await setup(t, 'limits-fds');
  const limits = fs.readFileSync(`/proc/${daemon.pid}/limits`, 'utf8');
  const [, soft, hard] = /Max open files\s+(\d+)\s+(\d+)/.exec(limits);
  // below every descriptor the daemon holds: not even its spare one can be had again
  execFileSync('prlimit', ['--pid', String(daemon.pid), `--nofile=4:${hard}`]);
  try {
    const flood = abuse(sb, rec.port, 'hold', { count: 20, ms: 3500 });
    await sleep(1000);
    const before = cpuTicks(daemon.pid);
    await sleep(2000);
    const used = cpuTicks(daemon.pid) - before;
    t.diagnostic(`daemon CPU over 2 s at the fd limit: ${used} ticks`);
    assert.ok(used < 40, `the daemon used ${used} ticks in 2 s at the fd limit (a busy loop)`);
    await flood;
  } finally {
    execFileSync('prlimit', ['--pid', String(daemon.pid), `--nofile=${soft}:${hard}`]);
  }
  assert.match(daemon.log, /out of file descriptors: not accepting for 1s/);
  assert.ok(await metric(daemon, 'mcpfence_limit_refusals_total', { limit: 'fd_pause' }) >= 1);
  await bystanderWorks(sb, rec);
  deniedNeverRan(rec);
});

itest('agents cannot take the descriptors namespaces and reloads need: a quarter of the limit stays free', async (t) => {
  const { sb, rec, daemon } = await setup(t, 'limits-fd-reserve');
  const limits = fs.readFileSync(`/proc/${daemon.pid}/limits`, 'utf8');
  const [, soft, hard] = /Max open files\s+(\d+)\s+(\d+)/.exec(limits);
  const openFds = () => fs.readdirSync(`/proc/${daemon.pid}/fd`).length;
  execFileSync('prlimit', ['--pid', String(daemon.pid), `--nofile=600:${hard}`]);
  try {
    const flood = await abuse(sb, rec.port, 'hold', { count: 400, ms: 1500 });
    t.diagnostic(`400 idle connections at a limit of 600: ${flood.open} kept, ${flood.refused} refused; ` +
      `the daemon held ${openFds()} descriptors after`);
    assert.ok(flood.refused > 0, JSON.stringify(flood));
    // each kept connection is two descriptors: together under 450 (600 less 150 kept free)
    assert.ok(flood.open * 2 <= 450, JSON.stringify(flood));
  } finally {
    execFileSync('prlimit', ['--pid', String(daemon.pid), `--nofile=${soft}:${hard}`]);
  }
  assert.match(daemon.log, /too many connections/);
  await bystanderWorks(sb, rec);
  deniedNeverRan(rec);
});

itest('invented tool names share one "(other)" row; fallback session keys are unguessable', async (t) => {
  const sb = sandbox(t, 'limits-names');
  const rec = await startRecorder(sb, { tools: ['echo'] });
  const auditFile = path.join(sb.tmp, 'audit.jsonl');
  const daemon = await startDaemon(sb, {
    args: ['--audit', auditFile],
    policy: policyOf({ rec: { port: rec.port, tools: { named: { action: 'deny', reason: 'named in the policy' } } } }),
  });
  const calls = Array.from({ length: 100 }, (_, i) => ({ jsonrpc: '2.0', id: i + 1, method: 'tools/call', params: { name: `made-up-${i}`, arguments: {} } }));
  const post = (body) => ({ method: 'POST', path: '/mcp/stateless', headers: [JSON_TYPE, ACCEPT_BOTH, ['MCP-Protocol-Version', '2025-06-18']], body: JSON.stringify(body) });
  const raw = await rawExchange(sb, rec.port, [post(calls), post({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'named', arguments: {} } })]);
  assert.equal(raw.ok, true, raw.error);
  const rows = parseSamples(await scrapeMetrics(daemon)).filter((s) => s.name === 'mcpfence_tool_calls_total' && s.labels.server === 'rec');
  const tools = [...new Set(rows.map((s) => s.labels.tool))].sort();
  assert.deepEqual(tools, ['(other)', 'named'], JSON.stringify(tools));
  assert.equal(rows.filter((s) => s.labels.tool === '(other)').reduce((n, s) => n + s.value, 0), 100);
  // the audit log keeps the real names; sessions of connections that name none are keyed hashes
  const lines = await waitUntil(() => { const l = auditLines(auditFile); return l.length >= 101 && l; }, '101 audit lines');
  assert.ok(lines.some((l) => l.tool === 'made-up-7'));
  const sessions = [...new Set(lines.map((l) => l.session))];
  assert.equal(sessions.length, 2, JSON.stringify(sessions));
  for (const s of sessions) assert.match(s, /^conn-[0-9a-f]{16}$/);
});

// The red team's reproducer at small scale: on keep-alive connections, an
// allowed call the server never answers, then batches of denied calls
// with 200-byte ids. Each denial, answered by the daemon, waits behind the
// unanswered call; they count in the memory budget and past a
// connection's high-water mark the agent is not read, so the daemon stays
// small and refuses (503, limit="memory") instead of growing until it is
// OOM-killed (failing open).
itest('denials queued behind an unanswered call count in the memory budget', async (t) => {
  const sb = sandbox(t, 'limits-queued');
  const server = http.createServer(() => {}); // reads requests, never answers
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => { server.closeAllConnections(); server.close(); });
  const port = server.address().port;
  const budget = 1 << 20;
  const daemon = await startDaemon(sb, {
    args: ['--memory-budget', String(budget)],
    policy: policyOf({ never: { port, tools: { bad: { action: 'deny', reason: 'limits test' } } } }),
  });
  const rssOf = () => Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${daemon.pid}/status`, 'utf8'))[1]) * 1024;
  const rssBefore = rssOf();
  let rssMax = rssBefore;
  const sampler = setInterval(() => { rssMax = Math.max(rssMax, rssOf()); }, 50);
  // 8 connections x 63 batches x 100 denials: measured before they
  // counted, 19 MiB more RSS and no refusal; after, under 2 MiB
  const script = `const net = require('node:net');
    const post = (body) => 'POST /mcp HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/json\\r\\n'
      + 'Accept: application/json, text/event-stream\\r\\nContent-Length: ' + Buffer.byteLength(body) + '\\r\\n\\r\\n' + body;
    const call = (id, name) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: {} } });
    const out = { statuses: [], bytes: 0 };
    const socks = [];
    for (let c = 0; c < 8; c++) {
      const s = net.connect(${port}, '127.0.0.1', () => {
        s.write(post(JSON.stringify(call(1, 'slow'))));
        for (let i = 0; i < 63; i++)
          s.write(post(JSON.stringify(Array.from({ length: 100 }, (_, j) =>
            call(c + '-' + i + '-' + j + '-' + 'A'.repeat(180), 'bad')))));
      });
      let got = '';
      s.on('data', (d) => { got += d.toString('latin1'); out.bytes += d.length; });
      s.on('error', () => {});
      s.on('close', () => {});
      socks.push(() => { for (const m of got.matchAll(/HTTP\\/1\\.1 (\\d{3})/g)) out.statuses.push(Number(m[1])); });
      socks.push(() => s.destroy());
    }
    setTimeout(() => { for (const f of socks) f(); console.log(JSON.stringify(out)); }, 4000);`;
  const res = await sb.runInCgroup(process.execPath, ['-e', script], { timeoutMs: 30000 });
  clearInterval(sampler);
  const out = JSON.parse(res.stdout.trim().split('\n').pop());
  const grew = rssMax - rssBefore;
  const refused = await metric(daemon, 'mcpfence_limit_refusals_total', { limit: 'memory' });
  const peak = await metric(daemon, 'mcpfence_held_bytes_peak');
  t.diagnostic(`8 connections of queued denials under a ${budget} byte budget: RSS grew ${(grew / (1 << 20)).toFixed(1)} MiB, ` +
    `held peak ${peak}, memory refusals ${refused}, answers seen ${JSON.stringify(out.statuses)}`);
  assert.ok(refused >= 1, 'no request was refused for memory although the queued denials pass the budget');
  assert.ok(out.statuses.includes(503), `no 503 reached an agent: ${JSON.stringify(out.statuses)}`);
  // the answers to one read's requests are counted after that read: they
  // may pass the budget by a read's worth of answers (README, Limits)
  assert.ok(peak <= budget + (512 << 10), `held ${peak} over a budget of ${budget}`);
  assert.ok(grew < 8 << 20, `the daemon grew ${grew} bytes for queued denials`);
  assert.equal((await daemon.healthz()).status, 200);
});
