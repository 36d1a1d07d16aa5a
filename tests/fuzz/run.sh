#!/bin/bash
# Runs every libFuzzer harness (build/fuzz/fuzz_*) for FUZZ_SECONDS each,
# from the committed seeds (tests/fuzz/corpus/TARGET) plus what earlier runs
# found (build/fuzz/corpus/TARGET, not committed), with the target's
# dictionary. One line per target: executions, coverage (libFuzzer's "cov"
# = edges, "ft" = features) and corpus size; the last line is
# "fuzz: N passed, N failed". A crash, a leak, UB, a broken invariant or a
# timeout fails the target and leaves its input in build/fuzz/crashes/.
#   FUZZ_SECONDS=300 (default) FUZZ_TARGETS="fuzz_sse fuzz_jsonrpc" (default: all)
#   FUZZ_SEED=N: libFuzzer's -seed (make test's smoke sets 1, so CI explores
#   the same inputs every run: a new failure there is a regression, not luck)
set -u
cd "$(dirname "$0")/../.."
secs=${FUZZ_SECONDS:-300}
targets=${FUZZ_TARGETS:-$(cd build/fuzz && ls fuzz_* 2>/dev/null | grep -v "\.[od]$")}
passed=0 failed=0
mkdir -p build/fuzz/crashes build/fuzz/logs

dict_of() {
	case $1 in
	fuzz_http1_*|fuzz_mcp_flow) echo http1 ;;
	fuzz_sse) echo sse ;;
	fuzz_policy) echo policy ;;
	fuzz_content_decode) echo encoding ;;
	*) echo json ;;
	esac
}

for t in $targets; do
	bin=build/fuzz/$t log=build/fuzz/logs/$t.log work=build/fuzz/corpus/$t
	if [ ! -x "$bin" ]; then
		echo "fuzz $t: FAILED (no $bin: make fuzz-bins)"
		failed=$((failed + 1))
		continue
	fi
	if [ "$t" = fuzz_mcp_flow ] && [ "$(id -u)" != 0 ]; then
		echo "fuzz $t: skipped (makes BPF maps and a bpffs: needs root)"
		continue
	fi
	mkdir -p "$work"
	# -max_len: bigger than every seed; -rss_limit_mb: the daemon's bodies are bounded too.
	"$bin" -max_total_time="$secs" ${FUZZ_SEED:+-seed="$FUZZ_SEED"} -print_final_stats=1 -timeout=10 -rss_limit_mb=1024 -max_len=16384 \
		-dict="tests/fuzz/dict/$(dict_of "$t").dict" -artifact_prefix="build/fuzz/crashes/$t-" \
		"$work" "tests/fuzz/corpus/$t" >"$log" 2>&1
	rc=$?
	execs=$(sed -nE 's/^stat::number_of_executed_units: ([0-9]+)/\1/p' "$log" | tail -n1)
	cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -n1)
	if [ $rc -eq 0 ] && [ -n "$execs" ]; then
		echo "fuzz $t: ok, ${secs}s, $execs execs, $cov"
		passed=$((passed + 1))
	else
		echo "fuzz $t: FAILED (exit $rc), see $log:"
		grep -aE 'ERROR|runtime error|invariant broken|forwarded upstream|Test unit written|SUMMARY' "$log" | head -n 5 | sed 's/^/  /'
		failed=$((failed + 1))
	fi
done
echo "fuzz: $passed passed, $failed failed"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
