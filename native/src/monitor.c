/* `devenv-runtime run --bundle DIR [--detach] [--sync-fd N]`: the monitor. It creates the container's first
 * process with clone() in the new namespaces, gives it its id maps and cgroups, relays its output (to its own
 * stdout/stderr when attached, and to ctr.log), forwards signals, and records state.json and exit.json. */
#include "forward.h"
#include "spec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

struct run {
  struct dv_spec spec;
  bool detach;
  int sync_fd;
  int bundle_fd;
  int log_fd;
  pid_t pid; /* the container's init, as the host sees it */
  int sock;
  /* terminal */
  int master;
  bool raw;
  struct termios saved;
  /* pipes (monitor ends) */
  int out_r, err_r, in_w;
  struct dv_fwd *fwd; /* port forwarding (forward.c); NULL without devenv.ports or a network namespace of its own */
};

/* ---- small helpers -------------------------------------------------------- */

void dv_proc_start_time(pid_t pid, char *out, size_t len) {
  char path[64], buf[1024];
  out[0] = '\0';
  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0) return;
  buf[n] = '\0';
  char *p = strrchr(buf, ')'); /* the command name may contain anything */
  if (p == NULL) return;
  p += 2;                              /* field 3 */
  for (int field = 3; field < 22 && p; field++) {
    p = strchr(p, ' ');
    if (p) p++;
  }
  if (p == NULL) return;
  size_t l = strcspn(p, " ");
  snprintf(out, len, "%.*s", (int)l, p);
}

static int write_json_atomic(int dirfd, const char *name, json_t *obj, struct dv_error *err) {
  char tmp[64];
  snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
  char *text = json_dumps(obj, JSON_COMPACT);
  if (text == NULL) return dv_fail(err, ENOMEM, NULL, NULL, "out of memory");
  int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) {
    free(text);
    return dv_fail(err, errno, "openat", name, "write %s", name);
  }
  int rc = dv_write_all(fd, text, strlen(text));
  if (rc == 0) rc = dv_write_all(fd, "\n", 1);
  int e = errno;
  close(fd);
  free(text);
  if (rc < 0) {
    unlinkat(dirfd, tmp, 0);
    return dv_fail(err, e, "write", name, "write %s", name);
  }
  if (renameat(dirfd, tmp, dirfd, name) < 0) {
    e = errno;
    unlinkat(dirfd, tmp, 0);
    return dv_fail(err, e, "renameat", name, "write %s", name);
  }
  return 0;
}

static void warn(struct run *r, const char *message) {
  dv_write_warning(r->sync_fd, "%s", message);
}

static int usage(int sync_fd, const char *what) {
  struct dv_error err;
  dv_fail(&err, EINVAL, NULL, NULL, "usage: devenv-runtime run --bundle DIR [--detach] [--sync-fd N] (%s)", what);
  dv_write_error(sync_fd, &err);
  return 125;
}

/* The monitor outlives its caller: an fd it inherited by accident (a pipe of the caller's shell, `$(devenv
 * container run -d …)`) would keep that open for the container's life. Only stdio and the sync fd stay. */
static void close_inherited_fds(int keep) {
  if (keep < 3) {
    syscall(SYS_close_range, 3U, ~0U, 0);
    return;
  }
  if (keep > 3) syscall(SYS_close_range, 3U, (unsigned)keep - 1, 0);
  syscall(SYS_close_range, (unsigned)keep + 1, ~0U, 0);
}

/* ---- fuse-overlayfs -------------------------------------------------------- */

