// Knowing the tools: the inventory of what servers declare in
// the tools/list answers the daemon relays (class, risk, reasons), rules by
// class, drift ("rug pulls") and on_change, `mcpfence tools` and
// `mcpfence suggest`, with server-everything and a small SDK server whose
// tools carry each annotation (annotated-server.mjs).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { itest } from '../lib/itest.mjs';
import { sandbox } from '../lib/sandbox.mjs';
import { startEverything } from '../lib/everything.mjs';
import { startDaemon, MCPFENCE } from '../lib/daemon.mjs';
import { dumpPinnedMap } from '../lib/bpftool.mjs';
import { freePort, waitForListen } from '../lib/ports.mjs';
import { spawnAgent, policyOf, expectDenial, resultText, waitUntil, rawExchange, rawMessages, toolCall, JSON_TYPE, ACCEPT_BOTH } from '../lib/mcp.mjs';
import { scrapeMetrics, parseSamples } from '../lib/metrics.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const ANNOTATED = path.join(here, '../lib/annotated-server.mjs');

async function startAnnotated(sb) {
  const port = await freePort();
  const proc = sb.spawn(process.execPath, [ANNOTATED, '--port', String(port)]);
  await proc.waitForOutput(/annotated server listening on port/, { stream: 'stderr', timeoutMs: 20000 });
  await waitForListen('127.0.0.1', port, 5000, () => proc.running);
  return { proc, port, url: () => `http://127.0.0.1:${port}/mcp` };
}

// `mcpfence tools --json` as { server: { tool: row } }.
function toolsJson(sb, server) {
  const out = execFileSync(MCPFENCE, ['tools', '--json', '--bpffs', sb.pinDir, ...(server ? ['--server', server] : [])],
    { encoding: 'utf8' });
  const byServer = {};
  for (const row of JSON.parse(out)) (byServer[row.server] ??= {})[row.tool] = row;
  return byServer;
}

async function listTools(sb, url) {
  const agent = await spawnAgent(sb, url);
  const { tools } = await agent.must('listTools');
  await agent.close();
  return tools;
}

function changes(samples, server, kind) {
  return samples.find((s) => s.name === 'mcpfence_tool_changes_total' && s.labels.server === server && s.labels.kind === kind)?.value;
}

// What each annotated-server tool must be classed as (annotated-server.mjs).
const ANNOTATED_CLASSES = {
  read_notes: { class: 'read', risk: 'low', reasons: ['hint_read_only', 'name_read'], only: false },
  notes_digest: { class: 'read', risk: 'low', reasons: ['hint_read_only'], only: true },
  add_note: { class: 'write', risk: 'medium', reasons: ['hint_additive', 'name_write'], only: false },
  run_code: { class: 'execute', risk: 'critical', reasons: ['hint_additive', 'hint_open_world', 'name_execute', 'description_execute', 'schema_code'], only: false },
  purge_notes: { class: 'destructive', risk: 'critical', reasons: ['hint_destructive', 'hint_idempotent', 'name_destructive'], only: false },
  flip: { class: 'unknown', risk: 'medium', reasons: [], only: false },
};

