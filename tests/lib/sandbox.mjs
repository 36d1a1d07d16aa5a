// One test's private world: its own cgroup v2 dir (where agent processes
// run), a second one for the daemon (so whatever the daemon attaches to
// its own cgroup never lands on the host's root cgroup), its own bpffs
// mount (the daemon pins under pinDir inside it), a temp dir, and the
// processes it started. Everything is torn down after the test, pass or
// fail, and again from a process 'exit' handler if the runner dies first.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCgroup, cgroupId, destroyCgroupSync } from './cgroup.mjs';
import { mountBpffs, unmountBpffsSync } from './bpffs.mjs';
import { Proc, run, killAllSync } from './processes.mjs';
import { sweepStaleOnce } from './stale.mjs';

const open = new Set();

export class Sandbox {
  constructor(label) {
    this.label = label;
    this.procs = [];
    this.teardown = [];  // run before the temp dir goes (e.g. netns unmounts)
    sweepStaleOnce();
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), `mcpfence-test-${process.pid}-${label}-`));
    open.add(this);
    try {
      this.cgroup = createCgroup(label);
      this.cgroupId = cgroupId(this.cgroup);
      this.daemonCgroup = createCgroup(`${label}-daemon`);
      this.bpffs = mountBpffs();
      this.pinDir = path.join(this.bpffs, 'mcpfence');
    } catch (err) {
      this.cleanupSync(); // whatever part was made
      throw err;
    }
  }

  // A long-running process; { cgroup: true } starts it inside the agent
  // cgroup, { cgroup: DIR } inside DIR.
  spawn(command, args, { cgroup = false, ...options } = {}) {
    const dir = cgroup === true ? this.cgroup : cgroup || undefined;
    const proc = new Proc(command, args, { ...options, cgroup: dir });
    this.procs.push(proc);
    return proc;
  }

  // A command run to completion inside the agent cgroup (an "agent"), or
  // inside { cgroup: DIR }, e.g. a child cgroup of it.
  runInCgroup(command, args, options = {}) {
    return run(command, args, { cgroup: this.cgroup, ...options });
  }

  // fn() runs at cleanup, after the processes are killed and before the
  // cgroups and the temp dir go (last registered, first run).
  onCleanup(fn) {
    this.teardown.push(fn);
  }

  // Where the sandbox's daemon looks for named network namespaces
  // (--netns-dir): its own, never the host's /run/netns.
  get netnsDir() {
    return path.join(this.tmp, 'netns');
  }

  // A child cgroup of the agent cgroup (removed with it).
  childCgroup(name) {
    const dir = path.join(this.cgroup, name);
    fs.mkdirSync(dir);
    return dir;
  }

  // The same command outside any test cgroup (never intercepted).
  runOutside(command, args, options = {}) {
    return run(command, args, options);
  }

  async cleanup() {
    await Promise.all(this.procs.map((proc) => proc.stop('SIGKILL')));
    this.cleanupSync();
  }

  cleanupSync() {
    if (!open.has(this)) return;
    open.delete(this);
    const errors = [];
    for (const step of [
      () => { for (const proc of this.procs) proc.kill('SIGKILL'); },
      ...this.teardown.reverse(),
      () => this.cgroup && destroyCgroupSync(this.cgroup),
      () => this.daemonCgroup && destroyCgroupSync(this.daemonCgroup),
      () => this.bpffs && unmountBpffsSync(this.bpffs),
      () => fs.rmSync(this.tmp, { recursive: true, force: true }),
    ]) {
      try { step(); } catch (err) { errors.push(err.message); }
    }
    if (errors.length) throw new Error(`sandbox ${this.label} cleanup: ${errors.join('; ')}`);
  }
}

// Creates a sandbox for node:test context `t`, removed after the test.
export function sandbox(t, label = t.name) {
  const sb = new Sandbox(label.replace(/[^A-Za-z0-9_.-]+/g, '-').slice(0, 40));
  t.after(() => sb.cleanup());
  return sb;
}

function cleanupEverythingSync() {
  killAllSync();
  for (const sb of [...open]) {
    try { sb.cleanupSync(); } catch (err) { process.stderr.write(`${err.message}\n`); }
  }
}

process.on('exit', cleanupEverythingSync);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    cleanupEverythingSync();
    process.exit(128 + os.constants.signals[signal]);
  });
}
