/* Port forwarding: rules (host listeners), the TCP relay, and the event loop the monitor drives.
 *
 * Each accepted client gets a socket created inside the container's network namespace (forward-ns.c) and
 * connected to loopback:containerPort there, so servers that listen on 127.0.0.1 in the container work. Bytes
 * move with splice() through one pipe per direction: never more than a pipe's worth in flight per direction
 * (bounded memory for slow readers); a direction reads only when its pipe is empty and writes only what is in
 * it, and an fd is in the epoll set only while we want something from it, so nothing ever spins. EOF becomes
 * shutdown(SHUT_WR) on the other side once the pipe drained; an error or RST resets both sides. */
#include "forward-int.h"

#pragma GCC optimize("Os") /* every byte of the runtime costs every container: see forward.h */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define PIPE_CHUNK (1 << 20) /* splice asks for this much; the pipe's size bounds it */
#define PUMP_ROUNDS 8        /* per event and direction, for fairness between connections */
#define ACCEPTS_PER_EVENT 32

long fwd_ms_between(const struct timespec *a, const struct timespec *b) {
  return (b->tv_sec - a->tv_sec) * 1000 + (b->tv_nsec - a->tv_nsec) / 1000000;
}

int fwd_ep_set(struct dv_fwd *f, int fd, struct fwd_ep *ep, uint32_t *reg, uint32_t want) {
  if (want == *reg) return 0;
  struct epoll_event ev = {.events = want, .data.ptr = ep};
  int rc;
  if (want == 0)
    rc = epoll_ctl(f->ep, EPOLL_CTL_DEL, fd, NULL);
  else
    rc = epoll_ctl(f->ep, *reg ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev);
  if (rc == 0) *reg = want;
  return rc;
}

void fwd_reset_fd(int fd) {
  if (fd < 0) return;
  struct linger lg = {.l_onoff = 1, .l_linger = 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  close(fd);
}

/* ---- listeners ----------------------------------------------------------------- */

static int parse_ip(const char *ip, struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof(*ss));
  struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, ip, &in4->sin_addr) == 1) {
    in4->sin_family = AF_INET;
    *len = sizeof(*in4);
    return 0;
  }
  if (inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    *len = sizeof(*in6);
    return 0;
  }
  return -1;
}

