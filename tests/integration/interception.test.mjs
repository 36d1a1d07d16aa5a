// Transparent interception: unmodified clients in the test cgroup
// reach real servers through the daemon; everything else is untouched.
// Proof of the path is the daemon's own record of each connection (its -v
// log line, keyed by the client's pid); proof of transparency is what the
// client itself saw (replies, getpeername).
import assert from 'node:assert/strict';
import { itest } from '../lib/itest.mjs';
import { sandbox } from '../lib/sandbox.mjs';
import { startEverything } from '../lib/everything.mjs';
import { startEchoServer } from '../lib/echo.mjs';
import { startDaemon, policyFor } from '../lib/daemon.mjs';
import { cgroupPids, cgroupId } from '../lib/cgroup.mjs';
import { curlInitialize, transfer, mcpClient } from '../lib/agents.mjs';
import { freePort } from '../lib/ports.mjs';

const SERVER_INFO = /"serverInfo":\{"name":"mcp-servers\/everything"/;

// One intercepted connection of `pid`, with everything the daemon logged about it.
async function oneRecord(daemon, sb, pid) {
  const records = await daemon.waitForInterceptions({ pid });
  assert.equal(records.length, 1, `one connection, one record for pid ${pid}:\n${daemon.log}`);
  const [rec] = records;
  assert.equal(rec.cgroup, sb.cgroupId, 'record carries the agent cgroup id');
  assert.equal(rec.uid, process.getuid());
  return rec;
}

itest('unmodified curl reaches server-everything through the daemon', async (t) => {
  const sb = sandbox(t, 'curl');
  const everything = await startEverything(sb);
  const daemon = await startDaemon(sb, { policy: policyFor({ everything: [`127.0.0.1:${everything.port}`] }) });

  const res = await curlInitialize(sb, everything.url('127.0.0.1'));
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.status, 200);
  assert.match(res.body, SERVER_INFO);
  // getpeername: curl believes it talks to the server, not the daemon.
  assert.equal(res.peer, `127.0.0.1:${everything.port}`);

  const rec = await oneRecord(daemon, sb, res.pid);
  assert.equal(rec.comm, 'curl');
  assert.equal(rec.server, 'everything');
  assert.equal(rec.orig, `127.0.0.1:${everything.port}`);
});

for (const [transport, sockmap] of [['streamable', undefined], ['sse', undefined], ['streamable', true], ['sse', true]]) {
  const variant = sockmap ? ', --sockmap' : '';
  itest(`the Node MCP SDK client (${transport}${variant}) works through the daemon`, async (t) => {
    const sb = sandbox(t, `sdk-${transport}${sockmap ? '-sockmap' : ''}`);
    const everything = await startEverything(sb, transport === 'sse' ? 'sse' : 'streamableHttp');
    const daemon = await startDaemon(sb, { sockmap, policy: policyFor({ everything: [`127.0.0.1:${everything.port}`] }) });

    const message = `through mcpfence ${transport} ${Date.now()}`;
    const out = await mcpClient(sb, everything.url('127.0.0.1'), { transport, tool: 'echo', args: { message } });
    assert.equal(out.ok, true, out.error);
    assert.equal(out.serverInfo.name, 'mcp-servers/everything');
    assert.ok(out.tools.includes('echo'), `tools/list: ${out.tools}`);
    assert.deepEqual(out.call.content, [{ type: 'text', text: `Echo: ${message}` }]);

    // The SDK may open several connections (POST, GET stream): all are ours.
    const records = await daemon.waitForInterceptions({ pid: out.pid });
    for (const rec of records) {
      assert.equal(rec.comm, 'node');
      assert.equal(rec.server, 'everything');
      assert.equal(rec.orig, `127.0.0.1:${everything.port}`);
      assert.equal(rec.cgroup, sb.cgroupId);
    }
  });
}

itest('a process outside the cgroup is not intercepted', async (t) => {
  const sb = sandbox(t, 'outside');
  const everything = await startEverything(sb);
  const daemon = await startDaemon(sb, { policy: policyFor({ everything: [`127.0.0.1:${everything.port}`] }) });

  const outside = await curlInitialize(sb, everything.url('127.0.0.1'), { inCgroup: false });
  assert.equal(outside.code, 0, outside.stderr);
  assert.match(outside.body, SERVER_INFO);
  // A later connection from inside is logged: the log is caught up past
  // the outside one, which must not be in it.
  const inside = await curlInitialize(sb, everything.url('127.0.0.1'));
  assert.equal(inside.code, 0, inside.stderr);
  await oneRecord(daemon, sb, inside.pid);
  assert.deepEqual(daemon.interceptions({ pid: outside.pid }), []);
  assert.equal(daemon.interceptions().length, 1, daemon.log);
});

