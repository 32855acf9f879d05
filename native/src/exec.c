/* devenv-runtime exec --bundle DIR --process FILE [--detach] [--sync-fd N]
 *
 * Three processes, as runc and crun do it:
 *   P  (outside, stays in the host's namespaces): reads the bundle, forks J, then relays the terminal,
 *      forwards signals and exits with the command's status. P is a child subreaper so that X becomes its
 *      child once J exits.
 *   J  (joiner): joins the container's cgroups and namespaces (setns through a pidfd: one atomic call),
 *      opens the pty from the container's /dev/ptmx, forks X into the pid namespace, reports X's pid, exits.
 *   X  (the command): applies user, capabilities, seccomp (dv_process_exec) and execs.
 * J and X are not dumpable until execve, so nothing in the container can ptrace them while they hold
 * runtime state. */
#include "dv.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static const int forwarded_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

static const struct {
  const char *type; /* OCI linux.namespaces[].type */
  const char *proc; /* name under /proc/PID/ns */
  int flag;
} ns_kinds[] = {
    /* user first: joining it gives the capabilities needed to join the others */
    {"user", "user", CLONE_NEWUSER}, {"mount", "mnt", CLONE_NEWNS},     {"pid", "pid", CLONE_NEWPID},
    {"uts", "uts", CLONE_NEWUTS},    {"ipc", "ipc", CLONE_NEWIPC},      {"network", "net", CLONE_NEWNET},
    {"cgroup", "cgroup", CLONE_NEWCGROUP},
};
#define N_NS (sizeof(ns_kinds) / sizeof(ns_kinds[0]))

struct exec_ctx {
  const char *bundle;
  const char *process_file;
  bool detach;
  int sync_fd;

  struct dv_process proc;
  struct dv_seccomp *seccomp;
  char **cgroups; /* NULL-terminated */
  pid_t pid;      /* the container's init, host pid */
  int pidfd;      /* -1 when pidfd_open is not available */
  int ns_flags;   /* namespaces of the container that differ from ours */
  struct winsize winsize;
  bool have_winsize;
};

/* dv_fail without the strerror suffix, for messages that say it all. */
static int fail_plain(struct dv_error *err, int errnum, const char *path, const char *message) {
  dv_fail(err, 0, NULL, path, "%s", message);
  err->errnum = errnum;
  return -1;
}

static int not_running(struct dv_error *err, int errnum, const char *path) {
  return fail_plain(err, errnum ? errnum : ESRCH, path, "container is not running");
}

/* ---- reading the bundle ---------------------------------------------------- */

static int parse_args(int argc, char **argv, struct exec_ctx *ctx, struct dv_error *err) {
  ctx->sync_fd = -1;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    const char *value = NULL;
    size_t name_len = strlen(a);
    const char *eq = strchr(a, '=');
    if (strncmp(a, "--", 2) == 0 && eq != NULL) {
      name_len = (size_t)(eq - a);
      value = eq + 1;
    }
#define IS(opt) (strlen(opt) == name_len && strncmp(a, opt, name_len) == 0)
    if (IS("--detach") && value == NULL) {
      ctx->detach = true;
      continue;
    }
    if (IS("--bundle") || IS("--process") || IS("--sync-fd")) {
      if (value == NULL) {
        if (i + 1 >= argc) return fail_plain(err, EINVAL, NULL, "usage: exec: an option needs a value");
        value = argv[++i];
      }
      if (IS("--bundle")) {
        ctx->bundle = value;
      } else if (IS("--process")) {
        ctx->process_file = value;
      } else {
        char *end;
        long fd = strtol(value, &end, 10);
        if (*value == '\0' || *end != '\0' || fd < 0 || fd > 65535 || fcntl((int)fd, F_GETFD) < 0)
          return fail_plain(err, EBADF, NULL, "usage: exec: --sync-fd is not an open file descriptor");
        ctx->sync_fd = (int)fd;
        fcntl(ctx->sync_fd, F_SETFD, FD_CLOEXEC);
      }
      continue;
    }
#undef IS
    /* The command name itself (argv[0], "exec") may or may not be passed on to us. */
    if (i <= 1 && (strcmp(a, "exec") == 0 || (i == 0 && a[0] != '-'))) continue;
    return fail_plain(err, EINVAL, a, "usage: exec: unexpected argument");
  }
  if (ctx->bundle == NULL || ctx->process_file == NULL)
    return fail_plain(err, EINVAL, NULL, "usage: devenv-runtime exec --bundle DIR --process FILE [--detach] [--sync-fd N]");
  return 0;
}

