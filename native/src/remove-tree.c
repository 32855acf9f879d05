/* `devenv-runtime remove-tree --bundle DIR PATH...`: remove paths inside a bundle. Files a rootless container
 * created belong to sub-ids its user cannot touch, so rootless removal runs as root of a user namespace with
 * the bundle's mappings. The walk is fd-based and never follows a symlink: a container may have planted any. */
#include "spec.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

#define MAX_DEPTH 4096

/* chmod the directory entry itself, never what a symlink swapped in would point to. */
static int chmod_entry(int parent, const char *name, mode_t mode) {
  int fd = openat(parent, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat st;
  int rc = -1;
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    rc = (int)syscall(SYS_fchmodat2, fd, "", mode, AT_EMPTY_PATH);
    if (rc < 0 && (errno == ENOSYS || errno == EINVAL)) {
      char proc[64];
      snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
      rc = chmod(proc, mode);
    }
  }
  close(fd);
  return rc;
}

static int remove_entry(int parent, const char *name, const char *shown, int depth, struct dv_error *err);

static int empty_dir(int dfd, const char *shown, int depth, struct dv_error *err) {
  int dup_fd = dup(dfd);
  if (dup_fd < 0) return dv_fail(err, errno, "dup", shown, "remove %s", shown);
  DIR *d = fdopendir(dup_fd);
  if (d == NULL) {
    close(dup_fd);
    return dv_fail(err, errno, "fdopendir", shown, "remove %s", shown);
  }
  int rc = 0;
  bool chmodded = false;
  for (;;) {
    errno = 0;
    struct dirent *de = readdir(d);
    if (de == NULL) {
      if (errno) rc = dv_fail(err, errno, "readdir", shown, "remove %s", shown);
      break;
    }
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    if (remove_entry(dfd, de->d_name, shown, depth + 1, err) == 0) continue;
    if (err->errnum == EACCES && !chmodded) {
      /* a directory we may not write into (e.g. mode 0555): make it writable, then try again */
      chmodded = true;
      if (fchmod(dfd, 0700) == 0 && remove_entry(dfd, de->d_name, shown, depth + 1, err) == 0) continue;
    }
    rc = -1;
    break;
  }
  closedir(d);
  return rc;
}

static int remove_entry(int parent, const char *name, const char *shown, int depth, struct dv_error *err) {
  if (unlinkat(parent, name, 0) == 0 || errno == ENOENT) return 0;
  int unlink_errno = errno;
  if (errno != EISDIR && errno != EPERM) return dv_fail(err, errno, "unlinkat", shown, "remove %s (%s)", shown, name);
  if (depth > MAX_DEPTH) return dv_fail(err, ELOOP, NULL, shown, "remove %s: the tree is too deep", shown);
  int dfd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0 && errno == EACCES && chmod_entry(parent, name, 0700) == 0)
    dfd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0) {
    if (errno == ENOENT) return 0;
    if (errno == ENOTDIR || errno == ELOOP) /* not a directory after all: the unlink's own failure */
      return dv_fail(err, unlink_errno, "unlinkat", shown, "remove %s (%s)", shown, name);
    return dv_fail(err, errno, "openat", shown, "remove %s (%s)", shown, name);
  }
  int rc = empty_dir(dfd, shown, depth, err);
  close(dfd);
  if (rc < 0) return -1;
  if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return dv_fail(err, errno, "unlinkat", shown, "remove %s (%s)", shown, name);
  return 0;
}

int dv_remove_at(int parent, const char *name, const char *shown, struct dv_error *err) {
  return remove_entry(parent, name, shown, 0, err);
}

/* Lexically clean an absolute path: collapse "//", drop ".", resolve ".." (never above "/"). */
static void clean_path(const char *in, char *out, size_t len) {
  size_t o = 0;
  out[o++] = '/';
  const char *p = in;
  while (*p) {
    while (*p == '/') p++;
    if (!*p) break;
    size_t n = strcspn(p, "/");
    if (n == 1 && p[0] == '.') {
    } else if (n == 2 && p[0] == '.' && p[1] == '.') {
      while (o > 1 && out[o - 1] != '/') o--;
      if (o > 1) o--;
    } else if (o + n + 2 < len) {
      if (o > 1) out[o++] = '/';
      memcpy(out + o, p, n);
      o += n;
    }
    p += n;
  }
  out[o] = '\0';
}

