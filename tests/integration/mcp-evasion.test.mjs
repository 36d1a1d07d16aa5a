// Requests built to slip past the policy: each is refused (or
// decided on what the server would really read) and never reaches the
// server. The agent is raw-client.mjs in the agent cgroup, writing exact
// bytes; every evasive body carries a marker that the recording server
// must never receive, decoded or not.
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { itest } from '../lib/itest.mjs';
import { sandbox } from '../lib/sandbox.mjs';
import { startDaemon } from '../lib/daemon.mjs';
import { scrapeMetrics, parseSamples } from '../lib/metrics.mjs';
import {
  startRecorder, rawExchange, rawMessages, sessionSteps, sessionPost, toolCall, expectDenial, resultText, policyOf,
  JSON_TYPE,
} from '../lib/mcp.mjs';

import { REASON, setUp, inSession, assertRefused } from '../lib/refusal.mjs';

function assertNeverReached(rec, marker) {
  assert.deepEqual(rec.requestsMentioning(marker), [], `${marker} reached the server`);
  assert.equal(rec.calls().filter((c) => JSON.stringify(c).includes(marker)).length, 0);
}

itest('invalid JSON is refused with -32700', async (t) => {
  const { sb, rec } = await setUp(t, 'ev-invalid-json');
  const [res] = await inSession(sb, rec, [sessionPost('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"execute","arguments":{"m":"invalid-json-marker"}}')]);
  assertRefused(res, { codes: [-32700] });
  assertNeverReached(rec, 'invalid-json-marker');
  // Trailing bytes after a valid object are just as uninterpretable.
  const [trailing] = await inSession(sb, rec, [sessionPost(`${JSON.stringify(toolCall(2, 'echo', { m: 'trailing-marker' }))} {"method":"tools/call"}`)]);
  assertRefused(trailing, { codes: [-32700] });
  assertNeverReached(rec, 'trailing-marker');
});

itest('duplicate "method" and duplicate "name" keys are refused', async (t) => {
  const { sb, rec } = await setUp(t, 'ev-duplicates');
  const [method, name, params] = await inSession(sb, rec, [
    sessionPost('{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call","params":{"name":"execute","arguments":{"m":"dup-method-marker"}}}'),
    sessionPost('{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","name":"execute","arguments":{"m":"dup-name-marker"}}}'),
    sessionPost('{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{}},"params":{"name":"execute","arguments":{"m":"dup-params-marker"}}}'),
  ]);
  assertRefused(method);
  assertRefused(name);
  assertRefused(params);
  for (const marker of ['dup-method-marker', 'dup-name-marker', 'dup-params-marker']) assertNeverReached(rec, marker);
});

itest('an escaped tool name is decoded before matching ("exec\\u0075te" is execute)', async (t) => {
  const { sb, rec } = await setUp(t, 'ev-escape');
  const [res] = await inSession(sb, rec, [sessionPost('{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"exec\\u0075te","arguments":{"m":"escape-marker"}}}', { accept: 'application/json' })]);
  assert.equal(res.status, 200, JSON.stringify(res));
  assert.equal(res.json.id, 9);
  expectDenial(assert, res.json.result, { rule: 'tools.execute.action', reason: REASON });
  assertNeverReached(rec, 'escape-marker');
});

itest('Content-Encoding: undecodable refused; gzip decoded and decided on its content', async (t) => {
  const { sb, rec } = await setUp(t, 'ev-encoding');
  const gz = (obj) => zlib.gzipSync(Buffer.from(JSON.stringify(obj))).toString('base64');
  const [unknown, bogusGzip, deniedGzip, allowedGzip] = await inSession(sb, rec, [
    sessionPost({ body: JSON.stringify(toolCall(1, 'echo', { m: 'br-marker' })) }, { headers: [['Content-Encoding', 'br']] }),
    sessionPost({ body: JSON.stringify(toolCall(2, 'echo', { m: 'bogus-gzip-marker' })) }, { headers: [['Content-Encoding', 'gzip']] }),
    sessionPost({ bodyBase64: gz(toolCall(3, 'execute', { m: 'gzip-denied-marker' })) }, { headers: [['Content-Encoding', 'gzip']], accept: 'application/json' }),
    sessionPost({ bodyBase64: gz(toolCall(4, 'echo', { m: 'gzip-allowed-marker' })) }, { headers: [['Content-Encoding', 'gzip']] }),
  ]);
  assertRefused(unknown, { status: 415 });
  assertNeverReached(rec, 'br-marker');
  assert.ok(bogusGzip.status >= 400 && bogusGzip.status < 500, JSON.stringify(bogusGzip));
  assertNeverReached(rec, 'bogus-gzip-marker');
  // The gzip body of a denied call is denied, not forwarded.
  assert.equal(deniedGzip.status, 200, JSON.stringify(deniedGzip));
  expectDenial(assert, deniedGzip.json.result, { rule: 'tools.execute.action' });
  assertNeverReached(rec, 'gzip-denied-marker');
  // ... and an allowed one arrives, meaning what the daemon decided on.
  assert.equal(allowedGzip.status, 200, JSON.stringify(allowedGzip));
  assert.equal(resultText(rawMessages(allowedGzip)[0].result), 'ran echo {"m":"gzip-allowed-marker"}');
  assert.deepEqual(rec.calls().map((c) => c.arguments.m), ['gzip-allowed-marker']);
});

