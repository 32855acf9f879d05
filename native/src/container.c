/* The container side of `run`: the clone() child, PID 1 of the new pid namespace. It waits until the monitor
 * wrote its id maps and put it in its cgroups, then sets the container up in crun/runc order (cgroup namespace,
 * hostname, mounts, pivot_root, masked and read-only paths), opens the pty, forks the command and becomes the
 * container's init.
 *
 * Rootless, it first re-executes the sealed runtime (`_setup`) inside the new user namespace: a process's
 * memory belongs to the user namespace it last executed in, and PR_SET_DUMPABLE 0 then keeps the container
 * from ptrace or /proc/1/fd while the user who owns the namespace (`devenv-runtime exec`) can still open
 * /proc/1/ns. As root the owner is the host's root, which may always do that. */
#include "spec.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <grp.h>
#include <sched.h>
#include <unistd.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

/* ---- messages ------------------------------------------------------------ */

int dv_msg_send(int sock, uint32_t type, int32_t value, const struct dv_error *err) {
  struct dv_msg m;
  memset(&m, 0, sizeof(m));
  m.type = type;
  m.value = value;
  if (err) m.err = *err;
  for (;;) {
    ssize_t n = send(sock, &m, sizeof(m), MSG_NOSIGNAL);
    if (n == (ssize_t)sizeof(m)) return 0;
    if (n < 0 && errno == EINTR) continue;
    return -1;
  }
}

int dv_msg_recv(int sock, struct dv_msg *m) {
  for (;;) {
    ssize_t n = recv(sock, m, sizeof(*m), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) return 0;
    if (n != (ssize_t)sizeof(*m)) {
      errno = EBADMSG;
      return -1;
    }
    m->err.syscall[sizeof(m->err.syscall) - 1] = '\0';
    m->err.path[sizeof(m->err.path) - 1] = '\0';
    m->err.message[sizeof(m->err.message) - 1] = '\0';
    return 1;
  }
}

void dv_msg_warn(int sock, const char *fmt, ...) {
  struct dv_error w;
  memset(&w, 0, sizeof(w));
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(w.message, sizeof(w.message), fmt, ap);
  va_end(ap);
  dv_msg_send(sock, DV_MSG_WARNING, 0, &w);
}

/* ---- setup ----------------------------------------------------------------- */

static void __attribute__((noreturn)) die(int sock, const struct dv_error *err) {
  dv_msg_send(sock, DV_MSG_ERROR, 0, err);
  _exit(err->exit_code ? err->exit_code : 125);
}

static void __attribute__((noreturn)) run_command(const struct dv_spec *s, int slave, int err_w) {
  /* The command starts with default signal handling and nothing blocked (the runtime ignores SIGPIPE and
   * blocks the signals it forwards; both would otherwise be inherited through execve). */
  struct sigaction dfl;
  memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++) sigaction(sig, &dfl, NULL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  prctl(PR_SET_PDEATHSIG, 0);
  setsid();
  if (slave >= 0) {
    ioctl(slave, TIOCSCTTY, 0);
    dup2(slave, 0);
    dup2(slave, 1);
    dup2(slave, 2);
  }
  /* Only stdio and the error pipe stay open: no fd of the runtime can serve as a way out (CVE-2024-21626). */
  if (dup3(err_w, DV_CHILD_SOCK_FD, O_CLOEXEC) < 0) _exit(125);
  syscall(SYS_close_range, DV_CHILD_SOCK_FD + 1, ~0U, 0);
  dv_process_exec(&s->process, s->seccomp, DV_CHILD_SOCK_FD);
}

/* uid and gid 0 of the container's user namespace (needs the capabilities the namespace's creator holds). */
static void become_ns_root(int sock) {
  struct dv_error err;
  if (setresgid(0, 0, 0) < 0) {
    dv_fail(&err, errno, "setresgid", NULL, "become gid 0 in the user namespace (is 0 in linux.gidMappings?)");
    die(sock, &err);
  }
  if (setresuid(0, 0, 0) < 0) {
    dv_fail(&err, errno, "setresuid", NULL, "become uid 0 in the user namespace (is 0 in linux.uidMappings?)");
    die(sock, &err);
  }
}

