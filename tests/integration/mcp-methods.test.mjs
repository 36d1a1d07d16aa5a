// Every method is governed (resources,
// prompts, completion, logging, unknown methods) under "default", with
// methods/prompts/resources rules and filtered lists; lifecycle keeps
// working under default deny; server entries scoped to agent cgroups; and
// host-name endpoints resolved without holding up the daemon. Real SDK
// agents against server-everything, which prints a line per POST it gets,
// so a refused request is seen never to reach it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { itest } from '../lib/itest.mjs';
import { sandbox } from '../lib/sandbox.mjs';
import { cgroup2Root } from '../lib/cgroup.mjs';
import { startEverything } from '../lib/everything.mjs';
import { startDaemon } from '../lib/daemon.mjs';
import { curlInitialize } from '../lib/agents.mjs';
import {
  spawnAgent, everythingPosts, expectDenial, resultText, waitUntil, startRecorder, policyOf,
  rawExchange, rawMessages, sessionSteps, sessionPost,
} from '../lib/mcp.mjs';
import { scrapeMetrics, parseSamples, auditLines, promtoolCheck } from '../lib/metrics.mjs';

const STATIC_DOCS = 'demo://resource/static/document/*';
const ARCHITECTURE = 'demo://resource/static/document/architecture.md';

function serverPolicy(port, body) {
  return { version: '1', servers: { everything: { endpoints: [`127.0.0.1:${port}`], ...body } } };
}

// The agent's request refused by the daemon: a JSON-RPC error naming the rule.
async function expectRefused(agent, method, params, rule) {
  const res = await agent.send('request', { method, params });
  assert.equal(res.ok, false, `${method} should be refused, got ${JSON.stringify(res.result)}`);
  assert.match(res.error, /-32001/, res.error);
  assert.ok(res.error.includes(`Blocked by mcpfence: ${rule}`), res.error);
}

function sample(text, tool, decision) {
  const s = parseSamples(text).find((x) => x.name === 'mcpfence_tool_calls_total' &&
    x.labels.tool === tool && x.labels.decision === decision);
  return s ? s.value : 0;
}

itest('default deny governs resources, prompts, completion, logging and unknown methods; lifecycle passes', async (t) => {
  const sb = sandbox(t, 'methods-deny');
  const everything = await startEverything(sb);
  const audit = path.join(sb.tmp, 'audit.jsonl');
  const daemon = await startDaemon(sb, { args: ['--audit', audit], policy: serverPolicy(everything.port, {
    default: 'deny',
    tools: { echo: {} },
    prompts: { 'simple-prompt': {} },
    resources: { [STATIC_DOCS]: { action: 'deny', reason: 'static documents are private' }, [ARCHITECTURE]: {} },
  }) });
  // initialize, notifications/initialized (connect) and ping work under default deny
  const agent = await spawnAgent(sb, everything.url());
  await agent.must('request', { method: 'ping' });
  assert.equal(resultText(await agent.callTool('echo', { message: 'x' })), 'Echo: x');

  // lists are answered, showing only what may be fetched
  const prompts = (await agent.must('request', { method: 'prompts/list', params: {} })).prompts.map((p) => p.name);
  assert.deepEqual(prompts, ['simple-prompt']);
  // allowed by their own entries
  const prompt = await agent.must('request', { method: 'prompts/get', params: { name: 'simple-prompt' } });
  assert.ok(Array.isArray(prompt.messages) && prompt.messages.length > 0, JSON.stringify(prompt));
  const listed = await agent.must('request', { method: 'resources/list', params: {} });
  // the URI itself beats the glob that denies the other documents
  assert.deepEqual(listed.resources.map((r) => r.uri), [ARCHITECTURE]);
  const doc = { uri: 'demo://resource/static/document/features.md' };

  const before = everythingPosts(everything);
  await expectRefused(agent, 'resources/read', { uri: doc.uri }, `resources["${STATIC_DOCS}"].action: static documents are private`);
  await expectRefused(agent, 'resources/subscribe', { uri: doc.uri }, `resources["${STATIC_DOCS}"].action`);
  await expectRefused(agent, 'prompts/get', { name: 'args-prompt', arguments: { city: 'Paris' } }, 'default');
  await expectRefused(agent, 'completion/complete', {
    ref: { type: 'ref/prompt', name: 'completable-prompt' }, argument: { name: 'department', value: 'E' },
  }, 'default');
  await expectRefused(agent, 'logging/setLevel', { level: 'debug' }, 'default');
  await expectRefused(agent, 'tasks/list', {}, 'default');
  await expectRefused(agent, 'mcpfence/no-such-method', {}, 'default: method mcpfence/no-such-method is not allowed');
  assert.equal(everythingPosts(everything), before, `no refused request reached server-everything:\n${everything.proc.stdout}`);

  // the session goes on, and a readable resource is read
  const read = await agent.must('request', { method: 'resources/read', params: { uri: ARCHITECTURE } });
  assert.equal(read.contents[0].uri, ARCHITECTURE);
  await agent.close();

  const text = await scrapeMetrics(daemon);
  assert.equal(sample(text, 'resources/read', 'deny'), 1, text);
  assert.equal(sample(text, 'prompts/get', 'allow'), 1, text);
  assert.equal(sample(text, 'prompts/get', 'deny'), 1, text);
  // a method no specification defines is an agent's invention: one shared row
  // (an agent cannot grow the map and /metrics with names), its own audit line
  assert.equal(sample(text, '(other)', 'deny'), 1, text);
  assert.ok(!text.includes('mcpfence/no-such-method'), text);
  assert.equal(sample(text, 'resources/list', 'allow'), 1, text);
  assert.equal(sample(text, 'prompts/list', 'allow'), 1, text);
  assert.ok(promtoolCheck(text).ok, promtoolCheck(text).output);
  const refused = await waitUntil(() => auditLines(audit).find((l) => l.tool === 'resources/read' && l.decision === 'deny'),
    'the refused resources/read in the audit log');
  assert.equal(refused.rule, `resources["${STATIC_DOCS}"].action`);
  assert.equal(refused.reason, 'static documents are private');
  assert.ok(auditLines(audit).some((l) => l.tool === 'mcpfence/no-such-method' && l.decision === 'deny'));
});

