# mcpfence — build, set-up, tests and benchmarks.
#   make          build build/mcpfence (daemon + CLI) and the BPF object
#   make run      install what is missing, build, run the daemon on policies/default.json
#   make test     install what the tests need, build, run every test
#   make bench    side-by-side benchmarks (QUICK=1 for the short run)

BUILD    := build
CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
ARCH     := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -DMCPF_VERSION='"$(VERSION)"' \
            -I$(BUILD) -Ibpf -Iuser
LDLIBS   := -lbpf -lelf -lz -lcjson -lhttp_parser -lm -lpthread
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -I$(BUILD) -Ibpf -Wall -Werror

# Debian packages: what the build needs, what the tests add on top.
BUILD_PKGS := clang llvm gcc make pkg-config bpftool libbpf-dev libelf-dev zlib1g-dev \
              libcjson-dev libhttp-parser-dev
TEST_PKGS  := curl iproute2 prometheus procps systemd
# kubectl renders deploy/kubernetes in the tests: Debian's kubernetes-client,
# unless some kubectl is already installed (its /usr/bin/kubectl would clash).
KUBE_PKGS  := $(if $(shell command -v kubectl),,kubernetes-client)
# node/npm come either from Debian (nodejs + npm) or from a vendor nodejs
# that bundles npm and conflicts with Debian's npm: ask apt only if missing.
NODE_PKGS  := $(if $(shell command -v node && command -v npm),,nodejs npm)
BENCH_PKGS := nginx gnuplot-nox jq

