/* UDP forwards: each client address seen on a host listener gets its own connected socket inside the container
 * (so replies find their way back), dropped after FWD_UDP_IDLE_MS without traffic; at most FWD_UDP_MAX_CLIENTS
 * per forward (datagrams from more are dropped, as UDP allows). */
#include "forward-int.h"

#pragma GCC optimize("Os") /* every byte of the runtime costs every container: see forward.h */

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define DATAGRAMS_PER_EVENT 64

static char dgram[65536];

static bool same_peer(const struct fwd_udp_client *c, const struct sockaddr_storage *p, socklen_t len, int idx) {
  return c->lidx == idx && c->peer_len == len && memcmp(&c->peer, p, len) == 0;
}

static void client_close(struct dv_fwd *f, struct fwd_rule *r, struct fwd_udp_client *c) {
  for (struct fwd_udp_client **p = &r->udp_clients; *p; p = &(*p)->next) {
    if (*p == c) {
      *p = c->next;
      break;
    }
  }
  if (c->up >= 0) close(c->up);
  c->up = -1;
  c->dead = true;
  c->next = f->grave_udp;
  f->grave_udp = c;
  r->n_udp_clients--;
}

static struct fwd_udp_client *client_new(struct dv_fwd *f, struct fwd_rule *r, const struct sockaddr_storage *peer,
                                         socklen_t len, int idx) {
  if (r->n_udp_clients >= FWD_UDP_MAX_CLIENTS) return NULL;
  int family = r->target.ss_family ? r->target.ss_family : AF_INET;
  int up = fwd_ns_open(f, family, SOCK_DGRAM, 0);
  if (up < 0) return NULL;
  struct sockaddr_storage to;
  socklen_t tolen;
  memset(&to, 0, sizeof(to));
  if (r->target.ss_family) {
    to = r->target;
  } else {
    struct sockaddr_in *in4 = (struct sockaddr_in *)&to;
    in4->sin_family = AF_INET;
    in4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  if (to.ss_family == AF_INET) {
    ((struct sockaddr_in *)&to)->sin_port = htons(r->req.container_port);
    tolen = sizeof(struct sockaddr_in);
  } else {
    ((struct sockaddr_in6 *)&to)->sin6_port = htons(r->req.container_port);
    tolen = sizeof(struct sockaddr_in6);
  }
  struct fwd_udp_client *c = calloc(1, sizeof(*c));
  if (c == NULL || connect(up, (struct sockaddr *)&to, tolen) < 0) {
    free(c);
    close(up);
    return NULL;
  }
  c->up = up;
  c->peer = *peer;
  c->peer_len = len;
  c->lidx = idx;
  c->rule = r;
  c->ep = (struct fwd_ep){.kind = EP_UDP_UP, .owner = c};
  uint32_t reg = 0;
  if (fwd_ep_set(f, up, &c->ep, &reg, EPOLLIN) < 0) {
    close(up);
    free(c);
    return NULL;
  }
  c->next = r->udp_clients;
  r->udp_clients = c;
  r->n_udp_clients++;
  return c;
}

void fwd_udp_listener_ready(struct dv_fwd *f, struct fwd_rule *r, int idx) {
  for (int i = 0; i < DATAGRAMS_PER_EVENT; i++) {
    struct sockaddr_storage peer;
    socklen_t len = sizeof(peer);
    ssize_t n = recvfrom(r->lfd[idx], dgram, sizeof(dgram), 0, (struct sockaddr *)&peer, &len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (!f->attached) continue;
    struct fwd_udp_client *c = r->udp_clients;
    while (c && !same_peer(c, &peer, len, idx)) c = c->next;
    if (c == NULL) c = client_new(f, r, &peer, len, idx);
    if (c == NULL) continue; /* dropped */
    clock_gettime(CLOCK_MONOTONIC, &c->last);
    send(c->up, dgram, (size_t)n, MSG_DONTWAIT); /* a lost datagram is UDP's business */
  }
}

void fwd_udp_upstream_ready(struct dv_fwd *f, struct fwd_udp_client *c) {
  (void)f;
  if (c->dead) return;
  for (int i = 0; i < DATAGRAMS_PER_EVENT; i++) {
    ssize_t n = recv(c->up, dgram, sizeof(dgram), 0);
    if (n < 0) {
      if (errno == EINTR || errno == ECONNREFUSED) continue; /* ICMP port unreachable: reported, now cleared */
      return;
    }
    clock_gettime(CLOCK_MONOTONIC, &c->last);
    sendto(c->rule->lfd[c->lidx], dgram, (size_t)n, MSG_DONTWAIT, (struct sockaddr *)&c->peer, c->peer_len);
  }
}

void fwd_udp_expire(struct dv_fwd *f, const struct timespec *now) {
  for (struct fwd_rule *r = f->rules; r; r = r->next) {
    struct fwd_udp_client *c = r->udp_clients;
    while (c) {
      struct fwd_udp_client *next = c->next;
      if (fwd_ms_between(&c->last, now) > FWD_UDP_IDLE_MS) client_close(f, r, c);
      c = next;
    }
  }
}

void fwd_udp_close_rule(struct dv_fwd *f, struct fwd_rule *r) {
  while (r->udp_clients) client_close(f, r, r->udp_clients);
}
