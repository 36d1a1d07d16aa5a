/* Audit log: line format, argument redaction, rotation under load. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "harness.h"
#include "../../user/audit.h"
#include "../../user/redact.h"

static cJSON *format_parsed(const struct audit_record *r, bool log_args)
{
	struct textbuf b = TEXTBUF_INIT;
	cJSON *j = NULL;

	if (audit_format(r, log_args, &b) == 0 && b.len && b.data[b.len - 1] == '\n' &&
	    memchr(b.data, '\n', b.len) == b.data + b.len - 1)
		j = cJSON_Parse(b.data);
	textbuf_free(&b);
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
	if (j) {
		CHECK_STREQ(str(j, "time"), "2026-11-18T11:06:40.123Z");
		agent = cJSON_GetObjectItemCaseSensitive(j, "agent");
		CHECK_EQ(num(agent, "pid"), 4242);
		CHECK_EQ(num(agent, "uid"), 1000);
		CHECK_STREQ(str(agent, "comm"), "node");
		CHECK_EQ(num(agent, "cgroup"), 77);
		CHECK_STREQ(str(j, "server"), "fs");
		CHECK_STREQ(str(j, "tool"), "read\"file\n");
		CHECK_STREQ(str(j, "decision"), "rate_limited");
		CHECK_STREQ(str(j, "rule"), "tools.read_file.limits[0]");
		CHECK_STREQ(str(j, "reason"), "10 per minute");
		CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "session")));
		CHECK(num(j, "latency_ms") == 1.235);
		CHECK(cJSON_GetObjectItemCaseSensitive(j, "arguments") == NULL);  /* not without --audit-args */
		cJSON_Delete(j);
	}
	j = format_parsed(&r, true);
	CHECK(j != NULL);
	if (j) {
		a = cJSON_GetObjectItemCaseSensitive(j, "arguments");
		CHECK_STREQ(str(a, "path"), "/etc/hosts");
		CHECK_STREQ(str(a, "password"), REDACTED);
		cJSON_Delete(j);
	}
	/* the caller's tree is untouched */
	CHECK_STREQ(str(args, "password"), "hunter2");
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
	if (j) {
		CHECK_STREQ(str(j, "tool"), "t\xef\xbf\xbd");
		CHECK_STREQ(str(cJSON_GetObjectItem(j, "agent"), "comm"), "a\xef\xbf\xbd");
		CHECK_STREQ(str(cJSON_GetObjectItem(j, "arguments"), "q"), "bad\xef\xbf\xbd");
		CHECK_STREQ(str(j, "decision"), "invalid");
		cJSON_Delete(j);
	}
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

	for (i = 0; i < sizeof(secret) / sizeof(secret[0]); i++) {
		CHECK(redact_secret_value(secret[i]));
		if (!redact_secret_value(secret[i]))
			fprintf(stderr, "  not redacted: %s\n", secret[i]);
	}
	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		CHECK(!redact_secret_value(plain[i]));
		if (redact_secret_value(plain[i]))
			fprintf(stderr, "  redacted: %s\n", plain[i]);
	}
}

TEST(redact_json_tree)
{
	cJSON *j = cJSON_Parse("{\"headers\":{\"Authorization\":\"x\",\"Accept\":\"json\"},"
			       "\"token\":{\"nested\":[1,2]},\"list\":[\"AKIAIOSFODNN7EXAMPLE\",\"fine\",3],"
			       "\"n\":5,\"ok\":true}");
	char *out;

	CHECK(j != NULL);
	if (!j)
		return;
	CHECK_EQ(redact_json(j), 3);
	out = cJSON_PrintUnformatted(j);
	CHECK_STREQ(out, "{\"headers\":{\"Authorization\":\"[REDACTED]\",\"Accept\":\"json\"},"
			 "\"token\":\"[REDACTED]\",\"list\":[\"[REDACTED]\",\"fine\",3],\"n\":5,\"ok\":true}");
	free(out);
	cJSON_Delete(j);
	j = cJSON_CreateString("Bearer abcdef123456");
	CHECK_EQ(redact_json(j), 1);
	CHECK_STREQ(j->valuestring, REDACTED);
	cJSON_Delete(j);
}

/* ---- rotation ---- */

struct tmpdir {
	char dir[64];
	char file[96];
};

static int tmpdir_make(struct tmpdir *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/mcpf-unit-audit.XXXXXX");
	if (!mkdtemp(t->dir))
		return -1;
	snprintf(t->file, sizeof(t->file), "%s/audit.log", t->dir);
	return 0;
}

static void tmpdir_remove(struct tmpdir *t)
{
	char path[400];
	struct dirent *e;
	DIR *d = opendir(t->dir);

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", t->dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(t->dir);
}

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

static int exists(const char *path)
{
	return access(path, F_OK) == 0;
}

#define LOAD_LINES 50000
#define LOAD_MAX_BYTES (64 * 1024)

