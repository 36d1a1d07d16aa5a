/* Subcommands of the mcpfence binary: each takes argv starting at its own
 * name and returns the process exit code. */
#ifndef MCPF_COMMANDS_H
#define MCPF_COMMANDS_H

#include "cmd_approvals.h" /* cmd_approvals, cmd_approve, cmd_deny */
#include "cmd_policy.h"  /* cmd_policy */
#include "cmd_stats.h"   /* cmd_stats, cmd_top */
#include "cmd_tools.h"   /* cmd_tools, cmd_suggest */

int cmd_run(int argc, char **argv);

#endif
