#!/usr/bin/env node
// Byte-exactness peer for the interception tests (a script; echo.mjs
// starts it, transfer-client.mjs talks to it). Listens on the
// dual-stack wildcard of --port, prints "listening PORT" when ready.
//
// Each connection starts with one header line, then raw bytes:
//   "echo\n"   every byte is written back; when the client half-closes,
//              the server finishes writing and half-closes too.
//   "sink\n"   bytes are counted and hashed until the client half-closes;
//              the reply is "<bytes> <sha256hex>\n", then close.
//   "source N SEED\n"
//              the server writes N bytes of Pattern(SEED) (with
//              back-pressure) and closes, whether or not the client has
//              half-closed.
//   "stream COUNT SIZE INTERVAL_MS SEED\n"
//              a long-lived response: COUNT chunks of SIZE bytes of
//              Pattern(SEED); after each chunk the server waits for one
//              byte from the client (its ack), then INTERVAL_MS, then
//              sends the next. A proxy that buffers a response instead of
//              forwarding it deadlocks here instead of passing.
import net from 'node:net';
import crypto from 'node:crypto';
import { Pattern } from './pattern.mjs';

function serve(socket) {
  let header = Buffer.alloc(0);
  const onHeaderData = (chunk) => {
    header = Buffer.concat([header, chunk]);
    const newline = header.indexOf(10);
    if (newline < 0) {
      if (header.length > 256) socket.destroy();
      return;
    }
    socket.off('data', onHeaderData);
    socket.pause();
    const [mode, ...args] = header.subarray(0, newline).toString().split(' ');
    const rest = header.subarray(newline + 1);
    const handler = MODES[mode];
    if (!handler) {
      socket.end(`unknown mode ${mode}\n`);
      return;
    }
    handler(socket, args.map(Number), rest);
    socket.resume();
  };
  socket.on('data', onHeaderData);
  socket.on('error', () => socket.destroy());
}

const MODES = {
  echo(socket, _args, rest) {
    if (rest.length) socket.write(rest);
    socket.pipe(socket); // pipe ends the writable side on the readable's end
  },

  sink(socket, _args, rest) {
    const hash = crypto.createHash('sha256').update(rest);
    let bytes = rest.length;
    socket.on('data', (chunk) => { hash.update(chunk); bytes += chunk.length; });
    socket.on('end', () => socket.end(`${bytes} ${hash.digest('hex')}\n`));
  },

  source(socket, [total, seed]) {
    const pattern = new Pattern(seed);
    let left = total;
    socket.on('data', () => {}); // drain (and notice) the client's half-close
    const pump = () => {
      while (left > 0) {
        const size = Math.min(left, 256 * 1024);
        left -= size;
        if (!socket.write(pattern.next(size))) {
          socket.once('drain', pump);
          return;
        }
      }
      socket.end();
    };
    pump();
  },

  stream(socket, [count, size, intervalMs, seed]) {
    const pattern = new Pattern(seed);
    let sent = 0;
    const sendChunk = () => {
      socket.write(pattern.next(size));
      sent++;
    };
    socket.on('data', (acks) => {
      // One ack byte per chunk received by the client.
      for (let i = 0; i < acks.length; i++) {
        if (sent === count) {
          socket.end();
          return;
        }
        setTimeout(sendChunk, intervalMs);
      }
    });
    sendChunk();
  },
};

const portArg = process.argv.indexOf('--port');
const port = portArg > 0 ? Number(process.argv[portArg + 1]) : NaN;
if (!Number.isInteger(port)) {
  process.stderr.write('usage: echo-server.mjs --port PORT\n');
  process.exit(2);
}
const server = net.createServer({ allowHalfOpen: true }, serve);
server.listen({ port, host: '::', ipv6Only: false, backlog: 4096 }, () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
