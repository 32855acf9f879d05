/* `devenv-runtime unpack` (docs/images.md, "Native unpacker"): the interfaces between unpack.c (command, user
 * namespace, the libarchive loop), unpack-path.c (names and directories inside the layer root) and
 * unpack-entry.c (writing one entry). A layer is hostile input: every path is resolved inside DIR without
 * following a symlink, and every node is created with *at() calls relative to its resolved parent.
 * unpack-meta.c applies owners, modes, xattrs and times; unpack-source.c decompresses the blob and hashes the
 * uncompressed stream (the layer's diff_id). */
#ifndef DV_UNPACK_H
#define DV_UNPACK_H

#include "dv.h"

#include <sys/types.h>
#include <time.h>

struct archive;
struct archive_entry;

#define DV_UNPACK_MAX_DEPTH 256            /* path components of one entry name */
#define DV_UNPACK_MAX_ENTRIES 10000000ULL  /* entries of one layer */
#ifndef DV_UNPACK_DIRTIME_BUDGET
#define DV_UNPACK_DIRTIME_BUDGET (64u << 20) /* bytes of pending directory-time records */
#endif

/* A directory whose times are set after everything else was written (creating entries changes them). */
struct dv_unpack_dirtime {
  char *rel;               /* "" for the layer root */
  struct timespec ts[2];   /* atime, mtime */
};

struct dv_unpack {
  int root_fd;    /* DIR: O_PATH | O_DIRECTORY */
  bool rootless;  /* skip device nodes and security./trusted. xattrs; user.overlay.opaque */
  int warn_fd;    /* where warnings go (stderr) */
  unsigned long long entries, max_entries;
  unsigned long long skipped_devices, skipped_xattrs, skipped_other;
  char first_device[256], first_xattr[256], first_other[256];
  struct dv_unpack_dirtime *dirs;
  size_t n_dirs, cap_dirs, dir_bytes;
  /* the last parent directory opened, reused by consecutive entries of the same directory */
  char cached_parent[4096];
  int cached_fd;
};

