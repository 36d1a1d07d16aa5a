#!/usr/bin/env node
// Soak: --calls tools/call messages (default 1,000,000) through the real
// daemon (real BPF interception, a private cgroup and bpffs) from
// driver.mjs (see its mix) to tests/bench/mini_server and a real SDK server
// (tests/lib/recording-server.mjs, SSE answers). Samples the daemon's RSS,
// open fds and the sizes of its BPF maps (bpftool) as the run goes, then
// checks that they stay flat, that the daemon is alive and answers
// /healthz, and that audit lines equal the decisions counted in tool_stats.
// Prints a short report; exit status 1 when a check fails.
//
//   node tests/soak/soak.mjs [--calls N] [--sample-ms 5000]
// `make soak` runs it with SOAK_CALLS (default 1,000,000); `make test`
// runs 10,000 calls of it (tests/integration/soak-smoke.test.mjs).
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Sandbox } from '../lib/sandbox.mjs';
import { startDaemon } from '../lib/daemon.mjs';
import { freePort, waitForListen } from '../lib/ports.mjs';
import { startRecorder, policyOf } from '../lib/mcp.mjs';
import { daemonMapIds } from '../lib/bpftool.mjs';
import { countsFromBpftool } from '../lib/metrics.mjs';
import { sleep } from '../lib/sleep.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.join(here, '..', '..');

export async function soak({ calls = 1000000, sampleMs = 5000, log = console.log } = {}) {
  const sb = new Sandbox('soak');
  try {
    return await run(sb, { calls, sampleMs, log });
  } finally {
    await sb.cleanup();
  }
}

function rssKb(pid) {
  return Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]);
}

