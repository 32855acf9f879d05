/* See container-connect.h. The forked helper only makes system calls (no malloc, no stdio): it is forked from a
 * multithreaded process (Node), where any lock another thread held at fork time stays held in the child. */
#define _GNU_SOURCE
#include "container-connect.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

/* The namespace fd of pid for `name`, or -2 when it is the same namespace as ours (nothing to join). -1: errno. */
static int open_ns_if_other(pid_t pid, const char *name) {
  char theirs[64], ours[64];
  snprintf(theirs, sizeof(theirs), "/proc/%d/ns/%s", (int)pid, name);
  snprintf(ours, sizeof(ours), "/proc/self/ns/%s", name);
  struct stat a, b;
  if (stat(theirs, &a) < 0) return -1;
  if (stat(ours, &b) < 0) return -1;
  if (a.st_dev == b.st_dev && a.st_ino == b.st_ino) return -2;
  return open(theirs, O_RDONLY | O_CLOEXEC);
}

static void __attribute__((noreturn)) helper(int sock, int user_fd, int ns_fd, int ns_type, const struct sockaddr *addr,
                                             socklen_t addr_len, int timeout_ms) {
  int32_t e = 0;
  int fd = -1;
  if (user_fd >= 0 && setns(user_fd, CLONE_NEWUSER) < 0) e = errno;
  if (e == 0 && ns_fd >= 0 && setns(ns_fd, ns_type) < 0) e = errno;
  if (e == 0) {
    fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) e = errno;
  }
  if (e == 0) {
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    while (connect(fd, addr, addr_len) < 0) {
      if (errno == EINTR) continue;
      e = errno == EINPROGRESS || errno == EAGAIN ? ETIMEDOUT : errno;
      break;
    }
    if (e == 0) {
      struct timeval none = {0, 0};
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof(none));
    }
  }
  struct iovec iov = {.iov_base = &e, .iov_len = sizeof(e)};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
  if (e == 0) {
    memset(&u, 0, sizeof(u));
    mh.msg_control = u.buf;
    mh.msg_controllen = sizeof(u.buf);
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof(int));
  }
  while (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
  _exit(0);
}

int dv_connect_in_container(pid_t pid, const struct sockaddr *addr, socklen_t addr_len, int timeout_ms) {
  if (pid <= 0 || addr == NULL) {
    errno = EINVAL;
    return -1;
  }
  const char *ns_name = addr->sa_family == AF_UNIX ? "mnt" : "net";
  int ns_type = addr->sa_family == AF_UNIX ? CLONE_NEWNS : CLONE_NEWNET;
  int user_fd = open_ns_if_other(pid, "user");
  if (user_fd == -1) return -1;
  int ns_fd = open_ns_if_other(pid, ns_name);
  if (ns_fd == -1) {
    int e = errno;
    if (user_fd >= 0) close(user_fd);
    errno = e;
    return -1;
  }
  int sv[2];
  int result = -1, saved = 0;
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
    saved = errno;
    goto out;
  }
  pid_t child = fork();
  if (child < 0) {
    saved = errno;
    close(sv[0]);
    close(sv[1]);
    goto out;
  }
  if (child == 0) {
    close(sv[0]);
    helper(sv[1], user_fd, ns_fd, ns_type, addr, addr_len, timeout_ms);
  }
  close(sv[1]);
  struct pollfd p = {.fd = sv[0], .events = POLLIN};
  int rc;
  do {
    rc = poll(&p, 1, timeout_ms + 2000);
  } while (rc < 0 && errno == EINTR);
  if (rc == 0) {
    kill(child, SIGKILL);
    saved = ETIMEDOUT;
  } else if (rc < 0) {
    saved = errno;
  } else {
    int32_t e = 0;
    struct iovec iov = {.iov_base = &e, .iov_len = sizeof(e)};
    union {
      char buf[CMSG_SPACE(sizeof(int))];
      struct cmsghdr align;
    } u;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    ssize_t n;
    do {
      n = recvmsg(sv[0], &mh, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      saved = errno;
    } else if (n != (ssize_t)sizeof(e)) {
      saved = ECONNRESET; /* the helper died before answering */
    } else if (e != 0) {
      saved = e;
    } else {
      for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)))
          memcpy(&result, CMSG_DATA(c), sizeof(int));
      }
      if (result < 0) saved = EBADMSG;
    }
  }
  close(sv[0]);
  while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {
  }
out:
  if (user_fd >= 0) close(user_fd);
  if (ns_fd >= 0) close(ns_fd);
  if (result < 0) errno = saved ? saved : EIO;
  return result;
}

int dv_set_winsize(int fd, int rows, int cols) {
  struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
  return ioctl(fd, TIOCSWINSZ, &ws);
}

int dv_host_pty_open(int rows, int cols, int *master, int *slave) {
  int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0) return -1;
  char name[128];
  if (grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, name, sizeof(name)) != 0) {
    int e = errno;
    close(m);
    errno = e;
    return -1;
  }
  int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (s < 0) {
    int e = errno;
    close(m);
    errno = e;
    return -1;
  }
  if ((rows > 0 || cols > 0) && dv_set_winsize(m, rows, cols) < 0) {
    int e = errno;
    close(m);
    close(s);
    errno = e;
    return -1;
  }
  *master = m;
  *slave = s;
  return 0;
}
