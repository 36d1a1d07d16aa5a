#!/usr/bin/env node
// One agent process of a race through a daemon with several workers:
// one tools/list POST first (the daemon logs which worker took this
// process), then, once the file GO exists, COUNT stateless tools/call
// POSTs to http://127.0.0.1:PORT/mcp/stateless, over CONNS keep-alive
// connections calling back to back; prints one JSON line
//   {"pid":P,"allowed":N,"refused":M,"errors":[...]}
// "refused" counts mcpfence's rate-limit denials; anything else is an error.
//
//   race-agent.mjs --port N --tool echo --count 200 --conns 8 --go FILE
import fs from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';
import { postStateless, resultText } from './stateless-post.mjs';

const { values: opt } = parseArgs({
  options: {
    port: { type: 'string' }, tool: { type: 'string', default: 'echo' },
    count: { type: 'string', default: '1' }, conns: { type: 'string', default: '1' }, go: { type: 'string' },
  },
});

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: Number(opt.conns) });

function post(id, method, params, agent = false) {
  return postStateless({ port: opt.port, id, method, params, agent });
}

const summary = { pid: process.pid, allowed: 0, refused: 0, errors: [] };
const list = await post(0, 'tools/list', {});
if (list.error || !list.msg.result) summary.errors.push(`tools/list: ${list.error || JSON.stringify(list.msg)}`);
process.stdout.write(`${JSON.stringify({ ready: process.pid })}\n`);
while (!fs.existsSync(opt.go)) await new Promise((resolve) => { setTimeout(resolve, 5); });
await Promise.all(Array.from({ length: Number(opt.count) }, async (_, i) => {
  const res = await post(i + 1, 'tools/call', { name: opt.tool, arguments: { p: process.pid, i } }, keepAlive);
  const text = resultText(res.msg);
  if (res.error) summary.errors.push(res.error);
  else if (res.msg.result?.isError !== true && text === `ran ${opt.tool} {"p":${process.pid},"i":${i}}`) summary.allowed++;
  else if (res.msg.result?.isError === true && /mcpfence.*limits\[0\].*retry after \d+/is.test(text)) summary.refused++;
  else summary.errors.push(JSON.stringify(res.msg).slice(0, 300));
}));
keepAlive.destroy();
process.stdout.write(`${JSON.stringify(summary)}\n`);
