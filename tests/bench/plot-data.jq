# gnuplot data for build/bench/latency.png: one block per (size, conns) in
# matrix order, one line per scenario: name p50 p99 p99.9 (microseconds).
.matrix[]
| (.scenarios | to_entries[] | select(.value.p50_us != null)
   | "\"\(.key)\" \(.value.p50_us) \(.value.p99_us) \(.value.p999_us)"),
  "", ""
