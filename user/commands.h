/* Subcommands of the mcpfence binary: each takes argv starting at its own name. */
#ifndef MCPF_COMMANDS_H
#define MCPF_COMMANDS_H

int cmd_run(int argc, char **argv);

#endif
