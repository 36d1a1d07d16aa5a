// Pods, the kernel side: one daemon in
// the host namespace enforces inside every pod's network namespace (pods
// simulated as a CNI sets them up: tests/lib/pods.mjs), only its own
// listeners receive agents, its loop guard is nothing an agent can set, a
// server is reached through every address its listening socket accepts,
// and a socket born outside the agents' cgroup is intercepted when an
// agent connects it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { itest } from '../lib/itest.mjs';
import { sandbox } from '../lib/sandbox.mjs';
import { httpGet, startDaemon } from '../lib/daemon.mjs';
import { startEverything } from '../lib/everything.mjs';
import { mcpClient } from '../lib/agents.mjs';
import { PodNetwork } from '../lib/pods.mjs';
import { cgroup2Root } from '../lib/cgroup.mjs';
import { expectDenial, resultText, startRecorder } from '../lib/mcp.mjs';
import { dumpPinnedMap } from '../lib/bpftool.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const RAW_AGENT = path.join(here, '../lib/raw-agent.py');
const DENY_SUM = { 'get-sum': { action: 'deny', reason: 'no sums in pods' } };

function policy(endpoints, tools = DENY_SUM) {
  return { version: '1', servers: { everything: { endpoints, default: 'allow', tools } } };
}

// get-env through the proxy: which pod's server-everything answered.
async function podOfServer(sb, url, runIn) {
  const out = await mcpClient(sb, url, { tool: 'get-env', args: {}, inCgroup: runIn });
  assert.equal(out.ok, true, out.error);
  return JSON.parse(resultText(out.call)).POD_NAME;
}

async function expectSumDenied(sb, url, runIn) {
  const out = await mcpClient(sb, url, { tool: 'get-sum', args: { a: 1, b: 2 }, inCgroup: runIn });
  assert.equal(out.ok, true, out.error);
  expectDenial(assert, out.call, { reason: 'no sums in pods' });
  return out;
}

async function rawAgent(sb, args, { inCgroup = true } = {}) {
  const runFn = inCgroup === true ? sb.runInCgroup.bind(sb) : sb.runOutside.bind(sb);
  const res = await runFn('python3', [RAW_AGENT, ...args], { timeoutMs: 20000 });
  return { ...JSON.parse(res.stdout.trim().split('\n').pop()), pid: res.pid };
}

itest('two pods, each with its own server on 127.0.0.1:3001: denied in both, allowed answered by its own', async (t) => {
  const sb = sandbox(t, 'pods-two');
  const net = new PodNetwork(sb);
  const a = net.addPod('pod-a');  // before the daemon: found at start
  await a.startEverything(3001);
  const daemon = await startDaemon(sb, { policy: policy(['127.0.0.1:3001', '[::1]:3001']) });
  const b = net.addPod('pod-b');  // after: found when named
  await b.startEverything(3001);

  for (const pod of [a, b]) {
    for (const host of ['127.0.0.1', '[::1]']) {
      const url = `http://${host}:3001/mcp`;
      assert.equal(await podOfServer(sb, url, pod), pod.name, `${pod.name} via ${host}`);
      const denied = await expectSumDenied(sb, url, pod);
      await daemon.waitForInterceptions({ pid: denied.pid });
    }
  }
  // one listener pair per namespace: the host's and the two pods'
  const served = dumpPinnedMap(path.join(sb.pinDir, 'netns_listen'));
  assert.equal(served.length, 3, JSON.stringify(served));
  const metrics = await httpGet(`http://127.0.0.1:${daemon.metricsPort}/metrics`);
  assert.match(metrics.body, /^mcpfence_netns_served 3$/m);
});