itest('hidden prompts and resources disappear from their lists and cannot be fetched', async (t) => {
  const sb = sandbox(t, 'methods-hide');
  const everything = await startEverything(sb);
  const open = await spawnAgent(sb, everything.url(), { cgroup: false });
  const allPrompts = (await open.must('request', { method: 'prompts/list', params: {} })).prompts.map((p) => p.name);
  const allResources = (await open.must('request', { method: 'resources/list', params: {} })).resources.map((r) => r.uri);
  const allTemplates = (await open.must('request', { method: 'resources/templates/list', params: {} }))
    .resourceTemplates.map((r) => r.uriTemplate);
  await open.close();
  assert.ok(allTemplates.includes('demo://resource/dynamic/blob/{resourceId}'), allTemplates.join());
  assert.ok(allPrompts.includes('args-prompt') && allPrompts.includes('simple-prompt'), allPrompts.join());
  assert.ok(allResources.some((u) => u.startsWith('demo://resource/static/document/')), allResources.join());

  await startDaemon(sb, { policy: serverPolicy(everything.port, {
    default: 'allow', hide_prompts: ['args-prompt'], hide_resources: [STATIC_DOCS, 'demo://resource/dynamic/blob/*'],
  }) });
  const agent = await spawnAgent(sb, everything.url());
  const prompts = (await agent.must('request', { method: 'prompts/list', params: {} })).prompts.map((p) => p.name);
  assert.deepEqual(prompts, allPrompts.filter((n) => n !== 'args-prompt'));
  const resources = (await agent.must('request', { method: 'resources/list', params: {} })).resources.map((r) => r.uri);
  assert.deepEqual(resources, allResources.filter((u) => !u.startsWith('demo://resource/static/document/')));
  const templates = (await agent.must('request', { method: 'resources/templates/list', params: {} }))
    .resourceTemplates.map((r) => r.uriTemplate);
  assert.deepEqual(templates, allTemplates.filter((u) => !u.startsWith('demo://resource/dynamic/blob/')));
  const before = everythingPosts(everything);
  await expectRefused(agent, 'prompts/get', { name: 'args-prompt', arguments: { city: 'Paris' } }, 'hide');
  await expectRefused(agent, 'resources/read', { uri: 'demo://resource/dynamic/blob/1' }, 'hide');
  assert.equal(everythingPosts(everything), before);
  await agent.must('request', { method: 'resources/read', params: { uri: 'demo://resource/dynamic/text/1' } });
  await agent.must('request', { method: 'prompts/get', params: { name: 'simple-prompt' } });
  await agent.close();
});

itest('resource URIs are decided as the server reads them: dot segments, escapes, case and blanks reach nothing denied', async (t) => {
  const sb = sandbox(t, 'methods-uri');
  const everything = await startEverything(sb);
  // default deny with one allowed prefix, and a denied and a hidden family under default allow
  await startDaemon(sb, { policy: { version: '1', servers: {
    strict: { endpoints: [`127.0.0.1:${everything.port}`], default: 'deny', methods: { 'resources/list': {} },
      resources: { [STATIC_DOCS]: {} } },
  } } });
  const agent = await spawnAgent(sb, everything.url());
  await agent.must('request', { method: 'resources/read', params: { uri: ARCHITECTURE } });
  const before = everythingPosts(everything);
  // the SDK reads new URL(uri): each of these is dynamic/text/N to it
  for (const uri of [
    'demo://resource/static/document/../../dynamic/text/1',
    'demo://resource/static/document/%2e%2e/%2E%2E/dynamic/text/2',
    'demo://resource/static/document/./../../dynamic/text/1',
  ]) {
    const res = await agent.send('request', { method: 'resources/read', params: { uri } });
    assert.equal(res.ok, false, `${uri} reached the server: ${JSON.stringify(res.result)}`);
    assert.match(res.error, /resource URI/, res.error);
  }
  assert.equal(everythingPosts(everything), before, 'a refused read reached the server');
  await agent.close();
});