itest('an agent in a child cgroup of the target is intercepted too', async (t) => {
  const sb = sandbox(t, 'nested');
  const echo = await startEchoServer(sb);
  const daemon = await startDaemon(sb, { policy: policyFor({ echo: [`127.0.0.1:${echo.port}`] }) });
  const child = sb.childCgroup('pod');

  const out = await transfer(sb, { host: '127.0.0.1', port: echo.port, mode: 'echo', bytes: 4096 }, { inCgroup: child });
  assert.equal(out.ok, true, JSON.stringify(out));
  assert.equal(out.remotePort, echo.port);
  const [rec] = await daemon.waitForInterceptions({ pid: out.pid });
  assert.equal(rec.cgroup, cgroupId(child), 'the record names the agent\'s own cgroup');
});

itest('IPv4 endpoint: intercepted, getpeername shows the original address', async (t) => {
  const sb = sandbox(t, 'ipv4');
  const echo = await startEchoServer(sb);
  const daemon = await startDaemon(sb, { policy: policyFor({ echo: [`127.0.0.1:${echo.port}`] }) });

  const out = await transfer(sb, { host: '127.0.0.1', port: echo.port, mode: 'echo', bytes: 4096 });
  assert.equal(out.ok, true, JSON.stringify(out));
  assert.equal(out.remoteAddress, '127.0.0.1');
  assert.equal(out.remotePort, echo.port);
  const rec = await oneRecord(daemon, sb, out.pid);
  assert.equal(rec.orig, `127.0.0.1:${echo.port}`);
  assert.equal(rec.server, 'echo');
});

itest('IPv6 endpoint [::1]: intercepted, getpeername shows the original address', async (t) => {
  const sb = sandbox(t, 'ipv6');
  const echo = await startEchoServer(sb);
  const everything = await startEverything(sb);
  const daemon = await startDaemon(sb, {
    policy: policyFor({ echo: [`[::1]:${echo.port}`], everything: [`[::1]:${everything.port}`] }),
  });

  const out = await transfer(sb, { host: '::1', port: echo.port, mode: 'echo', bytes: 4096 });
  assert.equal(out.ok, true, JSON.stringify(out));
  assert.equal(out.remoteAddress, '::1');
  assert.equal(out.remotePort, echo.port);
  assert.equal((await oneRecord(daemon, sb, out.pid)).orig, `[::1]:${echo.port}`);

  const res = await curlInitialize(sb, everything.url('[::1]'));
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.body, SERVER_INFO);
  assert.equal(res.peer, `::1:${everything.port}`);
  assert.equal((await oneRecord(daemon, sb, res.pid)).orig, `[::1]:${everything.port}`);
});

itest('v4-mapped IPv6 (::ffff:127.0.0.1) to an IPv4 endpoint is intercepted', async (t) => {
  const sb = sandbox(t, 'v4mapped');
  const echo = await startEchoServer(sb);
  const daemon = await startDaemon(sb, { policy: policyFor({ echo: [`127.0.0.1:${echo.port}`] }) });

  const out = await transfer(sb, { host: '::ffff:127.0.0.1', port: echo.port, mode: 'echo', bytes: 4096 });
  assert.equal(out.ok, true, JSON.stringify(out));
  assert.equal(out.family, 'IPv6', 'an AF_INET6 socket');
  assert.equal(out.remoteAddress, '::ffff:127.0.0.1');
  assert.equal(out.remotePort, echo.port);
  const rec = await oneRecord(daemon, sb, out.pid);
  assert.match(rec.orig, new RegExp(`^(127\\.0\\.0\\.1|\\[::ffff:127\\.0\\.0\\.1\\]):${echo.port}$`));
});

itest('wildcard ":PORT" intercepts every local address on that port', async (t) => {
  const sb = sandbox(t, 'wildcard');
  const echo = await startEchoServer(sb);
  const daemon = await startDaemon(sb, { policy: policyFor({ anywhere: [`:${echo.port}`] }) });

  for (const [host, orig] of [['127.0.0.1', '127.0.0.1'], ['127.0.0.2', '127.0.0.2'], ['::1', '[::1]']]) {
    const out = await transfer(sb, { host, port: echo.port, mode: 'echo', bytes: 1000 });
    assert.equal(out.ok, true, JSON.stringify(out));
    assert.equal(out.remoteAddress, host);
    assert.equal(out.remotePort, echo.port);
    const rec = await oneRecord(daemon, sb, out.pid);
    assert.equal(rec.orig, `${orig}:${echo.port}`);
    assert.equal(rec.server, 'anywhere');
  }
});

itest("one server's two sockets, 127.0.0.1:P and [::1]:P (v6-only), only the first registered: [::1] and [::] are intercepted as it", async (t) => {
  const sb = sandbox(t, 'dual-socket');
  const port = await freePort();
  // one process, one HTTP server, two listening sockets (as nginx with `listen 127.0.0.1:P; listen [::1]:P;`)
  const server = sb.spawn(process.execPath, ['-e', `const http = require('node:http'); let n = 0;
    const echo = (req, res) => { const parts = []; req.on('data', (d) => parts.push(d));
      req.on('end', () => { const body = Buffer.concat(parts); res.setHeader('Content-Length', body.length); res.end(body); }); };
    for (const host of ['127.0.0.1', '::1'])
      http.createServer(echo).listen({ port: ${port}, host, ipv6Only: true }, () => { if (++n === 2) console.log('listening'); });`]);
  await server.waitForOutput(/listening/);
  const daemon = await startDaemon(sb, { policy: policyFor({ echo: [`127.0.0.1:${port}`] }) });
  for (const host of ['::1', '::']) {
    const out = await transfer(sb, { host, port, mode: 'echo', bytes: 4096 });
    assert.equal(out.ok, true, JSON.stringify(out));
    const rec = await oneRecord(daemon, sb, out.pid);
    assert.equal(rec.server, 'echo', host);
    assert.equal(rec.orig, `[::1]:${port}`, host);
  }
});

