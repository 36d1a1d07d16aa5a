// "Invisible when it allows": with an allow-all policy a whole MCP
// session through mcpfence gives the agent exactly what the same session
// gives it direct, on both HTTP transports, and the server's own Host and
// Origin checks still see the client's headers; SSE streams resume with
// Last-Event-ID and are relayed event by event.
import assert from 'node:assert/strict';
import { itest } from '../lib/itest.mjs';
import { sandbox } from '../lib/sandbox.mjs';
import { startEverything } from '../lib/everything.mjs';
import { startDaemon } from '../lib/daemon.mjs';
import { fullSession } from '../lib/full-session.mjs';
import { freePort } from '../lib/ports.mjs';
import { startRecorder, spawnAgent, rawExchange, sessionSteps, sessionPost, policyOf, resultText, expectDenial } from '../lib/mcp.mjs';
import { startSdkServer } from '../lib/sdk-http-server.mjs';

// The value of header `name` in a recorded request (rawHeaders pairs).
function headerOf(request, name) {
  for (let i = 0; i < request.headers.length; i += 2) {
    if (request.headers[i].toLowerCase() === name) return request.headers[i + 1];
  }
  return undefined;
}

for (const [transport, serverTransport, sockmap] of [['streamable', 'streamableHttp'], ['sse', 'sse'], ['streamable', 'streamableHttp', true]]) {
  itest(`allow-all: a full ${transport} session through mcpfence matches the direct one${sockmap ? ' (--sockmap)' : ''}`, async (t) => {
    const sb = sandbox(t, `session-${transport}${sockmap ? '-sockmap' : ''}`);
    const everything = await startEverything(sb, serverTransport);
    const daemon = await startDaemon(sb, { sockmap, policy: policyOf({ everything: { port: everything.port } }) });
    const streamable = transport === 'streamable';

    const direct = await spawnAgent(sb, everything.url(), { transport, cgroup: false });
    const expected = await fullSession(direct, { streamable });
    await direct.close();
    assert.deepEqual(daemon.interceptions({ pid: direct.pid }), [], 'the direct run was not intercepted');

    const agent = await spawnAgent(sb, everything.url(), { transport });
    const got = await fullSession(agent, { streamable });
    await agent.close();
    // Its connections (at least the stream and the POSTs) went through the daemon.
    await daemon.waitForInterceptions({ pid: agent.pid }, 2);
    assert.deepEqual(got, expected);
    // The script saw what it was built to see (so equality is not vacuous).
    assert.equal(got.echo, 'Echo: hello through mcpfence');
    assert.deepEqual(got.serverRequests, ['sampling/createMessage', 'elicitation/create']);
    assert.equal(got.longRuns.length, 3);
    assert.deepEqual(got.longRuns.map((run) => run.progress), ['in order', 'in order', 'in order']);
    if (streamable) assert.equal(got.afterTerminate.ok, false);
  }, { timeoutMs: 180000 });
}

itest('the server\'s own Host and Origin checks see the client\'s original headers', async (t) => {
  const sb = sandbox(t, 'host-origin');
  const port = await freePort();
  const rec = await startRecorder(sb, { tools: ['echo'], port, allowedHosts: [`127.0.0.1:${port}`], allowedOrigins: ['http://agent.example'] });
  const daemon = await startDaemon(sb, { policy: policyOf({ rec: { port: rec.port } }) });

  const agent = await spawnAgent(sb, rec.url(), { headers: { Origin: 'http://agent.example' } });
  assert.equal(resultText(await agent.callTool('echo', { m: 1 })), 'ran echo {"m":1}');
  await daemon.waitForInterceptions({ pid: agent.pid });
  await agent.close();
  for (const request of rec.http()) {
    assert.equal(headerOf(request, 'host'), `127.0.0.1:${port}`, JSON.stringify(request.headers));
    assert.equal(headerOf(request, 'origin'), 'http://agent.example', JSON.stringify(request.headers));
  }

  // A foreign Origin or Host is still the server's to refuse (403), and it is.
  const [badOrigin] = (await rawExchange(sb, rec.port, [{ ...sessionSteps()[0], headers: [...sessionSteps()[0].headers, ['Origin', 'http://evil.example']] }])).responses;
  assert.equal(badOrigin.status, 403, JSON.stringify(badOrigin));
  assert.match(badOrigin.body, /Origin/);
  const [badHost] = (await rawExchange(sb, rec.port, [{ ...sessionSteps()[0], headers: [['Host', `evil.example:${port}`], ...sessionSteps()[0].headers] }])).responses;
  assert.equal(badHost.status, 403, JSON.stringify(badHost));
  assert.match(badHost.body, /Host/);
  const hosts = rec.http().map((r) => headerOf(r, 'host'));
  assert.ok(hosts.includes(`evil.example:${port}`), `the server saw the client's Host: ${hosts}`);
});

