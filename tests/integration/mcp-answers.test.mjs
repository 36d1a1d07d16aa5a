// The answer to an allowed tools/call is relayed as it
// arrives, not held until it is complete, and it is still accounted
// exactly (upstream errors found after megabytes of result text, response
// bytes). The server here is a plain HTTP one in the test process, so it
// can hold an answer half-sent and frame each answer as the test needs;
// the MCP peers of the other tests exercise the same path with SDK replies.
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { itest } from '../lib/itest.mjs';
import { sandbox } from '../lib/sandbox.mjs';
import { startDaemon } from '../lib/daemon.mjs';
import { rawExchange, rawMessages, toolCall, JSON_TYPE, ACCEPT_BOTH, policyOf, spawnAgent, resultText, sessionSteps, sessionPost } from '../lib/mcp.mjs';
import { startSdkServer } from '../lib/sdk-http-server.mjs';
import { statsJson } from '../lib/metrics.mjs';
import { freePort, waitForListen } from '../lib/ports.mjs';
import { sleep } from '../lib/sleep.mjs';

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

// ---- answers in a Content-Encoding (red team F3) ----
// Express's compression() gzips text/event-stream too, and fetch (undici)
// asks for gzip by default: a gzipped event stream holds no events the
// daemon could filter. Requests go upstream asking for identity; an answer
// to inspect that comes coded all the same is refused, never relayed.

const TOOLS = ['echo', 'execute', 'secret'];

itest('answers come back uncoded: requests go upstream with Accept-Encoding: identity', async (t) => {
  const sb = sandbox(t, 'answer-gzip-asked');
  const srv = await startSdkServer(t, { tools: TOOLS, compress: 'accepted' });
  const daemon = await startDaemon(sb, { policy: policyOf({ gz: { port: srv.port, hide: ['secret'] } }) });
  const direct = await spawnAgent(sb, `http://127.0.0.1:${srv.port}/mcp`, { cgroup: false });
  assert.deepEqual((await direct.must('listTools')).tools, TOOLS);
  await direct.close();
  assert.ok(srv.requests.some((r) => /gzip/.test(r.headers['accept-encoding'] || '')), 'the SDK client asks for gzip');
  srv.requests.length = 0;

  const agent = await spawnAgent(sb, `http://127.0.0.1:${srv.port}/mcp`);
  assert.deepEqual((await agent.must('listTools')).tools, ['echo', 'execute']);
  assert.equal(resultText(await agent.callTool('echo', { m: 1 })), 'ran echo {"m":1}');
  await daemon.waitForInterceptions({ pid: agent.pid });
  await agent.close();
  assert.ok(srv.requests.length >= 3);
  for (const r of srv.requests) assert.equal(r.headers['accept-encoding'], 'identity', JSON.stringify(r));
});

itest('an event stream answer in a Content-Encoding is refused with an error, never relayed', async (t) => {
  const sb = sandbox(t, 'answer-gzip-sse');
  const srv = await startSdkServer(t, { tools: TOOLS, compress: 'always' });
  await startDaemon(sb, { policy: policyOf({ gz: { port: srv.port, hide: ['secret'] } }) });
  const steps = [...sessionSteps('/mcp', '2025-06-18'),
    sessionPost(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }), { protocolVersion: '2025-06-18' })];
  const out = await rawExchange(sb, srv.port, steps.slice(0, 1));
  const [init] = out.responses;
  assert.equal(init.status, 502, JSON.stringify(init));
  assert.match(init.body, /Content-Encoding cannot be inspected/);
  assert.equal(init.headers['content-encoding'], undefined);
  // the SDK client gets the error too, and no list
  const agent = await spawnAgent(sb, `http://127.0.0.1:${srv.port}/mcp`, { connect: false });
  const res = await agent.send('connect');
  assert.equal(res.ok, false, JSON.stringify(res));
  assert.match(res.error, /502|Content-Encoding/);
  await agent.close();
});

