#!/usr/bin/env node
// Reference MCP server on the TypeScript SDK as its documentation shows it:
// McpServer over StreamableHTTPServerTransport (stateless: a fresh server
// and transport per request), behind express with express.json() (which
// honours a charset= parameter, iconv-lite decoding UTF-16 and others,
// and undoes gzip/deflate). Tools echo, rm, secret; every execution is
// appended to the record file as {"server":"node","tool":...,"arguments":...}.
//
//   server-node.mjs PORT RECORD_FILE      prints "listening PORT" when ready
import fs from 'node:fs';
import express from 'express';
import { z } from 'zod';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

const [port, recordFile] = process.argv.slice(2);
const record = fs.openSync(recordFile, 'a');

function newServer() {
  const server = new McpServer({ name: 'differential-node', version: '1.0.0' });
  for (const name of ['echo', 'rm', 'secret']) {
    server.registerTool(name, { description: `tool ${name}`, inputSchema: { m: z.string().optional() } }, async (args) => {
      fs.writeSync(record, `${JSON.stringify({ server: 'node', tool: name, arguments: args })}\n`);
      return { content: [{ type: 'text', text: `ran ${name}` }] };
    });
  }
  return server;
}

const app = express();
app.use(express.json({ limit: '8mb' }));
app.all('/mcp', async (req, res) => {
  const server = newServer();
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.on('close', () => { transport.close(); server.close(); });
  try {
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  } catch (err) {
    if (!res.headersSent) res.status(500).json({ error: String(err) });
  }
});
app.listen(Number(port), '127.0.0.1', () => console.log(`listening ${port}`));
