// Rate limits: per-scope budgets (grant: one agent on one server;
// agent: one agent on every server; session: one Mcp-Session-Id; global:
// everyone), the retry time in the denial, and budgets that survive
// a daemon restart (they live in the pinned rate_state map). Agents are
// long-lived SDK clients, so each keeps one identity (cgroup, uid, pid)
// for the whole test; the recording server proves which calls arrived.
import assert from 'node:assert/strict';
import { itest } from '../lib/itest.mjs';
import { sandbox } from '../lib/sandbox.mjs';
import { startDaemon } from '../lib/daemon.mjs';
import { startRecorder, spawnAgent, expectDenial, resultText, policyOf } from '../lib/mcp.mjs';

const limited = (scope, max = 2) => ({ echo: { limits: [{ counter: `echo_${scope}`, window: 'hour', max, scope }] } });

async function calls(agent, n, label) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await agent.callTool('echo', { message: `${label}-${i}` }));
  return out;
}

function assertAllowed(results, label) {
  results.forEach((r, i) => assert.equal(resultText(r), `ran echo {"message":"${label}-${i}"}`, JSON.stringify(r)));
}

// Retry-after is "the time left in the window, rounded up": within the hour.
function assertRetry(result, rule) {
  const text = expectDenial(assert, result, { rule, retry: true });
  const seconds = Number(text.match(/retry after (\d+)/i)[1]);
  assert.ok(seconds >= 1 && seconds <= 3600, `retry after ${seconds} s for a one-hour window: ${text}`);
}

itest('grant scope: agents in different cgroups have separate budgets', async (t) => {
  const sb = sandbox(t, 'rl-grant');
  const rec = await startRecorder(sb, { tools: ['echo'] });
  const daemon = await startDaemon(sb, { policy: policyOf({ rec: { port: rec.port, tools: limited('grant') } }) });
  const a = await spawnAgent(sb, rec.url(), { cgroup: sb.childCgroup('agent-a') });
  const b = await spawnAgent(sb, rec.url(), { cgroup: sb.childCgroup('agent-b') });

  assertAllowed(await calls(a, 2, 'a'), 'a');
  assertRetry(await a.callTool('echo', { message: 'a-over' }), 'tools.echo.limits[0]');
  assertAllowed(await calls(b, 2, 'b'), 'b');
  assertRetry(await b.callTool('echo', { message: 'b-over' }), 'tools.echo.limits[0]');
  assertRetry(await a.callTool('echo', { message: 'a-over-again' }), 'tools.echo.limits[0]');

  assert.deepEqual(rec.calls().map((c) => c.arguments.message), ['a-0', 'a-1', 'b-0', 'b-1']);
  for (const agent of [a, b]) await daemon.waitForInterceptions({ pid: agent.pid });
  await a.close();
  await b.close();
});

itest('global scope: agents in different cgroups share one budget', async (t) => {
  const sb = sandbox(t, 'rl-global');
  const rec = await startRecorder(sb, { tools: ['echo'] });
  await startDaemon(sb, { policy: policyOf({ rec: { port: rec.port, tools: limited('global', 3) } }) });
  const a = await spawnAgent(sb, rec.url(), { cgroup: sb.childCgroup('agent-a') });
  const b = await spawnAgent(sb, rec.url(), { cgroup: sb.childCgroup('agent-b') });

  assertAllowed(await calls(a, 2, 'a'), 'a');
  assertAllowed(await calls(b, 1, 'b'), 'b');
  assertRetry(await b.callTool('echo', { message: 'b-over' }), 'tools.echo.limits[0]');
  assertRetry(await a.callTool('echo', { message: 'a-over' }), 'tools.echo.limits[0]');
  assert.deepEqual(rec.calls().map((c) => c.arguments.message), ['a-0', 'a-1', 'b-0']);
  await a.close();
  await b.close();
});

itest('session scope: two sessions of one agent have separate budgets', async (t) => {
  const sb = sandbox(t, 'rl-session');
  const rec = await startRecorder(sb, { tools: ['echo'] });
  await startDaemon(sb, { policy: policyOf({ rec: { port: rec.port, tools: limited('session') } }) });
  const agent = await spawnAgent(sb, rec.url());
  await agent.must('connect', { session: 'second' });
  assertAllowed(await calls(agent, 2, 'main'), 'main');
  assertRetry(await agent.callTool('echo', { message: 'main-over' }), 'tools.echo.limits[0]');
  for (let i = 0; i < 2; i++) {
    const r = await agent.callTool('echo', { message: `second-${i}` }, { session: 'second' });
    assert.equal(resultText(r), `ran echo {"message":"second-${i}"}`, JSON.stringify(r));
  }
  assertRetry(await agent.callTool('echo', { message: 'second-over' }, { session: 'second' }), 'tools.echo.limits[0]');
  assert.deepEqual(rec.calls().map((c) => c.arguments.message), ['main-0', 'main-1', 'second-0', 'second-1']);
  assert.equal(new Set(rec.calls().map((c) => c.session)).size, 2, 'two server sessions');
  await agent.close();
});

