// Free TCP ports, picked by the kernel. The port is checked on the
// dual-stack wildcard address, so it is free on 127.0.0.1 and ::1 alike.
import net from 'node:net';

function listenAnyPort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen({ port: 0, host: '::', ipv6Only: false }, () => resolve(server));
  });
}

// `count` distinct free ports: all are held open until all are picked, as
// the kernel may hand the same port to consecutive bind(0) calls.
export async function freePorts(count) {
  const servers = [];
  try {
    for (let i = 0; i < count; i++) servers.push(await listenAnyPort());
    return servers.map((server) => server.address().port);
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

export async function freePort() {
  return (await freePorts(1))[0];
}

// Resolves once something accepts TCP connections on host:port.
export async function waitForListen(host, port, timeoutMs = 15000, isAlive = () => true) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const socket = net.connect({ host, port }, () => { socket.destroy(); resolve(true); });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    if (!isAlive()) throw new Error(`nothing listens on ${host}:${port} and the server exited`);
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