itest('an SSE stream resumes with Last-Event-ID through mcpfence as it does direct', async (t) => {
  const sb = sandbox(t, 'resume');
  const everything = await startEverything(sb);
  const daemon = await startDaemon(sb, { policy: policyOf({ everything: { port: everything.port } }) });
  const version = '2025-06-18';
  const steps = [
    ...sessionSteps('/mcp', version),
    sessionPost(JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'tools/call', params: {
      name: 'trigger-long-running-operation', arguments: { duration: 0.3, steps: 3 }, _meta: { progressToken: 'resume-token' } } }), { protocolVersion: version }),
    { method: 'GET', path: '/mcp', readMs: 1500, headers: [['Accept', 'text/event-stream'], ['Mcp-Session-Id', '{{session}}'],
      ['MCP-Protocol-Version', version], ['Last-Event-ID', '{{event:0}}']] },
  ];
  const run = async (cgroup) => {
    const out = await rawExchange(sb, everything.port, steps, { cgroup });
    assert.equal(out.ok, true, out.error);
    const [, , call, resumed] = out.responses;
    assert.equal(call.events.length, 4, call.body);
    assert.equal(resumed.status, 200, JSON.stringify(resumed));
    return { pid: out.pid, original: call.events, replayed: resumed.events };
  };
  const direct = await run(false);
  const intercepted = await run(true);
  await daemon.waitForInterceptions({ pid: intercepted.pid }, steps.length);
  // The replay is everything after the first event: two progress
  // notifications and the result.
  assert.deepEqual(direct.replayed, direct.original.slice(1));
  assert.deepEqual(intercepted.replayed, direct.replayed);
  assert.equal(resultText(intercepted.replayed[2].result), 'Long running operation completed. Duration: 0.3 seconds, Steps: 3.');
});

// A call whose server sends a progress event at once and its result 5 s
// later, on the SSE stream answering the POST: an agent reading 2 s in must
// already have the event (held until the response ended, it would have
// nothing).
itest('SSE replies are relayed event by event, not held until the response ends', async (t) => {
  const sb = sandbox(t, 'sse-live');
  const rec = await startRecorder(sb, { tools: ['echo'] });
  await startDaemon(sb, { policy: policyOf({ rec: { port: rec.port } }) });
  const call = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { holdMs: 5000 }, _meta: { progressToken: 'live-1' } } };
  const out = await rawExchange(sb, rec.port, [...sessionSteps(), { ...sessionPost(JSON.stringify(call)), readMs: 2000 }]);
  assert.equal(out.ok, true, out.error);
  const res = out.responses[2];
  assert.equal(res.cut, true, `the call must still be running at 2 s: ${JSON.stringify(res)}`);
  assert.match(res.headers['content-type'] || '', /text\/event-stream/, JSON.stringify(res));
  assert.deepEqual(res.events.map((e) => e.method), ['notifications/progress'], JSON.stringify(res));
  assert.equal(res.events[0].params.progressToken, 'live-1');
});

