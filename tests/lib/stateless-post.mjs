// One stateless JSON-RPC POST (2025-11-25 shape) to
// http://127.0.0.1:PORT/mcp/stateless, for the load scripts; resolves
// {msg} (the JSON answer, or the message of an event-stream answer) or
// {error}, never rejects.
import http from 'node:http';

export function postStateless({ port, id, method, params, agent = false, timeoutMs = 60000 }) {
  const body = JSON.stringify({ jsonrpc: '2.0', id, method, params });
  return new Promise((resolve) => {
    const req = http.request({
      host: '127.0.0.1', port: Number(port), path: '/mcp/stateless', method: 'POST', agent,
      headers: {
        'Content-Type': 'application/json', Accept: 'application/json, text/event-stream',
        'MCP-Protocol-Version': '2025-11-25', 'Content-Length': Buffer.byteLength(body),
      },
      timeout: timeoutMs,
    }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk) => { text += chunk; });
      res.on('end', () => {
        try {
          const json = text.startsWith('{') ? text : (text.match(/^data: (.*)$/m) || [])[1];
          resolve({ msg: JSON.parse(json) });
        } catch {
          resolve({ error: `HTTP ${res.statusCode}: ${text.slice(0, 200)}` });
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ error: err.message }));
    req.end(body);
  });
}

// The text of a tools/call result's content, joined by newlines.
export function resultText(msg) {
  return (msg?.result?.content || []).map((c) => c.text).join('\n');
}