int dv_fuse_mount(const struct dv_spec *s, int userns_fd, int fuse_fd, struct dv_error *err) {
  if (s->n_lowerdirs == 0) return dv_fail(err, EINVAL, NULL, NULL, "fuse-overlayfs needs devenv.rootfs.lowerdirs");
  size_t cap = 64;
  for (size_t i = 0; i < s->n_lowerdirs; i++) cap += strlen(s->lowerdirs[i]) + 1;
  if (s->upperdir) cap += strlen(s->upperdir) + strlen(s->workdir) + 32;
  char *opts = malloc(cap);
  if (opts == NULL) return dv_fail(err, ENOMEM, NULL, NULL, "out of memory");
  size_t used = (size_t)snprintf(opts, cap, "lowerdir=");
  for (size_t i = 0; i < s->n_lowerdirs; i++) {
    if (strpbrk(s->lowerdirs[i], ",:")) {
      free(opts);
      return dv_fail(err, EINVAL, NULL, s->lowerdirs[i], "fuse-overlayfs cannot take a layer path with , or :");
    }
    used += (size_t)snprintf(opts + used, cap - used, "%s%s", i ? ":" : "", s->lowerdirs[i]);
  }
  if (s->upperdir) snprintf(opts + used, cap - used, ",upperdir=%s,workdir=%s", s->upperdir, s->workdir);

  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) {
    free(opts);
    return dv_fail(err, errno, "pipe2", NULL, "run fuse-overlayfs");
  }
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    free(opts);
    close(p[0]);
    close(p[1]);
    return dv_fail(err, e, "fork", NULL, "run fuse-overlayfs");
  }
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    if (s->ns[DV_NS_USER] && setns(userns_fd, CLONE_NEWUSER) < 0) _exit(120);
    if (s->ns[DV_NS_USER] && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)) _exit(121);
    int null = open("/dev/null", O_RDWR);
    if (null < 0) _exit(122);
    dup2(null, 0);
    dup2(null, 1);
    dup2(p[1], 2);
    if (dup2(fuse_fd, 3) < 0) _exit(122);
    syscall(SYS_close_range, 4U, ~0U, 0);
    char *argv[] = {(char *)s->fuse_overlayfs, "-o", opts, "/dev/fd/3", NULL};
    char *envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
    execve(argv[0], argv, envp);
    _exit(127);
  }
  free(opts);
  close(p[1]);
  /* Its stderr, less the noise it always prints; the daemon closes it once the mount is served. */
  char msg[1024], buf[1024];
  size_t len = 0, have = 0;
  msg[0] = '\0';
  for (;;) {
    ssize_t n = read(p[0], buf + have, sizeof(buf) - 1 - have);
    if (n < 0 && errno == EINTR) continue;
    if (n > 0) have += (size_t)n;
    buf[have] = '\0';
    char *line = buf, *nl;
    while ((nl = strchr(line, '\n')) != NULL || (n <= 0 && *line)) {
      if (nl) *nl = '\0';
      if (*line && strncmp(line, "unknown argument ignored", 24) != 0 && len < sizeof(msg) - 1)
        len += (size_t)snprintf(msg + len, sizeof(msg) - len, "%s%s", len ? "; " : "", line);
      line = nl ? nl + 1 : line + strlen(line);
    }
    have = strlen(line);
    memmove(buf, line, have + 1);
    if (have == sizeof(buf) - 1) have = 0;
    if (n <= 0) break;
  }
  close(p[0]);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return 0;
  int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return dv_fail(err, code >= 120 && code <= 122 ? EPERM : EIO, code == 127 ? "execve" : "mount", s->fuse_overlayfs,
                 "fuse-overlayfs failed (exit code %d)%s%s", code, msg[0] ? ": " : "", msg);
}

/* ---- setup phase ------------------------------------------------------------ */

/* Put the child's fds in place: 0-2 its stdio, 3 the socket, 4 the runtime's memfd, 5 the rootfs mount. */
static void child_fds(int in, int out, int errfd, int sock, int exe, int rootfs) {
  int src[6] = {in, out, errfd, sock, exe, rootfs};
  int high[6];
  for (int i = 0; i < 6; i++) high[i] = src[i] >= 0 ? fcntl(src[i], F_DUPFD, 6) : -1; /* above 0-5, even under a low RLIMIT_NOFILE */
  for (int i = 0; i < 6; i++) {
    if (high[i] >= 0) {
      if (dup2(high[i], i) < 0) _exit(125);
    } else {
      close(i);
    }
  }
  syscall(SYS_close_range, 6U, ~0U, 0);
}