// ---- legacy sessions as servers announce them (red team F1) ----
// Python's SDK (FastMCP) announces /messages/?session_id=S; a daemon that
// knew only "sessionId=" registered no session: the list went out
// unfiltered on the GET stream and denials to a POST reply nobody reads.
for (const legacy of ['python', 'ts']) {
  itest(`legacy HTTP+SSE announced the ${legacy} way: hidden tools cut, denials delivered on the stream`, async (t) => {
    const sb = sandbox(t, `legacy-${legacy}`);
    const srv = await startSdkServer(t, { tools: ['echo', 'execute', 'secret'], legacy });
    const daemon = await startDaemon(sb, { policy: policyOf({ leg: { port: srv.port, hide: ['secret'], tools: { execute: { action: 'deny' } } } }) });
    const agent = await spawnAgent(sb, `http://127.0.0.1:${srv.port}/sse`, { transport: 'sse' });
    assert.deepEqual((await agent.must('listTools')).tools, ['echo', 'execute']);
    expectDenial(assert, await agent.callTool('execute', { m: 'legacy-denied' }));
    expectDenial(assert, await agent.callTool('secret', { m: 'legacy-hidden' }));
    assert.equal(resultText(await agent.callTool('echo', { m: 1 })), 'ran echo {"m":1}');
    await daemon.waitForInterceptions({ pid: agent.pid });
    await agent.close();
    const posts = srv.requests.filter((r) => r.method === 'POST');
    assert.ok(posts.length >= 4 && posts.every((r) => r.url.startsWith(legacy === 'python' ? '/messages/?session_id=' : '/messages?sessionId=')),
      JSON.stringify(posts.map((r) => r.url)));
  });
}

itest('a legacy POST whose session parameter is encoded, repeated or unreadable is refused (400)', async (t) => {
  const sb = sandbox(t, 'legacy-target');
  const srv = await startSdkServer(t, { tools: ['echo', 'secret'], legacy: 'ts' });
  await startDaemon(sb, { policy: policyOf({ leg: { port: srv.port, hide: ['secret'] } }) });
  const list = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
  const targets = ['/messages?session%49d=abc', '/messages?sessionId=a&sessionId=b', '/messages?sessionId=a&session_id=a',
    '/messages?sessionId[]=abc', '/messages?sessionId=a%zz'];
  for (const path of targets) {
    const out = await rawExchange(sb, srv.port, [{ method: 'POST', path, headers: [['Content-Type', 'application/json']], body: list }]);
    const [res] = out.responses;
    assert.equal(res.status, 400, `${path}: ${JSON.stringify(res)}`);
    assert.match(res.body, /session parameter/, path);
  }
  assert.deepEqual(srv.requests, [], 'the server saw none of them');
});

// A server with both transports: a legacy session's id on a Streamable
// HTTP POST (/mcp?sessionId=S) is answered in place by /mcp, not on the
// session's stream. Sessions are keyed by the endpoint's path too, so that
// POST is read as any Streamable one and its list answer filtered.
itest('a legacy session id on a POST to another path is not that session: its answer in place is filtered', async (t) => {
  const sb = sandbox(t, 'legacy-other-path');
  const srv = await startSdkServer(t, { tools: ['echo', 'secret'], legacy: 'ts', json: true });
  const daemon = await startDaemon(sb, { policy: policyOf({ leg: { port: srv.port, hide: ['secret'] } }) });
  const holder = sb.spawn(process.execPath, ['-e', `
    require('http').get({ host: '127.0.0.1', port: ${srv.port}, path: '/sse', headers: { Accept: 'text/event-stream' } },
      (res) => res.setEncoding('utf8').on('data', (d) => process.stdout.write(d)));`], { cgroup: true });
  const [endpoint] = await holder.waitForOutput(/^data: \/messages\?sessionId=\S+$/m);
  await daemon.waitForInterceptions({ pid: holder.pid });
  const target = `/mcp${endpoint.slice('data: /messages'.length)}`;
  const out = await rawExchange(sb, srv.port, [...sessionSteps(target, '2025-06-18'),
    sessionPost(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }), { pathname: target, protocolVersion: '2025-06-18' })]);
  assert.equal(out.ok, true, out.error);
  const list = out.responses[2];
  assert.equal(list.status, 200, JSON.stringify(list));
  assert.deepEqual(list.json.result.tools.map((x) => x.name), ['echo']);
});