static json_t *load_json(const char *path, struct dv_error *err) {
  json_error_t jerr;
  json_t *root = json_load_file(path, 0, &jerr);
  if (root == NULL) {
    int e = errno;
    FILE *probe = fopen(path, "r");
    if (probe == NULL) {
      dv_fail(err, errno ? errno : e, "open", path, "read %s", path);
    } else {
      fclose(probe);
      dv_fail(err, 0, NULL, path, "%s: line %d: %s", path, jerr.line, jerr.text);
      err->errnum = EINVAL;
    }
  }
  return root;
}

static int read_config(struct exec_ctx *ctx, struct dv_error *err) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/config.json", ctx->bundle);
  json_t *config = load_json(path, err);
  if (config == NULL) return -1;
  int rc = -1;
  json_t *linux_obj = json_object_get(config, "linux");
  char cache[4096];
  json_t *shared_cache = json_object_get(json_object_get(config, "devenv"), "seccompCache");
  if (json_is_string(shared_cache) && json_string_value(shared_cache)[0] == '/')
    snprintf(cache, sizeof(cache), "%s", json_string_value(shared_cache));
  else
    snprintf(cache, sizeof(cache), "%s/seccomp.bpf", ctx->bundle);
  if (dv_seccomp_from_json_cached(json_object_get(linux_obj, "seccomp"), cache, &ctx->seccomp, err) < 0) goto out;

  json_t *namespaces = json_object_get(linux_obj, "namespaces");
  size_t i;
  json_t *ns;
  json_array_foreach(namespaces, i, ns) {
    const char *type = json_string_value(json_object_get(ns, "type"));
    for (size_t k = 0; type && k < N_NS; k++) {
      if (strcmp(type, ns_kinds[k].type) == 0) ctx->ns_flags |= ns_kinds[k].flag;
    }
  }

  json_t *cgroups = json_object_get(json_object_get(config, "devenv"), "cgroups");
  size_t n = json_is_array(cgroups) ? json_array_size(cgroups) : 0;
  ctx->cgroups = calloc(n + 1, sizeof(char *));
  if (ctx->cgroups == NULL) {
    dv_fail(err, ENOMEM, NULL, NULL, "out of memory");
    goto out;
  }
  for (i = 0; i < n; i++) {
    const char *dir = json_string_value(json_array_get(cgroups, i));
    if (dir == NULL || (ctx->cgroups[i] = strdup(dir)) == NULL) {
      fail_plain(err, EINVAL, path, "devenv.cgroups must hold paths");
      goto out;
    }
  }
  rc = 0;
out:
  json_decref(config);
  return rc;
}

static int read_process(struct exec_ctx *ctx, struct dv_error *err) {
  json_t *obj = load_json(ctx->process_file, err);
  if (obj == NULL) return -1;
  int rc = dv_process_from_json(obj, &ctx->proc, err);
  json_decref(obj);
  return rc;
}

/* Field 22 of /proc/PID/stat (start time in clock ticks since boot). */
static int read_start_time(pid_t pid, char *out, size_t out_len) {
  char path[64], buf[1024];
  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  int e = errno;
  close(fd);
  if (n <= 0) {
    errno = n < 0 ? e : ESRCH;
    return -1;
  }
  buf[n] = '\0';
  char *p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
  if (p == NULL) {
    errno = EINVAL;
    return -1;
  }
  p++;
  for (int field = 2; field < 21; field++) { /* p points before field 3; skip to before field 22 */
    p = strchr(p + 1, ' ');
    if (p == NULL) {
      errno = EINVAL;
      return -1;
    }
  }
  p++;
  size_t len = strcspn(p, " \n");
  if (len == 0 || len >= out_len) {
    errno = EINVAL;
    return -1;
  }
  memcpy(out, p, len);
  out[len] = '\0';
  return 0;
}

