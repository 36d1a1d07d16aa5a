// Restarts with no fail-open window: a rolling update
// (the new daemon takes the old one's listeners over --state-dir, adopts
// its pinned links, the old one drains), SIGTERM of a --fail-closed daemon
// with nobody to take over (programs stay, connections are refused), a
// kill -9 and a supervisor's restart (adopted in well under a second), and
// the drain of a call in flight.
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { itest } from '../lib/itest.mjs';
import { sandbox } from '../lib/sandbox.mjs';
import { startDaemon, MCPFENCE } from '../lib/daemon.mjs';
import { listPins } from '../lib/bpffs.mjs';
import { dumpPinnedMap, linksAlive } from '../lib/bpftool.mjs';
import { startRecorder, policyOf, rawExchange, rawMessages, resultText, expectDenial, spawnAgent, JSON_TYPE, ACCEPT_BOTH } from '../lib/mcp.mjs';
import { transfer } from '../lib/agents.mjs';
import { execFileSync } from 'node:child_process';

const here = path.dirname(fileURLToPath(import.meta.url));
const CALL_LOOP = path.join(here, '../lib/call-loop.mjs');
const REASON = 'not on this node';

// echo is named so that it keeps a tool_stats row of its own (tools neither
// named nor listed by the server share the "(other)" row).
const POLICY_TOOLS = {
  echo: { action: 'allow' },
  execute: { action: 'deny', reason: REASON },
  limited: { limits: [{ counter: 'limited_global', window: 'hour', max: 3, scope: 'global' }] },
};

// The pinned links: { name: { id, prog_id } }, from bpftool.
function pinnedLinks(pinDir) {
  const links = {};
  for (const name of listPins(pinDir).filter((p) => p.startsWith('links/'))) {
    const info = JSON.parse(execFileSync('bpftool', ['-j', 'link', 'show', 'pinned', path.join(pinDir, name)], { encoding: 'utf8' }));
    links[name] = { id: info.id, prog_id: info.prog_id };
  }
  return links;
}

// tools/call counters of one (server, tool) in the pinned tool_stats map.
function toolStats(pinDir, server, tool) {
  const entry = dumpPinnedMap(path.join(pinDir, 'tool_stats'))
    .find((e) => e.formatted?.key.server === server && e.formatted?.key.tool === tool);
  return entry ? entry.formatted.value : { calls: 0, allowed: 0, denied: 0, rate_limited: 0 };
}

// One stateless tools/call of `tool` from the agent cgroup.
async function statelessCall(sb, port, tool, m) {
  const b64 = (text) => `=?base64?${Buffer.from(text).toString('base64')}?=`;
  const out = await rawExchange(sb, port, [{ method: 'POST', path: '/mcp/stateless',
    headers: [JSON_TYPE, ACCEPT_BOTH, ['MCP-Protocol-Version', '2025-11-25'], ['Mcp-Method', 'tools/call'], ['Mcp-Name', b64(tool)]],
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: tool, arguments: { m } } }) }]);
  assert.equal(out.ok, true, out.error);
  return rawMessages(out.responses[0])[0].result;
}

function startCallLoop(sb, port) {
  return sb.spawn(process.execPath, [CALL_LOOP, '--port', String(port), '--allowed', 'echo', '--denied', 'execute'], { cgroup: true });
}

async function waitForRounds(loop, rounds) {
  const seen = () => Math.max(0, ...[...loop.stdout.matchAll(/"progress":(\d+)/g)].map((m) => Number(m[1])));
  const target = seen() + rounds;
  await loop.waitForOutput(new RegExp(`"progress":${target}\\b`), { timeoutMs: 60000 });
}

async function stopCallLoop(loop) {
  await loop.stop('SIGTERM', 30000);
  const line = loop.stdout.trim().split('\n').pop();
  return JSON.parse(line);
}

