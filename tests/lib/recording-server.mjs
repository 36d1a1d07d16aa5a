#!/usr/bin/env node
// A small real MCP server (@modelcontextprotocol/sdk's low-level Server)
// that writes down everything it receives, so tests can prove from the
// server's side what reached it and what never did.
//
//   recording-server.mjs --port N --record FILE --tools a,b,c
//                        [--json-response] [--allowed-hosts h1,h2] [--allowed-origins o1,o2]
//
// Transports, one Server instance per session as the SDK requires:
//   Streamable HTTP  POST/GET/DELETE /mcp (stateful, Mcp-Session-Id);
//                    --json-response answers POSTs with application/json
//                    instead of an SSE stream.
//   stateless        POST /mcp/stateless: no sessions, a fresh Server and
//                    transport per request (as in the 2026-07-28 revision,
//                    where every POST stands alone with Mcp-Method/Mcp-Name)
//   legacy HTTP+SSE  GET /sse, POST /messages?sessionId=...
// --allowed-hosts / --allowed-origins turn on the SDK's DNS-rebinding
// protection (Host and Origin checks) with those values.
// Any other request is answered 200 "not mcp: METHOD URL" (and recorded).
//
// Record file, one JSON object per line, appended synchronously before the
// request is handled:
//   {"kind":"http","method":"POST","url":"/mcp","headers":[name, value, ...],
//    "body":"<decoded text>","rawBodyBase64":"...","contentEncoding":null}
//   {"kind":"call","tool":"name","arguments":{...},"session":"..."}
// "body" is the request body after Content-Encoding gzip/deflate is undone.
// Every tool takes any arguments and answers text "ran NAME ARGS_JSON";
// with argument "fail": "isError" it answers an isError result instead,
// with "holdMs": N (and a progressToken) it sends one progress notification
// at once, then answers N ms later (at most 20 s), to see events stream;
// with "fail": "jsonrpc" a JSON-RPC error (upstream errors, for metrics).
// Ready when stderr says "recording server listening on port N".
import fs from 'node:fs';
import http from 'node:http';
import zlib from 'node:zlib';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError } from '@modelcontextprotocol/sdk/types.js';

const { values: opt } = parseArgs({
  options: {
    port: { type: 'string' },
    record: { type: 'string' },
    tools: { type: 'string', default: 'echo' },
    'json-response': { type: 'boolean', default: false },
    'allowed-hosts': { type: 'string' },
    'allowed-origins': { type: 'string' },
  },
});
const list = (text) => (text ? text.split(',').filter(Boolean) : undefined);
const toolNames = list(opt.tools);
const allowedHosts = list(opt['allowed-hosts']);
const allowedOrigins = list(opt['allowed-origins']);
const dnsRebinding = allowedHosts || allowedOrigins
  ? { enableDnsRebindingProtection: true, allowedHosts, allowedOrigins } : {};

function record(entry) {
  fs.appendFileSync(opt.record, `${JSON.stringify(entry)}\n`);
}

function newServer(sessionOf) {
  const server = new Server({ name: 'mcpfence-recording-server', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: toolNames.map((name) => ({ name, description: `test tool ${name}`, inputSchema: { type: 'object' } })),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const { name, arguments: args = {} } = request.params;
    record({ kind: 'call', tool: name, arguments: args, session: sessionOf() ?? null });
    const progressToken = request.params._meta?.progressToken;
    if (args.holdMs && progressToken !== undefined) {
      await extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress: 1, total: 2 } });
      await new Promise((resolve) => setTimeout(resolve, Math.min(Number(args.holdMs), 20000)));
    }
    if (args.fail === 'isError') return { content: [{ type: 'text', text: `${name} failed` }], isError: true };
    if (args.fail === 'jsonrpc') throw new McpError(ErrorCode.InternalError, `${name} threw`);
    return { content: [{ type: 'text', text: `ran ${name} ${JSON.stringify(args)}` }] };
  });
  return server;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function decode(raw, encoding) {
  if (!encoding || encoding === 'identity') return raw;
  if (encoding === 'gzip') return zlib.gunzipSync(raw);
  if (encoding === 'deflate') return zlib.inflateSync(raw);
  throw new Error(`unsupported Content-Encoding ${encoding}`);
}

const streamable = new Map(); // Mcp-Session-Id -> transport
const legacy = new Map();     // sessionId query parameter -> transport

async function handleStreamable(req, res, parsed) {
  const sessionId = req.headers['mcp-session-id'];
  if (sessionId) {
    const transport = streamable.get(sessionId);
    if (!transport) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }));
      return;
    }
    await transport.handleRequest(req, res, parsed);
    return;
  }
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    enableJsonResponse: opt['json-response'],
    onsessioninitialized: (id) => streamable.set(id, transport),
    ...dnsRebinding,
  });
  transport.onclose = () => streamable.delete(transport.sessionId);
  await newServer(() => transport.sessionId).connect(transport);
  await transport.handleRequest(req, res, parsed);
}

async function handleStateless(req, res, parsed) {
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: opt['json-response'] });
  const server = newServer(() => null);
  res.on('close', () => { transport.close(); server.close(); });
  await server.connect(transport);
  await transport.handleRequest(req, res, parsed);
}

async function handleLegacy(req, res, url, parsed) {
  if (req.method === 'GET' && url.pathname === '/sse') {
    const transport = new SSEServerTransport('/messages', res, dnsRebinding);
    legacy.set(transport.sessionId, transport);
    transport.onclose = () => legacy.delete(transport.sessionId);
    await newServer(() => transport.sessionId).connect(transport);
    return;
  }
  const transport = legacy.get(url.searchParams.get('sessionId'));
  if (!transport) {
    res.writeHead(404).end('unknown sessionId');
    return;
  }
  await transport.handlePostMessage(req, res, parsed);
}

const httpServer = http.createServer(async (req, res) => {
  try {
    const raw = await readBody(req);
    const encoding = req.headers['content-encoding'] || null;
    let body;
    try {
      body = decode(raw, encoding);
    } catch (err) {
      body = Buffer.alloc(0);
      record({ kind: 'decode-error', error: err.message });
    }
    record({ kind: 'http', method: req.method, url: req.url, headers: req.rawHeaders,
      body: body.toString('utf8'), rawBodyBase64: raw.toString('base64'), contentEncoding: encoding });
    const url = new URL(req.url, 'http://recording-server');
    const mcpPath = ['/mcp', '/mcp/stateless', '/sse', '/messages'].includes(url.pathname);
    let parsed;
    if (mcpPath && body.length > 0 && /json/.test(req.headers['content-type'] || '')) {
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null }));
        return;
      }
    }
    if (url.pathname === '/mcp') await handleStreamable(req, res, parsed);
    else if (url.pathname === '/mcp/stateless') await handleStateless(req, res, parsed);
    else if (url.pathname === '/sse' || url.pathname === '/messages') await handleLegacy(req, res, url, parsed);
    else res.writeHead(200, { 'content-type': 'text/plain' }).end(`not mcp: ${req.method} ${req.url}\n`);
  } catch (err) {
    process.stderr.write(`recording server: ${err.stack}\n`);
    if (!res.headersSent) res.writeHead(500).end(String(err.message));
  }
});
httpServer.listen({ port: Number(opt.port), host: '::', ipv6Only: false }, () => {
  process.stderr.write(`recording server listening on port ${opt.port}\n`);
});
