// What the daemon forwards is what it decided.
// Every request with a body is read, whatever its method, path or media
// type; a denied call never reaches the server however it is labelled,
// framed or spelled; forms some server stack would read differently from
// the daemon (case-folded keys, other charsets, lax chunk framing, lenient
// JSON) are refused. The agent is raw-client.mjs writing exact bytes; the
// recording server proves from its side that no marker of a refused or
// denied request ever arrived, decoded or not.
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { itest } from '../lib/itest.mjs';
import { sandbox } from '../lib/sandbox.mjs';
import { startDaemon } from '../lib/daemon.mjs';
import { startEverything } from '../lib/everything.mjs';
import {
  startRecorder, spawnAgent, rawExchange, rawMessages, sessionSteps, sessionPost, toolCall, expectDenial,
  resultText, policyOf, JSON_TYPE, ACCEPT_BOTH,
} from '../lib/mcp.mjs';

import { REASON, setUp, inSession, assertRefused } from '../lib/refusal.mjs';

function assertNeverReached(rec, ...markers) {
  for (const marker of markers) {
    assert.deepEqual(rec.requestsMentioning(marker), [], `${marker} reached the server`);
    assert.equal(rec.calls().filter((c) => JSON.stringify(c).includes(marker)).length, 0, `${marker} ran`);
  }
}

const denied = (id, marker) => JSON.stringify(toolCall(id, 'execute', { m: marker }));
const notification = (name, marker) => JSON.stringify({ jsonrpc: '2.0', method: 'tools/call', params: { name, arguments: { m: marker } } });
const raw = (text) => ({ rawBase64: Buffer.from(text, 'latin1').toString('base64') });

itest('a tools/call sent as a notification never reaches the server: dropped with 202, allowed tool or not', async (t) => {
  const { sb, rec } = await setUp(t, 'in-notify');
  const [alone, allowed, inBatch, nullId] = await inSession(sb, rec, [
    sessionPost(notification('execute', 'notify-denied-marker')),
    sessionPost(notification('echo', 'notify-allowed-marker')),
    sessionPost(JSON.stringify([JSON.parse(notification('execute', 'notify-batch-marker')), toolCall(5, 'echo', { m: 'batch-call' })])),
    sessionPost(JSON.stringify({ ...toolCall(null, 'execute', { m: 'notify-null-id-marker' }) })),
  ]);
  // answered the way a server answers a notification: 202, no body
  assert.equal(alone.status, 202, JSON.stringify(alone));
  assert.equal(alone.body, '');
  assert.equal(allowed.status, 202, JSON.stringify(allowed));
  assert.equal(allowed.body, '');
  // in a batch: the denied notification is cut out, the call goes on
  assert.equal(inBatch.status, 200, JSON.stringify(inBatch));
  assert.deepEqual(rawMessages(inBatch).map((m) => m.id), [5]);
  assert.deepEqual(rec.calls().map((c) => c.arguments.m), ['batch-call']);
  assert.equal(rec.requestsMentioning('batch-call').length, 1);
  // "id": null is neither a request nor a notification
  assert.equal(rawMessages(nullId)[0]?.error?.code, -32600, JSON.stringify(nullId));
  // an MCP tools/call needs an id: without one it is never forwarded, even for an allowed tool
  assertNeverReached(rec, 'notify-denied-marker', 'notify-allowed-marker', 'notify-batch-marker', 'notify-null-id-marker');
});