TEST(audit_rotation_under_load_loses_nothing)
{
	struct audit_options o = { .max_bytes = LOAD_MAX_BYTES, .keep = 1000 };
	int *seqs = malloc(sizeof(int) * (LOAD_LINES + 1));
	int i, n = 0, files = 0, errors = 0, bad_order = 0, oversize = 0;
	char path[200];
	struct tmpdir t;
	struct audit_log *a;
	size_t bytes;

	if (!seqs || tmpdir_make(&t)) {
		CHECK(!"temp dir");
		free(seqs);
		return;
	}
	o.path = t.file;
	a = audit_open(&o);
	CHECK(a != NULL);
	if (!a)
		goto out;
	for (i = 0; i < LOAD_LINES; i++)
		errors += write_seq(a, i) != 0;
	audit_close(a);
	CHECK_EQ(errors, 0);

	/* oldest first: FILE.N.gz ... FILE.1.gz, then FILE */
	while (snprintf(path, sizeof(path), "%s.%d.gz", t.file, files + 1), exists(path))
		files++;
	CHECK(files > 100);
	CHECK(files < 1000);  /* nothing was dropped for lack of keep */
	for (i = files; i >= 1; i--) {
		snprintf(path, sizeof(path), "%s.%d.gz", t.file, i);
		CHECK_EQ(read_seqs(path, seqs, &n, LOAD_LINES + 1, &bytes), 0);
		oversize += bytes > LOAD_MAX_BYTES;
	}
	CHECK_EQ(read_seqs(t.file, seqs, &n, LOAD_LINES + 1, &bytes), 0);
	CHECK(bytes <= LOAD_MAX_BYTES);
	CHECK_EQ(oversize, 0);
	CHECK_EQ(n, LOAD_LINES);
	for (i = 0; i < n; i++)
		bad_order += seqs[i] != i;
	CHECK_EQ(bad_order, 0);
	snprintf(path, sizeof(path), "%s.1", t.file);
	CHECK(!exists(path));  /* no uncompressed leftover */
	snprintf(path, sizeof(path), "%s.1.gz.tmp", t.file);
	CHECK(!exists(path));
out:
	tmpdir_remove(&t);
	free(seqs);
}

TEST(audit_rotation_keeps_only_newest)
{
	struct audit_options o = { .max_bytes = 4096, .keep = 3 };
	int seqs[4000], i, n = 0, gap = 0;
	char path[200];
	struct tmpdir t;
	struct audit_log *a;
	size_t bytes;

	if (tmpdir_make(&t)) {
		CHECK(!"temp dir");
		return;
	}
	o.path = t.file;
	a = audit_open(&o);
	CHECK(a != NULL);
	if (!a)
		goto out;
	for (i = 0; i < 2000; i++)
		CHECK_EQ(write_seq(a, i), 0);
	audit_close(a);
	snprintf(path, sizeof(path), "%s.4.gz", t.file);
	CHECK(!exists(path));
	for (i = 3; i >= 1; i--) {
		snprintf(path, sizeof(path), "%s.%d.gz", t.file, i);
		CHECK_EQ(read_seqs(path, seqs, &n, 4000, &bytes), 0);
	}
	CHECK_EQ(read_seqs(t.file, seqs, &n, 4000, &bytes), 0);
	CHECK(n > 30 && n < 2000);
	CHECK_EQ(seqs[n - 1], 1999);  /* the newest lines, contiguous */
	for (i = 1; i < n; i++)
		gap += seqs[i] != seqs[i - 1] + 1;
	CHECK_EQ(gap, 0);
out:
	tmpdir_remove(&t);
}

TEST(audit_oversize_line_alone_and_leftover_recovered)
{
	struct audit_options o = { .max_bytes = 200, .keep = 2 };
	int seqs[16], n = 0;
	char path[200], gzpath[200];
	struct tmpdir t;
	struct audit_log *a;
	size_t bytes;
	FILE *f;

	if (tmpdir_make(&t)) {
		CHECK(!"temp dir");
		return;
	}
	o.path = t.file;
	/* a daemon died after moving FILE to FILE.1 and before compressing it */
	snprintf(path, sizeof(path), "%s.1", t.file);
	snprintf(gzpath, sizeof(gzpath), "%s.1.gz", t.file);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs("{\"session\":\"seq-7\"}\n", f);
		fclose(f);
	}
	a = audit_open(&o);
	CHECK(a != NULL);
	if (!a)
		goto out;
	CHECK(!exists(path));
	CHECK_EQ(read_seqs(gzpath, seqs, &n, 16, &bytes), 0);
	CHECK_EQ(n, 1);
	CHECK_EQ(seqs[0], 7);
	/* every line is > 100 bytes and max is 200: one line per file */
	CHECK_EQ(write_seq(a, 8), 0);
	CHECK_EQ(write_seq(a, 9), 0);
	CHECK_EQ(write_seq(a, 10), 0);
	audit_close(a);
	n = 0;
	snprintf(path, sizeof(path), "%s.2.gz", t.file);
	CHECK_EQ(read_seqs(path, seqs, &n, 16, &bytes), 0);
	CHECK_EQ(read_seqs(gzpath, seqs, &n, 16, &bytes), 0);
	CHECK_EQ(read_seqs(t.file, seqs, &n, 16, &bytes), 0);
	CHECK_EQ(n, 3);
	CHECK(seqs[0] == 8 && seqs[1] == 9 && seqs[2] == 10);
	snprintf(path, sizeof(path), "%s.3.gz", t.file);
	CHECK(!exists(path));  /* keep = 2: seq-7's file was dropped */
out:
	tmpdir_remove(&t);
}

TEST(audit_open_errors)
{
	struct audit_options o = { .path = "/nonexistent-dir/x/audit.log", .max_bytes = 10, .keep = 1 };

	errno = 0;
	CHECK(audit_open(&o) == NULL);
	CHECK_EQ(errno, ENOENT);
	o.path = "";
	CHECK(audit_open(&o) == NULL);
	CHECK_EQ(errno, EINVAL);
}
