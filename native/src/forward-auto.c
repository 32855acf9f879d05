/* Automatic forwarding: every FWD_TICK_MS, ask the container's network namespace which TCP sockets listen
 * (NETLINK_SOCK_DIAG with only TCP_LISTEN in the state filter: the kernel walks its listening hash alone, a few
 * µs, where reading /proc/<pid>/net/tcp walks the whole established hash of the host, ~4 ms here). A port that
 * starts listening is forwarded to the same host port or the next free one; when it stops, its automatic forward
 * goes. Ports the spec ignores, ports already forwarded, ports whose forward failed (until they stop listening)
 * and ports the user removed are skipped. */
#include "forward-int.h"

#pragma GCC optimize("Os") /* every byte of the runtime costs every container: see forward.h */

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SKIP_FAILED 0x10000u
#define SKIP_REMOVED 0x20000u
#define MAX_LISTENERS 4096
#define MAX_AUTO_FORWARDS 256

struct heard {
  uint16_t port;
  struct sockaddr_storage target; /* zeros: loopback will do */
};

static bool is_loopback_or_any(int family, const uint32_t *a) {
  if (family == AF_INET) {
    uint32_t h = ntohl(a[0]);
    return h == 0 || (h >> 24) == 127;
  }
  if (a[0] == 0 && a[1] == 0 && a[2] == 0 && (a[3] == 0 || a[3] == htonl(1))) return true; /* :: and ::1 */
  if (a[0] == 0 && a[1] == 0 && a[2] == htonl(0xffff)) {                                  /* v4-mapped */
    uint32_t h = ntohl(a[3]);
    return h == 0 || (h >> 24) == 127;
  }
  return false;
}

static int cmp_heard(const void *a, const void *b) {
  return (int)((const struct heard *)a)->port - (int)((const struct heard *)b)->port;
}

/* Append this family's listeners to *list. Returns 0 or -1 (errno). */
static int dump(struct dv_fwd *f, int family, struct heard **list, size_t *n, size_t *cap) {
  static uint32_t seq;
  struct {
    struct nlmsghdr nlh;
    struct inet_diag_req_v2 r;
  } req;
  memset(&req, 0, sizeof(req));
  req.nlh.nlmsg_len = sizeof(req);
  req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.nlh.nlmsg_seq = ++seq;
  req.r.sdiag_family = (uint8_t)family;
  req.r.sdiag_protocol = IPPROTO_TCP;
  req.r.idiag_states = 1u << TCP_LISTEN;
  struct sockaddr_nl nl = {.nl_family = AF_NETLINK};
  if (sendto(f->diag, &req, sizeof(req), 0, (struct sockaddr *)&nl, sizeof(nl)) < 0) return -1;
  static char buf[16384] __attribute__((aligned(8)));
  for (;;) {
    ssize_t len = recv(f->diag, buf, sizeof(buf), 0);
    if (len < 0 && errno == EINTR) continue;
    if (len < 0 && errno == EAGAIN) {
      struct pollfd p = {.fd = f->diag, .events = POLLIN};
      if (poll(&p, 1, 200) <= 0) return -1;
      continue;
    }
    if (len <= 0) return -1;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_seq != seq) continue;
      if (h->nlmsg_type == NLMSG_DONE) return 0;
      if (h->nlmsg_type == NLMSG_ERROR) {
        const struct nlmsgerr *e = NLMSG_DATA(h);
        errno = e->error ? -e->error : EIO;
        return -1;
      }
      if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY) continue;
      const struct inet_diag_msg *m = NLMSG_DATA(h);
      if (m->idiag_state != TCP_LISTEN || *n >= MAX_LISTENERS) continue;
      if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        struct heard *g = realloc(*list, nc * sizeof(**list));
        if (g == NULL) return -1;
        *list = g;
        *cap = nc;
      }
      struct heard *e = &(*list)[(*n)++];
      memset(e, 0, sizeof(*e));
      e->port = ntohs(m->id.idiag_sport);
      if (!is_loopback_or_any(m->idiag_family, m->id.idiag_src)) {
        if (m->idiag_family == AF_INET) {
          struct sockaddr_in *in4 = (struct sockaddr_in *)&e->target;
          in4->sin_family = AF_INET;
          memcpy(&in4->sin_addr, m->id.idiag_src, 4);
        } else {
          struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&e->target;
          in6->sin6_family = AF_INET6;
          memcpy(&in6->sin6_addr, m->id.idiag_src, 16);
        }
      }
    }
  }
}

static bool in_skip(struct dv_fwd *f, uint16_t port, uint32_t *at) {
  for (size_t i = 0; i < f->n_skip; i++) {
    if ((f->skip[i] & 0xffffu) == port) {
      if (at) *at = (uint32_t)i;
      return true;
    }
  }
  return false;
}

bool fwd_auto_skipped(struct dv_fwd *f, uint16_t port) {
  return in_skip(f, port, NULL);
}

static void add_skip(struct dv_fwd *f, uint32_t entry) {
  uint32_t at;
  if (in_skip(f, (uint16_t)(entry & 0xffffu), &at)) {
    f->skip[at] |= entry;
    return;
  }
  if (f->n_skip == f->cap_skip) {
    size_t nc = f->cap_skip ? f->cap_skip * 2 : 8;
    uint32_t *g = realloc(f->skip, nc * sizeof(uint32_t));
    if (g == NULL) return;
    f->skip = g;
    f->cap_skip = nc;
  }
  f->skip[f->n_skip++] = entry;
}

void fwd_auto_skip(struct dv_fwd *f, uint16_t port) {
  add_skip(f, port | SKIP_REMOVED);
}

