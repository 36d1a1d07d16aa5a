# The workers block of tests/bench/run.sh: per connection count, medians
# over rounds of calls/s and CPU per call for --workers 1 and 2, their
# ratio, and the bound on that ratio this machine sets when it is otherwise
# idle: one worker thread saturated gives 1 / daemon calls/s; all NPROC
# cores shared by client, server and daemon give at most
# NPROC / (client + server + daemon) calls/s; the ratio is at most
#   NPROC * daemon / (client + server + daemon)   (CPU per call, --workers 1).
# On a machine others load too, more threads also take a larger share of
# the contended cores, and the measured ratio can exceed it.
def median: sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor]
  else (.[length / 2 - 1] + .[length / 2]) / 2 end;
def r2: . * 100 | round / 100;
def r1: . * 10 | round / 10;
[.[] | select(.phase == "workers" and .rc == 0 and .load != null)] as $runs
| [.[] | select(.phase == "workers-side")] as $side
| [$runs[].conns] | unique | map(. as $c
  | [1, 2] | map(. as $n
      | ($runs | map(select(.conns == $c and .scenario == "workers\($n)"))) as $rs
      | ($side | map(select(.conns == $c and .workers == $n))) as $ss
      | { n: $n,
          cps: ($rs | map(.load.calls_per_s) | median),
          daemon: ($rs | map(.proc.cpu_us_per_call) | median),
          side: ([range(0; [$rs, $ss] | map(length) | min)]
                 | map(($ss[.].client_cpu_s + $ss[.].server_cpu_s) * 1e6 / $rs[.].proc.calls) | median) })
  | . as $w
  | { conns: $c,
      calls_per_s: { "1": ($w[0].cps | round), "2": ($w[1].cps | round) },
      ratio: ($w[1].cps / $w[0].cps | r2),
      daemon_us_per_call: { "1": ($w[0].daemon | r1), "2": ($w[1].daemon | r1) },
      side_us_per_call: { "1": ($w[0].side | r1), "2": ($w[1].side | r1) },
      bound: ($nproc * $w[0].daemon / ($w[0].side + $w[0].daemon) | r2) })
