#!/usr/bin/env bash
# Side-by-side benchmarks: what mcpfence adds to an MCP tool call, next to
# the same call made directly and through nginx. See tests/bench/README.md.
#
#   tests/bench/run.sh [--quick]      (as root; `make bench [QUICK=1]` builds first)
#   optional: BENCH_SIZES, BENCH_CONNS, BENCH_ROUNDS, BENCH_DURATION override the matrix,
#   BENCH_WORKERS_ROUNDS the workers block
#
# Writes build/bench/results.json, build/bench/table.txt and
# build/bench/latency.png, and prints the table.
#
# Isolation: everything runs on loopback with ports picked at run time. The
# load generator runs in cgroups this script creates; each daemon runs in a
# cgroup of its own below them (--sockmap attaches sock_ops to the daemon's
# cgroup too) and attaches to those cgroups only, with pins in a private
# bpffs mount. All of it is removed on exit, failure or interrupt.
set -euo pipefail

QUICK=0
case "${1:-}" in
--quick) QUICK=1 ;;
"") ;;
*) echo "usage: $0 [--quick]" >&2; exit 2 ;;
esac

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$ROOT/build/bench
MCPFENCE=$ROOT/build/mcpfence
OUT=$ROOT/build/bench
EVERYTHING=$ROOT/node_modules/@modelcontextprotocol/server-everything/dist/index.js

if [ "$QUICK" = 1 ]; then
	SIZES="256 65536"; CONNS="1 256"; ROUNDS=2; DURATION=1; WARMUP=0.3
	CONNECT_ROUNDS=2; CONNECT_ITERS=5000
	POLICY_RULES="10 1000 100000"; POLICY_ROUNDS=1; POLICY_CONNS=16
	REAL_SIZES="256"; REAL_CONNS="1 16"; REAL_ROUNDS=1
	WORKERS_CONNS="16 256"; WORKERS_ROUNDS=2
else
	SIZES="256 4096 65536 1048576"; CONNS="1 16 256"; ROUNDS=3; DURATION=3; WARMUP=1
	CONNECT_ROUNDS=5; CONNECT_ITERS=20000
	POLICY_RULES="10 1000 100000"; POLICY_ROUNDS=3; POLICY_CONNS=16
	REAL_SIZES="256 4096"; REAL_CONNS="1 16"; REAL_ROUNDS=3
	WORKERS_CONNS="16 256"; WORKERS_ROUNDS=4
fi
# To focus on some cells: BENCH_SIZES="1048576" BENCH_CONNS="256" tests/bench/run.sh
SIZES=${BENCH_SIZES:-$SIZES}
CONNS=${BENCH_CONNS:-$CONNS}
ROUNDS=${BENCH_ROUNDS:-$ROUNDS}
DURATION=${BENCH_DURATION:-$DURATION}
WORKERS_ROUNDS=${BENCH_WORKERS_ROUNDS:-$WORKERS_ROUNDS}
SCENARIOS=(direct mcpfence mcpfence-nosockmap nginx)
NGINX_WORKERS=1
CLK_TCK=$(getconf CLK_TCK)

