// 1,000 connections held open through the daemon at the same
// time, every one byte-exact. Bounded: one client process, one run, a
// time limit; nothing here measures speed.
import assert from 'node:assert/strict';
import { itest } from '../lib/itest.mjs';
import { sandbox } from '../lib/sandbox.mjs';
import { startEchoServer } from '../lib/echo.mjs';
import { startDaemon, policyFor } from '../lib/daemon.mjs';
import { transfer } from '../lib/agents.mjs';
import { daemonMapIds, dumpSockKeys } from '../lib/bpftool.mjs';

const CONNECTIONS = 1000;

for (const sockmap of [true, false]) {
  const variant = sockmap ? 'sockmap' : 'no-sockmap';
  itest(`${variant}: ${CONNECTIONS} concurrent connections, all byte-exact`, async (t) => {
    const sb = sandbox(t, `concurrent-${variant}`);
    const echo = await startEchoServer(sb);
    const daemon = await startDaemon(sb, { sockmap, policy: policyFor({ echo: [`127.0.0.1:${echo.port}`] }) });

    const out = await transfer(sb, { port: echo.port, mode: 'many', connections: CONNECTIONS, bytes: 16 * 1024 }, { timeoutMs: 100000 });
    assert.equal(out.ok, true, JSON.stringify(out));
    assert.equal(out.concurrent, CONNECTIONS, 'all connections open end to end at once');
    assert.equal(out.succeeded, CONNECTIONS);
    const records = await daemon.waitForInterceptions({ pid: out.pid }, CONNECTIONS, 20000);
    assert.equal(records.length, CONNECTIONS);
    assert.ok(daemon.proc.running, 'the daemon survived');
    assert.equal((await daemon.healthz()).status, 200);
    if (sockmap) {
      // Even with 1,000 handshakes at once, every agent socket was paired
      // before its first byte: nothing fell back from sk_msg to TCP.
      assert.deepEqual(dumpSockKeys(daemonMapIds(sb.pinDir).tcp_only), []);
    }
  }, { timeoutMs: 180000 });
}
