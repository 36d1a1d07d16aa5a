/* Real policy maps for unit tests: the skeleton's maps (programs not
 * loaded), pinned in a private bpffs mount, so tests exercise the same
 * BTF-typed maps the daemon uses and can "restart" by reopening the pins.
 *
 *   MAPS_TEST(name) { ... f->maps ... }
 *
 * declares a test that gets a fresh fixture in f; the fixture is torn down
 * (skeleton closed, bpffs unmounted, directory removed) even when a CHECK
 * in the body fails, because CHECK only returns from the body.
 */
#ifndef MCPF_POLICY_FIXTURE_H
#define MCPF_POLICY_FIXTURE_H

#include "harness.h"
#include "policy.h"
#include "policy_compile.h"

struct policy_fixture {
	char dir[64];
	struct mcpfence *skel;
	struct policy_maps maps;
};

int fixture_open(struct policy_fixture *f);
/* Close and reopen the skeleton on the same pins: a daemon restart. */
int fixture_reopen(struct policy_fixture *f);
void fixture_close(struct policy_fixture *f);

/* Parses a policy written with ' for " (test readability). NULL if it
 * does not validate; the errors are printed. */
struct policy *policy_from(const char *squoted);

/* policy_from + policy_compile into f's maps; 0 on success. */
int fixture_compile(struct policy_fixture *f, const char *squoted);

#define MAPS_TEST(name)                                                   \
	static void name##_body(struct policy_fixture *f);                \
	TEST(name)                                                        \
	{                                                                 \
		struct policy_fixture fixture;                            \
		CHECK(fixture_open(&fixture) == 0);                       \
		name##_body(&fixture);                                    \
		fixture_close(&fixture);                                  \
	}                                                                 \
	static void name##_body(struct policy_fixture *f)

#endif /* MCPF_POLICY_FIXTURE_H */
