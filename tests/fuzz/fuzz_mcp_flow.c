/* mcp_flow: the whole request path of one proxied connection, agent bytes
 * and server bytes, decided from the real policy maps (the skeleton's maps
 * in a private bpffs; no program is loaded, so this needs root but attaches
 * nothing). Input: [split seed] then segments separated by "\0--\0",
 * alternately agent -> daemon and server -> daemon, then both EOFs.
 *
 * Oracle: whatever the flow sends upstream is parsed again as HTTP/1 +
 * JSON; a tools/call of any tool the policy does not allow is a crash. */

#include <sched.h>
#include <strings.h>
#include <sys/mount.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <cjson/cJSON.h>

#include "acct.h"
#include "content_decode.h"
#include "fuzz.h"
#include "kern_loader.h"
#include "mcp_flow.h"
#include "mcpfence.skel.h"
#include "policy.h"
#include "policy_compile.h"
#include "stats.h"
#include "tool_names.h"

#define SEP "\0--\0"
#define SEP_LEN 4

static const char policy_text[] =
	"{\"version\":\"1\",\"servers\":{\"fs\":{\"default\":\"deny\",\"hide\":[\"secret\"],\"tools\":{"
	"\"echo\":{\"action\":\"allow\"},"
	"\"add\":{\"conditions\":[{\"path\":\"args.a\",\"op\":\"lte\",\"value\":10}]},"
	"\"limited\":{\"limits\":[{\"counter\":\"c\",\"window\":\"minute\",\"max\":2,\"scope\":\"session\"}]},"
	"\"rm\":{\"action\":\"deny\",\"reason\":\"no\"},"
	/* no approval store here: a call needing approval is never forwarded */
	"\"deploy\":{\"action\":\"approve\"}}}}}";

static struct enforce enf;
static struct policy_maps maps;
static struct mcpfence *skel; /* for the life of the process */
static const struct mcpf_conn origin = {.pid = 4242, .uid = 1000, .cgroup_id = 77, .comm = "agent", .server = "fs"};

static bool allowed(const char *name)
{
	return !strcmp(name, "echo") || !strcmp(name, "add") || !strcmp(name, "limited");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char dir[] = "/tmp/mcpf-fuzz-bpffs-XXXXXX";
	struct policy_errors errs = {0};
	struct policy *policy;
	struct bpf_program *prog;
	char err[256];

	(void)argc;
	(void)argv;
	/* The bpffs lives in a mount namespace of this process only: it goes with it. */
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) || !mkdtemp(dir) ||
	    mount("bpf", dir, "bpf", 0, NULL)) {
		perror("fuzz_mcp_flow: private bpffs (needs root)");
		exit(1);
	}
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = dir);
	skel = mcpfence__open_opts(&opts);
	if (!skel)
		exit(1);
	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoload(prog, false);
	if (mcpfence__load(skel) ||
	    policy_parse("fuzz.json", policy_text, sizeof(policy_text) - 1, &policy, &errs)) {
		fprintf(stderr, "fuzz_mcp_flow: cannot load the maps or the policy\n");
		exit(1);
	}
	kern_policy_maps(skel, &maps);
	if (policy_compile(&maps, policy, err, sizeof(err))) {
		fprintf(stderr, "fuzz_mcp_flow: %s\n", err);
		exit(1);
	}
	policy_free(policy);
	enf = (struct enforce){
		.policy = &maps,
		.acct = acct_new(bpf_map__fd(skel->maps.tool_stats), bpf_map__fd(skel->maps.daemon_stats), NULL, -1),
		.body_limit = 64 << 10,
	};
	enf.listed = tool_names_new(TOOL_NAMES_DEFAULT_MAX);
	if (!enf.listed || !enf.acct || acct_prepare(enf.acct, true))
		exit(1);
	/* The directory is removed now; the mount stays until the process ends. */
	umount2(dir, MNT_DETACH);
	rmdir(dir);
	return 0;
}

static void no_kick(void *conn)
{
	(void)conn;
}

static void check_call(const struct http1_msg *req, const cJSON *m)
{
	const cJSON *method = cJSON_GetObjectItemCaseSensitive(m, "method");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "params"), "name");

	if (!cJSON_IsString(method) || strcmp(method->valuestring, "tools/call") || !cJSON_IsString(name) ||
	    allowed(name->valuestring))
		return;
	fprintf(stderr, "forwarded upstream: a call of %s, which the policy denies, in:\n%.*s\n", name->valuestring,
		(int)(req->head_len < 2048 ? req->head_len : 2048), req->head);
	abort();
}

/* Reads what went upstream as a server would and checks every call in it. */
static void oracle(const struct bytebuf *up)
{
	struct http1_parser p;
	const char *in = up->data;
	size_t len = up->len;

	if (!len)
		return;
	http1_init(&p, HTTP1_REQUEST, 1 << 20);
	for (unsigned guard = 0; guard < 10000; guard++) {
		size_t used;
		enum http1_status st = http1_feed(&p, in, len, &used);
		in += used;
		len -= used;
		if (st == HTTP1_NEED_MORE || st == HTTP1_ERROR)
			break;
		if (st == HTTP1_HEAD && http1_set_body_mode(&p, HTTP1_BODY_BUFFER) < 0)
			break;
		if (st != HTTP1_MESSAGE_END)
			continue;
		const struct http1_msg *m = http1_msg(&p);
		struct bytebuf dec = BYTEBUF_INIT;
		const char *text;
		size_t text_len;
		enum content_coding_status cs =
			content_decode_text(m, m->body ? m->body : "", m->body_len, 1 << 20, &dec, &text, &text_len);
		if (cs == CODING_IDENTITY || cs == CODING_DECODED) {
			cJSON *root = cJSON_ParseWithLength(text, text_len), *el;
			if (cJSON_IsArray(root)) {
				cJSON_ArrayForEach(el, root) check_call(m, el);
			} else if (root) {
				check_call(m, root);
			}
			cJSON_Delete(root);
		}
		bb_free(&dec);
	}
	http1_free(&p);
}

static void feed(struct mcp_flow *f, bool upstream, const char *d, size_t n, uint8_t seed, struct flow_io *io,
		 bool *over)
{
	for (size_t off = 0; off < n && !*over;) {
		size_t piece = fuzz_step(seed, n - off);
		int r = upstream ? mcp_flow_upstream_data(f, d + off, piece, io)
				 : mcp_flow_client_data(f, d + off, piece, io);
		off += piece;
		*over = r < 0 || io->finished;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned long long conn_id;
	struct bytebuf to_up = BYTEBUF_INIT, to_client = BYTEBUF_INIT;
	struct flow_io io = {.to_upstream = &to_up, .to_client = &to_client};
	struct mcp_flow f;
	bool over = false, upstream = false;

	if (size < 1)
		return 0;
	FUZZ_ASSERT(mcp_flow_init(&f, &enf, &origin, ++conn_id, no_kick, NULL) == 0);
	const char *p = (const char *)data + 1, *end = (const char *)data + size;
	while (p < end && !over) {
		const char *sep = memmem(p, (size_t)(end - p), SEP, SEP_LEN);
		size_t n = sep ? (size_t)(sep - p) : (size_t)(end - p);
		feed(&f, upstream, p, n, data[0], &io, &over);
		p += n + (sep ? SEP_LEN : 0);
		upstream = !upstream;
	}
	if (!over && mcp_flow_client_eof(&f, &io) == 0 && !io.finished)
		(void)mcp_flow_upstream_eof(&f, &io);
	oracle(&to_up);
	mcp_flow_free(&f);
	bb_free(&to_up);
	bb_free(&to_client);
	return 0;
}
