// Private cgroup v2 directories for tests: created under the host's cgroup2
// mount (found in /proc/mounts), emptied and removed afterwards, so tests
// attach programs only to processes they started themselves.
import fs from 'node:fs';
import path from 'node:path';
import { sleepSync } from './sleep.mjs';

let cachedRoot;

// Mount point of the cgroup v2 hierarchy, or null when there is none.
export function cgroup2Root() {
  if (cachedRoot !== undefined) return cachedRoot;
  cachedRoot = null;
  for (const line of fs.readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const [, mountPoint, fsType] = line.split(' ');
    if (fsType === 'cgroup2') {
      // /proc/mounts escapes spaces and the like as octal.
      cachedRoot = mountPoint.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
      break;
    }
  }
  return cachedRoot;
}

let sequence = 0;

export function createCgroup(label) {
  const root = cgroup2Root();
  if (!root) throw new Error('no cgroup2 mount in /proc/mounts');
  const dir = path.join(root, `mcpfence-test-${label}-${process.pid}-${++sequence}`);
  fs.mkdirSync(dir);
  return dir;
}

// The cgroup id BPF helpers report (bpf_get_current_cgroup_id) is the inode
// number of the cgroup's directory.
export function cgroupId(dir) {
  return fs.statSync(dir, { bigint: true }).ino;
}

export function cgroupPids(dir) {
  try {
    return fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch (err) {
    if (err.code === 'ENOENT') return [];
    throw err;
  }
}

// Kills whatever still runs in the cgroup and below it (everything there
// was started by the test), moves any survivor to the parent so rmdir
// cannot fail with EBUSY forever, then removes the directory, children
// first. Synchronous so it can run from a process 'exit' handler too.
export function destroyCgroupSync(dir) {
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) destroyCgroupSync(path.join(dir, entry.name));
  }
  try {
    fs.writeFileSync(path.join(dir, 'cgroup.kill'), '1');
  } catch {
    for (const pid of cgroupPids(dir)) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
    }
  }
  for (let i = 0; i < 100 && cgroupPids(dir).length > 0; i++) sleepSync(20);
  for (const pid of cgroupPids(dir)) {
    try { fs.writeFileSync(path.join(path.dirname(dir), 'cgroup.procs'), String(pid)); } catch { /* exited meanwhile */ }
  }
  for (let i = 0; ; i++) {
    try {
      fs.rmdirSync(dir);
      return;
    } catch (err) {
      if (err.code === 'ENOENT') return;
      // Killed tasks leave the cgroup asynchronously: EBUSY for a moment.
      if (err.code !== 'EBUSY' || i >= 100) throw err;
      sleepSync(20);
    }
  }
}
