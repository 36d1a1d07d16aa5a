/* The endpoints a policy file registers for interception. */
#ifndef MCPF_TARGETS_H
#define MCPF_TARGETS_H

#include "bpf_loader.h"

/* Reads servers.NAME.endpoints from the policy file. Returns the number of
 * targets (array in *out, free() it) or -1 after printing file:field:
 * reason for every error. */
int targets_load(const char *file, struct target **out);

#endif
