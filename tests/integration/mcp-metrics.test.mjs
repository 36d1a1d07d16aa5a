// After a scripted mix of allowed, denied, rate-limited and hidden
// calls (and allowed ones the server fails) by a real SDK client, the
// per-tool counts agree exactly in the
// pinned tool_stats map (bpftool), GET /metrics, `mcpfence stats --json`
// and the audit log, and promtool accepts the exposition.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { itest } from '../lib/itest.mjs';
import { sandbox } from '../lib/sandbox.mjs';
import { startDaemon, MCPFENCE } from '../lib/daemon.mjs';
import {
  startRecorder, spawnAgent, expectDenial, resultText, policyOf, waitUntil, rawExchange, sessionSteps, sessionPost,
} from '../lib/mcp.mjs';
import {
  toolStatsRows, countsFromBpftool, scrapeMetrics, parseSamples, countsFromMetrics, statsJson, countsFromStats,
  auditLines, countsFromAudit, promtoolCheck,
} from '../lib/metrics.mjs';

// A tool name built to break a careless exposition: quote, backslash, newline.
const WEIRD = 'we"ird\\tool\nname';
const SCRIPT = [
  ['echo', 3], ['execute', 2], ['limited', 4], ['secret', 1], ['echo', 1], ['execute', 1], [WEIRD, 1],
];
// SCRIPT's outcomes plus the two spot-check calls (one echo, one limited)
// and one malformed call (echo with array arguments) sent raw; the
// tools/list before them is a decision too, counted under its method.
const EXPECTED = {
  'rec/tools/list/allow': 1,
  'rec/echo/allow': 5,
  'rec/echo/invalid': 1,
  'rec/execute/deny': 3,
  'rec/limited/allow': 2,
  'rec/limited/rate_limited': 3,
  'rec/secret/hidden': 1,
  [`rec/${WEIRD}/allow`]: 1,
  'rec/flaky/allow': 4,
};
const TOTAL = Object.values(EXPECTED).reduce((a, b) => a + b, 0);

