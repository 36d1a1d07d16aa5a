// The "agents" of the integration tests: unmodified clients run as their
// own processes, inside the sandbox's cgroup (intercepted) or outside it.
// Each returns what the client saw plus its pid, which is what the daemon
// logs for an intercepted connection.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const TRANSFER_CLIENT = path.join(here, 'transfer-client.mjs');
const MCP_AGENT = path.join(here, 'mcp-agent.mjs');

// inCgroup: true = the agent cgroup, a path = that cgroup, false = outside,
// a pod (pods.mjs) = inside that pod's network namespace and cgroup.
function runner(sb, inCgroup) {
  if (inCgroup === true) return sb.runInCgroup.bind(sb);
  if (typeof inCgroup === 'object' && inCgroup.run) return inCgroup.run.bind(inCgroup);
  if (inCgroup) return (command, args, options) => sb.runInCgroup(command, args, { ...options, cgroup: inCgroup });
  return sb.runOutside.bind(sb);
}

function parseJsonLine(res, what) {
  const line = res.stdout.trim().split('\n').pop();
  try {
    return { ...JSON.parse(line), exitCode: res.code, pid: res.pid };
  } catch {
    throw new Error(`${what} printed no JSON (exit ${res.code}, signal ${res.signal}, timed out ${res.timedOut})\nstdout: ${res.stdout}\nstderr: ${res.stderr}`);
  }
}

export const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0', id: 1, method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'curl', version: '1' } },
});

// curl POSTs an MCP initialize to url. Returns { code, pid, body, status,
// peer } where peer is curl's %{remote_ip}:%{remote_port}, i.e. what
// getpeername() told curl (IPv6 without brackets, as curl prints it).
export async function curlInitialize(sb, url, { inCgroup = true, timeoutMs = 30000 } = {}) {
  const res = await runner(sb, inCgroup)('curl', [
    '-sS', '-g', '--max-time', String(Math.ceil(timeoutMs / 1000) - 5), '-X', 'POST', url,
    '-H', 'Content-Type: application/json', '-H', 'Accept: application/json, text/event-stream',
    '-d', INITIALIZE, '-w', '\n%{http_code} %{remote_ip}:%{remote_port}\n',
  ], { timeoutMs });
  const lines = res.stdout.trimEnd().split('\n');
  const [status, peer] = (lines.pop() || '').split(' ');
  return { code: res.code, pid: res.pid, stderr: res.stderr, status: Number(status), peer, body: lines.join('\n') };
}

// transfer-client.mjs with the given options ({ host, port, mode, bytes, ... }).
export async function transfer(sb, options, { inCgroup = true, timeoutMs = 120000 } = {}) {
  const args = [TRANSFER_CLIENT];
  for (const [key, value] of Object.entries(options)) args.push(`--${key}`, String(value));
  args.push('--timeout-ms', String(timeoutMs - 5000));
  const res = await runner(sb, inCgroup)(process.execPath, args, { timeoutMs });
  return parseJsonLine(res, `transfer-client ${args.slice(1).join(' ')}`);
}

// mcp-agent.mjs --once: initialize, tools/list, tools/call (see its header).
export async function mcpClient(sb, url, { transport = 'streamable', tool, args, inCgroup = true, timeoutMs = 40000 } = {}) {
  const argv = [MCP_AGENT, '--once', '--url', url, '--transport', transport, '--timeout-ms', String(timeoutMs - 5000)];
  if (tool) argv.push('--tool', tool);
  if (args) argv.push('--arguments', JSON.stringify(args));
  const res = await runner(sb, inCgroup)(process.execPath, argv, { timeoutMs });
  return parseJsonLine(res, `mcp-agent ${argv.slice(1).join(' ')}`);
}