itest('denied and hidden resources stay out of reach through case, escapes and blanks', async (t) => {
  const sb = sandbox(t, 'methods-uri-deny');
  const everything = await startEverything(sb);
  await startDaemon(sb, { policy: serverPolicy(everything.port, {
    default: 'allow', resources: { 'DEMO://resource/dynamic/text/*': { action: 'deny' } },
    hide_resources: ['demo://resource/dynamic/%62lob/*'],
  }) });
  const agent = await spawnAgent(sb, everything.url());
  // the patterns were written oddly: they still mean what the server reads
  await expectRefused(agent, 'resources/read', { uri: 'demo://resource/dynamic/text/1' }, 'resources[');
  await expectRefused(agent, 'resources/read', { uri: 'demo://resource/dynamic/blob/1' }, 'hide');
  const before = everythingPosts(everything);
  for (const uri of ['DEMO://resource/dynamic/text/1', 'demo://resource/dyn\tamic/text/1', ' demo://resource/dynamic/text/1',
    'demo://resource/dynamic/text/1 ', 'de\nmo://resource/dynamic/blob/1', 'demo://resource/dynamic/%74ext/1',
    'demo://resource/dynamic/text%2F1', 'demo://resource:/dynamic/text/1', 'demo://@resource/dynamic/text/1',
    'demo://:@resource/dynamic/text/1', 'demo://resource/dynamic//text/1']) {
    const res = await agent.send('request', { method: 'resources/read', params: { uri } });
    assert.equal(res.ok, false, `${JSON.stringify(uri)} reached the server: ${JSON.stringify(res.result)}`);
  }
  assert.equal(everythingPosts(everything), before, 'a refused read reached the server');
  await agent.must('request', { method: 'resources/read', params: { uri: ARCHITECTURE } });
  await agent.close();
});

itest('agent scopes: two cgroups get different decisions for the same tool on the same endpoint', async (t) => {
  const sb = sandbox(t, 'scopes');
  const everything = await startEverything(sb);
  const podA = sb.childCgroup('pod-a');
  const podB = sb.childCgroup('pod-b');
  const rel = (dir) => path.relative(cgroup2Root(), dir);
  const endpoints = [`127.0.0.1:${everything.port}`];
  const daemon = await startDaemon(sb, { policy: { version: '1', servers: {
    'pod-a': { endpoints, agents: [rel(podA)], default: 'allow', tools: { echo: { action: 'deny', reason: 'not for pod a' } } },
    'pod-b': { endpoints, agents: [rel(podB)], default: 'allow' },
  } } });

  const a = await spawnAgent(sb, everything.url(), { cgroup: podA });
  const b = await spawnAgent(sb, everything.url(), { cgroup: podB });
  const before = everythingPosts(everything);
  expectDenial(assert, await a.callTool('echo', { message: 'a' }), { rule: 'tools.echo.action', reason: 'not for pod a' });
  assert.equal(everythingPosts(everything), before);
  assert.equal(resultText(await b.callTool('echo', { message: 'b' })), 'Echo: b');
  await daemon.waitForInterceptions({ pid: a.pid, server: 'pod-a' });
  await daemon.waitForInterceptions({ pid: b.pid, server: 'pod-b' });
  await a.close();
  await b.close();

  // an agent no scope covers, with no unscoped entry: refused, never forwarded
  const postsBefore = everythingPosts(everything);
  const res = await curlInitialize(sb, everything.url());
  assert.equal(res.status, 403, res.body);
  assert.match(res.body, /no server of the policy covers this agent/);
  assert.equal(everythingPosts(everything), postsBefore);
});

