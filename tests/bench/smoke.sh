#!/usr/bin/env bash
# Proves the benchmark tools work, with no timing assertion: the load
# generator completes a few hundred tools/call round trips against
# mini_server, plain and with the Streamable HTTP session handshake, in
# several sizes including a chunk larger than a socket buffer, with zero
# errors and every call accounted for. Exit 0 on success.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$ROOT/build/bench
WORK=$(mktemp -d /tmp/mcpfence-bench-smoke.XXXXXX)
SERVER_PID=
cleanup() {
	[ -z "$SERVER_PID" ] || kill "$SERVER_PID" 2>/dev/null || true
	[ -z "$SERVER_PID" ] || wait "$SERVER_PID" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

for b in loadgen mini_server; do
	[ -x "$BIN/$b" ] || { echo "smoke: $BIN/$b missing (make bench-bins)" >&2; exit 1; }
done
"$BIN/mini_server" --port 0 --port-file "$WORK/port" 2>"$WORK/server.err" &
SERVER_PID=$!
for _ in $(seq 50); do [ -s "$WORK/port" ] && break; sleep 0.1; done
[ -s "$WORK/port" ] || { echo "smoke: mini_server did not start: $(cat "$WORK/server.err")" >&2; exit 1; }
PORT=$(cat "$WORK/port")

fail=0
# check NAME CALLS LOADGEN-ARGS...: exactly CALLS calls measured, no error.
check() {
	local name=$1 calls=$2 out rc=0
	shift 2
	out=$(timeout 60 "$BIN/loadgen" --port "$PORT" --calls "$calls" --timeout 10 "$@" 2>"$WORK/err") || rc=$?
	if [ "$rc" = 0 ] && grep -q "\"calls\":$calls," <<<"$out" && grep -q '"errors":0,' <<<"$out"; then
		echo "ok   loadgen $name"
	else
		echo "FAIL loadgen $name (exit $rc): $out $(head -c 300 "$WORK/err")"
		fail=1
	fi
}
check "256 B, 1 connection" 300 --size 256 --conns 1
check "4 KiB, 8 connections, session handshake" 400 --size 4096 --conns 8 --session
check "1 MiB, 4 connections" 40 --size 1048576 --conns 4
check "0 B, 32 connections, warm-up" 500 --size 0 --conns 32 --warmup 0.2
# A server that refuses the calls must be reported as failures, not as calls.
out=$(timeout 30 "$BIN/loadgen" --port "$PORT" --calls 10 --tool missing 2>/dev/null) && rc=0 || rc=$?
if [ "$rc" = 1 ] && grep -q '"calls":0,' <<<"$out"; then
	echo "ok   loadgen counts refused calls as errors"
else
	echo "FAIL loadgen counted a refused call (exit $rc): $out"
	fail=1
fi
exit $fail
