// Starts echo-server.mjs (outside any test cgroup) on a free port.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.mjs';

const ECHO_SERVER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'echo-server.mjs');

export async function startEchoServer(sb) {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const proc = sb.spawn(process.execPath, [ECHO_SERVER, '--port', String(port)]);
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