static void set_port(struct sockaddr_storage *ss, uint16_t port) {
  if (ss->ss_family == AF_INET)
    ((struct sockaddr_in *)ss)->sin_port = htons(port);
  else
    ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

/* Bind one listener; returns the fd or -errno. */
static int bind_one(const char *ip, uint16_t port, uint8_t proto, uint16_t *got) {
  struct sockaddr_storage ss;
  socklen_t len;
  if (parse_ip(ip, &ss, &len) < 0) return -EINVAL;
  set_port(&ss, port);
  int fd = socket(ss.ss_family, (proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int one = 1;
  if (proto == IPPROTO_TCP) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (ss.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  if (bind(fd, (struct sockaddr *)&ss, len) < 0 || (proto == IPPROTO_TCP && listen(fd, 511) < 0)) {
    int e = errno;
    close(fd);
    return -e;
  }
  if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
    *got = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port : ((struct sockaddr_in6 *)&ss)->sin6_port);
  return fd;
}

static void close_listeners(struct fwd_rule *r) {
  for (int i = 0; i < r->n_listen; i++) {
    if (r->lfd[i] >= 0) close(r->lfd[i]);
    r->lfd[i] = -1;
  }
  r->n_listen = 0;
  r->registered = false;
}

/* Bind every address of r at port (0: any, the same for all). Returns 0 or an errno. */
static int bind_rule(struct fwd_rule *r, uint16_t port) {
  const char *ips[FWD_MAX_LISTENERS] = {r->req.host_ip, NULL};
  int n = 1;
  if (r->req.host_ip[0] == '\0') {
    ips[0] = "127.0.0.1";
    ips[1] = "::1";
    n = 2;
  }
  r->n_listen = 0;
  uint16_t at = port;
  for (int i = 0; i < n; i++) {
    uint16_t got = 0;
    int fd = bind_one(ips[i], at, r->req.proto, &got);
    if (fd == -EADDRNOTAVAIL || fd == -EAFNOSUPPORT) {
      if (i > 0) continue; /* no IPv6 loopback on this host: 127.0.0.1 alone */
    }
    if (fd < 0) {
      close_listeners(r);
      return -fd;
    }
    r->lfd[r->n_listen] = fd;
    snprintf(r->laddr[r->n_listen], FWD_IP_MAX, "%s", ips[i]);
    r->n_listen++;
    at = got;
  }
  r->host_port = at;
  return 0;
}

static void register_listeners(struct dv_fwd *f, struct fwd_rule *r, bool on) {
  for (int i = 0; i < r->n_listen; i++) {
    uint32_t reg = r->registered ? EPOLLIN : 0;
    fwd_ep_set(f, r->lfd[i], &r->lep[i], &reg, on ? EPOLLIN : 0);
  }
  r->registered = on;
}

static const char *proto_name(uint8_t proto) {
  return proto == IPPROTO_UDP ? "udp" : "tcp";
}

struct fwd_rule *fwd_rule_find(struct dv_fwd *f, uint16_t container_port, uint8_t proto) {
  for (struct fwd_rule *r = f->rules; r; r = r->next)
    if (!r->dead && r->req.container_port == container_port && r->req.proto == proto) return r;
  return NULL;
}

struct fwd_rule *fwd_rule_add(struct dv_fwd *f, const struct dv_port_fwd *req, char *warn, size_t warn_len,
                              struct dv_error *err) {
  if (warn) warn[0] = '\0';
  struct fwd_rule *r = calloc(1, sizeof(*r));
  if (r == NULL) {
    dv_fail(err, ENOMEM, NULL, NULL, "out of memory");
    return NULL;
  }
  r->req = *req;
  for (int i = 0; i < FWD_MAX_LISTENERS; i++) {
    r->lfd[i] = -1;
    r->lep[i] = (struct fwd_ep){.kind = req->proto == IPPROTO_UDP ? EP_UDP_LISTEN : EP_LISTEN, .idx = (uint8_t)i, .owner = r};
  }
  r->pref_family = AF_INET;
  uint16_t want = req->host_port_any ? 0 : (req->host_port ? req->host_port : req->container_port);
  int e = bind_rule(r, want), first = e;
  if ((e == EADDRINUSE || e == EACCES) && want != 0) {
    if (req->require_local) {
      dv_fail(err, 0, "bind", NULL, "host port %u %s", want, e == EACCES ? "needs privileges to bind" : "is in use");
      err->errnum = e; /* errno-shaped, without strerror's words after ours */
      free(r);
      return NULL;
    }
    for (unsigned p = (unsigned)want + 1; p <= 65535 && p <= (unsigned)want + 100 && (e == EADDRINUSE || e == EACCES); p++)
      e = bind_rule(r, (uint16_t)p);
    if (e == EADDRINUSE || e == EACCES) e = bind_rule(r, 0);
    if (e == 0 && warn)
      snprintf(warn, warn_len, "host port %u is %s; container port %u/%s is forwarded to %s:%u instead", want,
               first == EACCES ? "privileged" : "in use", req->container_port, proto_name(req->proto),
               r->laddr[0], r->host_port);
  }
  if (e != 0) {
    const char *ip = req->host_ip[0] ? req->host_ip : "127.0.0.1";
    if (e == EADDRNOTAVAIL) {
      dv_fail(err, 0, "bind", NULL, "host address %s is not available for port %u", ip, want);
      err->errnum = e;
    } else
      dv_fail(err, e, "bind", NULL, "forward host port %u (%s) to container port %u/%s", want, ip,
              req->container_port, proto_name(req->proto));
    free(r);
    return NULL;
  }
  dv_iso_now(r->since, sizeof(r->since));
  struct fwd_rule **tail = &f->rules;
  while (*tail) tail = &(*tail)->next;
  *tail = r;
  if (!f->paused || req->proto == IPPROTO_UDP) register_listeners(f, r, true);
  return r;
}

void fwd_rule_remove(struct dv_fwd *f, struct fwd_rule *r) {
  for (struct fwd_rule **p = &f->rules; *p; p = &(*p)->next) {
    if (*p == r) {
      *p = r->next;
      break;
    }
  }
  close_listeners(r); /* closing removes them from the epoll set */
  fwd_udp_close_rule(f, r);
  for (struct fwd_conn *c = f->conns; c; c = c->next)
    if (c->rule == r) c->rule = NULL; /* established connections stay */
  r->dead = true;
  r->next = f->grave_rules;
  f->grave_rules = r;
}

/* ---- pausing when out of fds ---------------------------------------------------- */

void fwd_pause_listeners(struct dv_fwd *f, int errnum) {
  clock_gettime(CLOCK_MONOTONIC, &f->paused_until);
  struct timespec now = f->paused_until;
  f->paused_until.tv_nsec += 250 * 1000000L;
  if (f->paused_until.tv_nsec >= 1000000000L) {
    f->paused_until.tv_sec++;
    f->paused_until.tv_nsec -= 1000000000L;
  }
  if (!f->paused) {
    for (struct fwd_rule *r = f->rules; r; r = r->next)
      if (r->req.proto == IPPROTO_TCP) register_listeners(f, r, false);
    f->paused = true;
  }
  if (f->last_pause_log.tv_sec == 0 || fwd_ms_between(&f->last_pause_log, &now) > 5000) {
    f->last_pause_log = now;
    char msg[160];
    snprintf(msg, sizeof(msg), "out of file descriptors or memory (%s): new connections wait", dv_errno_name(errnum));
    fwd_log_event(f, "failed", NULL, NULL, dv_errno_name(errnum), msg);
  }
  fwd_timer_update(f);
}

static void resume_listeners(struct dv_fwd *f) {
  f->paused = false;
  f->cap_paused = false;
  for (struct fwd_rule *r = f->rules; r; r = r->next)
    if (r->req.proto == IPPROTO_TCP && !r->registered) register_listeners(f, r, true);
}

/* ---- timer ------------------------------------------------------------------------ */

static bool udp_clients_exist(struct dv_fwd *f) {
  for (struct fwd_rule *r = f->rules; r; r = r->next)
    if (r->n_udp_clients > 0) return true;
  return false;
}

void fwd_timer_update(struct dv_fwd *f) {
  bool need = !f->closing && ((f->auto_on && f->attached) || f->paused || udp_clients_exist(f));
  if (need == f->timer_on) return;
  if (f->tfd < 0) {
    f->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (f->tfd < 0) return;
    f->tep = (struct fwd_ep){.kind = EP_TIMER, .owner = f};
    uint32_t reg = 0;
    fwd_ep_set(f, f->tfd, &f->tep, &reg, EPOLLIN);
  }
  struct itimerspec its;
  memset(&its, 0, sizeof(its));
  if (need) {
    its.it_interval.tv_nsec = FWD_TICK_MS * 1000000L;
    its.it_value.tv_nsec = FWD_TICK_MS * 1000000L;
  }
  if (timerfd_settime(f->tfd, 0, &its, NULL) == 0) f->timer_on = need;
}

static void on_tick(struct dv_fwd *f) {
  uint64_t ticks;
  while (read(f->tfd, &ticks, sizeof(ticks)) > 0) {
  }
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  if (f->paused && fwd_ms_between(&f->paused_until, &now) >= 0) resume_listeners(f);
  fwd_udp_expire(f, &now);
  if (f->auto_on && f->attached) fwd_auto_scan(f);
  fwd_timer_update(f);
}

/* ---- TCP connections -------------------------------------------------------------- */

static void pipe_close(struct dv_fwd *f, struct fwd_conn *c, int d) {
  for (int k = 0; k < 2; k++) {
    if (c->pipe[d][k] >= 0) close(c->pipe[d][k]);
    c->pipe[d][k] = -1;
  }
  if (c->grown[d] == 1) f->grown_pipes--;
  c->grown[d] = 0;
}

static void conn_close(struct dv_fwd *f, struct fwd_conn *c, bool reset) {
  if (c->dead) return;
  for (int i = 0; i < 2; i++) {
    if (reset)
      fwd_reset_fd(c->fd[i]);
    else if (c->fd[i] >= 0)
      close(c->fd[i]);
    c->fd[i] = -1;
    pipe_close(f, c, i);
  }
  if (c->prev)
    c->prev->next = c->next;
  else
    f->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  c->dead = true;
  c->next = f->grave;
  f->grave = c;
  f->n_conns--;
  if (f->cap_paused && !f->closing) resume_listeners(f);
}

static void loopback(int family, struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof(*ss));
  if (family == AF_INET) {
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    in4->sin_family = AF_INET;
    in4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    *len = sizeof(*in4);
  } else {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    in6->sin6_family = AF_INET6;
    in6->sin6_addr = in6addr_loopback;
    *len = sizeof(*in6);
  }
}

/* Start connecting side 1 inside the container. Returns 0 (connected or in progress) or -1 with errno. */
static int conn_connect(struct dv_fwd *f, struct fwd_conn *c) {
  int fd = fwd_ns_open(f, c->family, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  struct sockaddr_storage ss;
  socklen_t len;
  if (c->target.ss_family == c->family) {
    ss = c->target;
    len = c->family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
  } else {
    loopback(c->family, &ss, &len);
  }
  set_port(&ss, c->container_port);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  c->fd[1] = fd;
  c->connecting = true;
  if (connect(fd, (struct sockaddr *)&ss, len) == 0) {
    c->connecting = false;
    return 0;
  }
  if (errno == EINPROGRESS) return 0;
  int e = errno;
  close(fd);
  c->fd[1] = -1;
  errno = e;
  return -1;
}

/* The wanted events of both sides, from the state of both directions. */
static void conn_update(struct dv_fwd *f, struct fwd_conn *c) {
  uint32_t want[2] = {0, 0};
  if (c->connecting) {
    want[1] = EPOLLOUT;
  } else {
    for (int d = 0; d < 2; d++) {
      if (!c->eof[d] && c->inpipe[d] == 0) want[d] |= EPOLLIN;
      if (c->inpipe[d] > 0) want[!d] |= EPOLLOUT;
    }
  }
  for (int i = 0; i < 2; i++) {
    if (c->fd[i] >= 0 && fwd_ep_set(f, c->fd[i], &c->ep[i], &c->reg[i], want[i]) < 0) {
      conn_close(f, c, true);
      return;
    }
  }
}

/* Move what can move in direction d. Returns -1 when the connection must be reset. */
static int pump(struct dv_fwd *f, struct fwd_conn *c, int d) {
  int src = c->fd[d], dst = c->fd[!d];
  for (int round = 0; round < PUMP_ROUNDS; round++) {
    if (c->inpipe[d] == 0 && !c->eof[d]) {
      if (c->pipe[d][0] < 0 && pipe2(c->pipe[d], O_NONBLOCK | O_CLOEXEC) < 0) {
        c->pipe[d][0] = c->pipe[d][1] = -1;
        if (errno == EMFILE || errno == ENFILE || errno == ENOMEM) fwd_pause_listeners(f, errno);
        return -1;
      }
      ssize_t n = splice(src, NULL, c->pipe[d][1], NULL, PIPE_CHUNK, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) {
        c->inpipe[d] += (size_t)n;
        c->moved[d] += (uint64_t)n;
        if (c->grown[d] == 0 && c->moved[d] >= FWD_BULK_AFTER) {
          /* best effort: pipe-max-size and the per-user pipe limits may refuse */
          if (f->grown_pipes < FWD_MAX_BULK_PIPES && fcntl(c->pipe[d][1], F_SETPIPE_SZ, FWD_BULK_PIPE) > 0) {
            c->grown[d] = 1;
            f->grown_pipes++;
          } else {
            c->grown[d] = -1;
          }
        }
      } else if (n == 0) {
        c->eof[d] = true;
      } else if (errno == EAGAIN) {
        break;
      } else if (errno != EINTR) {
        return -1;
      }
    }
    if (c->inpipe[d] > 0) {
      ssize_t n = splice(c->pipe[d][0], NULL, dst, NULL, c->inpipe[d], SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0)
        c->inpipe[d] -= (size_t)n;
      else if (n < 0 && errno == EAGAIN)
        break;
      else if (!(n < 0 && errno == EINTR))
        return -1;
    }
    if (c->eof[d]) break;
  }
  if (c->eof[d] && c->inpipe[d] == 0 && !c->shut[d]) {
    shutdown(dst, SHUT_WR);
    c->shut[d] = true;
    pipe_close(f, c, d);
  }
  return 0;
}

/* After pumping: reset on failure, close once both directions ended, else wait for what is wanted next. */
static void conn_settle(struct dv_fwd *f, struct fwd_conn *c, bool failed) {
  if (failed)
    conn_close(f, c, true);
  else if (c->shut[0] && c->shut[1])
    conn_close(f, c, false);
  else
    conn_update(f, c);
}

static void conn_connected(struct dv_fwd *f, struct fwd_conn *c) {
  int soerr = 0;
  socklen_t sl = sizeof(soerr);
  if (getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0) soerr = errno;
  if (soerr == EINPROGRESS || soerr == EALREADY) return;
  if (soerr != 0) {
    close(c->fd[1]);
    c->fd[1] = -1;
    c->reg[1] = 0;
    /* nothing listens on this family's loopback: the other one (a server on ::1 only, or 127.0.0.1 only) */
    if (soerr == ECONNREFUSED && c->fallback && c->attempt == 0) {
      c->attempt = 1;
      c->family = c->fallback;
      if (conn_connect(f, c) == 0) {
        if (!c->connecting) conn_connected(f, c);
        else conn_update(f, c);
        return;
      }
      if (errno == EMFILE || errno == ENFILE) fwd_pause_listeners(f, errno);
    }
    conn_close(f, c, true);
    return;
  }
  c->connecting = false;
  if (c->rule) c->rule->pref_family = c->family;
  conn_settle(f, c, pump(f, c, 0) < 0 || pump(f, c, 1) < 0);
}

static void conn_event(struct dv_fwd *f, struct fwd_conn *c, int side, uint32_t ev) {
  if (c->dead) return;
  if (c->connecting) {
    if (side == 1) conn_connected(f, c);
    return;
  }
  if (ev & EPOLLERR) {
    conn_close(f, c, true);
    return;
  }
  int rc = 0;
  if (ev & (EPOLLIN | EPOLLHUP)) rc = pump(f, c, side);                /* read this side */
  if (rc == 0 && (ev & (EPOLLOUT | EPOLLHUP))) rc = pump(f, c, !side); /* write this side */
  conn_settle(f, c, rc < 0);
}

static void on_accept(struct dv_fwd *f, struct fwd_rule *r, int idx) {
  for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
    if (f->attached && f->n_conns >= f->max_conns) {
      fwd_pause_listeners(f, EMFILE); /* the rest wait in the backlog until a connection ends */
      f->cap_paused = true;
      return;
    }
    int cfd = accept4(r->lfd[idx], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (cfd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) fwd_pause_listeners(f, errno);
      return;
    }
    if (!f->attached) { /* the container's namespace could not be reached */
      fwd_reset_fd(cfd);
      continue;
    }
    struct fwd_conn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
      fwd_reset_fd(cfd);
      fwd_pause_listeners(f, ENOMEM);
      return;
    }
    c->fd[0] = cfd;
    c->fd[1] = -1;
    for (int k = 0; k < 2; k++) {
      c->pipe[k][0] = c->pipe[k][1] = -1;
      c->ep[k] = (struct fwd_ep){.kind = EP_CONN, .idx = (uint8_t)k, .owner = c};
    }
    c->rule = r;
    c->container_port = r->req.container_port;
    c->target = r->target;
    if (r->target.ss_family != 0) {
      c->family = r->target.ss_family;
    } else {
      c->family = r->pref_family;
      c->fallback = c->family == AF_INET ? AF_INET6 : AF_INET;
    }
    int one = 1;
    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->next = f->conns;
    if (f->conns) f->conns->prev = c;
    f->conns = c;
    f->n_conns++;
    if (conn_connect(f, c) < 0) {
      int e = errno;
      if (e == ECONNREFUSED && c->fallback) {
        c->attempt = 1;
        c->family = c->fallback;
        if (conn_connect(f, c) == 0) goto connected;
        e = errno;
      }
      conn_close(f, c, true);
      if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
        fwd_pause_listeners(f, e);
        return;
      }
      continue;
    }
  connected:
    if (!c->connecting)
      conn_connected(f, c);
    else
      conn_update(f, c);
  }
}

