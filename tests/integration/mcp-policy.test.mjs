// Deciding tools/call: deny with a reason, default deny, "*"
// rules, argument conditions and hidden tools, with real SDK clients in the
// agent cgroup (their URLs unchanged) and real servers. A refused call must
// never reach the server: the recording server (recording-server.mjs)
// writes down every request and call it gets, and server-everything prints
// a line per POST it receives.
import assert from 'node:assert/strict';
import path from 'node:path';
import { itest } from '../lib/itest.mjs';
import { sandbox } from '../lib/sandbox.mjs';
import { startEverything } from '../lib/everything.mjs';
import { startDaemon } from '../lib/daemon.mjs';
import {
  startRecorder, spawnAgent, everythingPosts, expectDenial, resultText, policyOf,
  rawExchange, rawMessages, sessionSteps, sessionPost, toolCall, waitUntil, JSON_TYPE, ACCEPT_BOTH,
} from '../lib/mcp.mjs';
import { auditLines } from '../lib/metrics.mjs';

const REASON = 'arbitrary commands are not allowed here';

itest('deny with a reason: the agent is told why, the server never sees the call (JSON replies)', async (t) => {
  const sb = sandbox(t, 'deny-json');
  const rec = await startRecorder(sb, { tools: ['echo', 'execute'], jsonResponse: true });
  const daemon = await startDaemon(sb, { policy: policyOf({ rec: { port: rec.port, tools: { execute: { action: 'deny', reason: REASON } } } }) });
  const agent = await spawnAgent(sb, rec.url());

  assert.equal(resultText(await agent.callTool('echo', { message: 'before' })), 'ran echo {"message":"before"}');
  const denied = await agent.callTool('execute', { command: 'rm -rf /tmp/deny-marker' });
  expectDenial(assert, denied, { rule: 'tools.execute.action', reason: REASON });
  // The session goes on after a denial.
  assert.equal(resultText(await agent.callTool('echo', { message: 'after' })), 'ran echo {"message":"after"}');

  assert.deepEqual(rec.calls().map((c) => c.tool), ['echo', 'echo']);
  assert.deepEqual(rec.requestsMentioning('deny-marker'), []);
  assert.deepEqual(rec.requestsMentioning('"execute"'), []);
  await daemon.waitForInterceptions({ pid: agent.pid });
  await agent.close();
});

itest('deny with a reason on server-everything (SSE replies): no POST reaches it', async (t) => {
  const sb = sandbox(t, 'deny-sse');
  const everything = await startEverything(sb);
  const daemon = await startDaemon(sb, { policy: policyOf({ everything: { port: everything.port, tools: {
    'get-sum': { action: 'deny', reason: REASON } } } }) });
  const agent = await spawnAgent(sb, everything.url());

  assert.equal(resultText(await agent.callTool('echo', { message: 'x' })), 'Echo: x');
  const postsBefore = everythingPosts(everything);
  expectDenial(assert, await agent.callTool('get-sum', { a: 1, b: 2 }), { rule: 'tools.get-sum.action', reason: REASON });
  expectDenial(assert, await agent.callTool('get-sum', { a: 3, b: 4 }), { rule: 'tools.get-sum.action', reason: REASON });
  assert.equal(everythingPosts(everything), postsBefore, `no POST reached server-everything:\n${everything.proc.stdout}`);
  assert.equal(resultText(await agent.callTool('echo', { message: 'y' })), 'Echo: y');
  assert.equal(everythingPosts(everything), postsBefore + 1);
  await daemon.waitForInterceptions({ pid: agent.pid });
  await agent.close();
});

