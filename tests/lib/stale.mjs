// Leftovers of test processes that died without cleaning up (SIGKILL, a
// runner killed from outside): cgroups, bpffs mounts and temp dirs whose
// names carry the pid of a process that no longer exists. They are
// removed before the first sandbox of a run, but only when nothing runs
// in them any more: processes are never killed here, whoever started them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { cgroup2Root, cgroupPids } from './cgroup.mjs';
import { bpffsMounts } from './bpffs.mjs';

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

function ownerDead(name, pattern) {
  const m = name.match(pattern);
  return m !== null && Number(m[1]) !== process.pid && !alive(Number(m[1]));
}

// Removes an empty cgroup tree, children first; false if anything runs in it.
function removeEmptyCgroup(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory() && !removeEmptyCgroup(path.join(dir, entry.name))) return false;
  }
  if (cgroupPids(dir).length > 0) return false;
  fs.rmdirSync(dir);
  return true;
}

function sweep() {
  const root = cgroup2Root();
  if (root) {
    for (const name of fs.readdirSync(root)) {
      if (!ownerDead(name, /^mcpfence-test-.*-(\d+)-\d+$/)) continue;
      try { removeEmptyCgroup(path.join(root, name)); } catch { /* busy: leave it */ }
    }
  }
  for (const dir of bpffsMounts()) {
    if (path.dirname(dir) !== os.tmpdir() || !ownerDead(path.basename(dir), /^mcpfence-bpffs-(\d+)-/)) continue;
    try {
      execFileSync('umount', [dir], { stdio: 'ignore' });
      fs.rmdirSync(dir);
    } catch { /* busy: leave it */ }
  }
  for (const name of fs.readdirSync(os.tmpdir())) {
    if (ownerDead(name, /^mcpfence-test-(\d+)-/)) fs.rmSync(path.join(os.tmpdir(), name), { recursive: true, force: true });
  }
}

let swept = false;

export function sweepStaleOnce() {
  if (swept) return;
  swept = true;
  sweep();
}