static void kill_and_reap(struct run *r) {
  if (r->pid <= 0) return;
  kill(r->pid, SIGKILL);
  int st;
  while (waitpid(r->pid, &st, 0) < 0 && errno == EINTR) {
  }
  r->pid = -1;
}

static void restore_tty(struct run *r) {
  if (r->raw) dv_tty_restore(0, &r->saved);
  r->raw = false;
}

/* Until the command's execve: warnings, the fuse request, the pty, then started or an error. */
static int wait_started(struct run *r, struct dv_error *err) {
  for (;;) {
    struct dv_msg m;
    int rc = dv_msg_recv(r->sock, &m);
    if (rc <= 0) {
      int st = 0;
      pid_t w;
      while ((w = waitpid(r->pid, &st, 0)) < 0 && errno == EINTR) {
      }
      if (w == r->pid) r->pid = -1;
      if (w > 0 && WIFSIGNALED(st))
        return dv_fail(err, ECHILD, NULL, NULL, "the container's setup process was killed by signal %d",
                       WTERMSIG(st));
      return dv_fail(err, ECHILD, NULL, NULL, "the container's setup process exited (%d) without reporting",
                     WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    }
    switch (m.type) {
      case DV_MSG_WARNING:
        warn(r, m.err.message);
        break;
      case DV_MSG_ERROR:
        *err = m.err;
        if (err->exit_code < 125 || err->exit_code > 127) err->exit_code = 125;
        return -1;
      case DV_MSG_FUSE: {
        int user = dv_recv_fd(r->sock);
        int fuse = user >= 0 ? dv_recv_fd(r->sock) : -1;
        struct dv_error ferr;
        int frc = -1;
        if (user < 0 || fuse < 0)
          dv_fail(&ferr, errno, "recvmsg", NULL, "receive the container's fds for fuse-overlayfs");
        else
          frc = dv_fuse_mount(&r->spec, user, fuse, &ferr);
        if (user >= 0) close(user);
        if (fuse >= 0) close(fuse);
        dv_msg_send(r->sock, DV_MSG_FUSE_DONE, frc, frc < 0 ? &ferr : NULL);
        break;
      }
      case DV_MSG_PTY:
        r->master = dv_recv_fd(r->sock);
        if (r->master < 0) return dv_fail(err, errno, "recvmsg", NULL, "receive the container's pty");
        if (!r->detach && isatty(0)) dv_tty_copy_winsize(0, r->master);
        break;
      case DV_MSG_STARTED:
        return 0;
      default:
        return dv_fail(err, EBADMSG, NULL, NULL, "unexpected message %u from the container", m.type);
    }
  }
}

/* ---- running ---------------------------------------------------------------- */

struct relay {
  char buf[65536];
  size_t len, off;
};

static bool out_ok[3] = {true, true, true};

static void emit(struct run *r, int to, const char *stream, const char *buf, size_t len) {
  if (!r->detach && out_ok[to] && dv_write_all(to, buf, len) < 0) out_ok[to] = false;
  dv_log_write(r->log_fd, stream, buf, len);
}

/* Read what is there; returns false at EOF (or EIO of a pty whose last slave closed). */
static bool pump_output(struct run *r, int fd, int to, const char *stream) {
  static char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return true;
    if (n <= 0) return false;
    emit(r, to, stream, buf, (size_t)n);
    return true;
  }
}

static long ms_since(const struct timespec *t0) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Relay until the init exits and then until the output ends (at most two more seconds). Returns the
 * command's wait status. */
