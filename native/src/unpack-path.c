/* Names and directories inside the layer root for `devenv-runtime unpack`: lexical cleaning of entry names,
 * parent directories opened with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) (an entry whose parent goes
 * through a symlink is refused, even one pointing inside the layer: the stricter choice, which also keeps the
 * tree no deeper than its names), removal of what an entry replaces. */
#include "unpack.h"
#include "spec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int dv_unpack_bad(struct dv_error *err, int errnum, const char *path, const char *fmt, ...) {
  memset(err, 0, sizeof(*err));
  err->errnum = errnum;
  err->exit_code = 1;
  if (path) snprintf(err->path, sizeof(err->path), "%s", path);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof(err->message), fmt, ap);
  va_end(ap);
  return -1;
}

static bool host_fault(int e) {
  switch (e) {
    case ENOSPC: case EDQUOT: case EIO: case ENOMEM: case EROFS: case EMFILE: case ENFILE: case ENOSYS:
    case EOPNOTSUPP: case EACCES: case EBADF: case EFAULT: case EAGAIN: case EINTR: case ESTALE: case EUCLEAN:
      return true;
    default:
      return false;
  }
}

int dv_unpack_syscall_fail(struct dv_error *err, int errnum, const char *syscall, const char *path,
                           const char *what) {
  const char *shown = path && *path ? path : ".";
  dv_fail(err, errnum, syscall, shown, "%s layer entry `%s`", what, shown);
  err->exit_code = host_fault(errnum) ? 125 : 1;
  return -1;
}

/* A name for messages: hostile names can be very long. */
static const char *shorten(const char *name, char *buf, size_t len) {
  size_t n = strlen(name);
  if (n < 200) return name;
  snprintf(buf, len, "%.96s…%s", name, name + n - 96);
  return buf;
}

int dv_unpack_clean_name(const char *name, char *out, size_t len, struct dv_error *err) {
  char sh[256];
  size_t nlen = strlen(name);
  if (nlen >= PATH_MAX)
    return dv_unpack_bad(err, ENAMETOOLONG, shorten(name, sh, sizeof(sh)),
                         "layer entry `%s` has a name of %zu bytes, longer than PATH_MAX (%d)",
                         shorten(name, sh, sizeof(sh)), nlen, PATH_MAX);
  size_t o = 0;
  int depth = 0;
  const char *p = name;
  while (*p) {
    while (*p == '/') p++;
    if (!*p) break;
    size_t n = strcspn(p, "/");
    if (n == 1 && p[0] == '.') {
      /* "." */
    } else if (n == 2 && p[0] == '.' && p[1] == '.') {
      if (depth == 0)
        return dv_unpack_bad(err, EINVAL, shorten(name, sh, sizeof(sh)), "layer entry `%s` escapes the layer root",
                             shorten(name, sh, sizeof(sh)));
      while (o > 0 && out[o - 1] != '/') o--;
      if (o > 0) o--;
      depth--;
    } else {
      if (n > NAME_MAX || o + n + 2 > len)
        return dv_unpack_bad(err, ENAMETOOLONG, shorten(name, sh, sizeof(sh)), "layer entry `%s`: name too long",
                             shorten(name, sh, sizeof(sh)));
      if (++depth > DV_UNPACK_MAX_DEPTH)
        return dv_unpack_bad(err, E2BIG, shorten(name, sh, sizeof(sh)),
                             "layer entry `%s` is more than %d directories deep", shorten(name, sh, sizeof(sh)),
                             DV_UNPACK_MAX_DEPTH);
      if (o > 0) out[o++] = '/';
      memcpy(out + o, p, n);
      o += n;
    }
    p += n;
  }
  out[o] = '\0';
  return 0;
}

void dv_unpack_forget_parent(struct dv_unpack *u) {
  if (u->cached_fd >= 0) close(u->cached_fd);
  u->cached_fd = -1;
  u->cached_parent[0] = '\0';
}

