// Issue 11, "approve", asked the 2026-07-28 (stateless) way: Multi
// Round-Trip Requests (SEP-2322). The daemon answers the call itself with
// input_required (an elicitation/create under its own key and a MACed
// requestState); the client's retry (a new request) is verified and its
// answer judged; the approved call goes to the real recording server
// without the daemon's key and state. The installed SDK does not speak
// this revision: tests/lib/mrtr-client.mjs does, from inside the agent
// cgroup, one process per agent.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { itest } from '../lib/itest.mjs';
import { sandbox } from '../lib/sandbox.mjs';
import { startDaemon, MCPFENCE } from '../lib/daemon.mjs';
import { startRecorder, expectDenial, resultText, policyOf, waitUntil } from '../lib/mcp.mjs';
import { scrapeMetrics, parseSamples } from '../lib/metrics.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const CLIENT = path.join(here, '../lib/mrtr-client.mjs');
const KEY = 'mcpfence-approval';
let scripts = 0;

const meta = (caps = { elicitation: {} }) => ({
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'mrtr-client', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': caps,
});
const call = (id, name, args, extra = {}) => ({ jsonrpc: '2.0', id, method: 'tools/call',
  params: { name, arguments: args, _meta: meta(), ...extra } });
const answer = (action, approve) => ({ action, ...(action === 'accept' ? { content: { approve } } : {}) });
const retry = (id, name, args, reply, extra = {}) => call(id, name, args,
  { inputResponses: { [KEY]: reply }, requestState: '{{requestState}}', ...extra });

async function client(sb, rec, steps) {
  const file = path.join(sb.tmp, `mrtr-script-${++scripts}.json`);
  fs.writeFileSync(file, JSON.stringify(steps));
  const res = await sb.runInCgroup(process.execPath, [CLIENT, '--url', rec.url('/mcp/stateless'), '--script-file', file],
    { timeoutMs: 30000 });
  const out = JSON.parse(res.stdout.trim().split('\n').pop());
  assert.equal(out.ok, true, `${out.error} ${res.stderr}`);
  return out.responses;
}

function expectAsked(res) {
  const r = res.message?.result;
  assert.equal(r?.resultType, 'input_required', JSON.stringify(res));
  assert.deepEqual(Object.keys(r.inputRequests), [KEY]);
  assert.equal(r.inputRequests[KEY].method, 'elicitation/create');
  assert.match(r.inputRequests[KEY].params.message, /tool "execute" on server "rec"/);
  assert.equal(r.inputRequests[KEY].params.requestedSchema.properties.approve.type, 'boolean');
  assert.match(r.requestState, /^mcpf1\.[0-9a-f]{32}\.\d+\.[0-9a-f]{32}(\.\{.*\})?$/);
  return r;
}

function neverSawDaemon(rec) {
  assert.deepEqual(rec.requestsMentioning(KEY), [], 'the daemon\'s inputResponses key reached the server');
  assert.deepEqual(rec.requestsMentioning('mcpf1.'), [], 'the daemon\'s requestState reached the server');
}

const approvePolicy = (port, approval) => policyOf({ rec: { port, tools: { execute: { action: 'approve', approval } } } });

async function setup(t, name, approval, args = []) {
  const sb = sandbox(t, name);
  const rec = await startRecorder(sb, { tools: ['echo', 'execute'], jsonResponse: true });
  const daemon = await startDaemon(sb, { policy: approvePolicy(rec.port, approval),
    args: ['--audit', path.join(sb.tmp, 'audit.jsonl'), ...args] });
  return { sb, rec, daemon };
}

// Rewrite the policy, SIGHUP, and wait until the daemon counts the reload.
async function reload(daemon, policy) {
  const okReloads = async () => parseSamples(await scrapeMetrics(daemon))
    .find((s) => s.name === 'mcpfence_policy_reloads_total' && s.labels.result === 'ok')?.value ?? 0;
  const before = await okReloads();
  fs.writeFileSync(daemon.policyFile, JSON.stringify(policy, null, 2));
  daemon.proc.kill('SIGHUP');
  await waitUntil(async () => (await okReloads()) > before, `a policy reload\n${daemon.log}`);
}

// The audit line of the decided execute call (the input_required answer is none).
async function audited(sb) {
  return waitUntil(() => {
    const file = path.join(sb.tmp, 'audit.jsonl');
    const lines = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
    const exec = lines.filter((l) => l.tool === 'execute');
    return exec.length && exec;
  }, 'the audit line of the execute call');
}