// Both reply shapes: SSE answers are read event by event, JSON answers are
// relayed as they come and scanned on the way.
for (const jsonResponse of [false, true]) {
  itest(`counts agree in bpftool, /metrics, mcpfence stats --json and the audit log (${jsonResponse ? 'JSON' : 'SSE'} replies)`, async (t) => {
    const sb = sandbox(t, `metrics-agree-${jsonResponse ? 'json' : 'sse'}`);
    const rec = await startRecorder(sb, { tools: ['echo', 'execute', 'limited', 'secret', 'flaky', WEIRD], jsonResponse });
    const auditFile = path.join(sb.tmp, 'audit.jsonl');
    const daemon = await startDaemon(sb, {
      keepMaps: true,
      args: ['--audit', auditFile],
      policy: policyOf({ rec: { port: rec.port, hide: ['secret'], tools: {
        execute: { action: 'deny', reason: 'metrics test deny' },
        limited: { rate_limit: { max: 2, window: 3600 } },
      } } }),
    });
    const agent = await spawnAgent(sb, rec.url());
    // as real clients do: tools a server lists get counters of their own
    await agent.must('listTools');
    for (const [tool, times] of SCRIPT) {
      for (let i = 0; i < times; i++) await agent.callTool(tool, { i });
    }
    // Allowed calls the server fails: two isError results, one JSON-RPC error.
    assert.equal(resultText(await agent.callTool('flaky', {})), 'ran flaky {}');
    for (let i = 0; i < 2; i++) assert.equal((await agent.callTool('flaky', { fail: 'isError' })).isError, true);
    const thrown = await agent.send('callTool', { name: 'flaky', arguments: { fail: 'jsonrpc' } });
    assert.match(thrown.error || '', /flaky threw/, JSON.stringify(thrown));
    // A call no conforming client sends: refused as invalid, counted for its tool.
    const raw = await rawExchange(sb, rec.port, [...sessionSteps(), sessionPost(JSON.stringify(
      { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'echo', arguments: ['not', 'an', 'object'] } }))]);
    assert.equal(raw.ok, true, raw.error);
    assert.match(JSON.stringify(raw.responses[2]), /-32600/, JSON.stringify(raw.responses[2]));
    // Spot-check what the agent saw, so the counts below count real outcomes.
    assert.equal(resultText(await agent.callTool('echo', { i: 'last' })), 'ran echo {"i":"last"}');
    expectDenial(assert, await agent.callTool('limited', { i: 'last' }), { retry: true });
    // The agent's connections are open now, and none once it is gone.
    const active = async () => parseSamples(await scrapeMetrics(daemon)).find((x) => x.name === 'mcpfence_connections_active').value;
    assert.ok(await active() >= 1, 'mcpfence_connections_active while the agent is connected');
    await agent.close();
    await waitUntil(async () => (await active()) === 0, 'mcpfence_connections_active back to 0');
    const expected = EXPECTED;
    const total = TOTAL;
    assert.equal(rec.calls().length, expected['rec/echo/allow'] + expected['rec/limited/allow'] + expected['rec/flaky/allow'] + 1);

    // The audit line may be written after the reply: wait for all of them.
    const lines = await waitUntil(() => { const l = auditLines(auditFile); return l.length >= total && l; }, `${total} audit lines`);
    assert.deepEqual(countsFromAudit(lines), expected, 'audit log');
    assert.deepEqual(countsFromBpftool(sb.pinDir), expected, 'bpftool map dump pinned tool_stats');
    const exposition = await scrapeMetrics(daemon);
    assert.deepEqual(countsFromMetrics(exposition), expected, '/metrics');
    const stats = statsJson(sb.pinDir);
    assert.deepEqual(countsFromStats(stats), expected, 'mcpfence stats --json');

    // The weird name is one label value, escaped, and reads back unchanged.
    assert.ok(parseSamples(exposition).some((x) => x.name === 'mcpfence_tool_calls_total' && x.labels.tool === WEIRD), exposition);
    const check = promtoolCheck(exposition);
    assert.ok(check.ok, `promtool check metrics (exit ${check.status}):\n${check.output}\n${exposition}`);

    // Per-row consistency: calls = sum of decisions = histogram total, in the
    // map, in the stats output and in the Prometheus histogram's _count.
    const samples = parseSamples(exposition);
    for (const row of toolStatsRows(sb.pinDir).filter((r) => Number(r.calls) > 0)) {
      const decisions = ['allowed', 'denied', 'rate_limited', 'hidden', 'invalid'].reduce((sum, f) => sum + Number(row[f]), 0);
      assert.equal(Number(row.calls), decisions, JSON.stringify(row));
      assert.equal(row.latency_hist.reduce((sum, n) => sum + Number(n), 0), Number(row.calls), `histogram of ${row.tool}`);
      const count = samples.find((s) => s.name === 'mcpfence_tool_call_duration_seconds_count' && s.labels.server === row.server && s.labels.tool === row.tool);
      assert.ok(count, `duration histogram for ${row.tool}`);
      assert.equal(count.value, Number(row.calls), `_count of ${row.tool}`);
      const statsRow = stats.tools.find((s) => s.server === row.server && s.tool === row.tool);
      assert.equal(statsRow.calls, Number(row.calls));
      // Bytes and latency: the same numbers in the map, stats and /metrics.
      const sample = (name) => samples.find((x) => x.name === name && x.labels.server === row.server && x.labels.tool === row.tool)?.value;
      assert.equal(statsRow.request_bytes, Number(row.req_bytes), `request bytes of ${row.tool}`);
      assert.equal(statsRow.response_bytes, Number(row.resp_bytes), `response bytes of ${row.tool}`);
      assert.equal(statsRow.latency_ns_total, Number(row.latency_ns_total), `latency of ${row.tool}`);
      assert.equal(sample('mcpfence_tool_call_request_bytes_total'), Number(row.req_bytes), `request bytes of ${row.tool}`);
      assert.equal(sample('mcpfence_tool_call_response_bytes_total'), Number(row.resp_bytes), `response bytes of ${row.tool}`);
      assert.equal(sample('mcpfence_tool_call_duration_seconds_sum'), Number(row.latency_ns_total) / 1e9, `duration sum of ${row.tool}`);
      assert.ok(Number(row.req_bytes) > 0, JSON.stringify(row));
      // Allowed calls went to the server and back: time passed, a response came.
      if (Number(row.allowed) > 0) assert.ok(Number(row.resp_bytes) > 0 && Number(row.latency_ns_total) > 0, JSON.stringify(row));
    }
    // Upstream errors: 3 on flaky, none elsewhere, the same in all three views.
    const errorsIn = {
      bpftool: Object.fromEntries(toolStatsRows(sb.pinDir).filter((r) => Number(r.upstream_errors) > 0).map((r) => [r.tool, Number(r.upstream_errors)])),
      stats: Object.fromEntries(stats.tools.filter((r) => r.upstream_errors > 0).map((r) => [r.tool, r.upstream_errors])),
      metrics: Object.fromEntries(samples.filter((x) => x.name === 'mcpfence_tool_call_errors_total' && x.value > 0).map((x) => [x.labels.tool, x.value])),
    };
    assert.deepEqual(errorsIn, { bpftool: { flaky: 3 }, stats: { flaky: 3 }, metrics: { flaky: 3 } });
    for (const name of ['mcpfence_connections_intercepted_total', 'mcpfence_connections_active', 'mcpfence_build_info']) {
      assert.ok(samples.some((s) => s.name === name), `${name} in /metrics`);
    }
    assert.ok(samples.find((s) => s.name === 'mcpfence_connections_intercepted_total').value >= 1);

    // Audit lines name the agent, the rule and the reason.
    const deny = lines.find((l) => l.decision === 'deny');
    assert.equal(deny.agent.pid, agent.pid);
    assert.equal(deny.agent.cgroup, Number(sb.cgroupId));
    assert.equal(deny.rule, 'tools.execute.action');
    assert.match(deny.reason, /metrics test deny/);
    assert.ok(deny.session, `session in ${JSON.stringify(deny)}`);
    assert.ok(lines.every((l) => l.arguments === undefined), 'no arguments without --audit-args');
    const limited = lines.find((l) => l.decision === 'rate_limited');
    assert.equal(limited.rule, 'tools.limited.rate_limit');

    // The map outlives the daemon: stats reads the same numbers while it is down.
    await daemon.stop('SIGTERM');
    assert.deepEqual(countsFromStats(statsJson(sb.pinDir)), expected, 'mcpfence stats --json with the daemon stopped');
  });
}

