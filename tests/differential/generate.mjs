// Adversarial requests for the differential test: each case is the exact
// bytes of one HTTP/1.1 exchange (sometimes two, pipelined) that asks an
// MCP server to run a tool, in a form chosen to make the daemon and a real
// server stack read it differently. Cases are a pure function of (seed,
// index), so the agent generates them and the test explains them alike.
//
//   generateCase(seed, index, { host, port, marker }) ->
//       { cls, denied: bool (does it call a tool the policy denies), bytes: Buffer }
//
// Every call carries arguments {"m": marker}, so a server's record of what
// it executed names the case. The policy of the test allows only "echo";
// "rm" is denied by default and "secret" is hidden (and so denied too).
import zlib from 'node:zlib';

// A small deterministic PRNG (mulberry32) per case.
function rng(seed, index) {
  let a = (seed * 0x9e3779b1 + index * 0x85ebca6b) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const call = (id, name, marker, extra = {}) => ({ jsonrpc: '2.0', ...(id === undefined ? {} : { id }), method: 'tools/call',
  params: { name, arguments: { m: marker }, ...extra } });

// Head + body; headers a list of [name, value]; Content-Length unless framing says otherwise.
function http(req, { method = 'POST', path = '/mcp', headers = [], body = Buffer.alloc(0), framing = 'length', version = '1.1' }) {
  const h = [['Host', `${req.host}:${req.port}`], ...headers];
  if (framing === 'length') h.push(['Content-Length', String(body.length)]);
  const head = `${method} ${path} HTTP/${version}\r\n${h.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

const JSON_HEADERS = [['Content-Type', 'application/json'], ['Accept', 'application/json, text/event-stream']];

function chunked(body, r, { lineEnd = '\r\n', ext = '' } = {}) {
  const parts = [];
  for (let off = 0; off < body.length;) {
    const n = Math.min(body.length - off, 1 + Math.floor(r() * 40));
    parts.push(Buffer.from(`${n.toString(16)}${ext}${lineEnd}`, 'latin1'), body.subarray(off, off + n), Buffer.from('\r\n'));
    off += n;
  }
  parts.push(Buffer.from(`0${lineEnd}\r\n`, 'latin1'));
  return Buffer.concat(parts);
}

function utf16(text, bigEndian, bom) {
  const le = Buffer.from(text, 'utf16le');
  const out = bigEndian ? Buffer.from(le).swap16() : le;
  return bom ? Buffer.concat([Buffer.from(bigEndian ? [0xfe, 0xff] : [0xff, 0xfe]), out]) : out;
}

function utf32le(text) {
  const cps = [...text].map((c) => c.codePointAt(0));
  const b = Buffer.alloc(cps.length * 4);
  cps.forEach((cp, i) => b.writeUInt32LE(cp, i * 4));
  return b;
}

// Each class: (req, r, marker, pick) -> { denied, bytes }. pick(list) chooses one.
const CLASSES = {
  // Controls: an allowed call must run through the daemon on every server.
  'allowed-control': (q, r, m) => ({ denied: false, bytes: http(q, { headers: JSON_HEADERS, body: Buffer.from(JSON.stringify(call(1, 'echo', m))) }) }),
  plain: (q, r, m, pick) => ({ denied: true, bytes: http(q, { headers: JSON_HEADERS, body: Buffer.from(JSON.stringify(call(pick([1, 'a', 0, -1, 1e21]), pick(['rm', 'secret']), m))) }) }),
  chunked: (q, r, m) => ({ denied: true, bytes: http(q, { headers: [...JSON_HEADERS, ['Transfer-Encoding', 'chunked']], framing: 'chunked', body: chunked(Buffer.from(JSON.stringify(call(2, 'rm', m))), r, { ext: r() < 0.3 ? ';x=1' : '' }) }) }),
  'chunk-bare-lf': (q, r, m) => ({ denied: true, bytes: http(q, { headers: [...JSON_HEADERS, ['Transfer-Encoding', 'chunked']], framing: 'chunked', body: chunked(Buffer.from(JSON.stringify(call(2, 'rm', m))), r, { lineEnd: '\n' }) }) }),
  'content-encoding': (q, r, m, pick) => {
    const coding = pick(['gzip', 'deflate', 'x-gzip', 'deflate-raw']);
    const raw = Buffer.from(JSON.stringify(call(3, 'rm', m)));
    const body = coding === 'deflate' ? zlib.deflateSync(raw) : coding === 'deflate-raw' ? zlib.deflateRawSync(raw) : zlib.gzipSync(raw);
    return { denied: true, bytes: http(q, { headers: [...JSON_HEADERS, ['Content-Encoding', coding === 'deflate-raw' ? 'deflate' : coding]], body }) };
  },
  'key-fold-method': (q, r, m, pick) => {
    const key = pick(['Method', 'METHOD', 'mEthod']);
    return { denied: true, bytes: http(q, { headers: JSON_HEADERS, body: Buffer.from(`{"jsonrpc":"2.0","id":4,"method":"ping","${key}":"tools/call","params":{"name":"rm","arguments":{"m":"${m}"}}}`) }) };
  },
  'key-fold-name': (q, r, m, pick) => {
    const key = pick(['Name', 'NAME', 'nAme']);
    return { denied: true, bytes: http(q, { headers: JSON_HEADERS, body: Buffer.from(`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","${key}":"rm","arguments":{"m":"${m}"}}}`) }) };
  },
  'key-fold-017f': (q, r, m, pick) => {
    const key = pick(['param\u017f', 'param\\u017f', 'PARAM\u017f']);
    return { denied: true, bytes: http(q, { headers: JSON_HEADERS, body: Buffer.from(`{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"echo","arguments":{"m":"${m}"}},"${key}":{"name":"rm","arguments":{"m":"${m}"}}}`, 'utf8') }) };
  },
  'duplicate-keys': (q, r, m, pick) => ({ denied: true, bytes: http(q, { headers: JSON_HEADERS, body: Buffer.from(pick([
    `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","name":"rm","arguments":{"m":"${m}"}}}`,
    `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"m":"${m}"}},"params":{"name":"rm","arguments":{"m":"${m}"}}}`,
    `{"jsonrpc":"2.0","id":7,"method":"tools/list","method":"tools/call","params":{"name":"rm","arguments":{"m":"${m}"}}}`,
  ])) }) }),
  escapes: (q, r, m, pick) => ({ denied: true, bytes: http(q, { headers: JSON_HEADERS, body: Buffer.from(pick([
    `{"jsonrpc":"2.0","id":8,"method":"tools\\/call","params":{"name":"r\\u006d","arguments":{"m":"${m}"}}}`,
    `{"\\u006asonrpc":"2.0","\\u0069d":8,"\\u006dethod":"tools/call","\\u0070arams":{"\\u006eame":"rm","arguments":{"m":"${m}"}}}`,
    ` \r\n\t{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"rm","arguments":{"m":"${m}"}}} \n`,
    `\ufeff{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"rm","arguments":{"m":"${m}"}}}`,
  ])) }) }),
  charset: (q, r, m, pick) => {
    const text = JSON.stringify(call(9, 'rm', m));
    const [cs, body] = pick([
      ['utf-16le', () => utf16(text, false, false)], ['utf-16', () => utf16(text, false, true)], ['utf-16be', () => utf16(text, true, false)],
      ['utf-32le', () => utf32le(text)], ['latin1', () => Buffer.from(text, 'latin1')], ['UTF-8', () => Buffer.from(text)],
      ['', () => utf16(text, false, true)],
    ]);
    return { denied: true, bytes: http(q, { headers: [['Content-Type', `application/json${cs ? `; charset=${cs}` : ''}`], JSON_HEADERS[1]], body: body() }) };
  },
  'method-other-than-post': (q, r, m, pick) => ({ denied: true, bytes: http(q, { method: pick(['PUT', 'PATCH', 'DELETE', 'GET', 'OPTIONS', 'FOO']), headers: JSON_HEADERS, body: Buffer.from(JSON.stringify(call(10, 'rm', m))) }) }),
  'other-path': (q, r, m, pick) => ({ denied: true, bytes: http(q, { path: pick(['/', '/api', '/MCP', '/mcp/', '/mcp?x=1', '//mcp', '/%6dcp', '/mcp/../mcp', '/messages', '/rpc']), headers: JSON_HEADERS, body: Buffer.from(JSON.stringify(call(11, 'rm', m))) }) }),
  'post-other-media-type': (q, r, m, pick) => ({ denied: true, bytes: http(q, { path: pick(['/', '/rpc', '/api/x']), headers: [['Content-Type', pick(['application/x-www-form-urlencoded', 'application/octet-stream', 'multipart/form-data', 'image/png', 'application/jsonx'])]], body: Buffer.from(JSON.stringify(call(12, 'rm', m))) }) }),
  'call-without-id': (q, r, m, pick) => ({ denied: true, bytes: http(q, { headers: JSON_HEADERS, body: Buffer.from(pick([
    JSON.stringify(call(undefined, 'rm', m)), JSON.stringify([call(undefined, 'rm', m)]), JSON.stringify([call(13, 'echo', m), call(undefined, 'rm', m)]),
  ])) }) }),
  'id-odd': (q, r, m, pick) => ({ denied: true, bytes: http(q, { headers: JSON_HEADERS, body: Buffer.from(
    `{"jsonrpc":"2.0","id":${pick(['null', 'true', '{}', '[1]', '1.5e400', '"x"'])},"method":"tools/call","params":{"name":"rm","arguments":{"m":"${m}"}}}`) }) }),
  batch: (q, r, m) => {
    const n = 1 + Math.floor(r() * 6);
    const msgs = Array.from({ length: n }, (_, i) => (r() < 0.5 ? call(100 + i, 'echo', m) : { jsonrpc: '2.0', id: 200 + i, method: 'tools/list' }));
    msgs.splice(Math.floor(r() * (n + 1)), 0, call(300, 'rm', m));
    return { denied: true, bytes: http(q, { headers: JSON_HEADERS, body: Buffer.from(JSON.stringify(msgs)) }) };
  },
  'big-body': (q, r, m, pick) => ({ denied: true, bytes: http(q, { headers: JSON_HEADERS, body: Buffer.from(pick([
    () => JSON.stringify(call(14, 'rm', m, { pad: 'x'.repeat(64 << 10) })),
    () => JSON.stringify({ ...call(14, 'rm', m), pad: Array.from({ length: 20000 }, (_, i) => i) }),
    () => `{"jsonrpc":"2.0","id":14,"method":"tools/call","params":{"name":"rm","arguments":{"m":"${m}","d":${'['.repeat(400)}${']'.repeat(400)}}}}`,
  ])()) }) }),
  http10: (q, r, m) => ({ denied: true, bytes: http(q, { version: '1.0', headers: JSON_HEADERS, body: Buffer.from(JSON.stringify(call(15, 'rm', m))) }) }),
  pipelined: (q, r, m) => ({ denied: true, bytes: Buffer.concat([
    http(q, { headers: JSON_HEADERS, body: Buffer.from(JSON.stringify(call(16, 'echo', m))) }),
    http(q, { headers: JSON_HEADERS, body: Buffer.from(JSON.stringify(call(17, 'rm', m))) })]) }),
  'expect-continue': (q, r, m) => ({ denied: true, bytes: http(q, { headers: [...JSON_HEADERS, ['Expect', '100-continue']], body: Buffer.from(JSON.stringify(call(18, 'rm', m))) }) }),
  'framing-conflict': (q, r, m, pick) => {
    const body = Buffer.from(JSON.stringify(call(19, 'rm', m)));
    const [headers, framed] = pick([
      [[['Content-Length', String(body.length)], ['Transfer-Encoding', 'chunked']], chunked(body, r)],
      [[['Transfer-Encoding', 'chunked'], ['Transfer-Encoding', 'chunked']], chunked(body, r)],
      [[['Transfer-Encoding', ' chunked']], chunked(body, r)],
      [[['Content-Length', String(body.length)], ['Content-Length', String(body.length)]], body],
      [[['Content-Length', `+${body.length}`]], body],
      [[['Transfer-Encoding', 'identity, chunked']], chunked(body, r)],
    ]);
    return { denied: true, bytes: http(q, { headers: [...JSON_HEADERS, ...headers], framing: 'none', body: framed }) };
  },
};

export const CLASS_NAMES = Object.keys(CLASSES);

export function generateCase(seed, index, req) {
  const r = rng(seed, index);
  const pick = (list) => list[Math.floor(r() * list.length)];
  const cls = CLASS_NAMES[index % CLASS_NAMES.length];
  const marker = `${req.marker}:${cls}:${index}`;
  return { cls, marker, ...CLASSES[cls](req, r, marker, pick) };
}
