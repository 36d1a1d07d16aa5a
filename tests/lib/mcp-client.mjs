#!/usr/bin/env node
// An unmodified MCP client (@modelcontextprotocol/sdk) for tests: connects
// to --url over Streamable HTTP (default) or the legacy HTTP+SSE transport,
// runs initialize and tools/list, calls one tool, and prints one JSON line:
//   {"ok":true,"pid":N,"serverInfo":{...},"protocolVersion":"...",
//    "tools":["echo",...],"call":{"content":[...],"isError":...}}
// or {"ok":false,"error":"..."} with exit status 1.
//
//   mcp-client.mjs --url http://127.0.0.1:PORT/mcp [--transport streamable|sse]
//                  [--tool echo] [--arguments '{"message":"hi"}'] [--no-call]
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';

const { values: opt } = parseArgs({
  options: {
    url: { type: 'string' },
    transport: { type: 'string', default: 'streamable' },
    tool: { type: 'string', default: 'echo' },
    arguments: { type: 'string', default: '{"message":"hello from mcp-client"}' },
    'no-call': { type: 'boolean', default: false },
    'timeout-ms': { type: 'string', default: '30000' },
  },
});

const TRANSPORTS = {
  streamable: (url) => new StreamableHTTPClientTransport(url),
  sse: (url) => new SSEClientTransport(url),
};

function finish(result) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(result.ok ? 0 : 1);
}

if (!opt.url || !TRANSPORTS[opt.transport]) {
  process.stderr.write('usage: mcp-client.mjs --url URL [--transport streamable|sse] [--tool NAME] [--arguments JSON] [--no-call]\n');
  process.exit(2);
}
setTimeout(() => finish({ ok: false, pid: process.pid, error: `timed out after ${opt['timeout-ms']} ms` }), Number(opt['timeout-ms']));

try {
  const client = new Client({ name: 'mcpfence-test-client', version: '1.0.0' });
  const transport = TRANSPORTS[opt.transport](new URL(opt.url));
  await client.connect(transport);
  const result = {
    ok: true,
    pid: process.pid,
    transport: opt.transport,
    serverInfo: client.getServerVersion(),
    protocolVersion: transport.protocolVersion,
    tools: (await client.listTools()).tools.map((tool) => tool.name),
  };
  if (!opt['no-call']) {
    result.call = await client.callTool({ name: opt.tool, arguments: JSON.parse(opt.arguments) });
  }
  await client.close();
  finish(result);
} catch (err) {
  finish({ ok: false, pid: process.pid, error: String(err?.stack || err) });
}
