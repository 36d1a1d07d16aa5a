#!/usr/bin/env node
// Load for the approval tests: stateless tools/call POSTs (2025-11-25
// shape) to http://127.0.0.1:PORT/mcp/stateless.
//
//   approval-load.mjs --port N --mode hold --tool execute --count 101
//     sends COUNT calls at once, each on its own connection, arguments
//     {"i": I}; prints {"i":I,"isError":B,"text":T} as each answer comes.
//   approval-load.mjs --port N --mode loop --tool echo --conns 16 --seconds 3
//     CONNS keep-alive connections calling in a loop for SECONDS; prints
//     {"calls":N,"failed":M}.
import http from 'node:http';
import { parseArgs } from 'node:util';
import { postStateless, resultText } from './stateless-post.mjs';

const { values: opt } = parseArgs({
  options: {
    port: { type: 'string' }, mode: { type: 'string' }, tool: { type: 'string', default: 'echo' },
    count: { type: 'string', default: '1' }, conns: { type: 'string', default: '16' },
    seconds: { type: 'string', default: '3' },
  },
});

async function call(agent, id, args) {
  const res = await postStateless({ port: opt.port, id, method: 'tools/call', params: { name: opt.tool, arguments: args },
    agent, timeoutMs: 120000 });
  return res.error ? res : { isError: res.msg.result?.isError === true, text: resultText(res.msg) };
}

if (opt.mode === 'hold') {
  const n = Number(opt.count);
  await Promise.all(Array.from({ length: n }, async (_, i) => {
    const res = await call(false, i, { i });
    process.stdout.write(`${JSON.stringify({ i, ...res })}\n`);
  }));
} else {
  const agent = new http.Agent({ keepAlive: true, maxSockets: Number(opt.conns) });
  const until = Date.now() + Number(opt.seconds) * 1000;
  let calls = 0, failed = 0;
  await Promise.all(Array.from({ length: Number(opt.conns) }, async (_, c) => {
    for (let i = 0; Date.now() < until; i++) {
      const res = await call(agent, c * 1e6 + i, { c, i });
      if (res.error || res.isError) failed++;
      else calls++;
    }
  }));
  agent.destroy();
  process.stdout.write(`${JSON.stringify({ calls, failed })}\n`);
}
