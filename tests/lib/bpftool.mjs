// What the kernel says, through bpftool: programs attached to a cgroup and
// the contents of pinned maps.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

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

// Ids of the maps a running daemon's programs use, by name, found from
// its pinned sock_ops link (so the unpinned sockmap maps are reachable
// too, and never another daemon's).
export function daemonMapIds(pinDir) {
  const link = bpftoolJson(['link', 'show', 'pinned', `${pinDir}/links/sockops`]);
  const prog = bpftoolJson(['prog', 'show', 'id', String(link.prog_id)]);
  const ids = {};
  for (const id of prog.map_ids) ids[bpftoolJson(['map', 'show', 'id', String(id)]).name] = id;
  return ids;
}

// Keys of a map keyed by struct mcpf_sock_key (bpf/mcpfence_abi.h: local[16],
// remote[16], local_port, remote_port as host-order u32, netns u64), decoded
// from raw bytes since sockhash maps carry no BTF: [{ localPort, remotePort, netns }].
export function dumpSockKeys(mapId) {
  return bpftoolJson(['map', 'dump', 'id', String(mapId)]).map(({ key }) => {
    const bytes = Buffer.from(key.map((byte) => parseInt(byte, 16)));
    return { localPort: bytes.readUInt32LE(32), remotePort: bytes.readUInt32LE(36), netns: bytes.readBigUInt64LE(40) };
  });
}

// The programs a daemon attached, from the links it pinned under
// pinDir/links: [{ id, type, prog_id, attach_type, cgroup_id }] for the
// cgroup programs, attached at the cgroup2 root (cgroup_id 1), not at the
// agents' cgroup; [{ id, type: 'raw_tracepoint', prog_id, tp_name }] for
// cgroup_mkdir.
export function daemonLinks(pinDir) {
  let names;
  try { names = fs.readdirSync(path.join(pinDir, 'links')); } catch { return []; }
  return names.map((name) => bpftoolJson(['link', 'show', 'pinned', path.join(pinDir, 'links', name)]));
}

// Which of these links still exist (a link whose last reference is gone is
// detached and no longer listed).
export function linksAlive(links) {
  const alive = new Set(bpftoolJson(['link', 'show']).map((link) => link.id));
  return links.filter((link) => alive.has(link.id));
}