itest('2026-07-28 MRTR, the user accepts: the call runs once; the server never saw the first attempt, the daemon\'s key or state; its own keys pass', async (t) => {
  const { sb, rec } = await setup(t, 'mrtr-accept', { timeout: '20s', via: ['elicitation'] });
  const args = { command: 'ls', marker: 'mrtr-accept-marker' };
  const [asked, ran, after] = await client(sb, rec, [call(1, 'execute', args),
    retry(2, 'execute', args, answer('accept', true), { inputResponses: { [KEY]: answer('accept', true), theirs: { action: 'accept', content: { x: 1 } } } }),
    call(3, 'echo', { message: 'after' })]);
  const r = expectAsked(asked);
  assert.match(r.requestState, /^mcpf1\.[0-9a-f]{32}\.\d+\.[0-9a-f]{32}$/, 'no server round to carry');
  assert.match(r.inputRequests[KEY].params.message, /"command":"ls"/);
  assert.equal(asked.message.id, 1);
  assert.equal(ran.message.id, 2);
  assert.equal(resultText(ran.message.result), 'ran execute {"command":"ls","marker":"mrtr-accept-marker"}', JSON.stringify(ran));
  assert.equal(rec.calls().filter((c) => c.tool === 'execute').length, 1, 'ran once');
  const seen = rec.requestsMentioning('mrtr-accept-marker');
  assert.equal(seen.length, 1, 'only the approved retry reached the server');
  const forwarded = JSON.parse(seen[0].body);
  assert.equal(forwarded.id, 2);
  assert.deepEqual(forwarded.params.inputResponses, { theirs: { action: 'accept', content: { x: 1 } } });
  assert.equal(forwarded.params.requestState, undefined);
  assert.equal(Number(seen[0].headers[seen[0].headers.findIndex((h) => /^content-length$/i.test(h)) + 1]), Buffer.byteLength(seen[0].body));
  neverSawDaemon(rec);
  assert.equal(resultText(after.message.result), 'ran echo {"message":"after"}');
  const [line, ...others] = await audited(sb);
  assert.deepEqual(others, [], 'one decision for the call');
  assert.equal(line.decision, 'approved');
  assert.equal(line.approved_by, 'elicitation');
  assert.match(line.args_hash, /^[0-9a-f]{16}$/);
});

itest('2026-07-28 MRTR, the user declines: isError "declined by user", the server never saw the call', async (t) => {
  const { sb, rec } = await setup(t, 'mrtr-decline', { timeout: '20s' });
  const args = { marker: 'mrtr-decline-marker' };
  const [asked, denied, cancelled] = await client(sb, rec, [call(1, 'execute', args),
    retry(2, 'execute', args, answer('decline')), call(3, 'execute', args)]);
  expectAsked(asked);
  expectDenial(assert, denied.message.result, { rule: 'tools.execute.action', reason: 'declined by user' });
  expectAsked(cancelled);  // a new call is asked again
  assert.deepEqual(rec.requestsMentioning('mrtr-decline-marker'), []);
  neverSawDaemon(rec);
  const [line] = await audited(sb);
  assert.equal(line.decision, 'declined');
  assert.equal(line.approved_by, 'elicitation');
});

itest('2026-07-28 MRTR: a retry with other arguments, a tampered or another agent\'s requestState is refused and never forwarded; the genuine one still works once', async (t) => {
  const { sb, rec } = await setup(t, 'mrtr-refuse', { timeout: '20s' });
  const args = { marker: 'mrtr-refuse-marker' };
  const [asked, otherArgs, tampered, replay0, ran, replay] = await client(sb, rec, [call(1, 'execute', args),
    retry(2, 'execute', { marker: 'mrtr-refuse-marker', more: 1 }, answer('accept', true)),
    call(3, 'execute', args, { inputResponses: { [KEY]: answer('accept', true) }, requestState: '{{requestState}}0' }),
    retry(4, 'echo', args, answer('accept', true)),
    retry(5, 'execute', args, answer('accept', true)),
    retry(6, 'execute', args, answer('accept', true))]);
  const r = expectAsked(asked);
  for (const res of [otherArgs, tampered])
    expectDenial(assert, res.message.result, { reason: 'requestState was not issued by this mcpfence for this call' });
  // echo needs no approval: a retry naming it carries the daemon's state for another tool
  expectDenial(assert, replay0.message.result, { reason: 'requestState was not issued by this mcpfence for this call' });
  assert.equal(resultText(ran.message.result), 'ran execute {"marker":"mrtr-refuse-marker"}', JSON.stringify(ran));
  expectDenial(assert, replay.message.result, { reason: 'already used' });
  assert.equal(rec.requestsMentioning('mrtr-refuse-marker').length, 1);
  neverSawDaemon(rec);

  // the same state from another process of the agent (another identity): refused
  const again = await client(sb, rec, [call(1, 'execute', args)]);
  const [stolen] = await client(sb, rec, [call(2, 'execute', args,
    { inputResponses: { [KEY]: answer('accept', true) }, requestState: expectAsked(again[0]).requestState })]);
  expectDenial(assert, stolen.message.result, { reason: 'requestState was not issued by this mcpfence for this call' });
  assert.notEqual(r.requestState, again[0].message.result.requestState);
  assert.equal(rec.requestsMentioning('mrtr-refuse-marker').length, 1);
});

