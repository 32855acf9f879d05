/* The container's file system: rootfs, mounts[], /dev, pivot_root, masked and read-only paths.
 *
 * Every mount is fd-based (new mount API: fsopen/fsmount, open_tree, move_mount, mount_setattr): targets are
 * opened with openat2(RESOLVE_IN_ROOT) relative to the rootfs, so a symlink planted in the image or in a
 * bind-mounted volume can never redirect a mount out of the container (CVE-2021-30465 style races), and flags
 * are only ever added with mount_setattr, never cleared, so locked flags of host mounts are never an issue.
 * The order follows crun/runc: rootfs, mounts[], devices, pivot_root, masked paths, read-only paths, root ro. */
#include "spec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* ---- small helpers ------------------------------------------------------ */

static int openat2_(int dirfd, const char *path, int flags, unsigned long long resolve) {
  struct open_how how = {.flags = (unsigned long long)flags, .mode = 0, .resolve = resolve};
  return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

/* Open path inside the tree rooted at rootfd; symlinks are followed but can never leave it. */
static int open_in_root(int rootfd, const char *path, int flags) {
  return openat2_(rootfd, path, flags | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

/* Walk path inside rootfd one component at a time, as RESOLVE_IN_ROOT would (symlinks followed but read as
 * relative to the root, ".." never above it), creating what is missing: directories on the way, and at the
 * end a directory (dir) or an empty file. A dangling symlink in the image thus gets its target created inside
 * the rootfs, never outside. Returns an O_PATH fd of the result. */
static int create_in_root(int rootfd, const char *path, bool dir, struct dv_error *err) {
  enum { MAX_DEPTH = 256, MAX_LINKS = 40 };
  int stack[MAX_DEPTH];
  int depth = 0, links = 0;
  char *todo = malloc(PATH_MAX * 2), *next = malloc(PATH_MAX * 2);
  if (todo == NULL || next == NULL) {
    free(todo);
    free(next);
    return dv_fail(err, ENOMEM, NULL, NULL, "out of memory");
  }
  snprintf(todo, PATH_MAX * 2, "%s", path);
  stack[depth++] = dup(rootfd);
  int result = -1;
  if (stack[0] < 0) {
    dv_fail(err, errno, "dup", path, "resolve %s in the container", path);
    goto out;
  }
  char *p = todo;
  for (;;) {
    while (*p == '/') p++;
    if (*p == '\0') {
      result = stack[--depth];
      break;
    }
    size_t n = strcspn(p, "/");
    char name[NAME_MAX + 1];
    if (n > NAME_MAX) {
      dv_fail(err, ENAMETOOLONG, NULL, path, "resolve %s in the container", path);
      goto out;
    }
    memcpy(name, p, n);
    name[n] = '\0';
    p += n;
    bool last = strspn(p, "/") == strlen(p);
    int cur = stack[depth - 1];
    if (strcmp(name, ".") == 0) continue;
    if (strcmp(name, "..") == 0) {
      if (depth > 1) close(stack[--depth]);
      continue;
    }
    int fd = openat(cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
      int rc;
      if (!last || dir) {
        rc = mkdirat(cur, name, 0755);
      } else {
        rc = openat(cur, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (rc >= 0) close(rc);
      }
      if (rc < 0 && errno != EEXIST) {
        dv_fail(err, errno, last && !dir ? "openat" : "mkdirat", path, "create %s in the container", path);
        goto out;
      }
      fd = openat(cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
      dv_fail(err, errno, "openat", path, "resolve %s in the container", path);
      goto out;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
      dv_fail(err, errno, "fstat", path, "resolve %s in the container", path);
      close(fd);
      goto out;
    }
    if (S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];
      ssize_t len = readlinkat(fd, "", target, sizeof(target) - 1);
      close(fd);
      if (len < 0 || ++links > MAX_LINKS) {
        dv_fail(err, len < 0 ? errno : ELOOP, "readlinkat", path, "resolve %s in the container", path);
        goto out;
      }
      target[len] = '\0';
      if (target[0] == '/')
        while (depth > 1) close(stack[--depth]);
      snprintf(next, PATH_MAX * 2, "%s/%s", target, p);
      memcpy(todo, next, PATH_MAX * 2);
      p = todo;
      continue;
    }
    if (!last && !S_ISDIR(st.st_mode)) {
      close(fd);
      dv_fail(err, ENOTDIR, "openat", path, "resolve %s in the container", path);
      goto out;
    }
    if (depth == MAX_DEPTH) {
      close(fd);
      dv_fail(err, ENAMETOOLONG, NULL, path, "resolve %s in the container", path);
      goto out;
    }
    stack[depth++] = fd;
  }
out:
  while (depth > 0) close(stack[--depth]);
  free(todo);
  free(next);
  return result;
}

/* O_PATH fd of directory path inside rootfd, created (mode 0755, with its parents) when missing. */
static int mkdir_in_root(int rootfd, const char *path, struct dv_error *err) {
  int fd = open_in_root(rootfd, path, O_PATH | O_DIRECTORY);
  if (fd >= 0) return fd;
  if (errno != ENOENT) return dv_fail(err, errno, "openat2", path, "open %s in the container", path);
  return create_in_root(rootfd, path, true, err);
}

/* O_PATH fd of a mount target inside rootfd, created (directory or empty file) when missing. */
static int target_in_root(int rootfd, const char *path, bool dir, struct dv_error *err) {
  int fd = open_in_root(rootfd, path, O_PATH);
  if (fd >= 0) return fd;
  if (errno != ENOENT) return dv_fail(err, errno, "openat2", path, "open the mount target %s", path);
  return create_in_root(rootfd, path, dir, err);
}

static int attach(int mntfd, int targetfd, const char *what, struct dv_error *err) {
  if (move_mount(mntfd, "", targetfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return dv_fail(err, errno, "move_mount", what, "mount %s", what);
  return 0;
}

/* ---- mount options ----------------------------------------------------- */

struct mopts {
  uint64_t attr_set;    /* MOUNT_ATTR_* to add */
  bool atime_set;       /* an atime option was given (fs mounts only) */
  uint64_t propagation; /* MS_PRIVATE, ... or 0 */
  bool rec_propagation;
  bool bind, rbind;
  const char *data[64]; /* fs options: "k" or "k=v" */
  int n_data;
};

static void parse_options(const struct dv_mount *m, struct mopts *o) {
  memset(o, 0, sizeof(*o));
  static const struct {
    const char *name;
    uint64_t set;
    int kind; /* 0 flag, 1 atime, 2 ignore (only clears or no-ops) */
  } table[] = {
      {"ro", MOUNT_ATTR_RDONLY, 0},           {"nosuid", MOUNT_ATTR_NOSUID, 0},
      {"nodev", MOUNT_ATTR_NODEV, 0},         {"noexec", MOUNT_ATTR_NOEXEC, 0},
      {"nosymfollow", MOUNT_ATTR_NOSYMFOLLOW, 0}, {"nodiratime", MOUNT_ATTR_NODIRATIME, 0},
      {"noatime", MOUNT_ATTR_NOATIME, 1},     {"relatime", MOUNT_ATTR_RELATIME, 1},
      {"strictatime", MOUNT_ATTR_STRICTATIME, 1}, {"rw", 0, 2},
      {"suid", 0, 2},                         {"dev", 0, 2},
      {"exec", 0, 2},                         {"atime", 0, 2},
      {"diratime", 0, 2},                     {"norelatime", 0, 2},
      {"async", 0, 2},                        {"sync", 0, 2},
      {"dirsync", 0, 2},                      {"tmpcopyup", 0, 2},
      {"remount", 0, 2},                      {"defaults", 0, 2},
  };
  static const struct {
    const char *name;
    uint64_t prop;
    bool rec;
  } props[] = {
      {"private", MS_PRIVATE, false}, {"rprivate", MS_PRIVATE, true},       {"slave", MS_SLAVE, false},
      {"rslave", MS_SLAVE, true},     {"shared", MS_SHARED, false},         {"rshared", MS_SHARED, true},
      {"unbindable", MS_UNBINDABLE, false}, {"runbindable", MS_UNBINDABLE, true},
  };
  for (size_t i = 0; i < m->n_options; i++) {
    const char *opt = m->options[i];
    bool known = false;
    if (strcmp(opt, "bind") == 0) o->bind = known = true;
    if (strcmp(opt, "rbind") == 0) o->bind = o->rbind = known = true;
    for (size_t k = 0; !known && k < sizeof(table) / sizeof(table[0]); k++) {
      if (strcmp(opt, table[k].name) != 0) continue;
      known = true;
      if (table[k].kind == 0) o->attr_set |= table[k].set;
      if (table[k].kind == 1) {
        o->attr_set = (o->attr_set & ~(uint64_t)MOUNT_ATTR__ATIME) | table[k].set;
        o->atime_set = true;
      }
    }
    for (size_t k = 0; !known && k < sizeof(props) / sizeof(props[0]); k++) {
      if (strcmp(opt, props[k].name) != 0) continue;
      known = true;
      o->propagation = props[k].prop;
      o->rec_propagation = props[k].rec;
    }
    if (!known && o->n_data < (int)(sizeof(o->data) / sizeof(o->data[0]))) o->data[o->n_data++] = opt;
  }
}

/* ---- filesystem and bind mounts ----------------------------------------- */

/* Append the kernel's own explanation (fs_context log) to err->message. */
static void add_fs_log(int fsfd, struct dv_error *err) {
  char buf[256];
  for (int i = 0; i < 4; i++) {
    ssize_t n = read(fsfd, buf, sizeof(buf) - 1);
    if (n <= 0) break;
    buf[n] = '\0';
    if (buf[n - 1] == '\n') buf[n - 1] = '\0';
    size_t used = strlen(err->message);
    snprintf(err->message + used, sizeof(err->message) - used, " (%s)", buf + (n > 2 && buf[1] == ' ' ? 2 : 0));
  }
}

/* A detached mount of a new filesystem instance. skip_opt: an option to leave out (devpts gid=5 retry). */
static int fs_create(const char *type, const char *source, const struct mopts *o, const char *skip_opt,
                     const char *what, struct dv_error *err) {
  int fs = fsopen(type, FSOPEN_CLOEXEC);
  if (fs < 0) return dv_fail(err, errno, "fsopen", what, "mount %s (%s)", what, type);
  if (source && fsconfig(fs, FSCONFIG_SET_STRING, "source", source, 0) < 0 && errno != EINVAL) {
    dv_fail(err, errno, "fsconfig", what, "mount %s (%s): source %s", what, type, source);
    goto fail;
  }
  for (int i = 0; i < o->n_data; i++) {
    const char *opt = o->data[i];
    if (skip_opt && strcmp(opt, skip_opt) == 0) continue;
    const char *eq = strchr(opt, '=');
    int rc;
    if (eq) {
      char key[128];
      snprintf(key, sizeof(key), "%.*s", (int)(eq - opt), opt);
      rc = fsconfig(fs, FSCONFIG_SET_STRING, key, eq + 1, 0);
    } else {
      rc = fsconfig(fs, FSCONFIG_SET_FLAG, opt, NULL, 0);
    }
    if (rc < 0) {
      dv_fail(err, errno, "fsconfig", what, "mount %s (%s): option %s", what, type, opt);
      add_fs_log(fs, err);
      goto fail;
    }
  }
  if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
    dv_fail(err, errno, "fsconfig", what, "mount %s (%s)", what, type);
    add_fs_log(fs, err);
    goto fail;
  }
  int mnt = fsmount(fs, FSMOUNT_CLOEXEC, (unsigned int)o->attr_set);
  if (mnt < 0) {
    dv_fail(err, errno, "fsmount", what, "mount %s (%s)", what, type);
    goto fail;
  }
  close(fs);
  return mnt;
fail:
  close(fs);
  return -1;
}

static int set_attrs(int mnt, uint64_t set, uint64_t propagation, bool rec, const char *what, struct dv_error *err) {
  if (set == 0 && propagation == 0) return 0;
  struct mount_attr attr = {.attr_set = set, .attr_clr = 0, .propagation = propagation};
  if (mount_setattr(mnt, "", AT_EMPTY_PATH | (rec ? AT_RECURSIVE : 0), &attr, sizeof(attr)) < 0)
    return dv_fail(err, errno, "mount_setattr", what, "set the flags of the mount %s", what);
  return 0;
}

/* A detached copy of the mount tree at dirfd/path (recursive or not) with attrs added. */
static int bind_create(int dirfd, const char *path, bool rec, uint64_t attrs, const char *what,
                       struct dv_error *err) {
  unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (path[0] ? 0 : AT_EMPTY_PATH);
  int mnt = open_tree(dirfd, path, flags | (rec ? AT_RECURSIVE : 0));
  if (mnt < 0 && !rec && errno == EINVAL) {
    /* A non-recursive copy is refused when it would reveal what locked submounts hide: take them along. */
    rec = true;
    mnt = open_tree(dirfd, path, flags | AT_RECURSIVE);
  }
  if (mnt < 0) return dv_fail(err, errno, "open_tree", path[0] ? path : what, "bind mount %s", what);
  if (set_attrs(mnt, attrs, 0, rec, what, err) < 0) {
    close(mnt);
    return -1;
  }
  return mnt;
}

/* ---- rootfs ------------------------------------------------------------- */

static void escape_overlay_path(char *out, size_t len, const char *in) {
  size_t j = 0;
  for (size_t i = 0; in[i] && j + 2 < len; i++) {
    if (in[i] == ':' || in[i] == ',' || in[i] == '\\') out[j++] = '\\';
    out[j++] = in[i];
  }
  out[j] = '\0';
}

/* The overlay's root directory takes its owner from the upper dir, which the CLI made as the invoking user: under a
 * keep-id mapping that user is not root inside, and `/` would belong to it. Give the upper dir to root of this
 * user namespace (an image's `/` is root's). Best effort: failing only leaves `/` with the invoking user's owner. */
static void upper_to_root(const struct dv_spec *s) {
  struct stat upper;
  if (s->upperdir == NULL || stat(s->upperdir, &upper) != 0) return;
  if ((upper.st_uid != 0 || upper.st_gid != 0) && chown(s->upperdir, 0, 0) != 0) return;
}

static int overlay_create(const struct dv_spec *s, struct dv_error *err) {
  const char *what = s->root_path;
  upper_to_root(s);
  int fs = fsopen("overlay", FSOPEN_CLOEXEC);
  if (fs < 0) return dv_fail(err, errno, "fsopen", what, "mount the overlay rootfs");
  int rc = 0;
  for (size_t i = 0; i < s->n_lowerdirs && rc == 0; i++) {
    what = s->lowerdirs[i];
    rc = fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", s->lowerdirs[i], 0);
    if (rc < 0 && i == 0 && errno == EINVAL) {
      /* Kernels before 6.8 have no lowerdir+: one escaped, colon-separated string. */
      size_t cap = 1;
      for (size_t k = 0; k < s->n_lowerdirs; k++) cap += strlen(s->lowerdirs[k]) * 2 + 1;
      char *joined = malloc(cap), *p = joined;
      if (joined == NULL) {
        close(fs);
        return dv_fail(err, ENOMEM, NULL, NULL, "out of memory");
      }
      *p = '\0';
      for (size_t k = 0; k < s->n_lowerdirs; k++) {
        if (k) *p++ = ':';
        escape_overlay_path(p, cap - (size_t)(p - joined), s->lowerdirs[k]);
        p += strlen(p);
      }
      rc = fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir", joined, 0);
      free(joined);
      break;
    }
  }
  if (rc == 0 && s->upperdir && (rc = fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", s->upperdir, 0)) < 0)
    what = s->upperdir;
  if (rc == 0 && s->workdir && (rc = fsconfig(fs, FSCONFIG_SET_STRING, "workdir", s->workdir, 0)) < 0)
    what = s->workdir;
  if (rc == 0 && s->rootless && s->ns[DV_NS_USER]) rc = fsconfig(fs, FSCONFIG_SET_FLAG, "userxattr", NULL, 0);
  if (rc == 0) {
    what = s->root_path;
    rc = fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
  }
  if (rc < 0) {
    dv_fail(err, errno, "fsconfig", what, "mount the overlay rootfs (%s)", what);
    add_fs_log(fs, err);
    close(fs);
    return -1;
  }
  int mnt = fsmount(fs, FSMOUNT_CLOEXEC, 0);
  int e = errno;
  close(fs);
  if (mnt < 0) return dv_fail(err, e, "fsmount", what, "mount the overlay rootfs");
  return mnt;
}

int dv_rootfs_create(const struct dv_spec *s, bool *want_fuse, struct dv_error *err) {
  *want_fuse = false;
  const char *drv = s->rootfs_driver;
  if (drv == NULL) return bind_create(AT_FDCWD, s->root_path, true, 0, s->root_path, err);
  if (strcmp(drv, "bind") == 0) return bind_create(AT_FDCWD, s->lowerdirs[0], true, 0, s->lowerdirs[0], err);
  if (strcmp(drv, "fuse-overlayfs") == 0) {
    *want_fuse = true;
    return -1;
  }
  int mnt = overlay_create(s, err);
  if (mnt < 0 && s->fuse_overlayfs && (err->errnum == EPERM || err->errnum == EINVAL || err->errnum == ENODEV)) {
    *want_fuse = true;
  }
  return mnt;
}

static int mount_rootfs(const struct dv_spec *s, int premade, int sock, struct dv_error *err) {
  int target = open(s->root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (target < 0) return dv_fail(err, errno, "open", s->root_path, "open the rootfs mount point");
  int mnt = premade;
  bool want_fuse = false;
  if (mnt < 0) {
    if (premade == -2) { /* the monitor found that only fuse-overlayfs can do it */
      want_fuse = true;
    } else {
      mnt = dv_rootfs_create(s, &want_fuse, err);
      if (mnt < 0 && want_fuse && strcmp(s->rootfs_driver, "overlay") == 0)
        dv_msg_warn(sock, "kernel overlayfs refused the rootfs (%s); using fuse-overlayfs", err->message);
      if (mnt < 0 && !want_fuse) {
        close(target);
        return -1;
      }
    }
  }
  if (mnt >= 0) {
    int rc = attach(mnt, target, s->root_path, err);
    close(mnt);
    close(target);
    return rc;
  }
  close(target);
  /* fuse-overlayfs: we mount FUSE here with a /dev/fuse fd of our own, and the monitor serves it by running
   * fuse-overlayfs on /dev/fd/N inside our user namespace only. Never in our pid namespace (the container
   * could reach a process that still sees the host's file system) nor in our mount namespace (the daemon
   * would keep it alive after the container ends). */
  int fuse = open("/dev/fuse", O_RDWR | O_CLOEXEC);
  if (fuse < 0) return dv_fail(err, errno, "open", "/dev/fuse", "open /dev/fuse for fuse-overlayfs");
  char data[160];
  snprintf(data, sizeof(data), "fd=%d,rootmode=40000,user_id=0,group_id=0,default_permissions,allow_other", fuse);
  if (mount("fuse-overlayfs", s->root_path, "fuse.fuse-overlayfs", MS_NODEV, data) < 0) {
    int e = errno;
    close(fuse);
    return dv_fail(err, e, "mount", s->root_path, "mount the fuse-overlayfs rootfs");
  }
  int user = open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC);
  if (user < 0) {
    int e = errno;
    close(fuse);
    return dv_fail(err, e, "open", "/proc/self/ns/user", "open our user namespace for fuse-overlayfs");
  }
  int rc = dv_msg_send(sock, DV_MSG_FUSE, 0, NULL);
  if (rc == 0) rc = dv_send_fd(sock, user);
  if (rc == 0) rc = dv_send_fd(sock, fuse);
  close(user);
  close(fuse);
  if (rc < 0) return dv_fail(err, errno, "sendmsg", NULL, "ask the monitor for fuse-overlayfs");
  struct dv_msg m;
  if (dv_msg_recv(sock, &m) <= 0 || m.type != DV_MSG_FUSE_DONE)
    return dv_fail(err, EPIPE, "recvmsg", NULL, "wait for fuse-overlayfs");
  if (m.value != 0) {
    *err = m.err;
    return -1;
  }
  return 0;
}

/* ---- mounts[] ------------------------------------------------------------ */

static int mount_one(const struct dv_spec *s, int rootfd, const struct dv_mount *m, int sock, struct dv_error *err) {
  struct mopts o;
  parse_options(m, &o);
  const char *dest = m->destination;
  const char *type = m->type;
  int mnt = -1;
  bool dir = true;

  if (o.bind || strcmp(type, "bind") == 0) {
    struct stat st;
    if (stat(m->source, &st) < 0) return dv_fail(err, errno, "stat", m->source, "bind mount %s", m->source);
    dir = S_ISDIR(st.st_mode);
    mnt = bind_create(AT_FDCWD, m->source, o.rbind, o.attr_set, m->source, err);
    if (mnt < 0) return -1;
  } else {
    bool optional = strcmp(type, "mqueue") == 0 || strcmp(type, "cgroup") == 0 || strcmp(type, "cgroup2") == 0;
    mnt = fs_create(type, m->source, &o, NULL, dest, err);
    if (mnt < 0 && strcmp(type, "devpts") == 0) {
      /* gid=5 is refused when no group 5 is mapped in the user namespace */
      for (int i = 0; i < o.n_data; i++)
        if (strncmp(o.data[i], "gid=", 4) == 0) mnt = fs_create(type, m->source, &o, o.data[i], dest, err);
    }
    if (mnt < 0 && err->errnum == EPERM &&
        ((strcmp(type, "sysfs") == 0 && !s->ns[DV_NS_NET]) || (strcmp(type, "proc") == 0 && !s->ns[DV_NS_PID]))) {
      /* A user namespace may only mount sysfs with its own network namespace (proc: pid namespace); show the
       * host's instead, read-only for sysfs. */
      const char *host = type[0] == 's' ? "/sys" : "/proc";
      uint64_t ro = type[0] == 's' ? MOUNT_ATTR_RDONLY : 0;
      mnt = bind_create(AT_FDCWD, host, true, (o.attr_set & ~(uint64_t)MOUNT_ATTR__ATIME) | ro, host, err);
    }
    if (mnt < 0 && optional) {
      dv_msg_warn(sock, "skipped the %s mount on %s: %s", type, dest, err->message);
      return 0;
    }
    if (mnt < 0) return -1;
  }
  int target = target_in_root(rootfd, dest, dir, err);
  if (target < 0) {
    close(mnt);
    return -1;
  }
  int rc = attach(mnt, target, dest, err);
  close(mnt);
  if (rc == 0 && o.propagation) {
    /* propagation of the attached mount: reopen it, it now covers the target */
    int top = open_in_root(rootfd, dest, O_PATH);
    if (top >= 0) {
      rc = set_attrs(top, 0, o.propagation, o.rec_propagation, dest, err);
      close(top);
    }
  }
  close(target);
  return rc;
}

/* ---- /dev ---------------------------------------------------------------- */

static int setup_dev(int rootfd, struct dv_error *err) {
  static const char *const devices[] = {"null", "zero", "full", "random", "urandom", "tty"};
  int devfd = mkdir_in_root(rootfd, "/dev", err);
  if (devfd < 0) return -1;
  for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++) {
    char host[32], inside[32];
    snprintf(host, sizeof(host), "/dev/%s", devices[i]);
    snprintf(inside, sizeof(inside), "/dev/%s", devices[i]);
    /* Whatever the image has there (a node, a symlink, a file) is replaced by an empty file to bind onto. */
    struct stat st;
    if (fstatat(devfd, devices[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode)) {
      if (unlinkat(devfd, devices[i], S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0) {
        dv_fail(err, errno, "unlinkat", inside, "replace %s", inside);
        goto fail;
      }
    }
    int f = openat(devfd, devices[i], O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (f < 0) {
      dv_fail(err, errno, "openat", inside, "create %s", inside);
      goto fail;
    }
    close(f);
    int target = openat(devfd, devices[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (target < 0) {
      dv_fail(err, errno, "openat", inside, "open %s", inside);
      goto fail;
    }
    int mnt = bind_create(AT_FDCWD, host, false, 0, host, err);
    int rc = mnt < 0 ? -1 : attach(mnt, target, inside, err);
    if (mnt >= 0) close(mnt);
    close(target);
    if (rc < 0) goto fail;
  }
  static const char *const links[][2] = {
      {"ptmx", "pts/ptmx"},           {"fd", "/proc/self/fd"},        {"stdin", "/proc/self/fd/0"},
      {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"}, {"core", "/proc/kcore"},
  };
  for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
    struct stat st;
    if (fstatat(devfd, links[i][0], &st, AT_SYMLINK_NOFOLLOW) == 0) {
      if (S_ISLNK(st.st_mode) || i != 0) continue;
      unlinkat(devfd, links[i][0], S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0); /* a /dev/ptmx node of the image */
    }
    if (symlinkat(links[i][1], devfd, links[i][0]) < 0 && errno != EEXIST) {
      char where[32];
      snprintf(where, sizeof(where), "/dev/%s", links[i][0]);
      dv_fail(err, errno, "symlinkat", where, "create %s", where);
      goto fail;
    }
  }
  close(devfd);
  return 0;
fail:
  close(devfd);
  return -1;
}

/* ---- after pivot_root ---------------------------------------------------- */

static int mask_paths(const struct dv_spec *s, int rootfd, struct dv_error *err) {
  if (s->n_masked_paths == 0) return 0;
  /* The container's /dev/null, checked to be the real thing: an image could ship a file there. */
  int null = openat2_(rootfd, "/dev/null", O_PATH | O_NOFOLLOW | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS);
  struct stat st;
  if (null < 0) return dv_fail(err, errno, "openat2", "/dev/null", "open the container's /dev/null for masking");
  if (fstat(null, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)) {
    close(null);
    return dv_fail(err, EPERM, "fstat", "/dev/null", "the container's /dev/null is not the null device");
  }
  int rc = 0;
  for (size_t i = 0; i < s->n_masked_paths && rc == 0; i++) {
    const char *path = s->masked_paths[i];
    int target = openat2_(rootfd, path, O_PATH | O_NOFOLLOW | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
    if (target < 0) {
      if (errno == ENOENT || errno == ENOTDIR) continue;
      rc = dv_fail(err, errno, "openat2", path, "open the masked path %s", path);
      break;
    }
    int mnt;
    if (fstat(target, &st) < 0) {
      rc = dv_fail(err, errno, "fstat", path, "stat the masked path %s", path);
    } else if (S_ISLNK(st.st_mode)) {
      /* nothing to cover: a symlink cannot be a mount point */
    } else {
      if (S_ISDIR(st.st_mode)) {
        struct mopts o = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC};
        mnt = fs_create("tmpfs", "tmpfs", &o, NULL, path, err);
      } else {
        mnt = bind_create(null, "", false, 0, path, err);
      }
      rc = mnt < 0 ? -1 : attach(mnt, target, path, err);
      if (mnt >= 0) close(mnt);
    }
    close(target);
  }
  close(null);
  return rc;
}

static int readonly_paths(const struct dv_spec *s, int rootfd, struct dv_error *err) {
  for (size_t i = 0; i < s->n_readonly_paths; i++) {
    const char *path = s->readonly_paths[i];
    int target = open_in_root(rootfd, path, O_PATH);
    if (target < 0) {
      if (errno == ENOENT || errno == ENOTDIR) continue;
      return dv_fail(err, errno, "openat2", path, "open the read-only path %s", path);
    }
    int mnt = bind_create(target, "", true, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, path, err);
    int rc = mnt < 0 ? -1 : attach(mnt, target, path, err);
    if (mnt >= 0) close(mnt);
    close(target);
    if (rc < 0) return -1;
  }
  return 0;
}

static int loopback_up(struct dv_error *err) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return dv_fail(err, errno, "socket", NULL, "bring up the loopback interface");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
  int rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
  if (rc == 0 && !(ifr.ifr_flags & IFF_UP)) {
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
  }
  int e = errno;
  close(fd);
  if (rc < 0) return dv_fail(err, e, "ioctl", "lo", "bring up the loopback interface");
  return 0;
}

/* ---- the whole sequence ---------------------------------------------------- */

int dv_mounts_setup(const struct dv_spec *s, int premade_rootfs, int sock, struct dv_error *err) {
  /* Nothing we mount may propagate back to the host; host mount events may still reach us. */
  if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
    return dv_fail(err, errno, "mount", "/", "make the mount namespace a slave of the host's");
  if (mount_rootfs(s, premade_rootfs, sock, err) < 0) return -1;

  int rootfd = open(s->root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) return dv_fail(err, errno, "open", s->root_path, "open the rootfs");
  for (size_t i = 0; i < s->n_mounts; i++) {
    if (mount_one(s, rootfd, &s->mounts[i], sock, err) < 0) goto fail;
  }
  if (setup_dev(rootfd, err) < 0) goto fail;

  if (s->ns[DV_NS_NET] && !s->ns_path[DV_NS_NET] && loopback_up(err) < 0) goto fail;

  /* pivot_root(".", ".") stacks the old root on top of the new one; detaching it leaves only the new root. */
  if (fchdir(rootfd) < 0) {
    dv_fail(err, errno, "fchdir", s->root_path, "enter the rootfs");
    goto fail;
  }
  if (syscall(SYS_pivot_root, ".", ".") < 0) {
    dv_fail(err, errno, "pivot_root", s->root_path, "pivot_root into the rootfs");
    goto fail;
  }
  if (mount(NULL, ".", NULL, MS_REC | MS_SLAVE, NULL) < 0) {
    dv_fail(err, errno, "mount", "/", "make the old root a slave before detaching it");
    goto fail;
  }
  if (umount2(".", MNT_DETACH) < 0) {
    dv_fail(err, errno, "umount2", "/", "detach the old root");
    goto fail;
  }
  if (chdir("/") < 0) {
    dv_fail(err, errno, "chdir", "/", "enter the new root");
    goto fail;
  }
  close(rootfd);
  rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) return dv_fail(err, errno, "open", "/", "open the new root");

  if (mask_paths(s, rootfd, err) < 0) goto fail;
  if (readonly_paths(s, rootfd, err) < 0) goto fail;
  if (s->root_readonly) {
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
    if (mount_setattr(rootfd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0) {
      dv_fail(err, errno, "mount_setattr", "/", "make the root file system read-only");
      goto fail;
    }
  }
  close(rootfd);
  return 0;
fail:
  close(rootfd);
  return -1;
}
