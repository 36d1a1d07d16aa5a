// What the integrity and evasion tests share: a recording server behind a
// daemon that denies `execute`, requests sent in a raw session, and the
// shape of a refusal of a whole request.
import assert from 'node:assert/strict';
import { sandbox } from './sandbox.mjs';
import { startDaemon } from './daemon.mjs';
import { startRecorder, rawExchange, sessionSteps, policyOf } from './mcp.mjs';

export const REASON = 'no shell';

export async function setUp(t, label) {
  const sb = sandbox(t, label);
  const rec = await startRecorder(sb, { tools: ['echo', 'execute'], jsonResponse: true });
  const daemon = await startDaemon(sb, { policy: policyOf({ rec: { port: rec.port, tools: { execute: { action: 'deny', reason: REASON } } } }) });
  return { sb, rec, daemon };
}

// Sends `steps` after opening a session; returns the responses to `steps`.
export async function inSession(sb, rec, steps) {
  const out = await rawExchange(sb, rec.port, [...sessionSteps(), ...steps]);
  assert.equal(out.ok, true, out.error);
  for (const res of out.responses.slice(0, 2)) assert.ok(res.status === 200 || res.status === 202, JSON.stringify(res));
  return out.responses.slice(2);
}

// A refusal of the whole request: an HTTP error status with a JSON-RPC
// error body carrying one of `codes`.
export function assertRefused(res, { status, codes = [-32600, -32700] } = {}) {
  if (status) assert.equal(res.status, status, JSON.stringify(res));
  else assert.ok(res.status >= 400 && res.status < 500, `4xx expected: ${JSON.stringify(res)}`);
  assert.ok(res.json && res.json.jsonrpc === '2.0' && res.json.error, `JSON-RPC error body expected: ${JSON.stringify(res)}`);
  assert.ok(codes.includes(res.json.error.code), `error code ${res.json.error.code} not in ${codes}: ${JSON.stringify(res.json)}`);
}
