// What happens around the daemon's life: pinned, readable maps
// while it runs; a clean detach on SIGTERM (fail-open; --fail-closed keeps
// the programs, see restart.test.mjs); fail-open (after a grace period) by default and
// fail-closed on request after it is killed with SIGKILL (its pinned links
// keep the programs attached, so the programs decide); the next daemon
// adopts those links instead of dropping them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { itest } from '../lib/itest.mjs';
import { sandbox } from '../lib/sandbox.mjs';
import { startEchoServer } from '../lib/echo.mjs';
import { startDaemon, policyFor } from '../lib/daemon.mjs';
import { listPins } from '../lib/bpffs.mjs';
import { cgroupPrograms, cgroupTreeText, daemonLinks, dumpPinnedMap, linksAlive } from '../lib/bpftool.mjs';
import { transfer, mcpClient } from '../lib/agents.mjs';
import { startRecorder, policyOf, expectDenial } from '../lib/mcp.mjs';
import { cgroupId } from '../lib/cgroup.mjs';
import path from 'node:path';

const REQUIRED_PINS = ['targets', 'settings', 'daemon_alive', 'conn_origin', 'conns'];

async function setUp(t, label, options = {}) {
  const sb = sandbox(t, label);
  const echo = await startEchoServer(sb);
  const daemon = await startDaemon(sb, { ...options, policy: policyFor({ echo: [`127.0.0.1:${echo.port}`] }) });
  const before = await transfer(sb, { port: echo.port, mode: 'echo', bytes: 1000 });
  assert.equal(before.ok, true, JSON.stringify(before));
  await daemon.waitForInterceptions({ pid: before.pid });
  return { sb, echo, daemon };
}

itest('maps and links are pinned under --bpffs and readable with bpftool', async (t) => {
  const sb = sandbox(t, 'pins');
  const echo = await startEchoServer(sb);
  const port = echo.port;
  const daemon = await startDaemon(sb, { policy: policyFor({ echo: [`127.0.0.1:${port}`, `[::1]:${port}`, `:${port}`] }) });
  const pins = listPins(sb.pinDir);
  for (const name of REQUIRED_PINS) assert.ok(pins.includes(name), `${name} pinned in ${pins}`);
  // who beats, and until when (CLOCK_BOOTTIME ns): a few seconds ahead
  const [alive] = dumpPinnedMap(path.join(sb.pinDir, 'daemon_alive'));
  assert.equal(alive.formatted.value.tgid, daemon.pid);
  const uptime = Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);  // CLOCK_BOOTTIME, 10 ms steps
  const ahead = Number(alive.formatted.value.until_ns) / 1e9 - uptime;
  assert.ok(ahead > 0 && ahead <= 3.1, `daemon_alive ${ahead} s ahead`);
  assert.ok(pins.some((name) => name.startsWith('links/')), `links pinned: ${pins}`);

  // BTF-typed: bpftool prints field names, the server name as a string and
  // the port as the number in the policy (addresses as v4-mapped IPv6, bytes in .b).
  const keys = dumpPinnedMap(path.join(sb.pinDir, 'targets')).map((entry) => {
    assert.ok(entry.formatted, `no BTF-formatted entry: ${JSON.stringify(entry)}`);
    assert.equal(entry.formatted.value.server, 'echo');
    return `${entry.formatted.key.addr.b.join('.')}:${entry.formatted.key.port}`;
  });
  assert.deepEqual(keys.sort(), [
    `0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0:${port}`,
    `0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1:${port}`,
    `0.0.0.0.0.0.0.0.0.0.255.255.127.0.0.1:${port}`,
  ]);
});

for (const [signal, sockmap] of [['SIGTERM', false], ['SIGINT', false], ['SIGTERM', true]]) {
  itest(`${signal} detaches everything and removes the pins${sockmap ? ' (--sockmap)' : ''}`, async (t) => {
    const { sb, echo, daemon } = await setUp(t, `${signal}-${sockmap}`, { sockmap });
    const links = daemonLinks(sb.pinDir);
    // connect4/6, getpeername4/6, sock_ops and sock_create, at the cgroup2
    // root (they pick agents by the calling task's cgroup), nothing on the
    // agents' own cgroup; cgroup_mkdir on its tracepoint
    const cgroupLinks = links.filter((link) => link.type === 'cgroup');
    assert.deepEqual(cgroupLinks.map((link) => link.attach_type).sort(),
      ['cgroup_inet4_connect', 'cgroup_inet4_getpeername', 'cgroup_inet6_connect', 'cgroup_inet6_getpeername',
        'cgroup_inet_sock_create', 'cgroup_sock_ops']);
    for (const link of cgroupLinks) assert.equal(link.cgroup_id, 1, JSON.stringify(link));
    assert.deepEqual(links.filter((link) => link.type !== 'cgroup').map((link) => link.tp_name), ['cgroup_mkdir']);

    const status = await daemon.stop(signal);
    assert.deepEqual(status, { code: 0, signal: null }, daemon.log);
    // Nothing of ours on the agent cgroup nor on the daemon's own cgroup.
    for (const dir of [sb.cgroup, sb.daemonCgroup]) {
      assert.deepEqual(cgroupPrograms(dir), [], cgroupTreeText(dir));
      assert.doesNotMatch(cgroupTreeText(dir), /connect|getpeername|sock_?ops/);
    }
    assert.deepEqual(listPins(sb.bpffs), []);
    assert.deepEqual(linksAlive(links), [], 'every link of the daemon is gone');
    // With nothing attached the agent goes straight to the server.
    const after = await transfer(sb, { port: echo.port, mode: 'echo', bytes: 1000 });
    assert.equal(after.ok, true, JSON.stringify(after));
  });
}

