// @modelcontextprotocol/server-everything as a real MCP server for tests.
//
// How it is started (read from its package, version pinned in package.json):
//   node node_modules/@modelcontextprotocol/server-everything/dist/index.js TRANSPORT
//   - TRANSPORT (argv[2]) selects the transport: `streamableHttp`, `sse`
//     (legacy HTTP+SSE) or `stdio` (the default when omitted).
//   - The port comes from the PORT environment variable (default 3001);
//     there is no host option: express app.listen(PORT) binds the
//     dual-stack wildcard, so 127.0.0.1, 127.0.0.x and [::1] all reach it.
//   - streamableHttp: POST/GET/DELETE /mcp (Mcp-Session-Id header).
//     Ready when stderr says "MCP Streamable HTTP Server listening on port N".
//   - sse: GET /sse opens the stream, POST /message?sessionId=... carries
//     client messages. Ready when stderr says "Server is running on port N".
//   - It exits 1 with "Port N is already in use" on EADDRINUSE.
//   Tools include `echo` ({message} -> text "Echo: <message>"), `get-sum`,
//   `trigger-long-running-operation`, ...
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitForListen } from './ports.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const EVERYTHING_MAIN = path.join(repo, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');

const READY = {
  streamableHttp: /listening on port (\d+)/,
  sse: /Server is running on port (\d+)/,
};
const PATHS = { streamableHttp: '/mcp', sse: '/sse' };

// Starts server-everything outside any test cgroup on a free port.
// Returns { proc, port, transport, url(host) } where host is an address
// literal as it appears in a URL ('127.0.0.1', '[::1]').
export async function startEverything(sb, transport = 'streamableHttp') {
  if (!READY[transport]) throw new Error(`unknown server-everything transport ${transport}`);
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const proc = sb.spawn(process.execPath, [EVERYTHING_MAIN, transport], { env: { PORT: String(port) } });
    try {
      await proc.waitForOutput(READY[transport], { stream: 'stderr', timeoutMs: 20000 });
      await waitForListen('127.0.0.1', port, 5000, () => proc.running);
    } catch (err) {
      // Another process may have taken the port between pick and bind.
      if (attempt < 2 && /already in use/.test(proc.stderr)) continue;
      throw err;
    }
    return { proc, port, transport, url: (host = '127.0.0.1') => `http://${host}:${port}${PATHS[transport]}` };
  }
}
