// --workers N: agent processes whose connections land on different worker
// threads race one rate-limit budget. Exactly `max` calls run, every other
// is refused, the stats map counts every call once, and every audit line
// is whole JSON. Workers are told apart by the daemon's log ("served by worker N"
// after each interception), so the race is known to cross threads.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { itest } from '../lib/itest.mjs';
import { sandbox } from '../lib/sandbox.mjs';
import { startDaemon } from '../lib/daemon.mjs';
import { startRecorder, policyOf, waitUntil, rawExchange, toolCall, JSON_TYPE, ACCEPT_BOTH } from '../lib/mcp.mjs';
import { startSdkServer } from '../lib/sdk-http-server.mjs';
import { countsFromBpftool, auditLines, countsFromAudit } from '../lib/metrics.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const RACER = path.join(here, '../lib/race-agent.mjs');
const MAX = 1200;
const CALLS = 400;      // per process, back to back on CONNS keep-alive connections
const CONNS = 8;
const PER_WORKER = 2;   // racing processes on every worker at least
const SPAWN_MAX = 40;   // processes tried before giving up on a worker

for (const workers of [2, 4]) {
  itest(`--workers ${workers}: processes on every worker race one budget of ${MAX}: exactly ${MAX} run, the rest refused, counts exact`, async (t) => {
    const sb = sandbox(t, `workers-${workers}`);
    const rec = await startRecorder(sb, { tools: ['echo'] });
    const auditFile = path.join(sb.tmp, 'audit.jsonl');
    const daemon = await startDaemon(sb, {
      policy: policyOf({ rec: { port: rec.port, tools: { echo: { limits: [{ counter: 'race', window: 'hour', max: MAX, scope: 'global' }] } } } }),
      args: ['--workers', String(workers), '--audit', auditFile],
    });
    const go = path.join(sb.tmp, 'go');
    const perWorker = new Map();
    const racers = [];
    // Processes until every worker has PER_WORKER of them: where each
    // landed is the worker its tools/list was logged on.
    while ([...Array(workers).keys()].some((w) => (perWorker.get(w) || 0) < PER_WORKER)) {
      assert.ok(racers.length < SPAWN_MAX, `${SPAWN_MAX} processes and still a worker with fewer than ${PER_WORKER}: ${JSON.stringify([...perWorker])}`);
      const proc = sb.spawn(process.execPath, [RACER, '--port', String(rec.port), '--count', String(CALLS), '--conns', String(CONNS), '--go', go], { cgroup: true });
      await proc.waitForOutput(/"ready"/);
      const [rec0] = await daemon.waitForInterceptions({ pid: proc.pid });
      perWorker.set(rec0.worker, (perWorker.get(rec0.worker) || 0) + 1);
      racers.push(proc);
    }
    assert.equal(perWorker.size, workers, 'every worker serves racing processes');
    fs.writeFileSync(go, '');
    const results = await Promise.all(racers.map(async (proc) => {
      const [line] = await proc.waitForOutput(/^\{"pid".*$/m, { timeoutMs: 60000 });
      return JSON.parse(line);
    }));
    const total = racers.length * CALLS;
    assert.deepEqual(results.flatMap((r) => r.errors), [], 'every call answered: run or rate-limited');
    assert.equal(results.reduce((n, r) => n + r.allowed, 0), MAX, 'exactly the budget ran');
    assert.equal(results.reduce((n, r) => n + r.refused, 0), total - MAX, 'every other call refused');
    assert.equal(rec.calls().length, MAX, 'the server ran exactly the budget');

    const expected = { 'rec/echo/allow': MAX, 'rec/echo/rate_limited': total - MAX, 'rec/tools/list/allow': racers.length };
    // each worker writes its rows once per batch: wait for the last ones
    const counts = await waitUntil(() => {
      const c = countsFromBpftool(sb.pinDir);
      return JSON.stringify(c) === JSON.stringify(expected) && c;
    }, 'tool_stats to count every call', 10000).catch(() => countsFromBpftool(sb.pinDir));
    assert.deepEqual(counts, expected, 'tool_stats: every call counted once');
    // every line parses (auditLines throws on a torn one), one per decision
    const lines = await waitUntil(() => { const l = auditLines(auditFile); return l.length >= total + racers.length && l; },
      'an audit line per decision');
    assert.deepEqual(countsFromAudit(lines), expected, 'audit log: one whole line per decision');
    assert.ok(daemon.proc.running, 'the daemon survived');
  }, { timeoutMs: 180000 });
}

// A legacy HTTP+SSE session lives on the worker of the process that opened
// its stream. A connection whose first request names the session goes to
// that worker, whichever process opens it (a curl per message): every such
// POST goes through, its answer on the stream. Only a connection that
// another request first placed on another worker is refused a POST into
// the session: 409, and the server never sees it.
itest('--workers 2: a legacy SSE session takes POSTs from any process; one on a connection another worker holds gets 409', async (t) => {
  const sb = sandbox(t, 'workers-legacy');
  const rec = await startRecorder(sb, { tools: ['echo'] });
  const daemon = await startDaemon(sb, { policy: policyOf({ rec: { port: rec.port } }), args: ['--workers', '2'] });
  const holder = sb.spawn(process.execPath, ['-e', `
    require('http').get({ host: '127.0.0.1', port: ${rec.port}, path: '/sse', headers: { Accept: 'text/event-stream' } },
      (res) => res.setEncoding('utf8').on('data', (d) => process.stdout.write(d)));`], { cgroup: true });
  const [endpoint] = await holder.waitForOutput(/^data: \/messages\?sessionId=\S+$/m);
  const sessionPath = endpoint.slice('data: '.length);
  const [stream] = await daemon.waitForInterceptions({ pid: holder.pid });
  const post = (i) => ({ method: 'POST', path: sessionPath, headers: [JSON_TYPE],
    body: JSON.stringify(toolCall(i + 1, 'echo', { m: `legacy-${i}` })) });
  // eight processes, each its own connection: all routed to the stream's worker
  for (let i = 0; i < 8; i++) {
    const out = await rawExchange(sb, rec.port, [post(i)]);
    assert.equal(out.ok, true, out.error);
    const [conn] = await daemon.waitForInterceptions({ pid: out.pid });
    assert.equal(conn.worker, stream.worker, `POST ${i} routed to the stream's worker`);
    assert.equal(out.responses[0].status, 202, JSON.stringify(out.responses[0]));
    await holder.waitForOutput(new RegExp(`ran echo \\{\\\\"m\\\\":\\\\"legacy-${i}\\\\"\\}`));
  }
  // one connection, two requests in one write: the first (a ping) places it by process
  let other = null;
  for (let i = 100; i < 140 && !other; i++) {
    const out = await rawExchange(sb, rec.port, [{ pipeline: [
      { method: 'POST', path: '/mcp', headers: [JSON_TYPE, ACCEPT_BOTH], body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }) },
      post(i)] }]);
    assert.equal(out.ok, true, out.error);
    const [conn] = await daemon.waitForInterceptions({ pid: out.pid });
    if (conn.worker !== stream.worker) other = { i, response: out.responses[1] };
  }
  assert.ok(other, '40 processes and none placed on the other worker');
  assert.equal(other.response.status, 409, JSON.stringify(other));
  assert.match(other.response.json.error.message, /served by another worker than this legacy SSE session's stream/);
  assert.deepEqual(rec.requestsMentioning(`legacy-${other.i}`), [], 'the refused POST never reached the server');
  assert.ok(daemon.proc.running);
});

