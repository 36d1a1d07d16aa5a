// Integration test declaration: node:test's `test` with a time limit (a
// hang fails instead of stalling the run) and the skip that tests/run.sh
// requests when this machine cannot run BPF tests (never under CI=true:
// run.sh fails there instead).
import { test } from 'node:test';

export const SKIP_REASON = process.env.MCPF_INTEGRATION_SKIP || false;

export function itest(name, fn, { timeoutMs = 120000 } = {}) {
  return test(name, { skip: SKIP_REASON, timeout: timeoutMs }, fn);
}
