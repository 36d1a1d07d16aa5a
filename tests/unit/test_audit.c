/* Audit log: line format, argument redaction, rotation under load. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "harness.h"
#include "fixture.h"
#include "../../user/audit.h"
#include "../../user/redact.h"

static cJSON *format_parsed(const struct audit_record *r, bool log_args)
{
	struct bytebuf b = BYTEBUF_INIT;
	cJSON *j = NULL;

	if (audit_format(r, log_args, &b) == 0 && b.len && b.data[b.len - 1] == '\n' &&
	    memchr(b.data, '\n', b.len) == b.data + b.len - 1)
		j = cJSON_Parse(b.data);
	bb_free(&b);
	return j;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

TEST(audit_line_fields)
{
	cJSON *args = cJSON_Parse("{\"path\":\"/etc/hosts\",\"password\":\"hunter2\"}");
	struct audit_record r = {
		.time = { .tv_sec = 1795000000, .tv_nsec = 123456789 },
		.pid = 4242, .uid = 1000, .comm = "node", .cgroup_id = 77,
		.server = "fs", .tool = "read\"file\n", .decision = MCPF_DECISION_RATE_LIMITED,
		.rule = "tools.read_file.limits[0]", .reason = "10 per minute", .session = NULL,
		.latency_ns = 1234567, .arguments = args,
	};
	const cJSON *agent, *a;
	cJSON *j;

	j = format_parsed(&r, false);
	CHECK(j != NULL);
	CHECK_STR_EQ(str(j, "time"), "2026-11-18T11:06:40.123Z");
	agent = cJSON_GetObjectItemCaseSensitive(j, "agent");
	CHECK_INT_EQ(num(agent, "pid"), 4242);
	CHECK_INT_EQ(num(agent, "uid"), 1000);
	CHECK_STR_EQ(str(agent, "comm"), "node");
	CHECK_INT_EQ(num(agent, "cgroup"), 77);
	CHECK_STR_EQ(str(j, "server"), "fs");
	CHECK_STR_EQ(str(j, "tool"), "read\"file\n");
	CHECK_STR_EQ(str(j, "decision"), "rate_limited");
	CHECK_STR_EQ(str(j, "rule"), "tools.read_file.limits[0]");
	CHECK_STR_EQ(str(j, "reason"), "10 per minute");
	CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "session")));
	CHECK(num(j, "latency_ms") == 1.235);
	CHECK(cJSON_GetObjectItemCaseSensitive(j, "arguments") == NULL);  /* not without --audit-args */
	cJSON_Delete(j);
	j = format_parsed(&r, true);
	CHECK(j != NULL);
	a = cJSON_GetObjectItemCaseSensitive(j, "arguments");
	CHECK_STR_EQ(str(a, "path"), "/etc/hosts");
	CHECK_STR_EQ(str(a, "password"), REDACTED);
	cJSON_Delete(j);
	/* the caller's tree is untouched */
	CHECK_STR_EQ(str(args, "password"), "hunter2");
	cJSON_Delete(args);
}

TEST(audit_line_invalid_utf8_stays_valid_json)
{
	cJSON *args = cJSON_Parse("{\"q\":\"ok\"}");
	struct audit_record r = {
		.comm = "a\xff", .server = "s", .tool = "t\xc3", .decision = MCPF_DECISION_INVALID,
		.arguments = args,
	};
	cJSON *j;

	cJSON_SetValuestring(cJSON_GetObjectItem(args, "q"), "bad\xfe");
	j = format_parsed(&r, true);
	CHECK(j != NULL);
	CHECK_STR_EQ(str(j, "tool"), "t\xef\xbf\xbd");
	CHECK_STR_EQ(str(cJSON_GetObjectItem(j, "agent"), "comm"), "a\xef\xbf\xbd");
	CHECK_STR_EQ(str(cJSON_GetObjectItem(j, "arguments"), "q"), "bad\xef\xbf\xbd");
	CHECK_STR_EQ(str(j, "decision"), "invalid");
	cJSON_Delete(j);
	cJSON_Delete(args);
}

