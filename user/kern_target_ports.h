/* kern_target_ports: for each port in the targets map, the registered
 * addresses on it, derived from targets after every change. connect4/6
 * use it to match a destination that reaches the same listening socket
 * as a registered address (a server bound to a wildcard address). */
#ifndef MCPF_KERN_TARGET_PORTS_H
#define MCPF_KERN_TARGET_PORTS_H

/* Rebuild ports_fd from targets_fd: 0 or -errno. */
int kern_target_ports_sync(int targets_fd, int ports_fd);

#endif
