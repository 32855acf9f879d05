/* Port forwarding in the monitor (docs/networking.md, "Port forwarding"): host listeners for the forwards in
 * config.json's devenv.ports, a connection made inside the container's network namespace for each client,
 * splice() relays, automatic forwarding of the container's TCP listeners, and the control socket
 * <bundle>/ports.sock. The monitor polls one fd (an epoll set) and calls dv_fwd_dispatch when it is readable.
 *
 * Memory: each monitor runs from its own sealed memfd copy of the runtime, resident for the container's life, so
 * every KiB of code here costs every container a KiB, used or not. These files are compiled with -Os (~29 KiB of
 * text), and a container without devenv.ports gets no forwarder at all (no epoll set, no ports.sock). */
#ifndef DV_FORWARD_H
#define DV_FORWARD_H

#include "dv.h"

#include <sys/types.h>

struct dv_spec;
struct dv_ports_spec; /* parsed devenv.ports (forward-ctl.c) */
struct dv_fwd;        /* one container's forwarder */

/* Parse config.json's devenv.ports (NULL or null: nothing). Returns 0 with *out (NULL when absent), or -1 with
 * *err naming the bad field. Called from spec.c. */
int dv_ports_parse(json_t *ports, struct dv_ports_spec **out, struct dv_error *err);

/* Before the container exists: bind the configured forwards' host listeners (a taken port with requireLocalPort
 * fails with EADDRINUSE "host port N is in use"; without it the next free port is used and a warning goes to
 * sync_fd). *out stays NULL when the spec has no devenv.ports (nothing to serve: no ports.sock either) or when the
 * container shares the host's network namespace (a warning says configured forwards are ignored). Returns 0 or -1
 * with *err. */
int dv_fwd_open(const struct dv_spec *s, int bundle_fd, int sync_fd, struct dv_fwd **out, struct dv_error *err);

/* After the container started (pid: its init as the host sees it): reach its network namespace, start the
 * control socket, ports.json and automatic forwarding. Problems are warnings on sync_fd: forwarding is never a
 * reason to stop a container that runs. */
void dv_fwd_attach(struct dv_fwd *f, pid_t pid, int sync_fd);

/* The fd the monitor polls for POLLIN (an epoll set). */
int dv_fwd_fd(const struct dv_fwd *f);

/* Handle what is ready; never blocks for long. */
void dv_fwd_dispatch(struct dv_fwd *f);

/* Close every listener and connection, remove ports.sock and ports.json, free f (NULL is fine). */
void dv_fwd_close(struct dv_fwd *f);

#endif
