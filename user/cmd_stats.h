/* `mcpfence stats` and `mcpfence top`. argv[0] is the subcommand name,
 * options follow. They read the pinned maps directly, so they work while
 * the daemon is stopped. Return the process exit code: 0 ok, 1 error,
 * 2 usage. */
#ifndef MCPF_CMD_STATS_H
#define MCPF_CMD_STATS_H

int cmd_stats(int argc, char **argv);
int cmd_top(int argc, char **argv);

#endif /* MCPF_CMD_STATS_H */