TEST(redact_keys)
{
	static const char *const secret[] = {
		"password", "db_passwd", "clientSecret", "GITHUB_TOKEN", "max_tokens", "apiKey", "api-key",
		"API_KEY", "aws_access_key_id", "Authorization", "credentials", "private_key", "privateKey",
		"Cookie",
	};
	static const char *const plain[] = { "path", "query", "user", "key", "pass", "limit", "author" };
	size_t i;

	for (i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
		CHECK(redact_secret_key(secret[i]));
	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		CHECK(!redact_secret_key(plain[i]));
}

TEST(redact_values)
{
	static const char *const secret[] = {
		"Bearer eyJhbGciOiJIUzI1NiJ9abc123",
		"authorization: Bearer abc123def456",
		"Basic dXNlcjpwYXNzd29yZA==",
		"AKIAIOSFODNN7EXAMPLE",
		"key id is ASIAY34FZKBOKMUTVV7A ok",
		"ghp_1234567890abcdefghijABCDEFGHIJ123456",
		"xoxb-123456789012-abcdefghijklmnop",
		"sk-proj-abcdefghijklmnopqrstuvwx",
		"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
		"-----BEGIN RSA PRIVATE KEY-----\nMIIE...\n-----END RSA PRIVATE KEY-----",
		"postgres://admin:s3cr3t@db.internal:5432/app",
		"curl -H 'x' https://api.example.com/?token=abc",
		"export API_KEY=whatever",
		"password: hunter2",
		"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",   /* AWS secret access key shape */
		"deploy with 9f8e7d6c5b4a3928172635445362718293a4b5c6d7e8f9a0B1C2D3E4F5A6B7C8 now",
	};
	static const char *const plain[] = {
		"/home/user/projects/mcpfence/build/user/stats.o",
		"use basic authentication for the admin page",
		"the bearer of bad news",
		"0123456789abcdef0123456789abcdef01234567",   /* git commit id */
		"123e4567-e89b-12d3-a456-426614174000",
		"SELECT * FROM users WHERE id = 42",
		"max_tokens exceeded",
		"https://example.com/docs/getting-started",
		"thisIsAVeryLongCamelCaseIdentifierNameWithoutDigits",
		"",
	};
	size_t i;
	int missed = 0, over = 0;

	for (i = 0; i < sizeof(secret) / sizeof(secret[0]); i++) {
		if (!redact_secret_value(secret[i])) {
			printf("  not redacted: %s\n", secret[i]);
			missed++;
		}
	}
	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		if (redact_secret_value(plain[i])) {
			printf("  redacted: %s\n", plain[i]);
			over++;
		}
	}
	CHECK_INT_EQ(missed, 0);
	CHECK_INT_EQ(over, 0);
}

TEST(redact_json_tree)
{
	cJSON *j = cJSON_Parse("{\"headers\":{\"Authorization\":\"x\",\"Accept\":\"json\"},"
			       "\"token\":{\"nested\":[1,2]},\"list\":[\"AKIAIOSFODNN7EXAMPLE\",\"fine\",3],"
			       "\"n\":5,\"ok\":true}");
	char *out;

	CHECK(j != NULL);
	CHECK_INT_EQ(redact_json(j), 3);
	out = cJSON_PrintUnformatted(j);
	CHECK_STR_EQ(out, "{\"headers\":{\"Authorization\":\"[REDACTED]\",\"Accept\":\"json\"},"
			 "\"token\":\"[REDACTED]\",\"list\":[\"[REDACTED]\",\"fine\",3],\"n\":5,\"ok\":true}");
	free(out);
	cJSON_Delete(j);
	j = cJSON_CreateString("Bearer abcdef123456");
	CHECK_INT_EQ(redact_json(j), 1);
	CHECK_STR_EQ(j->valuestring, REDACTED);
	cJSON_Delete(j);
}