itest('a denial comes back as an SSE event when the client prefers text/event-stream', async (t) => {
  const sb = sandbox(t, 'deny-shape');
  const rec = await startRecorder(sb, { tools: ['echo', 'execute'] });
  await startDaemon(sb, { policy: policyOf({ rec: { port: rec.port, tools: { execute: { action: 'deny', reason: REASON } } } }) });
  const call = JSON.stringify(toolCall(7, 'execute', { marker: 'shape-marker' }));
  const out = await rawExchange(sb, rec.port, [
    ...sessionSteps(),
    sessionPost(call, { accept: 'text/event-stream' }),
    sessionPost(call, { accept: 'text/event-stream, application/json;q=0.5' }),
    sessionPost(call, { accept: 'application/json' }),
    sessionPost(call),
  ]);
  assert.equal(out.ok, true, out.error);
  const [, , sseOnly, ssePreferred, jsonOnly, both] = out.responses;
  for (const [res, type] of [[sseOnly, 'text/event-stream'], [ssePreferred, 'text/event-stream'], [jsonOnly, 'application/json']]) {
    assert.equal(res.status, 200, JSON.stringify(res));
    assert.match(res.headers['content-type'], new RegExp(type.replace('/', '\\/')), JSON.stringify(res.headers));
  }
  for (const res of [sseOnly, ssePreferred, jsonOnly, both]) {
    const messages = rawMessages(res);
    assert.equal(messages.length, 1, JSON.stringify(res));
    assert.equal(messages[0].id, 7);
    assert.equal(messages[0].jsonrpc, '2.0');
    expectDenial(assert, messages[0].result, { rule: 'tools.execute.action', reason: REASON });
  }
  assert.deepEqual(rec.requestsMentioning('shape-marker'), []);
});

itest('default deny: only listed tools pass, the rest are refused with rule "default"', async (t) => {
  const sb = sandbox(t, 'default-deny');
  const rec = await startRecorder(sb, { tools: ['echo', 'execute', 'read_file'] });
  // PolicyLayer's example body, plus echo: a listed tool without action is granted.
  await startDaemon(sb, { policy: policyOf({ rec: { port: rec.port, default: 'deny', tools: {
    echo: {},
    execute_pipeline: { limits: [{ counter: 'execute_pipeline_rate', window: 'minute', max: 10, scope: 'grant' }] },
  } } }) });
  const agent = await spawnAgent(sb, rec.url());
  assert.equal(resultText(await agent.callTool('echo', { message: 'listed' })), 'ran echo {"message":"listed"}');
  for (const tool of ['execute', 'read_file', 'not-a-tool']) {
    expectDenial(assert, await agent.callTool(tool, { marker: `default-deny-${tool}` }), { rule: 'default' });
    assert.deepEqual(rec.requestsMentioning(`default-deny-${tool}`), []);
  }
  assert.deepEqual(rec.calls().map((c) => c.tool), ['echo']);
  await agent.close();
});

itest('wildcard "*" rules: action, conditions and limits apply to every tool', async (t) => {
  const sb = sandbox(t, 'wildcard');
  const rec = await startRecorder(sb, { tools: ['echo', 'execute', 'read_file', 'write_file'] });
  await startDaemon(sb, { policy: policyOf({ rec: { port: rec.port, default: 'allow', tools: {
    echo: { action: 'allow' },
    read_file: {},
    '*': {
      action: 'deny',
      reason: 'only listed tools',
      conditions: [{ path: 'args.token', op: 'exists', value: false }],
      limits: [{ counter: 'all_calls', window: 'hour', max: 4, scope: 'grant' }],
    },
  } } }) });
  const agent = await spawnAgent(sb, rec.url());
  // "*" action denies tools without an entry, despite default allow.
  for (const tool of ['execute', 'write_file']) {
    expectDenial(assert, await agent.callTool(tool, {}), { rule: 'tools.*.action', reason: 'only listed tools' });
  }
  // "*" conditions hold for listed tools too.
  expectDenial(assert, await agent.callTool('echo', { token: 'secret-wildcard-marker' }), { rule: 'tools.*.conditions[0]' });
  // "*" limits: one budget over every tool; denied calls above did not count.
  assert.equal(resultText(await agent.callTool('echo', { n: 1 })), 'ran echo {"n":1}');
  assert.equal(resultText(await agent.callTool('read_file', { n: 2 })), 'ran read_file {"n":2}');
  assert.equal(resultText(await agent.callTool('echo', { n: 3 })), 'ran echo {"n":3}');
  assert.equal(resultText(await agent.callTool('read_file', { n: 4 })), 'ran read_file {"n":4}');
  expectDenial(assert, await agent.callTool('echo', { n: 5 }), { rule: 'tools.*.limits[0]', retry: true });
  expectDenial(assert, await agent.callTool('read_file', { n: 6 }), { rule: 'tools.*.limits[0]', retry: true });
  assert.deepEqual(rec.calls().map((c) => c.arguments.n), [1, 2, 3, 4]);
  assert.deepEqual(rec.requestsMentioning('wildcard-marker'), []);
  assert.deepEqual(rec.requestsMentioning('"execute"'), []);
  await agent.close();
});