itest('chunked bodies, Expect: 100-continue and deflate are decided on the body the server reads', async (t) => {
  const { sb, rec } = await setUp(t, 'ev-framing');
  const chunked = (obj) => {
    const text = JSON.stringify(obj);
    const half = Math.floor(text.length / 2);
    return `${half.toString(16)}\r\n${text.slice(0, half)}\r\n${(text.length - half).toString(16)}\r\n${text.slice(half)}\r\n0\r\n\r\n`;
  };
  const te = (obj) => sessionPost({ body: chunked(obj), contentLength: false }, { headers: [['Transfer-Encoding', 'chunked']] });
  const expect = (obj) => sessionPost(JSON.stringify(obj), { headers: [['Expect', '100-continue']] });
  const deflated = (obj) => sessionPost({ bodyBase64: zlib.deflateSync(Buffer.from(JSON.stringify(obj))).toString('base64') },
    { headers: [['Content-Encoding', 'deflate']] });
  const [deniedTe, allowedTe, deniedExpect, deniedDeflate, allowedDeflate] = await inSession(sb, rec, [
    te(toolCall(1, 'execute', { m: 'te-denied-marker' })),
    te(toolCall(2, 'echo', { m: 'te-allowed' })),
    expect(toolCall(3, 'execute', { m: 'expect-denied-marker' })),
    deflated(toolCall(4, 'execute', { m: 'deflate-denied-marker' })),
    deflated(toolCall(5, 'echo', { m: 'deflate-allowed' })),
  ]);
  const result = (res) => rawMessages(res)[0]?.result;
  expectDenial(assert, result(deniedTe), { rule: 'tools.execute.action', reason: REASON });
  assert.equal(resultText(result(allowedTe)), 'ran echo {"m":"te-allowed"}', JSON.stringify(allowedTe));
  assert.equal(deniedExpect.continued, true, `100 Continue first: ${JSON.stringify(deniedExpect)}`);
  expectDenial(assert, result(deniedExpect), { rule: 'tools.execute.action', reason: REASON });
  expectDenial(assert, result(deniedDeflate), { rule: 'tools.execute.action', reason: REASON });
  assert.equal(resultText(result(allowedDeflate)), 'ran echo {"m":"deflate-allowed"}', JSON.stringify(allowedDeflate));
  for (const marker of ['te-denied-marker', 'expect-denied-marker', 'deflate-denied-marker']) assertNeverReached(rec, marker);
  assert.deepEqual(rec.calls().map((c) => c.arguments.m), ['te-allowed', 'deflate-allowed']);
});

itest('pipelined requests on one connection are each decided', async (t) => {
  const { sb, rec } = await setUp(t, 'ev-pipeline');
  const post = (id, tool, m) => sessionPost(JSON.stringify(toolCall(id, tool, { m })));
  const responses = await inSession(sb, rec, [
    { pipeline: [post(1, 'echo', 'pipe-1'), post(2, 'execute', 'pipe-denied-marker'), post(3, 'echo', 'pipe-3')] },
    { pipeline: [post(4, 'execute', 'pipe-denied-first-marker'), post(5, 'echo', 'pipe-5')] },
  ]);
  assert.equal(responses.length, 5, JSON.stringify(responses));
  const [one, two, three, four, five] = responses.map((res) => rawMessages(res)[0]);
  assert.deepEqual([one.id, two.id, three.id, four.id, five.id], [1, 2, 3, 4, 5]);
  assert.equal(resultText(one.result), 'ran echo {"m":"pipe-1"}');
  expectDenial(assert, two.result, { rule: 'tools.execute.action' });
  assert.equal(resultText(three.result), 'ran echo {"m":"pipe-3"}');
  expectDenial(assert, four.result, { rule: 'tools.execute.action' });
  assert.equal(resultText(five.result), 'ran echo {"m":"pipe-5"}');
  assertNeverReached(rec, 'pipe-denied-marker');
  assertNeverReached(rec, 'pipe-denied-first-marker');
  assert.deepEqual(rec.calls().map((c) => c.arguments.m), ['pipe-1', 'pipe-3', 'pipe-5']);
});

