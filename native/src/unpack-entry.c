/* Writing one tar entry for `devenv-runtime unpack`. Every node is created relative to its parent directory
 * (opened by unpack-path.c, never through a symlink) and never follows a final symlink. Order per node:
 * data, owner, mode (after chown, which clears set-id bits), xattrs (after both, which clear file
 * capabilities), times; directory times are set at the very end (writing their entries changes them). */
#include "unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

/* An existing base in pfd is in the way of a new node: remove it (later entries win). */
static int make_room(struct dv_unpack *u, int pfd, const char *base, const char *rel, struct dv_error *err) {
  return dv_unpack_remove(u, pfd, base, rel, err);
}

static int archive_fail(struct archive *a, const char *rel, struct dv_error *err) {
  int e = archive_errno(a);
  const char *text = archive_error_string(a);
  if (e == ENOMEM || e == EIO)
    return dv_fail(err, e, "archive_read_data", rel, "read the layer at `%s`: %s", rel, text ? text : "");
  return dv_unpack_bad(err, EINVAL, rel, "the layer is corrupt or truncated at `%s`: %s", rel,
                       text ? text : "read error");
}

static int write_data(struct archive *a, int fd, const char *rel, la_int64_t size, struct dv_error *err) {
  const void *buf;
  size_t len;
  la_int64_t off, end = 0;
  for (;;) {
    int r = archive_read_data_block(a, &buf, &len, &off);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return archive_fail(a, rel, err);
    if (off < 0) return dv_unpack_bad(err, EINVAL, rel, "layer entry `%s` has data at a negative offset", rel);
    const char *p = buf;
    while (len > 0) {
      ssize_t n = pwrite(fd, p, len, (off_t)off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return dv_unpack_syscall_fail(err, n < 0 ? errno : EIO, "pwrite", rel, "write");
      p += n;
      len -= (size_t)n;
      off += n;
    }
    if (off > end) end = off;
  }
  /* a sparse file's trailing hole */
  if (size > end && ftruncate(fd, (off_t)size) < 0) return dv_unpack_syscall_fail(err, errno, "ftruncate", rel, "size");
  return 0;
}

static int regular(struct dv_unpack *u, struct archive *a, struct archive_entry *e, int pfd, const char *base,
                   const char *rel, const struct dv_unpack_meta *m, struct dv_error *err) {
  int fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 && errno == EEXIST) {
    if (make_room(u, pfd, base, rel, err) < 0) return -1;
    fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  }
  if (fd < 0) return dv_unpack_syscall_fail(err, errno, "openat", rel, "create");
  la_int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
  int rc = write_data(a, fd, rel, size, err);
  if (rc == 0) rc = dv_unpack_set_owner(fd, -1, NULL, rel, m, err);
  if (rc == 0) rc = dv_unpack_set_mode(fd, -1, NULL, rel, m->perm, err);
  if (rc == 0) rc = dv_unpack_set_xattrs(u, e, fd, -1, NULL, rel, err);
  if (rc == 0 && m->ts[1].tv_nsec != UTIME_OMIT && futimens(fd, m->ts) < 0)
    rc = dv_unpack_syscall_fail(err, errno, "futimens", rel, "set the times of");
  close(fd);
  return rc;
}