itest('pod-scoped policy: two pods, the same 127.0.0.1:3001, different decisions for the same tool', async (t) => {
  const sb = sandbox(t, 'pods-scoped');
  const net = new PodNetwork(sb);
  const [a, b] = [net.addPod('scope-a'), net.addPod('scope-b')];
  await Promise.all([a.startEverything(3001), b.startEverything(3001)]);
  const scope = (pod) => [path.relative(cgroup2Root(), pod.cgroup)];
  const entry = (pod, tools) => ({ endpoints: ['127.0.0.1:3001'], agents: scope(pod), default: 'allow', tools });
  await startDaemon(sb, { policy: { version: '1', servers: {
    'pod-a-tools': entry(a, DENY_SUM),
    'pod-b-tools': entry(b, {}),
  } } });
  await expectSumDenied(sb, 'http://127.0.0.1:3001/mcp', a);
  const allowed = await mcpClient(sb, 'http://127.0.0.1:3001/mcp', { tool: 'get-sum', args: { a: 1, b: 2 }, inCgroup: b });
  assert.equal(allowed.ok, true, allowed.error);
  assert.equal(allowed.call.isError ?? false, false, JSON.stringify(allowed.call));
  assert.match(resultText(allowed.call), /3/);
  assert.equal(await podOfServer(sb, 'http://127.0.0.1:3001/mcp', a), 'scope-a');
  assert.equal(await podOfServer(sb, 'http://127.0.0.1:3001/mcp', b), 'scope-b');
});

itest("a pod agent calling another pod's IP and a service-like address named in the policy is enforced", async (t) => {
  const sb = sandbox(t, 'pods-remote');
  const net = new PodNetwork(sb);
  const agentPod = net.addPod('agent');
  const serverPod = net.addPod('server');
  // a second address of the server pod, reached on-link from the agent's
  // pod: what a ClusterIP is to a pod (an address that is not a pod's own)
  serverPod.in(['ip', 'addr', 'add', '10.250.1.10/32', 'dev', 'eth0']);
  agentPod.in(['ip', 'route', 'add', '10.250.1.10/32', 'dev', 'eth0']);
  await serverPod.startEverything(3001);
  await startDaemon(sb, { policy: policy([`${serverPod.ip}:3001`, '10.250.1.10:3001']) });

  for (const host of [serverPod.ip, '10.250.1.10']) {
    const url = `http://${host}:3001/mcp`;
    assert.equal(await podOfServer(sb, url, agentPod), 'server');
    await expectSumDenied(sb, url, agentPod);
  }
});

itest('a pod process bound to the listen port gets nothing; the daemon listens elsewhere in that pod', async (t) => {
  const sb = sandbox(t, 'pods-squat');
  const net = new PodNetwork(sb);
  const pod = net.addPod('squat');
  await pod.startEverything(3001);
  const { freePort } = await import('../lib/ports.mjs');
  const listen = await freePort();
  // something in the pod holds 127.0.0.1 and [::1] on the daemon's port first
  const squatter = pod.spawn(process.execPath, ['-e', `
    const net = require('node:net');
    for (const host of ['127.0.0.1', '::1']) net.createServer((s) => { console.log('GOT', s.remotePort); s.destroy(); })
      .listen(${listen}, host, () => console.log('squatting', host));`]);
  await squatter.waitForOutput(/squatting ::1/);
  const daemon = await startDaemon(sb, { policy: policy(['127.0.0.1:3001', '[::1]:3001']), args: ['--listen', String(listen)] });
  assert.equal(await podOfServer(sb, 'http://127.0.0.1:3001/mcp', pod), 'squat');
  await expectSumDenied(sb, 'http://[::1]:3001/mcp', pod);
  assert.doesNotMatch(squatter.stdout, /GOT/, 'the squatter received an agent connection');
  assert.match(daemon.log, /serving network namespace \d+ \(name squat\): listeners on ports (\d+)\/(\d+)/);
  const [, p4, p6] = daemon.log.match(/\(name squat\): listeners on ports (\d+)\/(\d+)/);
  assert.notEqual(Number(p4), listen);
  assert.notEqual(Number(p6), listen);
});

