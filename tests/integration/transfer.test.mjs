// Byte-exactness of the forwarding path, with the sockmap
// shortcut (sk_msg redirect between the agent and daemon sockets) and
// without it (--no-sockmap): every byte arrives, once, in order, in both
// directions, from 1 byte to 16 MiB, with the agent half-closing after its
// request and without, and in a long-lived streaming response. The
// traffic is HTTP/1.1 on non-MCP paths (the daemon parses every
// intercepted connection as HTTP and forwards these untouched). Each connection is also checked to have gone
// through the daemon, and with sockmap on, to have stayed on the sk_msg
// path (no socket fell back to TCP), otherwise these tests would prove
// nothing about the path they name.
import assert from 'node:assert/strict';
import { itest } from '../lib/itest.mjs';
import { sandbox } from '../lib/sandbox.mjs';
import { startEchoServer } from '../lib/echo.mjs';
import { startDaemon, policyFor } from '../lib/daemon.mjs';
import { transfer } from '../lib/agents.mjs';
import { daemonMapIds, dumpSockKeys } from '../lib/bpftool.mjs';
import { sleep } from '../lib/sleep.mjs';

const MiB = 1 << 20;
// Around the sizes where things break: single bytes, page and TCP segment
// boundaries, 64 KiB (sk_msg scatterlist sizes), and large messages that
// sockmap redirects have mishandled on some kernels.
const SIZES = [1, 2, 1000, 4095, 4096, 4097, 65535, 65536, 65537, MiB - 1, MiB, 4 * MiB + 1, 16 * MiB];
// The client writes 256 KiB per write() call; these sizes are also handed
// to the kernel in one write() each (it takes what fits in the socket
// buffer), for the largest messages sk_msg can be given.
const SINGLE_WRITES = [4 * MiB + 1, 16 * MiB];

function uploads() {
  return [
    ...SIZES.map((bytes) => ({ bytes })),
    ...SINGLE_WRITES.map((bytes) => ({ bytes, 'write-size': bytes })),
  ];
}

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

// tcp_only holds every socket whose bytes could not be redirected by
// sk_msg (its peer was not paired yet) and so went through TCP for life.
function assertNoTcpFallback(sb, sockmap) {
  if (!sockmap) return;
  const fellBack = dumpSockKeys(daemonMapIds(sb.pinDir).tcp_only);
  assert.deepEqual(fellBack, [], 'sockets that fell back from sk_msg to TCP');
}

for (const [sockmap, halfClose] of [[true, true], [true, false], [false, true], [false, false]]) {
  const variant = `${sockmap ? 'sockmap' : 'no-sockmap'}, ${halfClose ? 'half-close' : 'no half-close'}`;
  const tag = `${sockmap ? 'sm' : 'nosm'}-${halfClose ? 'hc' : 'open'}`;

  itest(`${variant}: echo 1 B .. 16 MiB up and back`, async (t) => {
    const { sb, echo, daemon } = await setUp(t, `echo-${tag}`, sockmap);
    const pids = [];
    for (const upload of uploads()) {
      const { bytes } = upload;
      const out = await transfer(sb, { port: echo.port, mode: 'echo', 'half-close': halfClose, ...upload });
      assert.equal(out.ok, true, `${JSON.stringify(upload)}: ${JSON.stringify(out)}`);
      assert.equal(out.receivedBytes, bytes);
      assert.equal(out.receivedSha256, out.sentSha256);
      pids.push(out.pid);
    }
    await assertAllIntercepted(daemon, sb, pids, echo.port);
    assertNoTcpFallback(sb, sockmap);
  });

  itest(`${variant}: upload 1 B .. 16 MiB, then the server's digest`, async (t) => {
    const { sb, echo, daemon } = await setUp(t, `upload-${tag}`, sockmap);
    const pids = [];
    for (const upload of uploads()) {
      const { bytes } = upload;
      const out = await transfer(sb, { port: echo.port, mode: 'sink', 'half-close': halfClose, ...upload });
      assert.equal(out.ok, true, `${JSON.stringify(upload)}: ${JSON.stringify(out)}`);
      assert.equal(out.serverBytes, bytes);
      assert.equal(out.serverSha256, out.sentSha256);
      pids.push(out.pid);
    }
    await assertAllIntercepted(daemon, sb, pids, echo.port);
    assertNoTcpFallback(sb, sockmap);
  });

  itest(`${variant}: download 0 B .. 16 MiB`, async (t) => {
    const { sb, echo, daemon } = await setUp(t, `download-${tag}`, sockmap);
    const pids = [];
    for (const bytes of [0, ...SIZES]) {
      const out = await transfer(sb, { port: echo.port, mode: 'source', 'half-close': halfClose, bytes });
      assert.equal(out.ok, true, `${bytes} B: ${JSON.stringify(out)}`);
      assert.equal(out.receivedBytes, bytes);
      assert.equal(out.receivedSha256, out.expectedSha256);
      pids.push(out.pid);
    }
    await assertAllIntercepted(daemon, sb, pids, echo.port);
    assertNoTcpFallback(sb, sockmap);
  });

  if (!halfClose) continue; // the stream does not depend on it: once per sockmap setting
  itest(`${sockmap ? 'sockmap' : 'no-sockmap'}: long-lived streaming response, chunk by chunk`, async (t) => {
    const { sb, echo, daemon } = await setUp(t, `stream-${tag}`, sockmap);
    // 40 chunks, 100 ms apart: the server sends chunk k+1 only after the
    // client acknowledged chunk k (on another connection), so a proxy that
    // held back any part of the response would stall this to its timeout
    // instead of passing.
    for (const size of [1, 1500, 64 * 1024]) {
      const streaming = transfer(sb, { port: echo.port, mode: 'stream', count: 40, size, interval: 100 }, { timeoutMs: 60000 });
      // Mid-stream: with sockmap both ends of this agent<->daemon
      // connection are paired in the sockhash (so is the ack connection);
      // with --no-sockmap nothing is.
      await sleep(1000);
      const paired = dumpSockKeys(daemonMapIds(sb.pinDir).sock_pairs);
      const out = await streaming;
      assert.equal(out.ok, true, `${size} B chunks: ${JSON.stringify(out)}`);
      assert.equal(out.chunks, 40);
      assert.equal(out.receivedSha256, out.expectedSha256);
      const records = await daemon.waitForInterceptions({ pid: out.pid }, 2);
      assert.ok(records.some((rec) => rec.orig === `127.0.0.1:${echo.port}`));
      const streamPairs = paired.filter((key) => key.localPort === out.localPort || key.remotePort === out.localPort);
      if (sockmap) {
        // Keyed in the namespace both ends live in (the same for both, never 0).
        const netns = streamPairs[0]?.netns;
        assert.ok(netns > 0n, JSON.stringify(streamPairs, (k, v) => (typeof v === 'bigint' ? String(v) : v)));
        assert.deepEqual(streamPairs.sort((a, b) => a.localPort - b.localPort), [
          { localPort: out.localPort, remotePort: daemon.listenPort, netns },
          { localPort: daemon.listenPort, remotePort: out.localPort, netns },
        ].sort((a, b) => a.localPort - b.localPort), 'the stream connection in sock_pairs');
      } else {
        assert.deepEqual(paired, [], 'sock_pairs with --no-sockmap');
      }
    }
    assertNoTcpFallback(sb, sockmap);
  });
}
