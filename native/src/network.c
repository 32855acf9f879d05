/* Private networking (docs/networking.md). The container gets its own network namespace; the monitor starts
 * slirp4netns for it (chosen over pasta by measurement: a few ms to start instead of tens, ~1 MB instead of
 * ~29 MB per container, and an exit fd, so it can never outlive the container). The helper runs in the host's namespaces
 * (rootless: it joins the container's user namespace for the tap set-up), configures eth0 (10.0.2.100/24,
 * gateway 10.0.2.2 = the host's loopback, DNS forwarder 10.0.2.3, MTU 65520) and tells us on its ready fd.
 * The container side adds the static IPv6 address (SLAAC would take seconds). */
#include "network.h"
#include "spec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

#define HELPER_READY_TIMEOUT_MS 10000

/* ---- config.json ------------------------------------------------------------ */

static int bad(struct dv_error *err, const char *field, const char *what) {
  return dv_fail(err, EINVAL, NULL, NULL, "invalid config.json: devenv.network%s %s", field, what);
}

int dv_net_parse(json_t *obj, struct dv_net_spec *out, struct dv_error *err) {
  memset(out, 0, sizeof(*out));
  if (obj == NULL || json_is_null(obj)) return 0;
  if (!json_is_object(obj)) return bad(err, "", "must be an object");
  const char *mode = json_string_value(json_object_get(obj, "mode"));
  if (mode == NULL) return bad(err, ".mode", "must be one of private, host, none");
  if (strcmp(mode, "private") == 0)
    out->mode = DV_NET_PRIVATE;
  else if (strcmp(mode, "host") == 0)
    out->mode = DV_NET_HOST;
  else if (strcmp(mode, "none") == 0)
    out->mode = DV_NET_NONE;
  else
    return bad(err, ".mode", "must be one of private, host, none");
  if (out->mode != DV_NET_PRIVATE) return 0;

  json_t *v = json_object_get(obj, "helper");
  if (!json_is_string(v) || json_string_value(v)[0] != '/')
    return bad(err, ".helper", "must be the absolute path of slirp4netns");
  out->helper = json_string_value(v);
  out->mtu = 65520;
  v = json_object_get(obj, "mtu");
  if (v != NULL && !json_is_null(v)) {
    if (!json_is_integer(v) || json_integer_value(v) < 1280 || json_integer_value(v) > 65521)
      return bad(err, ".mtu", "must be an integer between 1280 and 65521");
    out->mtu = (unsigned)json_integer_value(v);
  }
  out->ipv6 = true;
  v = json_object_get(obj, "ipv6");
  if (v != NULL && !json_is_null(v)) {
    if (!json_is_boolean(v)) return bad(err, ".ipv6", "must be a boolean");
    out->ipv6 = json_is_true(v);
  }
  return 0;
}

/* ---- the egress helper (monitor) ------------------------------------------------ */

static pid_t helper_pid = -1, helper_owner = -1;
static int helper_pidfd = -1;

/* At the monitor's exit (it exits when the container has ended): the helper has normally seen its exit fd (the
 * container's init) and is on its way out already; make sure with SIGKILL. Not waited for: closing its tap device
 * takes the kernel ~20 ms (an RCU grace period), which `container run --rm … true` would otherwise pay; a killed
 * process runs no more code, and the reaper collects it. A pidfd, because the monitor's own SIGCHLD loop may already
 * have reaped it (then its pid could belong to someone else). */
static void stop_helper(void) {
  if (getpid() != helper_owner || helper_pidfd < 0) return; /* a forked child of the monitor, or no helper */
  syscall(SYS_pidfd_send_signal, helper_pidfd, SIGKILL, NULL, 0);
  while (waitpid(helper_pid, NULL, WNOHANG) < 0 && errno == EINTR) {
  }
  close(helper_pidfd);
  helper_pidfd = -1;
}