for (const failClosed of [true, false]) {
itest(`rolling update under load (${failClosed ? '--fail-closed' : 'fail-open'}): listeners handed over, nothing denied runs, nothing allowed fails, counters and windows go on`, async (t) => {
  const sb = sandbox(t, `rollout-${failClosed}`);
  const rec = await startRecorder(sb, { tools: ['echo', 'execute', 'limited'], jsonResponse: true });
  const policy = policyOf({ rec: { port: rec.port, tools: POLICY_TOOLS } });
  const old = await startDaemon(sb, { policy, failClosed, args: ['--drain-timeout', '10'] });
  const linksBefore = pinnedLinks(sb.pinDir);
  assert.ok(Object.keys(linksBefore).length >= 5, JSON.stringify(linksBefore));

  // Two of the three calls the global window allows, before the switch.
  for (const m of ['lim-1', 'lim-2']) assert.equal(resultText(await statelessCall(sb, rec.port, 'limited', m)), `ran limited {"m":"${m}"}`);

  const loop = startCallLoop(sb, rec.port);
  await waitForRounds(loop, 20);
  // The new daemon starts while the old one serves, on the same ports and
  // pin dir (maxSurge 1, maxUnavailable 0); the old one then gets SIGTERM.
  const started = Date.now();
  const successor = await startDaemon(sb, { policy, failClosed, listenPort: old.listenPort, metricsPort: old.metricsPort });
  const handoverMs = Date.now() - started;
  await old.waitForLine(/handover: the new daemon serves; draining/);
  const status = await old.stop('SIGTERM', 15000);
  assert.deepEqual(status, { code: 0, signal: null }, old.log);
  assert.match(successor.log, /handover: received 3 listener\(s\)/);
  assert.match(successor.log, /serving \d+ ms after exec \(adopted the pinned programs\)/);
  t.diagnostic(`rollout: new daemon serving ${handoverMs} ms after spawn`);

  // The successor serves the loop's connections, on the old listeners.
  const interceptedBefore = successor.interceptions().length;
  await waitForRounds(loop, 20);
  assert.ok(successor.interceptions().length > interceptedBefore, successor.log);
  const summary = await stopCallLoop(loop);
  assert.deepEqual(summary.allowed.failed, [], JSON.stringify(summary));
  assert.equal(summary.allowed.connectRefused, 0, JSON.stringify(summary));
  assert.deepEqual(summary.denied.passed, [], JSON.stringify(summary));
  assert.deepEqual(summary.denied.failed, [], JSON.stringify(summary));
  assert.equal(summary.denied.connectRefused, 0, JSON.stringify(summary));
  assert.ok(summary.allowed.ok >= 40 && summary.denied.refused >= 40, JSON.stringify(summary));
  // From the server's side: no denied call ever reached it; every allowed one did.
  assert.deepEqual(rec.calls().filter((c) => c.tool === 'execute'), []);
  assert.deepEqual(rec.requestsMentioning('denied-'), []);
  assert.equal(rec.calls().filter((c) => c.tool === 'echo').length, summary.allowed.ok);

  // Same cgroup links (never unpinned, never empty), the successor's
  // programs in them; cgroup_mkdir's link replaced by the successor's (a
  // tracing link takes no other program), the old one detached.
  const linksAfter = pinnedLinks(sb.pinDir);
  assert.deepEqual(Object.keys(linksAfter).sort(), Object.keys(linksBefore).sort());
  for (const [name, link] of Object.entries(linksAfter)) {
    if (name === 'links/cgroup_mkdir') assert.notEqual(link.id, linksBefore[name].id, `${name} is the successor's link`);
    else assert.equal(link.id, linksBefore[name].id, `${name} is the same link`);
    assert.notEqual(link.prog_id, linksBefore[name].prog_id, `${name} runs the new daemon's program`);
  }
  assert.equal(linksAlive(Object.values(linksAfter)).length, 7, 'one set of programs, all attached');
  assert.deepEqual(linksAlive([linksBefore['links/cgroup_mkdir']]), [], 'the old cgroup_mkdir link is detached');

  // Counters went on across both daemons; the global window too: one of
  // its three calls is left, then the limit answers.
  const echo = toolStats(sb.pinDir, 'rec', 'echo');
  const execute = toolStats(sb.pinDir, 'rec', 'execute');
  assert.equal(echo.allowed, summary.allowed.ok, JSON.stringify(echo));
  assert.equal(execute.denied, summary.denied.refused, JSON.stringify(execute));
  assert.equal(resultText(await statelessCall(sb, rec.port, 'limited', 'lim-3')), 'ran limited {"m":"lim-3"}');
  expectDenial(assert, await statelessCall(sb, rec.port, 'limited', 'lim-4'), { rule: 'tools.limited.limits[0]', retry: true });
  assert.equal(toolStats(sb.pinDir, 'rec', 'limited').allowed, 3);
  // The successor answers /metrics and /healthz on the same port.
  assert.equal((await successor.healthz()).status, 200);
});
}