itest('garbage pipelined after good requests: their answers first, then a 400, then the end', async (t) => {
  const { sb, rec } = await setUp(t, 'ev-pipeline-garbage');
  const post = (id, tool, m) => sessionPost(JSON.stringify(toolCall(id, tool, { m })));
  const garbage = { rawBase64: Buffer.from('\x01\x02 not http\r\n\r\n').toString('base64') };
  const responses = await inSession(sb, rec, [
    { pipeline: [post(1, 'echo', 'before-garbage'), post(2, 'execute', 'g-denied-marker'), garbage, post(3, 'echo', 'after-garbage-marker')] },
  ]);
  assert.equal(responses.length, 4, JSON.stringify(responses));
  const [one, two, refused, end] = responses;
  assert.equal(resultText(rawMessages(one)[0].result), 'ran echo {"m":"before-garbage"}');
  expectDenial(assert, rawMessages(two)[0].result, { rule: 'tools.execute.action' });
  assertRefused(refused, { status: 400 });
  assert.deepEqual({ status: end.status, closed: end.closed }, { status: 0, closed: true }, 'the connection ends after the 400');
  assertNeverReached(rec, 'g-denied-marker');
  assertNeverReached(rec, 'after-garbage-marker');
  assert.deepEqual(rec.calls().map((c) => c.arguments.m), ['before-garbage']);
});