itest('2026-07-28 MRTR: a retry after the approval timeout is denied "no answer in 1s", never forwarded', async (t) => {
  const { sb, rec } = await setup(t, 'mrtr-expired', { timeout: '1s' });
  const args = { marker: 'mrtr-expired-marker' };
  const [asked, late] = await client(sb, rec, [call(1, 'execute', args), { sleepMs: 2500 },
    retry(2, 'execute', args, answer('accept', true))]);
  expectAsked(asked);
  expectDenial(assert, late.message.result, { reason: 'no answer in 1s' });
  assert.deepEqual(rec.requestsMentioning('mrtr-expired-marker'), []);
});

itest('2026-07-28 without elicitation in _meta: the operator path (held, approvals lists it, approve runs it)', async (t) => {
  const { sb, rec, daemon } = await setup(t, 'mrtr-operator', { timeout: '20s' });
  const args = { marker: 'mrtr-operator-marker' };
  const running = client(sb, rec, [call(1, 'execute', args, { _meta: meta({}) })]);
  const held = await waitUntil(async () => {
    const out = await sb.runOutside(MCPFENCE, ['approvals', '--json', '--control', daemon.controlPath]);
    const p = JSON.parse(out.stdout).pending;
    return p.length === 1 && p;
  }, 'the call held for an operator', 20000);
  assert.equal(held[0].tool, 'execute');
  assert.deepEqual(rec.requestsMentioning('mrtr-operator-marker'), []);
  assert.equal((await sb.runOutside(MCPFENCE, ['approve', held[0].id, '--control', daemon.controlPath])).code, 0);
  const [ran] = await running;
  assert.equal(resultText(ran.message.result), 'ran execute {"marker":"mrtr-operator-marker"}', JSON.stringify(ran));
  assert.equal(rec.calls().filter((c) => c.tool === 'execute').length, 1);
});

itest('2026-07-28 MRTR with the server\'s own round in the call: approvals lists the asked call, an operator may decide it; the server gets its requestState and answers back', async (t) => {
  const { sb, rec, daemon } = await setup(t, 'mrtr-both', { timeout: '20s' });
  const args = { marker: 'mrtr-both-marker' };
  const theirs = { inputResponses: { confirm: { action: 'accept', content: { ok: true } } }, requestState: 'server-state-1' };
  const go = path.join(sb.tmp, 'mrtr-both-go');
  const script = path.join(sb.tmp, 'mrtr-both.json');
  fs.writeFileSync(script, JSON.stringify([call(1, 'execute', args, theirs), { waitFile: go },
    retry(2, 'execute', args, answer('accept', true))]));
  const agent = sb.spawn(process.execPath, [CLIENT, '--url', rec.url('/mcp/stateless'), '--script-file', script], { cgroup: true });
  await agent.waitForOutput(/"response"/, { timeoutMs: 20000 });
  const r = expectAsked(JSON.parse(agent.stdout.split('\n')[0]).response);
  assert.deepEqual(JSON.parse(r.requestState.split('.').slice(4).join('.')), theirs, 'the server\'s round, carried');
  const out = await sb.runOutside(MCPFENCE, ['approvals', '--json', '--control', daemon.controlPath]);
  const [pending] = JSON.parse(out.stdout).pending;
  assert.equal(pending.tool, 'execute');
  assert.equal(r.requestState.slice(6, 38), pending.id, 'the state names the pending approval');
  assert.equal((await sb.runOutside(MCPFENCE, ['approve', pending.id, '--control', daemon.controlPath])).code, 0);
  fs.writeFileSync(go, '');
  await agent.waitForOutput(/"ok":true/, { timeoutMs: 20000 });
  const [, ran] = JSON.parse(agent.stdout.trim().split('\n').pop()).responses;
  assert.equal(resultText(ran.message.result), 'ran execute {"marker":"mrtr-both-marker"}', JSON.stringify(ran));
  const [seen, ...more] = rec.requestsMentioning('mrtr-both-marker');
  assert.deepEqual(more, []);
  const params = JSON.parse(seen.body).params;
  assert.deepEqual(params.inputResponses, theirs.inputResponses);
  assert.equal(params.requestState, 'server-state-1');
  neverSawDaemon(rec);
});

