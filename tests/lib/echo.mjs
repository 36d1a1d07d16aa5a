#!/usr/bin/env node
// Byte-exactness peer for the interception tests, speaking HTTP/1.1 (the
// daemon parses every intercepted connection as HTTP, as MCP endpoints
// are HTTP servers; these paths are not MCP paths, so it forwards them
// untouched). startEchoServer(sb) runs this file as a script on a free
// port (outside any test cgroup); transfer-client.mjs talks to it. The
// script listens on the dual-stack wildcard of --port, prints
// "listening PORT" when ready.
//
//   POST /echo     answers with the request body, byte for byte
//   POST /sink     answers {"bytes":N,"sha256":HEX} of the request body
//   GET  /source?bytes=N&seed=S
//                  answers N bytes of Pattern(S)
//   GET  /stream?count=C&size=S&interval=MS&seed=X&id=ID
//                  a long-lived response of C chunks of S bytes of
//                  Pattern(X) (Content-Length C*S): chunk k+1 is sent only
//                  after POST /ack?id=ID (any connection) acknowledged
//                  chunk k, then INTERVAL ms later. A proxy that held back
//                  part of a response would stall this instead of passing.
import http from 'node:http';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Pattern } from './pattern.mjs';
import { freePort } from './ports.mjs';

const SELF = fileURLToPath(import.meta.url);

export async function startEchoServer(sb) {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const proc = sb.spawn(process.execPath, [SELF, '--port', String(port)]);
    try {
      await proc.waitForOutput(/^listening \d+$/m, { timeoutMs: 10000 });
    } catch (err) {
      // Another process may have taken the port between pick and bind.
      if (attempt < 2 && /EADDRINUSE/.test(proc.stderr)) continue;
      throw err;
    }
    return { proc, port };
  }
}

const streams = new Map(); // id -> function sending the next chunk

function readBody(req, onChunk) {
  return new Promise((resolve, reject) => {
    req.on('data', onChunk);
    req.on('end', resolve);
    req.on('error', reject);
  });
}

const routes = {
  async 'POST /echo'(req, res) {
    const chunks = [];
    await readBody(req, (chunk) => chunks.push(chunk));
    const body = Buffer.concat(chunks);
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length });
    res.end(body);
  },

  async 'POST /sink'(req, res) {
    const hash = crypto.createHash('sha256');
    let bytes = 0;
    await readBody(req, (chunk) => { hash.update(chunk); bytes += chunk.length; });
    const body = JSON.stringify({ bytes, sha256: hash.digest('hex') });
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  },

  async 'GET /source'(req, res, query) {
    const total = Number(query.get('bytes'));
    const pattern = new Pattern(query.get('seed'));
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': total });
    let left = total;
    const pump = () => {
      while (left > 0) {
        const size = Math.min(left, 256 * 1024);
        left -= size;
        if (!res.write(pattern.next(size))) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  },

  async 'GET /stream'(req, res, query) {
    const count = Number(query.get('count'));
    const size = Number(query.get('size'));
    const interval = Number(query.get('interval'));
    const id = query.get('id');
    const pattern = new Pattern(query.get('seed'));
    let sent = 0;
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': count * size });
    const sendChunk = () => {
      res.write(pattern.next(size));
      if (++sent === count) {
        streams.delete(id);
        res.end();
      }
    };
    streams.set(id, () => setTimeout(sendChunk, interval));
    res.on('close', () => streams.delete(id));
    sendChunk();
  },

  async 'POST /ack'(req, res, query) {
    await readBody(req, () => {});
    const next = streams.get(query.get('id'));
    res.writeHead(next ? 204 : 404, { 'Content-Length': 0 });
    res.end();
    if (next) next();
  },
};

function serve(port) {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://peer');
    const route = routes[`${req.method} ${url.pathname}`];
    try {
      if (route) await route(req, res, url.searchParams);
      else res.writeHead(404, { 'Content-Length': 0 }).end();
    } catch (err) {
      res.destroy(err);
    }
  });
  server.requestTimeout = 0; // long streams are the point
  // Keep answering after the client half-closed (by default node's server
  // aborts the response in flight when it reads the client's FIN); this
  // long-standing server property is what node's own tests use for it.
  server.httpAllowHalfOpen = true;
  server.listen({ port, host: '::', ipv6Only: false, backlog: 4096 }, () => {
    process.stdout.write(`listening ${server.address().port}\n`);
  });
}

if (process.argv[1] === SELF) {
  const portArg = process.argv.indexOf('--port');
  const port = portArg > 0 ? Number(process.argv[portArg + 1]) : NaN;
  if (!Number.isInteger(port)) {
    process.stderr.write('usage: echo.mjs --port PORT\n');
    process.exit(2);
  }
  serve(port);
}