itest('the inventory: class, risk and reasons of every tool two servers list, in the pinned map and `mcpfence tools`', async (t) => {
  const sb = sandbox(t, 'inv-classes');
  const everything = await startEverything(sb);
  const ann = await startAnnotated(sb);
  await startDaemon(sb, { policy: policyOf({ everything: { port: everything.port }, ann: { port: ann.port } }) });
  const everythingTools = await listTools(sb, everything.url());
  await listTools(sb, ann.url());

  const inv = toolsJson(sb);
  for (const [tool, want] of Object.entries(ANNOTATED_CLASSES)) {
    const row = inv.ann[tool];
    assert.ok(row, `ann/${tool} in the inventory: ${JSON.stringify(Object.keys(inv.ann))}`);
    assert.deepEqual({ class: row.class, risk: row.risk, reasons: row.reasons, only: row.class_from_annotations_only },
      want, tool);
    assert.equal(row.drift, null);
    assert.equal(row.changes, 0);
    assert.match(row.schema_sha256, /^[0-9a-f]{64}$/);
    assert.equal(row.decision.verdict, 'allow', JSON.stringify(row.decision));
  }
  assert.deepEqual(inv.ann.run_code.annotations, { readOnlyHint: false, destructiveHint: false, openWorldHint: true });
  // server-everything: every tool listed is recorded; its annotations say
  // what its names do not (echo), or agree with them (get-*).
  assert.deepEqual(Object.keys(inv.everything).sort(), everythingTools.map((x) => x.name ?? x).sort());
  const echo = inv.everything.echo;
  assert.deepEqual([echo.class, echo.risk, echo.reasons, echo.class_from_annotations_only],
    ['read', 'low', ['hint_read_only', 'hint_idempotent'], true]);
  const sum = inv.everything['get-sum'];
  assert.deepEqual([sum.class, sum.risk, sum.class_from_annotations_only], ['read', 'low', false]);
  assert.ok(sum.reasons.includes('name_read') && sum.reasons.includes('hint_read_only'), JSON.stringify(sum));
  const trigger = inv.everything['trigger-long-running-operation'];
  assert.equal(trigger.class, 'execute', JSON.stringify(trigger));
  // bpftool reads the same rows, enums by name.
  const dumped = dumpPinnedMap(path.join(sb.pinDir, 'tool_inventory'))
    .find((e) => e.formatted?.key.server === 'ann' && e.formatted?.key.tool === 'run_code').formatted.value;
  assert.equal(dumped.category, 'MCPF_CATEGORY_EXECUTE');
  assert.equal(dumped.risk, 'MCPF_RISK_CRITICAL');
  assert.equal(dumped.open_world, 'MCPF_HINT_TRUE');
  assert.equal(dumped.schema_sha256, inv.ann.run_code.schema_sha256);
  // The table names the class and the decision.
  const table = execFileSync(MCPFENCE, ['tools', '--bpffs', sb.pinDir, '--server', 'ann'], { encoding: 'utf8' });
  assert.match(table, /^ann\s+run_code\s+execute\s+critical\s+-\s+allow \(default\)\s+hint_additive,hint_open_world,name_execute,description_execute,schema_code$/m, table);
  assert.match(table, /^ann\s+notes_digest\s+read\s+low\s+.*\(class from annotations only\)$/m, table);
});