/* Component by component with O_NOFOLLOW: slow, but it creates what is missing and says what went wrong. */
static int walk(struct dv_unpack *u, char *parent, const char *rel, bool create, struct dv_error *err) {
  int cur = openat(u->root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (cur < 0) return dv_unpack_syscall_fail(err, errno, "openat", rel, "open the layer root for");
  char *p = parent;
  for (;;) {
    char *slash = strchr(p, '/');
    if (slash) *slash = '\0';
    int next = openat(cur, p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0 && errno == ENOENT && create) {
      if (mkdirat(cur, p, 0755) < 0 && errno != EEXIST) {
        int e = errno;
        close(cur);
        return dv_unpack_syscall_fail(err, e, "mkdirat", rel, "create a parent directory of");
      }
      next = openat(cur, p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (next < 0) {
      int e = errno;
      struct stat st;
      bool link = (e == ENOTDIR || e == ELOOP) && fstatat(cur, p, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
      close(cur);
      /* parent now ends at the failing component: the prefix to name */
      if (link)
        return dv_unpack_bad(err, ELOOP, rel, "layer entry `%s` goes through the symlink `%s`; refusing to follow it",
                             rel, parent);
      if (e == ENOTDIR || e == ELOOP)
        return dv_unpack_bad(err, ENOTDIR, rel, "layer entry `%s`: `%s` is not a directory", rel, parent);
      if (e == ENOENT)
        return dv_unpack_bad(err, ENOENT, rel, "layer entry `%s`: `%s` is not in this layer", rel, parent);
      return dv_unpack_syscall_fail(err, e, "openat", rel, "open a parent directory of");
    }
    close(cur);
    cur = next;
    if (!slash) break;
    *slash = '/';
    p = slash + 1;
  }
  return cur;
}

int dv_unpack_open_parent(struct dv_unpack *u, const char *rel, bool create, const char **base,
                          struct dv_error *err) {
  const char *slash = strrchr(rel, '/');
  size_t plen = slash ? (size_t)(slash - rel) : 0;
  *base = slash ? slash + 1 : rel;
  if (u->cached_fd >= 0 && strlen(u->cached_parent) == plen && memcmp(u->cached_parent, rel, plen) == 0)
    return u->cached_fd;
  dv_unpack_forget_parent(u);
  char parent[PATH_MAX];
  if (plen >= sizeof(parent)) return dv_unpack_bad(err, ENAMETOOLONG, rel, "layer entry `%s`: name too long", rel);
  memcpy(parent, rel, plen);
  parent[plen] = '\0';
  int fd;
  if (plen == 0) {
    fd = openat(u->root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return dv_unpack_syscall_fail(err, errno, "openat", rel, "open the layer root for");
  } else {
    struct open_how how = {
        .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
    };
    fd = (int)syscall(SYS_openat2, u->root_fd, parent, &how, sizeof(how));
    if (fd < 0 && errno != ENOENT && errno != ELOOP && errno != ENOTDIR && errno != EXDEV && errno != EAGAIN)
      return dv_unpack_syscall_fail(err, errno, "openat2", rel, "open the parent directory of");
    if (fd < 0) fd = walk(u, parent, rel, create, err);
    if (fd < 0) return -1;
  }
  memcpy(u->cached_parent, rel, plen);
  u->cached_parent[plen] = '\0';
  u->cached_fd = fd;
  return fd;
}

int dv_unpack_remove(struct dv_unpack *u, int pfd, const char *name, const char *shown, struct dv_error *err) {
  /* Only children of pfd go: a cached pfd stays valid, any other cached directory might not. */
  if (pfd != u->cached_fd) dv_unpack_forget_parent(u);
  if (dv_remove_at(pfd, name, shown, err) < 0) {
    err->exit_code = host_fault(err->errnum) ? 125 : 1;
    return -1;
  }
  return 0;
}

bool dv_unpack_link_escapes(const char *rel, const char *target) {
  if (target[0] == '/') return true;
  long depth = 0;
  for (const char *p = rel; *p; p++) depth += *p == '/'; /* components of the link's directory */
  const char *p = target;
  while (*p) {
    while (*p == '/') p++;
    if (!*p) break;
    size_t n = strcspn(p, "/");
    if (n == 2 && p[0] == '.' && p[1] == '.') {
      if (--depth < 0) return true;
    } else if (!(n == 1 && p[0] == '.')) {
      depth++;
    }
    p += n;
  }
  return false;
}