/* The container's init from state.json, pinned with a pidfd and checked against its start time. */
static int find_container(struct exec_ctx *ctx, struct dv_error *err) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/state.json", ctx->bundle);
  json_error_t jerr;
  json_t *state = json_load_file(path, 0, &jerr);
  if (state == NULL) return not_running(err, ESRCH, path);
  json_t *pid_v = json_object_get(state, "pid");
  json_t *start_v = json_object_get(state, "pidStartTime");
  char want[32] = "";
  if (json_is_string(start_v))
    snprintf(want, sizeof(want), "%s", json_string_value(start_v));
  else if (json_is_integer(start_v))
    snprintf(want, sizeof(want), "%lld", (long long)json_integer_value(start_v));
  ctx->pid = json_is_integer(pid_v) ? (pid_t)json_integer_value(pid_v) : 0;
  json_decref(state);
  if (ctx->pid <= 0 || want[0] == '\0')
    return fail_plain(err, EINVAL, path, "state.json has no valid pid and pidStartTime");

  ctx->pidfd = (int)syscall(SYS_pidfd_open, ctx->pid, 0);
  if (ctx->pidfd < 0 && errno != ENOSYS) return not_running(err, ESRCH, path);
  /* Checked after the pidfd is open: if the start time still matches, the pidfd is that very process. */
  char have[32];
  if (read_start_time(ctx->pid, have, sizeof(have)) < 0 || strcmp(have, want) != 0)
    return not_running(err, ESRCH, path);
  return 0;
}

/* Keep only the namespaces that differ from ours (setns refuses to "join" one's own user namespace). */
static int select_namespaces(struct exec_ctx *ctx, struct dv_error *err) {
  int flags = 0;
  for (size_t k = 0; k < N_NS; k++) {
    if (!(ctx->ns_flags & ns_kinds[k].flag)) continue;
    char theirs[64], ours[64];
    struct stat a, b;
    snprintf(theirs, sizeof(theirs), "/proc/%d/ns/%s", (int)ctx->pid, ns_kinds[k].proc);
    snprintf(ours, sizeof(ours), "/proc/self/ns/%s", ns_kinds[k].proc);
    if (stat(theirs, &a) < 0) return not_running(err, errno, theirs);
    if (stat(ours, &b) < 0) return dv_fail(err, errno, "stat", ours, "read our own %s namespace", ns_kinds[k].type);
    if (a.st_dev != b.st_dev || a.st_ino != b.st_ino) flags |= ns_kinds[k].flag;
  }
  ctx->ns_flags = flags;
  return 0;
}

/* ---- J: the joiner ------------------------------------------------------------------ */

static int join_cgroups(struct exec_ctx *ctx, struct dv_error *err) {
  char buf[24];
  int len = snprintf(buf, sizeof(buf), "%d", (int)getpid());
  for (char **dir = ctx->cgroups; *dir; dir++) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/cgroup.procs", *dir);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return dv_fail(err, errno, "open", path, "join cgroup %s", *dir);
    int rc = dv_write_all(fd, buf, (size_t)len);
    int e = errno;
    close(fd);
    if (rc < 0) return dv_fail(err, e, "write", path, "join cgroup %s", *dir);
  }
  return 0;
}

static int join_namespaces(struct exec_ctx *ctx, struct dv_error *err) {
  if (ctx->ns_flags == 0) return 0;
  if (ctx->pidfd >= 0) {
    if (setns(ctx->pidfd, ctx->ns_flags) == 0) return 0;
    if (errno == ESRCH) return not_running(err, ESRCH, NULL);
    if (errno != EINVAL) return dv_fail(err, errno, "setns", NULL, "join the container's namespaces");
    /* EINVAL: a kernel older than 5.8 cannot setns through a pidfd; join one namespace at a time. */
  }
  int fds[N_NS];
  for (size_t k = 0; k < N_NS; k++) {
    fds[k] = -1;
    if (!(ctx->ns_flags & ns_kinds[k].flag)) continue;
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)ctx->pid, ns_kinds[k].proc);
    if ((fds[k] = open(path, O_RDONLY | O_CLOEXEC)) < 0) return not_running(err, errno, path);
  }
  for (size_t k = 0; k < N_NS; k++) {
    if (fds[k] < 0) continue;
    if (setns(fds[k], ns_kinds[k].flag) < 0)
      return dv_fail(err, errno, "setns", NULL, "join the container's %s namespace", ns_kinds[k].type);
    close(fds[k]);
  }
  return 0;
}

static void reset_signals(const sigset_t *old_mask) {
  struct sigaction dfl = {.sa_handler = SIG_DFL};
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, NULL);
  }
  sigprocmask(SIG_SETMASK, old_mask, NULL);
}

