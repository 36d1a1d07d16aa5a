// Issue 2, byte-exactness of the forwarding path, with the sockmap
// shortcut (sk_msg redirect between the agent and daemon sockets) and
// without it (--no-sockmap): every byte arrives, once, in order, in both
// directions, from 1 byte to 16 MiB, across half-close and a long-lived
// streaming response. Each connection is also checked to have gone
// through the daemon, otherwise these tests would prove nothing about it.
import assert from 'node:assert/strict';
import { itest } from '../lib/itest.mjs';
import { sandbox } from '../lib/sandbox.mjs';
import { startEchoServer } from '../lib/echo.mjs';
import { startDaemon, policyFor } from '../lib/daemon.mjs';
import { transfer } from '../lib/agents.mjs';

const MiB = 1 << 20;
// Around the sizes where things break: single bytes, page and TCP segment
// boundaries, 64 KiB (sk_msg scatterlist sizes), and large messages that
// sockmap redirects have mishandled on some kernels.
const SIZES = [1, 2, 1000, 4095, 4096, 4097, 65535, 65536, 65537, MiB - 1, MiB, 4 * MiB + 1, 16 * MiB];

async function setUp(t, label, sockmap) {
  const sb = sandbox(t, label);
  const echo = await startEchoServer(sb);
  const daemon = await startDaemon(sb, { sockmap, policy: policyFor({ echo: [`127.0.0.1:${echo.port}`] }) });
  return { sb, echo, daemon };
}

async function assertAllIntercepted(daemon, sb, pids, port) {
  for (const pid of pids) {
    const records = await daemon.waitForInterceptions({ pid });
    assert.equal(records.length, 1, `pid ${pid}`);
    assert.equal(records[0].orig, `127.0.0.1:${port}`);
    assert.equal(records[0].cgroup, sb.cgroupId);
  }
}

for (const sockmap of [true, false]) {
  const variant = sockmap ? 'sockmap' : 'no-sockmap';

  itest(`${variant}: echo 1 B .. 16 MiB both directions at once, then half-close`, async (t) => {
    const { sb, echo, daemon } = await setUp(t, `echo-${variant}`, sockmap);
    const pids = [];
    for (const bytes of SIZES) {
      const out = await transfer(sb, { port: echo.port, mode: 'echo', bytes });
      assert.equal(out.ok, true, `${bytes} B: ${JSON.stringify(out)}`);
      assert.equal(out.receivedBytes, bytes);
      assert.equal(out.receivedSha256, out.sentSha256);
      pids.push(out.pid);
    }
    await assertAllIntercepted(daemon, sb, pids, echo.port);
  });

  itest(`${variant}: upload 1 B .. 16 MiB, half-close, then the server's reply`, async (t) => {
    const { sb, echo, daemon } = await setUp(t, `upload-${variant}`, sockmap);
    const pids = [];
    for (const bytes of SIZES) {
      const out = await transfer(sb, { port: echo.port, mode: 'sink', bytes });
      assert.equal(out.ok, true, `${bytes} B: ${JSON.stringify(out)}`);
      assert.equal(out.serverBytes, bytes);
      assert.equal(out.serverSha256, out.sentSha256);
      pids.push(out.pid);
    }
    await assertAllIntercepted(daemon, sb, pids, echo.port);
  });

  itest(`${variant}: download 0 B .. 16 MiB after the client half-closed`, async (t) => {
    const { sb, echo, daemon } = await setUp(t, `download-${variant}`, sockmap);
    const pids = [];
    for (const bytes of [0, ...SIZES]) {
      const out = await transfer(sb, { port: echo.port, mode: 'source', bytes });
      assert.equal(out.ok, true, `${bytes} B: ${JSON.stringify(out)}`);
      assert.equal(out.receivedBytes, bytes);
      assert.equal(out.receivedSha256, out.expectedSha256);
      pids.push(out.pid);
    }
    await assertAllIntercepted(daemon, sb, pids, echo.port);
  });

  itest(`${variant}: long-lived streaming response, chunk by chunk`, async (t) => {
    const { sb, echo, daemon } = await setUp(t, `stream-${variant}`, sockmap);
    // 40 chunks, 100 ms apart: the server sends chunk k+1 only after the
    // client acknowledged chunk k, so a proxy that held back any part of
    // the response would stall this to its timeout instead of passing.
    for (const size of [1, 1500, 64 * 1024]) {
      const out = await transfer(sb, { port: echo.port, mode: 'stream', count: 40, size, interval: 100 }, { timeoutMs: 60000 });
      assert.equal(out.ok, true, `${size} B chunks: ${JSON.stringify(out)}`);
      assert.equal(out.chunks, 40);
      assert.equal(out.receivedSha256, out.expectedSha256);
      await assertAllIntercepted(daemon, sb, [out.pid], echo.port);
    }
  });
}