die() { echo "bench: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; }

[ "$(id -u)" = 0 ] || die "needs root (cgroups, bpffs, BPF programs)"
for b in loadgen mini_server connect_cost; do
	[ -x "$BIN/$b" ] || die "$BIN/$b missing: run 'make bench-bins'"
done
for t in nginx gnuplot jq curl ss bpftool; do
	command -v "$t" >/dev/null || die "$t not found: run 'make bench-deps'"
done
CG_MOUNT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
[ -n "$CG_MOUNT" ] || die "no cgroup v2 mount in /proc/mounts"

WORK=$(mktemp -d /tmp/mcpfence-bench.XXXXXX)
chmod 755 "$WORK" # nginx workers drop privileges and must reach their temp dirs
CG=$CG_MOUNT/mcpfence-bench-$$
BPFFS=$WORK/bpffs
RUNS=$WORK/runs.jsonl
PIDS=()

# ---- clean-up -------------------------------------------------------------

stop_pid() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	local pid d
	set +e
	for pid in "${PIDS[@]}"; do
		stop_pid "$pid"
	done
	if [ -d "$CG" ]; then
		# Only processes this script placed there (load generators) can be left.
		for d in "$CG"/*/; do
			[ -f "$d/cgroup.procs" ] || continue
			for pid in $(cat "$d/cgroup.procs"); do kill -KILL "$pid" 2>/dev/null; done
		done
		sleep 0.2
		for d in "$CG"/*/; do rmdir "$d" 2>/dev/null; done
		rmdir "$CG" 2>/dev/null || note "could not remove $CG"
	fi
	mountpoint -q "$BPFFS" && umount "$BPFFS"
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- helpers --------------------------------------------------------------

USED_PORTS=" "
# Below the kernel's ephemeral range: a port picked now but bound only later
# (server-everything starts after the matrix) is not taken meanwhile by one
# of the load generator's millions of connections.
read -r EPHEMERAL_LOW _ </proc/sys/net/ipv4/ip_local_port_range
PORT_LOW=10000
PORT_SPAN=$((EPHEMERAL_LOW > PORT_LOW + 1000 ? EPHEMERAL_LOW - PORT_LOW : 40000))
free_port() {
	local p i
	for i in $(seq 200); do
		p=$((PORT_LOW + RANDOM % PORT_SPAN))
		case "$USED_PORTS" in *" $p "*) continue ;; esac
		if [ -z "$(ss -Htan "( sport = :$p or dport = :$p )")" ]; then
			USED_PORTS="$USED_PORTS$p "
			echo "$p"
			return 0
		fi
	done
	die "no free port found"
}

# start_bg NAME CMD...: run in the background, log to $WORK/NAME.log, remember the pid in BG_PID.
start_bg() {
	local name=$1
	shift
	"$@" >"$WORK/$name.log" 2>&1 &
	BG_PID=$!
	PIDS+=("$BG_PID")
}

forget_pid() {
	local keep=() p
	for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}