itest('fail-open: after kill -9, refused for the grace period (a restart comes), then straight to the server', async (t) => {
  const { sb, echo, daemon } = await setUp(t, 'failopen');
  const links = daemonLinks(sb.pinDir);
  const status = await daemon.kill9();
  const killed = Date.now();
  assert.equal(status.signal, 'SIGKILL');
  // Still attached (pinned links), so it is the programs that decide.
  assert.equal(linksAlive(links).length, links.length);

  // Its last beat (daemon_alive, every 1 s, 3 s ahead) is recent: a
  // supervisor's restart is expected, nothing passes unjudged meanwhile.
  const refused = await transfer(sb, { port: echo.port, mode: 'echo', bytes: 1000 });
  assert.equal(refused.ok, false, JSON.stringify(refused));
  assert.match(refused.error, /^connect EPERM/);
  let out;
  for (;;) {
    out = await transfer(sb, { port: echo.port, mode: 'echo', bytes: 1 << 20 });
    if (out.ok || Date.now() - killed > 6000) break;
    assert.match(out.error, /^connect EPERM/);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const passedAfter = Date.now() - killed;
  t.diagnostic(`kill -9 -> passing straight through: ${passedAfter} ms`);
  assert.ok(passedAfter >= 1900, `passed after ${passedAfter} ms, within the grace`);
  assert.equal(out.ok, true, JSON.stringify(out));
  assert.equal(out.remoteAddress, '127.0.0.1');
  assert.equal(out.remotePort, echo.port);
});

itest('--fail-closed: after kill -9 new connections to registered endpoints fail', async (t) => {
  const { sb, echo, daemon } = await setUp(t, 'failclosed', { failClosed: true });
  const other = await startEchoServer(sb);
  const links = daemonLinks(sb.pinDir);
  const status = await daemon.kill9();
  assert.equal(status.signal, 'SIGKILL');
  assert.equal(linksAlive(links).length, links.length);

  const refused = await transfer(sb, { port: echo.port, mode: 'echo', bytes: 1000 });
  assert.equal(refused.ok, false, JSON.stringify(refused));
  assert.match(refused.error, /^connect E[A-Z]+/, 'fails at connect');
  // Only registered endpoints, only in the cgroup.
  const unregistered = await transfer(sb, { port: other.port, mode: 'echo', bytes: 1000 });
  assert.equal(unregistered.ok, true, JSON.stringify(unregistered));
  const outside = await transfer(sb, { port: echo.port, mode: 'echo', bytes: 1000 }, { inCgroup: false });
  assert.equal(outside.ok, true, JSON.stringify(outside));
});

itest('a new daemon adopts the links a killed one left behind (same links, its programs)', async (t) => {
  const { sb, echo, daemon } = await setUp(t, 'restart');
  const byHook = (links) => Object.fromEntries(links.map((link) => [link.attach_type ?? link.tp_name, link]));
  const before = byHook(daemonLinks(sb.pinDir));
  await daemon.kill9();
  const again = await startDaemon(sb, { policy: policyFor({ echo: [`127.0.0.1:${echo.port}`] }) });
  const out = await transfer(sb, { port: echo.port, mode: 'echo', bytes: 1 << 20 });
  assert.equal(out.ok, true, JSON.stringify(out));
  const records = await again.waitForInterceptions({ pid: out.pid });
  assert.equal(records.length, 1);
  // The same cgroup links, never unpinned, now running the new daemon's
  // programs; cgroup_mkdir's link (a tracing link takes no other program)
  // replaced by the new daemon's, the old one gone.
  const after = byHook(daemonLinks(sb.pinDir));
  assert.deepEqual(Object.keys(after).sort(), Object.keys(before).sort());
  assert.equal(Object.keys(after).length, 7);
  for (const [type, link] of Object.entries(after)) {
    if (type === 'cgroup_mkdir') assert.notEqual(link.id, before[type].id, type);
    else assert.equal(link.id, before[type].id, type);
    assert.notEqual(link.prog_id, before[type].prog_id, type);
  }
  assert.deepEqual(linksAlive([before.cgroup_mkdir]), [], 'the old cgroup_mkdir link is detached');
  assert.match(again.log, /adopted the pinned programs/);
});

itest('--keep-maps: SIGTERM detaches the programs but leaves the maps pinned', async (t) => {
  const { sb, echo, daemon } = await setUp(t, 'keepmaps', { keepMaps: true });
  const links = daemonLinks(sb.pinDir);
  const status = await daemon.stop('SIGTERM');
  assert.deepEqual(status, { code: 0, signal: null }, daemon.log);
  assert.deepEqual(linksAlive(links), []);
  const pins = listPins(sb.pinDir);
  for (const name of REQUIRED_PINS) assert.ok(pins.includes(name), `${name} still pinned: ${pins}`);
  assert.ok(!pins.some((name) => name.startsWith('links/')), `no link left pinned: ${pins}`);
  // What the maps held is still readable after the daemon is gone.
  const targets = dumpPinnedMap(path.join(sb.pinDir, 'targets'));
  assert.deepEqual(targets.map((entry) => entry.formatted.key.port), [echo.port]);
  // and it says no daemon runs: fail-open passes at once
  assert.equal(Number(dumpPinnedMap(path.join(sb.pinDir, 'daemon_alive'))[0].formatted.value.until_ns), 0);
});

// --cgroup removed and made again (rmdir + mkdir: a systemd unit restarted,
// a user slice at the next login, kubepods.slice after a node restart) is
// another cgroup, with another id. The kernel follows it at mkdir
// (cgroup_mkdir), before anything can be put in it: the first call from the
// new directory is judged, with no wait for the daemon to notice.
for (const failClosed of [false, true]) {
  itest(`--cgroup made again: a denied call from the new directory is denied at once${failClosed ? ' (--fail-closed)' : ''}`, async (t) => {
    const sb = sandbox(t, `remade-${failClosed}`);
    const rec = await startRecorder(sb, { tools: ['echo', 'execute'] });
    // a child of the sandbox's cgroup, so that the test may remove it
    const agents = sb.childCgroup('agents');
    const daemon = await startDaemon(sb, { failClosed, args: ['--cgroup', agents],
      policy: policyOf({ rec: { port: rec.port, tools: { execute: { action: 'deny', reason: 'no shell' } } } }) });
    const denied = async (marker) => {
      const out = await mcpClient(sb, rec.url(), { tool: 'execute', args: { marker }, inCgroup: agents });
      assert.equal(out.ok, true, out.error);
      expectDenial(assert, out.call, { reason: 'no shell' });
      await daemon.waitForInterceptions({ pid: out.pid });
    };
    await denied('before');
    const oldId = cgroupId(agents);
    fs.rmdirSync(agents);
    fs.mkdirSync(agents);
    assert.notEqual(cgroupId(agents), oldId);
    await denied('after');
    assert.deepEqual(rec.calls().filter((c) => c.tool === 'execute'), [], 'no denied call reached the server');
    // the daemon noticed too, and says the kernel had followed it
    const line = await daemon.waitForLine(/agents' cgroup .* was recreated/);
    assert.match(line, new RegExp(`agents' cgroup ${agents} was recreated: now id ${cgroupId(agents)} \\(followed by the kernel at mkdir\\)`));
  });
}

// With no daemon at all (--fail-closed, killed), the pinned cgroup_mkdir
// still follows a --cgroup made again: its agents stay refused.
itest('--fail-closed, daemon killed: --cgroup made again is still refused', async (t) => {
  const sb = sandbox(t, 'remade-killed');
  const echo = await startEchoServer(sb);
  const agents = sb.childCgroup('agents');
  const daemon = await startDaemon(sb, { failClosed: true, args: ['--cgroup', agents],
    policy: policyFor({ echo: [`127.0.0.1:${echo.port}`] }) });
  await daemon.kill9();
  const before = await transfer(sb, { port: echo.port, mode: 'echo', bytes: 100 }, { inCgroup: agents });
  assert.match(before.error || '', /^connect EPERM/, JSON.stringify(before));
  fs.rmdirSync(agents);
  fs.mkdirSync(agents);
  const after = await transfer(sb, { port: echo.port, mode: 'echo', bytes: 100 }, { inCgroup: agents });
  assert.equal(after.ok, false, JSON.stringify(after));
  assert.match(after.error, /^connect EPERM/, JSON.stringify(after));
});