itest('a host name endpoint (localhost:PORT) is resolved by the daemon', async (t) => {
  const sb = sandbox(t, 'hostname');
  const echo = await startEchoServer(sb);
  const daemon = await startDaemon(sb, { policy: policyFor({ named: [`localhost:${echo.port}`] }) });
  // resolved in the background, without holding up the start
  await daemon.waitForLine(new RegExp(`endpoint localhost:${echo.port} resolves to`));

  // /etc/hosts on this machine maps localhost to 127.0.0.1 only.
  const out = await transfer(sb, { host: '127.0.0.1', port: echo.port, mode: 'echo', bytes: 1000 });
  assert.equal(out.ok, true, JSON.stringify(out));
  const rec = await oneRecord(daemon, sb, out.pid);
  assert.equal(rec.server, 'named');
  assert.equal(rec.orig, `127.0.0.1:${echo.port}`);
});

itest('upstream refused: the agent gets a 502 from the daemon, which keeps serving', async (t) => {
  const sb = sandbox(t, 'refused');
  const echo = await startEchoServer(sb);
  const deadPort = await freePort();
  const daemon = await startDaemon(sb, {
    policy: policyFor({ dead: [`127.0.0.1:${deadPort}`], echo: [`127.0.0.1:${echo.port}`] }),
  });

  // Direct, connect() would fail; through the daemon it succeeds, so the
  // daemon answers the request itself: 502 Bad Gateway, promptly (no hang,
  // no bare reset).
  const out = await transfer(sb, { host: '127.0.0.1', port: deadPort, mode: 'echo', bytes: 1000 }, { timeoutMs: 30000 });
  assert.equal(out.ok, false, JSON.stringify(out));
  assert.equal(out.status, 502, JSON.stringify(out));
  await oneRecord(daemon, sb, out.pid);

  assert.equal((await daemon.healthz()).status, 200);
  const after = await transfer(sb, { host: '127.0.0.1', port: echo.port, mode: 'echo', bytes: 1000 });
  assert.equal(after.ok, true, JSON.stringify(after));
});

itest('a port that is not registered is untouched', async (t) => {
  const sb = sandbox(t, 'unregistered');
  const registered = await startEchoServer(sb);
  const other = await startEchoServer(sb);
  const daemon = await startDaemon(sb, {
    policy: policyFor({ echo: [`127.0.0.1:${registered.port}`, `[::1]:${registered.port}`] }),
  });

  const untouched = [];
  for (const host of ['127.0.0.1', '::1']) {
    const out = await transfer(sb, { host, port: other.port, mode: 'echo', bytes: 65536 });
    assert.equal(out.ok, true, JSON.stringify(out));
    assert.equal(out.remotePort, other.port);
    untouched.push(out.pid);
  }
  const sentinel = await transfer(sb, { host: '127.0.0.1', port: registered.port, mode: 'echo', bytes: 10 });
  assert.equal(sentinel.ok, true, JSON.stringify(sentinel));
  await oneRecord(daemon, sb, sentinel.pid);
  for (const pid of untouched) assert.deepEqual(daemon.interceptions({ pid }), []);
  assert.equal(daemon.interceptions().length, 1, daemon.log);
});

for (const sockmap of [false, true]) {
  itest(`no redirect loop when the daemon itself runs inside the target cgroup (${sockmap ? '--sockmap' : '--no-sockmap'})`, async (t) => {
    const sb = sandbox(t, `noloop-${sockmap}`);
    const echo = await startEchoServer(sb);
    const everything = await startEverything(sb);
    const daemon = await startDaemon(sb, {
      inCgroup: true,
      sockmap,
      policy: policyFor({ echo: [`127.0.0.1:${echo.port}`], everything: [`127.0.0.1:${everything.port}`] }),
    });
    assert.ok(cgroupPids(sb.cgroup).includes(daemon.pid), 'the daemon runs in the target cgroup');

    const out = await transfer(sb, { host: '127.0.0.1', port: echo.port, mode: 'echo', bytes: 1 << 20 });
    assert.equal(out.ok, true, JSON.stringify(out));
    await oneRecord(daemon, sb, out.pid);
    const res = await curlInitialize(sb, everything.url('127.0.0.1'));
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.body, SERVER_INFO);
    await oneRecord(daemon, sb, res.pid);
    // The daemon's upstream connects (SO_MARK) were not sent back to itself.
    assert.deepEqual(daemon.interceptions({ pid: daemon.pid }), [], daemon.log);
    assert.equal(daemon.interceptions().length, 2, daemon.log);
  });
}