# wait_until SECONDS PID CMD...: until CMD succeeds; fails if PID dies or time runs out.
wait_until() {
	local limit=$1 pid=$2 i
	shift 2
	for i in $(seq $((limit * 10))); do
		"$@" >/dev/null 2>&1 && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# CPU seconds (user + system, all threads) and peak RSS of a process.
proc_cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
proc_status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

human_size() { # BYTES -> 256 B, 4 KiB, 1 MiB
	if [ "$1" -ge 1048576 ]; then echo "$(($1 / 1048576)) MiB"
	elif [ "$1" -ge 1024 ]; then echo "$(($1 / 1024)) KiB"
	else echo "$1 B"; fi
}

# in_cgroup DIR CMD...: CMD runs as a member of the cgroup from its first
# instruction, and (exec) with the pid this command started with.
IN_CGROUP=(sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh)
in_cgroup() { "${IN_CGROUP[@]}" "$@"; }

# ---- set-up ---------------------------------------------------------------

mkdir -p "$OUT" "$BPFFS"
mount -t bpf bpf "$BPFFS"
mkdir "$CG" "$CG/sockmap" "$CG/nosockmap" "$CG/plain" "$CG/policy" "$CG/workers1" "$CG/workers2"
: >"$RUNS"

start_bg mini_server "$BIN/mini_server" --port 0 --port-file "$WORK/mini.port"
MINI_PID=$BG_PID
wait_until 5 "$MINI_PID" test -s "$WORK/mini.port" || die "mini_server did not start"
MINI_PORT=$(cat "$WORK/mini.port")
EVERY_PORT=$(free_port)

# nginx as a user would put it in front of an MCP server: a plain reverse
# proxy, configured not to handicap it (see README for each choice). One
# server block per upstream: mini_server, and server-everything for realism.
NGINX_PORT=$(free_port)
NGINX_EVERY_PORT=$(free_port)
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes $NGINX_WORKERS;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $WORK/nginx/client_body;
	proxy_temp_path $WORK/nginx/proxy;
	fastcgi_temp_path $WORK/nginx/fastcgi;
	uwsgi_temp_path $WORK/nginx/uwsgi;
	scgi_temp_path $WORK/nginx/scgi;
	client_max_body_size 16m;
	client_body_buffer_size 2m;
	proxy_buffering off;
	keepalive_requests 1000000;
	keepalive_timeout 300s;
	upstream mcp {
		server 127.0.0.1:$MINI_PORT;
		keepalive 512;
		keepalive_requests 1000000;
		keepalive_timeout 300s;
	}
	upstream everything {
		server 127.0.0.1:$EVERY_PORT;
		keepalive 512;
		keepalive_requests 1000000;
		keepalive_timeout 300s;
	}
	server {
		listen 127.0.0.1:$NGINX_PORT backlog=4096;
		location / {
			proxy_pass http://mcp;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
		}
	}
	server {
		listen 127.0.0.1:$NGINX_EVERY_PORT backlog=4096;
		location / {
			proxy_pass http://everything;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
		}
	}
}
EOF
start_bg nginx nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log"
NGINX_PID=$BG_PID
wait_until 10 "$NGINX_PID" curl -fsS -o /dev/null --max-time 1 -X POST --data '{"jsonrpc":"2.0","id":1,"method":"ping"}' \
	"http://127.0.0.1:$NGINX_PORT/mcp" || die "nginx did not start: $(tail -5 "$WORK/nginx/error.log")"
NGINX_WORKER=$(pgrep -P "$NGINX_PID" | head -1)

# The daemons: one per configuration, each on its own cgroup and pin dir,
# both up for the whole matrix so scenarios can alternate call by call.
# The matrix runs them with one worker thread, as nginx runs one worker
# process: the comparison is per core. What more threads buy is the
# "workers" block (5.), --workers 1 against --workers 2.
write_policy() { # FILE: allow-all policy naming the benchmark upstreams
	cat >"$1" <<EOF
{"version":"1","servers":{"bench":{"endpoints":["127.0.0.1:$MINI_PORT","127.0.0.1:$EVERY_PORT"],"default":"allow","tools":{}}}}
EOF
}
write_policy "$WORK/policy.json"

declare -A DAEMON_PID DAEMON_READY_S
DAEMON_ERROR=""
# start_daemon NAME CGROUP POLICY [ARGS...]: intercepts CGROUP's calls,
# runs in a cgroup of its own ($CG/daemon-NAME).
start_daemon() {
	local name=$1 cg=$2 policy=$3 listen metrics t0 t1
	shift 3
	listen=$(free_port)
	metrics=$(free_port)
	mkdir -p "$BPFFS/$name" "$CG/daemon-$name"
	t0=$(date +%s.%N)
	start_bg "daemon-$name" "${IN_CGROUP[@]}" "$CG/daemon-$name" "$MCPFENCE" run --policy "$policy" --cgroup "$cg" --bpffs "$BPFFS/$name" \
		--listen "$listen" --metrics "127.0.0.1:$metrics" "$@"
	if ! wait_until 120 "$BG_PID" curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$metrics/healthz"; then
		DAEMON_ERROR="$name: $(tail -3 "$WORK/daemon-$name.log" | tr '\n' ' ')"
		stop_pid "$BG_PID"
		forget_pid "$BG_PID"
		return 1
	fi
	t1=$(date +%s.%N)
	DAEMON_PID[$name]=$BG_PID
	DAEMON_READY_S[$name]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
}