itest('suggest: a starter policy `policy check` accepts; running with it gives the documented decisions', async (t) => {
  const sb = sandbox(t, 'inv-suggest');
  const everything = await startEverything(sb);
  const ann = await startAnnotated(sb);
  const daemon = await startDaemon(sb, { policy: policyOf({ everything: { port: everything.port }, ann: { port: ann.port } }) });
  await listTools(sb, everything.url());
  await listTools(sb, ann.url());

  const run = spawnSync(MCPFENCE, ['suggest', '--bpffs', sb.pinDir], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const suggested = JSON.parse(run.stdout);
  const file = path.join(sb.tmp, 'suggested.json');
  fs.writeFileSync(file, run.stdout);
  const check = spawnSync(MCPFENCE, ['policy', 'check', file], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stderr);
  assert.match(run.stderr, /ann\/notes_digest is read only by its annotations/);

  const annEntry = suggested.servers.ann;
  assert.equal(annEntry.default, 'deny');
  assert.deepEqual(annEntry.endpoints.sort(), [`127.0.0.1:${ann.port}`, `[::1]:${ann.port}`].sort());
  assert.deepEqual(annEntry.tools.read_notes, {});
  assert.deepEqual(annEntry.tools.run_code, { limits: [{ counter: 'ann.run_code', window: 'minute', max: 10, scope: 'grant' }] });
  assert.equal(annEntry.tools.purge_notes.action, 'approve');
  assert.deepEqual(Object.keys(annEntry.tools).sort(), ['purge_notes', 'read_notes', 'run_code']);
  assert.deepEqual(suggested.servers.everything.tools['get-sum'], {});
  assert.equal(suggested.servers.everything.tools.echo, undefined, 'echo is read by its annotations only');
  const counters = Object.values(suggested.servers.everything.tools).flatMap((e) => (e.limits || []).map((l) => l.counter));
  assert.equal(new Set(counters).size, counters.length, 'a counter per tool');

  // Run with it (the endpoints of the suggestion are the running ones).
  await daemon.stop();
  // held for approval; this stateless server has no session to ask the client in, and no operator answers
  suggested.servers.ann.tools.purge_notes.approval = { timeout: '2s' };
  await startDaemon(sb, { policy: suggested });
  const agent = await spawnAgent(sb, ann.url());
  assert.equal(resultText(await agent.callTool('read_notes', {})), 'ran read_notes {}');
  expectDenial(assert, await agent.callTool('notes_digest', {}), { rule: 'default' });
  expectDenial(assert, await agent.callTool('add_note', { text: 'x' }), { rule: 'default' });
  expectDenial(assert, await agent.callTool('purge_notes', {}), { reason: 'no answer in 2s' });
  for (let i = 0; i < 10; i++) assert.equal(resultText(await agent.callTool('run_code', { code: `${i}` })), `ran run_code {"code":"${i}"}`);
  expectDenial(assert, await agent.callTool('run_code', { code: 'one more' }), { rule: 'tools.run_code.limits[0]', retry: true });
  await agent.close();
  const echoAgent = await spawnAgent(sb, everything.url());
  assert.equal(resultText(await echoAgent.callTool('get-sum', { a: 1, b: 2 })).includes('3'), true);
  expectDenial(assert, await echoAgent.callTool('echo', { message: 'x' }), { rule: 'default' });
  await echoAgent.close();
});

itest('a class rule applies to a tool without a rule of its own, not to one that has one; an annotation-only class cannot open a tool', async (t) => {
  const sb = sandbox(t, 'inv-class-rules');
  const ann = await startAnnotated(sb);
  const policy = policyOf({ ann: { port: ann.port, default: 'deny', tools: { run_code: {} } } });
  policy.servers.ann.classes = {
    read: {},
    write: { limits: [{ counter: 'writes', window: 'minute', max: 1 }] },
    execute: { action: 'deny', reason: 'no code here' },
    destructive: { action: 'deny', reason: 'no deletes' },
  };
  const daemon = await startDaemon(sb, { policy });
  await listTools(sb, ann.url());
  const agent = await spawnAgent(sb, ann.url());
  assert.equal(resultText(await agent.callTool('read_notes', {})), 'ran read_notes {}');
  // its own entry decides, not classes.execute
  assert.equal(resultText(await agent.callTool('run_code', { code: '1' })), 'ran run_code {"code":"1"}');
  expectDenial(assert, await agent.callTool('purge_notes', {}), { rule: 'classes.destructive.action', reason: 'no deletes' });
  assert.equal(resultText(await agent.callTool('add_note', { text: 'a' })), 'ran add_note {"text":"a"}');
  expectDenial(assert, await agent.callTool('add_note', { text: 'b' }), { rule: 'classes.write.limits[0]', retry: true });
  // read by its annotations alone: classes.read does not open it under default deny
  expectDenial(assert, await agent.callTool('notes_digest', {}), { rule: 'default' });
  expectDenial(assert, await agent.callTool('flip', {}), { rule: 'default' });
  await agent.close();
  const inv = toolsJson(sb, 'ann').ann;
  assert.deepEqual(Object.fromEntries(Object.entries(inv).map(([k, v]) => [k, `${v.decision.verdict} ${v.decision.rule}`])), {
    add_note: 'allow classes.write', flip: 'deny default', notes_digest: 'deny default', purge_notes: 'deny classes.destructive.action',
    read_notes: 'allow classes.read', run_code: 'allow tools.run_code',
  });
  // A class comes before "*"; an annotation-only class still cannot open
  // what "*" denies. (`mcpfence tools` decides with decide() itself.)
  const star = policyOf({ ann: { port: ann.port, default: 'allow', tools: { '*': { action: 'deny', reason: 'star' } } } });
  star.servers.ann.classes = { read: {} };
  fs.writeFileSync(daemon.policyFile, JSON.stringify(star));
  daemon.proc.kill('SIGHUP');
  const decided = await waitUntil(() => {
    const rows = toolsJson(sb, 'ann').ann;
    return rows.add_note.decision.rule === 'tools.*.action' && rows;
  }, 'the reloaded policy', 15000);
  assert.equal(`${decided.read_notes.decision.verdict} ${decided.read_notes.decision.rule}`, 'allow classes.read');
  assert.equal(`${decided.notes_digest.decision.verdict} ${decided.notes_digest.decision.rule}`, 'deny tools.*.action');
});

itest('drift: a changed description and a new tool are logged, counted, denied under on_change: deny until named; the inventory survives a restart', async (t) => {
  const sb = sandbox(t, 'inv-drift');
  const ann = await startAnnotated(sb);
  const policy = policyOf({ ann: { port: ann.port, default: 'allow' } });
  policy.servers.ann.on_change = 'deny';
  const daemon = await startDaemon(sb, { policy, keepMaps: true });
  await listTools(sb, ann.url());
  const first = toolsJson(sb, 'ann').ann.notes_digest;

  const agent = await spawnAgent(sb, ann.url());
  assert.equal(resultText(await agent.callTool('notes_digest', {})), 'ran notes_digest {}');
  // a tool the server never listed, on a server already inventoried
  expectDenial(assert, await agent.callTool('ghost', {}), { rule: 'on_change', reason: 'not in the inventory' });
  assert.equal(resultText(await agent.callTool('flip', {})), 'ran flip {}');
  const { tools } = await agent.must('listTools');
  assert.ok(tools.map((x) => x.name ?? x).includes('added_later'), JSON.stringify(tools));
  await daemon.waitForLine(/tool inventory: server ann changed the definition of tool notes_digest/);
  await daemon.waitForLine(/tool inventory: server ann lists a new tool added_later \(read, risk low\)/);
  const samples = parseSamples(await scrapeMetrics(daemon));
  assert.equal(changes(samples, 'ann', 'changed'), 1);
  assert.equal(changes(samples, 'ann', 'added'), 1);
  expectDenial(assert, await agent.callTool('notes_digest', {}), { rule: 'on_change', reason: 'changed its definition' });
  expectDenial(assert, await agent.callTool('added_later', {}), { rule: 'on_change', reason: 'appeared' });
  assert.equal(resultText(await agent.callTool('read_notes', {})), 'ran read_notes {}');
  await agent.close();
  const changed = toolsJson(sb, 'ann').ann.notes_digest;
  assert.equal(changed.drift, 'changed');
  assert.equal(changed.changes, 1);
  assert.notEqual(changed.description_sha256, first.description_sha256);
  assert.equal(changed.schema_sha256, first.schema_sha256);
  assert.equal(changed.first_seen, first.first_seen);
  assert.equal(changed.decision.rule, 'on_change');

  // A restart keeps the inventory and its holds.
  await daemon.stop();
  const named = structuredClone(policy);
  named.servers.ann.tools = { notes_digest: {} };
  const after = await startDaemon(sb, { policy });
  assert.deepEqual(toolsJson(sb, 'ann').ann.notes_digest, changed);
  const again = await spawnAgent(sb, ann.url());
  expectDenial(assert, await again.callTool('notes_digest', {}), { rule: 'on_change' });
  // the counts survive too
  assert.equal(changes(parseSamples(await scrapeMetrics(after)), 'ann', 'changed'), 1);
  // Naming the tool in the policy lets it through again.
  fs.writeFileSync(after.policyFile, JSON.stringify(named));
  after.proc.kill('SIGHUP');
  await waitUntil(async () => !(await again.callTool('notes_digest', {})).isError, 'the policy naming notes_digest', 15000);
  expectDenial(assert, await again.callTool('added_later', {}), { rule: 'on_change' });
  await again.close();
});

// A plain JSON-RPC server in the test process: tools/list lists frob and
// secret; its tool "reflect" answers with whatever the agent sent as
// arguments spread into the result (as a proxying tool could); everything
// else gets an empty result. Returns its port and the listed array (tests
// change it).
async function startReflector(t) {
  const LISTED = [{ name: 'frob', description: 'real', inputSchema: { type: 'object' } },
    { name: 'secret', description: 'hidden by policy', inputSchema: { type: 'object' } }];
  const answer = (m) => ({ jsonrpc: '2.0', id: m.id,
    result: m.method === 'tools/list' ? { tools: LISTED } : m.method === 'tools/call' ? { content: [], ...m.params.arguments } : {} });
  const server = http.createServer((req, res) => {
    const parts = [];
    req.on('data', (d) => parts.push(d));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(parts).toString('utf8'));
      const out = JSON.stringify(Array.isArray(body) ? body.filter((m) => m.id !== undefined).map(answer) : answer(body));
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(out) });
      res.end(out);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => { server.closeAllConnections(); server.close(); });
  return { port: server.address().port, listed: LISTED };
}