itest('host-name endpoints: the daemon starts while a name does not resolve, and reports it', async (t) => {
  const sb = sandbox(t, 'dns');
  const everything = await startEverything(sb);
  const daemon = await startDaemon(sb, { policy: { version: '1', servers: {
    named: { endpoints: [`localhost:${everything.port}`], default: 'allow', tools: { echo: { action: 'deny' } } },
    nowhere: { endpoints: ['mcp.tools.svc.cluster.invalid:3001'], default: 'deny' },
  } } });

  await daemon.waitForLine(/endpoint localhost:\d+ resolves to/);
  await daemon.waitForLine(/endpoint mcp\.tools\.svc\.cluster\.invalid:3001: cannot resolve/);
  const metrics = await waitUntil(async () => {
    const samples = parseSamples(await scrapeMetrics(daemon));
    const get = (name) => samples.find((s) => s.name === name)?.value;
    return get('mcpfence_endpoint_resolution_failures_total') >= 1 && get('mcpfence_endpoints_unresolved') === 1 && samples;
  }, 'an unresolved endpoint in /metrics');
  assert.ok(metrics);

  const agent = await spawnAgent(sb, everything.url());
  expectDenial(assert, await agent.callTool('echo', { message: 'x' }), { rule: 'tools.echo.action' });
  await daemon.waitForInterceptions({ pid: agent.pid, server: 'named' });
  await agent.close();
});

itest('host-name endpoints follow reloads: a name added is resolved and intercepted, a name removed is not', async (t) => {
  const sb = sandbox(t, 'dns-reload');
  const everything = await startEverything(sb);
  const write = (servers) => fs.writeFileSync(daemon.policyFile, `${JSON.stringify({ version: '1', servers })}\n`);
  const daemon = await startDaemon(sb, { policy: { version: '1', servers: {
    a: { endpoints: [`127.0.0.1:${everything.port}`], default: 'allow' },
  } } });
  const first = await spawnAgent(sb, everything.url());
  assert.equal(resultText(await first.callTool('echo', { message: '1' })), 'Echo: 1');
  await daemon.waitForInterceptions({ pid: first.pid, server: 'a' });
  await first.close();

  // the address now comes only from a name, under another server
  write({ b: { endpoints: [`localhost:${everything.port}`], default: 'allow', tools: { echo: { action: 'deny' } } } });
  await daemon.waitForLine(new RegExp(`endpoint localhost:${everything.port} resolves to`));
  const second = await spawnAgent(sb, everything.url());
  expectDenial(assert, await second.callTool('echo', { message: '2' }), { rule: 'tools.echo.action' });
  await daemon.waitForInterceptions({ pid: second.pid, server: 'b' });
  await second.close();

  // no endpoint at all: the targets map lets the agent straight through
  write({ b: { default: 'deny' } });
  await daemon.waitForLine(/\(generation 3\)/);
  const third = await spawnAgent(sb, everything.url());
  assert.equal(resultText(await third.callTool('echo', { message: '3' })), 'Echo: 3');
  await third.close();
  assert.deepEqual(daemon.interceptions({ pid: third.pid }), []);
});

itest('notifications: lifecycle ones pass, others are decided, a tools/call without id never passes', async (t) => {
  const sb = sandbox(t, 'methods-notify');
  const rec = await startRecorder(sb, { tools: ['echo', 'execute'] });
  const policy = policyOf({ rec: { port: rec.port, default: 'allow', tools: { execute: { action: 'deny' } } } });
  policy.servers.rec.methods = { 'custom/blocked': { action: 'deny' } };
  policy.servers.rec.resources = { 'x://*': { action: 'deny' } };
  await startDaemon(sb, { policy });
  const out = await rawExchange(sb, rec.port, [
    ...sessionSteps(),
    // a batch of notifications only: the governed ones are dropped, and
    // the answer is the daemon's own 202 when nothing is left to forward
    sessionPost(JSON.stringify([
      { jsonrpc: '2.0', method: 'tools/call', params: { name: 'execute', arguments: { cmd: 'notify-marker-1' } } },
      { jsonrpc: '2.0', method: 'tools/call', params: { name: 'echo', arguments: { cmd: 'notify-marker-2' } } },
      { jsonrpc: '2.0', method: 'custom/blocked', params: { m: 'notify-marker-3' } },
    ])),
    // lifecycle notifications still pass; a request in the same batch is refused
    sessionPost(JSON.stringify([
      { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 99, reason: 'cancel-marker' } },
      { jsonrpc: '2.0', id: 5, method: 'resources/read', params: { uri: 'x://notify-marker-4' } },
    ])),
  ]);
  assert.equal(out.ok, true, out.error);
  const [, , dropped, mixed] = out.responses;
  assert.equal(dropped.status, 202, JSON.stringify(dropped));
  const answers = rawMessages(mixed);
  assert.equal(answers.length, 1, JSON.stringify(mixed));
  assert.equal(answers[0].id, 5);
  assert.equal(answers[0].error.code, -32001);
  assert.match(answers[0].error.message, /^Blocked by mcpfence: resources\["x:\/\/\*"\]\.action: /);
  assert.deepEqual(rec.requestsMentioning('notify-marker'), []);
  assert.equal(rec.requestsMentioning('cancel-marker').length, 1);
});