// Python's SDK announces /messages/?session_id=S: the main thread reads the
// first request line as the workers read targets, so those POSTs reach the
// stream's worker too; an escaped spelling of the parameter is refused
// (400) there, never placed by a raw key.
itest('--workers 2: a Python-style legacy session (session_id) takes POSTs from any process on its stream\'s worker', async (t) => {
  const sb = sandbox(t, 'workers-legacy-python');
  const srv = await startSdkServer(t, { tools: ['echo'], legacy: 'python' });
  const daemon = await startDaemon(sb, { policy: policyOf({ py: { port: srv.port } }), args: ['--workers', '2'] });
  const holder = sb.spawn(process.execPath, ['-e', `
    require('http').get({ host: '127.0.0.1', port: ${srv.port}, path: '/sse', headers: { Accept: 'text/event-stream' } },
      (res) => res.setEncoding('utf8').on('data', (d) => process.stdout.write(d)));`], { cgroup: true });
  const [endpoint] = await holder.waitForOutput(/^data: \/messages\/\?session_id=\S+$/m);
  const sessionPath = endpoint.slice('data: '.length);
  const [stream] = await daemon.waitForInterceptions({ pid: holder.pid });
  const post = (path, i) => ({ method: 'POST', path, headers: [JSON_TYPE],
    body: JSON.stringify(toolCall(i + 1, 'echo', { m: `py-${i}` })) });
  for (let i = 0; i < 6; i++) {
    const out = await rawExchange(sb, srv.port, [post(sessionPath, i)]);
    assert.equal(out.ok, true, out.error);
    const [conn] = await daemon.waitForInterceptions({ pid: out.pid });
    assert.equal(conn.worker, stream.worker, `POST ${i} routed to the stream's worker`);
    assert.equal(out.responses[0].status, 202, JSON.stringify(out.responses[0]));
    await holder.waitForOutput(new RegExp(`ran echo \\{\\\\"m\\\\":\\\\"py-${i}\\\\"\\}`));
  }
  const out = await rawExchange(sb, srv.port, [post(sessionPath.replace('session_id=', 'session%5Fid='), 99)]);
  assert.equal(out.responses[0].status, 400, JSON.stringify(out.responses[0]));
  assert.ok(!srv.requests.some((r) => r.url.includes('%5F')), 'the refused POST never reached the server');
  assert.ok(daemon.proc.running);
});

