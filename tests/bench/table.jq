# Plain-text tables of build/bench/results.json (what run.sh prints).

def lpad($n): tostring | if length >= $n then . else (" " * ($n - length)) + . end;
def rpad($n): tostring | if length >= $n then . else . + (" " * ($n - length)) end;
def num: if . == null then "-" else tostring end;
def ratio: if . == null then "-" else "x\(.)" end;
def human_size: if . >= 1048576 then "\(. / 1048576) MiB" elif . >= 1024 then "\(. / 1024) KiB" else "\(.) B" end;
def mib: if . == null then "-" else (. / 1024 * 10 | round / 10 | tostring) end;

def header:
	"  size" + ("conns" | lpad(6)) + "  " + ("scenario" | rpad(19)) + ("calls/s" | lpad(10)) + ("p50 us" | lpad(10))
	+ ("p99 us" | lpad(10)) + ("p99.9 us" | lpad(10)) + " | " + ("p50" | lpad(6)) + ("p99" | lpad(7))
	+ ("calls/s" | lpad(8)) + " vs direct | " + ("p50" | lpad(6)) + ("p99" | lpad(7)) + ("calls/s" | lpad(8))
	+ " vs nginx | " + ("cpu us/call" | lpad(11)) + ("peak MiB" | lpad(9));

def row($size; $conns; $name):
	($size | human_size | lpad(7)) + ($conns | lpad(5)) + "  " + ($name | rpad(19))
	+ (.calls_per_s | num | lpad(10)) + (.p50_us | num | lpad(10)) + (.p99_us | num | lpad(10))
	+ (.p999_us | num | lpad(10)) + " | " + (.vs_direct.p50 | ratio | lpad(6)) + (.vs_direct.p99 | ratio | lpad(7))
	+ (.vs_direct.calls_per_s | ratio | lpad(8)) + "           | " + (.vs_nginx.p50 | ratio | lpad(6))
	+ (.vs_nginx.p99 | ratio | lpad(7)) + (.vs_nginx.calls_per_s | ratio | lpad(8)) + "          | "
	+ (.cpu_us_per_call | num | lpad(11)) + (.vmhwm_kb | mib | lpad(9))
	+ (if .errors > 0 or .failed_runs > 0 then "  (\(.errors) errors, \(.failed_runs) failed runs)" else "" end);

def grid: .[] | . as $g | $g.scenarios | to_entries[] | .key as $k | .value | row($g.size; $g.conns; $k);

"mcpfence benchmark, \(.machine.date): \(.machine.nproc) CPUs (\(.machine.cpu)), kernel \(.machine.kernel), mcpfence \(.machine.mcpfence_version)\(if .settings.quick then ", QUICK mode" else "" end)",
"Median of \(.settings.rounds) interleaved rounds of \(.settings.duration_s) s (after \(.settings.warmup_s) s warm-up) per cell. Ratios are medians of per-round ratios:",
"latency above x1 = slower than the reference, calls/s below x1 = fewer calls. CPU and peak RSS are the proxy process's (daemon or nginx worker).",
(if .daemon_error then "mcpfence scenarios NOT RUN: \(.daemon_error)" else empty end),
"",
header,
(.matrix | grid),
"",
"connect() + close() to a port no policy names, from the target cgroup (ns, median of \([.connect_cost.attached.rounds, .connect_cost.detached.rounds] | max) rounds of \(.connect_cost.iterations_per_round) connections):",
"  programs attached (\(.connect_cost.attached.programs_attached // 0) progs): mean \(.connect_cost.attached.mean_ns | num)  p50 \(.connect_cost.attached.p50_ns | num)  p99 \(.connect_cost.attached.p99_ns | num)",
"  detached           (\(.connect_cost.detached.programs_attached // 0) progs): mean \(.connect_cost.detached.mean_ns | num)  p50 \(.connect_cost.detached.p50_ns | num)  p99 \(.connect_cost.detached.p99_ns | num)",
"  cost of being attached: \(.connect_cost.extra_ns_mean | num) ns per connection (x\(.connect_cost.ratio_mean | num))",
"",
"Policy scale (256 B, \(.settings.policy_conns) connections, through mcpfence in its default configuration, sockmap off; vs direct in the same round):",
(if (.policy_scale | length) == 0 then "  not run" else
 (.policy_scale[] | "  \(.rules | lpad(7)) rules: " + (if .error then "daemon did not start: \(.error)" else
   "ready in \(.ready_s | num) s, \(.calls_per_s | num) calls/s, p50 \(.p50_us | num) us (\(.vs_direct.p50 | ratio)), p99 \(.p99_us | num) us (\(.vs_direct.p99 | ratio)), cpu \(.cpu_us_per_call | num) us/call" end)) end),
"",
"Proxy CPU per call and peak RSS at 256 connections (peak of each run; ratios vs nginx in the same cell):",
(if (.cost_at_256_conns | length) == 0 then "  not run" else
 (.cost_at_256_conns[] | "  \(.size | human_size | lpad(7))  \(.scenario | rpad(19)) \(.cpu_us_per_call | num | lpad(8)) us/call \(.vs_nginx.cpu_us_per_call | ratio | lpad(6))  \(.vmhwm_kb | mib | lpad(7)) MiB peak \(.vs_nginx.vmhwm | ratio | lpad(6))  \(.threads | num) threads") end),
"",
"Realism: \(.realism.server)",
(if .realism.error then "  not run: \(.realism.error)" else
 (header, (.realism.results | grid)) end)
