// Hot reload: a new policy replaces the old one on SIGHUP and when
// the file changes (written in place, or renamed over it as editors do);
// an invalid file keeps the old policy and says why. Decisions are checked
// with one long-lived SDK agent; the reload itself is observed through
// mcpfence_policy_reloads_total, so no call is spent polling.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { itest } from '../lib/itest.mjs';
import { sandbox } from '../lib/sandbox.mjs';
import { startDaemon } from '../lib/daemon.mjs';
import { startRecorder, spawnAgent, expectDenial, resultText, policyOf, waitUntil } from '../lib/mcp.mjs';
import { scrapeMetrics, parseSamples } from '../lib/metrics.mjs';
import { cgroup2Root } from '../lib/cgroup.mjs';

async function reloads(daemon) {
  const samples = parseSamples(await scrapeMetrics(daemon));
  const value = (result) => samples.find((s) => s.name === 'mcpfence_policy_reloads_total' && s.labels.result === result)?.value;
  return { ok: value('ok'), error: value('error') };
}

async function waitForReload(daemon, before, result = 'ok') {
  return waitUntil(async () => {
    const now = await reloads(daemon);
    return now[result] > before[result] && now;
  }, `a policy reload counted as ${result} (was ${JSON.stringify(before)})\n${daemon.log}`);
}

const allowEcho = (port) => policyOf({ rec: { port, tools: { execute: { action: 'deny', reason: 'v1' } } } });
const denyEcho = (port) => policyOf({ rec: { port, tools: { echo: { action: 'deny', reason: 'echo off in v2' } } } });
const json = (policy) => `${JSON.stringify(policy, null, 2)}\n`;

async function setUp(t, label) {
  const sb = sandbox(t, label);
  const rec = await startRecorder(sb, { tools: ['echo', 'execute'] });
  const daemon = await startDaemon(sb, { policy: allowEcho(rec.port) });
  const agent = await spawnAgent(sb, rec.url());
  assert.equal(resultText(await agent.callTool('echo', { v: 1 })), 'ran echo {"v":1}');
  expectDenial(assert, await agent.callTool('execute', {}), { reason: 'v1' });
  return { sb, rec, daemon, agent };
}

itest('SIGHUP reloads the policy file', async (t) => {
  const { sb, rec, daemon, agent } = await setUp(t, 'reload-sighup');
  // Rewrite the file through a hard link in another directory: the daemon
  // watches the policy's directory, so only the signal announces this change.
  const elsewhere = fs.mkdtempSync(path.join(sb.tmp, 'elsewhere-'));
  const link = path.join(elsewhere, 'same-inode.json');
  fs.linkSync(daemon.policyFile, link);
  const before = await reloads(daemon);
  fs.writeFileSync(link, json(denyEcho(rec.port)));
  daemon.proc.kill('SIGHUP');
  await waitForReload(daemon, before);
  expectDenial(assert, await agent.callTool('echo', { v: 2 }), { rule: 'tools.echo.action', reason: 'echo off in v2' });
  assert.equal(resultText(await agent.callTool('execute', { v: 2 })), 'ran execute {"v":2}');
  assert.deepEqual(rec.calls().map((c) => [c.tool, c.arguments.v]), [['echo', 1], ['execute', 2]]);
  await daemon.waitForLine(/SIGHUP/);
  await agent.close();
});

itest('a changed file is reloaded without a signal (in place and renamed over)', async (t) => {
  const { rec, daemon, agent } = await setUp(t, 'reload-inotify');
  let before = await reloads(daemon);
  fs.writeFileSync(daemon.policyFile, json(denyEcho(rec.port)));
  before = await waitForReload(daemon, before);
  expectDenial(assert, await agent.callTool('echo', { v: 2 }), { reason: 'echo off in v2' });

  // As editors save: a new file renamed over the old one.
  const tmp = path.join(path.dirname(daemon.policyFile), '.policy.json.swp');
  fs.writeFileSync(tmp, json(allowEcho(rec.port)));
  fs.renameSync(tmp, daemon.policyFile);
  before = await waitForReload(daemon, before);
  assert.equal(resultText(await agent.callTool('echo', { v: 3 })), 'ran echo {"v":3}');

  // And the watch survives the rename: the next in-place write is seen too.
  fs.writeFileSync(daemon.policyFile, json(denyEcho(rec.port)));
  await waitForReload(daemon, before);
  expectDenial(assert, await agent.callTool('echo', { v: 4 }), { reason: 'echo off in v2' });
  assert.deepEqual(rec.calls().map((c) => c.arguments.v), [1, 3]);
  await agent.close();
});

itest('an invalid file keeps the running policy and the log says why', async (t) => {
  const { rec, daemon, agent } = await setUp(t, 'reload-invalid');
  let before = await reloads(daemon);
  const broken = denyEcho(rec.port);
  broken.servers.rec.tools.echo.action = 'maybe';
  fs.writeFileSync(daemon.policyFile, json(broken));
  before = await waitForReload(daemon, before, 'error');
  await daemon.waitForLine(/servers\.rec\.tools\.echo\.action: /);
  // The old policy is still in force: echo allowed, execute denied.
  assert.equal(resultText(await agent.callTool('echo', { v: 2 })), 'ran echo {"v":2}');
  expectDenial(assert, await agent.callTool('execute', {}), { reason: 'v1' });

  fs.writeFileSync(daemon.policyFile, '{"version": "1", "servers": {');
  before = await waitForReload(daemon, before, 'error');
  daemon.proc.kill('SIGHUP');
  before = await waitForReload(daemon, before, 'error');
  assert.equal(resultText(await agent.callTool('echo', { v: 3 })), 'ran echo {"v":3}');
  assert.deepEqual(rec.calls().map((c) => c.arguments.v), [1, 2, 3]);
  await agent.close();
});

// A reload that puts an agent under a scoped entry (policy "agents") takes
// effect on the connection it already holds, as a changed tool rule does:
// otherwise an agent that keeps one connection alive keeps the laxer entry
// it was assigned at accept() for as long as it likes.
itest('a reload that scopes an agent to a stricter entry applies to its open connection', async (t) => {
  const { sb, rec, daemon, agent } = await setUp(t, 'reload-scope');
  const intercepted = async () => parseSamples(await scrapeMetrics(daemon))
    .find((s) => s.name === 'mcpfence_connections_intercepted_total').value;
  const connections = await intercepted();
  const v2 = allowEcho(rec.port);
  v2.servers.pinned = { ...v2.servers.rec, agents: [path.relative(cgroup2Root(), sb.cgroup)],
    tools: { echo: { action: 'deny', reason: 'this agent is scoped in v2' } } };
  const before = await reloads(daemon);
  fs.writeFileSync(daemon.policyFile, json(v2));
  await waitForReload(daemon, before);
  expectDenial(assert, await agent.callTool('echo', { v: 2 }), { reason: 'this agent is scoped in v2' });
  // the same connection: what is checked is the one held across the reload
  assert.equal(await intercepted(), connections);
  assert.deepEqual(rec.calls().map((c) => [c.tool, c.arguments.v]), [['echo', 1]]);
  await agent.close();
});
