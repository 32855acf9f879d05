/* Metadata of unpacked nodes for `devenv-runtime unpack`: owner, mode, xattrs and times, taken from the tar entry
 * and applied without following a symlink; directory times are applied last (see unpack-entry.c). */
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
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

void dv_unpack_note_skip(unsigned long long *count, char *first, size_t len, const char *what, const char *rel) {
  if ((*count)++ == 0) snprintf(first, len, "%.100s%s%.150s", what, *what ? " on " : "", rel);
}

int dv_unpack_get_meta(struct archive_entry *e, const char *rel, struct dv_unpack_meta *m, struct dv_error *err) {
  la_int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);
  if (uid < 0 || uid >= 0xffffffffLL || gid < 0 || gid >= 0xffffffffLL)
    return dv_unpack_bad(err, EINVAL, rel, "layer entry `%s` has an invalid owner %lld:%lld", rel, (long long)uid,
                         (long long)gid);
  m->uid = (uid_t)uid;
  m->gid = (gid_t)gid;
  m->perm = archive_entry_perm(e) & 07777;
  if (archive_entry_mtime_is_set(e)) {
    m->ts[1].tv_sec = archive_entry_mtime(e);
    m->ts[1].tv_nsec = archive_entry_mtime_nsec(e);
  } else {
    m->ts[1].tv_sec = 0;
    m->ts[1].tv_nsec = UTIME_OMIT;
  }
  if (archive_entry_atime_is_set(e)) {
    m->ts[0].tv_sec = archive_entry_atime(e);
    m->ts[0].tv_nsec = archive_entry_atime_nsec(e);
  } else {
    m->ts[0] = m->ts[1];
  }
  return 0;
}

/* fd >= 0: the node itself; else base in the directory pfd, not following a symlink. */
int dv_unpack_set_owner(int fd, int pfd, const char *base, const char *rel, const struct dv_unpack_meta *m, struct dv_error *err) {
  int rc = fd >= 0 ? fchown(fd, m->uid, m->gid) : fchownat(pfd, base, m->uid, m->gid, AT_SYMLINK_NOFOLLOW);
  if (rc == 0) return 0;
  const char *shown = *rel ? rel : ".";
  if (errno == EINVAL) /* exit 125: the mappings are too small for this image */
    return dv_fail(err, EINVAL, "fchown", shown,
                   "layer entry `%s` is owned by %u:%u, which the user namespace does not map (too few subordinate "
                   "ids in /etc/subuid or /etc/subgid?)", shown, (unsigned)m->uid, (unsigned)m->gid);
  if (errno == EPERM) /* exit 125: DIR is not owned by an id the user namespace maps */
    return dv_fail(err, EPERM, "fchown", shown, "set the owner of layer entry `%s` (is the destination owned by the "
                   "host id that the mappings make root?)", shown);
  return dv_unpack_syscall_fail(err, errno, "fchown", rel, "set the owner of");
}

int dv_unpack_set_mode(int fd, int pfd, const char *base, const char *rel, mode_t perm, struct dv_error *err) {
  int rc;
  if (fd >= 0) {
    rc = fchmod(fd, perm);
  } else {
    rc = (int)syscall(SYS_fchmodat2, pfd, base, perm, AT_SYMLINK_NOFOLLOW);
    /* before Linux 6.6: the node was just created by us and is not a symlink */
    if (rc < 0 && (errno == ENOSYS || errno == EINVAL)) rc = fchmodat(pfd, base, perm, 0);
  }
  return rc == 0 ? 0 : dv_unpack_syscall_fail(err, errno, "fchmod", rel, "set the mode of");
}

int dv_unpack_set_xattrs(struct dv_unpack *u, struct archive_entry *e, int fd, int pfd, const char *base,
                      const char *rel, struct dv_error *err) {
  if (archive_entry_xattr_reset(e) == 0) return 0;
  char path[64 + NAME_MAX];
  if (fd < 0) snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", pfd, base);
  const char *name;
  const void *value;
  size_t size;
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    /* overlayfs's own attributes (redirects, metacopy, opaque) never come from a layer's tar */
    bool skip = strncmp(name, "trusted.overlay.", 16) == 0 || strncmp(name, "user.overlay.", 13) == 0 ||
                (u->rootless && (strncmp(name, "security.", 9) == 0 || strncmp(name, "trusted.", 8) == 0));
    int rc = skip ? 0 : fd >= 0 ? fsetxattr(fd, name, value, size, 0) : lsetxattr(path, name, value, size, 0);
    if (rc < 0 && (errno == ENOSPC || errno == EDQUOT || errno == EIO))
      return dv_unpack_syscall_fail(err, errno, "setxattr", rel, "set an extended attribute of");
    if (skip || rc < 0) dv_unpack_note_skip(&u->skipped_xattrs, u->first_xattr, sizeof(u->first_xattr), name, rel);
  }
  return 0;
}

int dv_unpack_record_dir_times(struct dv_unpack *u, const char *rel, const struct dv_unpack_meta *m, struct dv_error *err) {
  if (m->ts[1].tv_nsec == UTIME_OMIT) return 0;
  /* A layer of millions of long directory names must not take gigabytes: past the budget, apply what we have
   * (their mtimes may then move if later entries land in them). */
  if (u->dir_bytes > DV_UNPACK_DIRTIME_BUDGET && dv_unpack_finish_dirs(u, err) < 0) return -1;
  if (u->n_dirs == u->cap_dirs) {
    size_t cap = u->cap_dirs ? u->cap_dirs * 2 : 1024;
    struct dv_unpack_dirtime *d = realloc(u->dirs, cap * sizeof(*d));
    if (d == NULL) return dv_fail(err, ENOMEM, NULL, rel, "out of memory");
    u->dirs = d;
    u->cap_dirs = cap;
  }
  char *copy = strdup(rel);
  if (copy == NULL) return dv_fail(err, ENOMEM, NULL, rel, "out of memory");
  u->dir_bytes += strlen(rel) + 1 + sizeof(struct dv_unpack_dirtime);
  u->dirs[u->n_dirs].rel = copy;
  u->dirs[u->n_dirs].ts[0] = m->ts[0];
  u->dirs[u->n_dirs].ts[1] = m->ts[1];
  u->n_dirs++;
  return 0;
}

int dv_unpack_finish_dirs(struct dv_unpack *u, struct dv_error *err) {
  int rc = 0;
  for (size_t i = 0; i < u->n_dirs; i++) {
    struct dv_unpack_dirtime *d = &u->dirs[i];
    if (rc == 0 && d->rel[0] == '\0') {
      if (utimensat(u->root_fd, "", d->ts, AT_EMPTY_PATH) < 0)
        rc = dv_unpack_syscall_fail(err, errno, "utimensat", ".", "set the times of");
    } else if (rc == 0) {
      const char *base;
      struct stat st;
      int pfd = dv_unpack_open_parent(u, d->rel, false, &base, err);
      /* gone or replaced by a later entry: nothing to do */
      if (pfd < 0 && err->exit_code == 125) rc = -1;
      if (pfd >= 0 && fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode) &&
          utimensat(pfd, base, d->ts, AT_SYMLINK_NOFOLLOW) < 0)
        rc = dv_unpack_syscall_fail(err, errno, "utimensat", d->rel, "set the times of");
    }
    free(d->rel);
  }
  free(u->dirs);
  u->dirs = NULL;
  u->n_dirs = u->cap_dirs = 0;
  u->dir_bytes = 0;
  return rc;
}