itest('Content-Length together with Transfer-Encoding is refused', async (t) => {
  const { sb, rec, daemon } = await setUp(t, 'ev-cl-te');
  const body = JSON.stringify(toolCall(1, 'echo', { m: 'cl-te-marker' }));
  const chunked = `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
  const host = `127.0.0.1:${rec.port}`;
  const raw = (head) => ({ rawBase64: Buffer.from(`${head}\r\n${chunked}`).toString('base64') });
  const out = await rawExchange(sb, rec.port, [
    raw(`POST /mcp HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: ${chunked.length}\r\nTransfer-Encoding: chunked\r\n`),
    raw(`POST /mcp HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n`),
    raw(`POST /mcp HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 5\r\nContent-Length: ${chunked.length}\r\n`),
  ]);
  assert.equal(out.ok, true, out.error);
  // mcpfence answers (node's own HTTP server would refuse these too, but
  // with a bare 400: the JSON-RPC error body and the interception record
  // show the refusal came from the daemon).
  await daemon.waitForInterceptions({ pid: out.pid }, out.responses.length);
  for (const res of out.responses) assertRefused(res, { status: 400 });
  assertNeverReached(rec, 'cl-te-marker');
  assert.deepEqual(rec.http(), [], 'nothing at all was forwarded');
});

// Request smuggling: heads a server could frame differently from the
// daemon, each followed by a complete second request that calls the denied
// tool. Whatever each side makes of the framing, those bytes must never
// reach the server (the daemon may refuse the whole connection). Node's
// own parser rejects several of these too, so the daemon must show it
// handled each one itself: a refusal (decision invalid) or the smuggled
// call denied, in its counters.
itest('ambiguous framing cannot smuggle a denied call past the policy', async (t) => {
  const { sb, rec, daemon } = await setUp(t, 'ev-smuggle');
  const host = `127.0.0.1:${rec.port}`;
  const allowed = JSON.stringify(toolCall(1, 'echo', { m: 'smuggle-carrier' }));
  const smuggled = JSON.stringify(toolCall(2, 'execute', { m: 'smuggled-marker' }));
  const chunk = (text) => `${text.length.toString(16)}\r\n${text}\r\n0\r\n\r\n`;
  const inner = `POST /mcp HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`;
  const head = (extra) => `POST /mcp HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n${extra}\r\n`;
  const variants = {
    teTwice: `${head('Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n')}${chunk(allowed)}${inner}`,
    teUnknown: `${head(`Transfer-Encoding: xchunked\r\nContent-Length: ${allowed.length}\r\n`)}${allowed}${inner}`,
    teList: `${head('Transfer-Encoding: identity, chunked\r\n')}${chunk(allowed)}${inner}`,
    spaceBeforeColon: `${head(`Transfer-Encoding : chunked\r\nContent-Length: ${chunk(allowed).length}\r\n`)}${chunk(allowed)}${inner}`,
    bareLf: `POST /mcp HTTP/1.1\nHost: ${host}\nContent-Type: application/json\nContent-Length: ${allowed.length}\n\n${allowed}${inner}`,
    clList: `${head(`Content-Length: ${allowed.length}, ${allowed.length + inner.length}\r\n`)}${allowed}${inner}`,
    chunkExtension: `${head('Transfer-Encoding: chunked\r\n')}${allowed.length.toString(16)};x=1\r\n${allowed}\r\n0\r\n\r\n${inner}`,
  };
  const handled = async () => parseSamples(await scrapeMetrics(daemon))
    .filter((x) => x.name === 'mcpfence_tool_calls_total'
      && (x.labels.decision === 'invalid' || (x.labels.tool === 'execute' && x.labels.decision === 'deny')))
    .reduce((sum, x) => sum + x.value, 0);
  for (const [name, bytes] of Object.entries(variants)) {
    const before = await handled();
    // Two responses at most (carrier and smuggled request); readMs ends
    // the exchange if the connection stays open with fewer.
    const out = await rawExchange(sb, rec.port, [{ readMs: 3000, pipeline: [{ rawBase64: Buffer.from(bytes).toString('base64') }, { rawBase64: '' }] }]);
    assert.equal(out.ok, true, `${name}: ${out.error}`);
    await daemon.waitForInterceptions({ pid: out.pid });
    for (const res of out.responses) assert.doesNotMatch(res.body || '', /ran execute/, `${name}: ${JSON.stringify(res)}`);
    assert.deepEqual(rec.calls().filter((c) => c.tool === 'execute'), [], `${name}: the smuggled call ran`);
    assert.deepEqual(rec.requestsMentioning('smuggled-marker'), [], `${name}: the smuggled bytes reached the server`);
    assert.ok(await handled() > before, `${name}: the daemon neither refused the request nor denied the smuggled call`);
  }
});

itest('Mcp-Method / Mcp-Name headers that disagree with the body are refused', async (t) => {
  const { sb, rec } = await setUp(t, 'ev-mcp-headers');
  const call = (marker) => JSON.stringify(toolCall(1, 'execute', { m: marker }));
  const b64 = (text) => `=?base64?${Buffer.from(text).toString('base64')}?=`;
  const responses = await inSession(sb, rec, [
    sessionPost(call('hdr-method-marker'), { headers: [['Mcp-Method', 'tools/list']] }),
    sessionPost(call('hdr-name-marker'), { headers: [['Mcp-Method', 'tools/call'], ['Mcp-Name', 'echo']] }),
    sessionPost(call('hdr-b64-marker'), { headers: [['Mcp-Method', 'tools/call'], ['Mcp-Name', b64('echo')]] }),
    sessionPost(JSON.stringify(toolCall(2, 'echo', { m: 'hdr-echo-marker' })), { headers: [['Mcp-Method', 'tools/call'], ['Mcp-Name', 'execute']] }),
    sessionPost(call('hdr-twice-marker'), { headers: [['Mcp-Name', 'execute'], ['Mcp-Name', 'echo']] }),
  ]);
  for (const res of responses) assertRefused(res);
  for (const marker of ['hdr-method-marker', 'hdr-name-marker', 'hdr-b64-marker', 'hdr-echo-marker', 'hdr-twice-marker']) assertNeverReached(rec, marker);
  // Headers that agree (base64 form included) change nothing: decided on the body.
  const [agree, agreeDenied] = await inSession(sb, rec, [
    sessionPost(JSON.stringify(toolCall(3, 'echo', { m: 'hdr-ok-marker' })), { headers: [['Mcp-Method', 'tools/call'], ['Mcp-Name', b64('echo')]] }),
    sessionPost(call('hdr-agree-denied-marker'), { headers: [['Mcp-Method', 'tools/call'], ['Mcp-Name', 'execute']], accept: 'application/json' }),
  ]);
  assert.equal(resultText(rawMessages(agree)[0].result), 'ran echo {"m":"hdr-ok-marker"}');
  expectDenial(assert, agreeDenied.json.result, { rule: 'tools.execute.action' });
  assertNeverReached(rec, 'hdr-agree-denied-marker');
});

itest('a body over the limit gets 413 with a JSON-RPC error and is not forwarded', async (t) => {
  const { sb, rec } = await setUp(t, 'ev-oversize');
  const filler = 'x'.repeat(4 * 1024 * 1024 + 1);
  const [res] = await inSession(sb, rec, [sessionPost(JSON.stringify(toolCall(1, 'echo', { m: 'oversize-marker', filler })))]);
  assert.equal(res.status, 413, JSON.stringify({ ...res, body: res.body.slice(0, 300) }));
  assert.ok(res.json && res.json.jsonrpc === '2.0' && res.json.error, JSON.stringify(res));
  assertNeverReached(rec, 'oversize-marker');
  // Just under the limit still goes through.
  const under = 'y'.repeat(3 * 1024 * 1024);
  const [ok] = await inSession(sb, rec, [sessionPost(JSON.stringify(toolCall(2, 'echo', { m: 'under-marker', under })))]);
  assert.equal(ok.status, 200, ok.body.slice(0, 300));
  assert.deepEqual(rec.calls().map((c) => c.arguments.m), ['under-marker']);
});

itest('--body-limit sets the limit', async (t) => {
  const sb = sandbox(t, 'ev-body-limit');
  const rec = await startRecorder(sb, { tools: ['echo'], jsonResponse: true });
  await startDaemon(sb, { args: ['--body-limit', '65536'], policy: policyOf({ rec: { port: rec.port } }) });
  const [over, under] = await inSession(sb, rec, [
    sessionPost(JSON.stringify(toolCall(1, 'echo', { m: 'limit-over-marker', pad: 'o'.repeat(70000) }))),
    sessionPost(JSON.stringify(toolCall(2, 'echo', { m: 'limit-under-marker', pad: 'u'.repeat(60000) }))),
  ]);
  assert.equal(over.status, 413, over.body.slice(0, 300));
  assert.ok(over.json?.error, over.body.slice(0, 300));
  assertNeverReached(rec, 'limit-over-marker');
  assert.equal(under.status, 200, under.body.slice(0, 300));
  assert.deepEqual(rec.calls().map((c) => c.arguments.m), ['limit-under-marker']);
});

itest('requests that are not MCP pass through untouched', async (t) => {
  const { sb, rec, daemon } = await setUp(t, 'ev-not-mcp');
  const steps = [
    { method: 'GET', path: '/status?probe=1', headers: [['X-Probe', 'a b  c'], ['Authorization', 'Bearer t0ken']] },
    { method: 'POST', path: '/upload', headers: [['Content-Type', 'application/octet-stream'], ['X-Order', '1']], bodyBase64: Buffer.from([0, 1, 2, 255, 254, 10, 13]).toString('base64') },
    { method: 'PUT', path: '/mcp-not', headers: [JSON_TYPE], body: '{"not": "json-rpc", "method": "tools/call"' },
    { method: 'OPTIONS', path: '/mcp', headers: [['Origin', 'http://agent.example'], ['Access-Control-Request-Method', 'POST']] },
  ];
  const out = await rawExchange(sb, rec.port, steps);
  assert.equal(out.ok, true, out.error);
  // Through the daemon, one connection per request.
  await daemon.waitForInterceptions({ pid: out.pid }, steps.length);
  assert.equal(out.responses[0].body, 'not mcp: GET /status?probe=1\n');
  assert.equal(out.responses[1].body, 'not mcp: POST /upload\n');
  assert.equal(out.responses[2].body, 'not mcp: PUT /mcp-not\n');
  const seen = rec.http();
  assert.equal(seen.length, 4);
  steps.forEach((step, i) => {
    assert.equal(seen[i].method, step.method);
    assert.equal(seen[i].url, step.path);
    // Every header the client sent arrives, same names, values and order.
    const sent = [['Host', `127.0.0.1:${rec.port}`], ...step.headers];
    const got = [];
    for (let k = 0; k < seen[i].headers.length; k += 2) got.push([seen[i].headers[k], seen[i].headers[k + 1]]);
    const relevant = got.filter(([name]) => sent.some(([s]) => s.toLowerCase() === name.toLowerCase()));
    assert.deepEqual(relevant, sent, `headers of ${step.method} ${step.path}`);
    const body = step.bodyBase64 ?? (step.body !== undefined ? Buffer.from(step.body).toString('base64') : '');
    assert.equal(seen[i].rawBodyBase64, body);
  });
});

itest('off the MCP paths, JSON-RPC is decided on what the server would read', async (t) => {
  const { sb, rec } = await setUp(t, 'ev-off-path');
  const post = (path, body, headers = [JSON_TYPE]) => ({ method: 'POST', path, headers, ...body });
  const text = (obj) => ({ body: JSON.stringify(obj) });
  const gz = (obj) => ({ bodyBase64: zlib.gzipSync(Buffer.from(JSON.stringify(obj))).toString('base64') });
  const utf16 = (obj) => ({ bodyBase64: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(JSON.stringify(obj), 'utf16le')]).toString('base64') });
  const utf16be = (obj) => ({ bodyBase64: Buffer.from(JSON.stringify(obj), 'utf16le').swap16().toString('base64') });
  const deep = (obj) => ({ body: JSON.stringify(obj).replace('"deep"', `${'['.repeat(1100)}"deep"${']'.repeat(1100)}`) });
  const out = await rawExchange(sb, rec.port, [
    post('/api/rpc', gz(toolCall(1, 'execute', { m: 'offpath-gzip-marker' })), [JSON_TYPE, ['Content-Encoding', 'gzip']]),
    post('/api/rpc', { body: `\ufeff${JSON.stringify(toolCall(2, 'execute', { m: 'offpath-bom-marker' }))}` }),
    post('/api/u16', utf16(toolCall(3, 'execute', { m: 'offpath-utf16-marker' })), [['Content-Type', 'application/json; charset=utf-16le']]),
    post('/api/deep', deep(toolCall(4, 'execute', { m: 'offpath-deep-marker', x: 'deep' }))),
    post('/api/u16', utf16be(toolCall(6, 'execute', { m: 'offpath-utf16be-marker' })), []),
    post('/api/rpc', { body: '' }, [JSON_TYPE, ['Content-Encoding', 'br']]),
    post('/api/items', text({ items: [1, 2], note: 'plain-json-marker' })),
    post('/api/blob', { bodyBase64: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 13]).toString('base64') }, []),
    post('/api/rpc', gz(toolCall(5, 'echo', { m: 'offpath-allowed-marker' })), [JSON_TYPE, ['Content-Encoding', 'gzip']]),
    // an escaped member name is read as "method" by the server
    post('/api/rpc', { body: JSON.stringify(toolCall(7, 'execute', { m: 'offpath-escaped-marker' })).replace('"method"', '"m\\u0065thod"') }),
    // JSON-RPC after a harmless object
    post('/api/rpc', { body: `{"a":1} ${JSON.stringify(toolCall(8, 'execute', { m: 'offpath-trailing-marker' }))}` }),
    // NUL and other bytes below 0x20 between tokens: cJSON reads them as whitespace
    post('/api/rpc', { body: JSON.stringify(toolCall(9, 'execute', { m: 'offpath-nul-marker' })).replace('"jsonrpc"', '"jsonrpc"\u0000\u0000\u0001').replace('"method"', '\u001f"method"') }),
    // an object deeper than the sniffer tracks, with a member after a comma in it
    post('/api/deep', { body: JSON.stringify(toolCall(10, 'execute', { m: 'offpath-deepcomma-marker', x: 'deep' })).replace('"deep"', `${'['.repeat(1100)}{"a":1,"b":2}${']'.repeat(1100)}`) }),
    // one NUL first: "UTF-16" to a transcoding reader, whitespace to cJSON
    post('/api/rpc', { bodyBase64: Buffer.concat([Buffer.from([0]), Buffer.from(JSON.stringify(toolCall(11, 'execute', { m: 'offpath-nullead-marker' })))]).toString('base64') }),
    // a JSON5 line comment ended by U+2028
    post('/api/rpc', { body: `{// note\u2028"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":"execute","arguments":{"m":"offpath-ls-marker"}}}` }),
  ]);
  assert.equal(out.ok, true, out.error);
  const [gzipped, bom, u16, tooDeep, u16be, brotli, plain, blob, allowed, escaped, trailing, nulPadded, deepComma, nulLead, lineSep] = out.responses;
  // A gzipped call is decoded and decided like any other.
  assert.equal(gzipped.status, 200, JSON.stringify(gzipped));
  expectDenial(assert, rawMessages(gzipped)[0].result, { rule: 'tools.execute.action', reason: REASON });
  // What cjson cannot read but a lenient server might is refused.
  assertRefused(bom, { codes: [-32700] });
  assertRefused(u16, { codes: [-32700] });
  assertRefused(tooDeep, { codes: [-32700] });
  assertRefused(u16be, { codes: [-32700] });
  assertRefused(brotli, { status: 415 });
  expectDenial(assert, rawMessages(escaped)[0].result, { rule: 'tools.execute.action', reason: REASON });
  assertRefused(trailing, { codes: [-32700] });
  assertRefused(nulPadded, { codes: [-32700] });
  for (const res of [deepComma, nulLead, lineSep]) assert.ok(res.status >= 400 || rawMessages(res)[0]?.result?.isError, JSON.stringify(res));
  for (const marker of ['offpath-gzip-marker', 'offpath-bom-marker', 'offpath-deep-marker', 'offpath-escaped-marker', 'offpath-trailing-marker', 'offpath-nul-marker', 'offpath-deepcomma-marker', 'offpath-nullead-marker', 'offpath-ls-marker']) assertNeverReached(rec, marker);
  assert.deepEqual(rec.http().filter((r) => r.url === '/api/u16' || r.url === '/api/deep'), []);
  // JSON that is not JSON-RPC, and allowed calls, reach the server as sent.
  assert.equal(plain.body, 'not mcp: POST /api/items\n');
  assert.equal(blob.body, 'not mcp: POST /api/blob\n'); // binary with no type: not JSON, untouched
  assert.equal(allowed.body, 'not mcp: POST /api/rpc\n');
  assert.equal(rec.requestsMentioning('plain-json-marker').length, 1);
  assert.equal(rec.requestsMentioning('offpath-allowed-marker').length, 1);
});