// Rotation under load loses no line. Several agents call at
// once while the audit log rotates every few kilobytes; every decision
// the stats map counted is a line in FILE or in one of its .gz rotations.
itest('audit log rotation under concurrent load loses no line', async (t) => {
  const sb = sandbox(t, 'audit-rotation');
  const rec = await startRecorder(sb, { tools: ['echo', 'execute'] });
  const auditFile = path.join(sb.tmp, 'audit.jsonl');
  await startDaemon(sb, {
    args: ['--audit', auditFile, '--audit-max-bytes', '4096', '--audit-keep', '1000'],
    policy: policyOf({ rec: { port: rec.port, tools: { execute: { action: 'deny', reason: 'rotation' } } } }),
  });
  const AGENTS = 4;
  const CALLS = 40;
  const agents = await Promise.all(Array.from({ length: AGENTS }, (_, k) => spawnAgent(sb, rec.url(), { cgroup: sb.childCgroup(`agent-${k}`) })));
  await agents[0].must('listTools');
  await Promise.all(agents.map(async (agent, k) => {
    for (let i = 0; i < CALLS; i++) await agent.callTool(i % 3 ? 'echo' : 'execute', { agent: k, i, pad: 'p'.repeat(50) });
  }));
  await Promise.all(agents.map((agent) => agent.close()));
  const total = AGENTS * CALLS + 1;  /* and the tools/list, counted under its method */
  const counted = Object.values(countsFromStats(statsJson(sb.pinDir))).reduce((a, b) => a + b, 0);
  assert.equal(counted, total);

  const readAll = () => {
    const files = fs.readdirSync(sb.tmp).filter((name) => name === 'audit.jsonl' || /^audit\.jsonl\.\d+\.gz$/.test(name));
    const lines = [];
    for (const name of files) {
      const raw = fs.readFileSync(path.join(sb.tmp, name));
      const text = name.endsWith('.gz') ? zlib.gunzipSync(raw).toString('utf8') : raw.toString('utf8');
      lines.push(...text.split('\n').filter(Boolean).map((line) => JSON.parse(line)));
    }
    return { files, lines };
  };
  // Compression runs on a worker thread: wait until every rotation is a .gz.
  const { files, lines } = await waitUntil(() => {
    const found = readAll();
    const pending = fs.readdirSync(sb.tmp).some((name) => /^audit\.jsonl\.\d+$/.test(name));
    return !pending && found.lines.length >= total && found;
  }, `${total} audit lines in ${auditFile} and its rotations`, 20000);
  assert.ok(files.length > 3, `the log rotated: ${files.join(', ')}`);
  assert.equal(lines.length, total, 'no line lost, none duplicated');
  const perAgent = {};
  for (const line of lines) if (line.tool !== 'tools/list') perAgent[line.agent.pid] = (perAgent[line.agent.pid] || 0) + 1;
  assert.deepEqual(Object.values(perAgent), Array(AGENTS).fill(CALLS));
  assert.deepEqual(countsFromAudit(lines), countsFromStats(statsJson(sb.pinDir)));
}, { timeoutMs: 180000 });

