// The four places that count tools/call decisions, each read back into
// the same shape, { "server/tool/decision": count } (non-zero counts only):
// the pinned tool_stats map through bpftool, GET /metrics, `mcpfence stats
// --json` and the audit log.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { dumpPinnedMap } from './bpftool.mjs';
import { httpGet, MCPFENCE } from './daemon.mjs';

export const DECISIONS = { allowed: 'allow', denied: 'deny', rate_limited: 'rate_limited', hidden: 'hidden', invalid: 'invalid' };

function add(counts, server, tool, decision, n) {
  if (n > 0) counts[`${server}/${tool}/${decision}`] = (counts[`${server}/${tool}/${decision}`] || 0) + n;
}

// bpftool prints a char array as a string when it is printable and as an
// array of byte values otherwise (a tool name with a newline): both to text.
function charArray(value) {
  if (typeof value === 'string') return value;
  const bytes = Buffer.from(value.map(Number));
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end < 0 ? bytes.length : end).toString('utf8');
}

// bpftool map dump pinned <pinDir>/tool_stats -j: BTF-formatted rows.
export function toolStatsRows(pinDir) {
  return dumpPinnedMap(path.join(pinDir, 'tool_stats')).map((entry) => {
    if (!entry.formatted) throw new Error(`tool_stats entry without BTF formatting: ${JSON.stringify(entry)}`);
    return { server: charArray(entry.formatted.key.server), tool: charArray(entry.formatted.key.tool), ...entry.formatted.value };
  });
}

export function countsFromBpftool(pinDir) {
  const counts = {};
  for (const row of toolStatsRows(pinDir)) {
    for (const [field, decision] of Object.entries(DECISIONS)) add(counts, row.server, row.tool, decision, Number(row[field]));
  }
  return counts;
}

export async function scrapeMetrics(daemon) {
  const res = await httpGet(`http://127.0.0.1:${daemon.metricsPort}/metrics`, 5000);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}: ${res.body || res.error}`);
  return res.body;
}

// Prometheus text format samples: [{ name, labels: {k: v}, value }].
export function parseSamples(text) {
  const samples = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/);
    if (!m) throw new Error(`unparsable exposition line: ${line}`);
    const labels = {};
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    let l;
    while ((l = re.exec(m[2] || '')) !== null) {
      labels[l[1]] = l[2].replace(/\\(["\\n])/g, (_, c) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

export function countsFromMetrics(text) {
  const counts = {};
  for (const s of parseSamples(text)) {
    if (s.name === 'mcpfence_tool_calls_total') add(counts, s.labels.server, s.labels.tool, s.labels.decision, s.value);
  }
  return counts;
}

export function statsJson(pinDir) {
  return JSON.parse(execFileSync(MCPFENCE, ['stats', '--json', '--bpffs', pinDir], { encoding: 'utf8' }));
}

export function countsFromStats(stats) {
  const counts = {};
  for (const row of stats.tools) {
    for (const [field, decision] of Object.entries(DECISIONS)) add(counts, row.server, row.tool, decision, row[field]);
  }
  return counts;
}

export function auditLines(file) {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

export function countsFromAudit(lines) {
  const counts = {};
  for (const line of lines) add(counts, line.server, line.tool ?? '', line.decision, 1);
  return counts;
}

// promtool check metrics on the exposition text: { ok, output }.
export function promtoolCheck(text) {
  const res = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { ok: res.status === 0, output: `${res.stdout}${res.stderr}`, status: res.status };
}