static const struct dv_port_attr *attr_for(const struct dv_ports_spec *ps, uint16_t port) {
  for (size_t i = 0; ps && i < ps->n_attrs; i++)
    if (port >= ps->attrs[i].from && port <= ps->attrs[i].to) return &ps->attrs[i];
  return NULL;
}

static bool wanted(struct dv_fwd *f, uint16_t port) {
  const struct dv_ports_spec *ps = f->ports;
  if (ps == NULL) return true;
  for (size_t i = 0; i < ps->n_ignore; i++)
    if (ps->ignore[i] == port) return false;
  const struct dv_port_attr *a = attr_for(ps, port);
  if (a) return !a->ignore;
  return !ps->ignore_others;
}

static void forward_new(struct dv_fwd *f, const struct heard *h) {
  struct fwd_rule *have = fwd_rule_find(f, h->port, IPPROTO_TCP);
  if (have) {
    if (have->target.ss_family == 0 && h->target.ss_family != 0) have->target = h->target;
    return;
  }
  if (!wanted(f, h->port) || fwd_auto_skipped(f, h->port)) return;
  unsigned autos = 0;
  for (struct fwd_rule *r = f->rules; r; r = r->next) autos += r->req.source == SRC_AUTO;
  if (autos >= MAX_AUTO_FORWARDS) { /* a container listening on thousands of ports does not get thousands of host ports */
    struct dv_port_fwd req = {.container_port = h->port, .proto = IPPROTO_TCP, .source = SRC_AUTO};
    fwd_log_event(f, "failed", NULL, &req, "EMFILE", "too many automatic forwards (256): not forwarded");
    add_skip(f, h->port | SKIP_FAILED);
    return;
  }
  struct dv_port_fwd req;
  memset(&req, 0, sizeof(req));
  req.container_port = h->port;
  req.proto = IPPROTO_TCP;
  req.source = SRC_AUTO;
  const struct dv_port_attr *a = attr_for(f->ports, h->port);
  if (a) {
    req.require_local = a->require_local;
    memcpy(req.label, a->label, sizeof(req.label));
  }
  char warn[512];
  struct dv_error err;
  struct fwd_rule *r = fwd_rule_add(f, &req, warn, sizeof(warn), &err);
  if (r == NULL) {
    fwd_log_event(f, "failed", NULL, &req, dv_errno_name(err.errnum), err.message);
    add_skip(f, h->port | SKIP_FAILED);
    return;
  }
  r->target = h->target;
  fwd_log_event(f, "forwarded", r, NULL, NULL, warn[0] ? warn : NULL);
}

static void forget(struct dv_fwd *f, uint16_t port) {
  struct fwd_rule *r = fwd_rule_find(f, port, IPPROTO_TCP);
  if (r && r->req.source == SRC_AUTO) {
    fwd_log_event(f, "removed", r, NULL, NULL, "the container stopped listening");
    fwd_rule_remove(f, r);
  }
  uint32_t at;
  if (in_skip(f, port, &at)) {
    f->skip[at] &= ~SKIP_FAILED;
    if (!(f->skip[at] & SKIP_REMOVED)) f->skip[at] = f->skip[--f->n_skip];
  }
}

void fwd_auto_scan(struct dv_fwd *f) {
  if (f->diag < 0) {
    f->diag = fwd_ns_open(f, AF_NETLINK, SOCK_RAW, NETLINK_SOCK_DIAG);
    if (f->diag < 0) {
      char msg[160];
      snprintf(msg, sizeof(msg), "automatic forwarding is off: cannot watch the container's listening ports (%s)",
               strerror(errno));
      fwd_log_event(f, "failed", NULL, NULL, dv_errno_name(errno), msg);
      f->auto_on = false;
      return;
    }
  }
  struct heard *list = NULL;
  size_t n = 0, cap = 0;
  if (dump(f, AF_INET, &list, &n, &cap) < 0 || dump(f, AF_INET6, &list, &n, &cap) < 0) {
    free(list);
    return; /* try again at the next tick */
  }
  qsort(list, n, sizeof(*list), cmp_heard);
  /* one entry per port; a loopback or wildcard listener wins over a specific address */
  size_t u = 0;
  for (size_t i = 0; i < n; i++) {
    if (u > 0 && list[u - 1].port == list[i].port) {
      if (list[i].target.ss_family == 0) list[u - 1].target = list[i].target;
      continue;
    }
    list[u++] = list[i];
  }
  n = u;
  bool same = n == f->n_seen;
  for (size_t i = 0; same && i < n; i++) same = list[i].port == f->seen[i];
  if (same) {
    free(list);
    return;
  }
  bool changed = false;
  /* gone: in seen, not in list */
  for (size_t i = 0, j = 0; i < f->n_seen; i++) {
    while (j < n && list[j].port < f->seen[i]) j++;
    if (j >= n || list[j].port != f->seen[i]) {
      forget(f, f->seen[i]);
      changed = true;
    }
  }
  /* new: in list, not in seen */
  for (size_t j = 0, i = 0; j < n; j++) {
    while (i < f->n_seen && f->seen[i] < list[j].port) i++;
    if (i >= f->n_seen || f->seen[i] != list[j].port) {
      forward_new(f, &list[j]);
      changed = true;
    }
  }
  if (n > f->cap_seen) {
    uint16_t *g = realloc(f->seen, n * sizeof(uint16_t));
    if (g == NULL) {
      free(list);
      return;
    }
    f->seen = g;
    f->cap_seen = n;
  }
  for (size_t i = 0; i < n; i++) f->seen[i] = list[i].port;
  f->n_seen = n;
  free(list);
  if (changed) fwd_state_write(f);
}