// With --audit-args the audit log carries the arguments, secrets
// redacted (the server still gets them as sent); `mcpfence top` reads the
// running daemon's maps and shows calls per second while an agent calls.
itest('--audit-args logs redacted arguments; top shows live rates', async (t) => {
  const sb = sandbox(t, 'audit-args-top');
  const rec = await startRecorder(sb, { tools: ['deploy', 'execute'] });
  const auditFile = path.join(sb.tmp, 'audit.jsonl');
  await startDaemon(sb, {
    args: ['--audit', auditFile, '--audit-args'],
    policy: policyOf({ rec: { port: rec.port, tools: { execute: { action: 'deny', reason: 'no' } } } }),
  });
  const agent = await spawnAgent(sb, rec.url());
  await agent.must('listTools');
  const args = {
    service: 'web',
    replicas: 3,
    api_key: 'k-123',
    env: { DATABASE_URL: 'postgres://app:hunter2@db/app', note: 'Authorization: Bearer abc.def-123456' },
    max_tokens: 10,
  };
  assert.match(resultText(await agent.callTool('deploy', args)), /^ran deploy /);
  expectDenial(assert, await agent.callTool('execute', { cmd: 'ls', password: 'pw' }), { reason: 'no' });
  const lines = await waitUntil(() => { const l = auditLines(auditFile); return l.length >= 2 && l; }, '2 audit lines');
  assert.deepEqual(lines.find((l) => l.tool === 'deploy').arguments, {
    service: 'web',
    replicas: 3,
    api_key: '[REDACTED]',
    env: { DATABASE_URL: '[REDACTED]', note: '[REDACTED]' },
    max_tokens: '[REDACTED]',
  });
  assert.deepEqual(lines.find((l) => l.tool === 'execute').arguments, { cmd: 'ls', password: '[REDACTED]' });
  assert.deepEqual(rec.calls()[0].arguments, args, 'redaction is for the log only');

  // Three frames 0.3 s apart while the agent keeps calling deploy.
  const top = sb.spawn(MCPFENCE, ['top', '--bpffs', sb.pinDir, '--interval', '0.3', '--iterations', '3']);
  let calls = 0;
  while (top.running) {
    await agent.callTool('deploy', { i: calls++ });
  }
  assert.deepEqual(top.exitStatus, { code: 0, signal: null }, top.stderr);
  const frames = top.stdout.split('mcpfence top - ').slice(1);
  assert.equal(frames.length, 3, top.stdout);
  const rate = (frame) => Number(frame.split('\n').find((l) => /^rec\s+deploy\s/.test(l))?.trim().split(/\s+/)[2]);
  assert.ok(frames.slice(1).some((f) => rate(f) > 0), `a deploy rate above 0 after ${calls} calls:\n${top.stdout}`);
  assert.match(frames[2], /^rec\s+execute\s+0\.0\s+0\.0\s/m, top.stdout);
  await agent.close();
});