itest('a gzipped JSON list answer is decoded, filtered and relayed uncoded', async (t) => {
  const sb = sandbox(t, 'answer-gzip-json');
  const srv = await startSdkServer(t, { tools: TOOLS, compress: 'always', json: true });
  await startDaemon(sb, { policy: policyOf({ gz: { port: srv.port, hide: ['secret'] } }) });
  const agent = await spawnAgent(sb, `http://127.0.0.1:${srv.port}/mcp`);
  assert.deepEqual((await agent.must('listTools')).tools, ['echo', 'execute']);
  assert.equal(resultText(await agent.callTool('execute', { m: 2 })), 'ran execute {"m":2}');
  await agent.close();
  const out = await rawExchange(sb, srv.port, [...sessionSteps('/mcp', '2025-06-18'),
    sessionPost(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }), { protocolVersion: '2025-06-18' })]);
  const list = out.responses[2];
  assert.equal(list.status, 200, JSON.stringify(list));
  assert.equal(list.headers['content-encoding'], undefined);
  assert.deepEqual(list.json.result.tools.map((x) => x.name), ['echo', 'execute']);
});

// ---- list answers replayed on a GET stream (red team F2) ----
// With resumability a GET with Last-Event-ID replays a POST stream's
// events: the tools/list answer was asked on another connection, and its
// id is pending nowhere. List-shaped answers on such streams are filtered
// whatever their ids.
itest('a tools/list answer replayed on a GET stream with Last-Event-ID is filtered', async (t) => {
  const sb = sandbox(t, 'answer-replay');
  const srv = await startSdkServer(t, { tools: TOOLS, eventStore: true });
  await startDaemon(sb, { policy: policyOf({ rs: { port: srv.port, hide: ['secret'] } }) });
  const version = '2025-11-25';
  const steps = [...sessionSteps('/mcp', version),
    sessionPost(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }), { protocolVersion: version }),
    { method: 'GET', path: '/mcp', readMs: 1500, headers: [['Accept', 'text/event-stream'], ['Mcp-Session-Id', '{{session}}'],
      ['MCP-Protocol-Version', version], ['Last-Event-ID', '{{event:0}}']] }];
  const run = async (cgroup) => {
    const out = await rawExchange(sb, srv.port, steps, { cgroup });
    assert.equal(out.ok, true, out.error);
    const [, , list, replay] = out.responses;
    const names = (res) => rawMessages(res).filter((m) => m.result?.tools).map((m) => m.result.tools.map((x) => x.name));
    return { list: names(list), replay: names(replay), replayStatus: replay.status };
  };
  const direct = await run(false);
  assert.deepEqual(direct, { list: [TOOLS], replay: [TOOLS], replayStatus: 200 }, 'the server replays the list');
  const got = await run(true);
  assert.deepEqual(got, { list: [['echo', 'execute']], replay: [['echo', 'execute']], replayStatus: 200 });
});

// Every event stream is read now, the ones no MCP request asked for too;
// events no list could be read from go on as they came (a completion
// stream's "[DONE]", plain text), on GET and on a POST that is not MCP.
itest('event streams that are not MCP pass unchanged, GET and POST', async (t) => {
  const sb = sandbox(t, 'answer-plain-sse');
  const events = 'data: hello\n\nevent: tick\ndata: {"n":1}\n\ndata: {"tools":"x"}\n\ndata: [DONE]\n\n';
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.end(events);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => { server.closeAllConnections(); server.close(); });
  const { port } = server.address();
  await startDaemon(sb, { policy: policyOf({ plain: { port, hide: ['secret'] } }) });
  const out = await rawExchange(sb, port, [
    { method: 'GET', path: '/v1/events', headers: [['Accept', 'text/event-stream']] },
    { method: 'POST', path: '/v1/complete', headers: [['Content-Type', 'text/plain']], body: 'write me a poem' },
  ]);
  assert.equal(out.ok, true, out.error);
  for (const res of out.responses) {
    assert.equal(res.status, 200, JSON.stringify(res));
    assert.equal(res.body, events);
  }
});