itest('protocol upgrades and CONNECT are refused: nothing after them could be inspected', async (t) => {
  const { sb, rec } = await setUp(t, 'ev-upgrade');
  const out = await rawExchange(sb, rec.port, [
    { method: 'GET', path: '/mcp', headers: [['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='], ['Sec-WebSocket-Version', '13'], ['X-Probe', 'ws-upgrade-marker']] },
    { method: 'POST', path: '/api/ws', headers: [JSON_TYPE, ['Upgrade', 'h2c'], ['Connection', 'Upgrade, HTTP2-Settings'], ['HTTP2-Settings', 'AAMAAABkAAQAAP__']], body: JSON.stringify(toolCall(1, 'execute', { m: 'h2c-marker' })) },
    { method: 'CONNECT', path: `127.0.0.1:${rec.port}`, headers: [['X-Probe', 'connect-marker']] },
  ]);
  assert.equal(out.ok, true, out.error);
  for (const res of out.responses) {
    assertRefused(res, { status: 403, codes: [-32600] });
    assert.match(res.json.error.message, /upgrades and CONNECT tunnels are refused/);
  }
  assert.deepEqual(rec.http(), [], 'nothing reached the server');
});

// ... but for Accept-Encoding: answers are asked for uncoded, so the
// daemon reads them as they stream (mcp-answers.test.mjs).
itest('an inspected MCP POST reaches the server with its headers as sent; a trimmed batch only changes Content-Length', async (t) => {
  const { sb, rec } = await setUp(t, 'ev-headers');
  const extra = [['Authorization', 'Bearer s3cret-token'], ['X-Trace', 'a  b'], ['Accept-Encoding', 'gzip, br'], ['Cookie', 'k=v; k2=v2']];
  const upstream = extra.filter(([name]) => name !== 'Accept-Encoding');
  const single = JSON.stringify(toolCall(1, 'echo', { m: 'hdr-single' }));
  const batch = JSON.stringify([toolCall(2, 'echo', { m: 'hdr-batch' }), toolCall(3, 'execute', { m: 'hdr-denied-marker' })]);
  const [one, trimmed] = await inSession(sb, rec, [
    sessionPost(single, { headers: extra }),
    sessionPost(batch, { headers: extra }),
  ]);
  assert.equal(one.status, 200, JSON.stringify(one));
  assert.equal(trimmed.status, 200, JSON.stringify(trimmed));
  const pairs = (r) => { const out = []; for (let k = 0; k < r.headers.length; k += 2) out.push([r.headers[k], r.headers[k + 1]]); return out; };
  const [gotOne] = rec.requestsMentioning('hdr-single');
  const [gotBatch] = rec.requestsMentioning('hdr-batch');
  const sent = (body) => [['Host', `127.0.0.1:${rec.port}`], JSON_TYPE, ['Accept', 'application/json, text/event-stream'],
    ['Mcp-Session-Id', headerValue(gotOne, 'mcp-session-id')], ['MCP-Protocol-Version', '2025-03-26'], ...upstream,
    ['Accept-Encoding', 'identity'], ['Content-Length', String(Buffer.byteLength(body))]];
  assert.deepEqual(pairs(gotOne), sent(single), 'single call: every header, same order and case, Accept-Encoding identity');
  assert.equal(gotOne.body, single);
  // The denied element is cut out: the server gets the allowed one, with the length of what it gets.
  assert.deepEqual(pairs(gotBatch), sent(gotBatch.body), 'trimmed batch: only Content-Length differs');
  assert.deepEqual(JSON.parse(gotBatch.body).map((m) => m.id), [2]);
  assertNeverReached(rec, 'hdr-denied-marker');
});