static int openat2_beneath(int dirfd, const char *path, int flags) {
  struct open_how how = {.flags = (unsigned long long)(flags | O_CLOEXEC),
                         .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
  return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

static int remove_one(const char *bundle, const char *path, struct dv_error *err) {
  char abs[PATH_MAX * 2 + 2], clean[PATH_MAX * 2 + 2], parent[PATH_MAX], real_parent[PATH_MAX];
  if (path[0] == '/') {
    snprintf(abs, sizeof(abs), "%s", path);
  } else {
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof(cwd)) == NULL) return dv_fail(err, errno, "getcwd", NULL, "resolve %s", path);
    snprintf(abs, sizeof(abs), "%s/%s", cwd, path);
  }
  clean_path(abs, clean, sizeof(clean));
  if (strcmp(clean, "/") == 0) return dv_fail(err, EPERM, NULL, path, "refusing to remove /");
  char *slash = strrchr(clean, '/');
  const char *base = slash + 1;
  snprintf(parent, sizeof(parent), "%.*s", (int)(slash == clean ? 1 : slash - clean), clean);
  /* The parent is resolved for real (the bundle path itself may contain symlinks); the last component is not. */
  if (realpath(parent, real_parent) == NULL) {
    if (errno == ENOENT) return 0; /* nothing there to remove */
    return dv_fail(err, errno, "realpath", parent, "resolve %s", parent);
  }
  char target[PATH_MAX * 2];
  snprintf(target, sizeof(target), "%s%s%s", real_parent, strcmp(real_parent, "/") == 0 ? "" : "/", base);
  size_t blen = strlen(bundle);
  bool is_bundle = strcmp(target, bundle) == 0;
  if (!is_bundle && !(strncmp(target, bundle, blen) == 0 && target[blen] == '/'))
    return dv_fail(err, EPERM, NULL, path, "refusing to remove %s: it is not inside the bundle %s", path, bundle);

  int parent_fd;
  if (is_bundle) {
    parent_fd = open(real_parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
  } else {
    int bfd = open(bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (bfd < 0) return dv_fail(err, errno, "open", bundle, "open the bundle");
    const char *rel = real_parent + blen;
    while (*rel == '/') rel++;
    parent_fd = openat2_beneath(bfd, *rel ? rel : ".", O_PATH | O_DIRECTORY);
    close(bfd);
  }
  if (parent_fd < 0) {
    if (errno == ENOENT) return 0;
    return dv_fail(err, errno, "openat2", real_parent, "open %s without following symlinks", real_parent);
  }
  int rc = remove_entry(parent_fd, base, target, 0, err);
  close(parent_fd);
  return rc;
}

static int remove_all(const char *bundle, const char *const *paths, size_t n, struct dv_error *err) {
  /* Deep trees hold one directory fd per level. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  for (size_t i = 0; i < n; i++)
    if (remove_one(bundle, paths[i], err) < 0) return -1;
  return 0;
}

int dv_remove_paths(const struct dv_spec *s, const char *const *paths, size_t n, struct dv_error *err) {
  if (!(s->rootless && geteuid() != 0 && s->n_uid_maps > 0 && s->n_gid_maps > 0))
    return remove_all(s->bundle, paths, n, err);

  /* A child enters a new user namespace; we give it the bundle's mappings; it removes as its root. */
  int ready[2], go[2], res[2];
  if (pipe2(ready, O_CLOEXEC) < 0) return dv_fail(err, errno, "pipe2", NULL, "remove-tree");
  if (pipe2(go, O_CLOEXEC) < 0 || pipe2(res, O_CLOEXEC) < 0) return dv_fail(err, errno, "pipe2", NULL, "remove-tree");
  pid_t pid = fork();
  if (pid < 0) return dv_fail(err, errno, "fork", NULL, "remove-tree");
  if (pid == 0) {
    close(ready[0]);
    close(go[1]);
    close(res[0]);
    struct dv_error cerr;
    memset(&cerr, 0, sizeof(cerr));
    int rc = dv_userns_child_enter(ready[1], go[0], "remove the container's files", &cerr);
    if (rc == 0) rc = remove_all(s->bundle, paths, n, &cerr);
    if (rc < 0) dv_write_all(res[1], &cerr, sizeof(cerr));
    _exit(rc < 0 ? 1 : 0);
  }
  close(ready[1]);
  close(go[0]);
  close(res[1]);
  int rc = dv_userns_parent_map(pid, s, ready[0], go[1], "remove-tree", err);
  struct dv_error cerr;
  ssize_t got = read(res[0], &cerr, sizeof(cerr));
  close(res[0]);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (rc < 0) return -1;
  if (got == (ssize_t)sizeof(cerr)) {
    *err = cerr;
    err->message[sizeof(err->message) - 1] = '\0';
    return -1;
  }
  if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
    return dv_fail(err, ECHILD, NULL, NULL, "the removal process failed (status %d)", st);
  return 0;
}

int dv_cmd_remove_tree(int argc, char **argv) {
  const char *bundle = NULL;
  const char **paths = calloc((size_t)argc, sizeof(char *));
  size_t n = 0;
  struct dv_error err;
  if (paths == NULL) return 1;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--bundle") == 0 && i + 1 < argc)
      bundle = argv[++i];
    else if (strncmp(argv[i], "--bundle=", 9) == 0)
      bundle = argv[i] + 9;
    else if (strcmp(argv[i], "--") == 0)
      for (i++; i < argc; i++) paths[n++] = argv[i];
    else
      paths[n++] = argv[i];
  }
  if (bundle == NULL) {
    dv_fail(&err, EINVAL, NULL, NULL, "usage: devenv-runtime remove-tree --bundle DIR PATH...");
    err.exit_code = 1;
    dv_write_error(2, &err);
    return 1;
  }
  struct dv_spec spec;
  char real[PATH_MAX];
  if (realpath(bundle, real) == NULL) {
    if (errno == ENOENT) return 0; /* already gone */
    dv_fail(&err, errno, "realpath", bundle, "open the bundle %s", bundle);
    err.exit_code = 1;
    dv_write_error(2, &err);
    return 1;
  }
  if (dv_spec_load(real, false, &spec, &err) < 0) {
    /* No usable config.json (e.g. a half-made bundle): remove without a user namespace. */
    memset(&spec, 0, sizeof(spec));
    spec.bundle = real;
  }
  if (dv_remove_paths(&spec, paths, n, &err) < 0) {
    err.exit_code = 1;
    dv_write_error(2, &err);
    return 1;
  }
  return 0;
}