itest('SIGTERM of a --fail-closed daemon with no successor: programs stay, registered endpoints refused, a new daemon serves', async (t) => {
  const sb = sandbox(t, 'sigterm-closed');
  const rec = await startRecorder(sb, { tools: ['echo'], jsonResponse: true });
  const policy = policyOf({ rec: { port: rec.port, tools: { echo: { action: 'allow' } } } });
  const old = await startDaemon(sb, { policy, failClosed: true });
  assert.equal(resultText(await statelessCall(sb, rec.port, 'echo', 'before')), 'ran echo {"m":"before"}');
  const linksBefore = pinnedLinks(sb.pinDir);
  const statsBefore = toolStats(sb.pinDir, 'rec', 'echo');

  const status = await old.stop('SIGTERM');
  assert.deepEqual(status, { code: 0, signal: null }, old.log);
  assert.deepEqual(pinnedLinks(sb.pinDir), linksBefore);
  // cgroup_mkdir too: it follows a --cgroup made again while no daemon runs
  assert.equal(linksAlive(Object.values(linksBefore)).length, 7, 'the programs stay attached');
  for (const name of ['targets', 'settings', 'conns', 'tool_stats', 'rate_state']) assert.ok(listPins(sb.pinDir).includes(name), name);

  // Refused at connect, not passed to the server.
  const refused = await transfer(sb, { port: rec.port, mode: 'echo', bytes: 100 });
  assert.equal(refused.ok, false, JSON.stringify(refused));
  assert.match(refused.error, /^connect EPERM/, JSON.stringify(refused));
  assert.deepEqual(rec.requestsMentioning('after'), []);

  const next = await startDaemon(sb, { policy, failClosed: true });
  assert.match(next.log, /adopted the pinned programs/);
  assert.equal(resultText(await statelessCall(sb, rec.port, 'echo', 'after')), 'ran echo {"m":"after"}');
  assert.equal(toolStats(sb.pinDir, 'rec', 'echo').allowed, statsBefore.allowed + 1);
  assert.deepEqual(Object.keys(pinnedLinks(sb.pinDir)), Object.keys(linksBefore));
});

