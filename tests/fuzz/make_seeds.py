#!/usr/bin/env python3
"""Writes the committed seed corpora, tests/fuzz/corpus/<target>/, from
realistic MCP traffic: requests and answers of the 2025-03-26 / 2025-06-18
Streamable HTTP transport, chunked and gzip bodies, SSE streams, policies.
Rerun after changing it; the files are committed so the corpora are stable."""
import gzip, json, os, shutil, zlib

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, 'corpus')

def gz(data): return gzip.compress(data, mtime=0)  # the same bytes on every run

def j(o): return json.dumps(o, separators=(',', ':')).encode()

init = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "c", "version": "1"}}}
call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "echo", "arguments": {"message": "hi"}}}
denied = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "rm", "arguments": {"path": "/"}}}
listreq = {"jsonrpc": "2.0", "id": "list", "method": "tools/list"}
notif = {"jsonrpc": "2.0", "method": "notifications/initialized"}
cond = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 11, "b": 2}}}
bodies = {
    'call': j(call), 'denied': j(denied), 'init': j(init), 'list': j(listreq), 'notif': j(notif),
    'batch': j([call, denied, notif, listreq]), 'cond': j(cond),
    'dupkey': b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","name":"rm"}}',
    'escaped': b'{"jsonrpc":"2.0","id":"\\u0031","method":"tools\\/call","params":{"name":"r\\u006d","arguments":{}}}',
    'nul': b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo\\u0000rm"}}',
    'noid': j({"jsonrpc": "2.0", "method": "tools/call", "params": {"name": "rm"}}),
    'folded': b'{"jsonrpc":"2.0","id":1,"Method":"tools/call","method":"ping","params":{"NAME":"rm","name":"echo"}}',
    # ids of 256 and 257 bytes of JSON text: the second is refused (JSONRPC_ID_MAX)
    'longid': j([dict(call, id='i' * 254), dict(denied, id='d' * 255)]),
}
tools_result = {"jsonrpc": "2.0", "id": "list", "result": {"tools": [
    {"name": "echo", "inputSchema": {"type": "object"}}, {"name": "secret", "description": "x"},
    {"name": "hidden_dump"}, {"name": "add"}]}}
call_result = {"jsonrpc": "2.0", "id": 1, "result": {"content": [{"type": "text", "text": "ran echo {\"message\":\"hi\"}"}], "isError": False}}
err_result = {"jsonrpc": "2.0", "id": 2, "error": {"code": -32602, "message": "bad"}}

def req(body, path='/mcp', extra=b'', method=b'POST', chunked=False, encoding=None):
    if encoding == 'gzip': body = gz(body)
    if encoding == 'deflate': body = zlib.compress(body)
    head = method + b' ' + path.encode() + b' HTTP/1.1\r\nHost: 127.0.0.1:3001\r\nContent-Type: application/json\r\n' \
        b'Accept: application/json, text/event-stream\r\nMcp-Session-Id: s-1\r\nMcp-Protocol-Version: 2025-06-18\r\n' + extra
    if encoding: head += b'Content-Encoding: ' + encoding.encode() + b'\r\n'
    if chunked:
        mid = len(body) // 2
        data = b''.join(b'%x\r\n%s\r\n' % (len(p), p) for p in (body[:mid], body[mid:]) if p) + b'0\r\n\r\n'
        return head + b'Transfer-Encoding: chunked\r\n\r\n' + data
    return head + b'Content-Length: %d\r\n\r\n' % len(body) + body

def resp(body, ctype=b'application/json', chunked=False, status=b'200 OK', extra=b''):
    head = b'HTTP/1.1 ' + status + b'\r\nContent-Type: ' + ctype + b'\r\n' + extra
    if chunked:
        return head + b'Transfer-Encoding: chunked\r\n\r\n' + b'%x\r\n%s\r\n0\r\n\r\n' % (len(body), body)
    return head + b'Content-Length: %d\r\n\r\n' % len(body) + body

def sse(*msgs, ids=True):
    return b''.join((b'event: message\n' + (b'id: %d\n' % i if ids else b'') + b'data: ' + j(m) + b'\n\n') for i, m in enumerate(msgs))