// One tool per condition op: [conditions, arguments that pass, arguments that fail].
const CONDITION_CASES = {
  eq_tool: [[{ path: 'args.mode', op: 'eq', value: 'safe' }], { mode: 'safe' }, { mode: 'unsafe' }],
  neq_tool: [[{ path: 'args.user', op: 'neq', value: 'root' }], { user: 'alice' }, { user: 'root' }],
  in_tool: [[{ path: 'args.env', op: 'in', value: ['dev', 'test'] }], { env: 'test' }, { env: 'prod' }],
  not_in_tool: [[{ path: 'args.cmd', op: 'not_in', value: ['rm', 'shutdown'] }], { cmd: 'ls' }, { cmd: 'shutdown' }],
  lt_tool: [[{ path: 'args.n', op: 'lt', value: 10 }], { n: 9.5 }, { n: 10 }],
  lte_tool: [[{ path: 'args.n', op: 'lte', value: 10 }], { n: 10 }, { n: 10.5 }],
  gt_tool: [[{ path: 'args.n', op: 'gt', value: 0 }], { n: 1 }, { n: 0 }],
  gte_tool: [[{ path: 'args.n', op: 'gte', value: 0 }], { n: 0 }, { n: -1 }],
  regex_tool: [[{ path: 'args.path', op: 'regex', value: '^/srv/[a-z]+$' }], { path: '/srv/data' }, { path: '/etc/passwd' }],
  contains_tool: [[{ path: 'args.tags', op: 'contains', value: 'reviewed' }], { tags: ['x', 'reviewed'] }, { tags: ['x'] }],
  contains_str_tool: [[{ path: 'args.query', op: 'contains', value: 'LIMIT' }], { query: 'SELECT 1 LIMIT 5' }, { query: 'SELECT 1' }],
  exists_tool: [[{ path: 'args.ticket', op: 'exists', value: true }], { ticket: 'T-1' }, { other: 1 }],
  not_exists_tool: [[{ path: 'args.sudo', op: 'exists', value: false }], { plain: 1 }, { sudo: true }],
  nested_tool: [[{ path: 'args.options.depth', op: 'lte', value: 2 }, { path: 'args.items.0', op: 'eq', value: 'first' }],
    { options: { depth: 2 }, items: ['first', 'second'] }, { options: { depth: 2 }, items: ['second', 'first'] }],
  type_tool: [[{ path: 'args.n', op: 'lt', value: 5 }], { n: 4 }, { n: '4' }],
};

