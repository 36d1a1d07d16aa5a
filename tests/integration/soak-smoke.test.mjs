// The soak (tests/soak/soak.mjs, `make soak`: a million calls) at 10,000
// calls: same mix, same checks (daemon alive, RSS/fds/map sizes back to
// flat, audit lines = decisions), in a few seconds.
import assert from 'node:assert/strict';
import { itest } from '../lib/itest.mjs';
import { soak } from '../soak/soak.mjs';

itest('soak smoke: 10,000 mixed calls leave RSS, fds and maps flat and the audit log complete', async (t) => {
  const lines = [];
  const result = await soak({ calls: Number(process.env.SOAK_SMOKE_CALLS || 10000), sampleMs: 2000, log: (l) => lines.push(l) });
  t.diagnostic(lines.join('\n'));
  assert.ok(result.ok, lines.join('\n'));
});