static int supervise(struct run *r, int sfd) {
  bool terminal = r->master >= 0;
  int outs[2] = {terminal ? r->master : r->out_r, terminal ? -1 : r->err_r};
  bool relay_in = !r->detach && (terminal || r->in_w >= 0);
  int in_dst = terminal ? r->master : r->in_w;
  static struct relay in;
  bool in_eof = !relay_in;
  int init_status = 0, cmd_status = 0;
  bool have_cmd_status = false, exited = false;
  struct timespec exited_at = {0, 0};

  if (in_dst >= 0) fcntl(in_dst, F_SETFL, fcntl(in_dst, F_GETFL) | O_NONBLOCK);
  for (int i = 0; i < 2; i++)
    if (outs[i] >= 0) fcntl(outs[i], F_SETFL, fcntl(outs[i], F_GETFL) | O_NONBLOCK);

  for (;;) {
    if (exited && outs[0] < 0 && outs[1] < 0) break;
    long timeout = -1;
    if (exited) {
      timeout = 2000 - ms_since(&exited_at);
      if (timeout <= 0) break;
    }
    struct pollfd p[7];
    int n = 0, i_sig = -1, i_sock = -1, i_out[2] = {-1, -1}, i_in = -1, i_dst = -1, i_fwd = -1;
    if (!exited) {
      p[i_sig = n++] = (struct pollfd){.fd = sfd, .events = POLLIN};
    }
    if (r->fwd) p[i_fwd = n++] = (struct pollfd){.fd = dv_fwd_fd(r->fwd), .events = POLLIN};
    if (r->sock >= 0) p[i_sock = n++] = (struct pollfd){.fd = r->sock, .events = POLLIN};
    for (int k = 0; k < 2; k++)
      if (outs[k] >= 0) p[i_out[k] = n++] = (struct pollfd){.fd = outs[k], .events = POLLIN};
    if (!exited && !in_eof && in.len == 0) p[i_in = n++] = (struct pollfd){.fd = 0, .events = POLLIN};
    if (!exited && in.len > 0 && in_dst >= 0) p[i_dst = n++] = (struct pollfd){.fd = in_dst, .events = POLLOUT};
    int rc = poll(p, (nfds_t)n, (int)timeout);
    if (rc < 0 && errno != EINTR) break;
    if (rc <= 0) continue;

    if (i_sig >= 0 && (p[i_sig].revents & POLLIN)) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        int sig = (int)si.ssi_signo;
        if (sig == SIGCHLD) {
          int st;
          pid_t w;
          while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
            if (w == r->pid) {
              init_status = st;
              exited = true;
              r->pid = -1;
              clock_gettime(CLOCK_MONOTONIC, &exited_at);
              dv_fwd_close(r->fwd); /* forwards end with the container */
              r->fwd = NULL;
              i_fwd = -1;
            }
          }
        } else if (sig == SIGWINCH) {
          if (terminal && !r->detach && isatty(0)) dv_tty_copy_winsize(0, r->master);
        } else if (r->pid > 0) {
          kill(r->pid, sig);
        }
      }
    }
    if (i_sock >= 0 && p[i_sock].revents) {
      struct dv_msg m;
      int mrc = dv_msg_recv(r->sock, &m);
      if (mrc <= 0) {
        close(r->sock);
        r->sock = -1;
      } else if (m.type == DV_MSG_STATUS) {
        cmd_status = m.value;
        have_cmd_status = true;
      }
    }
    if (i_fwd >= 0 && p[i_fwd].revents) dv_fwd_dispatch(r->fwd);
    for (int k = 0; k < 2; k++) {
      if (i_out[k] < 0 || !p[i_out[k]].revents) continue;
      if (!pump_output(r, outs[k], k == 0 ? 1 : 2, k == 0 ? "stdout" : "stderr")) {
        if (outs[k] != r->master) close(outs[k]);
        outs[k] = -1;
      }
    }
    if (i_in >= 0 && p[i_in].revents) {
      ssize_t got = read(0, in.buf, sizeof(in.buf));
      if (got > 0) {
        in.len = (size_t)got;
        in.off = 0;
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        in_eof = true;
        if (!terminal && r->in_w >= 0) {
          close(r->in_w);
          r->in_w = in_dst = -1;
        }
      }
    }
    if (in.len > 0 && in_dst >= 0 && (i_dst >= 0 ? p[i_dst].revents != 0 : true)) {
      ssize_t w = write(in_dst, in.buf + in.off, in.len);
      if (w > 0) {
        in.off += (size_t)w;
        in.len -= (size_t)w;
      } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
        in.len = 0;
        in_eof = true; /* the container closed its stdin */
        if (!terminal) {
          close(r->in_w);
          r->in_w = in_dst = -1;
        }
      }
    }
  }
  if (r->pid > 0) { /* gave up draining before the init was reaped: cannot happen, but never leave it */
    kill_and_reap(r);
  }
  /* A status the init sent before it exited, if it is still in the socket. */
  if (!have_cmd_status && r->sock >= 0) {
    struct dv_msg m;
    fcntl(r->sock, F_SETFL, O_NONBLOCK);
    while (dv_msg_recv(r->sock, &m) > 0)
      if (m.type == DV_MSG_STATUS) {
        cmd_status = m.value;
        have_cmd_status = true;
      }
  }
  if (r->master >= 0) close(r->master);
  r->master = -1;
  return have_cmd_status ? cmd_status : init_status;
}

