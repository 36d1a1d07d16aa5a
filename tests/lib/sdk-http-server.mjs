// An MCP server of the real SDK in the test process, listing the tools
// `tools` (each call answers "ran NAME ARGS"), on the transports and in the
// forms that deployments put in front of it:
//   compress: 'accepted' gzips every answer (SSE included) when the request
//             accepts gzip, as Express's compression() does; 'always' gzips
//             whatever the request asked for.
//   json:     Streamable HTTP answers JSON instead of SSE (enableJsonResponse).
//   eventStore: resumability: GET with Last-Event-ID replays a stream's
//             events (as the SDK's InMemoryEventStore does, in the order
//             they were stored: its ids sort at random within a millisecond).
//   legacy:   also the legacy HTTP+SSE transport at GET /sse, its endpoint
//             announced the way Python's SDK does ('python':
//             /messages/?session_id=S) or the TypeScript one ('ts':
//             /messages?sessionId=S).
// Returns { port, requests } (requests: { method, url, headers } of each).
import http from 'node:http';
import zlib from 'node:zlib';
import { randomUUID } from 'node:crypto';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { ListToolsRequestSchema, CallToolRequestSchema } from '@modelcontextprotocol/sdk/types.js';

class SequencedEventStore {
  events = [];

  async storeEvent(streamId, message) {
    const eventId = `${streamId}_${String(this.events.length).padStart(8, '0')}`;
    this.events.push({ eventId, streamId, message });
    return eventId;
  }

  async replayEventsAfter(lastEventId, { send }) {
    const at = this.events.findIndex((e) => e.eventId === lastEventId);
    if (at < 0) return '';
    const { streamId } = this.events[at];
    for (const e of this.events.slice(at + 1)) if (e.streamId === streamId) await send(e.eventId, e.message);
    return streamId;
  }
}

function mcpServer(tools) {
  const s = new Server({ name: 'sdk-http', version: '1' }, { capabilities: { tools: {} } });
  s.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: tools.map((name) => ({ name, inputSchema: { type: 'object' } })) }));
  s.setRequestHandler(CallToolRequestSchema, async (r) => ({
    content: [{ type: 'text', text: `ran ${r.params.name} ${JSON.stringify(r.params.arguments ?? {})}` }],
  }));
  return s;
}

// res, its body gzipped (each write flushed, so events stream as they come).
function gzipped(res) {
  const gz = zlib.createGzip({ flush: zlib.constants.Z_SYNC_FLUSH });
  const write = res.write.bind(res), end = res.end.bind(res), writeHead = res.writeHead.bind(res);
  gz.on('data', (c) => write(c));
  gz.on('end', () => end());
  res.writeHead = (status, ...rest) => {
    const h = rest[rest.length - 1];
    if (h && typeof h === 'object') for (const k of Object.keys(h)) if (k.toLowerCase() === 'content-length') delete h[k];
    res.removeHeader('content-length');
    res.setHeader('content-encoding', 'gzip');
    return writeHead(status, ...rest);
  };
  res.write = (c, e, cb) => { gz.write(c, e, cb); return true; };
  res.end = (c, e) => { if (c && typeof c !== 'function') gz.write(c, e); gz.end(); return res; };
  return res;
}

export async function startSdkServer(t, { tools, compress = false, json = false, eventStore = false, legacy } = {}) {
  const sessions = new Map(), streams = new Map(), requests = [];
  const server = http.createServer(async (req, res) => {
    requests.push({ method: req.method, url: req.url, headers: req.headers });
    const accepts = /gzip/.test(req.headers['accept-encoding'] || '');
    if (compress === 'always' || (compress === 'accepted' && accepts)) res = gzipped(res);
    const url = new URL(req.url, 'http://x');
    if (legacy && req.method === 'GET' && url.pathname === '/sse') {
      const python = legacy === 'python';
      const transport = new SSEServerTransport(python ? '/messages/' : '/messages', res);
      if (python) {
        // Python's SseServerTransport: the id is hex, its parameter session_id
        const write = res.write.bind(res);
        res.write = (c, ...rest) => write(typeof c === 'string' ? c.replace('?sessionId=', '?session_id=') : c, ...rest);
      }
      streams.set(transport.sessionId, transport);
      res.on('close', () => streams.delete(transport.sessionId));
      await mcpServer(tools).connect(transport);
      return;
    }
    if (legacy && req.method === 'POST' && url.pathname.startsWith('/messages')) {
      const transport = streams.get(url.searchParams.get(legacy === 'python' ? 'session_id' : 'sessionId'));
      if (!transport) { res.writeHead(404).end('Could not find session'); return; }
      await transport.handlePostMessage(req, res);
      return;
    }
    const sid = req.headers['mcp-session-id'];
    let transport = sid && sessions.get(sid);
    if (!transport) {
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(), enableJsonResponse: json,
        ...(eventStore ? { eventStore: new SequencedEventStore() } : {}),
        onsessioninitialized: (id) => sessions.set(id, transport),
      });
      await mcpServer(tools).connect(transport);
    }
    await transport.handleRequest(req, res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { port: server.address().port, requests };
}