itest('a body on any method, path or media type is decided before it is forwarded', async (t) => {
  const { sb, rec } = await setUp(t, 'in-any-request');
  const steps = [];
  const markers = [];
  const add = (method, path, headers, marker, extra = {}) => {
    markers.push(marker);
    steps.push({ method, path, headers, body: denied(steps.length + 1, marker), ...extra });
  };
  for (const method of ['GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
    add(method, '/mcp', [JSON_TYPE, ACCEPT_BOTH], `${method.toLowerCase()}-mcp-marker`);
    add(method, '/rpc', [JSON_TYPE], `${method.toLowerCase()}-offpath-marker`);
  }
  for (const type of ['text/plain', 'application/octet-stream', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x',
    'application/x-ndjson', 'image/png', 'application/jsonrequest']) {
    add('POST', '/api/rpc', [['Content-Type', type]], `type-${type.replace(/\W+/g, '-')}-marker`);
  }
  add('POST', '/api/rpc', [], 'no-type-marker');
  add('POST', '/api/rpc', [['Content-Type', 'text/plain']], 'ws-first-marker', { body: `\r\n \t${denied(99, 'ws-first-marker')}` });
  // chunked, on a GET
  const body = denied(100, 'get-chunked-marker');
  markers.push('get-chunked-marker');
  steps.push({ method: 'GET', path: '/mcp', headers: [JSON_TYPE, ACCEPT_BOTH, ['Transfer-Encoding', 'chunked']], contentLength: false,
    body: `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n` });
  const out = await rawExchange(sb, rec.port, steps);
  assert.equal(out.ok, true, out.error);
  out.responses.forEach((res, i) => {
    assert.equal(res.status, 200, `${steps[i].method} ${steps[i].path}: ${JSON.stringify(res)}`);
    expectDenial(assert, rawMessages(res)[0].result, { rule: 'tools.execute.action', reason: REASON });
  });
  assertNeverReached(rec, ...markers);
  assert.deepEqual(rec.http(), [], 'nothing of those requests reached the server');
});

itest('what is provably not JSON-RPC still goes through: binary, text, truncated JSON, large uploads streamed', async (t) => {
  const { sb, rec } = await setUp(t, 'in-harmless');
  const big = Buffer.alloc(5 * 1024 * 1024 + 3, 0x61); // over the 4 MiB body limit: streamed, never held
  big[0] = 0x89;
  const chunkedBlob = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x7b, 0x22]);
  const chunked = Buffer.concat([Buffer.from('4\r\n'), chunkedBlob.subarray(0, 4), Buffer.from('\r\n6\r\n'), chunkedBlob.subarray(4), Buffer.from('\r\n0\r\n\r\n')]);
  const steps = [
    { method: 'PUT', path: '/blob', headers: [['Content-Type', 'application/octet-stream']], bodyBase64: big.toString('base64') },
    { method: 'POST', path: '/notes', headers: [['Content-Type', 'text/plain']], body: 'hello {"method":"tools/call"} world' },
    { method: 'PATCH', path: '/doc', headers: [JSON_TYPE], body: '{"partial": "json", "method": "tools/call"' },
    { method: 'POST', path: '/items', headers: [JSON_TYPE], body: '{"items":[1,2,3]}' },
    { method: 'POST', path: '/png', headers: [['Content-Type', 'image/png'], ['Transfer-Encoding', 'chunked']], contentLength: false,
      bodyBase64: chunked.toString('base64') },
    { method: 'DELETE', path: '/thing', headers: [['Content-Length', '0']] },
  ];
  const out = await rawExchange(sb, rec.port, steps);
  assert.equal(out.ok, true, out.error);
  const http = rec.http();
  assert.deepEqual(out.responses.map((r) => r.status), [200, 200, 200, 200, 200, 200], JSON.stringify(out.responses.map((r) => r.body)));
  assert.deepEqual(http.map((r) => `${r.method} ${r.url}`), ['PUT /blob', 'POST /notes', 'PATCH /doc', 'POST /items', 'POST /png', 'DELETE /thing']);
  assert.equal(Buffer.from(http[0].rawBodyBase64, 'base64').equals(big), true, 'the large upload arrived byte for byte');
  assert.equal(http[1].body, 'hello {"method":"tools/call"} world');
  assert.equal(http[2].body, '{"partial": "json", "method": "tools/call"');
  assert.equal(Buffer.from(http[4].rawBodyBase64, 'base64').equals(chunkedBlob), true, 'the chunked upload arrived de-chunked, whole');
});

itest('forwarded requests carry the daemon\'s own framing and the text it decided on', async (t) => {
  const { sb, rec } = await setUp(t, 'in-reframe');
  const call = JSON.stringify(toolCall(1, 'echo', { m: 'reframed-chunked' }));
  const half = call.length >> 1;
  const chunked = `${half.toString(16)}\r\n${call.slice(0, half)}\r\n${(call.length - half).toString(16)}\r\n${call.slice(half)}\r\n0\r\n\r\n`;
  const gz = zlib.gzipSync(Buffer.from(JSON.stringify(toolCall(2, 'echo', { m: 'reframed-gzip' })))).toString('base64');
  const [one, two] = await inSession(sb, rec, [
    sessionPost({ body: chunked, contentLength: false }, { headers: [['Transfer-Encoding', 'chunked']] }),
    sessionPost({ bodyBase64: gz }, { headers: [['Content-Encoding', 'gzip']] }),
  ]);
  assert.equal(resultText(rawMessages(one)[0].result), 'ran echo {"m":"reframed-chunked"}');
  assert.equal(resultText(rawMessages(two)[0].result), 'ran echo {"m":"reframed-gzip"}');
  const header = (r, name) => { for (let k = 0; k < r.headers.length; k += 2) if (r.headers[k].toLowerCase() === name) return r.headers[k + 1]; return undefined; };
  const [gotChunked] = rec.requestsMentioning('reframed-chunked');
  assert.equal(header(gotChunked, 'transfer-encoding'), undefined);
  assert.equal(header(gotChunked, 'content-length'), String(call.length));
  assert.equal(gotChunked.body, call);
  const [gotGzip] = rec.requestsMentioning('reframed-gzip');
  assert.equal(header(gotGzip, 'content-encoding'), undefined, 'the decoded text that was decided on is what goes');
  assert.equal(gotGzip.body, JSON.stringify(toolCall(2, 'echo', { m: 'reframed-gzip' })));
});

