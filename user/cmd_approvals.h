/* The operator's commands on the control socket (approval_ctl.h):
 *   mcpfence approvals [--watch] [--json] [--control PATH]
 *   mcpfence approve ID [--remember 10m] [--control PATH]
 *   mcpfence deny ID [--reason TEXT] [--control PATH]
 * Exit 0 on success, 1 when the daemon refused or is unreachable, 2 on
 * bad usage. argv[0] is the command's name. */
#ifndef MCPF_CMD_APPROVALS_H
#define MCPF_CMD_APPROVALS_H

int cmd_approvals(int argc, char **argv);
int cmd_approve(int argc, char **argv);
int cmd_deny(int argc, char **argv);

#endif