static void run_command(struct exec_ctx *ctx, int pty_slave, int err_fd, const sigset_t *old_mask) {
  reset_signals(old_mask);
  if (pty_slave >= 0) {
    struct dv_error err;
    if (setsid() < 0 || ioctl(pty_slave, TIOCSCTTY, 0) < 0) {
      dv_fail(&err, errno, "ioctl", NULL, "make the pseudo-terminal the controlling terminal");
      dv_write_error(err_fd, &err);
      _exit(125);
    }
    for (int fd = 0; fd < 3; fd++) {
      if (dup2(pty_slave, fd) < 0) {
        dv_fail(&err, errno, "dup2", NULL, "attach the pseudo-terminal");
        dv_write_error(err_fd, &err);
        _exit(125);
      }
    }
    if (pty_slave > 2) close(pty_slave);
  }
  dv_process_exec(&ctx->proc, ctx->seccomp, err_fd);
}

static void joiner(struct exec_ctx *ctx, int sock, int err_fd, const sigset_t *old_mask) {
  struct dv_error err;
  int master = -1, slave = -1;
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (join_cgroups(ctx, &err) < 0 || join_namespaces(ctx, &err) < 0) goto fail;
  if (ctx->proc.terminal) {
    if (dv_pty_open(&master, &slave, &err) < 0) goto fail;
    struct winsize ws = ctx->winsize;
    if (!ctx->have_winsize) ws = (struct winsize){.ws_row = ctx->proc.rows, .ws_col = ctx->proc.cols};
    if (ws.ws_row > 0 || ws.ws_col > 0) ioctl(master, TIOCSWINSZ, &ws);
    if (dv_send_fd(sock, master) < 0) {
      dv_fail(&err, errno, "sendmsg", NULL, "pass the pseudo-terminal to the runtime");
      goto fail;
    }
    close(master);
  }
  pid_t child = fork();
  if (child < 0) {
    /* ENOMEM here means the pid namespace's init is gone. */
    if (errno == ENOMEM) not_running(&err, ENOMEM, NULL);
    else dv_fail(&err, errno, "fork", NULL, "fork into the container");
    goto fail;
  }
  if (child == 0) {
    close(sock);
    run_command(ctx, slave, err_fd, old_mask);
  }
  int32_t pid = child;
  dv_write_all(sock, &pid, sizeof(pid));
  _exit(0);
fail:
  dv_write_error(err_fd, &err);
  _exit(err.exit_code);
}

/* ---- P: the supervisor outside ---------------------------------------------------------- */

struct setup_result {
  pid_t child;
  int master;
  int exit_code; /* != 0: setup failed, error already reported */
};

/* Forward the warning/error lines J and X wrote; returns the exitCode of an error line, or 0. */
static int relay_setup_messages(int err_fd, int sync_fd) {
  char buf[8192];
  size_t used = 0;
  int exit_code = 0;
  for (;;) {
    ssize_t n = read(err_fd, buf + used, sizeof(buf) - 1 - used);
    if (n < 0 && errno == EINTR) continue;
    if (n > 0) used += (size_t)n;
    bool eof = n <= 0;
    char *line = buf;
    char *nl;
    buf[used] = '\0';
    while ((nl = strchr(line, '\n')) != NULL || (eof && *line)) {
      if (nl) *nl = '\0';
      if (*line == '\0') {
        line = nl + 1;
        continue;
      }
      json_t *msg = json_loads(line, 0, NULL);
      const char *type = json_string_value(json_object_get(msg, "type"));
      bool is_error = type && strcmp(type, "error") == 0;
      if (is_error) {
        json_int_t code = json_integer_value(json_object_get(msg, "exitCode"));
        exit_code = code > 0 && code < 256 ? (int)code : 125;
      }
      if (sync_fd >= 0) {
        dv_write_all(sync_fd, line, strlen(line));
        dv_write_all(sync_fd, "\n", 1);
      } else {
        const char *text = json_string_value(json_object_get(msg, "message"));
        fprintf(stderr, "devenv-runtime: %s%s\n", is_error ? "" : "warning: ", text ? text : line);
      }
      json_decref(msg);
      if (!nl) {
        line += strlen(line);
        break;
      }
      line = nl + 1;
    }
    used -= (size_t)(line - buf);
    memmove(buf, line, used);
    if (used == sizeof(buf) - 1) used = 0; /* an absurdly long line: drop it */
    if (eof) return exit_code;
  }
}

