// What the kernel says, through bpftool: programs attached to a cgroup and
// the contents of pinned maps.
import { execFileSync } from 'node:child_process';

function bpftoolJson(args) {
  const out = execFileSync('bpftool', ['-j', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  return out ? JSON.parse(out) : [];
}

// Programs attached directly to the cgroup dir: [{ id, attach_type, name, ... }].
export function cgroupPrograms(dir) {
  return bpftoolJson(['cgroup', 'show', dir]);
}

// `bpftool cgroup tree DIR` as text: what an operator would look at.
export function cgroupTreeText(dir) {
  return execFileSync('bpftool', ['cgroup', 'tree', dir], { encoding: 'utf8' });
}

// Entries of a pinned map, with BTF-formatted keys/values where the map has BTF.
export function dumpPinnedMap(pinPath) {
  return bpftoolJson(['map', 'dump', 'pinned', pinPath]);
}