itest('SO_MARK is no loop guard, TCP Fast Open no way around connect(): both intercepted', async (t) => {
  const sb = sandbox(t, 'pods-mark');
  const rec = await startRecorder(sb, { tools: ['echo', 'execute'] });
  const daemon = await startDaemon(sb, { policy: policy([`127.0.0.1:${rec.port}`], { execute: { action: 'deny' } }) });
  const out = await rawAgent(sb, ['--port', String(rec.port), '--tool', 'execute', '--mark', '0x4d46']);
  assert.equal(out.ok, true, out.error);
  assert.match(out.body, /mcpfence/, out.body);
  assert.deepEqual(rec.calls(), []);
  await daemon.waitForInterceptions({ pid: out.pid });
  // nor is TCP Fast Open a way around connect(): sendto() connects too
  const tfo = await rawAgent(sb, ['--port', String(rec.port), '--tool', 'execute', '--fastopen']);
  assert.equal(tfo.ok, true, tfo.error);
  assert.match(tfo.body, /mcpfence/, tfo.body);
  assert.deepEqual(rec.calls(), []);
  await daemon.waitForInterceptions({ pid: tfo.pid });
});

itest('a body refused while the agent is still sending it: the agent reads its 413, not a reset (lingering close)', async (t) => {
  const sb = sandbox(t, 'linger');
  const rec = await startRecorder(sb, { tools: ['echo'] });
  await startDaemon(sb, { policy: policy([`127.0.0.1:${rec.port}`], {}) });
  // 6 MiB sent in one go against the 4 MiB --body-limit: the daemon answers
  // 413 at 4 MiB while the rest is still on its way
  for (let i = 0; i < 3; i++) {
    const out = await rawAgent(sb, ['--port', String(rec.port), '--tool', 'echo', '--pad', String(6 << 20)]);
    assert.equal(out.ok, true, out.error);
    assert.equal(out.status, 413, out.body);
  }
  assert.deepEqual(rec.calls(), []);
});

itest('a socket born outside the cgroup is intercepted when an agent in it connects the socket', async (t) => {
  const sb = sandbox(t, 'born-outside');
  const rec = await startRecorder(sb, { tools: ['echo', 'execute'] });
  const daemon = await startDaemon(sb, { policy: policy([`127.0.0.1:${rec.port}`], { execute: { action: 'deny' } }) });
  const out = await rawAgent(sb, ['--port', String(rec.port), '--tool', 'execute', '--move-to-cgroup', sb.cgroup], { inCgroup: false });
  assert.equal(out.ok, true, out.error);
  assert.match(out.body, /mcpfence/, out.body);
  assert.equal(out.peer, `127.0.0.1:${rec.port}`, 'getpeername still shows the server');
  assert.deepEqual(rec.calls(), []);
  await daemon.waitForInterceptions({ pid: out.pid });
  // and the reverse: a socket born inside, connected by a task outside, is not ours to judge
  const outside = await rawAgent(sb, ['--port', String(rec.port), '--tool', 'echo'], { inCgroup: false });
  assert.equal(outside.ok, true, outside.error);
  assert.equal(daemon.interceptions({ pid: outside.pid }).length, 0);
});

itest('every address that reaches the listening socket is intercepted: 127.0.0.x, 0.0.0.0, ::, v4-mapped', async (t) => {
  const sb = sandbox(t, 'other-addrs');
  const everything = await startEverything(sb);  // app.listen(PORT): the dual-stack wildcard
  const port = everything.port;
  const daemon = await startDaemon(sb, { policy: policy([`127.0.0.1:${port}`]) });
  for (const host of ['127.0.0.2', '127.1.2.3', '0.0.0.0', '[::]', '[::1]', '[::ffff:127.0.0.1]', '[::ffff:0.0.0.0]']) {
    const denied = await expectSumDenied(sb, `http://${host}:${port}/mcp`, true);
    const [rec] = await daemon.waitForInterceptions({ pid: denied.pid });
    assert.equal(rec.server, 'everything', host);
  }
});