requests = {
    'call': req(bodies['call']), 'batch_chunked': req(bodies['batch'], chunked=True),
    'gzip': req(bodies['denied'], encoding='gzip'), 'deflate': req(bodies['call'], encoding='deflate'),
    'pipelined': req(bodies['init']) + req(bodies['list']) + b'GET /mcp HTTP/1.1\r\nHost: a\r\nAccept: text/event-stream\r\n\r\n',
    'expect': req(bodies['call'], extra=b'Expect: 100-continue\r\n'),
    'offpath': req(bodies['denied'], path='/api/v1/x?y=%2e%2e'), 'put': req(bodies['denied'], method=b'PUT'),
    'headers': req(bodies['call'], extra=b'Mcp-Method: tools/call\r\nMcp-Name: =?base64?ZWNobw==?=\r\n'),
    'delete': b'DELETE /mcp HTTP/1.1\r\nHost: a\r\nMcp-Session-Id: s-1\r\n\r\n',
    'upgrade': b'GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nxx',
    'http10': b'POST /mcp HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}',
    'cl_te': b'POST /mcp HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    'legacy_sse': b'GET /sse HTTP/1.1\r\nHost: a\r\nAccept: text/event-stream\r\n\r\n' + req(bodies['call'], path='/messages?sessionId=abc'),
}
responses = {
    'json': resp(j(call_result)), 'list': resp(j(tools_result)), 'error': resp(j(err_result), chunked=True),
    'sse': resp(sse(tools_result, call_result), ctype=b'text/event-stream', chunked=True),
    'sse_close': b'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n' + sse(call_result),
    'continue': b'HTTP/1.1 100 Continue\r\n\r\n' + resp(j(call_result)),
    'accepted': b'HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n',
    'gzip': resp(gz(j(tools_result)), extra=b'Content-Encoding: gzip\r\n'),
    'batch': resp(j([call_result, err_result, tools_result])),
    'switch': b'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x00',
    'endpoint': b'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\nevent: endpoint\ndata: /messages?sessionId=abc\n\n',
}

def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)

shutil.rmtree(OUT, ignore_errors=True)
for n, r in requests.items():
    write('fuzz_http1_request', n, b'\x03\x55\x55\x55\x55' + r)  # step 3, BUFFER for every message
    write('fuzz_http1_request', n + '_stream', b'\x00\x00\x00\x00\x00' + r)
# Regression: a head ended by CR + any byte (http_parser, not strict, took it for CRLF).
write('fuzz_http1_request', 'regress_cr_not_lf', b'\x00\x00\x00\x00\x00POST /mcp HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\rX{}')
write('fuzz_http1_request', 'regress_cr_mid_head', b'\x00\x00\x00\x00\x00POST /mcp HTTP/1.1\r\nHost: a\rXContent-Length: 2\r\n\r\n{}')
for n, r in responses.items():
    write('fuzz_http1_response', n, b'\x01\xaa\xaa\xaa\xaa\x00\x00' + r)  # SSE mode
    write('fuzz_http1_response', n + '_buffer', b'\x04\x55\x55\x55\x55\x00\x00' + r)
    write('fuzz_http1_response', n + '_head', b'\x00\x00\x00\x00\x00\x02\x00' + r)  # answers a HEAD
for n, b in bodies.items():
    write('fuzz_jsonrpc', n, b)
    write('fuzz_json_span', n, b)
write('fuzz_jsonrpc', 'headers', b'Mcp-Method: tools/call\nMcp-Name: echo\x00' + bodies['call'])
write('fuzz_jsonrpc', 'headers_b64', b'Mcp-Method: =?base64?dG9vbHMvY2FsbA==?=\nMcp-Name: rm\x00' + bodies['call'])
write('fuzz_jsonrpc', 'gzip', b'Content-Encoding: gzip\x00' + gz(bodies['batch']))
write('fuzz_json_span', 'deep', b'[' * 40 + b'{"a":1e999,"b":"\\ud83d\\ude00"}' + b']' * 40)
write('fuzz_json_span', 'numbers', b' [0,-0.5e-3,1E+9,123456789012345678901234567890,true,false,null,"\\"\\\\"] ')
for n, r in (('tools', tools_result), ('call', call_result), ('error', err_result)):
    write('fuzz_json_span', 'answer_' + n, j(r))
for n, enc in (('gzip', 'gzip'), ('deflate', 'deflate'), ('x-gzip', 'x-gzip'), ('identity', 'identity')):
    data = bodies['batch']
    if enc in ('gzip', 'x-gzip'): data = gz(data)
    if enc == 'deflate': data = zlib.compress(data)
    write('fuzz_content_decode', n, b'Content-Encoding: ' + enc.encode() + b'\x00' + data)
raw = zlib.compressobj(wbits=-15)
write('fuzz_content_decode', 'raw_deflate', b'Content-Encoding: deflate\x00' + raw.compress(bodies['call']) + raw.flush())
write('fuzz_content_decode', 'layered', b'Content-Encoding: deflate, gzip\nContent-Encoding: identity\x00' + gz(zlib.compress(bodies['call'])))
write('fuzz_content_decode', 'members', b'Content-Encoding: gzip\x00' + gz(b'[1,') + gz(b'2]'))
write('fuzz_content_decode', 'bomb', b'Content-Encoding: gzip\x00' + gz(b'\x00' * (1 << 20)))
write('fuzz_content_decode', 'br', b'Content-Encoding: br\x00xx')
for n, r in (('call', call_result), ('error', err_result), ('tools', tools_result)):
    write('fuzz_answer_scan', n, b'\x03' + j(r))