itest('keys a case-insensitive reader (Go encoding/json) folds onto protocol members are refused', async (t) => {
  const { sb, rec } = await setUp(t, 'in-fold');
  const variants = {
    Method: '{"jsonrpc":"2.0","id":1,"Method":"tools/call","params":{"name":"execute","arguments":{"m":"fold-Method-marker"}}}',
    METHOD_twice: '{"jsonrpc":"2.0","id":2,"method":"tools/list","METHOD":"tools/call","params":{"name":"execute","arguments":{"m":"fold-twice-marker"}}}',
    NAME: '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","NAME":"execute","arguments":{"m":"fold-NAME-marker"}}}',
    NAME_alone: '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"NAME":"execute","arguments":{"m":"fold-NAME-alone-marker"}}}',
    longS: '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo"},"param\u017f":{"name":"execute","arguments":{"m":"fold-longs-marker"}}}',
    dotlessI: '{"jsonrpc":"2.0","\u0131d":6,"method":"tools/call","params":{"name":"execute","arguments":{"m":"fold-dotless-marker"}}}',
    kelvinArgs: '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"key":"a","\u212aEY":"b","m":"fold-kelvin-marker"}}}',
    argsCase: '{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"echo","arguments":{"path":"/tmp","PATH":"/etc","m":"fold-args-marker"}}}',
    Arguments: '{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"echo","Arguments":{"m":"fold-Arguments-marker"}}}',
    JSONRPC: '{"JSONRPC":"2.0","id":10,"method":"tools/call","params":{"name":"execute","arguments":{"m":"fold-JSONRPC-marker"}}}',
  };
  const responses = await inSession(sb, rec, Object.values(variants).map((body) => sessionPost(body)));
  for (const res of responses) assertRefused(res, { status: 400 });
  assertNeverReached(rec, ...Object.values(variants).map((b) => b.match(/fold-[\w-]+-marker/)[0]));
  // off the MCP paths too, with a media type a Go handler would ignore
  const out = await rawExchange(sb, rec.port, [
    { method: 'POST', path: '/rpc', headers: [['Content-Type', 'text/plain']], body: '{"JSONRPC":"2.0","ID":1,"METHOD":"tools/call","PARAMS":{"NAME":"execute","ARGUMENTS":{"m":"fold-offpath-marker"}}}' },
  ]);
  assertRefused(out.responses[0], { status: 400 });
  assertNeverReached(rec, 'fold-offpath-marker');
});