/* The last lines the helper wrote to its log (network.log in the bundle), joined with "; ". */
static void log_tail(const char *path, char *out, size_t len) {
  out[0] = '\0';
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return;
  char buf[1024];
  off_t size = lseek(fd, 0, SEEK_END);
  off_t from = size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1 : 0;
  ssize_t n = pread(fd, buf, sizeof(buf) - 1, from);
  close(fd);
  if (n <= 0) return;
  buf[n] = '\0';
  /* the last three non-empty lines, oldest first */
  char *lines[3] = {NULL, NULL, NULL};
  for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    if (*l == '\0') continue;
    lines[0] = lines[1];
    lines[1] = lines[2];
    lines[2] = l;
  }
  size_t used = 0;
  for (int i = 0; i < 3; i++)
    if (lines[i] && used < len) used += (size_t)snprintf(out + used, len - used, "%s%s", used ? "; " : "", lines[i]);
}

static void __attribute__((noreturn)) helper_child(const struct dv_spec *s, pid_t pid, pid_t monitor, int logfd,
                                                    int ready_w, int init_pidfd, int errpipe_w) {
  sigset_t none;
  sigemptyset(&none);
  struct sigaction dfl;
  memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++) sigaction(sig, &dfl, NULL);
  sigprocmask(SIG_SETMASK, &none, NULL);
  /* Out of the monitor's process group and session: a ^C on the user's terminal is the container's business. */
  setsid();
  /* If the monitor dies, so does the helper (the container's init dies of the same signal, see container.c). */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != monitor) _exit(1);

  /* fds 0-2 /dev/null and the log, 3 the ready fd, 4 the exit fd, 5 the exec error pipe (close-on-exec). The
   * sources are first copied above 5, so no dup2 below overwrites one still to be placed; the lowest free fds
   * above 5 are used, which works under any RLIMIT_NOFILE the monitor could have been started with (>= 12). */
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  int src[6] = {null, logfd, logfd, ready_w, init_pidfd, errpipe_w};
  int high[6];
  for (int i = 0; i < 6; i++) high[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 6);
  for (int i = 0; i < 6; i++)
    if (high[i] < 0 || dup2(high[i], i) < 0) _exit(126);
  if (fcntl(5, F_SETFD, FD_CLOEXEC) < 0) _exit(126);
  syscall(SYS_close_range, 6U, ~0U, 0);

  char mtu[32], target[32];
  snprintf(mtu, sizeof(mtu), "--mtu=%u", s->net.mtu);
  snprintf(target, sizeof(target), "%d", (int)pid);
  char *argv[16];
  int n = 0;
  argv[n++] = (char *)s->net.helper;
  argv[n++] = "--configure";
  argv[n++] = mtu;
  if (s->net.ipv6) argv[n++] = "--enable-ipv6";
  /* Its own mount namespace on an empty root, capabilities dropped, and a seccomp filter. */
  argv[n++] = "--enable-sandbox";
  argv[n++] = "--enable-seccomp";
  argv[n++] = "--ready-fd=3";
  /* The exit fd is a pidfd of the container's init: it reports POLLHUP once the init is gone and reaped, so the
   * helper ends with the container itself, even when the monitor was killed. */
  argv[n++] = "--exit-fd=4";
  argv[n++] = target; /* our unreaped child: its pid cannot be reused while we wait */
  argv[n++] = DV_NET_IFNAME;
  argv[n] = NULL;
  char *envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL};
  execve(argv[0], argv, envp);
  int e = errno;
  if (dv_write_all(5, &e, sizeof(e)) < 0) {
  }
  _exit(127);
}

