// Simulated Kubernetes pods, set up the way a CNI plugin sets them up:
// each pod its own network namespace, bound to a file in the daemon's
// --netns-dir (as CNI plugins bind theirs in /var/run/netns) or left
// unnamed, lo up, and eth0 a veth whose peer is on a bridge; each pod its
// own cgroup below the sandbox's agent cgroup (the "kubepods" cgroup the
// daemon's --cgroup names). The bridge lives in a namespace of its own, so
// nothing here touches the host's network; pod addresses are 10.250.0.N,
// reachable only from the sandbox's pods.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { run } from './processes.mjs';
import { EVERYTHING_MAIN } from './everything.mjs';

function sh(args) {
  return execFileSync(args[0], args.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

// A persistent network namespace bound to `file` (created).
function newNetns(file) {
  fs.writeFileSync(file, '');
  sh(['unshare', `--net=${file}`, 'true']);
}

// strict: a plain umount, which fails while anything holds the mount (a
// daemon must not: CNI plugins and operators may not unmount lazily).
function dropNetns(file, { strict = false } = {}) {
  if (strict) sh(['umount', file]);
  else try { sh(['umount', '-l', file]); } catch { /* not mounted */ }
  fs.rmSync(file, { force: true });
}

export class Pod {
  constructor(network, name, index, { named }) {
    this.network = network;
    this.sb = network.sb;
    this.name = name;
    this.ip = `10.250.0.${index}`;
    this.file = named ? path.join(this.sb.netnsDir, name) : path.join(network.dir, name);
    this.cgroup = this.sb.childCgroup(`pod-${name}`);
    this.procs = [];
  }

  nsArgs(command, args) {
    return [`--net=${this.file}`, '--', command, ...args];
  }

  in(args) {
    return sh(['nsenter', `--net=${this.file}`, ...args]);
  }

  // A long-running process inside the pod (its netns and its cgroup).
  spawn(command, args, options = {}) {
    const proc = this.sb.spawn('nsenter', this.nsArgs(command, args), { cgroup: this.cgroup, ...options });
    this.procs.push(proc);
    return proc;
  }

  // A command run to completion inside the pod.
  run(command, args, options = {}) {
    return run('nsenter', this.nsArgs(command, args), { cgroup: this.cgroup, ...options });
  }

  // server-everything (streamable HTTP) on its own 127.0.0.1/[::]:port
  // with POD_NAME in its environment, which its get-env tool shows: proof
  // of which pod's server answered.
  async startEverything(port = 3001) {
    const proc = this.spawn(process.execPath, [EVERYTHING_MAIN, 'streamableHttp'], { env: { PORT: String(port), POD_NAME: this.name } });
    await proc.waitForOutput(/listening on port (\d+)/, { stream: 'stderr', timeoutMs: 20000 });
    return proc;
  }

  async delete() {
    await Promise.all(this.procs.map((proc) => proc.stop('SIGKILL')));
    dropNetns(this.file, { strict: true });
    try { fs.rmdirSync(this.cgroup); } catch { /* removed with the sandbox */ }
    this.network.pods.delete(this);
  }
}

export class PodNetwork {
  constructor(sb) {
    this.sb = sb;
    this.dir = path.join(sb.tmp, 'pod-network');
    this.pods = new Set();
    this.next = 10;
    fs.mkdirSync(sb.netnsDir, { recursive: true });
    fs.mkdirSync(this.dir, { recursive: true });
    this.bridge = path.join(this.dir, 'bridge');
    newNetns(this.bridge);
    sb.onCleanup(() => this.cleanupSync());
    this.br(['ip', 'link', 'add', 'br0', 'type', 'bridge']);
    this.br(['ip', 'link', 'set', 'br0', 'up']);
  }

  br(args) {
    return sh(['nsenter', `--net=${this.bridge}`, ...args]);
  }

  // A new pod; named: its namespace is bound in --netns-dir (false: only
  // in a private dir, so the daemon can only find it from its processes).
  addPod(name, { named = true } = {}) {
    const pod = new Pod(this, name, this.next++, { named });
    newNetns(pod.file);
    const host = `v${pod.ip.split('.').pop()}`;
    this.br(['ip', 'link', 'add', host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod.file]);
    this.br(['ip', 'link', 'set', host, 'master', 'br0', 'up']);
    pod.in(['ip', 'addr', 'add', `${pod.ip}/24`, 'dev', 'eth0']);
    pod.in(['ip', 'link', 'set', 'eth0', 'up']);
    pod.in(['ip', 'link', 'set', 'lo', 'up']);
    this.pods.add(pod);
    return pod;
  }

  cleanupSync() {
    for (const pod of this.pods) dropNetns(pod.file);
    dropNetns(this.bridge);
  }
}
