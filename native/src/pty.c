/* Pseudo-terminals, raw mode and fd passing. */
#include "dv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

int dv_pty_open(int *master, int *slave, struct dv_error *err) {
  int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0) return dv_fail(err, errno, "open", "/dev/ptmx", "open a pseudo-terminal");
  int unlock = 0;
  if (ioctl(m, TIOCSPTLCK, &unlock) < 0) {
    int e = errno;
    close(m);
    return dv_fail(err, e, "ioctl", "/dev/ptmx", "unlock the pseudo-terminal");
  }
  /* TIOCGPTPEER opens the peer of this very master, never a path someone could swap. */
  int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (s < 0 && (errno == EINVAL || errno == ENOTTY)) {
    char name[64];
    if (ptsname_r(m, name, sizeof(name)) != 0) {
      int e = errno;
      close(m);
      return dv_fail(err, e, "ioctl", "/dev/ptmx", "find the pseudo-terminal's peer");
    }
    s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0) {
      int e = errno;
      close(m);
      return dv_fail(err, e, "open", name, "open the pseudo-terminal's peer");
    }
  } else if (s < 0) {
    int e = errno;
    close(m);
    return dv_fail(err, e, "ioctl", "/dev/ptmx", "open the pseudo-terminal's peer");
  }
  *master = m;
  *slave = s;
  return 0;
}

int dv_tty_make_raw(int fd, void *saved_termios) {
  struct termios t;
  if (tcgetattr(fd, &t) < 0) return -1;
  memcpy(saved_termios, &t, sizeof(t));
  cfmakeraw(&t);
  /* cfmakeraw turns output processing off; the container's pty does its own, so nothing is lost. */
  t.c_cc[VMIN] = 1;
  t.c_cc[VTIME] = 0;
  if (tcsetattr(fd, TCSADRAIN, &t) < 0) return -1;
  return 0;
}

void dv_tty_restore(int fd, const void *saved_termios) {
  tcsetattr(fd, TCSADRAIN, (const struct termios *)saved_termios);
}

void dv_tty_copy_winsize(int from_fd, int to_fd) {
  struct winsize ws;
  if (ioctl(from_fd, TIOCGWINSZ, &ws) == 0 && (ws.ws_row > 0 || ws.ws_col > 0)) ioctl(to_fd, TIOCSWINSZ, &ws);
}

int dv_send_fd(int sock, int fd) {
  char byte = 0;
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  memset(&u, 0, sizeof(u));
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  for (;;) {
    ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    if (n >= 0) return 0;
    if (errno != EINTR) return -1;
  }
}

int dv_recv_fd(int sock) {
  char byte;
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
  ssize_t n;
  do {
    n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return -1;
  if (n == 0) {
    errno = ECONNRESET;
    return -1;
  }
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int))) {
      int fd;
      memcpy(&fd, CMSG_DATA(c), sizeof(int));
      return fd;
    }
  }
  errno = EBADMSG;
  return -1;
}