int dv_net_start(const struct dv_spec *s, pid_t pid, struct dv_error *err) {
  if (s->net.mode != DV_NET_PRIVATE) return 0;
  const char *helper = s->net.helper;
  char log_path[PATH_MAX];
  snprintf(log_path, sizeof(log_path), "%s/network.log", s->bundle);
  int logfd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (logfd < 0) return dv_fail(err, errno, "open", log_path, "open the network helper's log");
  int init_pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (init_pidfd < 0) {
    int e = errno;
    close(logfd);
    return dv_fail(err, e, "pidfd_open", NULL, "watch the container's init for its network helper");
  }
  fcntl(init_pidfd, F_SETFD, FD_CLOEXEC);
  int ready[2] = {-1, -1}, ep[2] = {-1, -1};
  if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0) {
    int e = errno;
    for (int i = 0; i < 2; i++) {
      if (ready[i] >= 0) close(ready[i]);
      if (ep[i] >= 0) close(ep[i]);
    }
    close(logfd);
    close(init_pidfd);
    return dv_fail(err, e, "pipe2", NULL, "create the network helper's pipes");
  }
  pid_t monitor = getpid();
  pid_t h = fork();
  if (h < 0) {
    int e = errno;
    close(logfd);
    close(init_pidfd);
    for (int i = 0; i < 2; i++) close(ready[i]), close(ep[i]);
    return dv_fail(err, e, "fork", NULL, "start the network helper");
  }
  if (h == 0) helper_child(s, pid, monitor, logfd, ready[1], init_pidfd, ep[1]);
  close(logfd);
  close(init_pidfd);
  close(ready[1]);
  close(ep[1]);
  if (helper_pidfd >= 0) close(helper_pidfd); /* a previous helper of this process (never happens) */
  helper_pid = h;
  helper_pidfd = (int)syscall(SYS_pidfd_open, h, 0);
  if (helper_pidfd >= 0) fcntl(helper_pidfd, F_SETFD, FD_CLOEXEC);
  if (helper_owner < 0) atexit(stop_helper);
  helper_owner = monitor;

  /* Wait for "1" on the ready fd; EOF means the helper failed (or could not be executed). */
  char c = 0;
  ssize_t got = -1;
  for (;;) {
    struct pollfd p = {.fd = ready[0], .events = POLLIN};
    int rc = poll(&p, 1, HELPER_READY_TIMEOUT_MS);
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) break;
    got = read(ready[0], &c, 1);
    if (got < 0 && errno == EINTR) continue;
    break;
  }
  close(ready[0]);
  if (got == 1 && c == '1') {
    close(ep[0]);
    return 0;
  }

  /* Failed or timed out: make sure it is gone, then say why. */
  bool timed_out = got < 0;
  if (timed_out) kill(h, SIGKILL);
  int st = 0;
  while (waitpid(h, &st, 0) < 0 && errno == EINTR) {
  }
  int exec_errno = 0;
  if (read(ep[0], &exec_errno, sizeof(exec_errno)) != (ssize_t)sizeof(exec_errno)) exec_errno = 0;
  close(ep[0]);
  if (helper_pidfd >= 0) close(helper_pidfd);
  helper_pidfd = -1;
  if (exec_errno != 0)
    return dv_fail(err, exec_errno, "slirp4netns", helper, "start the container's network helper: cannot execute %s",
                   helper);
  char detail[600];
  log_tail(log_path, detail, sizeof(detail));
  if (timed_out)
    return dv_fail(err, ETIMEDOUT, "slirp4netns", helper,
                   "start the container's network helper: %s did not configure eth0 within %d s%s%s", helper,
                   HELPER_READY_TIMEOUT_MS / 1000, detail[0] ? ": " : "", detail);
  int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  dv_fail(err, 0, "slirp4netns", helper, "start the container's network helper: %s failed (exit code %d)%s%s (log: %s)",
          helper, code, detail[0] ? ": " : "", detail, log_path);
  err->errnum = EIO;
  return -1;
}

/* ---- inside the namespace (container side) ------------------------------------- */

struct nl_req {
  struct nlmsghdr h;
  union {
    struct ifaddrmsg ifa;
    struct rtmsg rt;
  } u;
  char attrs[128];
};