/* ---- the monitor's interface ----------------------------------------------------------- */

static void free_graves(struct dv_fwd *f) {
  while (f->grave) {
    struct fwd_conn *c = f->grave;
    f->grave = c->next;
    free(c);
  }
  while (f->grave_udp) {
    struct fwd_udp_client *u = f->grave_udp;
    f->grave_udp = u->next;
    free(u);
  }
  while (f->grave_rules) {
    struct fwd_rule *r = f->grave_rules;
    f->grave_rules = r->next;
    free(r);
  }
}

int dv_fwd_open(const struct dv_spec *s, int bundle_fd, int sync_fd, struct dv_fwd **out, struct dv_error *err) {
  *out = NULL;
  const struct dv_ports_spec *ps = s->ports;
  if (!s->ns[DV_NS_NET]) {
    if (ps && ps->n_fwds > 0)
      dv_write_warning(sync_fd, "the container shares the host's network: its ports need no forwarding; %zu forward%s ignored",
                       ps->n_fwds, ps->n_fwds == 1 ? "" : "s");
    return 0;
  }
  if (ps == NULL) return 0; /* created without ports: nothing to serve, not even ports.sock (idle memory) */
  struct dv_fwd *f = calloc(1, sizeof(*f));
  if (f == NULL) return dv_fail(err, ENOMEM, NULL, NULL, "out of memory");
  f->spec = s;
  f->ports = ps;
  f->bundle_fd = bundle_fd;
  f->netns = f->hostns = f->userns = f->factory = f->diag = f->tfd = f->ctl = f->log_fd = -1;
  f->factory_pid = -1;
  for (int i = 0; i < FWD_CTL_CLIENTS; i++) f->clients[i].fd = -1;
  f->ep = epoll_create1(EPOLL_CLOEXEC);
  if (f->ep < 0) {
    dv_fail(err, errno, "epoll_create1", NULL, "set up port forwarding");
    free(f);
    return -1;
  }
  f->max_conns = 100;
  for (size_t i = 0; ps && i < ps->n_fwds; i++) {
    char warn[512];
    if (fwd_rule_add(f, &ps->fwds[i], warn, sizeof(warn), err) == NULL) {
      dv_fwd_close(f);
      return -1;
    }
    if (warn[0]) dv_write_warning(sync_fd, "%s", warn);
  }
  *out = f;
  return 0;
}

