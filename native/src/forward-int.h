/* Internals shared by forward.c (rules, listeners, TCP relay, event loop), forward-ns.c (sockets inside the
 * container's network namespace), forward-auto.c (watching its listeners), forward-udp.c and forward-ctl.c
 * (devenv.ports, ports.sock, ports.json, ports.log). */
#ifndef DV_FORWARD_INT_H
#define DV_FORWARD_INT_H

#include "forward.h"
#include "spec.h"

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#define FWD_LABEL_MAX 128
#define FWD_IP_MAX 46 /* INET6_ADDRSTRLEN */
#define FWD_MAX_LISTENERS 2
#define FWD_CTL_CLIENTS 8
#define FWD_CTL_BUF 8192
#define FWD_TICK_MS 400 /* automatic forwarding scans: a new listener is forwarded within 0.4 s */
#define FWD_UDP_IDLE_MS 60000
#define FWD_UDP_MAX_CLIENTS 256
#define FWD_BULK_AFTER (1u << 20) /* a direction that moved this much gets a bigger pipe: */
#define FWD_BULK_PIPE (1 << 20)   /* 16x fewer splice calls for bulk transfers */
#define FWD_MAX_BULK_PIPES 32     /* bounds what bulk connections may hold in flight (32 MiB) */

enum fwd_source { SRC_CONFIG, SRC_CLI, SRC_AUTO };
enum ep_kind { EP_LISTEN, EP_CONN, EP_UDP_LISTEN, EP_UDP_UP, EP_CTL_LISTEN, EP_CTL_CLIENT, EP_TIMER };

/* What an epoll event points at. */
struct fwd_ep {
  uint8_t kind;
  uint8_t idx; /* listener index, or the connection side */
  void *owner;
};

/* One requested forward, as devenv.ports or a control request gives it. */
struct dv_port_fwd {
  uint16_t container_port;
  uint16_t host_port; /* 0: the same as container_port (auto) or any (explicit 0 in host_port_any) */
  bool host_port_any; /* hostPort 0 was asked: any free port */
  uint8_t proto;      /* IPPROTO_TCP or IPPROTO_UDP */
  uint8_t source;
  bool require_local;
  char host_ip[FWD_IP_MAX]; /* "" = 127.0.0.1 and ::1 */
  char label[FWD_LABEL_MAX];
};

/* portsAttributes for automatic forwarding: a port range with a label, requireLocalPort, or ignore. */
struct dv_port_attr {
  uint16_t from, to;
  bool require_local, ignore;
  char label[FWD_LABEL_MAX];
};

struct dv_ports_spec {
  struct dv_port_fwd *fwds;
  size_t n_fwds;
  bool auto_enabled;
  bool ignore_others; /* otherPortsAttributes.onAutoForward = ignore: only ports with attributes */
  uint16_t *ignore;
  size_t n_ignore;
  struct dv_port_attr *attrs;
  size_t n_attrs;
};

struct fwd_udp_client;

/* A forward that is in place: its host listeners and where connections go inside. */
struct fwd_rule {
  struct fwd_rule *next;
  struct dv_port_fwd req; /* as asked */
  uint16_t host_port;     /* what it got */
  int n_listen;
  int lfd[FWD_MAX_LISTENERS];
  struct fwd_ep lep[FWD_MAX_LISTENERS];
  char laddr[FWD_MAX_LISTENERS][FWD_IP_MAX];
  bool registered; /* listeners in the epoll set (not while paused) */
  char since[48];
  /* target inside the container: family tried first (the one that answered last), and an address the
   * automatic scan saw the listener on (zero: loopback) */
  int pref_family;
  struct sockaddr_storage target;
  bool dead;
  struct fwd_udp_client *udp_clients;
  unsigned n_udp_clients;
};

/* One relayed TCP connection: side 0 the client on the host, side 1 the connection inside the container.
 * Direction d copies side d to side !d through pipe[d]. */
struct fwd_conn {
  struct fwd_conn *next, *prev;
  int fd[2];
  struct fwd_ep ep[2];
  uint32_t reg[2]; /* events registered in epoll (0: not in the set) */
  int pipe[2][2];
  size_t inpipe[2];
  uint64_t moved[2]; /* bytes relayed per direction */
  int8_t grown[2];   /* pipe enlarged for bulk traffic: 1 counted in grown_pipes, -1 tried and refused */
  bool eof[2];  /* side d said EOF */
  bool shut[2]; /* shutdown(SHUT_WR) done on side !d for direction d */
  bool connecting, dead;
  int attempt;
  uint16_t container_port;
  int family;                      /* of the current attempt */
  int fallback;                    /* the other family, 0 when none */
  struct sockaddr_storage target;  /* a specific address, or zeros for loopback */
  struct fwd_rule *rule;           /* NULL once the rule is gone */
};

