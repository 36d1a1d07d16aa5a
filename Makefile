# mcpfence — build, set-up, tests and benchmarks.
#   make          build build/mcpfence (daemon + CLI) and the BPF object
#   make run      install what is missing, build, run the daemon on policies/default.json
#   make test     install what the tests need, build, run every test
#   make bench    side-by-side benchmarks (QUICK=1 for the short run)
#   make fuzz     every libFuzzer harness for FUZZ_SECONDS, then the differential test
#   make soak     SOAK_CALLS mixed calls through the daemon
# Quiet by default; V=1 shows every command.

BUILD    := build
CC       ?= gcc
CLANG    ?= clang
LLVM_STRIP ?= llvm-strip
BPFTOOL  ?= bpftool
ARCH     := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

ifeq ($(V),1)
Q   :=
msg  =
else
Q   := @
msg  = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# -MMD -MP: each object records the headers it read (build/**/*.d), so a
# changed header rebuilds exactly what includes it.
DEPFLAGS := -MMD -MP
WARNINGS := -Wall -Wextra -Werror
DEFINES  := -D_GNU_SOURCE -DMCPF_VERSION='"$(VERSION)"'
INCLUDES := -I$(BUILD) -Ibpf -Iuser
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 $(WARNINGS) $(DEFINES) $(INCLUDES)
LDLIBS   := -lbpf -lelf -lz -lcjson -lhttp_parser -ltre -lm -lpthread
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -I$(BUILD) -Ibpf $(WARNINGS)

# Debian packages: what the build needs, what the tests add on top.
BUILD_PKGS := clang llvm gcc make pkg-config bpftool libbpf-dev libelf-dev zlib1g-dev \
              libcjson-dev libhttp-parser-dev libtre-dev
TEST_PKGS  := curl iproute2 prometheus procps systemd
# kubectl renders deploy/kubernetes in the tests: Debian's kubernetes-client,
# unless some kubectl is already installed (its /usr/bin/kubectl would clash).
KUBE_PKGS  := $(if $(shell command -v kubectl),,kubernetes-client)
# node/npm come either from Debian (nodejs + npm) or from a vendor nodejs
# that bundles npm and conflicts with Debian's npm: ask apt only if missing.
NODE_PKGS  := $(if $(shell command -v node && command -v npm),,nodejs npm)
# libFuzzer's runtime, and the differential test's Go and Python servers.
FUZZ_PKGS  := libclang-rt-14-dev golang-go python3
BENCH_PKGS := nginx gnuplot-nox jq