itest('argument conditions: every op allows what matches and denies what does not', async (t) => {
  const sb = sandbox(t, 'conditions');
  const tools = Object.keys(CONDITION_CASES);
  const rec = await startRecorder(sb, { tools, jsonResponse: true });
  const policyTools = {};
  for (const [tool, [conditions]] of Object.entries(CONDITION_CASES)) {
    policyTools[tool] = { reason: `${tool} arguments refused`, conditions };
  }
  await startDaemon(sb, { policy: policyOf({ rec: { port: rec.port, default: 'deny', tools: policyTools } }) });
  const agent = await spawnAgent(sb, rec.url());
  const failures = [];
  for (const [tool, [conditions, pass, fail]] of Object.entries(CONDITION_CASES)) {
    const ok = await agent.callTool(tool, pass);
    if (ok.isError || resultText(ok) !== `ran ${tool} ${JSON.stringify(pass)}`) failures.push(`${tool} ${JSON.stringify(pass)} should pass: ${JSON.stringify(ok)}`);
    const no = await agent.callTool(tool, fail);
    const text = resultText(no);
    const failing = tool === 'nested_tool' ? 1 : 0;
    if (!no.isError || !/mcpfence/i.test(text) || !text.includes(`tools.${tool}.conditions[${failing}]`) || !text.includes(`${tool} arguments refused`)) {
      failures.push(`${tool} ${JSON.stringify(fail)} (${JSON.stringify(conditions)}) should be denied: ${JSON.stringify(no)}`);
    }
  }
  assert.deepEqual(failures, []);
  // The server saw exactly the passing calls, in order.
  assert.deepEqual(rec.calls().map((c) => [c.tool, c.arguments]), Object.entries(CONDITION_CASES).map(([tool, [, pass]]) => [tool, pass]));
  await agent.close();
});

// The red team's inputs: a regex condition (F3) and --audit-args
// redaction (F2) on a megabyte the agent sends. glibc's regexec was O(n^2)
// on them, under locks every agent's calls wait on: 17.5 s at 128,000
// bytes, 20 minutes to over an hour at these sizes. Matched in linear time
// now; the bound is generous for a loaded machine.
itest('a megabyte argument is matched in linear time by a regex condition and by audit redaction', async (t) => {
  const sb = sandbox(t, 'linear-regex');
  const rec = await startRecorder(sb, { tools: ['lookup', 'echo'], jsonResponse: true });
  const auditFile = path.join(sb.tmp, 'audit.jsonl');
  await startDaemon(sb, {
    args: ['--audit', auditFile, '--audit-args'],
    policy: policyOf({ rec: { port: rec.port, tools: { lookup: { reason: 'corp addresses only',
      conditions: [{ path: 'args.q', op: 'regex', value: '[a-z]+@corp\\.example$' }] } } } }),
  });
  const agent = await spawnAgent(sb, rec.url());
  const P = 1 << 20;
  const started = Date.now();
  expectDenial(assert, await agent.callTool('lookup', { q: 'a'.repeat(P) }),
    { rule: 'tools.lookup.conditions[0]', reason: 'corp addresses only' });
  const scheme = 'a'.repeat(P) + '://' + 'x'.repeat(P);
  expectDenial(assert, await agent.callTool('lookup', { q: scheme }), { rule: 'tools.lookup.conditions[0]' });
  assert.equal(resultText(await agent.callTool('lookup', { q: 'bob@corp.example' })), 'ran lookup {"q":"bob@corp.example"}');
  const took = Date.now() - started;
  assert.ok(took < 20000, `three calls took ${took} ms`);
  // the audit line may be written after the reply
  const lines = await waitUntil(() => { const l = auditLines(auditFile).filter((x) => x.tool === 'lookup'); return l.length >= 3 && l; }, '3 audit lines');
  assert.deepEqual(lines.map((l) => [l.decision, l.arguments.q.length]), [['deny', P], ['deny', 2 * P + 3], ['allow', 16]]);
  await agent.close();
});