/* ---- errors (unpack-path.c) -------------------------------------------- */
/* Hostile or corrupt input: fill *err with exit code 1 (no strerror appended). Returns -1. */
int dv_unpack_bad(struct dv_error *err, int errnum, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A failed syscall on an entry: exit code 125 when the host is at fault (no space, I/O error, out of memory,
 * fd limits, read-only fs, missing kernel support), 1 when the layer's content caused it. Returns -1. */
int dv_unpack_syscall_fail(struct dv_error *err, int errnum, const char *syscall, const char *path,
                           const char *what);

/* ---- names and directories (unpack-path.c) ----------------------------- */
/* Turn a tar entry name into a DIR-relative path: a leading '/' is stripped (as Docker does), "." and empty
 * components dropped, ".." resolved lexically. Fails (exit 1) when the name climbs above DIR, is PATH_MAX or
 * longer, or has more than DV_UNPACK_MAX_DEPTH components. out becomes "" for DIR itself. */
int dv_unpack_clean_name(const char *name, char *out, size_t len, struct dv_error *err);
/* Open (O_PATH) the parent directory of rel inside u->root_fd without following any symlink, creating missing
 * directories (mode 0755) when create is true. *base points at rel's last component. The fd belongs to the
 * cache: do not close it. Returns the fd or -1 with *err (exit 1 for a symlinked or non-directory parent). */
int dv_unpack_open_parent(struct dv_unpack *u, const char *rel, bool create, const char **base,
                          struct dv_error *err);
/* Forget the cached parent (after anything was removed: the cached directory may be gone). */
void dv_unpack_forget_parent(struct dv_unpack *u);
/* Remove whatever name is in the directory pfd (recursively; never following a symlink). ENOENT is fine. */
int dv_unpack_remove(struct dv_unpack *u, int pfd, const char *name, const char *shown, struct dv_error *err);
/* Does the symlink target, read at rel, point outside DIR (absolute, or ".." above the root)? */
bool dv_unpack_link_escapes(const char *rel, const char *target);

/* ---- metadata (unpack-meta.c) ------------------------------------------ */
struct dv_unpack_meta {
  uid_t uid;
  gid_t gid;
  mode_t perm;
  struct timespec ts[2]; /* atime, mtime; tv_nsec UTIME_OMIT when the entry has none */
};

/* Count a skipped entry or attribute, remembering the first for the summary warning. */
void dv_unpack_note_skip(unsigned long long *count, char *first, size_t len, const char *what, const char *rel);
/* Owner, permission bits and times of the entry (exit 1 for an owner that is no valid id). */
int dv_unpack_get_meta(struct archive_entry *e, const char *rel, struct dv_unpack_meta *m, struct dv_error *err);
/* Apply to the node fd (fd >= 0), else to base in the directory pfd without following a symlink. */
int dv_unpack_set_owner(int fd, int pfd, const char *base, const char *rel, const struct dv_unpack_meta *m,
                        struct dv_error *err);
int dv_unpack_set_mode(int fd, int pfd, const char *base, const char *rel, mode_t perm, struct dv_error *err);
/* The entry's xattrs, except overlayfs's own (trusted.overlay.*, user.overlay.*) and, rootless, security.* and
 * trusted.*; attributes the filesystem refuses are skipped with a counted warning. */
int dv_unpack_set_xattrs(struct dv_unpack *u, struct archive_entry *e, int fd, int pfd, const char *base,
                         const char *rel, struct dv_error *err);
/* Remember a directory's times for dv_unpack_finish_dirs. */
int dv_unpack_record_dir_times(struct dv_unpack *u, const char *rel, const struct dv_unpack_meta *m,
                               struct dv_error *err);
/* Apply the recorded directory times, in entry order (a later duplicate wins), and free the records. */
int dv_unpack_finish_dirs(struct dv_unpack *u, struct dv_error *err);

/* ---- entries (unpack-entry.c) ------------------------------------------ */
/* Write the entry just read by archive_read_next_header (its data is read from a). Returns 0 or -1 with *err. */
int dv_unpack_entry(struct dv_unpack *u, struct archive *a, struct archive_entry *e, struct dv_error *err);

/* ---- the uncompressed stream (unpack-source.c) ------------------------- */
struct dv_unpack_source;

/* What an unpack reports on stdout: the sha256 and length of the whole uncompressed stream. */
struct dv_unpack_result {
  char diff_id[7 + 64 + 1]; /* "sha256:<hex>" */
  unsigned long long size;
};

/* Start reading the blob fd: detect gzip, zstd or plain tar from its first bytes (a warning on warn_fd when that
 * is not `label`) and set up the decompressor. check_crc false skips the gzip trailers' CRC-32 and length checks
 * (for when the caller checks the diff_id instead). *out is set even on failure (free it). Returns 0 or -1. */
int dv_unpack_source_open(int fd, const char *label, bool check_crc, int warn_fd, struct dv_unpack_source **out,
                          struct dv_error *err);
/* archive_read_open on a (tar only, no filters): libarchive reads the uncompressed stream, errors of the
 * decompressor come back as its errors (errno EIO/ENOMEM when the host failed, EINVAL for corrupt data). */
int dv_unpack_source_attach(struct dv_unpack_source *s, struct archive *a);
/* After libarchive's end of the tar: decompress and hash the rest of the stream (trailing zero blocks and
 * anything else the diff_id covers), then fill *res. Returns 0 or -1 with *err. */
int dv_unpack_source_finish(struct dv_unpack_source *s, struct dv_unpack_result *res, struct dv_error *err);
void dv_unpack_source_free(struct dv_unpack_source *s);

/* ---- command (unpack.c) ------------------------------------------------ */
int dv_cmd_unpack(int argc, char **argv);

#endif