itest('a charset other than UTF-8 is refused (Node decodes the body in it before JSON.parse)', async (t) => {
  const { sb, rec } = await setUp(t, 'in-charset');
  // UTF-7: no brace in the bytes, a JSON-RPC call once decoded
  const utf7 = (text) => text.replace(/[{}"[\]:,]/g, (c) => `+${Buffer.from(c, 'utf16le').swap16().toString('base64').replace(/=+$/, '')}-`);
  const call = denied(1, 'charset-utf7-marker');
  const utf16 = Buffer.from(denied(2, 'charset-utf16-marker'), 'utf16le').toString('base64');
  const typed = (step, type) => ({ ...step, headers: step.headers.map(([n, v]) => (n === 'Content-Type' ? [n, type] : [n, v])) });
  const responses = await inSession(sb, rec, [
    typed(sessionPost(utf7(call)), 'application/json; charset=UTF-7'),
    typed(sessionPost(utf7(call)), 'application/json;charset="utf-7"'),
    typed(sessionPost({ bodyBase64: utf16 }), 'application/json; charset=utf-16le'),
    typed(sessionPost(denied(3, 'charset-latin1-marker')), 'application/json; charset=iso-8859-1'),
    typed(sessionPost(denied(4, 'charset-twice-marker')), 'application/json; charset=utf-8; charset=utf-7'),
    { method: 'POST', path: '/rpc', headers: [['Content-Type', 'text/plain; charset=utf-7']], body: utf7(denied(5, 'charset-offpath-marker')) },
  ]);
  for (const res of responses) assertRefused(res, { status: 415, codes: [-32700] });
  assertNeverReached(rec, 'charset-utf7-marker', 'charset-utf16-marker', 'charset-latin1-marker', 'charset-twice-marker', 'charset-offpath-marker');
  // UTF-8, named or not, is fine
  const [named] = await inSession(sb, rec, [typed(sessionPost(JSON.stringify(toolCall(6, 'echo', { m: 'charset-ok' }))), 'application/json; charset=utf-8')]);
  assert.equal(resultText(rawMessages(named)[0].result), 'ran echo {"m":"charset-ok"}');
});

// Chunk framing the strict grammar does not allow, each followed by a
// complete request calling the denied tool: a lax reader (Go <= 1.24.1 and
// a bare LF, CVE-2025-22871) could find it inside the first body.
itest('chunk framing outside RFC 9112 is refused, on and off the MCP paths', async (t) => {
  const { sb, rec } = await setUp(t, 'in-chunks');
  const host = `127.0.0.1:${rec.port}`;
  const allowed = JSON.stringify(toolCall(1, 'echo', { m: 'chunk-carrier' }));
  const smuggled = denied(2, 'chunk-smuggled-marker');
  const inner = `POST /mcp HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`;
  const head = (path) => `POST ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n`;
  const n = allowed.length.toString(16);
  const bodies = {
    bareLfSize: `${n}\n${allowed}\r\n0\r\n\r\n`,
    bareLfData: `${n}\r\n${allowed}\n0\r\n\r\n`,
    bareLfLast: `${n}\r\n${allowed}\r\n0\n\n`,
    extension: `${n};ext="a"\r\n${allowed}\r\n0\r\n\r\n`,
    spaceAfterSize: `${n} \r\n${allowed}\r\n0\r\n\r\n`,
    trailer: `${n}\r\n${allowed}\r\n0\r\nX-Smuggle: ${'a'.repeat(4)}\r\n\r\n`,
    hexPrefix: `0x${n}\r\n${allowed}\r\n0\r\n\r\n`,
  };
  const steps = [];
  for (const path of ['/mcp', '/upload']) for (const text of Object.values(bodies)) steps.push({ readMs: 3000, pipeline: [raw(`${head(path)}${text}${inner}`), raw('')] });
  const out = await rawExchange(sb, rec.port, steps);
  assert.equal(out.ok, true, out.error);
  const names = [...Object.keys(bodies), ...Object.keys(bodies)];
  out.responses.forEach((res, i) => {
    // the first answer of each connection is the refusal; nothing ran
    assert.doesNotMatch(res.body || '', /ran execute/, `${names[i]}: ${JSON.stringify(res)}`);
  });
  assertNeverReached(rec, 'chunk-smuggled-marker');
  assert.deepEqual(rec.calls().filter((c) => c.tool === 'execute'), []);
  // the carrier never ran either: a body framed that way is not read at all
  assert.deepEqual(rec.requestsMentioning('chunk-carrier'), []);
  // strict chunking still works
  const [ok] = await inSession(sb, rec, [sessionPost({ body: `${n}\r\n${allowed}\r\n0\r\n\r\n`, contentLength: false }, { headers: [['Transfer-Encoding', 'chunked']] })]);
  assert.equal(resultText(rawMessages(ok)[0].result), 'ran echo {"m":"chunk-carrier"}');
});

itest('heads some stack reads two ways are refused: repeated Host, Content-Type or Mcp-Session-Id, framing headers with "_"', async (t) => {
  const { sb, rec } = await setUp(t, 'in-heads');
  const host = `127.0.0.1:${rec.port}`;
  const body = denied(1, 'head-marker');
  const req = (extra) => raw(`POST /mcp HTTP/1.1\r\n${extra}Accept: application/json, text/event-stream\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  const out = await rawExchange(sb, rec.port, [
    req(`Host: ${host}\r\nHost: evil.example\r\nContent-Type: application/json\r\n`),
    req(`Host: ${host}\r\nContent-Type: application/json\r\nContent-Type: text/plain\r\n`),
    req(`Host: ${host}\r\nContent-Type: application/json\r\nTransfer_Encoding: chunked\r\n`),
    req(`Host: ${host}\r\nContent-Type: application/json\r\nContent_Length: 3\r\n`),
  ]);
  assert.equal(out.ok, true, out.error);
  for (const res of out.responses) assertRefused(res, { status: 400 });
  assertNeverReached(rec, 'head-marker');
  assert.deepEqual(rec.http(), []);
  // A repeated Mcp-Session-Id: Node joins it ("S, S"), Starlette and Go take
  // the first; the daemon keys session budgets by it. An allowed call, in a
  // live session, the same id twice: refused all the same.
  const echo = JSON.stringify(toolCall(2, 'echo', { m: 'session-twice-marker' }));
  const [twice] = await inSession(sb, rec, [sessionPost(echo, { headers: [['Mcp-Session-Id', '{{session}}']] })]);
  assertRefused(twice, { status: 400 });
  assert.match(JSON.stringify(twice), /repeated Mcp-Session-Id header/);
  assertNeverReached(rec, 'session-twice-marker');
});

itest('JSON some reader takes differently from the daemon is refused: bad UTF-8, lone surrogates, lenient syntax, inexact ids', async (t) => {
  const { sb, rec } = await setUp(t, 'in-json');
  const call = (id, marker, name = 'execute') => `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"${name}","arguments":{"m":"${marker}"}}}`;
  const refused = [
    { bodyBase64: Buffer.from(call(1, 'json-utf8-marker', 'exec\xffute'), 'latin1').toString('base64') },
    call(2, 'json-lone-surrogate-marker', 'execute\\ud800'),
    call(3, 'json-control-marker', 'exe\tcute'),
    call(4, 'json-leading-zero-marker').replace('"id":4', '"id":04'),
    call(5, 'json-trailing-comma-marker').replace('}}}', '},}}'),
    call(6, 'json-comment-marker').replace('"params"', '/* c */ "params"'),
    `${call(7, 'json-second-value-marker', 'echo')}\n${call(8, 'json-second-value-marker')}`,
  ];
  const answers = await inSession(sb, rec, refused.map((b) => sessionPost(b)));
  for (const res of answers) assertRefused(res, { status: 400 });
  const [inf, negZero, frac] = await inSession(sb, rec, [
    sessionPost(call('1e400', 'json-inf-id-marker'), { accept: 'application/json' }),
    sessionPost(call('-0', 'json-negzero-id-marker'), { accept: 'application/json' }),
    sessionPost(call('1.5', 'json-frac-id-marker'), { accept: 'application/json' }),
  ]);
  for (const res of [inf, negZero, frac]) {
    const [msg] = rawMessages(res);
    assert.equal(msg.error?.code, -32600, JSON.stringify(res));
    assert.match(msg.error.message, /integer/);
  }
  // off the MCP paths, lenient JSON that names no method is still read
  const out = await rawExchange(sb, rec.port, [
    { method: 'POST', path: '/rpc', headers: [['Content-Type', 'text/plain']], body: `// a comment first\n${call(9, 'json-offpath-comment-marker')}` },
    { method: 'POST', path: '/rpc', headers: [['Content-Type', 'text/plain']], body: `\u00a0${call(10, 'json-offpath-nbsp-marker')}` },
    { method: 'POST', path: '/rpc', headers: [['Content-Type', 'text/plain']], body: `{"a":1,/*x*/ "b":2}` },
  ]);
  for (const res of out.responses) assertRefused(res, { status: 400 });
  assertNeverReached(rec, 'json-utf8-marker', 'json-lone-surrogate-marker', 'json-control-marker', 'json-leading-zero-marker',
    'json-trailing-comma-marker', 'json-comment-marker', 'json-second-value-marker', 'json-inf-id-marker', 'json-negzero-id-marker',
    'json-frac-id-marker', 'json-offpath-comment-marker', 'json-offpath-nbsp-marker');
});