// With more than one worker the main thread peeks at a connection's first
// request line before it places it. That wait never adds to the header
// timeout, and ends at once when no request line can come: a half-close
// after a partial line, or bytes that cannot start one (a TLS hello).
itest('--workers 2: the first-line wait: a half-close or a TLS hello is answered at once, a slow head within one header timeout', async (t) => {
  const sb = sandbox(t, 'workers-peek');
  const rec = await startRecorder(sb, { tools: ['echo'] });
  await startDaemon(sb, { policy: policyOf({ rec: { port: rec.port } }), args: ['--workers', '2', '--header-timeout', '4'] });
  const probe = async (kind) => {
    const script = `
      const net = require('net'); const t0 = Date.now(); let got = '';
      const s = net.connect(${rec.port}, '127.0.0.1', () => {
        if ('${kind}' === 'halfclose') { s.write('POST /mcp'); s.end(); }
        else if ('${kind}' === 'tls') s.write(Buffer.from('160301020001000200030300', 'hex'));
        else { let i = 0; const head = 'POST /mcp HTTP/1.1\\r\\nHost: x\\r\\n';
          const tick = setInterval(() => { if (i < head.length) s.write(head[i++]); }, 300); s.on('close', () => clearInterval(tick)); }
      });
      s.on('data', (d) => { got += d; });
      s.on('error', () => {});
      s.on('close', () => console.log(JSON.stringify({ ms: Date.now() - t0, status: Number((got.match(/^HTTP\\/1\\.1 (\\d+)/) || [])[1] || 0) })));`;
    const res = await sb.runInCgroup(process.execPath, ['-e', script], { timeoutMs: 30000 });
    return JSON.parse(res.stdout.trim().split('\n').pop());
  };
  const [half, tls, slow] = await Promise.all([probe('halfclose'), probe('tls'), probe('slow')]);
  t.diagnostic(`half-close: ${JSON.stringify(half)}; tls: ${JSON.stringify(tls)}; slow head: ${JSON.stringify(slow)}`);
  assert.ok(half.ms < 2000, `a half-close after "POST /mcp" waited ${half.ms} ms`);
  assert.ok(tls.ms < 2000 && tls.status === 400, `a TLS hello waited ${tls.ms} ms (status ${tls.status})`);
  // one header timeout (4 s) plus the timer wheel's 1-2 s, not two of them
  assert.equal(slow.status, 408);
  assert.ok(slow.ms >= 3500 && slow.ms < 7500, `a slow head got its 408 after ${slow.ms} ms`);
});