itest('kill -9, then a supervisor restart (--fail-closed): adopted in well under a second, nothing passes unenforced', async (t) => {
  const sb = sandbox(t, 'kill9');
  const rec = await startRecorder(sb, { tools: ['echo', 'execute'], jsonResponse: true });
  const policy = policyOf({ rec: { port: rec.port, tools: POLICY_TOOLS } });
  const old = await startDaemon(sb, { policy, failClosed: true });
  const loop = startCallLoop(sb, rec.port);
  await waitForRounds(loop, 10);

  await old.kill9();
  const killed = Date.now();
  // The supervisor's restart: the same command line (a killed daemon's
  // handover socket file stays behind and is found dead).
  const next = await startDaemon(sb, { policy, failClosed: true, listenPort: old.listenPort, metricsPort: old.metricsPort });
  const downMs = Date.now() - killed;
  const selfMs = Number(next.log.match(/serving (\d+) ms after exec \(adopted the pinned programs\)/)?.[1]);
  t.diagnostic(`kill -9 -> serving: ${downMs} ms (spawn included); exec -> serving (daemon's own count): ${selfMs} ms`);
  assert.ok(selfMs < 1000, next.log);
  assert.ok(downMs < 5000, `restart took ${downMs} ms`);

  await next.waitForInterceptions({ pid: loop.pid }, 20, 30000);
  const summary = await stopCallLoop(loop);
  // While no daemon ran, connections were refused; nothing went around it.
  assert.deepEqual(summary.denied.passed, [], JSON.stringify(summary));
  assert.deepEqual(rec.calls().filter((c) => c.tool === 'execute'), []);
  assert.deepEqual(rec.requestsMentioning('denied-'), []);
  // The call in flight at the kill may have run and lost its answer; no other broke.
  assert.ok(summary.allowed.failed.length <= 1, JSON.stringify(summary));
  const echoes = rec.calls().filter((c) => c.tool === 'echo').length;
  assert.ok(echoes >= summary.allowed.ok && echoes <= summary.allowed.ok + summary.allowed.failed.length, `${echoes} ${JSON.stringify(summary)}`);
  assert.ok(summary.allowed.ok >= 15, JSON.stringify(summary));
  t.diagnostic(`kill -9 window: ${summary.allowed.connectRefused + summary.denied.connectRefused} connection(s) refused at connect`);
});

itest('drain: a call in flight at SIGTERM finishes; idle connections do not hold the daemon; a new daemon serves meanwhile; the old one exits after the call', async (t) => {
  const sb = sandbox(t, 'drain');
  const rec = await startRecorder(sb, { tools: ['echo'] });
  const daemon = await startDaemon(sb, { policy: policyOf({ rec: { port: rec.port } }), failClosed: true, args: ['--drain-timeout', '20'] });
  // An SDK agent between calls: a keep-alive connection and a GET stream, both idle.
  const idle = await spawnAgent(sb, rec.url());
  assert.equal(resultText(await idle.callTool('echo', { m: 'idle' })), 'ran echo {"m":"idle"}');
  // One stateless call that holds its answer 2 s (a progress event first).
  const slow = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { holdMs: 2000, m: 'slow' }, _meta: { progressToken: 'p1' } } };
  const pending = rawExchange(sb, rec.port, [{ method: 'POST', path: '/mcp/stateless',
    headers: [JSON_TYPE, ACCEPT_BOTH, ['MCP-Protocol-Version', '2025-11-25'], ['Mcp-Method', 'tools/call'], ['Mcp-Name', `=?base64?${Buffer.from('echo').toString('base64')}?=`]],
    body: JSON.stringify(slow) }]);
  for (let i = 0; i < 400 && !rec.calls().some((c) => c.arguments.m === 'slow'); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(rec.calls().some((c) => c.arguments.m === 'slow'), 'the slow call reached the server');
  const sent = Date.now();
  daemon.proc.kill('SIGTERM');
  await daemon.waitForLine(/draining 1 connection\(s\)/);
  // The idle agent's connections were closed at once. A new daemon (a
  // supervisor's restart) need not wait for the drain: with --fail-closed
  // the old one lets go of the pin dir at once and leaves everything pinned.
  const next = await startDaemon(sb, { policy: policyOf({ rec: { port: rec.port } }), failClosed: true });
  assert.match(next.log, /adopted the pinned programs/);
  assert.equal(daemon.proc.running, true, 'still draining');
  assert.equal(resultText(await statelessCall(sb, rec.port, 'echo', 'meanwhile')), 'ran echo {"m":"meanwhile"}');
  const out = await pending;
  assert.equal(out.ok, true, out.error);
  const answer = rawMessages(out.responses[0]).find((msg) => msg.id === 1);
  assert.equal(resultText(answer.result), 'ran echo {"holdMs":2000,"m":"slow"}', JSON.stringify(out.responses[0]));
  const status = await daemon.proc.exited;
  assert.deepEqual(status, { code: 0, signal: null }, daemon.log);
  // It waited for the call (about 2 s), not for the 20 s timeout.
  const tookMs = Date.now() - sent;
  assert.ok(tookMs < 15000, `exit after ${tookMs} ms`);
  assert.doesNotMatch(daemon.log, /drain timeout/);
  assert.match(daemon.log, /drained/);
  // It left the new daemon's links and maps alone.
  assert.equal(resultText(await statelessCall(sb, rec.port, 'echo', 'after')), 'ran echo {"m":"after"}');
  assert.ok(next.interceptions().length >= 2, next.log);
});