itest('agent scope: one agent shares a budget across servers; grant does not', async (t) => {
  const sb = sandbox(t, 'rl-agent');
  const one = await startRecorder(sb, { tools: ['echo', 'other'] });
  const two = await startRecorder(sb, { tools: ['echo', 'other'] });
  const tools = {
    echo: { limits: [{ counter: 'echo_per_agent', window: 'hour', max: 3, scope: 'agent' }] },
    other: { limits: [{ counter: 'other_per_grant', window: 'hour', max: 1, scope: 'grant' }] },
  };
  await startDaemon(sb, { policy: policyOf({ one: { port: one.port, tools }, two: { port: two.port, tools } }) });
  const agent = await spawnAgent(sb, one.url());
  await agent.must('connect', { session: 'two', url: two.url() });
  const on = (session, tool, message) => agent.callTool(tool, { message }, session === 'main' ? {} : { session });
  assert.equal(resultText(await on('main', 'echo', 'e1')), 'ran echo {"message":"e1"}');
  assert.equal(resultText(await on('two', 'echo', 'e2')), 'ran echo {"message":"e2"}');
  assert.equal(resultText(await on('main', 'echo', 'e3')), 'ran echo {"message":"e3"}');
  assertRetry(await on('two', 'echo', 'e4'), 'tools.echo.limits[0]');
  assertRetry(await on('main', 'echo', 'e5'), 'tools.echo.limits[0]');
  // grant: one agent on one server, so each server has its own budget of one.
  assert.equal(resultText(await on('main', 'other', 'o1')), 'ran other {"message":"o1"}');
  assert.equal(resultText(await on('two', 'other', 'o2')), 'ran other {"message":"o2"}');
  assertRetry(await on('main', 'other', 'o3'), 'tools.other.limits[0]');
  assertRetry(await on('two', 'other', 'o4'), 'tools.other.limits[0]');
  assert.deepEqual(one.calls().map((c) => c.arguments.message), ['e1', 'e3', 'o1']);
  assert.deepEqual(two.calls().map((c) => c.arguments.message), ['e2', 'o2']);
  await agent.close();
});

itest('rate_limit shorthand counts per tool and per agent', async (t) => {
  const sb = sandbox(t, 'rl-shorthand');
  const rec = await startRecorder(sb, { tools: ['echo', 'other'] });
  await startDaemon(sb, { policy: policyOf({ rec: { port: rec.port, tools: { echo: { rate_limit: { max: 2, window: 3600 } } } } }) });
  const a = await spawnAgent(sb, rec.url());
  assertAllowed(await calls(a, 2, 'a'), 'a');
  assertRetry(await a.callTool('echo', { message: 'a-over' }), 'tools.echo.rate_limit');
  // Another tool has its own (absent) limit.
  assert.equal(resultText(await a.callTool('other', { n: 1 })), 'ran other {"n":1}');
  await a.close();
  // A new agent process is a new grant.
  const b = await spawnAgent(sb, rec.url());
  assertAllowed(await calls(b, 2, 'b'), 'b');
  await b.close();
  assert.deepEqual(rec.calls().map((c) => c.arguments.message ?? c.tool), ['a-0', 'a-1', 'other', 'b-0', 'b-1']);
});

itest('--agent-identity cgroup: new processes in one cgroup share a grant, other cgroups do not', async (t) => {
  const sb = sandbox(t, 'rl-per-cgroup');
  const rec = await startRecorder(sb, { tools: ['echo'] });
  await startDaemon(sb, { policy: policyOf({ rec: { port: rec.port, tools: limited('grant', 2) } }), args: ['--agent-identity', 'cgroup'] });
  const a = await spawnAgent(sb, rec.url());
  assertAllowed(await calls(a, 2, 'a'), 'a');
  await a.close();
  // A fresh process in the same cgroup (what an agent spawning a client per call is) gets no fresh budget.
  const again = await spawnAgent(sb, rec.url());
  assertRetry(await again.callTool('echo', { message: 'again-over' }), 'tools.echo.limits[0]');
  await again.close();
  const other = await spawnAgent(sb, rec.url(), { cgroup: sb.childCgroup('agent-other') });
  assertAllowed(await calls(other, 2, 'o'), 'o');
  await other.close();
  assert.deepEqual(rec.calls().map((c) => c.arguments.message), ['a-0', 'a-1', 'o-0', 'o-1']);
});

// The agent outlives the daemon, so after the restart it is the same grant.
for (const [label, stop] of [
  ['SIGTERM with --keep-maps', (daemon) => daemon.stop('SIGTERM')],
  ['kill -9', (daemon) => daemon.kill9()],
]) {
  itest(`daemon restart (${label}) keeps rate-limit counters`, async (t) => {
    const sb = sandbox(t, `rl-restart-${label.includes('9') ? 'kill9' : 'term'}`);
    const rec = await startRecorder(sb, { tools: ['echo'] });
    const policy = policyOf({ rec: { port: rec.port, tools: {
      echo: { limits: [{ counter: 'echo_grant', window: 'hour', max: 2, scope: 'grant' }] },
      '*': { limits: [{ counter: 'all_global', window: 'hour', max: 100, scope: 'global' }] },
    } } });
    const first = await startDaemon(sb, { policy, keepMaps: true });
    const agent = await spawnAgent(sb, rec.url());
    assertAllowed(await calls(agent, 2, 'before'), 'before');
    assertRetry(await agent.callTool('echo', { message: 'over-before' }), 'tools.echo.limits[0]');
    await first.waitForInterceptions({ pid: agent.pid });

    const status = await stop(first);
    assert.ok(status.code === 0 || status.signal === 'SIGKILL', JSON.stringify(status));
    const second = await startDaemon(sb, { policy, keepMaps: true });
    const after = await agent.callTool('echo', { message: 'over-after' });
    assertRetry(after, 'tools.echo.limits[0]');
    // Proof that the refusal came from the new daemon on a new connection.
    await second.waitForInterceptions({ pid: agent.pid });
    assert.deepEqual(rec.calls().map((c) => c.arguments.message), ['before-0', 'before-1']);
    await agent.close();
  });
}
