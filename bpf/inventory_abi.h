/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Tool inventory contract: key and value layouts of the pinned
 * `tool_inventory` and `tool_inventory_servers` maps (inventory_maps.h).
 * Written only by the daemon from the tools/list answers it relays (no
 * program touches them), read by `mcpfence tools`, /metrics, decisions on
 * class rules, and bpftool. Same rules as mcpfence.h: fixed-size structs,
 * names as char arrays, enum-typed fields so bpftool prints their names.
 *
 * Bounds: at most MCPF_INVENTORY_PER_SERVER tools per server and
 * MCPF_INVENTORY_MAX rows in all. Rows are never evicted: a server listing
 * more tools than its share gets its first ones recorded and the rest
 * counted in `dropped`, so one server listing 100,000 tools cannot push
 * out the tools of the others.
 */
#ifndef MCPF_INVENTORY_H
#define MCPF_INVENTORY_H

#include "mcpfence_abi.h"

#define MCPF_INVENTORY_PER_SERVER 1024
#define MCPF_INVENTORY_MAX        (64 * MCPF_INVENTORY_PER_SERVER)
#define MCPF_INVENTORY_SERVERS    (4 * MCPF_MAX_SERVERS)
#define MCPF_DIGEST_HEX_LEN       65   /* SHA-256 in hex + NUL */

/* An MCP tool annotation hint: absent, false or true. */
enum mcpf_hint {
	MCPF_HINT_UNSET = 0,
	MCPF_HINT_FALSE = 1,
	MCPF_HINT_TRUE = 2,
};

/* Categories, in increasing severity (user/tool_class.h says how each is
 * derived). The order matters: a tool gets the most severe category any
 * of its evidence points to. */
enum mcpf_tool_category {
	MCPF_CATEGORY_UNKNOWN = 0,   /* no evidence at all */
	MCPF_CATEGORY_READ = 1,
	MCPF_CATEGORY_WRITE = 2,
	MCPF_CATEGORY_EXECUTE = 3,
	MCPF_CATEGORY_FINANCIAL = 4,
	MCPF_CATEGORY_DESTRUCTIVE = 5,
};

enum mcpf_tool_risk {
	MCPF_RISK_LOW = 0,
	MCPF_RISK_MEDIUM = 1,
	MCPF_RISK_HIGH = 2,
	MCPF_RISK_CRITICAL = 3,
};

/* Why a tool is held under "on_change": "deny". */
enum mcpf_drift {
	MCPF_DRIFT_NONE = 0,
	MCPF_DRIFT_ADDED = 1,    /* appeared on a server already inventoried */
	MCPF_DRIFT_CHANGED = 2,  /* description, schema or annotations changed */
};

struct mcpf_inventory_key {
	char server[MCPF_NAME_LEN];
	char tool[MCPF_NAME_LEN];
};

/* Times are CLOCK_REALTIME nanoseconds (they outlive reboots). */
struct mcpf_inventory_tool {
	char description_sha256[MCPF_DIGEST_HEX_LEN];
	char schema_sha256[MCPF_DIGEST_HEX_LEN];   /* over canonical JSON */
	unsigned char pad[2];
	enum mcpf_hint read_only;
	enum mcpf_hint destructive;
	enum mcpf_hint idempotent;
	enum mcpf_hint open_world;
	enum mcpf_tool_category category;
	enum mcpf_tool_risk risk;
	unsigned int reasons;          /* TOOL_WHY_* bits (user/tool_class.h) */
	unsigned int hints_only;       /* 1: the category rests on annotations alone */
	enum mcpf_drift drift;         /* last drift seen; NONE while the tool is as first seen */
	unsigned int changes;          /* times its definition changed */
	unsigned long long first_seen_ns;
	unsigned long long changed_ns; /* last change; first_seen_ns if none */
};

struct mcpf_inventory_server {
	unsigned long long first_answer; /* id of the listing that introduced the server (daemon run << 32 | n) */
	unsigned long long first_seen_ns;
	unsigned int tools;              /* rows in tool_inventory */
	unsigned int dropped;            /* tools listed past MCPF_INVENTORY_PER_SERVER or a full map */
	unsigned long long added;        /* drift counts: new tools on a known server */
	unsigned long long changed;      /* ... and changed definitions */
};

#endif /* MCPF_INVENTORY_H */