stop_daemon() {
	local pid=${DAEMON_PID[$1]:-}
	[ -n "$pid" ] || return 0
	stop_pid "$pid"
	forget_pid "$pid"
	unset "DAEMON_PID[$1]"
}

HAVE_DAEMON=1
if [ ! -x "$MCPFENCE" ]; then
	HAVE_DAEMON=0
	DAEMON_ERROR="$MCPFENCE not built"
elif ! start_daemon sockmap "$CG/sockmap" "$WORK/policy.json" --sockmap --workers 1 ||
	! start_daemon nosockmap "$CG/nosockmap" "$WORK/policy.json" --no-sockmap --workers 1; then
	HAVE_DAEMON=0
	stop_daemon sockmap
fi
[ "$HAVE_DAEMON" = 1 ] || note "mcpfence scenarios skipped: $DAEMON_ERROR"

# ---- one measured run -----------------------------------------------------

# run_load CGROUP SIZE CONNS LOADGEN-ARGS...: the load generator into
# $WORK/load.json. With LOAD_PROCS=P (> 1), P of them side by side, CONNS/P
# connections each, merged: calls and calls/s summed, latencies those of
# the first (the workers block compares throughput: one agent process's
# connections share a worker, so its load comes from several processes).
run_load() {
	local cg=$1 size=$2 conns=$3 p procs=${LOAD_PROCS:-1} rc=0 pids=()
	shift 3
	if [ "$procs" -le 1 ]; then
		in_cgroup "$cg" timeout 600 "$BIN/loadgen" --timeout 10 --size "$size" --conns "$conns" \
			--duration "$DURATION" --warmup "$WARMUP" "$@" >"$WORK/load.json" 2>"$WORK/load.err"
		return
	fi
	for p in $(seq "$procs"); do
		in_cgroup "$cg" timeout 600 "$BIN/loadgen" --timeout 10 --size "$size" --conns $((conns / procs)) \
			--duration "$DURATION" --warmup "$WARMUP" "$@" >"$WORK/load.$p.json" 2>"$WORK/load.err" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || rc=$?; done
	[ "$rc" = 0 ] || return "$rc"
	jq -s '.[0] + { conns: (map(.conns) | add), calls: (map(.calls) | add),
		warmup_calls: (map(.warmup_calls // 0) | add), errors: (map(.errors) | add),
		calls_per_s: (map(.calls_per_s) | add), procs: length }' "$WORK"/load.*.json >"$WORK/load.json"
	rm -f "$WORK"/load.*.json
}

# record PHASE SCENARIO ROUND SIZE CONNS CGROUP ACCOUNT_PID LOADGEN-ARGS...
# Runs the load generator in CGROUP and appends one JSON line to $RUNS. When
# ACCOUNT_PID is set, that process's CPU time over the run (warm-up included,
# as are its calls) and its peak RSS are recorded with it.
record() {
	local phase=$1 scenario=$2 round=$3 size=$4 conns=$5 cg=$6 acct=$7 rc=0 c0=0 c1 load proc=null
	shift 7
	if [ -n "$acct" ]; then
		# peak RSS of this run alone, not of the largest run so far
		echo 5 >"/proc/$acct/clear_refs"
		c0=$(proc_cpu_ticks "$acct")
	fi
	run_load "$cg" "$size" "$conns" "$@" || rc=$?
	load=$(jq -c . "$WORK/load.json" 2>/dev/null) || load=null
	[ -n "$load" ] || load=null
	if [ -n "$acct" ]; then
		c1=$(proc_cpu_ticks "$acct")
		proc=$(jq -nc --argjson load "$load" --argjson ticks $((c1 - c0)) --argjson hz "$CLK_TCK" \
			--argjson hwm "$(proc_status_kb "$acct" VmHWM)" --argjson rss "$(proc_status_kb "$acct" VmRSS)" \
			--argjson threads "$(proc_status_kb "$acct" Threads)" '
			(($load.calls // 0) + ($load.warmup_calls // 0)) as $n
			| { cpu_s: ($ticks / $hz), calls: $n, threads: $threads, vmhwm_kb: $hwm, vmrss_kb: $rss,
			    cpu_us_per_call: (if $n > 0 then $ticks / $hz * 1e6 / $n else null end) }')
	fi
	if [ -n "$acct" ] && [ "${scenario#mcpfence}" != "$scenario" ] && [ $((c1 - c0)) = 0 ]; then
		note "$phase $scenario round $round: the daemon used no CPU: were the calls redirected?"
	fi
	if [ "$rc" != 0 ]; then
		note "$phase $scenario round $round size $size conns $conns: loadgen exit $rc: $(head -c 300 "$WORK/load.err")"
	fi
	jq -nc --arg phase "$phase" --arg scenario "$scenario" --argjson round "$round" --argjson size "$size" \
		--argjson conns "$conns" --argjson rc "$rc" --argjson load "$load" --argjson proc "$proc" \
		'{phase: $phase, scenario: $scenario, round: $round, size: $size, conns: $conns, rc: $rc,
		  load: $load, proc: $proc}' >>"$RUNS"
}

# Where each scenario sends its calls from, to, and whose CPU it costs.
scenario_cgroup() { case $1 in mcpfence) echo "$CG/sockmap" ;; mcpfence-nosockmap) echo "$CG/nosockmap" ;; *) echo "$CG/plain" ;; esac; }
scenario_port() { # PHASE SCENARIO
	case $1/$2 in
	realism/nginx) echo "$NGINX_EVERY_PORT" ;;
	realism/*) echo "$EVERY_PORT" ;;
	*/nginx) echo "$NGINX_PORT" ;;
	*) echo "$MINI_PORT" ;;
	esac
}
# rotated K: the scenarios in order, starting at the K-th. Callers shift K by
# one every cell and every round, so no scenario keeps its place in the order.
rotated() { echo "${SCENARIOS[@]:$1} ${SCENARIOS[@]:0:$1}"; }
scenario_pid() {
	case $1 in
	mcpfence) echo "${DAEMON_PID[sockmap]:-}" ;;
	mcpfence-nosockmap) echo "${DAEMON_PID[nosockmap]:-}" ;;
	nginx) echo "$NGINX_WORKER" ;;
	esac
}
scenario_available() { [ "$HAVE_DAEMON" = 1 ] || [ "${1#mcpfence}" = "$1" ]; }