function headerValue(record, name) {
  for (let k = 0; k < record.headers.length; k += 2) if (record.headers[k].toLowerCase() === name) return record.headers[k + 1];
  return undefined;
}

itest('numbers in conditions are compared exactly, and neq refuses a value of another type', async (t) => {
  const sb = sandbox(t, 'ev-cond-numbers');
  const rec = await startRecorder(sb, { tools: ['echo', 'ratio'], jsonResponse: true });
  await startDaemon(sb, { policy: policyOf({ rec: { port: rec.port, tools: {
    echo: { conditions: [{ path: 'args.account', op: 'eq', value: 4503599627370496 }, { path: 'args.force', op: 'neq', value: true }] },
    ratio: { conditions: [{ path: 'args.r', op: 'in', value: [0.1, 1000000] }] },
  } } }) });
  // exact bodies: JSON.stringify could not write most of these literals
  const post = (id, tool, args) => sessionPost(`{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"${tool}","arguments":${args}}}`);
  const cases = [
    ['echo', '{"account":4503599627370496,"force":false,"m":"num-exact-marker"}', 'ran'],
    ['echo', '{"account":4503599627370497,"force":false,"m":"num-next-marker"}', 'condition not met: args.account eq 4503599627370496'],
    ['echo', '{"account":4503599627370496.0000000001,"force":false,"m":"num-digits-marker"}', 'cannot be compared exactly'],
    ['echo', '{"account":4503599627370496,"force":"yes","m":"force-yes-marker"}', 'the argument is of another JSON type'],
    ['echo', '{"account":4503599627370496,"force":1,"m":"force-one-marker"}', 'the argument is of another JSON type'],
    ['ratio', '{"r":0.1,"m":"ratio-exact-marker"}', 'ran'],
    ['ratio', '{"r":1e-1,"m":"ratio-e-marker"}', 'ran'],
    ['ratio', '{"r":0.10000000000000002,"m":"ratio-next-marker"}', 'condition not met: args.r in'],
    ['ratio', '{"r":0.10000000000000000001,"m":"ratio-digits-marker"}', 'cannot be compared exactly'],
    ['ratio', '{"r":1000000000000000100,"m":"ratio-big-marker"}', 'cannot be compared exactly'],
  ];
  const responses = await inSession(sb, rec, cases.map(([tool, args], i) => post(i + 1, tool, args)));
  cases.forEach(([, args, want], i) => {
    const marker = JSON.parse(args.replace(/:[0-9.e-]{16,}/g, ':0')).m;
    const text = JSON.stringify(responses[i].json);
    if (want === 'ran') {
      assert.ok(text.includes(`ran `) && rec.requestsMentioning(marker).length === 1, `${marker} should run: ${text}`);
    } else {
      assert.ok(text.includes(want), `${marker}: "${want}" not in ${text}`);
      assertNeverReached(rec, marker);
    }
  });
});

