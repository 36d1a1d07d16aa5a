// JSON-RPC batches (protocol 2025-03-26, the revision that allows
// them) and the legacy HTTP+SSE transport: a denied element is answered by
// mcpfence, the allowed ones still reach the server; on the legacy
// transport the denial comes back on the GET stream and the call never
// reaches the server, and hidden tools are cut from tools/list there too.
import assert from 'node:assert/strict';
import { itest } from '../lib/itest.mjs';
import { sandbox } from '../lib/sandbox.mjs';
import { startEverything } from '../lib/everything.mjs';
import { startDaemon } from '../lib/daemon.mjs';
import {
  startRecorder, spawnAgent, rawExchange, rawMessages, sessionSteps, sessionPost, toolCall,
  expectDenial, resultText, policyOf, everythingPosts,
} from '../lib/mcp.mjs';

const REASON = 'batch member refused';

const byId = (messages) => Object.fromEntries(messages.map((m) => [m.id, m]));

itest('batch with one denied element: it is answered, the others reach the server (JSON replies)', async (t) => {
  const sb = sandbox(t, 'batch-json');
  const rec = await startRecorder(sb, { tools: ['echo', 'execute'], jsonResponse: true });
  await startDaemon(sb, { policy: policyOf({ rec: { port: rec.port, tools: { execute: { action: 'deny', reason: REASON } } } }) });
  const batch = [
    toolCall(1, 'echo', { m: 'first' }),
    toolCall(2, 'execute', { m: 'batch-denied-marker' }),
    { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'x', progress: 1 } },
    toolCall('three', 'echo', { m: 'third' }),
  ];
  const out = await rawExchange(sb, rec.port, [...sessionSteps(), sessionPost(JSON.stringify(batch))]);
  assert.equal(out.ok, true, out.error);
  const res = out.responses[2];
  assert.equal(res.status, 200, JSON.stringify(res));
  const replies = byId(rawMessages(res));
  assert.deepEqual(Object.keys(replies).sort(), ['1', '2', 'three']);
  assert.equal(resultText(replies[1].result), 'ran echo {"m":"first"}');
  assert.equal(resultText(replies.three.result), 'ran echo {"m":"third"}');
  expectDenial(assert, replies[2].result, { rule: 'tools.execute.action', reason: REASON });

  // The server got one batch: the allowed elements (and the notification), never the denied one.
  assert.deepEqual(rec.requestsMentioning('batch-denied-marker'), []);
  const forwarded = rec.requestsMentioning('"first"');
  assert.equal(forwarded.length, 1);
  const forwardedBatch = JSON.parse(forwarded[0].body);
  assert.ok(Array.isArray(forwardedBatch), forwarded[0].body);
  assert.deepEqual(forwardedBatch.map((m) => m.id ?? m.method), [1, 'notifications/progress', 'three']);
  assert.deepEqual(rec.calls().map((c) => c.arguments.m), ['first', 'third']);
});

itest('batch on server-everything (SSE replies): the denial joins the stream', async (t) => {
  const sb = sandbox(t, 'batch-sse');
  const everything = await startEverything(sb);
  await startDaemon(sb, { policy: policyOf({ everything: { port: everything.port, tools: { 'get-env': { action: 'deny', reason: REASON } } } }) });
  const batch = [toolCall(1, 'echo', { message: 'one' }), toolCall(2, 'get-env', {}), toolCall(3, 'get-sum', { a: 20, b: 22 })];
  const out = await rawExchange(sb, everything.port, [...sessionSteps(), sessionPost(JSON.stringify(batch))]);
  assert.equal(out.ok, true, out.error);
  const res = out.responses[2];
  assert.match(res.headers['content-type'], /text\/event-stream/);
  const replies = byId(rawMessages(res));
  assert.deepEqual(Object.keys(replies).sort(), ['1', '2', '3']);
  assert.equal(resultText(replies[1].result), 'Echo: one');
  assert.equal(resultText(replies[3].result), 'The sum of 20 and 22 is 42.');
  const text = expectDenial(assert, replies[2].result, { rule: 'tools.get-env.action', reason: REASON });
  assert.doesNotMatch(text, /PATH=|"PATH"/, 'the environment was not returned');
});