static int wait_status_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 125;
}

static int start(struct exec_ctx *ctx, const sigset_t *old_mask, struct setup_result *res) {
  struct dv_error err;
  int sv[2], errp[2];
  res->child = -1;
  res->master = -1;
  res->exit_code = 0;
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
    dv_fail(&err, errno, "socketpair", NULL, "create the setup channel");
    dv_write_error(ctx->sync_fd, &err);
    return res->exit_code = 125;
  }
  pid_t j = fork();
  if (j < 0) {
    dv_fail(&err, errno, "fork", NULL, "fork");
    dv_write_error(ctx->sync_fd, &err);
    return res->exit_code = 125;
  }
  if (j == 0) {
    close(sv[0]);
    close(errp[0]);
    joiner(ctx, sv[1], errp[1], old_mask);
  }
  close(sv[1]);
  close(errp[1]);
  if (ctx->pidfd >= 0) close(ctx->pidfd);

  if (ctx->proc.terminal) res->master = dv_recv_fd(sv[0]);
  int32_t pid = 0;
  ssize_t n;
  do {
    n = read(sv[0], &pid, sizeof(pid));
  } while (n < 0 && errno == EINTR);
  if (n == (ssize_t)sizeof(pid) && pid > 0) res->child = pid;
  close(sv[0]);

  int status;
  while (waitpid(j, &status, 0) < 0 && errno == EINTR) {
  }
  res->exit_code = relay_setup_messages(errp[0], ctx->sync_fd);
  close(errp[0]);
  if (res->exit_code == 0 && (res->child < 0 || (ctx->proc.terminal && res->master < 0))) {
    int code = wait_status_code(status);
    dv_fail(&err, 0, NULL, NULL, "the exec setup process ended without starting the command (status %d)", code);
    dv_write_error(ctx->sync_fd, &err);
    res->exit_code = 125;
  }
  if (res->exit_code != 0 && res->child > 0) {
    while (waitpid(res->child, &status, 0) < 0 && errno == EINTR) {
    }
    res->child = -1;
  }
  if (res->exit_code != 0) return res->exit_code;
  if (ctx->sync_fd >= 0) {
    char line[64];
    int len = snprintf(line, sizeof(line), "{\"type\":\"started\",\"pid\":%d}\n", (int)res->child);
    dv_write_all(ctx->sync_fd, line, (size_t)len);
  }
  return 0;
}

/* Reap; returns true once `child` has ended (its status in *status). */
static bool reap(pid_t child, int *status) {
  bool done = false;
  int st;
  pid_t w;
  while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
    if (w == child) {
      *status = st;
      done = true;
    }
  }
  return done;
}

static int wait_plain(pid_t child, const sigset_t *set) {
  int status = 0;
  for (;;) {
    if (reap(child, &status)) return wait_status_code(status);
    int sig = sigwaitinfo(set, NULL);
    if (sig > 0 && sig != SIGCHLD && sig != SIGWINCH) kill(child, sig);
  }
}

