// The answer to an allowed tools/call is relayed as it
// arrives, not held until it is complete, and it is still accounted
// exactly (upstream errors found after megabytes of result text, response
// bytes). The server here is a plain HTTP one in the test process, so it
// can hold an answer half-sent and frame each answer as the test needs;
// the MCP peers of the other tests exercise the same path with SDK replies.
import assert from 'node:assert/strict';
import http from 'node:http';
import { itest } from '../lib/itest.mjs';
import { sandbox } from '../lib/sandbox.mjs';
import { startDaemon } from '../lib/daemon.mjs';
import { rawExchange, toolCall, JSON_TYPE, ACCEPT_BOTH, policyOf } from '../lib/mcp.mjs';
import { statsJson } from '../lib/metrics.mjs';

const PREFIX = '{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"';

// Answers every POST with what answerFor(call) returns:
//   { pieces: [string...], chunked, hold } - hold: never finish the answer.
async function startAnswerServer(t, answerFor) {
  const open = new Set();
  const server = http.createServer((req, res) => {
    const parts = [];
    req.on('data', (d) => parts.push(d));
    req.on('end', () => {
      const call = JSON.parse(Buffer.concat(parts).toString('utf8'));
      const { pieces, chunked = false, hold = false } = answerFor(call);
      const total = pieces.reduce((n, p) => n + Buffer.byteLength(p), 0);
      res.writeHead(200, { 'Content-Type': 'application/json', ...(chunked || hold ? {} : { 'Content-Length': total }) });
      for (const piece of pieces) res.write(piece);
      if (hold) open.add(res);
      else res.end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const res of open) res.destroy();
    server.closeAllConnections();
    server.close();
  });
  return server.address().port;
}

const post = (body) => ({ method: 'POST', path: '/mcp', headers: [JSON_TYPE, ACCEPT_BOTH], body: JSON.stringify(body) });

itest('a large tools/call answer reaches the agent before the server has finished it', async (t) => {
  const sb = sandbox(t, 'answer-stream');
  const text = 'x'.repeat(512 * 1024);
  const port = await startAnswerServer(t, () => ({ pieces: [PREFIX, text], hold: true }));
  await startDaemon(sb, { policy: policyOf({ big: { port } }) });
  // The answer never ends: a daemon that held answers whole would relay nothing.
  const out = await rawExchange(sb, port, [{ ...post(toolCall(1, 'read', {})), readMs: 3000 }]);
  const [res] = out.responses;
  assert.equal(res.status, 200, JSON.stringify(res).slice(0, 300));
  assert.ok(res.body.startsWith(PREFIX), res.body.slice(0, 200));
  assert.equal(res.body.length, PREFIX.length + text.length);
});

itest('streamed answers are accounted: errors after megabytes of text, exact bytes', async (t) => {
  const sb = sandbox(t, 'answer-account');
  const big = 'y'.repeat(3 << 20);
  const answers = {
    // isError comes after the whole text, in a Content-Length answer
    failing: (id) => [`{"jsonrpc":"2.0","id":${id},"result":{"content":[{"type":"text","text":"`, big, '"}],"isError":true}}'],
    // a JSON-RPC error with a string id, chunked
    throwing: (id) => [`{"jsonrpc":"2.0","error":{"code":-32000,"message":"${'z'.repeat(70000)}"},`, `"id":"${id}"}`],
    fine: (id) => [`{"jsonrpc":"2.0","id":${id},"result":{"content":[{"type":"text","text":"`, big, '"}]}}'],
  };
  const port = await startAnswerServer(t, (call) => ({
    pieces: answers[call.params.name](call.id),
    chunked: call.params.name === 'throwing',
  }));
  // tools the policy names get rows of their own (this server lists none)
  await startDaemon(sb, { keepMaps: true, policy: policyOf({ big: { port, tools: { failing: {}, throwing: {}, fine: {} } } }) });
  const out = await rawExchange(sb, port, [
    post(toolCall(1, 'failing')), post(toolCall('t-2', 'throwing')), post(toolCall(3, 'fine')), post(toolCall(4, 'fine')),
  ]);
  const bodies = out.responses.map((r) => r.body);
  assert.deepEqual(out.responses.map((r) => r.status), [200, 200, 200, 200]);
  assert.equal(JSON.parse(bodies[0]).result.isError, true);
  assert.equal(JSON.parse(bodies[1]).id, 't-2');
  assert.equal(JSON.parse(bodies[3]).result.content[0].text.length, big.length);

  const row = (tool) => statsJson(sb.pinDir).tools.find((r) => r.server === 'big' && r.tool === tool);
  const expected = {
    failing: { allowed: 1, upstream_errors: 1, response_bytes: Buffer.byteLength(bodies[0]) },
    throwing: { allowed: 1, upstream_errors: 1, response_bytes: Buffer.byteLength(bodies[1]) },
    fine: { allowed: 2, upstream_errors: 0, response_bytes: Buffer.byteLength(bodies[2]) + Buffer.byteLength(bodies[3]) },
  };
  for (const [tool, want] of Object.entries(expected)) {
    const got = row(tool);
    assert.ok(got, `a tool_stats row for ${tool}`);
    assert.deepEqual({ allowed: got.allowed, upstream_errors: got.upstream_errors, response_bytes: got.response_bytes }, want, tool);
  }
});