void dv_fwd_attach(struct dv_fwd *f, pid_t pid, int sync_fd) {
  f->pid = pid;
  /* Room for connections: 6 fds each (two sockets, two pipes). The container started with the old limits. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    if (rl.rlim_cur < rl.rlim_max) {
      rl.rlim_cur = rl.rlim_max;
      setrlimit(RLIMIT_NOFILE, &rl);
      getrlimit(RLIMIT_NOFILE, &rl);
    }
    rlim_t cur = rl.rlim_cur > 1000000 ? 1000000 : rl.rlim_cur;
    f->max_conns = cur > 96 ? (unsigned)((cur - 64) / 6) : 4;
  }
  char why[512];
  if (fwd_ns_init(f, pid, why, sizeof(why)) < 0) {
    if (errno == ENOENT || errno == ESRCH) return; /* the container already ended (its init is a zombie) */
    if (f->rules || (f->ports && f->ports->auto_enabled))
      dv_write_warning(sync_fd, "port forwarding is unavailable: %s", why);
    for (struct fwd_rule *r = f->rules; r; r = r->next) fwd_log_event(f, "failed", r, NULL, "ENOTCONN", why);
    return; /* listeners stay bound: clients are refused, and the ports stay reserved */
  }
  f->attached = true;
  if (fwd_ctl_open(f, why, sizeof(why)) < 0) dv_write_warning(sync_fd, "port forwarding control socket: %s", why);
  for (struct fwd_rule *r = f->rules; r; r = r->next) fwd_log_event(f, "forwarded", r, NULL, NULL, NULL);
  f->auto_on = f->ports && f->ports->auto_enabled;
  if (f->auto_on) fwd_auto_scan(f);
  fwd_state_write(f);
  fwd_timer_update(f);
}