// A session on a server whose tools/list answers after listMs (500), with
// "secret" hidden through the daemon (lib/slow-list-server.mjs: mode, the
// delays); post(body, extra) is a POST in that session.
async function slowListSession(sb, mode, { listMs = 500, callMs = 2000, version = '2025-03-26' } = {}) {
  const port = await freePort();
  const server = sb.spawn(process.execPath, [path.join(import.meta.dirname, '../lib/slow-list-server.mjs'), String(port), mode,
    String(listMs), String(callMs)]);
  await server.waitForOutput(/slow server listening/, { stream: 'stderr', timeoutMs: 20000 });
  await waitForListen('127.0.0.1', port, 5000, () => server.running);
  await startDaemon(sb, { policy: policyOf({ slow: { port, hide: ['secret'] } }) });
  const init = await rawExchange(sb, port, sessionSteps('/mcp', version));
  const sid = init.responses[0].headers['mcp-session-id'];
  assert.ok(sid, 'the server opened a session');
  const post = (body, extra = {}, session = sid) => ({ method: 'POST', path: '/mcp', body: JSON.stringify(body), ...extra,
    headers: [JSON_TYPE, ACCEPT_BOTH, ['Mcp-Session-Id', session], ['MCP-Protocol-Version', version]] });
  return { port, post };
}

// Servers route an answer to the connection that most recently sent its id
// in the session (TS SDK _requestToStreamMapping; Python keys str(id), so
// 7 and "7" are one id): a request reusing, on a second connection, the id
// of a tools/list in flight would get the list, unfiltered, as its own
// answer. It is refused before it reaches the server; the list's own
// connection gets it filtered.
for (const [mode, reused] of [['json', 7], ['sse', 7], ['sse', '7']]) {
  itest(`an id in flight on another connection of the session is refused (${mode}, id ${JSON.stringify(reused)})`, async (t) => {
    const sb = sandbox(t, `answers-session-id-${mode}-${typeof reused}`);
    const { port, post } = await slowListSession(sb, mode);

    const list = rawExchange(sb, port, [post({ jsonrpc: '2.0', id: 7, method: 'tools/list' })], { timeoutMs: 15000 });
    await sleep(150);  // the list is with the server (it answers after 500 ms)
    const call = await rawExchange(sb, port, [post(toolCall(reused, 'echo'))], { timeoutMs: 15000 });
    const [called] = rawMessages(call.responses[0]);

    assert.equal(called?.error?.code, -32600, `the second connection got ${JSON.stringify(called)}`);
    assert.equal(called.id, reused);
    assert.match(called.error.message, /the id of a request still awaiting its answer/);
    const [listed] = rawMessages((await list).responses[0]);
    assert.deepEqual(listed.result?.tools?.map((x) => x.name), ['echo'], JSON.stringify(listed));
  });
}

// The same when the list's connection hangs up before the answer: the
// server is still working on it (the TS SDK does not cancel a handler
// whose POST went away) and would route it to the next stream sending
// id 7, so the id stays taken in the session for a while.
for (const mode of ['json', 'sse']) {
  itest(`an id whose connection hung up before its answer stays taken in the session (${mode})`, async (t) => {
    const sb = sandbox(t, `answers-session-id-hangup-${mode}`);
    const { port, post } = await slowListSession(sb, mode);

    // the list's connection goes after 100 ms; the server answers at 500 ms
    await rawExchange(sb, port, [post({ jsonrpc: '2.0', id: 7, method: 'tools/list' }, { readMs: 100 })], { timeoutMs: 15000 });
    const call = await rawExchange(sb, port, [post(toolCall(7, 'echo'))], { timeoutMs: 15000 });
    const [called] = rawMessages(call.responses[0]);
    assert.ok(!JSON.stringify(called ?? {}).includes('secret'), `hidden tool leaked: ${JSON.stringify(called)}`);
    assert.equal(called?.error?.code, -32600, JSON.stringify(called));
    assert.match(called.error.message, /the id of a request still awaiting its answer/);
    // another id in the session goes through
    const other = await rawExchange(sb, port, [post(toolCall(8, 'echo'))], { timeoutMs: 15000 });
    assert.match(JSON.stringify(rawMessages(other.responses[0])[0]?.result), /echo/);
  });
}

