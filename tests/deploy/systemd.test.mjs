// deploy/systemd/mcpfence.service: systemd 252's own parser accepts every
// line (systemd-analyze verify, with ExecStart pointed at build/mcpfence), and
// the unit keeps what the README promises for a workstation: restart at once,
// fail closed, bounded capabilities, a stop timeout above the drain timeout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REQUIRED_CAPS, ALLOWED_CAPS, parseArgs } from './manifest-rules.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const unitText = fs.readFileSync(path.join(root, 'deploy/systemd/mcpfence.service'), 'utf8');

// systemd-analyze verify exits 0 on unknown keys and bad values: it only
// prints them. Any line naming the unit file is a failure.
function verify(text) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcpf-unit-'));
  try {
    const file = path.join(dir, 'mcpfence.service');
    fs.writeFileSync(file, text.replaceAll('/usr/local/bin/mcpfence', path.join(root, 'build/mcpfence')));
    const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
    const complaints = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.includes(file) || l.includes('mcpfence.service'));
    return { status: r.status, error: r.error, complaints };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// [Service] keys, continuation lines joined.
function directives(text) {
  const out = new Map();
  for (const line of text.replace(/\\\n\s*/g, ' ').split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) out.set(m[1], m[2]);
  }
  return out;
}

function seconds(v) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|min)?$/.exec(String(v).trim());
  if (!m) return NaN;
  return Number(m[1]) * ({ ms: 0.001, s: 1, min: 60 }[m[2] || 's']);
}

test('systemd-analyze verify accepts the unit', () => {
  const r = verify(unitText);
  assert.equal(r.error, undefined, 'systemd-analyze missing (make test-deps installs systemd)');
  assert.equal(r.status, 0, r.complaints.join('\n'));
  assert.deepEqual(r.complaints, []);
});

test('a broken unit is reported (the check above can fail)', () => {
  const r = verify(unitText.replace('RestartSec=', 'RestartSecs=').replace('TimeoutStopSec=10s', 'TimeoutStopSec=soon'));
  assert.equal(r.complaints.length, 2, r.complaints.join('\n'));
});

test('the unit restarts at once, fails closed and bounds its capabilities', () => {
  const d = directives(unitText);
  assert.equal(d.get('Restart'), 'always');
  assert.ok(seconds(d.get('RestartSec')) <= 0.2, `RestartSec=${d.get('RestartSec')}`);
  // ExecStart writes `--flag value`; parseArgs reads `--flag=value`.
  const flags = parseArgs(d.get('ExecStart').replace(/(--[a-z-]+) (?!--)(\S+)/g, '$1=$2').split(/\s+/));
  assert.equal(flags.get('fail-closed'), true);
  assert.ok(seconds(d.get('TimeoutStopSec')) > Number(flags.get('drain-timeout')), 'TimeoutStopSec above --drain-timeout');
  assert.notEqual(Number(String(flags.get('metrics')).split(':').pop()), 9464);
  assert.equal(flags.get('state-dir'), `/run/${d.get('RuntimeDirectory')}`);
  const caps = d.get('CapabilityBoundingSet').split(/\s+/).map((c) => c.replace(/^CAP_/, ''));
  for (const c of REQUIRED_CAPS) assert.ok(caps.includes(c), `bounding set lacks ${c}`);
  for (const c of caps) assert.ok(ALLOWED_CAPS.includes(c), `bounding set has ${c}`);
  assert.equal(d.get('NoNewPrivileges'), 'yes');
  assert.equal(d.get('RestrictNamespaces'), 'net');
});