static void drain(int from, int to) {
  char buf[16384];
  for (;;) {
    ssize_t n = read(from, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    if (dv_write_all(to, buf, (size_t)n) < 0) return;
  }
}

static int wait_terminal(pid_t child, int master, const sigset_t *set) {
  int sfd = signalfd(-1, set, SFD_CLOEXEC);
  int tty_fd = isatty(STDIN_FILENO) ? STDIN_FILENO : isatty(STDOUT_FILENO) ? STDOUT_FILENO : -1;
  struct termios saved;
  bool raw = isatty(STDIN_FILENO) && dv_tty_make_raw(STDIN_FILENO, &saved) == 0;
  if (tty_fd >= 0) dv_tty_copy_winsize(tty_fd, master);
  fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);

  char in[16384];
  size_t in_len = 0, in_off = 0;
  bool stdin_open = true, master_open = true;
  int status = 0;
  for (;;) {
    struct pollfd fds[3] = {
        {.fd = sfd, .events = POLLIN},
        {.fd = master_open ? master : -1, .events = (short)(POLLIN | (in_len > in_off ? POLLOUT : 0))},
        {.fd = stdin_open && in_len == in_off ? STDIN_FILENO : -1, .events = POLLIN},
    };
    if (poll(fds, 3, -1) < 0 && errno != EINTR) break;
    if (fds[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      bool ended = false;
      while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        int sig = (int)si.ssi_signo;
        if (sig == SIGCHLD)
          ended = reap(child, &status) || ended;
        else if (sig == SIGWINCH && tty_fd >= 0)
          dv_tty_copy_winsize(tty_fd, master);
        else if (sig != SIGWINCH)
          kill(child, sig);
        struct pollfd again = {.fd = sfd, .events = POLLIN};
        if (poll(&again, 1, 0) <= 0) break;
      }
      if (ended) {
        if (master_open) drain(master, STDOUT_FILENO);
        break;
      }
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[16384];
      ssize_t n = read(master, buf, sizeof(buf));
      if (n > 0) {
        dv_write_all(STDOUT_FILENO, buf, (size_t)n); /* a closed stdout must not stop the draining */
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        master_open = false; /* EIO: every slave fd is closed */
      }
    }
    if (master_open && (fds[1].revents & POLLOUT) && in_len > in_off) {
      ssize_t n = write(master, in + in_off, in_len - in_off);
      if (n > 0) in_off += (size_t)n;
      if (in_off == in_len) in_off = in_len = 0;
    }
    if (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = read(STDIN_FILENO, in, sizeof(in));
      if (n > 0) {
        in_len = (size_t)n;
        in_off = 0;
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        stdin_open = false;
      }
    }
  }
  if (raw) dv_tty_restore(STDIN_FILENO, &saved);
  close(master);
  if (sfd >= 0) close(sfd);
  return wait_status_code(status);
}

static void daemonize(void) {
  setsid();
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    for (int fd = 0; fd < 3; fd++) dup2(null, fd);
    if (null > 2) close(null);
  }
}

int dv_cmd_exec(int argc, char **argv) {
  struct exec_ctx ctx = {.sync_fd = -1, .pidfd = -1};
  struct dv_error err;
  /* A closed 0/1/2 would be reused by our pipes and reach the command as its stdio. */
  for (int fd = 0; fd < 3; fd++) {
    if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd) return 125;
  }
  if (parse_args(argc, argv, &ctx, &err) < 0) {
    dv_write_error(ctx.sync_fd, &err);
    return err.exit_code;
  }
  if (ctx.detach) {
    pid_t d = fork();
    if (d < 0) {
      dv_fail(&err, errno, "fork", NULL, "detach");
      dv_write_error(ctx.sync_fd, &err);
      return err.exit_code;
    }
    if (d > 0) _exit(0);
    daemonize();
  }
  signal(SIGCHLD, SIG_DFL);
  if (read_process(&ctx, &err) < 0 || read_config(&ctx, &err) < 0 || find_container(&ctx, &err) < 0 ||
      select_namespaces(&ctx, &err) < 0)
    goto fail;
  if (ctx.detach && ctx.proc.terminal) {
    fail_plain(&err, EINVAL, NULL, "a terminal needs an attached exec (--detach was given)");
    goto fail;
  }
  if (ctx.proc.terminal) {
    int tty_fd = isatty(STDIN_FILENO) ? STDIN_FILENO : STDOUT_FILENO;
    ctx.have_winsize = ioctl(tty_fd, TIOCGWINSZ, &ctx.winsize) == 0 && ctx.winsize.ws_row > 0;
  }
  /* X becomes our child when J exits, so we can wait for it and learn its exit status. */
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
    dv_fail(&err, errno, "prctl", NULL, "become a child subreaper");
    goto fail;
  }

  sigset_t set, old_mask;
  sigemptyset(&set);
  for (size_t i = 0; i < sizeof(forwarded_signals) / sizeof(forwarded_signals[0]); i++)
    sigaddset(&set, forwarded_signals[i]);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGWINCH);
  sigprocmask(SIG_BLOCK, &set, &old_mask);
  signal(SIGPIPE, SIG_IGN);

  struct setup_result res;
  if (start(&ctx, &old_mask, &res) != 0) return res.exit_code;
  if (ctx.sync_fd >= 0) close(ctx.sync_fd);
  if (ctx.detach) return 0; /* the command is reparented to the host's init (or our caller's subreaper) */
  return ctx.proc.terminal ? wait_terminal(res.child, res.master, &set) : wait_plain(res.child, &set);

fail:
  dv_write_error(ctx.sync_fd, &err);
  return err.exit_code;
}