// Python FastMCP runs json.loads on a top-level string argument (a
// parameter not typed str) and hands the tool the object, array or null it
// holds (a bool is an int to Python: kept as the string): a condition that
// would read the string otherwise makes the call invalid, and it never
// reaches the server.
itest('argument conditions on a string a server parses as JSON: invalid, never forwarded', async (t) => {
  const sb = sandbox(t, 'cond-json-string');
  const rec = await startRecorder(sb, { tools: ['rm', 'tag', 'flag'], jsonResponse: true });
  await startDaemon(sb, { policy: policyOf({ rec: { port: rec.port, tools: {
    rm: { conditions: [{ path: 'args.opts.recursive', op: 'exists', value: false }] },
    tag: { conditions: [{ path: 'args.tags', op: 'contains', value: 'safe' }] },
    flag: { conditions: [{ path: 'args.force', op: 'neq', value: 'yes' }] },
  } } }) });
  const call = (id, tool, args) => sessionPost(JSON.stringify(toolCall(id, tool, args)));
  const res = await rawExchange(sb, rec.port, [...sessionSteps(),
    call(1, 'rm', { path: '/x', opts: JSON.stringify({ recursive: true }) }),
    call(2, 'tag', { tags: JSON.stringify(['unsafe']) }),
    call(3, 'tag', { tags: ` ${JSON.stringify({ k: 'safe' })}\n` }),
    call(4, 'flag', { force: '{"x":1}' }),
    call(5, 'flag', { force: 'null' }),
    // what stays a string for every server is compared as before
    call(6, 'rm', { path: '/x', opts: 'plain' }),
    call(7, 'tag', { tags: ['safe'] }),
    call(8, 'tag', { tags: 'safe-mode' }),
    call(9, 'flag', { force: 'no' }),
    call(10, 'flag', { force: 'true' }),
  ]);
  assert.equal(res.ok, true, res.error);
  const answers = res.responses.slice(2).map((r) => rawMessages(r)[0]);
  for (const [i, msg] of answers.slice(0, 5).entries()) {
    assert.match(JSON.stringify(msg), /reads an argument that is a string holding JSON/, `call ${i + 1}: ${JSON.stringify(msg)}`);
  }
  for (const msg of answers.slice(5)) assert.match(JSON.stringify(msg?.result), /ran /, JSON.stringify(msg));
  assert.deepEqual(rec.calls().map((c) => [c.tool, c.arguments]), [
    ['rm', { path: '/x', opts: 'plain' }], ['tag', { tags: ['safe'] }], ['tag', { tags: 'safe-mode' }], ['flag', { force: 'no' }],
    ['flag', { force: 'true' }],
  ]);
});

itest('hidden tools are removed from tools/list (JSON and SSE replies) and denied on call', async (t) => {
  const sb = sandbox(t, 'hidden');
  const rec = await startRecorder(sb, { tools: ['echo', 'secret_admin', 'read_file'], jsonResponse: true });
  const everything = await startEverything(sb);
  await startDaemon(sb, { policy: policyOf({
    rec: { port: rec.port, hide: ['secret_admin'] },
    everything: { port: everything.port, hide: ['get-env', 'get-tiny-image'] },
  }) });

  // Direct (outside the cgroup) the servers list them; through mcpfence they are gone.
  const directRec = await spawnAgent(sb, rec.url(), { cgroup: false });
  assert.deepEqual((await directRec.must('listTools')).tools, ['echo', 'secret_admin', 'read_file']);
  await directRec.close();
  const agent = await spawnAgent(sb, rec.url());
  assert.deepEqual((await agent.must('listTools')).tools, ['echo', 'read_file']);
  expectDenial(assert, await agent.callTool('secret_admin', { marker: 'hidden-marker' }));
  assert.deepEqual(rec.requestsMentioning('hidden-marker'), []);
  assert.deepEqual(rec.calls(), []);
  await agent.close();

  const directEverything = await spawnAgent(sb, everything.url(), { cgroup: false });
  const all = (await directEverything.must('listTools')).tools;
  await directEverything.close();
  assert.ok(all.includes('get-env') && all.includes('get-tiny-image'), all.join(','));
  const sseAgent = await spawnAgent(sb, everything.url());
  const listed = (await sseAgent.must('listTools')).tools;
  assert.deepEqual(listed, all.filter((name) => name !== 'get-env' && name !== 'get-tiny-image'));
  const postsBefore = everythingPosts(everything);
  expectDenial(assert, await sseAgent.callTool('get-env', {}));
  assert.equal(everythingPosts(everything), postsBefore);
  await sseAgent.close();

  // A raw tools/list answered as SSE by server-everything, and as JSON by the recorder.
  const list = JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list', params: {} });
  // (A client without sampling/elicitation capabilities is offered fewer tools.)
  const rawList = async (cgroup) => {
    const out = await rawExchange(sb, everything.port, [...sessionSteps(), sessionPost(list)], { cgroup });
    assert.match(out.responses[2].headers['content-type'], /text\/event-stream/);
    return rawMessages(out.responses[2])[0].result.tools.map((tool) => tool.name);
  };
  const rawDirect = await rawList(false);
  assert.ok(rawDirect.includes('get-env'), rawDirect.join(','));
  assert.deepEqual(await rawList(true), rawDirect.filter((name) => name !== 'get-env' && name !== 'get-tiny-image'));
  const json = await rawExchange(sb, rec.port, [...sessionSteps(), sessionPost(list)]);
  assert.match(json.responses[2].headers['content-type'], /application\/json/);
  assert.deepEqual(json.responses[2].json.result.tools.map((tool) => tool.name), ['echo', 'read_file']);
});

