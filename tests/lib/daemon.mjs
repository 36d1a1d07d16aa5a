// The mcpfence daemon under test: started on this sandbox's cgroup and
// bpffs with its own ports, ready once GET /healthz answers 200, and read
// back through its -v log (one line per intercepted connection).
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from './ports.mjs';
import { sleep } from './sleep.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// MCPF_DAEMON: another build of it, e.g. build/san/mcpfence (ASan + UBSan).
export const MCPFENCE = path.resolve(repo, process.env.MCPF_DAEMON || 'build/mcpfence');

// mcpfence: intercepted pid=<tgid> uid=<uid> comm=<comm> cgroup=<id> server=<name> orig=<addr:port>
// mcpfence: served by worker <n>          (the next line, written with it)
const INTERCEPTED = /^mcpfence: intercepted pid=(\d+) uid=(\d+) comm=(.*) cgroup=(\d+) server=(\S+) orig=(\S+)$/;
const SERVED_BY = /^mcpfence: served by worker (\d+)$/;

export function parseInterceptions(log) {
  const found = [];
  const lines = log.split('\n');
  lines.forEach((line, i) => {
    const m = line.match(INTERCEPTED);
    const w = (lines[i + 1] || '').match(SERVED_BY);
    // counted once whole: both lines come from one log call, but may reach the pipe in two writes
    if (m && w) found.push({ pid: Number(m[1]), uid: Number(m[2]), comm: m[3], cgroup: BigInt(m[4]), server: m[5], orig: m[6], worker: Number(w[1]) });
  });
  return found;
}

export function httpGet(url, timeoutMs = 2000) {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk) => { body += chunk; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ status: 0, body: '', error: err.message }));
  });
}

export class Daemon {
  constructor(proc, { listenPort, metricsPort, policyFile }) {
    this.proc = proc;
    this.pid = proc.pid;
    this.listenPort = listenPort;
    this.metricsPort = metricsPort;
    this.policyFile = policyFile;
    this.controlPath = path.join(path.dirname(policyFile), 'state', 'control.sock');
  }

  get log() {
    return this.proc.stderr;
  }

  interceptions(filter = {}) {
    return parseInterceptions(this.log).filter((rec) =>
      Object.entries(filter).every(([key, value]) => rec[key] === value));
  }

  // Polls `probe` (a function of nothing, truthy when done) until it holds:
  // the daemon's stderr arrives on its own pipe, so a line written before
  // an HTTP answer may still be in flight when that answer is read.
  async waitForLogged(probe, what, timeoutMs = 10000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = probe();
      if (found) return found;
      if (!this.proc.running) throw new Error(`daemon exited (${JSON.stringify(this.proc.exitStatus)}) before logging ${what}\n${this.log}`);
      if (Date.now() > deadline) throw new Error(`no ${what} in the daemon's log after ${timeoutMs} ms\n${this.log}`);
      await sleep(25);
    }
  }

  // Waits until the log has a line matching `re`.
  waitForLine(re, timeoutMs) {
    return this.waitForLogged(() => this.log.split('\n').find((line) => re.test(line)), `a line matching ${re}`, timeoutMs);
  }

  // Waits until `count` interception records match `filter`.
  waitForInterceptions(filter, count = 1, timeoutMs) {
    return this.waitForLogged(() => {
      const found = this.interceptions(filter);
      return found.length >= count && found;
    }, `${count} interception records matching ${describe(filter)}`, timeoutMs);
  }

  healthz() {
    return httpGet(`http://127.0.0.1:${this.metricsPort}/healthz`);
  }

  // Graceful stop (SIGTERM by default): resolves with { code, signal }.
  stop(signal = 'SIGTERM', graceMs = 10000) {
    return this.proc.stop(signal, graceMs);
  }

  async kill9() {
    this.proc.kill('SIGKILL');
    return this.proc.exited;
  }
}

function describe(filter) {
  return JSON.stringify(filter, (_, v) => (typeof v === 'bigint' ? String(v) : v));
}

// Policy object for endpoints of one or more servers:
//   policyFor({ everything: ['127.0.0.1:3002', '[::1]:3002', ':9000'] })
export function policyFor(servers) {
  const policy = { version: '1', servers: {} };
  for (const [name, endpoints] of Object.entries(servers)) {
    policy.servers[name] = { endpoints, default: 'allow', tools: {} };
  }
  return policy;
}

// Starts build/mcpfence run on the sandbox: intercepting the agent cgroup,
// pinning under sb.pinDir (a directory below the private bpffs mount, as
// --bpffs requires), itself running in sb.daemonCgroup. Options:
//   policy      policy object (written to a file in the sandbox)
//   sockmap     true adds --sockmap, false --no-sockmap (default: the daemon's)
//   failClosed  adds --fail-closed
//   keepMaps    adds --keep-maps
//   inCgroup    run the daemon itself inside the target (agent) cgroup
//   listenPort, metricsPort  reuse a running daemon's ports (a rolling
//               update: that daemon hands its listeners over); the daemon
//               is then ready when it logs "serving N ms after exec", since the old one
//               answers /healthz on the same port until it hands over
//   args        extra arguments
// Every daemon of a sandbox shares its --state-dir (sb.tmp/state), as
// daemons on one node share /run/mcpfence.
export async function startDaemon(sb, options = {}) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await startDaemonOnce(sb, options);
    } catch (err) {
      // Another process took a port between the pick and the daemon's bind.
      if (attempt < 2 && /Address already in use/.test(err.message)) continue;
      throw err;
    }
  }
}

async function startDaemonOnce(sb, { policy, sockmap, failClosed = false, keepMaps = false, inCgroup = false, args = [], readyTimeoutMs = 20000, ...ports }) {
  const policyFile = path.join(sb.tmp, 'policy.json');
  fs.writeFileSync(policyFile, JSON.stringify(policy, null, 2));
  const successor = ports.listenPort !== undefined;
  const [listenPort, metricsPort] = successor ? [ports.listenPort, ports.metricsPort] : await freePorts(2);
  const argv = ['run', '--policy', policyFile, '--cgroup', sb.cgroup, '--bpffs', sb.pinDir,
    '--listen', String(listenPort), '--metrics', `127.0.0.1:${metricsPort}`, '--netns-dir', sb.netnsDir,
    '--state-dir', path.join(sb.tmp, 'state'), '--control', path.join(sb.tmp, 'state', 'control.sock'), '-v'];
  if (sockmap !== undefined) argv.push(sockmap ? '--sockmap' : '--no-sockmap');
  if (failClosed) argv.push('--fail-closed');
  if (keepMaps) argv.push('--keep-maps');
  argv.push(...args);
  const proc = sb.spawn(MCPFENCE, argv, { cgroup: inCgroup ? sb.cgroup : sb.daemonCgroup });
  const daemon = new Daemon(proc, { listenPort, metricsPort, policyFile });
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (!proc.running) throw new Error(`mcpfence ${argv.join(' ')} exited (${JSON.stringify(proc.exitStatus)}) before /healthz answered 200\n${proc.stderr}`);
    if (successor) {
      if (/^mcpfence: serving \d+ ms after exec/m.test(proc.stderr)) return daemon;
    } else {
      const { status } = await daemon.healthz();
      if (status === 200) return daemon;
    }
    if (Date.now() > deadline) throw new Error(`mcpfence /healthz not 200 after ${readyTimeoutMs} ms (last ${status})\n${proc.stderr}`);
    await sleep(50);
  }
}
