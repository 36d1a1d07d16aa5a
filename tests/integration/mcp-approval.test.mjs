// "approve": a call held for a human. Asked in the agent's own
// client (elicitation: accept, decline, no answer), the operator path on the
// control socket (list, approve, deny with a reason, remember), refusal of
// an approval from inside the intercepted cgroup, timeouts, the bound on
// held calls while other connections keep flowing, batches and the legacy
// transport, and a daemon stop with calls held. The recording server
// writes down every call it runs: a held call must not reach it before
// it is approved, and a declined one never.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { itest } from '../lib/itest.mjs';
import { sandbox } from '../lib/sandbox.mjs';
import { startDaemon, MCPFENCE } from '../lib/daemon.mjs';
import { startEverything } from '../lib/everything.mjs';
import {
  startRecorder, spawnAgent, expectDenial, resultText, policyOf, rawExchange, rawMessages, sessionSteps,
  sessionPost, toolCall, waitUntil,
} from '../lib/mcp.mjs';
import { scrapeMetrics, parseSamples } from '../lib/metrics.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const LOAD = path.join(here, '../lib/approval-load.mjs');

// `mcpfence approvals|approve|deny ...` from outside the test cgroups
// (an operator), or from inside the agent cgroup (inCgroup).
async function ctl(sb, daemon, args, { inCgroup = false } = {}) {
  const argv = [...args, '--control', daemon.controlPath];
  return inCgroup ? sb.runInCgroup(MCPFENCE, argv) : sb.runOutside(MCPFENCE, argv);
}

async function pending(sb, daemon) {
  const out = await ctl(sb, daemon, ['approvals', '--json']);
  assert.equal(out.code, 0, out.stderr);
  return JSON.parse(out.stdout).pending;
}

async function waitPending(sb, daemon, n) {
  return waitUntil(async () => { const p = await pending(sb, daemon); return p.length >= n && p; },
    `${n} call(s) awaiting approval`, 20000);
}

// The SDK client's elicitation handler (mcp-agent.mjs --elicit): the call
// is held, the client is asked on the daemon's own event stream, and its
// answer never reaches the server.
for (const [mode, expect, jsonResponse] of [['accept', null, true], ['accept', null, false],
  ['decline', 'declined by user', false], ['ignore', 'no answer in 2s', false]]) {
  itest(`elicitation, the client's handler answers ${mode}: ${expect ? `isError "${expect}", the server never sees the call` : `the call runs once, its answer (${jsonResponse ? 'JSON' : 'an event stream'} from the server) on the same request`}`, async (t) => {
    const sb = sandbox(t, `approve-elicit-${mode}`);
    const rec = await startRecorder(sb, { tools: ['echo', 'execute'], jsonResponse });
    const daemon = await startDaemon(sb, { policy: policyOf({ rec: { port: rec.port, tools: {
      execute: { action: 'approve', approval: { timeout: '2s', via: ['elicitation'] } } } } }) });
    const agent = await spawnAgent(sb, rec.url(), { elicit: mode });
    const result = await agent.callTool('execute', { command: 'ls', marker: `elicit-${mode}` });
    if (expect) {
      expectDenial(assert, result, { rule: 'tools.execute.action', reason: expect });
      assert.deepEqual(rec.requestsMentioning(`elicit-${mode}`), [], 'the server never saw the call');
    } else {
      assert.equal(resultText(result), `ran execute {"command":"ls","marker":"elicit-${mode}"}`);
      assert.equal(rec.calls().filter((c) => c.tool === 'execute').length, 1, 'ran once');
    }
    const asked = await agent.must('serverRequests');
    assert.equal(asked.length, 1, JSON.stringify(asked));
    assert.equal(asked[0].method, 'elicitation/create');
    assert.match(asked[0].params.message, /tool "execute" on server "rec"/);
    assert.match(asked[0].params.message, /"command":"ls"/);
    assert.deepEqual(rec.http().filter((r) => /mcpfence-[0-9a-f]{32}/.test(r.body)), [], 'the elicitation and its answer never reached the server');
    assert.deepEqual(rec.requestsMentioning('elicitation/create'), []);
    assert.deepEqual(rec.requestsMentioning('"approve"'), []);
    assert.equal(resultText(await agent.callTool('echo', { message: 'after' })), 'ran echo {"message":"after"}');
    await daemon.waitForInterceptions({ pid: agent.pid });
    await agent.close();
  });
}