USER_SRCS := $(wildcard user/*.c)
USER_OBJS := $(patsubst user/%.c,$(BUILD)/user/%.o,$(USER_SRCS))
LIB_OBJS  := $(filter-out $(BUILD)/user/main.o,$(USER_OBJS))
BPF_HDRS  := $(wildcard bpf/*.h)
UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_BIN  := $(BUILD)/unit-tests
# Benchmark tools (tests/bench/): plain C, no BPF, each with only the libraries it uses.
BENCH_DIR  := $(BUILD)/bench
BENCH_BINS := $(BENCH_DIR)/loadgen $(BENCH_DIR)/mini_server $(BENCH_DIR)/connect_cost

.SECONDARY:
.PHONY: all deps test-deps bench-deps run test unit bench bench-bins clean
all: $(BUILD)/mcpfence

# apt-get only for what dpkg says is missing; needs root, says so otherwise.
define ensure_pkgs
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		[ "$$(id -u)" = 0 ] || { echo "mcpfence: need root to apt-get install:" $$missing >&2; exit 1; }; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

deps:
	$(call ensure_pkgs,$(BUILD_PKGS))
test-deps: deps
	$(call ensure_pkgs,$(TEST_PKGS) $(NODE_PKGS) $(KUBE_PKGS))
	@[ -d node_modules/@modelcontextprotocol ] && [ node_modules/.package-lock.json -nt package-lock.json ] \
		|| npm ci --no-audit --no-fund --loglevel=error
bench-deps: test-deps
	$(call ensure_pkgs,$(BENCH_PKGS))

# vmlinux.h is generated from the running kernel's BTF rather than vendored:
# programs are CO-RE, so any BTF-enabled kernel's types relocate at load.
$(BUILD)/vmlinux.h:
	@mkdir -p $(@D)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) $(BUILD)/vmlinux.h
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@
	llvm-strip -g $@ 2>/dev/null || true

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $* > $@.tmp && mv $@.tmp $@

$(BUILD)/user/%.o: user/%.c $(wildcard user/*.h) $(BPF_HDRS) $(BUILD)/mcpfence.skel.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/mcpfence: $(USER_OBJS)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(UNIT_BIN): $(UNIT_SRCS) $(LIB_OBJS)
	$(CC) $(CFLAGS) -Itests/unit $(UNIT_SRCS) $(LIB_OBJS) -o $@ $(LDLIBS)

bench-bins: $(BENCH_BINS)
$(BENCH_DIR)/loadgen: tests/bench/loadgen.c tests/bench/histogram.c tests/bench/histogram.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(filter %.c,$^) -o $@ -lhttp_parser
$(BENCH_DIR)/mini_server: tests/bench/mini_server.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(filter %.c,$^) -o $@ -lcjson -lhttp_parser
$(BENCH_DIR)/connect_cost: tests/bench/connect_cost.c tests/bench/histogram.c tests/bench/histogram.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(filter %.c,$^) -o $@

# --- fuzzing and sanitizer builds (tests/fuzz/, tests/README.md) ------------
# build/fuzz/fuzz_*: libFuzzer + ASan + UBSan harnesses, one per parser.
# build/san/unit-tests, build/san/mcpfence: the unit tests and the daemon under
# ASan + UBSan (tests/run.sh reruns a few integration tests on the latter).
# make fuzz: every harness for FUZZ_SECONDS, then the differential test at
# DIFF_REQUESTS; make soak: SOAK_CALLS calls through the daemon.
FUZZ_PKGS    := libclang-rt-14-dev golang-go python3
SAN_FLAGS    := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
SAN_CFLAGS    = -O1 -g -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -DMCPF_VERSION='"$(VERSION)"' \
               -I$(BUILD) -Ibpf -Iuser $(SAN_FLAGS)
FUZZ_SRCS    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS    := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_SECONDS ?= 300
DIFF_REQUESTS ?= 100000
SOAK_CALLS   ?= 1000000
SAN_UNIT_BIN := $(BUILD)/san/unit-tests
.PHONY: fuzz fuzz-bins fuzz-deps soak unit-san

fuzz-deps: test-deps
	$(call ensure_pkgs,$(FUZZ_PKGS))
$(BUILD)/fuzz/user/%.o: user/%.c $(wildcard user/*.h) $(BPF_HDRS) $(BUILD)/mcpfence.skel.h
	@mkdir -p $(@D)
	$(CLANG) $(SAN_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/*.h $(patsubst $(BUILD)/%,$(BUILD)/fuzz/%,$(LIB_OBJS))
	$(CLANG) $(SAN_CFLAGS) -fsanitize=fuzzer -Itests/fuzz $< $(filter %.o,$^) -o $@ $(LDLIBS) -ldl
fuzz-bins: $(FUZZ_BINS)
$(BUILD)/san/user/%.o: user/%.c $(wildcard user/*.h) $(BPF_HDRS) $(BUILD)/mcpfence.skel.h
	@mkdir -p $(@D)
	$(CLANG) $(SAN_CFLAGS) -c $< -o $@
$(SAN_UNIT_BIN): $(UNIT_SRCS) $(patsubst $(BUILD)/%,$(BUILD)/san/%,$(LIB_OBJS))
	$(CLANG) $(SAN_CFLAGS) -Wno-string-plus-int -Itests/unit $(UNIT_SRCS) $(filter %.o,$^) -o $@ $(LDLIBS)
$(BUILD)/san/mcpfence: $(patsubst $(BUILD)/%,$(BUILD)/san/%,$(USER_OBJS))
	$(CLANG) $(SAN_CFLAGS) $^ -o $@ $(LDLIBS)
unit-san: $(SAN_UNIT_BIN)
	$(SAN_UNIT_BIN)
$(BUILD)/differential/go-server: tests/differential/server.go
	@mkdir -p $(@D)
	cd $(@D) && GOCACHE=$(abspath $(BUILD))/differential/gocache go build -o go-server $(abspath $<)
fuzz: fuzz-deps all $(FUZZ_BINS) $(BUILD)/differential/go-server
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh; f=$$?; \
	DIFF_REQUESTS=$(DIFF_REQUESTS) tests/run.sh tests/integration/differential.test.mjs && exit $$f
soak: test-deps all $(BENCH_BINS)
	@node tests/soak/soak.mjs --calls $(SOAK_CALLS)

run: deps all
	$(BUILD)/mcpfence run --policy policies/default.json -v

unit: $(UNIT_BIN)
	$(UNIT_BIN)

test: fuzz-deps all $(UNIT_BIN) $(BENCH_BINS) $(SAN_UNIT_BIN) $(BUILD)/san/mcpfence $(FUZZ_BINS) $(BUILD)/differential/go-server
	@tests/run.sh

bench: bench-deps all $(BENCH_BINS)
	@tests/bench/run.sh $(if $(QUICK),--quick)

clean:
	rm -rf $(BUILD)