function fdCount(pid) {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

function mapSizes(ids) {
  const sizes = {};
  for (const [name, id] of Object.entries(ids)) {
    let out;
    try {
      out = execFileSync('bpftool', ['-j', 'map', 'dump', 'id', String(id)], { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      out = err.stdout; // an empty map: "[]" and a non-zero status
    }
    sizes[name] = JSON.parse(out || '[]').length;
  }
  return sizes;
}

// Audit lines, counted as a stream (the file is large).
function countLines(file) {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(1 << 20);
  let n = 0, got;
  while ((got = fs.readSync(fd, buf, 0, buf.length)) > 0) for (let i = 0; i < got; i++) if (buf[i] === 10) n++;
  fs.closeSync(fd);
  return n;
}

async function run(sb, { calls, sampleMs, log }) {
  const miniPort = await freePort();
  const mini = sb.spawn(path.join(repo, 'build/bench/mini_server'), ['--port', String(miniPort)]);
  await waitForListen('127.0.0.1', miniPort, 10000, () => mini.running);
  const sdk = await startRecorder(sb, { tools: ['echo'] });
  const policy = policyOf({
    mini: { port: miniPort, default: 'allow', hide: ['secret'], tools: {
      rm: { action: 'deny', reason: 'soak' },
      limited: { limits: [{ counter: 'soak_limited', window: 'minute', max: 10, scope: 'session' }] } } },
    sdk: { port: sdk.port, default: 'allow' },
  });
  const audit = path.join(sb.tmp, 'audit.jsonl');
  const daemon = await startDaemon(sb, { policy, args: ['--audit', audit, '--audit-max-bytes', '0'] });
  // Maps agents can fill: the daemon's own (by the programs that use them) and the pinned ones.
  const ids = daemonMapIds(sb.pinDir);
  for (const name of ['rate_state', 'tool_stats']) {
    const pin = path.join(sb.pinDir, name);
    if (fs.existsSync(pin)) ids[name] = JSON.parse(execFileSync('bpftool', ['-j', 'map', 'show', 'pinned', pin], { encoding: 'utf8' })).id;
  }
  const interesting = Object.fromEntries(Object.entries(ids).filter(([n]) => ['conns', 'sock_pairs', 'rate_state', 'tool_stats', 'conn_origin'].includes(n)));

  const samples = [];
  const sample = (progress) => {
    const s = { t: Date.now(), progress, rssKb: rssKb(daemon.pid), fds: fdCount(daemon.pid), maps: mapSizes(interesting) };
    samples.push(s);
    return s;
  };
  sample(0);
  const started = Date.now();
  const driver = sb.spawn(process.execPath, [path.join(here, 'driver.mjs'), '--mini', String(miniPort), '--sdk', String(sdk.port),
    '--calls', String(calls)], { cgroup: true });
  while (driver.running) {
    await Promise.race([driver.exited, sleep(sampleMs)]);
    const progress = Number((driver.stdout.match(/progress (\d+)\n(?![\s\S]*progress)/) || [0, 0])[1]);
    if (driver.running) sample(progress);
  }
  const seconds = (Date.now() - started) / 1000;
  const lastLine = driver.stdout.trim().split('\n').pop();
  if (driver.exitStatus.code !== 0) throw new Error(`driver failed (${JSON.stringify(driver.exitStatus)}): ${driver.stderr}`);
  const counts = JSON.parse(lastLine);
  await sleep(2000); // connections close, the daemon settles
  const end = sample(counts.messages);

  const checks = [];
  const check = (ok, what) => checks.push({ ok, what });
  const health = await daemon.healthz();
  check(daemon.proc.running && health.status === 200, `daemon alive, /healthz ${health.status}`);
  // Flat: compared with the sample after the first fifth of the run (warm).
  const warm = samples.find((s) => s.progress >= calls / 5) ?? samples[Math.min(1, samples.length - 1)];
  const peakRss = Math.max(...samples.map((s) => s.rssKb));
  check(end.rssKb <= warm.rssKb * 1.25 + 16384, `RSS ${warm.rssKb} kB warm -> ${end.rssKb} kB at the end (peak ${peakRss} kB)`);
  check(end.fds <= samples[0].fds + 4, `fds ${samples[0].fds} idle -> ${end.fds} at the end (peak ${Math.max(...samples.map((s) => s.fds))})`);
  for (const name of Object.keys(interesting)) {
    const peak = Math.max(...samples.map((s) => s.maps[name]));
    const bound = name === 'tool_stats' ? 16 : name === 'rate_state' ? 8 : samples[0].maps[name] + 4;
    check(end.maps[name] <= bound, `map ${name}: ${samples[0].maps[name]} -> ${end.maps[name]} entries at the end (peak ${peak}, bound ${bound})`);
  }
  const decided = Object.values(countsFromBpftool(sb.pinDir)).reduce((a, b) => a + b, 0);
  const lines = countLines(audit);
  check(lines === decided, `audit lines ${lines} = decisions in tool_stats ${decided}`);
  check(decided >= counts.messages * 0.5, `decisions ${decided} for ${counts.messages} messages sent (${counts.vanished} vanished clients)`);

  const rate = Math.round(counts.messages / seconds);
  log(`soak: ${counts.messages} messages in ${counts.requests} requests, ${seconds.toFixed(0)} s (${rate}/s), `
    + `${counts.ok} 2xx, ${counts.http_errors} other statuses, ${counts.failures} failed, ${counts.vanished} vanished`);
  log(`  samples (progress: rss kB, fds, conns/sock_pairs/rate_state/tool_stats):`);
  const step = Math.max(1, Math.floor(samples.length / 8));
  for (const s of samples.filter((_, i) => i % step === 0 || i === samples.length - 1))
    log(`    ${String(s.progress).padStart(8)}: ${s.rssKb} kB, ${s.fds} fds, ${['conns', 'sock_pairs', 'rate_state', 'tool_stats'].map((n) => s.maps[n] ?? '-').join('/')}`);
  for (const c of checks) log(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.what}`);
  return { ok: checks.every((c) => c.ok), checks, counts, seconds, samples };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values: opt } = parseArgs({ options: { calls: { type: 'string', default: '1000000' }, 'sample-ms': { type: 'string', default: '5000' } } });
  const result = await soak({ calls: Number(opt.calls), sampleMs: Number(opt['sample-ms']) });
  process.exit(result.ok ? 0 : 1);
}
