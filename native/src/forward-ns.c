/* Sockets inside the container's network namespace. A socket belongs to the namespace it was created in, for
 * good: connect() and sendto() from the monitor, which stays in the host's namespace, then go there.
 *
 * - Root: setns() into the container's network namespace around socket(), and straight back.
 * - Rootless: setns() into a network namespace needs CAP_SYS_ADMIN in our own user namespace too, which an
 *   unprivileged monitor lacks, and joining the container's user namespace could not be undone (the monitor must
 *   keep binding host ports). A helper forked from the monitor joins the container's user and network
 *   namespaces and hands sockets over SCM_RIGHTS (one request each, ~10 µs). It is started on first use and exits
 *   after 30 s without requests, or when the monitor goes away; it is not in the container's pid namespace and
 *   not dumpable, so nothing in the container can reach it. */
#include "forward-int.h"

#pragma GCC optimize("Os") /* every byte of the runtime costs every container: see forward.h */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

#define FACTORY_IDLE_MS 30000
#define FACTORY_REPLY_MS 2000

struct factory_req {
  int32_t family, type, protocol;
};

/* ---- the helper --------------------------------------------------------------------- */

static void __attribute__((noreturn)) factory_serve(int sock) {
  for (;;) {
    struct pollfd p = {.fd = sock, .events = POLLIN};
    int rc = poll(&p, 1, FACTORY_IDLE_MS);
    if (rc == 0) _exit(0);
    if (rc < 0) {
      if (errno == EINTR) continue;
      _exit(1);
    }
    struct factory_req req;
    ssize_t n = recv(sock, &req, sizeof(req), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n != (ssize_t)sizeof(req)) _exit(0); /* EOF: the monitor closed or ended */
    int fd = socket(req.family, req.type | SOCK_NONBLOCK | SOCK_CLOEXEC, req.protocol);
    int32_t e = fd < 0 ? errno : 0;
    struct iovec iov = {.iov_base = &e, .iov_len = sizeof(e)};
    union {
      char buf[CMSG_SPACE(sizeof(int))];
      struct cmsghdr align;
    } u;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (fd >= 0) {
      memset(&u, 0, sizeof(u));
      mh.msg_control = u.buf;
      mh.msg_controllen = sizeof(u.buf);
      struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
      cm->cmsg_level = SOL_SOCKET;
      cm->cmsg_type = SCM_RIGHTS;
      cm->cmsg_len = CMSG_LEN(sizeof(int));
      memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    }
    while (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0) {
      if (errno != EINTR) _exit(0);
    }
    if (fd >= 0) close(fd);
  }
}

static int factory_spawn(struct dv_fwd *f) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) return -1;
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(sv[0]);
    close(sv[1]);
    errno = e;
    return -1;
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (getppid() != parent) _exit(0);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    int src[3] = {sv[1], f->userns, f->netns}, high[3];
    for (int i = 0; i < 3; i++) high[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 6);
    for (int i = 0; i < 3; i++)
      if (high[i] < 0 || dup3(high[i], 3 + i, O_CLOEXEC) < 0) _exit(1);
    syscall(SYS_close_range, 6U, ~0U, 0);
    if (setns(4, CLONE_NEWUSER) < 0 || setns(5, CLONE_NEWNET) < 0) _exit(2);
    close(4);
    close(5);
    factory_serve(3);
  }
  close(sv[1]);
  f->factory = sv[0];
  f->factory_pid = pid;
  return 0;
}

/* Close our end: the helper sees EOF and exits. Reap it if it is quick (the monitor's SIGCHLD loop reaps it
 * otherwise; a pid is never signalled after that could have happened). */
static void factory_drop(struct dv_fwd *f, bool wait) {
  if (f->factory < 0) return;
  close(f->factory);
  f->factory = -1;
  if (wait) {
    for (int i = 0; i < 50; i++) {
      pid_t w = waitpid(f->factory_pid, NULL, WNOHANG);
      if (w != 0) break;
      struct timespec ms = {0, 1000000};
      nanosleep(&ms, NULL);
    }
  }
  f->factory_pid = -1;
}

