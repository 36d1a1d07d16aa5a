// A TS SDK server (stateful Streamable HTTP sessions) whose tools/list
// takes LIST_MS (500) and whose tools/call takes CALL_MS (2000), listing
// `echo` and `secret`: long enough for a second connection of the session
// to send a request while the first awaits its answer.
//   node slow-list-server.mjs PORT json|sse|poll|poll-quiet [LIST_MS [CALL_MS]]
// json and sse: the answers' form (enableJsonResponse or an event stream).
// poll: event streams with resumability (an event store), and a tool
// `poll` (listed too) that sends the client two ping requests without
// awaiting them (ids 0 and 1: a server numbers its requests from 0 in each
// session), closes its POST stream for polling (2025-11-25,
// closeSSEStream) 300 ms later and answers 8 s after that; poll-quiet: the
// same without the pings.
// Prints "slow server listening on port PORT" on stderr when ready.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { InMemoryEventStore } from '@modelcontextprotocol/sdk/examples/shared/inMemoryEventStore.js';
import { CallToolRequestSchema, EmptyResultSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const port = Number(process.argv[2]);
const mode = process.argv[3];
const listMs = Number(process.argv[4] ?? 500), callMs = Number(process.argv[5] ?? 2000);
const poll = mode.startsWith('poll');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sessions = new Map();

function mcpServer() {
  const s = new Server({ name: 'slow', version: '1' }, { capabilities: { tools: {} } });
  const tools = poll ? ['echo', 'poll', 'secret'] : ['echo', 'secret'];
  s.setRequestHandler(ListToolsRequestSchema, async () => {
    await sleep(listMs);
    return { tools: tools.map((name) => ({ name, inputSchema: { type: 'object' } })) };
  });
  s.setRequestHandler(CallToolRequestSchema, async (r, extra) => {
    if (poll && r.params.name === 'poll') {
      if (mode === 'poll') {
        extra.sendRequest({ method: 'ping' }, EmptyResultSchema).catch(() => {});
        extra.sendRequest({ method: 'ping' }, EmptyResultSchema).catch(() => {});
      }
      await sleep(300);
      extra.closeSSEStream?.();
      await sleep(8000);
      return { content: [{ type: 'text', text: 'polled' }] };
    }
    await sleep(callMs);
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
    t = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID(), enableJsonResponse: mode === 'json',
      ...(poll ? { eventStore: new InMemoryEventStore() } : {}),
      onsessioninitialized: (id) => sessions.set(id, t) });
    await mcpServer().connect(t);
  }
  await t.handleRequest(req, res, body);
}).listen(port, '127.0.0.1', () => console.error('slow server listening on port ' + port));
