/* The container's PID 1: relays the command's exec outcome to the monitor, forwards signals to the command,
 * reaps every zombie, and exits with the command's status. It keeps only CAP_KILL and is not dumpable, so the
 * container cannot ptrace it or reach the monitor's socket through /proc/1/fd. */
#include "spec.h"

#include <errno.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

static void keep_only_cap_kill(void) {
  for (int cap = 0; cap < 64; cap++) {
    if (cap == CAP_KILL) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno == EINVAL) break;
  }
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof(data));
  data[0].effective = data[0].permitted = 1U << CAP_KILL;
  syscall(SYS_capset, &hdr, data);
}

/* One JSON line from dv_process_exec: a warning (relayed) or the error (returned in *err, result 1). */
static int relay_line(int sock, const char *line, struct dv_error *err) {
  json_error_t jerr;
  json_t *o = json_loads(line, 0, &jerr);
  if (!json_is_object(o)) {
    if (o) json_decref(o);
    dv_msg_warn(sock, "%s", line);
    return 0;
  }
  const char *type = json_string_value(json_object_get(o, "type"));
  const char *message = json_string_value(json_object_get(o, "message"));
  int rc = 0;
  if (type && strcmp(type, "error") == 0) {
    memset(err, 0, sizeof(*err));
    err->errnum = (int)json_integer_value(json_object_get(o, "errno"));
    err->exit_code = (int)json_integer_value(json_object_get(o, "exitCode"));
    if (err->exit_code < 125 || err->exit_code > 127) err->exit_code = 125;
    const char *sc = json_string_value(json_object_get(o, "syscall"));
    const char *path = json_string_value(json_object_get(o, "path"));
    snprintf(err->syscall, sizeof(err->syscall), "%s", sc ? sc : "");
    snprintf(err->path, sizeof(err->path), "%s", path ? path : "");
    snprintf(err->message, sizeof(err->message), "%s", message ? message : "the command could not be started");
    rc = 1;
  } else {
    dv_msg_warn(sock, "%s", message ? message : line);
  }
  json_decref(o);
  return rc;
}

/* Read the exec error pipe to its end (it closes on a successful execve). 1: *err holds the failure. */
static int read_exec_outcome(int fd, int sock, struct dv_error *err) {
  static char buf[65536];
  size_t used = 0;
  int failed = 0;
  for (;;) {
    ssize_t n = read(fd, buf + used, sizeof(buf) - 1 - used);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    used += (size_t)n;
    buf[used] = '\0';
    char *line = buf, *nl;
    while ((nl = strchr(line, '\n')) != NULL) {
      *nl = '\0';
      if (*line && !failed) failed = relay_line(sock, line, err);
      line = nl + 1;
    }
    used = strlen(line);
    memmove(buf, line, used);
    if (used == sizeof(buf) - 1) used = 0; /* an absurd line: drop it */
  }
  buf[used] = '\0';
  if (used && !failed) failed = relay_line(sock, buf, err);
  close(fd);
  return failed;
}

void dv_init_run(pid_t child, int err_pipe, int sock) {
  /* The command has its own stdio; ours would only keep the monitor's pipes open after it ends. */
  close(0);
  close(1);
  close(2);
  if (getpid() != 1) prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  keep_only_cap_kill();

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++) sigaddset(&set, forwarded[i]);
  sigprocmask(SIG_BLOCK, &set, NULL);

  struct dv_error err;
  if (read_exec_outcome(err_pipe, sock, &err)) {
    int st;
    while (waitpid(child, &st, 0) < 0 && errno == EINTR) {
    }
    dv_msg_send(sock, DV_MSG_ERROR, 0, &err);
    _exit(err.exit_code);
  }
  dv_msg_send(sock, DV_MSG_STARTED, 0, NULL);
  dv_release_idle_memory();

  int status = 0;
  for (;;) {
    siginfo_t si;
    int sig = sigwaitinfo(&set, &si);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      kill(child, sig);
      continue;
    }
    bool done = false;
    for (;;) {
      int st;
      pid_t w = waitpid(-1, &st, WNOHANG);
      if (w <= 0) break;
      if (w == child) {
        status = st;
        done = true;
      }
    }
    if (done) break;
  }
  dv_msg_send(sock, DV_MSG_STATUS, status, NULL);
  /* A pid namespace's init cannot kill itself with a signal: 128+signal is how its status says "killed". */
  _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}