itest('operator path: approvals lists the held call, approve runs it once, deny --reason refuses it, remember lets only the identical call through', async (t) => {
  const sb = sandbox(t, 'approve-operator');
  const rec = await startRecorder(sb, { tools: ['echo', 'execute'], jsonResponse: true });
  const daemon = await startDaemon(sb, { policy: policyOf({ rec: { port: rec.port, tools: { execute: { action: 'approve' } } } }) });
  const agent = await spawnAgent(sb, rec.url(), { elicit: 'none' });

  // approve
  const first = agent.callTool('execute', { command: 'ls', n: 1 });
  const [held] = await waitPending(sb, daemon, 1);
  assert.equal(held.tool, 'execute');
  assert.equal(held.server, 'rec');
  assert.equal(held.agent.pid, agent.pid);
  assert.match(held.id, /^[0-9a-f]{32}$/);
  assert.match(held.args_hash, /^[0-9a-f]{16}$/);
  assert.equal(held.args, '{"command":"ls","n":1}');
  assert.deepEqual(rec.calls().map((c) => c.tool), [], 'nothing ran before the approval');
  const text = await ctl(sb, daemon, ['approvals']);
  assert.match(text.stdout, new RegExp(`${held.id}.*pid ${agent.pid}.*rec/execute.*${held.args_hash}`));
  const ok = await ctl(sb, daemon, ['approve', held.id]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(resultText(await first), 'ran execute {"command":"ls","n":1}');
  assert.equal(rec.calls().filter((c) => c.tool === 'execute').length, 1, 'the approved call ran once');
  assert.equal((await ctl(sb, daemon, ['approve', held.id])).code, 1, 'an id is good for one decision');

  // deny with a reason
  const second = agent.callTool('execute', { command: 'rm', marker: 'deny-marker' });
  const [held2] = await waitPending(sb, daemon, 1);
  assert.equal((await ctl(sb, daemon, ['deny', held2.id, '--reason', 'not on a Friday'])).code, 0);
  expectDenial(assert, await second, { rule: 'tools.execute.action', reason: 'declined by operator: not on a Friday' });
  assert.deepEqual(rec.requestsMentioning('deny-marker'), [], 'the declined call never reached the server');

  // remember: the identical call goes through, another one is held
  const third = agent.callTool('execute', { command: 'date' });
  const [held3] = await waitPending(sb, daemon, 1);
  assert.equal((await ctl(sb, daemon, ['approve', held3.id, '--remember', '1m'])).code, 0);
  assert.equal(resultText(await third), 'ran execute {"command":"date"}');
  assert.equal(resultText(await agent.callTool('execute', { command: 'date' })), 'ran execute {"command":"date"}');
  const other = agent.callTool('execute', { command: 'date', flag: '-u' });
  const [held4] = await waitPending(sb, daemon, 1);
  assert.equal(held4.args, '{"command":"date","flag":"-u"}');
  assert.equal((await ctl(sb, daemon, ['deny', held4.id])).code, 0);
  expectDenial(assert, await other, { reason: 'declined by operator' });
  assert.equal(rec.calls().filter((c) => c.tool === 'execute').length, 3);
  assert.equal(resultText(await agent.callTool('echo', { message: 'still fine' })), 'ran echo {"message":"still fine"}');

  const metrics = await (await fetch(`http://127.0.0.1:${daemon.metricsPort}/metrics`)).text();
  assert.match(metrics, /^mcpfence_approvals_pending 0$/m);
  assert.match(metrics, /^mcpfence_approvals_total\{outcome="approved"\} 2$/m);
  assert.match(metrics, /^mcpfence_approvals_total\{outcome="declined"\} 2$/m);
  assert.match(metrics, /^mcpfence_approval_latency_seconds_count 4$/m);
  // per tool: the remembered call counts as approved too
  assert.match(metrics, /^mcpfence_tool_calls_total\{server="rec",tool="execute",decision="approved"\} 3$/m);
  assert.match(metrics, /^mcpfence_tool_calls_total\{server="rec",tool="execute",decision="declined"\} 2$/m);
  const stats = await sb.runOutside(MCPFENCE, ['stats', '--json', '--bpffs', sb.pinDir]);
  const row = JSON.parse(stats.stdout).tools.find((r) => r.tool === 'execute');
  assert.deepEqual([row.approved, row.declined, row.approval_timeout, row.allowed], [3, 2, 0, 0], stats.stdout);
  await agent.close();
});

itest('an approval from inside the intercepted cgroup is refused, the call stays held; --approval-hook gets it in its environment, never through a shell', async (t) => {
  const sb = sandbox(t, 'approve-self');
  const rec = await startRecorder(sb, { tools: ['execute'], jsonResponse: true });
  const hookOut = path.join(sb.tmp, 'hook.out');
  const marker = path.join(sb.tmp, 'injected');
  const daemon = await startDaemon(sb, { policy: policyOf({ rec: { port: rec.port, tools: { execute: { action: 'approve' } } } }),
    args: ['--approval-hook', `printf '%s|%s|%s|%s\\n' "$MCPFENCE_APPROVAL_ID" "$MCPFENCE_APPROVAL_TOOL" "$MCPFENCE_APPROVAL_PID" "$MCPFENCE_APPROVAL_ARGS" >> ${hookOut}`] });
  const agent = await spawnAgent(sb, rec.url(), { elicit: 'none' });
  const call = agent.callTool('execute', { command: `$(touch ${marker})` });
  const [held] = await waitPending(sb, daemon, 1);

  for (const args of [['approve', held.id], ['deny', held.id], ['approvals']]) {
    const out = await ctl(sb, daemon, args, { inCgroup: true });
    assert.equal(out.code, 1, `${args[0]} from the agent cgroup: ${out.stdout}${out.stderr}`);
    assert.match(out.stderr, /intercepted cgroup/);
  }
  assert.equal((await pending(sb, daemon)).length, 1, 'still held');
  assert.deepEqual(rec.calls(), []);
  const hooked = await waitUntil(() => fs.existsSync(hookOut) && fs.readFileSync(hookOut, 'utf8'), 'the hook ran');
  assert.equal(hooked, `${held.id}|execute|${agent.pid}|{"command":"$(touch ${marker})"}\n`);
  assert.equal(fs.existsSync(marker), false, 'the arguments never reached a shell');
  assert.equal((await ctl(sb, daemon, ['approve', held.id])).code, 0);
  assert.equal(resultText(await call), `ran execute {"command":"$(touch ${marker})"}`);
  await daemon.waitForLine(/control socket: refused pid \d+ uid 0: the peer runs inside the intercepted cgroup/);
  await agent.close();
});

itest('no answer in time: the call is denied with the reason, the server never sees it', async (t) => {
  const sb = sandbox(t, 'approve-timeout');
  const rec = await startRecorder(sb, { tools: ['execute'], jsonResponse: true });
  await startDaemon(sb, { policy: policyOf({ rec: { port: rec.port, tools: {
    execute: { action: 'approve', approval: { timeout: '2s' } } } } }), args: ['--audit', path.join(sb.tmp, 'audit.jsonl')] });
  const agent = await spawnAgent(sb, rec.url(), { elicit: 'none' });
  expectDenial(assert, await agent.callTool('execute', { marker: 'timeout-marker' }), { rule: 'tools.execute.action', reason: 'no answer in 2s' });
  assert.deepEqual(rec.requestsMentioning('timeout-marker'), []);
  const lines = fs.readFileSync(path.join(sb.tmp, 'audit.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const line = lines.find((l) => l.tool === 'execute');
  assert.equal(line.decision, 'approval_timeout');
  assert.match(line.args_hash, /^[0-9a-f]{16}$/);
  await agent.close();
});

itest('100 calls held while 16 other connections keep calling: their throughput holds, the 101st is denied with a reason', async (t) => {
  const sb = sandbox(t, 'approve-bound');
  const rec = await startRecorder(sb, { tools: ['echo', 'execute'], jsonResponse: true });
  // one agent may take the whole bound here (its own share is the next test)
  const daemon = await startDaemon(sb, { policy: policyOf({ rec: { port: rec.port, tools: { execute: { action: 'approve' } } } }),
    args: ['--max-agent-approvals', '100'] });
  const loop = async () => {
    const out = await sb.runInCgroup(process.execPath, [LOAD, '--port', String(rec.port), '--mode', 'loop', '--conns', '16', '--seconds', '3']);
    assert.equal(out.code, 0, out.stderr);
    return JSON.parse(out.stdout);
  };
  const baseline = await loop();
  assert.equal(baseline.failed, 0);

  const hold = sb.spawn(process.execPath, [LOAD, '--port', String(rec.port), '--mode', 'hold', '--tool', 'execute', '--count', '101'], { cgroup: true });
  const [over] = await hold.waitForOutput(/.*"isError":true.*/, { timeoutMs: 30000 });
  assert.match(over, /too many calls await approval \(100\)/);
  const held = await waitPending(sb, daemon, 100);
  assert.equal(held.length, 100);

  const during = await loop();
  t.diagnostic(`calls in 3 s on 16 connections: ${baseline.calls} without held calls, ${during.calls} with 100 held`);
  assert.equal(during.failed, 0);
  assert.ok(during.calls >= baseline.calls * 0.5, `throughput with 100 held calls: ${during.calls} vs ${baseline.calls}`);
  assert.equal(rec.calls().filter((c) => c.tool === 'execute').length, 0);

  // the held ones are still there, and each can be decided
  for (const p of held.slice(0, 3)) assert.equal((await ctl(sb, daemon, ['approve', p.id])).code, 0);
  await waitUntil(() => rec.calls().filter((c) => c.tool === 'execute').length === 3, 'three approved calls run');
});

itest('batches and the legacy SSE transport: a call that needs approval is denied with a reason', async (t) => {
  const sb = sandbox(t, 'approve-batch-sse');
  const rec = await startRecorder(sb, { tools: ['echo', 'execute'], jsonResponse: true });
  const everything = await startEverything(sb, 'sse');
  await startDaemon(sb, { policy: policyOf({
    rec: { port: rec.port, tools: { execute: { action: 'approve' } } },
    everything: { port: everything.port, tools: { 'get-sum': { action: 'approve' } } } }) });
  const batch = JSON.stringify([toolCall(5, 'execute', { marker: 'batch-marker' }), toolCall(6, 'echo', { message: 'b' })]);
  const out = await rawExchange(sb, rec.port, [...sessionSteps(), sessionPost(batch)]);
  assert.equal(out.ok, true, out.error);
  const replies = rawMessages(out.responses.at(-1));
  const five = replies.find((m) => m.id === 5);
  assert.ok(five, JSON.stringify(out.responses.at(-1)));
  expectDenial(assert, five.result, { reason: 'must be sent alone, not in a batch' });
  assert.ok(replies.find((m) => m.id === 6), JSON.stringify(out.responses.at(-1)));
  assert.equal(resultText(replies.find((m) => m.id === 6).result), 'ran echo {"message":"b"}');
  assert.deepEqual(rec.requestsMentioning('batch-marker'), []);

  const legacy = await spawnAgent(sb, everything.url(), { transport: 'sse' });
  expectDenial(assert, await legacy.callTool('get-sum', { a: 1, b: 2 }), { reason: 'legacy SSE transport' });
  await legacy.close();
});

itest('a daemon stop denies the held calls cleanly with a reason; approvals --watch shows the call and its end', async (t) => {
  const sb = sandbox(t, 'approve-stop');
  const rec = await startRecorder(sb, { tools: ['execute'], jsonResponse: true });
  const daemon = await startDaemon(sb, { policy: policyOf({ rec: { port: rec.port, tools: { execute: { action: 'approve' } } } }) });
  const agent = await spawnAgent(sb, rec.url(), { elicit: 'none' });
  const watch = sb.spawn(MCPFENCE, ['approvals', '--watch', '--control', daemon.controlPath]);
  const call = agent.callTool('execute', { marker: 'stop-marker' });
  const [held] = await waitPending(sb, daemon, 1);
  await watch.waitForOutput(new RegExp(`^${held.id} .*rec/execute`, 'm'));
  const stopped = daemon.stop();
  expectDenial(assert, await call, { reason: 'mcpfence is restarting or stopping' });
  await watch.waitForOutput(new RegExp(`^${held.id}  cancelled by daemon: mcpfence is restarting or stopping`, 'm'));
  await stopped;
  assert.deepEqual(rec.requestsMentioning('stop-marker'), []);
  await agent.close();
});

itest('a policy_tools map pinned by the version before approvals (a shorter rule) is replaced, not a failed start', async (t) => {
  const sb = sandbox(t, 'approve-old-pin');
  const rec = await startRecorder(sb, { tools: ['execute'], jsonResponse: true });
  fs.mkdirSync(sb.pinDir, { recursive: true });
  // the rule before approvals: 1112 bytes less the 16 of struct mcpf_approval
  const old = path.join(sb.pinDir, 'policy_tools');
  const made = await sb.runOutside('bpftool', ['map', 'create', old, 'type', 'hash', 'key', '132', 'value', '1096',
    'entries', '262144', 'name', 'policy_tools', 'flags', '1']);
  assert.equal(made.code, 0, made.stderr);
  const daemon = await startDaemon(sb, { policy: policyOf({ rec: { port: rec.port, tools: {
    execute: { action: 'approve', approval: { timeout: '1s' } } } } }) });
  await daemon.waitForLine(/pinned policy_tools has another layout \(value 1096 bytes, now 1112\): replaced/);
  const agent = await spawnAgent(sb, rec.url(), { elicit: 'none' });
  expectDenial(assert, await agent.callTool('execute', {}), { reason: 'no answer in 1s' });
  await agent.close();
});

itest('a held call that asked for progress gets keep-alive comments on the daemon\'s stream while it waits', async (t) => {
  const sb = sandbox(t, 'approve-keepalive');
  const rec = await startRecorder(sb, { tools: ['execute'], jsonResponse: true });
  await startDaemon(sb, { policy: policyOf({ rec: { port: rec.port, tools: {
    execute: { action: 'approve', approval: { timeout: '30s', via: ['elicitation'] } } } } }) });
  const version = '2025-11-25';
  const [init, initialized] = sessionSteps('/mcp', version);
  const body = JSON.parse(init.body);
  body.params.capabilities = { elicitation: {} };
  init.body = JSON.stringify(body);
  const call = { ...toolCall(9, 'execute', { marker: 'keepalive-marker' }) };
  call.params._meta = { progressToken: 'p1' };
  const out = await rawExchange(sb, rec.port, [init, initialized,
    { ...sessionPost(JSON.stringify(call), { protocolVersion: version }), readMs: 19500 }], { timeoutMs: 40000 });
  assert.equal(out.ok, true, out.error);
  const res = out.responses.at(-1);
  assert.equal(res.status, 200);
  assert.match(res.headers['content-type'], /text\/event-stream/);
  assert.equal(res.events[0].method, 'elicitation/create');
  assert.match(res.events[0].id, /^mcpfence-[0-9a-f]{32}$/);
  assert.match(res.body, /^: keep-alive$/m, res.body);
  assert.deepEqual(rec.requestsMentioning('keepalive-marker'), []);
});

itest('a server that closes its idle connection while a human decides: the approved call goes on a new one', async (t) => {
  const sb = sandbox(t, 'approve-slow');
  const rec = await startRecorder(sb, { tools: ['echo', 'execute'], jsonResponse: true });
  const daemon = await startDaemon(sb, { policy: policyOf({ rec: { port: rec.port, tools: { execute: { action: 'approve' } } } }) });
  const agent = await spawnAgent(sb, rec.url(), { elicit: 'none' });
  assert.equal(resultText(await agent.callTool('echo', { message: 'warm' })), 'ran echo {"message":"warm"}');
  const call = agent.callTool('execute', { command: 'slow' });
  const [held] = await waitPending(sb, daemon, 1);
  await new Promise((resolve) => { setTimeout(resolve, 7000); });  // past Node's 5 s keep-alive timeout
  assert.equal((await ctl(sb, daemon, ['approve', held.id])).code, 0);
  assert.equal(resultText(await call), 'ran execute {"command":"slow"}');
  assert.equal(resultText(await agent.callTool('echo', { message: 'after' })), 'ran echo {"message":"after"}');
  await agent.close();
});

itest('a handover denies the calls held by the old daemon with a reason; the successor holds and decides the next ones', async (t) => {
  const sb = sandbox(t, 'approve-handover');
  const rec = await startRecorder(sb, { tools: ['execute'], jsonResponse: true });
  const policy = policyOf({ rec: { port: rec.port, tools: { execute: { action: 'approve' } } } });
  const old = await startDaemon(sb, { policy, args: ['--drain-timeout', '10'] });
  const agent = await spawnAgent(sb, rec.url(), { elicit: 'none' });
  const call = agent.callTool('execute', { marker: 'handover-marker' });
  await waitPending(sb, old, 1);
  const successor = await startDaemon(sb, { policy, listenPort: old.listenPort, metricsPort: old.metricsPort });
  await old.waitForLine(/handover: the new daemon serves; draining/);
  expectDenial(assert, await call, { reason: 'mcpfence is restarting or stopping: the call was not run' });
  assert.deepEqual(rec.requestsMentioning('handover-marker'), []);

  const next = agent.callTool('execute', { command: 'after' });
  const [held] = await waitPending(sb, successor, 1);
  assert.equal((await ctl(sb, successor, ['approve', held.id])).code, 0);
  assert.equal(resultText(await next), 'ran execute {"command":"after"}');
  await old.stop('SIGTERM', 15000);
  await agent.close();
});

itest('--approval-hook: control characters an agent puts in a tool name reach the hook\'s environment as "?", one line each', async (t) => {
  const sb = sandbox(t, 'approve-hook-env');
  const rec = await startRecorder(sb, { tools: ['execute'], jsonResponse: true });
  const hookOut = path.join(sb.tmp, 'hook.out');
  const daemon = await startDaemon(sb, { policy: policyOf({ rec: { port: rec.port, tools: { '*': { action: 'approve' } } } }),
    args: ['--approval-hook', `printf '%s|%s\\n' "$MCPFENCE_APPROVAL_TOOL" "$MCPFENCE_APPROVAL_ARGS" >> ${hookOut}`] });
  const agent = await spawnAgent(sb, rec.url(), { elicit: 'none' });
  const call = agent.callTool('exec\nute\x1b[2J\tx', { line: 'a\nb' });
  const [held] = await waitPending(sb, daemon, 1);
  const hooked = await waitUntil(() => fs.existsSync(hookOut) && fs.readFileSync(hookOut, 'utf8'), 'the hook ran');
  assert.equal(hooked, 'exec?ute?[2J?x|{"line":"a\\nb"}\n');
  assert.equal((await ctl(sb, daemon, ['deny', held.id])).code, 0);
  await call.catch(() => {});
  assert.deepEqual(rec.calls(), []);
  await agent.close();
});

itest('a daemon stop does not wait for an --approval-hook still running', async (t) => {
  const sb = sandbox(t, 'approve-hook-stop');
  const rec = await startRecorder(sb, { tools: ['execute'], jsonResponse: true });
  const started = path.join(sb.tmp, 'hook.started');
  const daemon = await startDaemon(sb, { policy: policyOf({ rec: { port: rec.port, tools: { execute: { action: 'approve' } } } }),
    args: ['--approval-hook', `touch ${started}; exec sleep 25`] });
  const agent = await spawnAgent(sb, rec.url(), { elicit: 'none' });
  const call = agent.callTool('execute', { marker: 'hook-stop' });
  await waitPending(sb, daemon, 1);
  await waitUntil(() => fs.existsSync(started), 'the hook runs');
  const t0 = Date.now();
  const { code } = await daemon.stop('SIGTERM', 20000);
  assert.equal(code, 0);
  assert.ok(Date.now() - t0 < 8000, `the stop took ${Date.now() - t0} ms`);
  expectDenial(assert, await call, { reason: 'mcpfence is restarting or stopping' });
  await agent.close();
});

itest('one agent cannot fill the bound: past its share (--max-agent-approvals, default 25) its calls are denied, another agent\'s call is still held', async (t) => {
  const sb = sandbox(t, 'approve-share');
  const rec = await startRecorder(sb, { tools: ['execute'], jsonResponse: true });
  const daemon = await startDaemon(sb, { policy: policyOf({ rec: { port: rec.port, tools: { execute: { action: 'approve' } } } }) });
  const hold = sb.spawn(process.execPath, [LOAD, '--port', String(rec.port), '--mode', 'hold', '--tool', 'execute', '--count', '26'], { cgroup: true });
  const [over] = await hold.waitForOutput(/.*"isError":true.*/, { timeoutMs: 30000 });
  assert.match(over, /too many calls await approval \(25 from this agent\)/);
  assert.equal((await waitPending(sb, daemon, 25)).length, 25);
  const agent = await spawnAgent(sb, rec.url(), { elicit: 'none' });
  const call = agent.callTool('execute', { marker: 'other-agent' });
  const other = (await waitPending(sb, daemon, 26)).find((p) => p.agent.pid === agent.pid);
  assert.ok(other, 'the other agent\'s call is held');
  assert.equal((await ctl(sb, daemon, ['approve', other.id])).code, 0);
  assert.equal(resultText(await call), 'ran execute {"marker":"other-agent"}');
  await agent.close();
});

itest('a call whose arguments hold an integer past 2^53 is not held: no summary or hash could show or bind it exactly', async (t) => {
  const sb = sandbox(t, 'approve-bignum');
  const rec = await startRecorder(sb, { tools: ['execute'], jsonResponse: true });
  const daemon = await startDaemon(sb, { policy: policyOf({ rec: { port: rec.port, tools: { execute: { action: 'approve' } } } }) });
  const agent = await spawnAgent(sb, rec.url(), { elicit: 'none' });
  expectDenial(assert, await agent.callTool('execute', { id: 2 ** 60, marker: 'bignum' }), { reason: 'number of magnitude 2^53' });
  assert.deepEqual(await pending(sb, daemon), []);
  assert.deepEqual(rec.requestsMentioning('bignum'), []);
  await agent.close();
});

itest('approvals on a terminal: control characters an agent puts in a tool name print as "?", never reach the operator\'s terminal', async (t) => {
  const sb = sandbox(t, 'approve-term');
  const rec = await startRecorder(sb, { tools: ['execute'], jsonResponse: true });
  const daemon = await startDaemon(sb, { policy: policyOf({ rec: { port: rec.port, tools: { '*': { action: 'approve' } } } }) });
  const agent = await spawnAgent(sb, rec.url(), { elicit: 'none' });
  // cursor up, erase the line, carriage return, an 8-bit CSI: would rewrite the line of another held call
  const call = agent.callTool('rm\x1b[1A\x1b[2K\r\u009b31m', {});
  const [held] = await waitPending(sb, daemon, 1);
  const out = await ctl(sb, daemon, ['approvals']);
  assert.equal(out.code, 0, out.stderr);
  assert.doesNotMatch(out.stdout, /[\x00-\x09\x0b-\x1f\x7f\u0080-\u009f]/);
  // one '?' per character, as every listing of the CLI prints it (utf8_display)
  assert.match(out.stdout, new RegExp(`^${held.id} .* rec/rm\\?\\[1A\\?\\[2K\\?\\?31m  args `, 'm'));
  assert.equal((await ctl(sb, daemon, ['deny', held.id])).code, 0);
  await call.catch(() => {});
  await agent.close();
});

// The server routes an answer to the connection that last sent its id in
// the session: the id of a call held for a human is in use on every
// connection of the session (7 and "7" alike) until the call is decided.
itest('the id of a call held for approval is refused on another connection of its session until it is decided', async (t) => {
  const sb = sandbox(t, 'approve-session-id');
  const rec = await startRecorder(sb, { tools: ['echo', 'execute'], jsonResponse: true });
  const daemon = await startDaemon(sb, { policy: policyOf({ rec: { port: rec.port, tools: { execute: { action: 'approve' } } } }) });
  const init = await rawExchange(sb, rec.port, sessionSteps());
  const sid = init.responses[0].headers['mcp-session-id'];
  assert.ok(sid, 'the server opened a session');
  const post = (body) => ({ method: 'POST', path: '/mcp', body: JSON.stringify(body),
    headers: [['Content-Type', 'application/json'], ['Accept', 'application/json, text/event-stream'],
      ['Mcp-Session-Id', sid], ['MCP-Protocol-Version', '2025-03-26']] });

  const held = rawExchange(sb, rec.port, [post(toolCall(5, 'execute', { n: 1 }))], { timeoutMs: 20000 });
  const [waiting] = await waitPending(sb, daemon, 1);
  const other = await rawExchange(sb, rec.port, [post(toolCall('5', 'echo'))]);
  const [refused] = rawMessages(other.responses[0]);
  assert.equal(refused?.error?.code, -32600, `the second connection got ${JSON.stringify(refused)}`);
  assert.match(refused.error.message, /the id of a request still awaiting its answer/);
  assert.deepEqual(rec.calls().map((c) => c.tool), [], 'nothing reached the server');

  assert.equal((await ctl(sb, daemon, ['deny', waiting.id])).code, 0);
  const [denied] = rawMessages((await held).responses[0]);
  assert.equal(denied.id, 5);
  // decided: the id is free again
  const again = await rawExchange(sb, rec.port, [post(toolCall(5, 'echo'))]);
  assert.equal(resultText(rawMessages(again.responses[0])[0].result), 'ran echo {}');
});

// The rule that governs a held call when the client's answer comes decides
// whether the client may give it: reloaded to operator-only meanwhile, the
// answer is dropped and the call stays held for an operator.
itest('elicitation, the policy reloaded to via ["operator"] before the client answers: its accept does not run the call; the operator\'s approve does', async (t) => {
  const sb = sandbox(t, 'approve-elicit-reload');
  const rec = await startRecorder(sb, { tools: ['echo', 'execute'], jsonResponse: true });
  const policy = (via) => policyOf({ rec: { port: rec.port, tools: {
    execute: { action: 'approve', approval: { timeout: '60s', via } } } } });
  const daemon = await startDaemon(sb, { policy: policy(['elicitation', 'operator']), args: ['--agent-identity', 'cgroup'] });
  const go = path.join(sb.tmp, 'answer-now');
  const agent = await spawnAgent(sb, rec.url(), { elicit: `accept-after:${go}` });
  const running = agent.callTool('execute', { marker: 'elicit-reload-marker' });
  const [held] = await waitPending(sb, daemon, 1);
  await waitUntil(async () => (await agent.must('serverRequests')).length === 1, 'the client asked');

  const okReloads = async () => parseSamples(await scrapeMetrics(daemon))
    .find((s) => s.name === 'mcpfence_policy_reloads_total' && s.labels.result === 'ok')?.value ?? 0;
  const before = await okReloads();
  fs.writeFileSync(daemon.policyFile, JSON.stringify(policy(['operator']), null, 2));
  daemon.proc.kill('SIGHUP');
  await waitUntil(async () => (await okReloads()) > before, `a policy reload\n${daemon.log}`);

  fs.writeFileSync(go, '');
  const dropped = /an answer to an elicitation the policy no longer lets its client give; dropped/;
  await waitUntil(() => dropped.test(daemon.log) || rec.requestsMentioning('elicit-reload-marker').length,
    'the client\'s answer, dropped or taken', 20000);
  assert.deepEqual(rec.requestsMentioning('elicit-reload-marker'), [], 'the client approved its own call after the reload');
  assert.deepEqual((await pending(sb, daemon)).map((p) => p.id), [held.id], 'the call stays held');
  assert.equal((await ctl(sb, daemon, ['approve', held.id])).code, 0);
  assert.equal(resultText(await running), 'ran execute {"marker":"elicit-reload-marker"}');
  assert.equal(rec.calls().filter((c) => c.tool === 'execute').length, 1);
  await agent.close();
});