itest('stateless POSTs (2026-07-28 shape): decided on the body, headers checked, session budgets per connection', async (t) => {
  const sb = sandbox(t, 'stateless');
  const rec = await startRecorder(sb, { tools: ['echo', 'execute'], jsonResponse: true });
  await startDaemon(sb, { policy: policyOf({ rec: { port: rec.port, tools: {
    execute: { action: 'deny', reason: REASON },
    echo: { limits: [{ counter: 'echo_per_session', window: 'hour', max: 1, scope: 'session' }] },
  } } }) });
  const b64 = (text) => `=?base64?${Buffer.from(text).toString('base64')}?=`;
  // No initialize, no Mcp-Session-Id: every POST stands alone and names itself in headers.
  const post = (id, tool, m, name = tool) => ({ method: 'POST', path: '/mcp/stateless',
    headers: [JSON_TYPE, ACCEPT_BOTH, ['MCP-Protocol-Version', '2025-11-25'], ['Mcp-Method', 'tools/call'], ['Mcp-Name', b64(name)]],
    body: JSON.stringify(toolCall(id, tool, { m })) });
  const out = await rawExchange(sb, rec.port, [
    { pipeline: [post(1, 'echo', 'sl-1'), post(2, 'echo', 'sl-over-marker')] }, // one connection, one budget
    post(3, 'echo', 'sl-3'),                                                     // a new connection, a new one
    post(4, 'execute', 'sl-denied-marker'),
    post(5, 'execute', 'sl-mismatch-marker', 'echo'),
  ]);
  assert.equal(out.ok, true, out.error);
  const [first, over, fresh, denied, mismatch] = out.responses;
  assert.equal(resultText(rawMessages(first)[0].result), 'ran echo {"m":"sl-1"}', JSON.stringify(first));
  expectDenial(assert, rawMessages(over)[0].result, { rule: 'tools.echo.limits[0]', retry: true });
  assert.equal(resultText(rawMessages(fresh)[0].result), 'ran echo {"m":"sl-3"}', JSON.stringify(fresh));
  expectDenial(assert, rawMessages(denied)[0].result, { rule: 'tools.execute.action', reason: REASON });
  assert.equal(mismatch.status, 400, JSON.stringify(mismatch));
  assert.equal(mismatch.json.error.code, -32600, JSON.stringify(mismatch));
  assert.deepEqual(rec.calls().map((c) => c.arguments.m), ['sl-1', 'sl-3']);
  for (const marker of ['sl-over-marker', 'sl-denied-marker', 'sl-mismatch-marker']) {
    assert.deepEqual(rec.requestsMentioning(marker), [], `${marker} reached the server`);
  }
});