itest('Mcp-Param-* headers must mirror the argument they name, or the request is refused', async (t) => {
  const { sb, rec } = await setUp(t, 'ev-mcp-param');
  const call = (marker, extra = {}) => JSON.stringify(toolCall(1, 'echo', { region: 'eu-west', n: 7, m: marker, ...extra }));
  const b64 = (text) => `=?base64?${Buffer.from(text).toString('base64')}?=`;
  const refused = [
    ['param-mismatch-marker', [['Mcp-Param-Region', 'us-east']]],
    ['param-b64-mismatch-marker', [['Mcp-Param-Region', b64('us-east')]]],
    ['param-int-marker', [['Mcp-Param-N', '07']]],
    ['param-unmapped-marker', [['Mcp-Param-Tenant', 'acme']]],
    ['param-twice-marker', [['Mcp-Param-Region', 'eu-west'], ['Mcp-Param-region', 'us-east']]],
    ['param-underscore-marker', [['Mcp_Param_Region', 'us-east']]],
  ];
  const responses = await inSession(sb, rec, refused.map(([marker, headers]) => sessionPost(call(marker), { headers })));
  responses.forEach((res, i) => {
    assertRefused(res, { status: 400 });
    assert.match(res.json.error.message, /Mcp-Param/, JSON.stringify(res.json));
    assertNeverReached(rec, refused[i][0]);
  });
  // Headers that agree (plain, base64, an integer) change nothing: decided on the body.
  const [agree, agreeDenied] = await inSession(sb, rec, [
    sessionPost(call('param-ok-marker'), { headers: [['Mcp-Param-Region', 'eu-west'], ['mcp-param-n', '7'], ['Mcp-Param-M', b64('param-ok-marker')]] }),
    sessionPost(JSON.stringify(toolCall(2, 'execute', { region: 'eu-west', m: 'param-denied-marker' })), { headers: [['Mcp-Param-Region', 'eu-west']] }),
  ]);
  assert.equal(resultText(rawMessages(agree)[0].result), 'ran echo {"region":"eu-west","n":7,"m":"param-ok-marker"}');
  expectDenial(assert, agreeDenied.json.result, { rule: 'tools.execute.action' });
  assertNeverReached(rec, 'param-denied-marker');
});
