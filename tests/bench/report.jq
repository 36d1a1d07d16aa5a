# Turns the run records of tests/bench/run.sh (slurped: one array) into
# build/bench/results.json. Every figure is the median over rounds; every
# ratio is the median of per-round ratios (both runs of a pair come from the
# same round, so slow drift of the machine cancels out).

def median: sort | if length == 0 then null
	elif length % 2 == 1 then .[(length - 1) / 2]
	else (.[length / 2 - 1] + .[length / 2]) / 2 end;
def dec($n): if . == null then null else (. * $n | round) / $n end;
def ok: .load != null and (.load.calls // 0) > 0;

# Figures of one scenario from its runs.
def summary:
	map(select(ok)) as $ok
	| { rounds: ($ok | length),
	    failed_runs: (map(select(.rc != 0)) | length),
	    errors: (map(.load.errors // 0) | add // 0),
	    calls_per_s: ($ok | map(.load.calls_per_s) | median | dec(10)),
	    p50_us: ($ok | map(.load.latency_us.p50) | median | dec(10)),
	    p99_us: ($ok | map(.load.latency_us.p99) | median | dec(10)),
	    p999_us: ($ok | map(.load.latency_us.p999) | median | dec(10)),
	    cpu_us_per_call: ($ok | map(.proc.cpu_us_per_call // empty) | median | dec(100)),
	    vmhwm_kb: ($ok | map(.proc.vmhwm_kb // empty) | max),
	    threads: ($ok | map(.proc.threads // empty) | max) };

# How scenario $s compares with $base, round by round: latency ratios
# (above 1 = slower than the base) and the throughput ratio (below 1 = fewer calls/s).
def paired($s; $base):
	[ group_by(.round)[]
	  | (map(select(.scenario == $s and ok))[0]) as $m
	  | (map(select(.scenario == $base and ok))[0]) as $b
	  | select($m != null and $b != null)
	  | { p50: ($m.load.latency_us.p50 / $b.load.latency_us.p50),
	      p99: ($m.load.latency_us.p99 / $b.load.latency_us.p99),
	      p999: ($m.load.latency_us.p999 / $b.load.latency_us.p999),
	      calls_per_s: ($m.load.calls_per_s / $b.load.calls_per_s) } ]
	| if length == 0 then null
	  else { rounds: length, p50: (map(.p50) | median | dec(100)), p99: (map(.p99) | median | dec(100)),
		 p999: (map(.p999) | median | dec(100)), calls_per_s: (map(.calls_per_s) | median | dec(100)) }
	  end;

# One entry per (size, conns): each scenario's summary, mcpfence's also relative to direct and nginx.
def grid($scenarios):
	group_by([.size, .conns])
	| map(. as $runs
	  | { size: .[0].size, conns: .[0].conns,
	      scenarios: (reduce ($scenarios[] | select(. as $s | $runs | any(.scenario == $s))) as $s ({};
		. + { ($s): (($runs | map(select(.scenario == $s)) | summary)
			+ (if $s == "direct" then {} else { vs_direct: ($runs | paired($s; "direct")) } end)
			+ (if $s | startswith("mcpfence") then { vs_nginx: ($runs | paired($s; "nginx")) } else {} end)) })) });

def connect_summary:
	map(select(.phase == "connect" and .result != null)) as $c
	| def side($st): ($c | map(select(.state == $st)))
		| { rounds: length, programs_attached: (map(.programs) | max),
		    mean_ns: (map(.result.ns.mean) | median), p50_ns: (map(.result.ns.p50) | median),
		    p99_ns: (map(.result.ns.p99) | median), p999_ns: (map(.result.ns.p999) | median) };
	  { iterations_per_round: ($c[0].result.iterations // null),
	    attached: side("attached"), detached: side("detached"),
	    extra_ns_mean: ([ $c | group_by(.round)[] | select(length == 2)
			     | (map(select(.state == "attached"))[0].result.ns.mean
				- map(select(.state == "detached"))[0].result.ns.mean) ] | median | dec(1)),
	    ratio_mean: ([ $c | group_by(.round)[] | select(length == 2)
			  | (map(select(.state == "attached"))[0].result.ns.mean
			     / map(select(.state == "detached"))[0].result.ns.mean) ] | median | dec(1000)) };

def policy_summary:
	map(select(.phase == "policy")) as $p
	| map(select(.phase == "policy-load")) as $load
	| [ $p | map(.rules // (.scenario | ltrimstr("rules") | tonumber? // empty)) | unique[] ] as $counts
	| $counts | map(. as $n
	  | ($p | map(select(.scenario == "rules\($n)" or .scenario == "direct"))) as $runs
	  | ($p | map(select(.rules == $n and .error != null)) | map(.error) | first) as $err
	  | { rules: $n,
	      ready_s: ($load | map(select(.rules == $n) | .ready_s) | median),
	      error: $err }
	    + ($runs | map(select(.scenario == "rules\($n)")) | summary)
	    + { vs_direct: ($runs | paired("rules\($n)"; "direct")) });

# CPU per call and peak RSS of each proxy at 256 connections (from the
# matrix: each run's own peak), and how they compare with nginx's.
def cost_at_256:
	map(select(.phase == "matrix" and .conns == 256 and .scenario != "direct"))
	| group_by(.size)
	| map(group_by(.scenario)
	  | map({ size: .[0].size, scenario: .[0].scenario } + (summary | { cpu_us_per_call, vmhwm_kb, threads }))
	  | (map(select(.scenario == "nginx"))[0]) as $ng
	  | map(. + (if .scenario == "nginx" or $ng == null then {} else
		{ vs_nginx: { cpu_us_per_call: ((.cpu_us_per_call / $ng.cpu_us_per_call)? | dec(100)),
			      vmhwm: ((.vmhwm_kb / $ng.vmhwm_kb)? | dec(100)) } } end)))
	| flatten;

. as $all
| {
  machine: { nproc: $nproc, cpu: $cpu, kernel: $kernel, date: $date, mcpfence_version: $version },
  settings: { quick: ($quick == 1), sizes: ($sizes | split(" ") | map(tonumber)),
	      conns: ($conns | split(" ") | map(tonumber)), rounds: $rounds, duration_s: $duration,
	      warmup_s: $warmup, nginx_worker_processes: $workers, policy_conns: $policy_conns },
  daemon_error: (if $daemon_error == "" then null else $daemon_error end),
  matrix: ($all | map(select(.phase == "matrix")) | grid(["direct", "mcpfence", "mcpfence-nosockmap", "nginx"])),
  cost_at_256_conns: ($all | cost_at_256),
  connect_cost: ($all | connect_summary),
  policy_scale: ($all | policy_summary),
  realism: { server: "@modelcontextprotocol/server-everything (streamableHttp, SSE replies)",
	     error: (if $realism_error == "" then null else $realism_error end),
	     results: ($all | map(select(.phase == "realism")) | grid(["direct", "mcpfence", "mcpfence-nosockmap", "nginx"])) },
  runs: $all
}