static void nl_attr(struct nl_req *r, unsigned short type, const void *data, size_t len) {
  struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->h.nlmsg_len));
  a->rta_type = type;
  a->rta_len = (unsigned short)RTA_LENGTH(len);
  memcpy(RTA_DATA(a), data, len);
  r->h.nlmsg_len = NLMSG_ALIGN(r->h.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

/* Send one request and wait for its acknowledgement. Returns 0 or a positive errno. */
static int nl_call(int fd, struct nl_req *r) {
  static unsigned seq;
  r->h.nlmsg_seq = ++seq;
  if (send(fd, r, r->h.nlmsg_len, 0) < 0) return errno;
  char buf[4096];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_seq != r->h.nlmsg_seq || h->nlmsg_type != NLMSG_ERROR) continue;
      int e = -((struct nlmsgerr *)NLMSG_DATA(h))->error;
      return e == EEXIST ? 0 : e;
    }
  }
}

int dv_net_setup_inside(const struct dv_spec *s, struct dv_error *err) {
  if (s->net.mode != DV_NET_PRIVATE || !s->net.ipv6) return 0;
  unsigned idx = if_nametoindex(DV_NET_IFNAME);
  if (idx == 0) return dv_fail(err, errno, "if_nametoindex", DV_NET_IFNAME, "find the container's network interface");
  /* Router advertisements would add a second, SLAAC address a few seconds later: the static one is enough. */
  int f = open("/proc/sys/net/ipv6/conf/" DV_NET_IFNAME "/accept_ra", O_WRONLY | O_CLOEXEC);
  if (f >= 0) {
    if (write(f, "0", 1) < 0) {
    }
    close(f);
  }
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return dv_fail(err, errno, "socket", NULL, "open a netlink socket to configure IPv6");
  struct in6_addr addr, gw;
  inet_pton(AF_INET6, DV_NET_ADDR6, &addr);
  inet_pton(AF_INET6, DV_NET_GATEWAY6, &gw);

  struct nl_req r;
  memset(&r, 0, sizeof(r));
  r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
  r.h.nlmsg_type = RTM_NEWADDR;
  r.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
  r.u.ifa = (struct ifaddrmsg){.ifa_family = AF_INET6, .ifa_prefixlen = 64, .ifa_flags = IFA_F_NODAD,
                               .ifa_scope = RT_SCOPE_UNIVERSE, .ifa_index = idx};
  nl_attr(&r, IFA_LOCAL, &addr, sizeof(addr));
  nl_attr(&r, IFA_ADDRESS, &addr, sizeof(addr));
  int e = nl_call(fd, &r);
  if (e == EAFNOSUPPORT || e == EACCES) { /* IPv6 disabled on this host: IPv4 only */
    close(fd);
    return 0;
  }
  if (e != 0) {
    close(fd);
    return dv_fail(err, e, "netlink", DV_NET_ADDR6, "add the address %s/64 to %s", DV_NET_ADDR6, DV_NET_IFNAME);
  }

  memset(&r, 0, sizeof(r));
  r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
  r.h.nlmsg_type = RTM_NEWROUTE;
  r.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
  r.u.rt = (struct rtmsg){.rtm_family = AF_INET6, .rtm_table = RT_TABLE_MAIN, .rtm_protocol = RTPROT_BOOT,
                          .rtm_scope = RT_SCOPE_UNIVERSE, .rtm_type = RTN_UNICAST};
  nl_attr(&r, RTA_GATEWAY, &gw, sizeof(gw));
  uint32_t oif = idx;
  nl_attr(&r, RTA_OIF, &oif, sizeof(oif));
  e = nl_call(fd, &r);
  close(fd);
  if (e != 0) return dv_fail(err, e, "netlink", DV_NET_GATEWAY6, "add the IPv6 default route via %s", DV_NET_GATEWAY6);
  return 0;
}
