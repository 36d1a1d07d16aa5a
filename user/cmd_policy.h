/* `mcpfence policy check FILE...`. argv[0] is "policy". Prints
 * "FILE: ok (N servers, M endpoints, K rules)" (K = tool entries,
 * "*" and hidden-only tools included) on stdout and exits 0, or prints
 * every "FILE:FIELD: REASON" on stderr and exits 1; 2 on bad usage. */
#ifndef MCPF_CMD_POLICY_H
#define MCPF_CMD_POLICY_H

int cmd_policy(int argc, char **argv);

#endif /* MCPF_CMD_POLICY_H */
