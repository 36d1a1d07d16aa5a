/* policy: the loader and validator, then every condition it stored
 * compiled and evaluated. Input: policy text, optionally a NUL and the
 * arguments of a call to evaluate the conditions with. Host names in
 * endpoints are never looked up here (see getaddrinfo below). */

#include <dlfcn.h>
#include <netdb.h>

#include "policy_conditions.h"
#include "fuzz.h"
#include "policy.h"

/* Overrides libc's (and ASan's interceptor) for this program: numeric
 * addresses and "localhost" resolve as usual, any other name fails, so
 * fuzzing never sends a DNS query anywhere. */
int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res)
{
	static int (*real)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
	struct addrinfo h = hints ? *hints : (struct addrinfo){0};

	if (!real)
		real = (int (*)(const char *, const char *, const struct addrinfo *, struct addrinfo **))dlsym(
			RTLD_NEXT, "getaddrinfo");
	if (node && strcmp(node, "localhost"))
		h.ai_flags |= AI_NUMERICHOST;
	else if (node)
		node = "127.0.0.1";
	return real(node, service, &h, res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *nul = memchr(in, '\0', size);
	size_t plen = nul ? (size_t)(nul - in) : size;
	char *text = malloc(plen ? plen : 1);
	struct policy_errors errs = {0};
	struct policy *policy = NULL;
	cJSON *args = nul ? cJSON_ParseWithLength(nul + 1, size - plen - 1) : NULL;

	memcpy(text, in, plen);
	if (policy_parse("fuzz.json", text, plen, &policy, &errs) == 0) {
		FUZZ_ASSERT(policy && errs.n == 0);
		for (size_t s = 0; s < policy->n_servers; s++) {
			const struct policy_server *srv = &policy->servers[s];
			FUZZ_ASSERT(memchr(srv->name, '\0', sizeof(srv->name)));
			for (size_t t = 0; t < srv->n_tools; t++) {
				const struct policy_tool *tool = &srv->tools[t];
				FUZZ_ASSERT(memchr(tool->name, '\0', sizeof(tool->name)));
				for (unsigned c = 0; c < tool->rule.conditions; c++) {
					struct compiled_cond cc = {.cond = tool->cond[c]};
					condition_compile(&cc);
					FUZZ_ASSERT(cc.usable);
					(void)condition_eval(&cc, args);
					condition_release(&cc);
				}
			}
		}
		policy_free(policy);
	} else {
		FUZZ_ASSERT(errs.n > 0);
		for (size_t i = 0; i < errs.n; i++)
			FUZZ_ASSERT(!strncmp(errs.line[i], "fuzz.json:", 10));
	}
	policy_errors_free(&errs);
	cJSON_Delete(args);
	free(text);
	return 0;
}