int dv_fwd_fd(const struct dv_fwd *f) {
  return f ? f->ep : -1;
}

void dv_fwd_dispatch(struct dv_fwd *f) {
  struct epoll_event evs[64];
  int n = epoll_wait(f->ep, evs, 64, 0);
  for (int i = 0; i < n; i++) {
    struct fwd_ep *ep = evs[i].data.ptr;
    uint32_t e = evs[i].events;
    switch (ep->kind) {
      case EP_LISTEN: {
        struct fwd_rule *r = ep->owner;
        if (!r->dead) on_accept(f, r, ep->idx);
        break;
      }
      case EP_CONN:
        conn_event(f, ep->owner, ep->idx, e);
        break;
      case EP_UDP_LISTEN: {
        struct fwd_rule *r = ep->owner;
        if (!r->dead) fwd_udp_listener_ready(f, r, ep->idx);
        break;
      }
      case EP_UDP_UP:
        fwd_udp_upstream_ready(f, ep->owner);
        break;
      case EP_CTL_LISTEN:
        fwd_ctl_accept(f);
        break;
      case EP_CTL_CLIENT:
        fwd_ctl_client_ready(f, ep->owner);
        break;
      case EP_TIMER:
        on_tick(f);
        break;
    }
  }
  free_graves(f);
  fwd_timer_update(f);
}

void dv_fwd_close(struct dv_fwd *f) {
  if (f == NULL) return;
  f->closing = true;
  bool had_state = f->attached;
  while (f->conns) conn_close(f, f->conns, false);
  while (f->rules) {
    struct fwd_rule *r = f->rules;
    if (f->attached) fwd_log_event(f, "removed", r, NULL, NULL, "the container stopped");
    fwd_rule_remove(f, r);
  }
  fwd_ctl_close(f);
  fwd_ns_close(f);
  free_graves(f);
  if (f->tfd >= 0) close(f->tfd);
  if (f->ep >= 0) close(f->ep);
  if (f->log_fd >= 0) close(f->log_fd);
  if (had_state) unlinkat(f->bundle_fd, "ports.json", 0);
  free(f->seen);
  free(f->skip);
  free(f);
}