struct fwd_udp_client {
  struct fwd_udp_client *next;
  struct sockaddr_storage peer;
  socklen_t peer_len;
  int lidx; /* which listener it wrote to */
  int up;   /* connected socket inside the container */
  struct fwd_ep ep;
  struct fwd_rule *rule;
  struct timespec last;
  bool dead;
};

struct fwd_ctl_client {
  int fd;
  struct fwd_ep ep;
  size_t len;
  char *buf; /* FWD_CTL_BUF, allocated while connected */
};

struct dv_fwd {
  const struct dv_spec *spec;
  const struct dv_ports_spec *ports; /* may be NULL */
  int bundle_fd;
  int ep;
  pid_t pid;
  bool attached, closing;
  /* reaching the container's network namespace */
  int netns, hostns; /* root: setns() around socket() */
  int userns;        /* rootless: the container's user namespace, for the helper */
  bool ns_broken;    /* could not return to the host's network namespace: no more sockets */
  int factory;       /* rootless: a helper in the container's namespaces hands sockets over */
  pid_t factory_pid;
  /* automatic forwarding */
  bool auto_on;
  int diag;
  uint16_t *seen; /* container ports listening at the last scan, sorted */
  size_t n_seen, cap_seen;
  uint32_t *skip; /* port | SKIP_* flags: not to forward again (failed, or removed by the user) */
  size_t n_skip, cap_skip;
  /* timer: scans, UDP idle clients, resuming paused listeners */
  int tfd;
  struct fwd_ep tep;
  bool timer_on;
  struct timespec paused_until;
  bool paused;
  bool cap_paused; /* paused at max_conns: resumes as soon as a connection ends */
  struct timespec last_pause_log;
  /* rules and connections */
  struct fwd_rule *rules;
  struct fwd_conn *conns;
  struct fwd_conn *grave; /* closed during this dispatch, freed at its end */
  struct fwd_rule *grave_rules;
  struct fwd_udp_client *grave_udp;
  unsigned n_conns, max_conns;
  unsigned grown_pipes; /* pipes enlarged to FWD_BULK_PIPE, at most FWD_MAX_BULK_PIPES */
  /* control socket */
  int ctl;
  struct fwd_ep ctl_ep;
  struct fwd_ctl_client clients[FWD_CTL_CLIENTS];
  int log_fd;
};

/* forward.c */
int fwd_ep_set(struct dv_fwd *f, int fd, struct fwd_ep *ep, uint32_t *reg, uint32_t want);
/* Put a forward in place (bind its listeners). On a taken port: requireLocalPort -> -1 EADDRINUSE; else the
 * next free port, with a message in warn (when warn != NULL). */
struct fwd_rule *fwd_rule_add(struct dv_fwd *f, const struct dv_port_fwd *req, char *warn, size_t warn_len,
                              struct dv_error *err);
void fwd_rule_remove(struct dv_fwd *f, struct fwd_rule *r);
struct fwd_rule *fwd_rule_find(struct dv_fwd *f, uint16_t container_port, uint8_t proto);
void fwd_pause_listeners(struct dv_fwd *f, int errnum);
void fwd_timer_update(struct dv_fwd *f);
long fwd_ms_between(const struct timespec *a, const struct timespec *b);
void fwd_reset_fd(int fd); /* close with an RST */

/* forward-ns.c: a socket of this family and type in the container's network namespace (CLOEXEC,
 * NONBLOCK), or -1 with errno. */
int fwd_ns_open(struct dv_fwd *f, int family, int type, int protocol);
int fwd_ns_init(struct dv_fwd *f, pid_t pid, char *why, size_t why_len);
void fwd_ns_close(struct dv_fwd *f);

/* forward-auto.c */
void fwd_auto_scan(struct dv_fwd *f);
bool fwd_auto_skipped(struct dv_fwd *f, uint16_t port);
void fwd_auto_skip(struct dv_fwd *f, uint16_t port);

/* forward-udp.c */
void fwd_udp_listener_ready(struct dv_fwd *f, struct fwd_rule *r, int idx);
void fwd_udp_upstream_ready(struct dv_fwd *f, struct fwd_udp_client *c);
void fwd_udp_expire(struct dv_fwd *f, const struct timespec *now);
void fwd_udp_close_rule(struct dv_fwd *f, struct fwd_rule *r);

/* forward-ctl.c */
int fwd_ctl_open(struct dv_fwd *f, char *why, size_t why_len);
void fwd_ctl_accept(struct dv_fwd *f);
void fwd_ctl_client_ready(struct dv_fwd *f, struct fwd_ctl_client *c);
void fwd_ctl_close(struct dv_fwd *f);
void fwd_state_write(struct dv_fwd *f);
/* event: "forwarded", "removed", "failed"; r may be NULL for failed (then req says what). */
void fwd_log_event(struct dv_fwd *f, const char *event, const struct fwd_rule *r, const struct dv_port_fwd *req,
                   const char *code, const char *message);
json_t *fwd_rule_json(const struct fwd_rule *r);
const char *fwd_source_name(uint8_t source);

#endif
