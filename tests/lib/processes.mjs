// Child processes of a test: started directly or inside a given cgroup,
// with their output collected, and all killed when the test process exits
// whatever happened (see killAllSync, called from sandbox.mjs).
import { spawn } from 'node:child_process';
import path from 'node:path';

const live = new Set();

// A started child. stdout/stderr are collected as text; `exited` resolves
// with { code, signal } once the process is gone.
export class Proc {
  constructor(command, args, { cgroup, env, cwd, stdin = 'ignore' } = {}) {
    let file = command;
    let argv = args;
    if (cgroup) {
      // The shell moves itself into the cgroup, then execs the command, so
      // the command's first instruction (and every connect) already runs
      // inside it, and its pid is the pid we spawned.
      file = 'sh';
      argv = ['-c', 'echo $$ > "$0" && exec "$@"', path.join(cgroup, 'cgroup.procs'), command, ...args];
    }
    this.command = command;
    this.stdout = '';
    this.stderr = '';
    this.child = spawn(file, argv, { env: env ? { ...process.env, ...env } : process.env, cwd, stdio: [stdin, 'pipe', 'pipe'] });
    this.pid = this.child.pid;
    this.exitStatus = null;
    live.add(this);
    this.child.stdout.setEncoding('utf8').on('data', (chunk) => { this.stdout += chunk; });
    this.child.stderr.setEncoding('utf8').on('data', (chunk) => { this.stderr += chunk; });
    this.exited = new Promise((resolve) => {
      this.child.on('error', (err) => {
        this.stderr += `spawn ${command} failed: ${err.message}\n`;
        this.exitStatus = { code: 127, signal: null };
        live.delete(this);
        resolve(this.exitStatus);
      });
      this.child.on('close', (code, signal) => {
        this.exitStatus = { code, signal };
        live.delete(this);
        resolve(this.exitStatus);
      });
    });
  }

  get running() {
    return this.exitStatus === null;
  }

  kill(signal = 'SIGTERM') {
    if (this.running) {
      try { this.child.kill(signal); } catch { /* already gone */ }
    }
  }

  // Waits until `pattern` matches the collected stream text; returns the match.
  async waitForOutput(pattern, { stream = 'stdout', timeoutMs = 15000 } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = this[stream].match(pattern);
      if (match) return match;
      if (!this.running) throw new Error(`${this.command} exited (${JSON.stringify(this.exitStatus)}) before printing ${pattern}\n${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`${this.command} did not print ${pattern} within ${timeoutMs} ms\n${this[stream]}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  // Stops the process: `signal`, then SIGKILL if still alive after graceMs.
  async stop(signal = 'SIGTERM', graceMs = 5000) {
    if (!this.running) return this.exitStatus;
    this.kill(signal);
    const timer = setTimeout(() => this.kill('SIGKILL'), graceMs);
    const status = await this.exited;
    clearTimeout(timer);
    return status;
  }
}

// Runs a command to completion (SIGKILL after timeoutMs) and returns
// { code, signal, stdout, stderr, pid, timedOut }.
export async function run(command, args, { timeoutMs = 30000, ...options } = {}) {
  const proc = new Proc(command, args, options);
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; proc.kill('SIGKILL'); }, timeoutMs);
  const { code, signal } = await proc.exited;
  clearTimeout(timer);
  return { code, signal, stdout: proc.stdout, stderr: proc.stderr, pid: proc.pid, timedOut };
}

export function killAllSync() {
  for (const proc of live) {
    try { process.kill(proc.pid, 'SIGKILL'); } catch { /* already gone */ }
  }
  live.clear();
}