itest('handover is for root (or our uid) on the same --bpffs only; a refused or broken peer leaves the daemon serving', async (t) => {
  const sb = sandbox(t, 'ho-peers');
  const rec = await startRecorder(sb, { tools: ['echo'], jsonResponse: true });
  const policy = policyOf({ rec: { port: rec.port } });
  const daemon = await startDaemon(sb, { policy, failClosed: true });
  const sock = path.join(sb.tmp, 'state', 'handover.sock');
  // Garbage, a HELLO for another pin dir, and a non-root peer.
  const peer = (script, asNobody = false) => sb.runOutside('python3', ['-c', script, sock, asNobody ? 'nobody' : ''], { timeoutMs: 10000 });
  const prelude = `import os,socket,struct,sys
if sys.argv[2]: os.setgid(65534); os.setuid(65534)
s=socket.socket(socket.AF_UNIX,socket.SOCK_SEQPACKET)
try: s.connect(sys.argv[1])
except Exception as e: print('connect', type(e).__name__); sys.exit(0)
s.settimeout(3)
`;
  const hello = (bpffs) => `${prelude}b=${JSON.stringify(bpffs)}.encode(); s.send(struct.pack('<IHHII',0x4d46484f,1,1,0,len(b))+b)
try:
  m=s.recv(8192); print(struct.unpack('<IHHII',m[:16])[2], m[16:].decode(errors='replace'))
  while struct.unpack('<IHHII',m[:16])[2]==2: m=s.recv(8192)
  print('then', struct.unpack('<IHHII',m[:16])[2])
except Exception as e: print('closed', e)`;
  const garbage = `${prelude}s.send(b'\\x00'*3)
try: print('answer', s.recv(100))
except Exception as e: print('closed', e)`;
  const wrongDir = await peer(hello('/elsewhere'));
  assert.match(wrongDir.stdout, /^5 another --bpffs/, wrongDir.stdout + wrongDir.stderr);
  const bad = await peer(garbage);
  assert.match(bad.stdout, /^answer b''/, bad.stdout + bad.stderr);
  assert.match(daemon.log, /handover: bad message from peer/);
  const nobody = await peer(hello(sb.pinDir), true);
  assert.match(nobody.stdout, /^connect PermissionError/, nobody.stdout + nobody.stderr);
  // A peer that takes the listeners and then vanishes before TAKEN.
  const vanish = await peer(hello(sb.pinDir));
  assert.match(vanish.stdout, /^2 [^]*\nthen 3\n/, vanish.stdout + vanish.stderr);  // ITEMS ... DONE
  await daemon.waitForLine(/the new daemon left before taking over/);
  // Still serving, and still holding the pin dir: a second daemon cannot start.
  assert.equal(resultText(await statelessCall(sb, rec.port, 'echo', 'still')), 'ran echo {"m":"still"}');
  const { status } = await daemon.healthz();
  assert.equal(status, 200);
  const second = await sb.runOutside(MCPFENCE, ['run', '--policy', daemon.policyFile, '--cgroup', sb.cgroup, '--bpffs', sb.pinDir,
    '--listen', '1', '--metrics', '127.0.0.1:1', '--state-dir', path.join(sb.tmp, 'other-state')], { timeoutMs: 20000 });
  assert.notEqual(second.code, 0);
  assert.match(second.stderr, /in use by another mcpfence daemon/, second.stderr);
});
