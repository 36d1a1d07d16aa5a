#!/usr/bin/env python3
"""Reference MCP-ish server on Python's standard library (http.server +
json), as permissive as a hand-written JSON-RPC endpoint tends to be: any
method, any path, body by Content-Length or chunked, json.loads on the raw
bytes (which also reads UTF-16 and UTF-32), duplicate keys last-wins. Every
tools/call of a tool it has is executed and appended to the record file as
{"server":"python","tool":NAME,"arguments":ARGS} before it answers.

    server.py PORT RECORD_FILE          prints "listening PORT" when ready
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOOLS = {"echo", "rm", "secret"}
record = open(sys.argv[2], "a", buffering=1)


def read_chunked(rfile):
    body = b""
    while True:
        size = int(rfile.readline().split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while rfile.readline().strip():
                pass
            return body
        body += rfile.read(size)
        rfile.readline()


def execute(msg):
    if not isinstance(msg, dict) or msg.get("method") != "tools/call":
        return None
    params = msg.get("params") or {}
    name = params.get("name") if isinstance(params, dict) else None
    if name not in TOOLS:
        return {"jsonrpc": "2.0", "id": msg.get("id"), "error": {"code": -32602, "message": "no such tool"}}
    record.write(json.dumps({"server": "python", "tool": name, "arguments": params.get("arguments")}) + "\n")
    return {"jsonrpc": "2.0", "id": msg.get("id"), "result": {"content": [{"type": "text", "text": "ran " + name}]}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def handle_any(self):
        try:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                raw = read_chunked(self.rfile)
            else:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            parsed = json.loads(raw) if raw.strip() else None
        except Exception:  # not JSON (or bad framing): nothing to execute
            parsed = None
        msgs = parsed if isinstance(parsed, list) else [parsed]
        out = [r for r in (execute(m) for m in msgs) if r]
        body = json.dumps(out if isinstance(parsed, list) else (out[0] if out else {})).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_PUT = do_PATCH = do_GET = do_DELETE = do_OPTIONS = do_FOO = handle_any

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
server.daemon_threads = True
print("listening", sys.argv[1], flush=True)
server.serve_forever()