/* A directory entry (dfd_in >= 0: the layer root itself); an existing directory is merged into. */
static int directory(struct dv_unpack *u, struct archive_entry *e, int pfd, const char *base, const char *rel,
                     const struct dv_unpack_meta *m, int dfd_in, struct dv_error *err) {
  int dfd = dfd_in;
  if (dfd < 0) {
    if (mkdirat(pfd, base, 0700) < 0) {
      struct stat st;
      if (errno != EEXIST) return dv_unpack_syscall_fail(err, errno, "mkdirat", rel, "create");
      if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return dv_unpack_syscall_fail(err, errno, "fstatat", rel, "inspect");
      if (!S_ISDIR(st.st_mode)) {
        if (make_room(u, pfd, base, rel, err) < 0) return -1;
        if (mkdirat(pfd, base, 0700) < 0) return dv_unpack_syscall_fail(err, errno, "mkdirat", rel, "create");
      }
    }
    dfd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) return dv_unpack_syscall_fail(err, errno, "openat", rel, "open");
  }
  int rc = dv_unpack_set_owner(dfd, -1, NULL, rel, m, err);
  if (rc == 0) rc = dv_unpack_set_mode(dfd, -1, NULL, rel, m->perm, err);
  if (rc == 0) rc = dv_unpack_set_xattrs(u, e, dfd, -1, NULL, rel, err);
  if (rc == 0) rc = dv_unpack_record_dir_times(u, rel, m, err);
  if (dfd != dfd_in) close(dfd);
  return rc;
}

static int symlink_entry(struct dv_unpack *u, struct archive_entry *e, int pfd, const char *base, const char *rel,
                         const struct dv_unpack_meta *m, struct dv_error *err) {
  const char *target = archive_entry_symlink(e);
  if (target == NULL) target = archive_entry_symlink_utf8(e);
  if (target == NULL || !*target || strlen(target) >= PATH_MAX)
    return dv_unpack_bad(err, EINVAL, rel, "layer symlink `%s` has an empty or too long target", rel);
  if (symlinkat(target, pfd, base) < 0) {
    if (errno != EEXIST) return dv_unpack_syscall_fail(err, errno, "symlinkat", rel, "create");
    if (make_room(u, pfd, base, rel, err) < 0) return -1;
    if (symlinkat(target, pfd, base) < 0) return dv_unpack_syscall_fail(err, errno, "symlinkat", rel, "create");
  }
  int rc = dv_unpack_set_owner(-1, pfd, base, rel, m, err);
  if (rc == 0) rc = dv_unpack_set_xattrs(u, e, -1, pfd, base, rel, err);
  if (rc == 0 && m->ts[1].tv_nsec != UTIME_OMIT && utimensat(pfd, base, m->ts, AT_SYMLINK_NOFOLLOW) < 0)
    rc = dv_unpack_syscall_fail(err, errno, "utimensat", rel, "set the times of");
  return rc;
}

/* Character and block devices, FIFOs; and the overlay whiteout (a character device 0/0) of .wh.NAME entries. */
static int make_node(struct dv_unpack *u, int pfd, const char *base, const char *rel, mode_t mode, dev_t dev,
                     struct dv_error *err) {
  if (mknodat(pfd, base, mode, dev) == 0) return 0;
  if (errno != EEXIST) return dv_unpack_syscall_fail(err, errno, "mknodat", rel, "create");
  if (make_room(u, pfd, base, rel, err) < 0) return -1;
  if (mknodat(pfd, base, mode, dev) < 0) return dv_unpack_syscall_fail(err, errno, "mknodat", rel, "create");
  return 0;
}

static int special(struct dv_unpack *u, struct archive_entry *e, int pfd, const char *base, const char *rel,
                   const struct dv_unpack_meta *m, struct dv_error *err) {
  mode_t type = archive_entry_filetype(e);
  dev_t dev = type == AE_IFIFO ? 0 : makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
  if (type != AE_IFIFO && u->rootless && !(type == AE_IFCHR && dev == 0)) {
    dv_unpack_note_skip(&u->skipped_devices, u->first_device, sizeof(u->first_device), "", rel);
    return 0;
  }
  mode_t kind = type == AE_IFCHR ? S_IFCHR : type == AE_IFBLK ? S_IFBLK : S_IFIFO;
  if (make_node(u, pfd, base, rel, kind | m->perm, dev, err) < 0) return -1;
  int rc = dv_unpack_set_owner(-1, pfd, base, rel, m, err);
  if (rc == 0) rc = dv_unpack_set_mode(-1, pfd, base, rel, m->perm, err);
  if (rc == 0) rc = dv_unpack_set_xattrs(u, e, -1, pfd, base, rel, err);
  if (rc == 0 && m->ts[1].tv_nsec != UTIME_OMIT && utimensat(pfd, base, m->ts, AT_SYMLINK_NOFOLLOW) < 0)
    rc = dv_unpack_syscall_fail(err, errno, "utimensat", rel, "set the times of");
  return rc;
}

