// A TS SDK server (stateful Streamable HTTP sessions) whose tools/list
// takes 500 ms and whose tools/call takes 2 s, listing `echo` and
// `secret`: long enough for a second connection of the session to send a
// request while the first awaits its answer.
//   node slow-list-server.mjs PORT json|sse
// Prints "slow server listening on port PORT" on stderr when ready.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const port = Number(process.argv[2]);
const json = process.argv[3] === 'json';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sessions = new Map();

function mcpServer() {
  const s = new Server({ name: 'slow', version: '1' }, { capabilities: { tools: {} } });
  s.setRequestHandler(ListToolsRequestSchema, async () => {
    await sleep(500);
    return { tools: ['echo', 'secret'].map((name) => ({ name, inputSchema: { type: 'object' } })) };
  });
  s.setRequestHandler(CallToolRequestSchema, async (r) => {
    await sleep(2000);
    return { content: [{ type: 'text', text: `ran ${r.params.name}` }] };
  });
  return s;
}

http.createServer(async (req, res) => {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : undefined;
  const sid = req.headers['mcp-session-id'];
  let t = sid && sessions.get(sid);
  if (!t) {
    t = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID(), enableJsonResponse: json,
      onsessioninitialized: (id) => sessions.set(id, t) });
    await mcpServer().connect(t);
  }
  await t.handleRequest(req, res, body);
}).listen(port, '127.0.0.1', () => console.error('slow server listening on port ' + port));
