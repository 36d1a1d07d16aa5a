#!/bin/bash
# Runs every test and ends with one line: "N passed, N failed[, N skipped]".
#   1. build/unit-tests (C unit tests; prints "unit: N passed, N failed")
#   2. build/san/unit-tests: the same under ASan + UBSan (one test)
#   3. tests/fuzz/run.sh: each libFuzzer harness for FUZZ_SMOKE_SECONDS (3),
#      one test per target
#   4. tests/bench/smoke.sh: the benchmark tools complete calls (no timing)
#   5. tests/deploy/*.test.mjs: deploy/kubernetes renders with kubectl and
#      keeps its rules; the systemd unit parses (no BPF needed).
#   6. tests/integration/*.test.mjs, then SAN_TESTS (hostile-input files)
#      again on build/san/mcpfence, the daemon under ASan + UBSan; with
#      node --test, one file at a time:
#      real peers, the real daemon, BPF attached to private cgroups.
# Integration tests need root, a cgroup2 mount, a mountable bpffs and a
# daemon that attaches (tests/lib/preflight.mjs checks). When the machine
# cannot do BPF this says so on one line; under CI=true that is a failure,
# elsewhere the integration tests are reported as skipped.
# Exit status: non-zero if anything failed or if no test ran.
# Arguments (optional): integration test files to run instead of all.
set -u
cd "$(dirname "$0")/.."

passed=0 failed=0 skipped=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- C unit tests ---------------------------------------------------------
if [ -x build/unit-tests ]; then
	build/unit-tests | tee "$work/unit.out"
	summary=$(grep -E '^unit: [0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' "$work/unit.out" | tail -n1)
	if [ -n "$summary" ]; then
		read -r up uf us <<<"$(sed -E 's/^unit: ([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?$/\1 \2 \4/' <<<"$summary")"
		passed=$((passed + up)) failed=$((failed + uf)) skipped=$((skipped + ${us:-0}))
	else
		echo "unit: build/unit-tests ended without a summary (crashed?)"
		failed=$((failed + 1))
	fi
else
	echo "unit: build/unit-tests is missing (run make test)"
	failed=$((failed + 1))
fi

# --- unit tests under ASan + UBSan, and the fuzz harnesses, briefly ----------
if [ $# -eq 0 ]; then
	if build/san/unit-tests >"$work/san.out" 2>&1 && grep -qE '^unit: [0-9]+ passed, 0 failed$' "$work/san.out"; then
		echo "unit under ASan+UBSan: ok ($(grep -E '^unit: ' "$work/san.out" | tail -n1))"
		passed=$((passed + 1))
	else
		grep -vE '^ok ' "$work/san.out" | tail -n 20
		echo "unit under ASan+UBSan: FAILED (build/san/unit-tests)"
		failed=$((failed + 1))
	fi
	FUZZ_SECONDS=${FUZZ_SMOKE_SECONDS:-3} FUZZ_SEED=${FUZZ_SEED:-1} tests/fuzz/run.sh | tee "$work/fuzz.out"
	summary=$(grep -E '^fuzz: [0-9]+ passed, [0-9]+ failed$' "$work/fuzz.out" | tail -n1)
	if [ -n "$summary" ]; then
		read -r fp ff <<<"$(sed -E 's/^fuzz: ([0-9]+) passed, ([0-9]+) failed$/\1 \2/' <<<"$summary")"
		passed=$((passed + fp)) failed=$((failed + ff))
	else
		failed=$((failed + 1))
	fi
fi

# --- benchmark tools: they work (no timing is asserted) ---------------------
if [ $# -eq 0 ]; then
	if tests/bench/smoke.sh; then
		echo "bench smoke: ok"
		passed=$((passed + 1))
	else
		echo "bench smoke: FAILED"
		failed=$((failed + 1))
	fi
fi

# --- integration tests ----------------------------------------------------
if [ $# -gt 0 ]; then
	files=("$@")
else
	files=(tests/integration/*.test.mjs)
fi
node tests/lib/preflight.mjs
preflight=$?
run_integration=1
case $preflight in
0) ;;
2)
	if [ "${CI:-}" = true ]; then
		echo "integration: CI=true, so a machine without BPF is a failure"
		failed=$((failed + 1)) run_integration=0
	else
		export MCPF_INTEGRATION_SKIP="BPF unavailable on this machine (see the preflight line)"
	fi
	;;
*) failed=$((failed + 1)) run_integration=0 ;;
esac

# One node --test per file, so files run one after another (each attaches
# BPF programs and starts servers, on 2 cores) on any Node version,
# including Debian's Node 18, which has no --test-concurrency.
count() { grep -E "^# $1 [0-9]+$" "$work/tap" | tail -n1 | awk '{print $3}'; }
node_test() {
	rm -f "$work/tap"
	node --test \
		--test-reporter=spec --test-reporter-destination=stdout \
		--test-reporter=tap --test-reporter-destination="$work/tap" \
		"$1"
	if grep -qE '^# pass [0-9]+$' "$work/tap" 2>/dev/null; then
		passed=$((passed + $(count pass)))
		failed=$((failed + $(count fail) + $(count cancelled)))
		skipped=$((skipped + $(count skipped) + $(count todo)))
	else
		echo "node --test $1 produced no summary"
		failed=$((failed + 1))
	fi
}
# Deploy files (no BPF needed): manifests render and keep their rules, the
# systemd unit parses.
if [ $# -eq 0 ]; then
	for file in tests/deploy/*.test.mjs; do node_test "$file"; done
fi
if [ $run_integration = 1 ]; then
	for file in "${files[@]}"; do node_test "$file"; done
fi

# The daemon under ASan + UBSan (MCPF_DAEMON) for the files that feed it
# the most hostile input: a sanitizer report kills it, and the test fails.
SAN_TESTS=${SAN_TESTS:-tests/integration/differential.test.mjs tests/integration/mcp-evasion.test.mjs tests/integration/mcp-batch.test.mjs}
if [ $run_integration = 1 ] && [ $# -eq 0 ] && [ -x build/san/mcpfence ]; then
	for file in $SAN_TESTS; do
		echo "under ASan+UBSan: $file"
		MCPF_DAEMON=build/san/mcpfence ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 node_test "$file"
	done
fi

line="$passed passed, $failed failed"
[ $skipped -gt 0 ] && line="$line, $skipped skipped"
echo "$line"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
