/* uid/gid maps of a new user namespace, written by its parent: through the setuid newuidmap/newgidmap helpers
 * when rootless (they check /etc/subuid and /etc/subgid), directly through /proc/PID/{uid,gid}_map as root. */
#include "spec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct helper {
  pid_t pid;
  int err_fd; /* read end of its stderr */
  char msg[512];
  size_t msg_len;
  int status; /* wait status */
};

static int spawn_helper(char *const argv[], struct helper *h, struct dv_error *err) {
  int p[2];
  memset(h, 0, sizeof(*h));
  h->pid = -1;
  h->err_fd = -1;
  if (pipe2(p, O_CLOEXEC) < 0) return dv_fail(err, errno, "pipe2", NULL, "create a pipe for %s", argv[0]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, p[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  static char *const clean_env[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL};
  int rc = posix_spawn(&h->pid, argv[0], &fa, &attr, argv, clean_env);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(p[1]);
  if (rc != 0) {
    close(p[0]);
    h->pid = -1;
    return dv_fail(err, rc, "posix_spawn", argv[0], "run %s", argv[0]);
  }
  h->err_fd = p[0];
  return 0;
}

/* Collect stderr of every helper until EOF, then reap them. Returns 0 when all exited 0. */
static int finish_helpers(struct helper *hs, int n, int *failed) {
  struct pollfd pfd[4];
  int open = 0;
  for (int i = 0; i < n; i++) open += hs[i].err_fd >= 0;
  while (open > 0) {
    for (int i = 0; i < n; i++) pfd[i] = (struct pollfd){.fd = hs[i].err_fd, .events = POLLIN};
    if (poll(pfd, (nfds_t)n, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < n; i++) {
      if (hs[i].err_fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[512];
      ssize_t r = read(hs[i].err_fd, buf, sizeof(buf));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        close(hs[i].err_fd);
        hs[i].err_fd = -1;
        open--;
        continue;
      }
      size_t room = sizeof(hs[i].msg) - 1 - hs[i].msg_len;
      size_t take = (size_t)r < room ? (size_t)r : room;
      memcpy(hs[i].msg + hs[i].msg_len, buf, take);
      hs[i].msg_len += take;
    }
  }
  int rc = 0;
  *failed = -1;
  for (int i = 0; i < n; i++) {
    if (hs[i].err_fd >= 0) close(hs[i].err_fd);
    int st = 0;
    while (waitpid(hs[i].pid, &st, 0) < 0 && errno == EINTR) {
    }
    hs[i].msg[hs[i].msg_len] = '\0';
    /* one line is enough for an error message */
    char *nl = strchr(hs[i].msg, '\n');
    if (nl) *nl = '\0';
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0) && rc == 0) {
      rc = -1;
      *failed = i;
    }
    hs[i].status = st;
  }
  return rc;
}

int dv_run_helper(char *const argv[], char *msg, size_t msg_len, struct dv_error *err) {
  struct helper h;
  if (spawn_helper(argv, &h, err) < 0) return -1;
  int failed;
  finish_helpers(&h, 1, &failed);
  if (msg && msg_len) snprintf(msg, msg_len, "%s", h.msg);
  return h.status;
}

static char **map_argv(const char *tool, pid_t pid, const struct dv_idmap *maps, size_t n, char *store,
                       size_t store_len) {
  char **argv = calloc(3 + 3 * n, sizeof(char *));
  if (argv == NULL) return NULL;
  size_t used = 0;
  argv[0] = (char *)tool;
  argv[1] = store;
  used += (size_t)snprintf(store, store_len, "%d", (int)pid) + 1;
  for (size_t i = 0; i < n; i++) {
    uint32_t v[3] = {maps[i].container_id, maps[i].host_id, maps[i].size};
    for (int k = 0; k < 3; k++) {
      argv[2 + 3 * i + k] = store + used;
      used += (size_t)snprintf(store + used, store_len - used, "%u", v[k]) + 1;
    }
  }
  argv[2 + 3 * n] = NULL;
  return argv;
}

static int write_file(const char *path, const char *text, struct dv_error *err) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return dv_fail(err, errno, "open", path, "open %s", path);
  ssize_t n = write(fd, text, strlen(text));
  int e = errno;
  close(fd);
  if (n != (ssize_t)strlen(text)) return dv_fail(err, n < 0 ? e : EIO, "write", path, "write the id map %s", path);
  return 0;
}