/* Restate an error about a hardlink's target as one about the hardlink. */
static int link_fail(struct dv_error *err, const char *rel, const char *target) {
  char msg[sizeof(err->message)];
  snprintf(msg, sizeof(msg), "%s", err->message);
  snprintf(err->message, sizeof(err->message), "layer hardlink `%.300s` to `%.300s`: %.300s", rel, target, msg);
  snprintf(err->path, sizeof(err->path), "%s", rel);
  return -1;
}

static int hardlink(struct dv_unpack *u, int pfd_cached, const char *base, const char *rel, const char *target,
                    struct dv_error *err) {
  char trel[PATH_MAX];
  if (dv_unpack_clean_name(target, trel, sizeof(trel), err) < 0) return link_fail(err, rel, target);
  if (trel[0] == '\0') return dv_unpack_bad(err, EPERM, rel, "layer hardlink `%s` points to the layer root", rel);
  /* Both parents are needed at once, and the parent cache holds one: keep our own copies. */
  int pfd = dup(pfd_cached), tpfd = -1, rc = -1;
  const char *tbase;
  if (pfd < 0) return dv_unpack_syscall_fail(err, errno, "dup", rel, "link");
  int cached = dv_unpack_open_parent(u, trel, false, &tbase, err);
  if (cached < 0) {
    link_fail(err, rel, target);
    goto out;
  }
  tpfd = dup(cached);
  dv_unpack_forget_parent(u);
  struct stat tst, nst;
  if (tpfd < 0 || fstatat(tpfd, tbase, &tst, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT)
      dv_unpack_bad(err, ENOENT, rel, "layer hardlink `%s` points to `%s`, which is not in this layer", rel, target);
    else
      dv_unpack_syscall_fail(err, errno, "fstatat", rel, "link");
    goto out;
  }
  if (S_ISDIR(tst.st_mode)) {
    dv_unpack_bad(err, EPERM, rel, "layer hardlink `%s` points to the directory `%s`", rel, target);
    goto out;
  }
  if (S_ISLNK(tst.st_mode)) {
    char to[PATH_MAX];
    ssize_t n = readlinkat(tpfd, tbase, to, sizeof(to) - 1);
    if (n < 0) {
      dv_unpack_syscall_fail(err, errno, "readlinkat", rel, "link");
      goto out;
    }
    to[n] = '\0';
    if (dv_unpack_link_escapes(trel, to)) {
      dv_unpack_bad(err, EXDEV, rel, "layer hardlink `%s` points to the symlink `%s`, which points outside the layer (`%s`)",
                    rel, target, to);
      goto out;
    }
  }
  if (fstatat(pfd, base, &nst, AT_SYMLINK_NOFOLLOW) == 0) {
    if (nst.st_dev == tst.st_dev && nst.st_ino == tst.st_ino) {
      rc = 0; /* already that file */
      goto out;
    }
    if (make_room(u, pfd, base, rel, err) < 0) goto out;
  }
  if (linkat(tpfd, tbase, pfd, base, 0) < 0) {
    dv_unpack_syscall_fail(err, errno, "linkat", rel, "link");
    goto out;
  }
  rc = 0;
out:
  close(pfd);
  if (tpfd >= 0) close(tpfd);
  return rc;
}

