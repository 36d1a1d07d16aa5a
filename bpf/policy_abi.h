/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The policy maps' contract: key and value layouts of the compiled policy
 * and of the rate-limit state. Like mcpfence_abi.h, plain fixed-size structs
 * with char-array names, so `bpftool map dump` prints readable entries.
 *
 * Atomic reload: every policy key carries a generation number. The daemon
 * writes a complete new generation next to the active one, then flips the
 * single word in policy_active, then deletes the old generation's entries.
 * A reader takes the active generation once and looks up only keys of that
 * generation, so it always sees one whole policy, never a mix.
 *
 * Enum-typed fields (4 bytes) so bpftool prints their names.
 *
 * Rate-limit state is NOT generation-keyed: a reload or a daemon restart
 * keeps every window and count. Its values (and policy_active) carry a
 * bpf_spin_lock and are read and written with BPF_F_LOCK, so a concurrent
 * reader (bpftool, `mcpfence stats`) never sees a torn entry.
 *
 * struct bpf_spin_lock comes from vmlinux.h in BPF programs and from
 * <linux/bpf.h> in user space.
 */
#ifndef MCPF_POLICY_ABI_H
#define MCPF_POLICY_ABI_H

#include "mcpfence_abi.h"
#ifndef __VMLINUX_H__
#include <linux/bpf.h>
#endif

/* Capacity of one policy generation; the maps hold two generations. */
#define MCPF_POLICY_MAX_TOOLS   131072 /* tool entries (incl. "*" and hidden); maps are not preallocated */
#define MCPF_POLICY_MAX_CONDS   131072 /* argument conditions */
#define MCPF_TOOL_MAX_LIMITS    8     /* limits + rate_limit per tool entry */
#define MCPF_TOOL_MAX_CONDS     16    /* conditions per tool entry */
#define MCPF_MAX_RATE_STATES    16384 /* live rate-limit counters */

#define MCPF_REASON_LEN     256   /* tool entry "reason" */
#define MCPF_COUNTER_LEN    80    /* limit counter names */
#define MCPF_COND_PATH_LEN  128   /* "args.a.b" */
#define MCPF_COND_VALUE_LEN 256   /* condition value, as compact JSON text */
#define MCPF_SESSION_LEN    64    /* session key (long ids are digested) */

enum mcpf_action {
	MCPF_ACTION_NONE = 0,  /* entry does not say: see decide.h */
	MCPF_ACTION_ALLOW = 1,
	MCPF_ACTION_DENY = 2,
	MCPF_ACTION_APPROVE = 3, /* tools only: a human approves each call (user/approval.h) */
};

/* Who may approve a call of an "approve" entry (bit set). */
#define MCPF_VIA_ELICITATION 1u  /* the agent's own MCP client (elicitation/create) */
#define MCPF_VIA_OPERATOR    2u  /* `mcpfence approve` on the control socket */

/* Parameters of an "approve" entry; zero for the other actions. */
struct mcpf_approval {
	unsigned int timeout_s;         /* no answer in this long: denied */
	unsigned int remember_s;        /* an approval lets identical calls through this long; 0 none */
	unsigned char via;              /* MCPF_VIA_* */
	unsigned char pad[7];
};

enum mcpf_scope {
	MCPF_SCOPE_GRANT = 0,    /* one agent identity on one server */
	MCPF_SCOPE_AGENT = 1,    /* one agent identity, all servers */
	MCPF_SCOPE_SESSION = 2,  /* one MCP session (or connection) */
	MCPF_SCOPE_GLOBAL = 3,   /* everyone */
};

enum mcpf_cond_op {
	MCPF_OP_EQ = 1,
	MCPF_OP_NEQ,
	MCPF_OP_IN,
	MCPF_OP_NOT_IN,
	MCPF_OP_LT,
	MCPF_OP_LTE,
	MCPF_OP_GT,
	MCPF_OP_GTE,
	MCPF_OP_REGEX,
	MCPF_OP_CONTAINS,
	MCPF_OP_EXISTS,
};

/* policy_active (array, one entry): the generation readers use. */
struct mcpf_policy_active {
	struct bpf_spin_lock lock;
	__u32 generation;        /* 0 = no policy loaded yet */
	__u64 loaded_ns;   /* CLOCK_BOOTTIME of the flip */
	__u32 servers;
	__u32 tools;
};

struct mcpf_policy_server_key {
	__u32 generation;
	char server[MCPF_NAME_LEN];
};

struct mcpf_policy_server {
	enum mcpf_action default_action;  /* MCPF_ACTION_ALLOW or _DENY */
	__u32 tools;             /* tool entries, for operators */
	__u32 endpoints;
};

/* Tool "*" holds the rules for every tool of the server. */
struct mcpf_policy_tool_key {
	__u32 generation;
	char server[MCPF_NAME_LEN];
	char tool[MCPF_NAME_LEN];
};

struct mcpf_limit {
	char counter[MCPF_COUNTER_LEN];
	__u64 window_ns;
	__u32 max;
	enum mcpf_scope scope;
	__u16 index;           /* position in "limits" */
	__u8 shorthand;        /* 1 = came from "rate_limit" */
	__u8 pad[5];
};

struct mcpf_policy_tool {
	enum mcpf_action action;
	__u8 hidden;           /* listed in the server's "hide" */
	__u8 limits;           /* used entries of limit[] */
	__u8 conditions;       /* entries in policy_conds, index 0.. */
	__u8 pad;
	char reason[MCPF_REASON_LEN];
	struct mcpf_limit limit[MCPF_TOOL_MAX_LIMITS];
	/* Appended with approvals: a pinned policy_tools of the older, shorter
	 * layout is replaced at load (kern_loader.c), its content being
	 * compiled again from the policy file at every start. */
	struct mcpf_approval approval;
};

struct mcpf_policy_cond_key {
	__u32 generation;
	__u32 index;
	char server[MCPF_NAME_LEN];
	char tool[MCPF_NAME_LEN];
};

struct mcpf_policy_cond {
	enum mcpf_cond_op op;
	char path[MCPF_COND_PATH_LEN];
	char value[MCPF_COND_VALUE_LEN];  /* JSON text; "" when absent */
};

/* rate_state key: which budget. Fields a scope does not use are zero:
 * grant = counter+server+identity, agent = counter+identity,
 * session = counter+server+session+cgroup+uid (a session id is the agent's
 * word: another agent naming it gets its own budget), global = counter. */
struct mcpf_rate_key {
	char counter[MCPF_COUNTER_LEN];
	char server[MCPF_NAME_LEN];
	char session[MCPF_SESSION_LEN];
	__u64 cgroup_id;
	__u32 uid;
	__u32 pid;
	enum mcpf_scope scope;
	__u32 pad;
};

/* Fixed window that opens at the first counted call: `count` calls were
 * allowed since `window_start_ns` (CLOCK_BOOTTIME); the window closes at
 * window_start_ns + window_ns. */
struct mcpf_rate_state {
	struct bpf_spin_lock lock;
	__u32 count;
	__u64 window_start_ns;
	__u64 window_ns;
	__u32 max;
	__u32 pad;
};

#endif /* MCPF_POLICY_ABI_H */