itest('SDK clients work as before, with names in any case inside arguments', async (t) => {
  const { sb, rec } = await setUp(t, 'in-sdk');
  const agent = await spawnAgent(sb, rec.url());
  assert.equal(resultText(await agent.callTool('echo', { message: 'sdk-ok', Path: 'camelCase is fine', 'clé': 'é' })),
    'ran echo {"message":"sdk-ok","Path":"camelCase is fine","clé":"é"}');
  expectDenial(assert, await agent.callTool('execute', { command: 'sdk-denied-marker' }), { rule: 'tools.execute.action', reason: REASON });
  assertNeverReached(rec, 'sdk-denied-marker');
});

itest('server-everything through the daemon: SDK calls decided as before', async (t) => {
  const sb = sandbox(t, 'in-everything');
  const everything = await startEverything(sb);
  await startDaemon(sb, { policy: policyOf({ everything: { port: everything.port, tools: { 'get-sum': { action: 'deny', reason: REASON } } } }) });
  const agent = await spawnAgent(sb, everything.url());
  assert.equal(resultText(await agent.callTool('echo', { message: 'through everything' })), 'Echo: through everything');
  expectDenial(assert, await agent.callTool('get-sum', { a: 1, b: 2 }), { rule: 'tools.get-sum.action', reason: REASON });
});