itest('2026-07-28 MRTR and batches: a call needing approval in a batch is denied; a retry in a batch is refused, never forwarded', async (t) => {
  const { sb, rec } = await setup(t, 'mrtr-batch', { timeout: '20s' });
  const args = { marker: 'mrtr-batch-marker' };
  const [inBatch, asked, retried] = await client(sb, rec, [
    [call(1, 'execute', args), call(2, 'echo', { message: 'b' })],
    call(3, 'execute', args),
    [retry(4, 'execute', args, answer('accept', true)), call(5, 'echo', { message: 'c' })]]);
  const byId = (res, id) => JSON.parse(res.body).find((m) => m.id === id);
  expectDenial(assert, byId(inBatch, 1).result, { reason: 'must be sent alone, not in a batch' });
  assert.equal(resultText(byId(inBatch, 2).result), 'ran echo {"message":"b"}');
  expectAsked(asked);
  expectDenial(assert, byId(retried, 4).result, { reason: 'an answer to an mcpfence approval must be sent alone' });
  assert.equal(resultText(byId(retried, 5).result), 'ran echo {"message":"c"}');
  assert.deepEqual(rec.requestsMentioning('mrtr-batch-marker'), []);
  neverSawDaemon(rec);
});

// The rule that governs the call when the answer comes decides whether the
// client may give it: a reload to operator-only between the ask and the
// retry leaves the client's yes untaken (the call stays pending); an
// operator's approve, where the asked call allows one, still counts.
for (const [label, asked] of [['elicitation', ['elicitation']], ['both', ['elicitation', 'operator']]]) {
  itest(`2026-07-28 MRTR, via ${JSON.stringify(asked)} reloaded to ["operator"] before the retry: the client's accept does not run the call`, async (t) => {
    const { sb, rec, daemon } = await setup(t, `mrtr-via-${label}`, { timeout: '60s', via: asked },
      ['--agent-identity', 'cgroup']);
    const args = { marker: `mrtr-via-${label}-marker` };
    const [go, again] = [path.join(sb.tmp, 'go'), path.join(sb.tmp, 'again')];
    const script = path.join(sb.tmp, 'mrtr-via.json');
    fs.writeFileSync(script, JSON.stringify([call(1, 'execute', args), { waitFile: go },
      retry(2, 'execute', args, answer('accept', true)), { waitFile: again },
      retry(3, 'execute', args, answer('accept', true))]));
    const agent = sb.spawn(process.execPath, [CLIENT, '--url', rec.url('/mcp/stateless'), '--script-file', script], { cgroup: true });
    await agent.waitForOutput(/"response"/, { timeoutMs: 20000 });
    expectAsked(JSON.parse(agent.stdout.split('\n')[0]).response);
    await reload(daemon, approvePolicy(rec.port, { timeout: '60s', via: ['operator'] }));
    fs.writeFileSync(go, '');
    await waitUntil(() => agent.stdout.split('\n').filter((l) => l.startsWith('{"response"')).length === 2,
      'the answer to the retry', 20000);
    const refused = JSON.parse(agent.stdout.split('\n')[1]).response;
    expectDenial(assert, refused.message.result, { reason: 'the policy now lets only an operator approve this call' });
    assert.deepEqual(rec.requestsMentioning(args.marker), [], 'the client approved its own call after the reload');
    const out = await sb.runOutside(MCPFENCE, ['approvals', '--json', '--control', daemon.controlPath]);
    const [pending, ...more] = JSON.parse(out.stdout).pending;
    assert.deepEqual(more, []);
    assert.equal(pending?.tool, 'execute', 'the call stays pending');
    if (asked.includes('operator'))
      assert.equal((await sb.runOutside(MCPFENCE, ['approve', pending.id, '--control', daemon.controlPath])).code, 0);
    fs.writeFileSync(again, '');
    await agent.waitForOutput(/"ok":true/, { timeoutMs: 20000 });
    const [, , last] = JSON.parse(agent.stdout.trim().split('\n').pop()).responses;
    if (asked.includes('operator')) {
      assert.equal(resultText(last.message.result), `ran execute {"marker":"${args.marker}"}`, JSON.stringify(last));
    } else {
      expectDenial(assert, last.message.result, { reason: 'the policy now lets only an operator approve this call' });
      assert.deepEqual(rec.requestsMentioning(args.marker), []);
    }
    neverSawDaemon(rec);
  });
}