/* ---- rotation ---- */

static int write_seq(struct audit_log *a, int seq)
{
	char session[32];
	struct audit_record r = {
		.pid = 1, .uid = 0, .comm = "load", .server = "srv", .tool = "tool",
		.decision = MCPF_DECISION_ALLOW, .session = session, .latency_ns = 1000,
	};

	snprintf(session, sizeof(session), "seq-%d", seq);
	return audit_write(a, &r);
}

/* Open an audit log on path, write lines first..last-1 and close it;
 * how many writes failed, or -1 if it would not open. */
static int write_lines(const char *path, uint64_t max_bytes, unsigned int keep, int first, int last)
{
	struct audit_options o = { .path = path, .max_bytes = max_bytes, .keep = keep };
	struct audit_log *a = audit_open(&o);
	int i, errors = 0;

	if (!a)
		return -1;
	for (i = first; i < last; i++)
		errors += write_seq(a, i) != 0;
	audit_close(a);
	return errors;
}

/* Append the session sequence numbers of every line in a gzip or plain
 * file (gzread reads plain files too) to seqs; -1 on a malformed line. */
static int read_seqs(const char *path, int *seqs, int *n, int max, size_t *bytes)
{
	char line[4096];
	const char *s;
	gzFile gz = gzopen(path, "rb");
	cJSON *j;

	*bytes = 0;
	if (!gz)
		return -1;
	while (gzgets(gz, line, sizeof(line))) {
		*bytes += strlen(line);
		j = cJSON_Parse(line);
		s = j ? str(j, "session") : NULL;
		if (!s || strncmp(s, "seq-", 4) || *n >= max) {
			cJSON_Delete(j);
			gzclose(gz);
			return -1;
		}
		seqs[(*n)++] = atoi(s + 4);
		cJSON_Delete(j);
	}
	gzclose(gz);
	return 0;
}

static int exists(const char *fmt, const char *dir, int n)
{
	char path[256];

	snprintf(path, sizeof(path), fmt, dir, n);
	return access(path, F_OK) == 0;
}

#define LOAD_LINES 50000
#define LOAD_MAX_BYTES (64 * 1024)

static int load_seqs[LOAD_LINES + 1];

static void rotation_under_load(const char *dir)
{
	int i, n = 0, files = 0, bad_order = 0, oversize = 0;
	char file[128], path[200];
	size_t bytes;

	snprintf(file, sizeof(file), "%s/audit.log", dir);
	CHECK_INT_EQ(write_lines(file, LOAD_MAX_BYTES, 1000, 0, LOAD_LINES), 0);

	/* oldest first: FILE.N.gz ... FILE.1.gz, then FILE */
	while (exists("%s/audit.log.%d.gz", dir, files + 1))
		files++;
	CHECK(files > 100);
	CHECK(files < 1000);  /* nothing was dropped for lack of keep */
	for (i = files; i >= 1; i--) {
		snprintf(path, sizeof(path), "%s.%d.gz", file, i);
		CHECK_INT_EQ(read_seqs(path, load_seqs, &n, LOAD_LINES + 1, &bytes), 0);
		oversize += bytes > LOAD_MAX_BYTES;
	}
	CHECK_INT_EQ(read_seqs(file, load_seqs, &n, LOAD_LINES + 1, &bytes), 0);
	CHECK(bytes <= LOAD_MAX_BYTES);
	CHECK_INT_EQ(oversize, 0);
	CHECK_INT_EQ(n, LOAD_LINES);
	for (i = 0; i < n; i++)
		bad_order += load_seqs[i] != i;
	CHECK_INT_EQ(bad_order, 0);
	CHECK(!exists("%s/audit.log.%d", dir, 1));  /* no uncompressed leftover */
	CHECK(!exists("%s/audit.log.%d.gz.tmp", dir, 1));
}

