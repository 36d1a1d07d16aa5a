// Issue 4: after a scripted mix of allowed, denied, rate-limited and hidden
// calls by a real SDK client, the per-tool counts agree exactly in the
// pinned tool_stats map (bpftool), GET /metrics, `mcpfence stats --json`
// and the audit log, and promtool accepts the exposition.
import assert from 'node:assert/strict';
import path from 'node:path';
import { itest } from '../lib/itest.mjs';
import { sandbox } from '../lib/sandbox.mjs';
import { startDaemon } from '../lib/daemon.mjs';
import { startRecorder, spawnAgent, expectDenial, resultText, policyOf, waitUntil } from '../lib/mcp.mjs';
import {
  toolStatsRows, countsFromBpftool, scrapeMetrics, parseSamples, countsFromMetrics, statsJson, countsFromStats,
  auditLines, countsFromAudit, promtoolCheck,
} from '../lib/metrics.mjs';

const SCRIPT = [
  ['echo', 3], ['execute', 2], ['limited', 4], ['secret', 1], ['echo', 1], ['execute', 1],
];
// SCRIPT's outcomes plus the two spot-check calls (one echo, one limited).
const EXPECTED = {
  'rec/echo/allow': 5,
  'rec/execute/deny': 3,
  'rec/limited/allow': 2,
  'rec/limited/rate_limited': 3,
  'rec/secret/hidden': 1,
};
const TOTAL = Object.values(EXPECTED).reduce((a, b) => a + b, 0);

itest('counts agree in bpftool, /metrics, mcpfence stats --json and the audit log', async (t) => {
  const sb = sandbox(t, 'metrics-agree');
  const rec = await startRecorder(sb, { tools: ['echo', 'execute', 'limited', 'secret'] });
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
  for (const [tool, times] of SCRIPT) {
    for (let i = 0; i < times; i++) await agent.callTool(tool, { i });
  }
  // Spot-check what the agent saw, so the counts below count real outcomes.
  assert.equal(resultText(await agent.callTool('echo', { i: 'last' })), 'ran echo {"i":"last"}');
  expectDenial(assert, await agent.callTool('limited', { i: 'last' }), { retry: true });
  await agent.close();
  const expected = EXPECTED;
  const total = TOTAL;
  assert.equal(rec.calls().length, expected['rec/echo/allow'] + expected['rec/limited/allow']);

  // The audit line may be written after the reply: wait for all of them.
  const lines = await waitUntil(() => { const l = auditLines(auditFile); return l.length >= total && l; }, `${total} audit lines`);
  assert.deepEqual(countsFromAudit(lines), expected, 'audit log');
  assert.deepEqual(countsFromBpftool(sb.pinDir), expected, 'bpftool map dump pinned tool_stats');
  const exposition = await scrapeMetrics(daemon);
  assert.deepEqual(countsFromMetrics(exposition), expected, '/metrics');
  const stats = statsJson(sb.pinDir);
  assert.deepEqual(countsFromStats(stats), expected, 'mcpfence stats --json');

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
  }
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