itest("a pod's own address reaches its wildcard-bound server and is intercepted (netlink-fed local addresses)", async (t) => {
  const sb = sandbox(t, 'own-addr');
  const net = new PodNetwork(sb);
  const pod = net.addPod('host-like');
  await pod.startEverything(3001);
  await startDaemon(sb, { policy: policy(['127.0.0.1:3001']) });
  await expectSumDenied(sb, `http://${pod.ip}:3001/mcp`, pod);
  // an address added while the daemon runs counts too
  pod.in(['ip', 'addr', 'add', '10.250.2.7/32', 'dev', 'eth0']);
  const deadline = Date.now() + 5000;
  for (;;) {
    const out = await mcpClient(sb, 'http://10.250.2.7:3001/mcp', { tool: 'get-sum', args: { a: 1, b: 2 }, inCgroup: pod });
    if (out.ok && out.call.isError) { expectDenial(assert, out.call, { reason: 'no sums in pods' }); break; }
    assert.ok(Date.now() < deadline, `10.250.2.7 not intercepted: ${JSON.stringify(out)}`);
  }
});

itest("another namespace's own addresses reach its wildcard-bound server: intercepted from a pod (a node's address)", async (t) => {
  const sb = sandbox(t, 'pods-elsewhere');
  const net = new PodNetwork(sb);
  // a stand-in for the node: its server on the wildcard address, registered
  // only as 127.0.0.1:3001 (as on a workstation); the agent in a pod
  const node = net.addPod('node');
  const agentPod = net.addPod('agent');
  node.in(['ip', '-6', 'addr', 'add', 'fd50::2/64', 'dev', 'eth0', 'nodad']);
  agentPod.in(['ip', '-6', 'addr', 'add', 'fd50::3/64', 'dev', 'eth0', 'nodad']);
  await node.startEverything(3001);
  const daemon = await startDaemon(sb, { policy: policy(['127.0.0.1:3001']) });
  for (const host of [node.ip, '[fd50::2]', `[::ffff:${node.ip}]`]) {
    const url = `http://${host}:3001/mcp`;
    assert.equal(await podOfServer(sb, url, agentPod), 'node', host);
    const denied = await expectSumDenied(sb, url, agentPod);
    const [rec] = await daemon.waitForInterceptions({ pid: denied.pid });
    assert.equal(rec.server, 'everything', host);
  }
});

async function rawAgentIn(pod, args) {
  const res = await pod.run('python3', [RAW_AGENT, ...args], { timeoutMs: 20000 });
  return { ...JSON.parse(res.stdout.trim().split('\n').pop()), pid: res.pid };
}

const REC_TOOLS = ['echo', 'execute'];
const DENY_EXECUTE = (port) => ({ version: '1', servers: { rec: {
  endpoints: [`127.0.0.1:${port}`], default: 'allow', tools: { execute: { action: 'deny' } } } } });