USER_SRCS := $(wildcard user/*.c)
USER_OBJS := $(patsubst user/%.c,$(BUILD)/user/%.o,$(USER_SRCS))
LIB_OBJS  := $(filter-out $(BUILD)/user/main.o,$(USER_OBJS))
UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_OBJS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%.o,$(UNIT_SRCS))
UNIT_BIN  := $(BUILD)/unit-tests
SKEL      := $(BUILD)/mcpfence.skel.h
# Benchmark tools (tests/bench/): plain C, no BPF, each with only the libraries it uses.
BENCH_DIR  := $(BUILD)/bench
BENCH_BINS := $(BENCH_DIR)/loadgen $(BENCH_DIR)/mini_server $(BENCH_DIR)/connect_cost

# Sanitizer and fuzzing builds (tests/fuzz/, tests/README.md): the same
# sources with clang under ASan + UBSan, in build/san/ and build/fuzz/.
SAN_FLAGS    := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
SAN_CFLAGS   := -O1 -g -std=gnu11 $(WARNINGS) $(DEFINES) $(INCLUDES) $(SAN_FLAGS)
SAN_LIB_OBJS := $(patsubst $(BUILD)/%,$(BUILD)/san/%,$(LIB_OBJS))
SAN_UNIT_OBJS := $(patsubst $(BUILD)/%,$(BUILD)/san/%,$(UNIT_OBJS))
SAN_UNIT_BIN := $(BUILD)/san/unit-tests
SAN_DAEMON   := $(BUILD)/san/mcpfence
FUZZ_SRCS    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS    := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_LIB_OBJS := $(patsubst $(BUILD)/%,$(BUILD)/fuzz/%,$(LIB_OBJS))
GO_SERVER    := $(BUILD)/differential/go-server
FUZZ_SECONDS ?= 300
DIFF_REQUESTS ?= 100000
SOAK_CALLS   ?= 1000000

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all deps test-deps fuzz-deps bench-deps run test unit unit-san tsan bench bench-bins \
        fuzz fuzz-bins soak clean
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
fuzz-deps: test-deps
	$(call ensure_pkgs,$(FUZZ_PKGS))
bench-deps: test-deps
	$(call ensure_pkgs,$(BENCH_PKGS))

# --- kernel side -------------------------------------------------------------
# vmlinux.h is generated from the running kernel's BTF rather than vendored
# (3 MB of generated text; a kernel without BTF could not run mcpfence
# anyway). The cgroup programs read only UAPI context fields (bpf_sock_addr,
# bpf_sock_ops, sk_msg_md, bpf_sock), whose layout is the kernel's stable
# ABI; cgroup_mkdir reads struct cgroup through CO-RE relocations, which
# libbpf resolves against the running kernel's BTF: the object is not tied
# to the kernel it was built on.
$(BUILD)/vmlinux.h:
	$(call msg,VMLINUX,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

# strip -g drops DWARF and keeps .BTF, which the maps' types need
$(BUILD)/%.bpf.o: bpf/%.bpf.c $(BUILD)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@
	$(Q)$(LLVM_STRIP) -g $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $* > $@.tmp && mv $@.tmp $@

# --- daemon and unit tests ---------------------------------------------------
# Objects wait for the skeleton (order-only): a first build has no .d files
# yet to say who includes it; after that the .d files do.
$(BUILD)/user/%.o: user/%.c | $(SKEL)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/mcpfence: $(USER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/tests/unit/%.o: tests/unit/%.c | $(SKEL)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Itests/unit $(DEPFLAGS) -c $< -o $@

$(UNIT_BIN): $(UNIT_OBJS) $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

# --- benchmark tools ---------------------------------------------------------
bench-bins: $(BENCH_BINS)
$(BENCH_DIR)/%.o: tests/bench/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@
$(BENCH_DIR)/loadgen: $(BENCH_DIR)/loadgen.o $(BENCH_DIR)/histogram.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ -lhttp_parser
$(BENCH_DIR)/mini_server: $(BENCH_DIR)/mini_server.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ -lcjson -lhttp_parser
$(BENCH_DIR)/connect_cost: $(BENCH_DIR)/connect_cost.o $(BENCH_DIR)/histogram.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@

# --- sanitizer and fuzzing builds ----------------------------------------------
$(BUILD)/san/%.o: %.c | $(SKEL)
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(SAN_CFLAGS) -Itests/unit -Wno-string-plus-int $(DEPFLAGS) -c $< -o $@
$(SAN_UNIT_BIN): $(SAN_UNIT_OBJS) $(SAN_LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CLANG) $(SAN_CFLAGS) $^ -o $@ $(LDLIBS)
$(SAN_DAEMON): $(patsubst $(BUILD)/%,$(BUILD)/san/%,$(USER_OBJS))
	$(call msg,LINK,$@)
	$(Q)$(CLANG) $(SAN_CFLAGS) $^ -o $@ $(LDLIBS)

# ThreadSanitizer (make tsan): the unit tests and the daemon, for --workers
# races; not in `make test` (slow, and exclusive with ASan).
TSAN_CFLAGS  := -O1 -g -std=gnu11 $(WARNINGS) $(DEFINES) $(INCLUDES) -fsanitize=thread -fno-omit-frame-pointer
TSAN_UNIT_BIN := $(BUILD)/tsan/unit-tests
TSAN_DAEMON  := $(BUILD)/tsan/mcpfence
$(BUILD)/tsan/%.o: %.c | $(SKEL)
	$(call msg,CC-TSAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(TSAN_CFLAGS) -Itests/unit -Wno-string-plus-int $(DEPFLAGS) -c $< -o $@
$(TSAN_UNIT_BIN): $(patsubst $(BUILD)/%,$(BUILD)/tsan/%,$(UNIT_OBJS) $(LIB_OBJS))
	$(call msg,LINK,$@)
	$(Q)$(CLANG) $(TSAN_CFLAGS) $^ -o $@ $(LDLIBS)
$(TSAN_DAEMON): $(patsubst $(BUILD)/%,$(BUILD)/tsan/%,$(USER_OBJS))
	$(call msg,LINK,$@)
	$(Q)$(CLANG) $(TSAN_CFLAGS) $^ -o $@ $(LDLIBS)
tsan: $(TSAN_UNIT_BIN) $(TSAN_DAEMON)
	TSAN_OPTIONS=suppressions=tests/tsan.supp $(TSAN_UNIT_BIN)

$(BUILD)/fuzz/user/%.o: user/%.c | $(SKEL)
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(SAN_CFLAGS) -fsanitize=fuzzer-no-link $(DEPFLAGS) -c $< -o $@
$(BUILD)/fuzz/fuzz_%.o: tests/fuzz/fuzz_%.c | $(SKEL)
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(SAN_CFLAGS) -fsanitize=fuzzer-no-link -Itests/fuzz $(DEPFLAGS) -c $< -o $@
$(BUILD)/fuzz/fuzz_%: $(BUILD)/fuzz/fuzz_%.o $(FUZZ_LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CLANG) $(SAN_CFLAGS) -fsanitize=fuzzer $^ -o $@ $(LDLIBS) -ldl
fuzz-bins: $(FUZZ_BINS)

$(GO_SERVER): tests/differential/server.go
	$(call msg,GO,$@)
	$(Q)mkdir -p $(@D)
	$(Q)cd $(@D) && GOCACHE=$(abspath $(BUILD))/differential/gocache go build -o go-server $(abspath $<)

# --- what people run -----------------------------------------------------------
run: deps all
	$(BUILD)/mcpfence run --policy policies/default.json -v

unit: $(UNIT_BIN)
	$(UNIT_BIN)

unit-san: $(SAN_UNIT_BIN)
	$(SAN_UNIT_BIN)

test: fuzz-deps all $(UNIT_BIN) $(BENCH_BINS) $(SAN_UNIT_BIN) $(SAN_DAEMON) $(FUZZ_BINS) $(GO_SERVER)
	@tests/run.sh

fuzz: fuzz-deps all $(FUZZ_BINS) $(GO_SERVER)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh; f=$$?; \
	DIFF_REQUESTS=$(DIFF_REQUESTS) tests/run.sh tests/integration/differential.test.mjs && exit $$f

soak: test-deps all $(BENCH_BINS)
	@node tests/soak/soak.mjs --calls $(SOAK_CALLS)

bench: bench-deps all $(BENCH_BINS)
	@tests/bench/run.sh $(if $(QUICK),--quick)

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