write('fuzz_answer_scan', 'batch', b'\x01' + j([call_result, err_result, {"jsonrpc": "2.0", "id": "x\\y", "result": {"isError": True}}]))
write('fuzz_answer_scan', 'escaped', b'\x02{"\\u0069d":7,"r\\u0065sult":{"is\\u0045rror":true}}')
write('fuzz_sse', 'events', b'\x03' + sse(tools_result, call_result))
write('fuzz_sse', 'crlf', b'\x01' + b'\xef\xbb\xbfretry: 10\r\n: comment\r\nevent: message\r\nid: 7\r\ndata: {"a":\r\ndata: 1}\r\n\r\n')
write('fuzz_sse', 'cr', b'\x02data: x\rdata:y\r\rid\rdata\r\r' + b'data: tail')
write('fuzz_sse', 'endpoint', b'\x00event: endpoint\ndata: /messages?sessionId=abc\n\n')
write('fuzz_mcp_filter', 'list', j(tools_result))
write('fuzz_mcp_filter', 'batch', j([call_result, {"jsonrpc": "2.0", "id": 1.0, "result": {"tools": [{"name": "secret"}]}}, tools_result]))
write('fuzz_mcp_filter', 'dup', b'{"jsonrpc":"2.0","id":2,"result":{"tools":[{"name":"echo"}],"tools":[{"name":"secret"}]}}')
write('fuzz_mcp_filter', 'escaped', b'{"jsonrpc":"2.0","id":"a","result":{"tools":[{"name":"s\\u0065cret"},{"name":"hid"}]}}')
for n, a in (('path', {"path": "/srv/a", "mode": "r", "n": 3, "tags": ["admin"], "force": True}),
             ('deep', {"deep": [[0, [0, 1, 2]]], "items": [0, 1, 2, {"size": 1000}], "a": {"b": {"c": {"x": [1, 2]}}}}),
             ('dup', None)):
    write('fuzz_conditions', n, j(a) if a else b'{"path":"/srv/a","path":"/etc"}')
with open(os.path.join(HERE, '..', '..', 'policies', 'example-strict.json'), 'rb') as f:
    write('fuzz_policy', 'strict', f.read())
with open(os.path.join(HERE, '..', '..', 'policies', 'default.json'), 'rb') as f:
    write('fuzz_policy', 'default', f.read())
write('fuzz_policy', 'conds', j({"version": "1", "servers": {"fs": {"endpoints": ["127.0.0.1:3002", "[::1]:3002", ":9000", "localhost:80"], "default": "allow", "hide": ["x"], "tools": {
    "read": {"conditions": [{"path": "args.path", "op": "regex", "value": "^/srv/"}, {"path": "args.n.0", "op": "in", "value": [1, 2]},
                            {"path": "args.f", "op": "exists", "value": False}, {"path": "args.t", "op": "contains", "value": "a"}]},
    "rm": {"action": "deny", "reason": "no"}, "*": {"limits": [{"counter": "c", "window": "minute", "max": 5, "scope": "agent"}]}}}}}) +
    b'\x00' + j({"path": "/srv/x", "n": [1], "t": "abc"}))
write('fuzz_policy', 'bare', b'{"version":"1","default":"deny","tools":{}}')
flow_sep = b'\x00--\x00'
write('fuzz_mcp_flow', 'call', b'\x00' + requests['call'] + flow_sep + resp(j(call_result)))
write('fuzz_mcp_flow', 'denied_batch', b'\x03' + req(bodies['batch']) + flow_sep + resp(j([call_result, tools_result])))
write('fuzz_mcp_flow', 'list_sse', b'\x05' + req(bodies['list']) + flow_sep + resp(sse(tools_result), ctype=b'text/event-stream', chunked=True))
write('fuzz_mcp_flow', 'gzip', b'\x00' + requests['gzip'] + flow_sep + responses['gzip'])
write('fuzz_mcp_flow', 'pipelined', b'\x06' + requests['pipelined'] + flow_sep + resp(j({"jsonrpc": "2.0", "id": 0, "result": {}})) + responses['list'] + responses['sse'])
write('fuzz_mcp_flow', 'offpath', b'\x00' + requests['offpath'] + flow_sep + resp(b'{}') + flow_sep + requests['put'])
write('fuzz_mcp_flow', 'legacy', b'\x02' + requests['legacy_sse'] + flow_sep + responses['endpoint'])
write('fuzz_mcp_flow', 'limited', b'\x00' + b''.join(req(j({"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {"name": "limited", "arguments": {}}})) for i in range(4)))
write('fuzz_mcp_flow', 'expect', b'\x00' + requests['expect'] + flow_sep + responses['continue'])
write('fuzz_mcp_flow', 'evasions', b'\x00' + b''.join(req(bodies[k]) for k in ('dupkey', 'escaped', 'nul', 'noid', 'folded', 'cond')))