static void format_map(const struct dv_idmap *maps, size_t n, char *out, size_t len) {
  size_t used = 0;
  out[0] = '\0';
  for (size_t i = 0; i < n && used < len; i++)
    used += (size_t)snprintf(out + used, len - used, "%u %u %u\n", maps[i].container_id, maps[i].host_id, maps[i].size);
}

/* A single mapping of our own id needs no helper: an unprivileged process may write it itself. */
static bool self_map_only(const struct dv_idmap *maps, size_t n, uint32_t self) {
  return n == 1 && maps[0].size == 1 && maps[0].host_id == self;
}

int dv_idmap_apply(pid_t pid, const struct dv_spec *s, struct dv_error *err) {
  char path[64], text[340 * 36];
  bool direct_uid = !s->rootless || self_map_only(s->uid_maps, s->n_uid_maps, (uint32_t)geteuid());
  bool direct_gid = !s->rootless || self_map_only(s->gid_maps, s->n_gid_maps, (uint32_t)getegid());
  struct helper hs[2];
  int n = 0;
  char store[2][340 * 3 * 12 + 32];
  char **argvs[2] = {NULL, NULL};
  const char *names[2] = {NULL, NULL};

  if (!direct_uid) {
    argvs[n] = map_argv(s->newuidmap, pid, s->uid_maps, s->n_uid_maps, store[n], sizeof(store[n]));
    if (argvs[n] == NULL) return dv_fail(err, ENOMEM, NULL, NULL, "out of memory");
    names[n] = "newuidmap";
    if (spawn_helper(argvs[n], &hs[n], err) < 0) goto fail;
    n++;
  }
  if (!direct_gid) {
    argvs[n] = map_argv(s->newgidmap, pid, s->gid_maps, s->n_gid_maps, store[n], sizeof(store[n]));
    if (argvs[n] == NULL) {
      dv_fail(err, ENOMEM, NULL, NULL, "out of memory");
      goto fail;
    }
    names[n] = "newgidmap";
    if (spawn_helper(argvs[n], &hs[n], err) < 0) goto fail;
    n++;
  }
  /* While the helpers run, write what we may write ourselves. */
  if (direct_uid) {
    snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
    format_map(s->uid_maps, s->n_uid_maps, text, sizeof(text));
    if (write_file(path, text, err) < 0) goto fail;
  }
  if (direct_gid) {
    if (s->rootless) {
      snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)pid);
      if (write_file(path, "deny", err) < 0) goto fail;
    }
    snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)pid);
    format_map(s->gid_maps, s->n_gid_maps, text, sizeof(text));
    if (write_file(path, text, err) < 0) goto fail;
  }
  if (n > 0) {
    int failed;
    if (finish_helpers(hs, n, &failed) < 0) {
      int st = hs[failed].status;
      char how[64];
      if (WIFEXITED(st))
        snprintf(how, sizeof(how), "exit code %d", WEXITSTATUS(st));
      else
        snprintf(how, sizeof(how), "signal %d", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
      dv_fail(err, EPERM, names[failed],
              argvs[failed][0], "%s failed (%s)%s%s; check /etc/subuid and /etc/subgid", argvs[failed][0], how,
              hs[failed].msg[0] ? ": " : "", hs[failed].msg);
      n = 0;
      goto fail;
    }
  }
  free(argvs[0]);
  free(argvs[1]);
  return 0;

fail:
  if (n > 0) {
    int failed;
    finish_helpers(hs, n, &failed);
  }
  free(argvs[0]);
  free(argvs[1]);
  return -1;
}

int dv_userns_child_enter(int ready_w, int go_r, const char *purpose, struct dv_error *err) {
  if (unshare(CLONE_NEWUSER) < 0) return dv_fail(err, errno, "unshare", NULL, "enter a user namespace to %s", purpose);
  char c = 0;
  if (write(ready_w, "r", 1) != 1 || read(go_r, &c, 1) != 1 || c != 'g')
    return dv_fail(err, EPERM, NULL, NULL, "the user namespace to %s got no id mappings", purpose);
  if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
    return dv_fail(err, errno, "setresuid", NULL, "become root in the user namespace to %s", purpose);
  return 0;
}

int dv_userns_parent_map(pid_t pid, const struct dv_spec *s, int ready_r, int go_w, const char *what, struct dv_error *err) {
  char c;
  int rc = 0;
  if (read(ready_r, &c, 1) == 1) {
    rc = dv_idmap_apply(pid, s, err);
    if (rc == 0 && write(go_w, "g", 1) != 1) rc = dv_fail(err, errno, "write", NULL, "%s", what);
  }
  close(ready_r);
  close(go_w);
  return rc;
}