/* ---- the command ---------------------------------------------------------------- */

int dv_cmd_run(int argc, char **argv) {
  static struct run run;
  struct run *r = &run;
  struct dv_error err;
  const char *bundle = NULL;
  r->sync_fd = -1;
  r->master = r->out_r = r->err_r = r->in_w = r->sock = r->log_fd = r->bundle_fd = -1;
  r->pid = -1;

  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--bundle") == 0 && i + 1 < argc) {
      bundle = argv[++i];
    } else if (strncmp(a, "--bundle=", 9) == 0) {
      bundle = a + 9;
    } else if (strcmp(a, "--detach") == 0 || strcmp(a, "-d") == 0) {
      r->detach = true;
    } else if ((strcmp(a, "--sync-fd") == 0 && i + 1 < argc) || strncmp(a, "--sync-fd=", 10) == 0) {
      const char *v = a[9] == '=' ? a + 10 : argv[++i];
      char *end;
      long fd = strtol(v, &end, 10);
      if (*v == '\0' || *end != '\0' || fd < 0 || fd > 65535 || fcntl((int)fd, F_GETFD) < 0)
        return usage(-1, "--sync-fd is not an open file descriptor");
      r->sync_fd = (int)fd;
      fcntl(r->sync_fd, F_SETFD, FD_CLOEXEC);
    } else {
      return usage(r->sync_fd, a);
    }
  }
  if (bundle == NULL) return usage(r->sync_fd, "--bundle is required");
  close_inherited_fds(r->sync_fd);

  /* Signals we forward or wait for are taken through a signalfd; the container inherits the mask and its
   * command resets it. */
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGWINCH);
  for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++) sigaddset(&mask, forwarded[i]);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  signal(SIGPIPE, SIG_IGN);

  struct dv_spec *s = &r->spec;
  if (dv_spec_load(bundle, true, s, &err) < 0) goto fail_early;

  if (r->detach) {
    pid_t p = fork();
    if (p < 0) {
      dv_fail(&err, errno, "fork", NULL, "detach");
      goto fail_early;
    }
    if (p > 0) _exit(0);
    setsid();
    if (chdir("/") < 0) { /* only so as not to pin the caller's working directory */
    }
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);
      dup2(null, 2);
      close(null);
    }
  }

  r->bundle_fd = open(s->bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (r->bundle_fd < 0) {
    dv_fail(&err, errno, "open", s->bundle, "open the bundle");
    goto fail_early;
  }
  char log_path[4200];
  snprintf(log_path, sizeof(log_path), "%s/ctr.log", s->bundle);
  const char *lp = s->log_path ? s->log_path : log_path;
  r->log_fd = open(lp, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
  if (r->log_fd < 0) {
    dv_fail(&err, errno, "open", lp, "open the container log");
    goto fail_early;
  }
  /* Host ports are taken before anything else exists: a port in use with requireLocalPort costs nothing. */
  if (dv_fwd_open(s, r->bundle_fd, r->sync_fd, &r->fwd, &err) < 0) goto fail_early;

  /* The container's stdio. */
  int c_in = -1, c_out = -1, c_err = -1, null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0) {
    dv_fail(&err, errno, "open", "/dev/null", "open /dev/null");
    goto fail_early;
  }
  c_in = c_out = c_err = null;
  if (!s->process.terminal) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) goto fail_pipe;
    r->out_r = p[0];
    c_out = p[1];
    if (pipe2(p, O_CLOEXEC) < 0) goto fail_pipe;
    r->err_r = p[0];
    c_err = p[1];
    /* stdin is relayed through a pipe, never handed over: a host terminal in the container could be used to
     * inject input into the user's shell (TIOCSTI), a host file reopened through /proc/self/fd. */
    if (s->stdin_open && !r->detach) {
      if (pipe2(p, O_CLOEXEC) < 0) goto fail_pipe;
      c_in = p[0];
      r->in_w = p[1];
    }
  }

  /* As root, the rootfs is mounted here (detached: nothing appears on the host), so overlayfs uses the host's
   * credentials for its trusted.* xattrs; the container attaches it in its own mount namespace. */
  int premade = -1;
  if (!s->rootless) {
    bool want_fuse = false;
    premade = dv_rootfs_create(s, &want_fuse, &err);
    if (premade < 0 && !want_fuse) goto fail_early;
    if (premade < 0) {
      if (s->rootfs_driver && strcmp(s->rootfs_driver, "overlay") == 0)
        dv_write_warning(r->sync_fd, "kernel overlayfs refused the rootfs (%s); using fuse-overlayfs", err.message);
      premade = -2;
    }
  }
  int exe = -1;
  if (s->rootless && s->ns[DV_NS_USER]) {
    exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (exe < 0) {
      dv_fail(&err, errno, "open", "/proc/self/exe", "open the runtime's memfd");
      goto fail_early;
    }
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
    dv_fail(&err, errno, "socketpair", NULL, "create the container's socket");
    goto fail_early;
  }
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) {
    dv_fail(&err, errno, "signalfd", NULL, "watch signals");
    goto fail_early;
  }

  unsigned long flags = SIGCHLD | CLONE_NEWNS;
  if (s->ns[DV_NS_USER]) flags |= CLONE_NEWUSER;
  if (s->ns[DV_NS_PID]) flags |= CLONE_NEWPID;
  if (s->ns[DV_NS_UTS] && !s->ns_path[DV_NS_UTS]) flags |= CLONE_NEWUTS;
  if (s->ns[DV_NS_IPC] && !s->ns_path[DV_NS_IPC]) flags |= CLONE_NEWIPC;
  if (s->ns[DV_NS_NET] && !s->ns_path[DV_NS_NET]) flags |= CLONE_NEWNET;
  pid_t pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
  if (pid < 0) {
    dv_fail(&err, errno, "clone", NULL, "create the container's namespaces");
    goto fail_early;
  }
  if (pid == 0) {
    child_fds(c_in, c_out, c_err, sv[1], exe, premade >= 0 ? premade : -1);
    dv_container_child(s, premade >= 0 ? DV_CHILD_ROOTFS_FD : premade);
  }
  r->pid = pid;
  r->sock = sv[0];
  close(sv[1]);
  close(null);
  if (c_in != null) close(c_in);
  if (c_out != null) close(c_out);
  if (c_err != null) close(c_err);
  if (exe >= 0) close(exe);
  if (premade >= 0) close(premade);

  if (s->ns[DV_NS_USER] && dv_idmap_apply(pid, s, &err) < 0) goto fail;
  if (dv_cgroup_join(s, pid, &err) < 0) goto fail;
  /* Private network: eth0 is configured before the container may continue, so its command never starts without
   * network (and its setup adds the IPv6 address to an interface that exists). */
  if (dv_net_start(s, pid, &err) < 0) goto fail;
  if (dv_msg_send(r->sock, DV_MSG_GO, 0, NULL) < 0) {
    dv_fail(&err, errno, "send", NULL, "start the container's setup");
    goto fail;
  }
  if (wait_started(r, &err) < 0) goto fail;
  if (r->fwd) dv_fwd_attach(r->fwd, pid, r->sync_fd);

  /* Started: state.json, then the caller hears about it. */
  {
    char start[32], mstart[32], now[48];
    dv_proc_start_time(pid, start, sizeof(start));
    dv_proc_start_time(getpid(), mstart, sizeof(mstart));
    dv_iso_now(now, sizeof(now));
    json_t *st = json_pack("{s:i,s:s,s:i,s:s,s:s}", "pid", (int)pid, "pidStartTime", start, "monitorPid",
                           (int)getpid(), "monitorStartTime", mstart, "startedAt", now);
    unlinkat(r->bundle_fd, "exit.json", 0);
    int rc = write_json_atomic(r->bundle_fd, "state.json", st, &err);
    json_decref(st);
    if (rc < 0) goto fail;
    if (r->sync_fd >= 0) {
      char line[64];
      int len = snprintf(line, sizeof(line), "{\"type\":\"started\",\"pid\":%d}\n", (int)pid);
      dv_write_all(r->sync_fd, line, (size_t)len);
      /* Attached runs keep the fd to report how the container ended before an autoRemove deletes exit.json. */
      if (r->detach) {
        close(r->sync_fd);
        r->sync_fd = -1;
      }
    }
  }

  if (r->master >= 0 && !r->detach && isatty(0) && dv_tty_make_raw(0, &r->saved) == 0) r->raw = true;
  dv_release_idle_memory();
  int status = supervise(r, sfd);
  dv_fwd_close(r->fwd);
  r->fwd = NULL;
  restore_tty(r);
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  const char *signame = NULL;
  char sigbuf[32];
  if (WIFSIGNALED(status)) {
    const char *abbrev = sigabbrev_np(WTERMSIG(status));
    snprintf(sigbuf, sizeof(sigbuf), "SIG%s", abbrev ? abbrev : "UNKNOWN");
    signame = sigbuf;
  }
  {
    char now[48];
    dv_iso_now(now, sizeof(now));
    json_t *ex = json_pack("{s:i,s:o,s:b,s:s}", "exitCode", code, "signal",
                           signame ? json_string(signame) : json_null(), "oomKilled", dv_cgroup_oom_killed(s),
                           "finishedAt", now);
    if (write_json_atomic(r->bundle_fd, "exit.json", ex, &err) < 0) dv_write_error(-1, &err);
    if (r->sync_fd >= 0) {
      json_object_set_new(ex, "type", json_string("exited"));
      char *text = json_dumps(ex, JSON_COMPACT);
      if (text) {
        dv_write_all(r->sync_fd, text, strlen(text));
        dv_write_all(r->sync_fd, "\n", 1);
        free(text);
      }
      close(r->sync_fd);
      r->sync_fd = -1;
    }
    json_decref(ex);
  }
  dv_cgroup_remove(s);
  if (s->auto_remove) {
    const char *paths[] = {s->bundle};
    if (dv_remove_paths(s, paths, 1, &err) < 0 && !r->detach) dv_write_error(-1, &err);
  }
  return code;

fail_pipe:
  dv_fail(&err, errno, "pipe2", NULL, "create the container's output pipes");
  goto fail_early;
fail:
  kill_and_reap(r);
  restore_tty(r);
fail_early:
  dv_fwd_close(r->fwd);
  r->fwd = NULL;
  if (err.exit_code < 125 || err.exit_code > 127) err.exit_code = 125;
  dv_write_error(r->sync_fd, &err);
  if (r->sync_fd >= 0 && !r->detach) {
    /* attached: the user sees it too */
  }
  return err.exit_code;
}
