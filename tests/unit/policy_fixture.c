/* Private bpffs + skeleton maps for the policy unit tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "kern_loader.h"
#include "mcpfence.skel.h"
#include "policy_fixture.h"

static int open_skeleton(struct policy_fixture *f)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = f->dir);
	struct bpf_program *prog;

	f->skel = mcpfence__open_opts(&opts);
	if (!f->skel)
		return -1;
	/* Maps only: the policy code never needs the programs. */
	bpf_object__for_each_program(prog, f->skel->obj)
		bpf_program__set_autoload(prog, false);
	if (mcpfence__load(f->skel)) {
		mcpfence__destroy(f->skel);
		f->skel = NULL;
		return -1;
	}
	kern_policy_maps(f->skel, &f->maps);
	return 0;
}

int fixture_open(struct policy_fixture *f)
{
	memset(f, 0, sizeof(*f));
	strcpy(f->dir, "/tmp/mcpf-unit-bpffs-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	if (mount("bpf", f->dir, "bpf", 0, NULL)) {
		perror("mount bpffs");
		rmdir(f->dir);
		return -1;
	}
	if (open_skeleton(f)) {
		umount2(f->dir, MNT_DETACH);
		rmdir(f->dir);
		return -1;
	}
	return 0;
}

int fixture_reopen(struct policy_fixture *f)
{
	policy_maps_release(&f->maps);
	mcpfence__destroy(f->skel);
	return open_skeleton(f);
}

void fixture_close(struct policy_fixture *f)
{
	policy_maps_release(&f->maps);
	mcpfence__destroy(f->skel);
	umount2(f->dir, MNT_DETACH);
	rmdir(f->dir);
}

struct policy *policy_from(const char *squoted)
{
	struct policy_errors errs = {0};
	struct policy *policy;
	char *text = strdup(squoted);

	if (!text)
		abort();
	for (char *p = text; *p; p++)
		if (*p == '\'')
			*p = '"';
	if (policy_parse("test.json", text, strlen(text), &policy, &errs))
		for (size_t i = 0; i < errs.n; i++)
			printf("  %s\n", errs.line[i]);
	policy_errors_free(&errs);
	free(text);
	return policy;
}

int fixture_compile(struct policy_fixture *f, const char *squoted)
{
	struct policy *policy = policy_from(squoted);
	char err[256];
	int rc;

	if (!policy)
		return -1;
	rc = policy_compile(&f->maps, policy, err, sizeof(err));
	if (rc)
		printf("  compile: %s\n", err);
	policy_free(policy);
	return rc;
}