itest('--fail-closed: a pod with an unnamed namespace, started after the daemon and calling at once: the denied tool never runs', async (t) => {
  const sb = sandbox(t, 'pods-late-closed');
  const net = new PodNetwork(sb);
  const daemon = await startDaemon(sb, { policy: DENY_EXECUTE(3001), failClosed: true });
  const refusedFirst = [];
  for (let i = 0; i < 3; i++) {
    const pod = net.addPod(`late${i}`, { named: false });
    // the agent is the pod's first and only process: no server socket announced it
    const first = await rawAgentIn(pod, ['--port', '3001', '--tool', 'execute']);
    refusedFirst.push(first.ok ? first.status : first.error);
    const rec = await startRecorder(sb, { tools: REC_TOOLS, port: 3001, pod });
    const denied = await rawAgentIn(pod, ['--port', '3001', '--tool', 'execute']);
    assert.equal(denied.ok, true, denied.error);
    assert.match(denied.body, /mcpfence/);
    const allowed = await rawAgentIn(pod, ['--port', '3001', '--tool', 'echo']);
    assert.equal(allowed.ok, true, allowed.error);
    assert.match(allowed.body, /ran echo/);
    assert.deepEqual(rec.calls().map((c) => c.tool), ['echo'], `pod ${pod.name}`);
  }
  // Before anything of the pod made a socket the daemon may not know the
  // namespace: that first connect is refused, never passed.
  for (const what of refusedFirst) assert.ok(what === 200 || /PermissionError|Errno 1\b|ECONNREFUSED|Connection refused/.test(String(what)), String(what));
  t.diagnostic(`first connects of an unannounced pod: ${JSON.stringify(refusedFirst)}`);
  assert.match(daemon.log, /not served yet|serving network namespace \d+ \((agent|cgroup) pid/);
});

itest('default (fail-open) mode: an unannounced pod whose agent calls at once: refused while the daemon serves it, never passed', async (t) => {
  const sb = sandbox(t, 'pods-late-open-race');
  const net = new PodNetwork(sb);
  const daemon = await startDaemon(sb, { policy: DENY_EXECUTE(3001) });
  const firsts = [];
  let slipped = 0;
  for (let i = 0; i < 3; i++) {
    const pod = net.addPod(`race${i}`, { named: false });
    // the pod's server runs outside the agents' cgroup: nothing announces
    // the namespace before the agent's own socket(), a moment before its connect()
    const rec = await startRecorder(sb, { tools: REC_TOOLS, port: 3001, pod: { spawn: (cmd, args) => pod.spawn(cmd, args, { cgroup: sb.daemonCgroup }) } });
    const first = await rawAgentIn(pod, ['--port', '3001', '--tool', 'execute']);
    firsts.push(first.ok ? first.status : first.error);
    const later = await rawAgentIn(pod, ['--port', '3001', '--tool', 'execute']);
    assert.equal(later.ok, true, later.error);
    assert.match(later.body, /mcpfence/);
    slipped += rec.calls().filter((c) => c.tool === 'execute').length;
  }
  t.diagnostic(`first connects of an unannounced pod (fail-open, daemon running): ${JSON.stringify(firsts)}`);
  assert.equal(slipped, 0, `denied calls that ran: first connects ${JSON.stringify(firsts)}`);
  for (const what of firsts) assert.ok(what === 200 || /PermissionError|Errno 1\b/.test(String(what)), String(what));
  assert.match(daemon.log, /serving network namespace \d+ \(agent pid/);
});

// Resolves with the ms from `started` until the daemon logs one more
// "serving network namespace" line than `before`.
async function servedWithin(daemon, before, started) {
  const count = () => (daemon.log.match(/serving network namespace/g) || []).length;
  while (count() <= before) {
    assert.ok(Date.now() - started < 10000, 'namespace not served within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return Date.now() - started;
}

itest('default (fail-open) mode: pods created after the daemon and calling at once: no denied call slips through', async (t) => {
  const sb = sandbox(t, 'pods-late-open');
  const net = new PodNetwork(sb);
  const daemon = await startDaemon(sb, { policy: DENY_EXECUTE(3001) });
  const servedLines = () => (daemon.log.match(/serving network namespace/g) || []).length;
  const windows = { named: [], firstSocket: [], sweepOnly: [] };
  let slipped = 0;
  for (let i = 0; i < 6; i++) {
    const kind = ['named', 'firstSocket', 'sweepOnly'][i % 3];
    const before = servedLines();
    let started = Date.now();
    const pod = net.addPod(`open${i}`, { named: kind === 'named' });
    if (kind === 'firstSocket') {
      started = Date.now();
      pod.spawn('python3', ['-c', 'import socket, time; s = socket.socket(); time.sleep(60)']);
    } else if (kind === 'sweepOnly') {
      started = Date.now();
      pod.spawn('sleep', ['60']);  // makes no socket: found by the sweep
    }
    windows[kind].push(await servedWithin(daemon, before, started));
    // then a server and an agent calling the denied tool at once
    const rec = await startRecorder(sb, { tools: REC_TOOLS, port: 3001, pod });
    const out = await rawAgentIn(pod, ['--port', '3001', '--tool', 'execute']);
    assert.equal(out.ok, true, out.error);
    slipped += rec.calls().filter((c) => c.tool === 'execute').length;
  }
  t.diagnostic(`late pods: ${slipped} denied calls slipped through; ms from namespace (or first process) to listener: ${JSON.stringify(windows)}`);
  assert.equal(slipped, 0);
});

function daemonFds(pid) {
  return fs.readdirSync(`/proc/${pid}/fd`).map((fd) => { try { return fs.readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { return ''; } });
}

function rssKiB(pid) {
  return Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]);
}

itest('pod churn: 50 pods come and go while calls run; no listener, fd or namespace is left behind', async (t) => {
  const sb = sandbox(t, 'pods-churn');
  const net = new PodNetwork(sb);
  const daemon = await startDaemon(sb, { policy: DENY_EXECUTE(3001) });
  const served = () => dumpPinnedMap(path.join(sb.pinDir, 'netns_listen')).length;
  const baseFds = daemonFds(daemon.pid).length;
  const baseNs = daemonFds(daemon.pid).filter((link) => link.startsWith('net:'));
  const baseRss = rssKiB(daemon.pid);
  const pods = [];
  for (let i = 0; i < 50; i++) {
    const pod = net.addPod(`churn${i}`, { named: i % 2 === 0 });
    pod.spawn('sleep', ['120']);
    if (i % 10 === 0) {
      const rec = await startRecorder(sb, { tools: REC_TOOLS, port: 3001, pod });
      const denied = await rawAgentIn(pod, ['--port', '3001', '--tool', 'execute']);
      assert.match(denied.body ?? denied.error, /mcpfence/);
      const allowed = await rawAgentIn(pod, ['--port', '3001', '--tool', 'echo']);
      assert.match(allowed.body ?? allowed.error, /ran echo/);
      assert.deepEqual(rec.calls().map((c) => c.tool), ['echo']);
    }
    pods.push(pod);
    if (pods.length > 10) await pods.shift().delete();  // at most ~10 alive at once
  }
  const peak = served();
  for (const pod of pods) await pod.delete();
  // namespaces are let go at the next sweep (every 2 s)
  const deadline = Date.now() + 10000;
  while (served() > 1 || daemonFds(daemon.pid).length > baseFds) {
    assert.ok(Date.now() < deadline, `left behind: ${served()} namespaces served, fds ${JSON.stringify(daemonFds(daemon.pid))}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.deepEqual(daemonFds(daemon.pid).filter((link) => link.startsWith('net:')), baseNs, 'only its own namespace kept');
  const rss = rssKiB(daemon.pid);
  t.diagnostic(`churn: peak ${peak} namespaces served; fds ${baseFds} -> ${daemonFds(daemon.pid).length}; RSS ${baseRss} -> ${rss} KiB; released ${(daemon.log.match(/is gone: listeners closed/g) || []).length}`);
  assert.ok(rss < baseRss + 8192, `RSS ${baseRss} -> ${rss} KiB`);
});

const CALL_LOOP = path.join(here, '../lib/call-loop.mjs');

itest('rolling update with pods: the successor takes over every pod listener; nothing denied runs, nothing allowed fails', async (t) => {
  const sb = sandbox(t, 'pods-rollout');
  const net = new PodNetwork(sb);
  const pods = [net.addPod('roll-a'), net.addPod('roll-b', { named: false })];
  const recs = [];
  for (const pod of pods) recs.push(await startRecorder(sb, { tools: REC_TOOLS, port: 3001, pod, jsonResponse: true }));
  const policy = DENY_EXECUTE(3001);
  const old = await startDaemon(sb, { policy, failClosed: true, args: ['--drain-timeout', '10'] });
  const loops = pods.map((pod) => pod.spawn(process.execPath, [CALL_LOOP, '--port', '3001', '--allowed', 'echo', '--denied', 'execute']));
  const rounds = (loop) => Math.max(0, ...[...loop.stdout.matchAll(/"progress":(\d+)/g)].map((m) => Number(m[1])));
  const waitRounds = async (n) => {
    const targets = loops.map((loop) => rounds(loop) + n);
    await Promise.all(loops.map((loop, i) => loop.waitForOutput(new RegExp(`"progress":${targets[i]}\\b`), { timeoutMs: 60000 })));
  };
  await waitRounds(10);
  const before = dumpPinnedMap(path.join(sb.pinDir, 'netns_listen')).map((e) => JSON.stringify(e.formatted)).sort();
  assert.equal(before.length, 3, before.join('\n'));

  const successor = await startDaemon(sb, { policy, failClosed: true, listenPort: old.listenPort, metricsPort: old.metricsPort });
  await old.waitForLine(/handover: the new daemon serves; draining/);
  assert.deepEqual((await old.stop('SIGTERM', 15000)), { code: 0, signal: null }, old.log);
  assert.match(successor.log, /handover: received 7 listener\(s\)/);  // 3 namespaces x 2, and /metrics
  assert.equal((successor.log.match(/serving network namespace \d+ \(handed over\)/g) || []).length, 3, successor.log);
  await waitRounds(10);

  // the same sockets serve on: the same namespaces, the same ports
  const after = dumpPinnedMap(path.join(sb.pinDir, 'netns_listen')).map((e) => JSON.stringify(e.formatted)).sort();
  assert.deepEqual(after, before);
  for (const [i, loop] of loops.entries()) {
    await loop.stop('SIGTERM', 30000);
    const summary = JSON.parse(loop.stdout.trim().split('\n').pop());
    assert.deepEqual(summary.allowed.failed, [], JSON.stringify(summary));
    assert.equal(summary.allowed.connectRefused + summary.denied.connectRefused, 0, JSON.stringify(summary));
    assert.deepEqual(summary.denied.passed, [], JSON.stringify(summary));
    assert.deepEqual(recs[i].calls().filter((c) => c.tool === 'execute'), []);
    assert.equal(recs[i].calls().length, summary.allowed.ok);
  }
});

itest("--fail-closed with the daemon dead: a new pod's server is refused on the pod's own address too, not only on 127.0.0.1", async (t) => {
  const sb = sandbox(t, 'pods-dead-podip');
  const net = new PodNetwork(sb);
  const daemon = await startDaemon(sb, { policy: DENY_EXECUTE(3001), failClosed: true });
  await daemon.kill9();
  // a namespace the daemon never served: its addresses were never known
  const pod = net.addPod('after-death', { named: false });
  const rec = await startRecorder(sb, { tools: REC_TOOLS, port: 3001, pod });
  for (const host of ['127.0.0.1', pod.ip]) {
    const out = await rawAgentIn(pod, ['--host', host, '--port', '3001', '--tool', 'execute']);
    assert.equal(out.ok, false, `${host}: ${JSON.stringify(out)}`);
    assert.match(out.error, /PermissionError/, host);
  }
  assert.deepEqual(rec.calls(), []);
});

// Binds (not listens) dual-stack [::]:lo..hi and the ports after them,
// as uid 65534; two of these (each under the 20000-descriptor limit) hold
// every port the daemon's listener could take, the ephemeral ones too.
const HOG = `import os, resource, socket, sys, time
os.setgid(65534); os.setuid(65534)
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]; resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
keep = []
for p in list(range(int(sys.argv[1]), int(sys.argv[2]) + 1)) + [int(x) for x in sys.argv[3:]]:
    s = socket.socket(socket.AF_INET6); s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    try: s.bind(('::', p)); keep.append(s)
    except OSError: s.close()
print('holds', len(keep), flush=True)
time.sleep(600)`;

itest('default mode: a pod whose agent holds every port the daemon could listen on is refused until it can be served', async (t) => {
  const sb = sandbox(t, 'pods-hog');
  const net = new PodNetwork(sb);
  const pod = net.addPod('hog', { named: false });
  const rec = await startRecorder(sb, { tools: REC_TOOLS, port: 3001, pod });
  const { freePort } = await import('../lib/ports.mjs');
  const listen = await freePort();
  const hogs = [pod.spawn('python3', ['-c', HOG, '32768', '46383']), pod.spawn('python3', ['-c', HOG, '46384', '60999', String(listen)])];
  for (const hog of hogs) await hog.waitForOutput(/holds \d+/, { timeoutMs: 60000 });
  const daemon = await startDaemon(sb, { policy: DENY_EXECUTE(3001), args: ['--listen', String(listen)] });
  await daemon.waitForLine(/not served: Address already in use/);
  for (let i = 0; i < 2; i++) {  // at start, and after a sweep tried again
    const out = await rawAgentIn(pod, ['--port', '3001', '--tool', 'execute']);
    assert.equal(out.ok, false, JSON.stringify(out));
    assert.match(out.error, /PermissionError/);
    await new Promise((resolve) => setTimeout(resolve, 2500));
  }
  assert.deepEqual(rec.calls(), []);
  // ports free again: the next sweep serves it, and calls are judged
  for (const hog of hogs) await hog.stop('SIGKILL');
  await daemon.waitForLine(/serving network namespace \d+ \(cgroup pid/, 10000);
  const denied = await rawAgentIn(pod, ['--port', '3001', '--tool', 'execute']);
  assert.match(denied.body ?? denied.error, /mcpfence/);
  const allowed = await rawAgentIn(pod, ['--port', '3001', '--tool', 'echo']);
  assert.match(allowed.body ?? allowed.error, /ran echo/);
  assert.deepEqual(rec.calls().map((c) => c.tool), ['echo']);
});

// As uid 65534: a socket (the namespace is reported and served), one
// call, then a socket made in the pod's namespace kept
// while the process moves to a new user + network namespace of its own
// (the pod's namespace is left with no process in it), and, after the
// sweeps that let it go, a call on the kept socket.
const LEAVE = `import ctypes, json, os, socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
os.setgid(65534); os.setuid(65534)
body = json.dumps({'jsonrpc': '2.0', 'id': 1, 'method': 'tools/call', 'params': {'name': 'execute', 'arguments': {}}}).encode()
req = (f'POST /mcp/stateless HTTP/1.1\\r\\nHost: {host}:{port}\\r\\nContent-Type: application/json\\r\\n'
       f'Accept: application/json, text/event-stream\\r\\nMcp-Protocol-Version: 2025-06-18\\r\\n'
       f'Content-Length: {len(body)}\\r\\nConnection: close\\r\\n\\r\\n').encode() + body
def call(s):
    try:
        s.settimeout(10); s.connect((host, port)); s.sendall(req); data = b''
        while b'mcpfence' not in data and b'ran execute' not in data:
            chunk = s.recv(65536)
            if not chunk: break
            data += chunk
        return 'denied' if b'mcpfence' in data else data.decode(errors='replace')[-200:]
    except OSError as e: return type(e).__name__
socket.socket(); time.sleep(1)  # reported by socket(): served from here on
first = call(socket.socket())
keep = socket.socket()
rc = ctypes.CDLL(None, use_errno=True).unshare(0x10000000 | 0x40000000)  # CLONE_NEWUSER | CLONE_NEWNET
time.sleep(float(sys.argv[3]))
print(json.dumps({'first': first, 'unshare': rc, 'later': call(keep)}))`;

itest("an agent that leaves its pod's namespace keeping a socket made there is refused once the namespace is let go", async (t) => {
  const sb = sandbox(t, 'pods-leave');
  const net = new PodNetwork(sb);
  const serverPod = net.addPod('leave-server');
  const rec = await startRecorder(sb, { tools: REC_TOOLS, port: 3001, pod: serverPod });
  const daemon = await startDaemon(sb, { policy: { version: '1', servers: { rec: {
    endpoints: [`${serverPod.ip}:3001`], default: 'allow', tools: { execute: { action: 'deny' } } } } } });
  const agentPod = net.addPod('leave-agent', { named: false });  // the agent is its only process
  const res = await agentPod.run('python3', ['-c', LEAVE, serverPod.ip, '3001', '5'], { timeoutMs: 40000 });
  const out = JSON.parse(res.stdout.trim().split('\n').pop());
  assert.equal(out.first, 'denied', JSON.stringify(out));
  assert.equal(out.unshare, 0, JSON.stringify(out));
  assert.equal(out.later, 'PermissionError', JSON.stringify(out));
  assert.deepEqual(rec.calls(), []);
  assert.match(daemon.log, /is gone: listeners closed/);
});
