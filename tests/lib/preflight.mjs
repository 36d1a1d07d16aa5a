#!/usr/bin/env node
// Can this machine run the integration tests? Prints one line and exits:
//   0  "integration: BPF ready: ..."
//   2  "integration: BPF unavailable: <why>"   (not root, no cgroup2 mount,
//      bpffs cannot be mounted, bpf() refused): the environment's fault
//   1  "integration: BPF unavailable: mcpfence could not attach: <log>"
//      the daemon's own fault or the kernel's; never a reason to skip
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { cgroup2Root } from './cgroup.mjs';
import { Sandbox } from './sandbox.mjs';
import { MCPFENCE, startDaemon, policyFor } from './daemon.mjs';
import { freePort } from './ports.mjs';

function say(code, text) {
  process.stdout.write(`integration: ${text}\n`);
  process.exit(code);
}

if (process.getuid() !== 0) say(2, `BPF unavailable: not root (uid ${process.getuid()}); cgroup BPF programs need CAP_BPF/CAP_NET_ADMIN/CAP_SYS_ADMIN`);
const root = cgroup2Root();
if (!root) say(2, 'BPF unavailable: no cgroup2 mount in /proc/mounts');
try {
  execFileSync('bpftool', ['prog', 'show'], { stdio: ['ignore', 'ignore', 'pipe'] });
} catch (err) {
  say(2, `BPF unavailable: bpftool prog show failed: ${String(err.stderr || err.message).trim()}`);
}
if (!fs.existsSync(MCPFENCE)) say(1, `cannot run: ${MCPFENCE} is not built`);

let sb;
try {
  sb = new Sandbox('preflight');
} catch (err) {
  say(2, `BPF unavailable: ${err.message}`);
}
try {
  const daemon = await startDaemon(sb, { policy: policyFor({ preflight: [`127.0.0.1:${await freePort()}`] }) });
  await daemon.stop();
  await sb.cleanup();
  say(0, `BPF ready: root, cgroup2 at ${root}, private bpffs mounts, mcpfence attaches`);
} catch (err) {
  await sb.cleanup().catch(() => {});
  const tail = err.message.split('\n').filter(Boolean).slice(-6).join(' | ');
  say(1, `BPF unavailable: mcpfence could not attach: ${tail}`);
}
