/* mcpfence tools / mcpfence suggest: the tool inventory and a starter
 * policy from it. */
#ifndef MCPF_CMD_TOOLS_H
#define MCPF_CMD_TOOLS_H

int cmd_tools(int argc, char **argv);
int cmd_suggest(int argc, char **argv);

#endif
