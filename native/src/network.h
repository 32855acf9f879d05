/* Private networking (docs/networking.md): a container's own network namespace with outbound access through
 * slirp4netns, started by the monitor, and the container-side part of its set-up. */
#ifndef DV_NETWORK_H
#define DV_NETWORK_H

#include "dv.h"

#include <sys/types.h>

struct dv_spec;

enum dv_net_mode { DV_NET_UNSET = 0, DV_NET_HOST, DV_NET_NONE, DV_NET_PRIVATE };

/* config.json's devenv.network (docs/runtime-contract.md). Absent: the namespaces alone decide (no helper). */
struct dv_net_spec {
  enum dv_net_mode mode;
  const char *helper; /* private: absolute path of slirp4netns */
  unsigned mtu;       /* private: MTU of eth0 (65520 by default) */
  bool ipv6;          /* private: IPv6 too (fd00::100/64, gateway fd00::2) */
};

/* The fixed layout of a private network namespace (slirp4netns's defaults; the CLI writes /etc/hosts and
 * /etc/resolv.conf from the same numbers, src/runtime/network/network-files.ts). */
#define DV_NET_IFNAME "eth0"
#define DV_NET_ADDR6 "fd00::100"
#define DV_NET_GATEWAY6 "fd00::2"

/* Parse devenv.network (NULL or null: absent). Returns 0, or -1 with *err naming the bad field. (spec.c) */
int dv_net_parse(json_t *obj, struct dv_net_spec *out, struct dv_error *err);

/* Monitor, after the container's first process (pid) exists in its namespaces and has its id maps, before it
 * may continue: start the egress helper for its network namespace and wait until the interface is configured.
 * Nothing to do (0) unless the mode is private. The helper ends with the container: its exit fd is a pidfd of the
 * container's init (POLLHUP once it is reaped), it has PR_SET_PDEATHSIG for a killed monitor, and the monitor sends
 * it SIGKILL at exit (atexit) in case it is still there. It never lives in the container's process, mount or pid
 * namespaces. Returns 0, or -1 with *err (syscall "slirp4netns"). */
int dv_net_start(const struct dv_spec *s, pid_t pid, struct dv_error *err);

/* Container side, in the new network namespace as root of the container's user namespace (before mounts):
 * the static IPv6 address and route (SLAAC would take seconds). Returns 0 or -1 with *err. */
int dv_net_setup_inside(const struct dv_spec *s, struct dv_error *err);

#endif
