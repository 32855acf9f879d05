/* Sockets connected from inside a running container (devenv ssh: direct-tcpip and direct-streamlocal), and the
 * host pseudo-terminals its PTY sessions relay through. Plain C, no Node: the addon (addon.cc) calls these. */
#ifndef DV_CONTAINER_CONNECT_H
#define DV_CONTAINER_CONNECT_H

#include <sys/socket.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Connect a stream socket to `addr` from inside the namespaces of process `pid` (a container's init): a helper
 * forked for the purpose joins pid's user namespace when it differs from ours, then its network namespace (for
 * AF_INET/AF_INET6) or its mount namespace (AF_UNIX: the path is resolved in the container's filesystem), makes
 * and connects the socket (at most `timeout_ms`) and hands it back over SCM_RIGHTS. A forked helper rather than a
 * thread: setns(CLONE_NEWUSER) refuses multithreaded callers, and a thread's setns would leak into the libuv
 * pool. Returns a close-on-exec connected fd, or -1 with errno set (the connect's own errno, e.g. ECONNREFUSED). */
int dv_connect_in_container(pid_t pid, const struct sockaddr *addr, socklen_t addr_len, int timeout_ms);

/* A new host pseudo-terminal pair with the given size (0 = leave as is): 0 with *master and *slave (both
 * close-on-exec, O_NOCTTY), or -1 with errno. */
int dv_host_pty_open(int rows, int cols, int *master, int *slave);

/* TIOCSWINSZ on fd. 0, or -1 with errno. */
int dv_set_winsize(int fd, int rows, int cols);

#ifdef __cplusplus
}
#endif

#endif