static void __attribute__((noreturn)) setup_after_go(const struct dv_spec *s, int premade_rootfs) {
  const int sock = DV_CHILD_SOCK_FD;
  struct dv_error err;

  if (s->ns[DV_NS_USER]) become_ns_root(sock);
  if (!s->rootless) setgroups(0, NULL); /* drop the host's supplementary groups; refused with setgroups deny */
  prctl(PR_SET_DUMPABLE, 0);

  static const int kinds[] = {DV_NS_UTS, DV_NS_IPC, DV_NS_NET, DV_NS_CGROUP};
  for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
    const char *path = s->ns_path[kinds[i]];
    if (path == NULL) continue;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      dv_fail(&err, errno, "open", path, "open the namespace %s", path);
      die(sock, &err);
    }
    if (setns(fd, 0) < 0) {
      dv_fail(&err, errno, "setns", path, "join the namespace %s", path);
      die(sock, &err);
    }
    close(fd);
  }
  if (s->ns[DV_NS_CGROUP] && !s->ns_path[DV_NS_CGROUP] && unshare(CLONE_NEWCGROUP) < 0) {
    dv_fail(&err, errno, "unshare", NULL, "create the cgroup namespace");
    die(sock, &err);
  }
  if (s->hostname && s->ns[DV_NS_UTS] && sethostname(s->hostname, strlen(s->hostname)) < 0) {
    dv_fail(&err, errno, "sethostname", NULL, "set the hostname %s", s->hostname);
    die(sock, &err);
  }
  /* The monitor started the egress helper before GO, so eth0 exists: add what it does not configure. */
  if (dv_net_setup_inside(s, &err) < 0) die(sock, &err);
  if (dv_mounts_setup(s, premade_rootfs, sock, &err) < 0) die(sock, &err);

  int master = -1, slave = -1;
  if (s->process.terminal) {
    if (dv_pty_open(&master, &slave, &err) < 0) die(sock, &err);
    if (s->process.rows || s->process.cols) {
      struct winsize ws = {.ws_row = s->process.rows, .ws_col = s->process.cols};
      ioctl(slave, TIOCSWINSZ, &ws);
    }
    if (fchown(slave, s->process.uid, (gid_t)-1) < 0) {
      /* the tty stays root's: the process can still use it, only not reopen /dev/tty by name */
    }
    if (dv_msg_send(sock, DV_MSG_PTY, 0, NULL) < 0 || dv_send_fd(sock, master) < 0) {
      dv_fail(&err, errno, "sendmsg", NULL, "pass the pty to the monitor");
      die(sock, &err);
    }
    close(master);
  }

  int ep[2];
  if (pipe2(ep, O_CLOEXEC) < 0) {
    dv_fail(&err, errno, "pipe2", NULL, "create the exec error pipe");
    die(sock, &err);
  }
  pid_t child = fork();
  if (child < 0) {
    dv_fail(&err, errno, "fork", NULL, "fork the container's command");
    die(sock, &err);
  }
  if (child == 0) {
    close(ep[0]);
    run_command(s, slave, ep[1]);
  }
  close(ep[1]);
  if (slave >= 0) close(slave);
  dv_init_run(child, ep[0], sock);
}

void dv_container_child(struct dv_spec *s, int premade_rootfs) {
  const int sock = DV_CHILD_SOCK_FD;
  struct dv_error err;
  /* If the monitor dies, so does the container: nobody would be left to collect its status and output. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  /* Out of the caller's session: the host's terminal must be nobody's controlling tty in here, and its
   * job-control signals must reach only the monitor (which forwards them once). */
  setsid();
  struct dv_msg m;
  if (dv_msg_recv(sock, &m) <= 0 || m.type != DV_MSG_GO) _exit(125);
  if (s->rootless && s->ns[DV_NS_USER]) {
    /* Become root of the namespace before the exec: execve as any other id (the user's own id maps to itself
     * with keep-id) would drop every capability the setup needs. */
    become_ns_root(sock);
    char *argv[] = {"devenv-runtime", "_setup", (char *)s->bundle, NULL};
    char *envp[] = {NULL}; /* nothing of the caller's environment needs to live in the container's init */
    syscall(SYS_execveat, DV_CHILD_EXE_FD, "", argv, envp, AT_EMPTY_PATH);
    dv_fail(&err, errno, "execveat", NULL, "re-execute the runtime in the user namespace");
    die(sock, &err);
  }
  close(DV_CHILD_EXE_FD);
  setup_after_go(s, premade_rootfs);
}

int dv_cmd_setup(int argc, char **argv) {
  const int sock = DV_CHILD_SOCK_FD;
  struct dv_error err;
  static struct dv_spec spec;
  if (argc < 3) _exit(125);
  /* Only ever the re-executed clone child: fd 3 is the monitor's socket and we are in a user namespace of our
   * own, never the initial one (where this would rearrange the host's mounts). */
  struct stat st;
  char map[64] = "";
  int fd = open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t n = read(fd, map, sizeof(map) - 1);
    map[n > 0 ? n : 0] = '\0';
    close(fd);
  }
  if (fstat(sock, &st) < 0 || !S_ISSOCK(st.st_mode) || map[0] == '\0' || strstr(map, "4294967295")) {
    fprintf(stderr, "devenv-runtime: _setup is internal to `run`\n");
    _exit(125);
  }
  /* fds 0-2 are the container's stdio, 3 the monitor's socket; nothing else may stay open. */
  syscall(SYS_close_range, DV_CHILD_SOCK_FD + 1, ~0U, 0);
  if (dv_spec_load(argv[2], true, &spec, &err) < 0) die(sock, &err);
  setup_after_go(&spec, -1);
}