static int factory_open(struct dv_fwd *f, int family, int type, int protocol) {
  for (int attempt = 0; attempt < 2; attempt++) {
    if (f->factory < 0 && factory_spawn(f) < 0) return -1;
    struct factory_req req = {family, type, protocol};
    if (send(f->factory, &req, sizeof(req), MSG_NOSIGNAL) != (ssize_t)sizeof(req)) {
      factory_drop(f, false); /* it exited after idling: start another */
      continue;
    }
    struct pollfd p = {.fd = f->factory, .events = POLLIN};
    int rc;
    while ((rc = poll(&p, 1, FACTORY_REPLY_MS)) < 0 && errno == EINTR) {
    }
    if (rc == 0) {
      /* Stuck: it is our unreaped child (only this loop reaps, and it is not running), so the pid is its. */
      kill(f->factory_pid, SIGKILL);
      factory_drop(f, true);
      errno = ETIMEDOUT;
      return -1;
    }
    int32_t e = 0;
    struct iovec iov = {.iov_base = &e, .iov_len = sizeof(e)};
    union {
      char buf[CMSG_SPACE(sizeof(int))];
      struct cmsghdr align;
    } u;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    ssize_t n;
    while ((n = recvmsg(f->factory, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
    }
    if (n != (ssize_t)sizeof(e)) {
      factory_drop(f, false);
      continue;
    }
    int fd = -1;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
      if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) memcpy(&fd, CMSG_DATA(cm), sizeof(int));
    if (e != 0 || fd < 0) {
      if (fd >= 0) close(fd);
      errno = e ? e : EBADMSG;
      return -1;
    }
    return fd;
  }
  errno = ECHILD;
  return -1;
}

/* ---- the interface ---------------------------------------------------------------------- */

int fwd_ns_open(struct dv_fwd *f, int family, int type, int protocol) {
  if (f->ns_broken || f->netns < 0) {
    errno = ENOTCONN;
    return -1;
  }
  if (f->userns >= 0) return factory_open(f, family, type, protocol);
  if (setns(f->netns, CLONE_NEWNET) < 0) return -1;
  int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  int e = errno;
  if (setns(f->hostns, CLONE_NEWNET) < 0) {
    /* Never bind another host port from inside the container's namespace. */
    f->ns_broken = true;
    if (fd >= 0) close(fd);
    errno = ENOTCONN;
    return -1;
  }
  errno = e;
  return fd;
}

int fwd_ns_init(struct dv_fwd *f, pid_t pid, char *why, size_t why_len) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
  f->netns = open(path, O_RDONLY | O_CLOEXEC);
  if (f->netns < 0) {
    int e = errno;
    snprintf(why, why_len, "open %s: %s", path, strerror(e));
    errno = e;
    return -1;
  }
  f->hostns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (f->hostns < 0) {
    snprintf(why, why_len, "open /proc/self/ns/net: %s", strerror(errno));
    return -1;
  }
  if (setns(f->netns, CLONE_NEWNET) == 0) {
    if (setns(f->hostns, CLONE_NEWNET) < 0) {
      f->ns_broken = true;
      snprintf(why, why_len, "return to the host's network namespace: %s", strerror(errno));
      return -1;
    }
    return 0;
  }
  if (errno != EPERM) {
    snprintf(why, why_len, "enter the container's network namespace: %s", strerror(errno));
    return -1;
  }
  snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
  f->userns = open(path, O_RDONLY | O_CLOEXEC);
  if (f->userns < 0) {
    snprintf(why, why_len, "open %s: %s", path, strerror(errno));
    return -1;
  }
  close(f->hostns);
  f->hostns = -1;
  return 0;
}

void fwd_ns_close(struct dv_fwd *f) {
  factory_drop(f, true);
  if (f->diag >= 0) close(f->diag);
  if (f->netns >= 0) close(f->netns);
  if (f->hostns >= 0) close(f->hostns);
  if (f->userns >= 0) close(f->userns);
  f->diag = f->netns = f->hostns = f->userns = -1;
}