// The id registry alone cannot keep a list hidden: its tombstones are one
// table for every agent, the oldest going first, so an agent abandoning
// enough other ids (a bogus session's batches, each answered 400) frees
// the id of a tools/list it hung up on, and a call reusing that id gets
// the list as its answer (red team). Hidden entries go by the answer's
// shape: the list is filtered on an event stream; a JSON reply, streamed
// as a call's, is cut before the list goes out.
for (const mode of ['sse', 'json']) {
  itest(`a list answer to a call reusing an evicted id is filtered or cut (${mode})`, async (t) => {
    const sb = sandbox(t, `answers-evicted-id-${mode}`);
    const { port, post } = await slowListSession(sb, mode, { listMs: 6000, callMs: 9000 });

    await rawExchange(sb, port, [post({ jsonrpc: '2.0', id: 7, method: 'tools/list' }, { readMs: 100 })], { timeoutMs: 15000 });
    const held = await rawExchange(sb, port, [post(toolCall(7, 'echo'))], { timeoutMs: 15000 });
    assert.equal(rawMessages(held.responses[0])[0]?.error?.code, -32600, 'id 7 is taken before the flood');
    let next = 1000;
    const steps = [];
    for (let b = 0; b < 700; b++) {
      const batch = [{ jsonrpc: '2.0', id: next++, method: 'tools/list' }];
      for (let i = 0; i < 99; i++) batch.push({ jsonrpc: '2.0', id: next++, method: 'ping' });
      steps.push(post(batch, {}, 'bogus-session'));
    }
    await Promise.all([0, 1, 2, 3].map((c) => rawExchange(sb, port, steps.slice(c * 175, (c + 1) * 175), { timeoutMs: 60000 })));

    const call = await rawExchange(sb, port, [post(toolCall(7, 'echo'))], { timeoutMs: 20000 });
    const [res] = call.responses;
    assert.ok(!JSON.stringify(call).includes('secret'), `hidden tool leaked: ${JSON.stringify(call).slice(0, 600)}`);
    if (mode === 'sse') {
      const [listed] = rawMessages(res);
      assert.deepEqual(listed?.result?.tools?.map((x) => x.name), ['echo'], JSON.stringify(res).slice(0, 600));
    } else {
      assert.equal(res.status, 200, JSON.stringify(res).slice(0, 600));
      assert.equal(rawMessages(res).length, 0, 'the reply was cut');
      assert.ok(!res.body.includes('"tools"'), res.body);
    }
  });
}

// A server's own requests carry ids too, from 0 in each session: a ping
// the server sends on a POST stream is no answer to the agent's request
// with its id. Taken for one, it freed the ids of a pending tools/list and
// call when the server closed the stream for polling (2025-11-25), and a
// call on another connection reusing the list's id got the list (red team).
itest('a server request with the id of a pending tools/list does not free that id', async (t) => {
  const sb = sandbox(t, 'answers-server-request-id');
  const { port, post } = await slowListSession(sb, 'poll', { listMs: 6000, callMs: 9000, version: '2025-11-25' });

  const a = await rawExchange(sb, port, [post([{ jsonrpc: '2.0', id: 0, method: 'tools/list' }, toolCall(1, 'poll')], { readMs: 3000 })],
    { timeoutMs: 15000 });
  assert.match(a.responses[0].body, /"method":"ping"/, 'the server sent its pings on the POST stream');
  const b = await rawExchange(sb, port, [post(toolCall(0, 'echo'))], { timeoutMs: 20000 });
  const [called] = rawMessages(b.responses[0]);
  assert.ok(!JSON.stringify(b).includes('secret'), `hidden tool leaked: ${JSON.stringify(b).slice(0, 600)}`);
  assert.equal(called?.error?.code, -32600, JSON.stringify(called));
  assert.match(called.error.message, /the id of a request still awaiting its answer/);
});
