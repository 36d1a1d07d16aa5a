#!/usr/bin/env python3
"""A raw agent for the kernel-side tests: one stateless MCP tools/call POST
over a plain socket, with tricks an agent can play on that socket first.

  raw-agent.py --host H --port P --tool NAME [--mark N] [--move-to-cgroup DIR]

--mark N           setsockopt(SO_MARK, N) before connect (needs CAP_NET_RAW)
--pad N            N bytes of filler in the arguments (the whole request is sent at once)
--fastopen         no connect(): the first bytes go with sendto(MSG_FASTOPEN)
--move-to-cgroup   create the socket first, then move this process into DIR
                   (the socket was born outside it), then connect
Prints one JSON line: {"ok": bool, "status": N, "body": "...", "peer": "h:p"}.
"""
import argparse, json, os, socket

p = argparse.ArgumentParser()
p.add_argument('--host', default='127.0.0.1')
p.add_argument('--port', type=int, required=True)
p.add_argument('--tool', required=True)
p.add_argument('--path', default='/mcp/stateless')
p.add_argument('--mark', type=lambda s: int(s, 0))
p.add_argument('--move-to-cgroup')
p.add_argument('--fastopen', action='store_true', help='connect with the request itself (sendto MSG_FASTOPEN)')
p.add_argument('--pad', type=int, default=0, help='bytes of filler in the arguments, sent in one go')
a = p.parse_args()

def complete(data):
    """One whole answer: Content-Length bytes, or one SSE event."""
    head, sep, rest = data.partition(b'\r\n\r\n')
    if not sep:
        return False
    for line in head.split(b'\r\n')[1:]:
        name, _, value = line.partition(b':')
        if name.strip().lower() == b'content-length':
            return len(rest) >= int(value)
    return b'\n\n' in rest


family = socket.AF_INET6 if ':' in a.host else socket.AF_INET
s = socket.socket(family, socket.SOCK_STREAM)
s.settimeout(15)
if a.mark is not None:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, a.mark)
if a.move_to_cgroup:
    with open(os.path.join(a.move_to_cgroup, 'cgroup.procs'), 'w') as f:
        f.write(str(os.getpid()))
body = json.dumps({'jsonrpc': '2.0', 'id': 1, 'method': 'tools/call',
                   'params': {'name': a.tool, 'arguments': {'marker': 'raw-agent-' + a.tool, 'pad': 'x' * a.pad}}}).encode()
req = (f'POST {a.path} HTTP/1.1\r\nHost: {a.host}:{a.port}\r\nContent-Type: application/json\r\n'
       f'Accept: application/json, text/event-stream\r\nMcp-Protocol-Version: 2025-06-18\r\n'
       f'Content-Length: {len(body)}\r\nConnection: close\r\n\r\n').encode() + body
try:
    if a.fastopen:
        s.settimeout(None)  # blocking: sendto waits for the handshake
        sent = s.sendto(req, socket.MSG_FASTOPEN, (a.host, a.port))
        s.settimeout(15)
        s.sendall(req[sent:])
    else:
        s.connect((a.host, a.port))
        s.sendall(req)
    peer = s.getpeername()
    data = b''
    while not complete(data):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b'\r\n\r\n')
    status = int(head.split(b' ')[1]) if head else 0
    print(json.dumps({'ok': True, 'status': status, 'body': rest.decode('utf-8', 'replace'),
                      'peer': f'{peer[0]}:{peer[1]}'}))
except OSError as e:
    print(json.dumps({'ok': False, 'error': f'{type(e).__name__}: {e}'}))