# ---- 1. latency/throughput matrix -----------------------------------------

note "matrix: sizes [$SIZES] x conns [$CONNS] x ${#SCENARIOS[@]} scenarios x $ROUNDS rounds, ${DURATION}s each"
for round in $(seq "$ROUNDS"); do
	cell=0
	for size in $SIZES; do
		for conns in $CONNS; do
			cell=$((cell + 1))
			for s in $(rotated $(((cell + round) % ${#SCENARIOS[@]}))); do
				scenario_available "$s" || continue
				record matrix "$s" "$round" "$size" "$conns" "$(scenario_cgroup "$s")" \
					"$(scenario_pid "$s")" --port "$(scenario_port matrix "$s")"
			done
		done
	done
done

# ---- 2. realism: server-everything (Node SDK, Streamable HTTP, SSE replies) ----

REALISM_ERROR=""
if [ ! -f "$EVERYTHING" ]; then
	REALISM_ERROR="server-everything not installed (make test-deps)"
else
	start_bg everything env PORT="$EVERY_PORT" node "$EVERYTHING" streamableHttp
	EVERY_PID=$BG_PID
	if ! wait_until 30 "$EVERY_PID" sh -c "ss -Htln '( sport = :$EVERY_PORT )' | grep -q ."; then
		REALISM_ERROR="server-everything did not start: $(tail -3 "$WORK/everything.log" | tr '\n' ' ')"
	else
		note "realism: server-everything, sizes [$REAL_SIZES] x conns [$REAL_CONNS] x $REAL_ROUNDS rounds"
		for round in $(seq "$REAL_ROUNDS"); do
			cell=0
			for size in $REAL_SIZES; do
				for conns in $REAL_CONNS; do
					cell=$((cell + 1))
					for s in $(rotated $(((cell + round) % ${#SCENARIOS[@]}))); do
						scenario_available "$s" || continue
						record realism "$s" "$round" "$size" "$conns" "$(scenario_cgroup "$s")" \
							"$(scenario_pid "$s")" --port "$(scenario_port realism "$s")" \
							--session --tool echo --arg message
					done
				done
			done
		done
	fi
	stop_pid "$EVERY_PID"
	forget_pid "$EVERY_PID"
fi
[ -z "$REALISM_ERROR" ] || note "realism skipped: $REALISM_ERROR"

# ---- 3. connect() cost on traffic that is not intercepted ----------------

# Same cgroup both times: the programs of the sockmap daemon attached to it,
# then the daemon stopped (it detaches them), alternating round by round.
connect_run() { # ROUND STATE
	local progs out
	# The daemon attaches at the cgroup2 root: count what is in effect here.
	progs=$(bpftool -j cgroup show "$CG/sockmap" effective 2>/dev/null | jq 'length' 2>/dev/null || echo 0)
	out=$(in_cgroup "$CG/sockmap" timeout 300 "$BIN/connect_cost" --iterations "$CONNECT_ITERS" --warmup 500) || out=null
	jq -nc --argjson round "$1" --arg state "$2" --argjson progs "${progs:-0}" --argjson r "$out" \
		'{phase: "connect", round: $round, state: $state, programs: $progs, result: $r}' >>"$RUNS"
}
if [ "$HAVE_DAEMON" = 1 ]; then
	stop_daemon nosockmap
	note "connect(): $CONNECT_ROUNDS rounds x $CONNECT_ITERS connections, attached vs detached"
	for round in $(seq "$CONNECT_ROUNDS"); do
		[ -n "${DAEMON_PID[sockmap]:-}" ] || start_daemon sockmap "$CG/sockmap" "$WORK/policy.json" --workers 1 ||
			die "daemon restart failed: $DAEMON_ERROR"
		connect_run "$round" attached
		stop_daemon sockmap
		connect_run "$round" detached
	done
else
	for round in $(seq "$CONNECT_ROUNDS"); do connect_run "$round" detached; done
fi

# ---- 4. policy scale ------------------------------------------------------

# N rules in the documented policy format: `echo` allowed by its own rule
# under a default-deny server, plus N-1 other tools mixing the rule kinds.
write_scale_policy() { # N FILE
	awk -v n="$1" -v mini="$MINI_PORT" -v every="$EVERY_PORT" 'BEGIN {
		printf "{\"version\":\"1\",\"servers\":{\"bench\":{\"endpoints\":[\"127.0.0.1:%s\",\"127.0.0.1:%s\"],", mini, every
		printf "\"default\":\"deny\",\"tools\":{\"echo\":{\"action\":\"allow\"}"
		for (i = 1; i < n; i++) {
			if (i % 3 == 0)
				printf ",\"tool_%06d\":{\"action\":\"deny\",\"reason\":\"benchmark filler rule\"}", i
			else if (i % 3 == 1)
				printf ",\"tool_%06d\":{\"action\":\"allow\",\"rate_limit\":{\"max\":1000000,\"window\":60}}", i
			else
				printf ",\"tool_%06d\":{\"action\":\"allow\",\"conditions\":[{\"path\":\"args.path\",\"op\":\"eq\",\"value\":\"/tmp/%d\"}]}", i, i
		}
		print "}}}}"
	}' >"$2"
}
POLICY_ERRORS=()
if [ "$HAVE_DAEMON" = 1 ]; then
	note "policy scale: rules [$POLICY_RULES] x $POLICY_ROUNDS rounds, $POLICY_CONNS conns, 256 B"
	for n in $POLICY_RULES; do write_scale_policy "$n" "$WORK/policy-$n.json"; done
	# Direct and each rule count take turns in a different order every round.
	POLICY_ORDER=(direct $POLICY_RULES)
	for round in $(seq "$POLICY_ROUNDS"); do
		k=$((round % ${#POLICY_ORDER[@]}))
		for n in "${POLICY_ORDER[@]:$k}" "${POLICY_ORDER[@]:0:$k}"; do
			if [ "$n" = direct ]; then
				record policy direct "$round" 256 "$POLICY_CONNS" "$CG/plain" "" --port "$MINI_PORT"
				continue
			fi
			# the default configuration (sockmap off), as most users run it
			if ! start_daemon "rules$n" "$CG/policy" "$WORK/policy-$n.json" --workers 1; then
				POLICY_ERRORS+=("$n")
				jq -nc --argjson round "$round" --argjson rules "$n" --arg err "$DAEMON_ERROR" \
					'{phase: "policy", scenario: "mcpfence", round: $round, rules: $rules, error: $err}' >>"$RUNS"
				continue
			fi
			record policy "rules$n" "$round" 256 "$POLICY_CONNS" "$CG/policy" "${DAEMON_PID[rules$n]}" \
				--port "$MINI_PORT"
			jq -nc --argjson round "$round" --argjson rules "$n" --argjson s "${DAEMON_READY_S[rules$n]}" \
				'{phase: "policy-load", round: $round, rules: $rules, ready_s: $s}' >>"$RUNS"
			stop_daemon "rules$n"
		done
	done
	[ ${#POLICY_ERRORS[@]} = 0 ] || note "policy scale: daemon refused rule counts: ${POLICY_ERRORS[*]}"
fi

# ---- 5. workers: --workers 1 against --workers 2 ---------------------------

# Both daemons up (sockmap off, the default), rounds alternating which goes
# first. The load comes from four processes (a worker serves one agent
# process's connections), each with a quarter of the connections. Besides the daemon's CPU, the load generator's (its cgroup's
# cpu.stat) and mini_server's: on a machine whose cores the client and
# server share with the daemon, they bound what a second worker can add.
cgroup_cpu_us() { awk '$1 == "usage_usec" { print $2 }' "$1/cpu.stat"; }
record_workers() { # ROUND CONNS N
	local round=$1 conns=$2 n=$3 cg0 cg1 m0 m1
	cg0=$(cgroup_cpu_us "$CG/workers$n")
	m0=$(proc_cpu_ticks "$MINI_PID")
	LOAD_PROCS=4 record workers "workers$n" "$round" 256 "$conns" "$CG/workers$n" "${DAEMON_PID[workers$n]}" --port "$MINI_PORT"
	cg1=$(cgroup_cpu_us "$CG/workers$n")
	m1=$(proc_cpu_ticks "$MINI_PID")
	jq -nc --argjson round "$round" --argjson conns "$conns" --argjson n "$n" \
		--argjson client_us $((cg1 - cg0)) --argjson server_s "$(awk -v t=$((m1 - m0)) -v hz="$CLK_TCK" 'BEGIN { print t / hz }')" \
		'{phase: "workers-side", round: $round, conns: $conns, workers: $n, client_cpu_s: ($client_us / 1e6),
		  server_cpu_s: $server_s}' >>"$RUNS"
}
WORKERS_ERROR=""
if [ "$HAVE_DAEMON" = 1 ]; then
	if ! start_daemon workers1 "$CG/workers1" "$WORK/policy.json" --workers 1 ||
		! start_daemon workers2 "$CG/workers2" "$WORK/policy.json" --workers 2; then
		WORKERS_ERROR=$DAEMON_ERROR
	else
		note "workers: 256 B x conns [$WORKERS_CONNS], --workers 1 vs 2, $WORKERS_ROUNDS rounds"
		for round in $(seq "$WORKERS_ROUNDS"); do
			for conns in $WORKERS_CONNS; do
				if [ $((round % 2)) = 1 ]; then order="1 2"; else order="2 1"; fi
				for n in $order; do record_workers "$round" "$conns" "$n"; done
			done
		done
	fi
	stop_daemon workers1
	stop_daemon workers2
	[ -z "$WORKERS_ERROR" ] || note "workers skipped: $WORKERS_ERROR"
fi

# ---- report ---------------------------------------------------------------

CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
jq -s --arg cpu "$CPU_MODEL" --arg kernel "$(uname -r)" --argjson nproc "$(nproc)" \
	--arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --argjson quick "$QUICK" \
	--arg sizes "$SIZES" --arg conns "$CONNS" --argjson rounds "$ROUNDS" \
	--argjson duration "$DURATION" --argjson warmup "$WARMUP" --argjson workers "$NGINX_WORKERS" \
	--argjson policy_conns "$POLICY_CONNS" \
	--arg daemon_error "$DAEMON_ERROR" --arg realism_error "$REALISM_ERROR" \
	--arg version "$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)" \
	-f "$ROOT/tests/bench/report.jq" "$RUNS" >"$OUT/results.json"
jq -r -f "$ROOT/tests/bench/table.jq" "$OUT/results.json" | tee "$OUT/table.txt"

jq -r -f "$ROOT/tests/bench/plot-data.jq" "$OUT/results.json" >"$WORK/latency.dat"
rows=$(echo $SIZES | wc -w)
cols=$(echo $CONNS | wc -w)
{
	echo "set terminal pngcairo size $((cols * 560)),$((rows * 360)) font ',9'"
	echo "set output '$OUT/latency.png'"
	echo "set multiplot layout $rows,$cols title 'mcpfence benchmark: latency percentiles per scenario (µs, log scale; median of rounds)'"
	echo "set style data histogram; set style histogram clustered gap 1; set style fill solid 0.8 border -1"
	# scenario names are longer than a cluster is wide: slanted, with room below
	# the key sits right of each panel: inside, it hid the tallest bars of the 64 KiB panels
	echo "set logscale y; set grid ytics; set key outside right top vertical; set boxwidth 0.9"
	echo "set xtics nomirror rotate by 25 right font ',8'; set bmargin 6"
	i=0
	for size in $SIZES; do
		for conns in $CONNS; do
			echo "set title '$(human_size "$size") payload, $conns connection$([ "$conns" = 1 ] || echo s)'"
			echo "plot '$WORK/latency.dat' index $i using 2:xtic(1) title 'p50', '' index $i using 3 title 'p99', '' index $i using 4 title 'p99.9'"
			i=$((i + 1))
		done
	done
	echo "unset multiplot"
} >"$WORK/latency.gp"
gnuplot "$WORK/latency.gp" 2>"$WORK/gnuplot.err" || note "plot failed: $(head -3 "$WORK/gnuplot.err")"

# The workers block: medians over rounds, per connection count.
jq -s --argjson nproc "$(nproc)" -f "$ROOT/tests/bench/workers.jq" "$RUNS" >"$OUT/workers.json"
jq -r '.[] | "workers, 256 B x \(.conns): --workers 2 / --workers 1 = \(.ratio) calls/s (\(.calls_per_s["1"]) -> \(.calls_per_s["2"]));"
	+ " daemon CPU/call \(.daemon_us_per_call["1"]) -> \(.daemon_us_per_call["2"]) us;"
	+ " client+server CPU/call \(.side_us_per_call["1"]) us; bound on this machine \(.bound)"' \
	"$OUT/workers.json" | tee -a "$OUT/table.txt"
note "wrote $OUT/results.json, $OUT/table.txt, $OUT/latency.png, $OUT/workers.json"