itest('batch whose every element is denied is answered without reaching the server', async (t) => {
  const sb = sandbox(t, 'batch-all-denied');
  const rec = await startRecorder(sb, { tools: ['echo', 'execute'], jsonResponse: true });
  await startDaemon(sb, { policy: policyOf({ rec: { port: rec.port, tools: { execute: { action: 'deny', reason: REASON } } } }) });
  const batch = [toolCall(1, 'execute', { m: 'all-denied-marker' }), toolCall(2, 'execute', { m: 'all-denied-marker' })];
  const out = await rawExchange(sb, rec.port, [...sessionSteps(), sessionPost(JSON.stringify(batch))]);
  const replies = byId(rawMessages(out.responses[2]));
  assert.deepEqual(Object.keys(replies).sort(), ['1', '2']);
  for (const id of [1, 2]) expectDenial(assert, replies[id].result, { rule: 'tools.execute.action' });
  assert.deepEqual(rec.requestsMentioning('all-denied-marker'), []);
});

itest('legacy HTTP+SSE transport (GET /sse + POST /messages): deny works, allow is untouched', async (t) => {
  const sb = sandbox(t, 'legacy-sse');
  const rec = await startRecorder(sb, { tools: ['echo', 'execute'] });
  const everything = await startEverything(sb, 'sse');
  const daemon = await startDaemon(sb, { policy: policyOf({
    rec: { port: rec.port, tools: { execute: { action: 'deny', reason: REASON } } },
    everything: { port: everything.port, tools: { 'get-sum': { action: 'deny', reason: REASON } } },
  }) });

  const agent = await spawnAgent(sb, rec.url('/sse'), { transport: 'sse' });
  assert.equal(resultText(await agent.callTool('echo', { m: 'legacy-allowed' })), 'ran echo {"m":"legacy-allowed"}');
  expectDenial(assert, await agent.callTool('execute', { m: 'legacy-denied-marker' }), { rule: 'tools.execute.action', reason: REASON });
  assert.equal(resultText(await agent.callTool('echo', { m: 'legacy-after' })), 'ran echo {"m":"legacy-after"}');
  assert.deepEqual(rec.requestsMentioning('legacy-denied-marker'), []);
  assert.deepEqual(rec.calls().map((c) => c.arguments.m), ['legacy-allowed', 'legacy-after']);
  assert.ok(rec.http().some((r) => r.url.startsWith('/messages?sessionId=')), 'the POSTs went to /messages');
  await daemon.waitForInterceptions({ pid: agent.pid });
  await agent.close();

  const sseAgent = await spawnAgent(sb, everything.url(), { transport: 'sse' });
  assert.equal(resultText(await sseAgent.callTool('echo', { message: 'e' })), 'Echo: e');
  const postsBefore = everythingPosts(everything);
  expectDenial(assert, await sseAgent.callTool('get-sum', { a: 1, b: 1 }), { rule: 'tools.get-sum.action', reason: REASON });
  assert.equal(everythingPosts(everything), postsBefore, 'no POST reached server-everything');
  await sseAgent.close();
});

itest('legacy HTTP+SSE transport: hidden tools are cut from tools/list on the GET stream and denied on call', async (t) => {
  const sb = sandbox(t, 'legacy-hide');
  const rec = await startRecorder(sb, { tools: ['echo', 'secret_admin', 'read_file'] });
  await startDaemon(sb, { policy: policyOf({ rec: { port: rec.port, hide: ['secret_admin'] } }) });
  const direct = await spawnAgent(sb, rec.url('/sse'), { transport: 'sse', cgroup: false });
  assert.deepEqual((await direct.must('listTools')).tools, ['echo', 'secret_admin', 'read_file']);
  await direct.close();
  const agent = await spawnAgent(sb, rec.url('/sse'), { transport: 'sse' });
  assert.deepEqual((await agent.must('listTools')).tools, ['echo', 'read_file']);
  expectDenial(assert, await agent.callTool('secret_admin', { m: 'legacy-hidden-marker' }));
  assert.equal(resultText(await agent.callTool('read_file', { m: 'legacy-visible' })), 'ran read_file {"m":"legacy-visible"}');
  await agent.close();
  assert.deepEqual(rec.requestsMentioning('legacy-hidden-marker'), []);
  assert.deepEqual(rec.calls().map((c) => c.arguments.m), ['legacy-visible']);
});