static int whiteout(struct dv_unpack *u, struct archive_entry *e, const char *rel, const char *last,
                    struct dv_error *err) {
  const char *base;
  int pfd = dv_unpack_open_parent(u, rel, true, &base, err);
  if (pfd < 0) return -1;
  if (strcmp(last, ".wh..wh..opq") == 0) {
    int dfd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return dv_unpack_syscall_fail(err, errno, "openat", rel, "open the directory of");
    const char *name = u->rootless ? "user.overlay.opaque" : "trusted.overlay.opaque";
    int rc = fsetxattr(dfd, name, "y", 1, 0);
    int e2 = errno;
    close(dfd);
    if (rc < 0) {
      dv_fail(err, e2, "fsetxattr", rel, "mark the directory of `%s` opaque (%s)", rel, name);
      return -1; /* the host's filesystem cannot hold an overlay layer */
    }
    return 0;
  }
  if (strncmp(last, ".wh..wh.", 8) == 0) { /* other AUFS metadata */
    dv_unpack_note_skip(&u->skipped_other, u->first_other, sizeof(u->first_other), "", rel);
    return 0;
  }
  const char *name = last + 4;
  if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
    return dv_unpack_bad(err, EINVAL, rel, "layer whiteout `%s` names no entry", rel);
  struct dv_unpack_meta m;
  if (dv_unpack_get_meta(e, rel, &m, err) < 0) return -1;
  if (make_node(u, pfd, name, rel, S_IFCHR, makedev(0, 0), err) < 0) return -1;
  return dv_unpack_set_owner(-1, pfd, name, rel, &m, err);
}

int dv_unpack_entry(struct dv_unpack *u, struct archive *a, struct archive_entry *e, struct dv_error *err) {
  const char *name = archive_entry_pathname(e);
  if (name == NULL) name = archive_entry_pathname_utf8(e);
  if (name == NULL) return dv_unpack_bad(err, EINVAL, NULL, "a layer entry has no usable name");
  char rel[PATH_MAX];
  if (dv_unpack_clean_name(name, rel, sizeof(rel), err) < 0) return -1;
  const char *hl = archive_entry_hardlink(e);
  mode_t type = archive_entry_filetype(e);
  struct dv_unpack_meta m;
  if (rel[0] == '\0') {
    if (hl != NULL || type != AE_IFDIR)
      return dv_unpack_bad(err, EINVAL, name, "layer entry `%s` names the layer root but is not a directory", name);
    int dfd = openat(u->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return dv_unpack_syscall_fail(err, errno, "openat", ".", "open");
    int rc = dv_unpack_get_meta(e, rel, &m, err);
    if (rc == 0) rc = directory(u, e, -1, NULL, rel, &m, dfd, err);
    close(dfd);
    return rc;
  }
  if (strncmp(rel, ".wh..wh.", 8) == 0 && strchr(rel, '/') != NULL) { /* inside an AUFS metadata directory */
    dv_unpack_note_skip(&u->skipped_other, u->first_other, sizeof(u->first_other), "", rel);
    return 0;
  }
  const char *last = strrchr(rel, '/');
  last = last ? last + 1 : rel;
  if (strncmp(last, ".wh.", 4) == 0) return whiteout(u, e, rel, last, err);
  if (dv_unpack_get_meta(e, rel, &m, err) < 0) return -1;
  const char *base;
  int pfd = dv_unpack_open_parent(u, rel, true, &base, err);
  if (pfd < 0) return -1;
  if (hl != NULL) return hardlink(u, pfd, base, rel, hl, err);
  switch (type) {
    case AE_IFREG: return regular(u, a, e, pfd, base, rel, &m, err);
    case AE_IFDIR: return directory(u, e, pfd, base, rel, &m, -1, err);
    case AE_IFLNK: return symlink_entry(u, e, pfd, base, rel, &m, err);
    case AE_IFCHR: case AE_IFBLK: case AE_IFIFO: return special(u, e, pfd, base, rel, &m, err);
    case AE_IFSOCK:
      dv_unpack_note_skip(&u->skipped_other, u->first_other, sizeof(u->first_other), "", rel);
      return 0;
    default:
      return dv_unpack_bad(err, EINVAL, rel, "layer entry `%s` has an unsupported type (0%o)", rel, (unsigned)type);
  }
}