itest('only the answer to a tools/list counts: a request reusing its id cannot feed the inventory or unfilter the list', async (t) => {
  const sb = sandbox(t, 'inv-ids');
  const { port } = await startReflector(t);
  const daemon = await startDaemon(sb, { policy: policyOf({ refl: { port, hide: ['secret'] } }) });
  const post = (body) => ({ method: 'POST', path: '/mcp', headers: [JSON_TYPE, ACCEPT_BOTH], body: JSON.stringify(body) });
  const list = (id) => ({ jsonrpc: '2.0', id, method: 'tools/list' });
  const first = await rawExchange(sb, port, [post(list(1))]);
  assert.deepEqual(rawMessages(first.responses[0])[0].result.tools.map((x) => x.name), ['frob']);
  const before = toolsJson(sb, 'refl').refl;
  assert.deepEqual(Object.keys(before), ['frob', 'secret']);

  // The reflected answer comes first with the id the tools/list uses.
  const forged = { tools: [{ name: 'frob', description: 'forged by the agent' }, { name: 'planted', description: 'x' }] };
  const out = await rawExchange(sb, port, [post([toolCall(7, 'reflect', forged), list(7)])]);
  const answers = rawMessages(out.responses[0]);
  // whatever was answered, the hidden tool was not shown
  for (const a of answers) for (const x of a.result?.tools || []) assert.notEqual(x.name, 'secret', JSON.stringify(answers));
  assert.ok(answers.some((a) => a.id === 7 && (a.error || a.result?.isError)), `the reused id is refused: ${JSON.stringify(answers)}`);
  // a lifecycle request (forwarded undecided) earlier in the batch too
  const ping = await rawExchange(sb, port, [post([{ jsonrpc: '2.0', id: 9, method: 'ping' }, list(9)])]);
  const pinged = rawMessages(ping.responses[0]);
  for (const a of pinged) for (const x of a.result?.tools || []) assert.notEqual(x.name, 'secret', JSON.stringify(pinged));
  assert.ok(pinged.some((a) => a.id === 9 && a.error), JSON.stringify(pinged));
  const after = toolsJson(sb, 'refl').refl;
  assert.deepEqual(Object.keys(after), ['frob', 'secret']);
  assert.equal(after.frob.description_sha256, before.frob.description_sha256);
  assert.equal(changes(parseSamples(await scrapeMetrics(daemon)), 'refl', 'changed'), 0);
});

itest('names a server lists reach the log without terminal controls (C0, DEL, C1)', async (t) => {
  const sb = sandbox(t, 'inv-log-names');
  const { port, listed } = await startReflector(t);
  const daemon = await startDaemon(sb, { policy: policyOf({ refl: { port } }) });
  const post = { method: 'POST', path: '/mcp', headers: [JSON_TYPE, ACCEPT_BOTH], body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) };
  await rawExchange(sb, port, [post]);
  listed.push({ name: 'x\u009b31m\u001b[2J\u007fé', description: 'new' });
  await rawExchange(sb, port, [post]);
  const line = await daemon.waitForLine(/lists a new tool x/);
  assert.ok(line.includes('lists a new tool x?31m?[2J?é ('), JSON.stringify(line));
});
