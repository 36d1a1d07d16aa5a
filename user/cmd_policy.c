/* `mcpfence policy check FILE...`: validate policy files the way the
 * daemon loads them, without touching any map. */
#include <stdio.h>
#include <string.h>

#include "cmd_policy.h"
#include "policy.h"

static int check(const char *file)
{
	struct policy_errors errs = {0};
	struct policy *policy;

	if (policy_load(file, &policy, &errs)) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.line[i]);
		policy_errors_free(&errs);
		return 1;
	}
	size_t names = 0;

	for (size_t i = 0; i < policy->n_servers; i++)
		names += policy->servers[i].n_hostnames;
	printf("%s: ok (%zu servers, %zu endpoints, ", file, policy->n_servers, policy->n_endpoints);
	if (names)  /* resolved by the daemon, not here: DNS may be down now */
		printf("%zu host names, ", names);
	printf("%zu rules)\n", policy->n_tools);
	policy_free(policy);
	return 0;
}

int cmd_policy(int argc, char **argv)
{
	int rc = 0;

	if (argc < 3 || strcmp(argv[1], "check")) {
		fprintf(stderr, "usage: mcpfence policy check FILE...\n");
		return 2;
	}
	for (int i = 2; i < argc; i++)
		rc |= check(argv[i]);
	return rc;
}
