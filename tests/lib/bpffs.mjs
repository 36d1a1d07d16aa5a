// A private bpffs instance per test, so pinned maps and links never meet the
// host's (bpffs is not mounted at /sys/fs/bpf here) nor another test's.
// Unmounting drops every pin left in it, which also detaches pinned links.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

// The creating process's pid is part of the name, so a later run can tell
// a mount whose owner died without cleaning up (see stale.mjs).
export function mountBpffs() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `mcpfence-bpffs-${process.pid}-`));
  try {
    execFileSync('mount', ['-t', 'bpf', 'bpf', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    fs.rmdirSync(dir);
    throw new Error(`mount -t bpf bpf ${dir} failed: ${String(err.stderr || err.message).trim()}`);
  }
  return dir;
}

export function bpffsMounts() {
  return fs.readFileSync('/proc/mounts', 'utf8').split('\n')
    .map((line) => line.split(' '))
    .filter((fields) => fields[2] === 'bpf')
    .map((fields) => fields[1]);
}

export function isMounted(dir) {
  return fs.readFileSync('/proc/mounts', 'utf8').split('\n').some((line) => line.split(' ')[1] === dir);
}

// Every fresh bpffs mount shows these two iterator files of the kernel's
// own; they are not pins.
const BUILTIN = new Set(['maps.debug', 'progs.debug']);

// Names of everything pinned under dir (relative paths, sorted), and of
// empty directories left behind (with a trailing slash).
export function listPins(dir) {
  const found = [];
  const walk = (rel) => {
    const entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true });
    if (rel && entries.length === 0) found.push(`${rel}/`);
    for (const entry of entries) {
      const name = path.join(rel, entry.name);
      if (entry.isDirectory()) walk(name);
      else if (!(rel === '' && BUILTIN.has(entry.name))) found.push(name);
    }
  };
  walk('');
  return found.sort();
}

export function unmountBpffsSync(dir) {
  if (!fs.existsSync(dir)) return;
  if (isMounted(dir)) {
    try {
      execFileSync('umount', [dir], { stdio: 'ignore' });
    } catch {
      execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
    }
  }
  fs.rmdirSync(dir);
}