TEST(audit_rotation_under_load_loses_nothing)
{
	CHECK_INT_EQ(fixture_with_tmpdir(rotation_under_load), 0);
}

static void rotation_keeps_only_newest(const char *dir)
{
	int seqs[4000], i, n = 0, gap = 0;
	char file[128], path[200];
	size_t bytes;

	snprintf(file, sizeof(file), "%s/audit.log", dir);
	CHECK_INT_EQ(write_lines(file, 4096, 3, 0, 2000), 0);
	CHECK(!exists("%s/audit.log.%d.gz", dir, 4));
	for (i = 3; i >= 1; i--) {
		snprintf(path, sizeof(path), "%s.%d.gz", file, i);
		CHECK_INT_EQ(read_seqs(path, seqs, &n, 4000, &bytes), 0);
	}
	CHECK_INT_EQ(read_seqs(file, seqs, &n, 4000, &bytes), 0);
	CHECK(n > 30 && n < 2000);
	CHECK_INT_EQ(seqs[n - 1], 1999);  /* the newest lines, contiguous */
	for (i = 1; i < n; i++)
		gap += seqs[i] != seqs[i - 1] + 1;
	CHECK_INT_EQ(gap, 0);
}

TEST(audit_rotation_keeps_only_newest)
{
	CHECK_INT_EQ(fixture_with_tmpdir(rotation_keeps_only_newest), 0);
}

static void oversize_and_leftover(const char *dir)
{
	char file[128], raw[160], gz[160], path[200];
	int seqs[16], n = 0;
	size_t bytes;
	FILE *f;

	snprintf(file, sizeof(file), "%s/audit.log", dir);
	/* a daemon died after moving FILE to FILE.1 and before compressing it */
	snprintf(raw, sizeof(raw), "%s.1", file);
	snprintf(gz, sizeof(gz), "%s.1.gz", file);
	f = fopen(raw, "w");
	CHECK(f != NULL);
	fputs("{\"session\":\"seq-7\"}\n", f);
	fclose(f);

	/* the next start compresses it; every line is > 100 bytes and max is
	 * 200: one line per file */
	CHECK_INT_EQ(write_lines(file, 200, 2, 8, 9), 0);
	CHECK(access(raw, F_OK) != 0);
	CHECK_INT_EQ(read_seqs(gz, seqs, &n, 16, &bytes), 0);
	CHECK_INT_EQ(n, 1);
	CHECK_INT_EQ(seqs[0], 7);

	CHECK_INT_EQ(write_lines(file, 200, 2, 9, 11), 0);
	n = 0;
	snprintf(path, sizeof(path), "%s.2.gz", file);
	CHECK_INT_EQ(read_seqs(path, seqs, &n, 16, &bytes), 0);
	CHECK_INT_EQ(read_seqs(gz, seqs, &n, 16, &bytes), 0);
	CHECK_INT_EQ(read_seqs(file, seqs, &n, 16, &bytes), 0);
	CHECK_INT_EQ(n, 3);
	CHECK(seqs[0] == 8 && seqs[1] == 9 && seqs[2] == 10);
	CHECK(!exists("%s/audit.log.%d.gz", dir, 3));  /* keep = 2: seq-7's file was dropped */
}

TEST(audit_oversize_line_alone_and_leftover_recovered)
{
	CHECK_INT_EQ(fixture_with_tmpdir(oversize_and_leftover), 0);
}

TEST(audit_open_errors)
{
	struct audit_options o = { .path = "/nonexistent-dir/x/audit.log", .max_bytes = 10, .keep = 1 };

	errno = 0;
	CHECK(audit_open(&o) == NULL);
	CHECK_INT_EQ(errno, ENOENT);
	o.path = "";
	CHECK(audit_open(&o) == NULL);
	CHECK_INT_EQ(errno, EINVAL);
}
