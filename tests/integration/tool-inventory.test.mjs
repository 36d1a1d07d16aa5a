// Issue 12, knowing the tools: the inventory of what servers declare in
// the tools/list answers the daemon relays (class, risk, reasons), rules by
// class, drift ("rug pulls") and on_change, `mcpfence tools` and
// `mcpfence suggest`, with server-everything and a small SDK server whose
// tools carry each annotation (annotated-server.mjs).
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { itest } from '../lib/itest.mjs';
import { sandbox } from '../lib/sandbox.mjs';
import { startEverything } from '../lib/everything.mjs';
import { startDaemon } from '../lib/daemon.mjs';
import { dumpPinnedMap } from '../lib/bpftool.mjs';
import { freePort, waitForListen } from '../lib/ports.mjs';
import { spawnAgent, policyOf } from '../lib/mcp.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const ANNOTATED = path.join(here, '../lib/annotated-server.mjs');

async function startAnnotated(sb) {
  const port = await freePort();
  const proc = sb.spawn(process.execPath, [ANNOTATED, '--port', String(port)]);
  await proc.waitForOutput(/annotated server listening on port/, { stream: 'stderr', timeoutMs: 20000 });
  await waitForListen('127.0.0.1', port, 5000, () => proc.running);
  return { proc, port, url: () => `http://127.0.0.1:${port}/mcp` };
}

// The inventory rows of one server, from bpftool: { tool: value }.
function inventoryDump(pinDir, server) {
  const rows = {};
  for (const e of dumpPinnedMap(path.join(pinDir, 'tool_inventory'))) {
    if (e.formatted?.key.server === server) rows[e.formatted.key.tool] = e.formatted.value;
  }
  return rows;
}

itest('smoke: tools/list answers fill the pinned inventory', async (t) => {
  const sb = sandbox(t, 'inv-smoke');
  const everything = await startEverything(sb);
  const ann = await startAnnotated(sb);
  await startDaemon(sb, { policy: policyOf({ everything: { port: everything.port }, ann: { port: ann.port } }) });
  for (const url of [everything.url(), ann.url()]) {
    const agent = await spawnAgent(sb, url);
    await agent.must('listTools');
    await agent.close();
  }
  console.log(JSON.stringify(inventoryDump(sb.pinDir, 'everything'), null, 1));
  console.log(JSON.stringify(inventoryDump(sb.pinDir, 'ann'), null, 1));
});
