/* `devenv-runtime unpack --layer BLOB --dest DIR --compression gzip|zstd|none [--rootless --idmap FILE]
 * [--expect-diff-id sha256:HEX]` (docs/images.md, "Native unpacker"): decompress the layer (unpack-source.c), read
 * the tar with libarchive and write it into DIR, refusing hostile input, hashing the uncompressed stream on the
 * way. Rootless (or with --idmap), a child does the whole unpack as root of a new user namespace with the
 * given mappings (applied by idmap.c, newuidmap/newgidmap when not root), so ids land as containers see them.
 * Exit 0 with {"type":"result","diffId","size"} on stdout; 1 with one JSON error line on stderr for hostile or
 * corrupt input or a diff_id other than the expected one; 125 when the host failed. */
#include "unpack.h"
#include "spec.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct options {
  const char *layer, *dest, *compression, *idmap, *expect_diff_id;
  bool rootless;
};

static int usage(struct dv_error *err, const char *what) {
  return dv_fail(err, EINVAL, NULL, NULL,
                 "%s; usage: devenv-runtime unpack --layer BLOB --dest DIR --compression gzip|zstd|none "
                 "[--rootless --idmap FILE] [--expect-diff-id sha256:HEX]", what);
}

static int parse_args(int argc, char **argv, struct options *o, struct dv_error *err) {
  memset(o, 0, sizeof(*o));
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char **slot = strcmp(a, "--layer") == 0         ? &o->layer
                        : strcmp(a, "--dest") == 0        ? &o->dest
                        : strcmp(a, "--compression") == 0 ? &o->compression
                        : strcmp(a, "--idmap") == 0       ? &o->idmap
                        : strcmp(a, "--expect-diff-id") == 0 ? &o->expect_diff_id
                                                          : NULL;
    if (slot && i + 1 < argc) {
      *slot = argv[++i];
    } else if (strcmp(a, "--rootless") == 0) {
      o->rootless = true;
    } else {
      char what[256];
      snprintf(what, sizeof(what), "unexpected argument `%.200s`", a);
      return usage(err, what);
    }
  }
  if (!o->layer || !o->dest || !o->compression) return usage(err, "--layer, --dest and --compression are required");
  if (strcmp(o->compression, "gzip") != 0 && strcmp(o->compression, "zstd") != 0 && strcmp(o->compression, "none") != 0)
    return usage(err, "--compression must be gzip, zstd or none");
  if (o->rootless && !o->idmap) return usage(err, "--rootless needs --idmap");
  const char *d = o->expect_diff_id;
  if (d && (strncmp(d, "sha256:", 7) != 0 || strlen(d) != 7 + 64 || strspn(d + 7, "0123456789abcdef") != 64))
    return usage(err, "--expect-diff-id must be sha256: and 64 lowercase hex digits");
  return 0;
}

static int parse_maps(json_t *arr, const char *key, struct dv_idmap **out, size_t *n, struct dv_error *err) {
  if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > 340)
    return dv_fail(err, EINVAL, NULL, NULL, "the id map file needs 1 to 340 %s", key);
  *n = json_array_size(arr);
  *out = calloc(*n, sizeof(**out));
  if (*out == NULL) return dv_fail(err, ENOMEM, NULL, NULL, "out of memory");
  for (size_t i = 0; i < *n; i++) {
    json_t *m = json_array_get(arr, i);
    json_t *c = json_object_get(m, "containerID"), *h = json_object_get(m, "hostID"), *s = json_object_get(m, "size");
    if (!json_is_integer(c) || !json_is_integer(h) || !json_is_integer(s) || json_integer_value(c) < 0 ||
        json_integer_value(h) < 0 || json_integer_value(s) < 1 || json_integer_value(c) > 0xfffffffe ||
        json_integer_value(h) > 0xfffffffe || json_integer_value(s) > 0xffffffff)
      return dv_fail(err, EINVAL, NULL, NULL, "%s[%zu] needs integer containerID, hostID and size", key, i);
    (*out)[i] = (struct dv_idmap){(uint32_t)json_integer_value(c), (uint32_t)json_integer_value(h),
                                  (uint32_t)json_integer_value(s)};
  }
  return 0;
}

/* {"uidMappings":[{containerID,hostID,size}…],"gidMappings":[…]} (optional "newuidmap"/"newgidmap" paths). */
static int load_idmap(const char *path, struct dv_spec *s, struct dv_error *err) {
  json_error_t jerr;
  json_t *root = json_load_file(path, 0, &jerr);
  if (root == NULL) return dv_fail(err, EINVAL, NULL, path, "read the id map file %s: %s", path, jerr.text);
  s->json = root;
  if (parse_maps(json_object_get(root, "uidMappings"), "uidMappings", &s->uid_maps, &s->n_uid_maps, err) < 0 ||
      parse_maps(json_object_get(root, "gidMappings"), "gidMappings", &s->gid_maps, &s->n_gid_maps, err) < 0)
    return -1;
  const char *nu = json_string_value(json_object_get(root, "newuidmap"));
  const char *ng = json_string_value(json_object_get(root, "newgidmap"));
  s->newuidmap = nu ? nu : "/usr/bin/newuidmap";
  s->newgidmap = ng ? ng : "/usr/bin/newgidmap";
  s->rootless = geteuid() != 0; /* root writes /proc/PID/{uid,gid}_map itself */
  return 0;
}

static void summary_warnings(const struct dv_unpack *u) {
  if (u->skipped_devices)
    dv_write_warning(u->warn_fd, "skipped %llu device node(s) a rootless unpack cannot create (first: %s)",
                     u->skipped_devices, u->first_device);
  if (u->skipped_xattrs)
    dv_write_warning(u->warn_fd, "skipped %llu extended attribute(s) (first: %s)", u->skipped_xattrs, u->first_xattr);
  if (u->skipped_other)
    dv_write_warning(u->warn_fd, "skipped %llu socket(s) and AUFS metadata entries (first: %s)", u->skipped_other,
                     u->first_other);
}

/* The whole unpack, in whatever user namespace we are in. */
static int unpack_stream(int blob_fd, int dest_fd, const struct options *o, struct dv_unpack_result *res,
                         struct dv_error *err) {
  /* names are raw bytes; pax UTF-8 names convert 1:1 under a UTF-8 locale */
  if (setlocale(LC_CTYPE, "C.UTF-8") == NULL) setlocale(LC_CTYPE, "");
  umask(0);
  struct dv_unpack u = {.root_fd = dest_fd, .rootless = o->rootless, .warn_fd = 2, .cached_fd = -1,
                        .max_entries = DV_UNPACK_MAX_ENTRIES};
  const char *lim = getenv("DEVENV_UNPACK_MAX_ENTRIES"); /* tests: may only lower the limit */
  if (lim && strtoull(lim, NULL, 10) > 0 && strtoull(lim, NULL, 10) < u.max_entries) u.max_entries = strtoull(lim, NULL, 10);
  struct dv_unpack_source *src = NULL;
  struct archive *a = NULL;
  /* with an expected diff_id, its sha256 checks the content: zlib need not compute the CRC-32 too */
  int rc = dv_unpack_source_open(blob_fd, o->compression, o->expect_diff_id == NULL, u.warn_fd, &src, err);
  if (rc < 0) goto out;
  if ((a = archive_read_new()) == NULL) {
    rc = dv_fail(err, ENOMEM, NULL, NULL, "out of memory");
    goto out;
  }
  /* unpack-source.c decompresses: libarchive gets the tar itself (an empty stream is an empty layer) */
  archive_read_support_format_tar(a);
  archive_read_support_format_empty(a);
  if (dv_unpack_source_attach(src, a) != ARCHIVE_OK) {
    int en = archive_errno(a);
    const char *text = archive_error_string(a) ? archive_error_string(a) : "unreadable";
    rc = en == ENOMEM || en == EIO ? dv_fail(err, en, "archive_read_open", NULL, "read the layer: %s", text)
                                   : dv_unpack_bad(err, EINVAL, NULL, "the layer is corrupt or truncated, or not a tar: %s", text);
    goto out;
  }
  for (;;) {
    struct archive_entry *e;
    int r = archive_read_next_header(a, &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      int en = archive_errno(a);
      const char *text = archive_error_string(a) ? archive_error_string(a) : "read error";
      if (en == ENOMEM || en == EIO)
        rc = dv_fail(err, en, "archive_read_next_header", NULL, "read the layer: %s", text);
      else
        rc = dv_unpack_bad(err, EINVAL, NULL, "the layer is corrupt or truncated after %llu entries: %s", u.entries,
                           text);
      goto out;
    }
    if (r == ARCHIVE_WARN)
      dv_write_warning(u.warn_fd, "layer entry %llu: %s", u.entries + 1,
                       archive_error_string(a) ? archive_error_string(a) : "warning");
    if (++u.entries > u.max_entries) {
      rc = dv_unpack_bad(err, E2BIG, NULL, "the layer has more than %llu entries", u.max_entries);
      goto out;
    }
    if (dv_unpack_entry(&u, a, e, err) < 0) {
      rc = -1;
      goto out;
    }
  }
  /* the diff_id covers the whole stream: what follows the tar's end (its zero blocks, padding) too */
  rc = dv_unpack_source_finish(src, res, err);
  if (rc == 0) rc = dv_unpack_finish_dirs(&u, err);
  if (rc == 0) summary_warnings(&u);
  /* the caller renames DIR into place next: make what it names durable first */
  if (rc == 0) {
    int sfd = openat(dest_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sfd < 0 || syncfs(sfd) < 0) rc = dv_fail(err, errno, "syncfs", o->dest, "flush the unpacked layer");
    if (sfd >= 0) close(sfd);
  }
out:
  dv_unpack_forget_parent(&u);
  for (size_t i = 0; i < u.n_dirs; i++) free(u.dirs[i].rel); /* left only on failure */
  free(u.dirs);
  if (a) archive_read_free(a);
  dv_unpack_source_free(src);
  return rc;
}

/* What the child of unpack_in_userns reports through its pipe. */
struct child_report {
  int ok;
  struct dv_unpack_result res;
  struct dv_error err;
};

/* Read the whole report (it is larger than PIPE_BUF: a read may return part of it). */
static ssize_t read_report(int fd, struct child_report *r) {
  size_t got = 0;
  while (got < sizeof(*r)) {
    ssize_t n = read(fd, (char *)r + got, sizeof(*r) - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
  }
  return (ssize_t)got;
}

/* A child enters a new user namespace, we give it the mappings, it unpacks as root there. */
static int unpack_in_userns(int blob_fd, int dest_fd, const struct options *o, struct dv_spec *s,
                            struct dv_unpack_result *result, struct dv_error *err) {
  int ready[2], go[2], res[2];
  if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0 || pipe2(res, O_CLOEXEC) < 0)
    return dv_fail(err, errno, "pipe2", NULL, "unpack");
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return dv_fail(err, errno, "fork", NULL, "unpack");
  if (pid == 0) {
    close(ready[0]);
    close(go[1]);
    close(res[0]);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(125);
    static struct child_report report;
    struct dv_error cerr;
    memset(&cerr, 0, sizeof(cerr));
    int rc = dv_userns_child_enter(ready[1], go[0], "unpack the layer", &cerr);
    if (rc == 0) rc = unpack_stream(blob_fd, dest_fd, o, &report.res, &cerr);
    report.ok = rc == 0;
    report.err = cerr;
    dv_write_all(res[1], &report, sizeof(report));
    _exit(rc < 0 ? (cerr.exit_code ? cerr.exit_code : 125) : 0);
  }
  close(ready[1]);
  close(go[0]);
  close(res[1]);
  int rc = dv_userns_parent_map(pid, s, ready[0], go[1], "unpack", err);
  static struct child_report report;
  ssize_t got = read_report(res[0], &report);
  close(res[0]);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (rc < 0) return -1;
  if (got == (ssize_t)sizeof(report) && !report.ok) {
    *err = report.err;
    err->message[sizeof(err->message) - 1] = '\0';
    err->path[sizeof(err->path) - 1] = '\0';
    err->syscall[sizeof(err->syscall) - 1] = '\0';
    return -1;
  }
  if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0) || got != (ssize_t)sizeof(report))
    return dv_fail(err, ECHILD, NULL, NULL, "the unpacking process failed (status %d)", st);
  *result = report.res;
  result->diff_id[sizeof(result->diff_id) - 1] = '\0';
  return 0;
}

/* The expected diff_id differs from the content's: exit 1 (the caller deletes DIR). */
static int diff_id_mismatch(const char *expected, const char *actual) {
  json_t *obj = json_pack("{s:s, s:s, s:i, s:s+++, s:i}", "type", "error", "code", "EBADMSG", "errno", EBADMSG, "message",
                          "layer content does not match its diff_id: expected ", expected, ", got ", actual,
                          "exitCode", 1);
  char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
  if (text) {
    dv_write_all(2, text, strlen(text));
    dv_write_all(2, "\n", 1);
  }
  free(text);
  json_decref(obj);
  return 1;
}

static void write_result(const struct dv_unpack_result *r) {
  char line[160];
  int n = snprintf(line, sizeof(line), "{\"type\":\"result\",\"diffId\":\"%s\",\"size\":%llu}\n", r->diff_id, r->size);
  dv_write_all(1, line, (size_t)n);
}

int dv_cmd_unpack(int argc, char **argv) {
  struct dv_error err;
  struct options o;
  struct dv_spec spec;
  memset(&spec, 0, sizeof(spec));
  int rc = parse_args(argc, argv, &o, &err);
  int blob_fd = -1, dest_fd = -1;
  if (rc == 0 && o.idmap) rc = load_idmap(o.idmap, &spec, &err);
  if (rc == 0 && (blob_fd = open(o.layer, O_RDONLY | O_CLOEXEC)) < 0)
    rc = dv_fail(&err, errno, "open", o.layer, "open the layer blob %s", o.layer);
  /* Opened here, before any user namespace: the path to DIR may not be searchable from inside one. */
  if (rc == 0 && (dest_fd = open(o.dest, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
    rc = dv_fail(&err, errno, "open", o.dest, "open the destination %s", o.dest);
  struct dv_unpack_result res;
  memset(&res, 0, sizeof(res));
  if (rc == 0)
    rc = o.idmap ? unpack_in_userns(blob_fd, dest_fd, &o, &spec, &res, &err) : unpack_stream(blob_fd, dest_fd, &o, &res, &err);
  if (blob_fd >= 0) close(blob_fd);
  if (dest_fd >= 0) close(dest_fd);
  free(spec.uid_maps);
  free(spec.gid_maps);
  if (spec.json) json_decref(spec.json);
  if (rc == 0 && o.expect_diff_id && strcmp(o.expect_diff_id, res.diff_id) != 0)
    return diff_id_mismatch(o.expect_diff_id, res.diff_id);
  if (rc == 0) {
    write_result(&res);
    return 0;
  }
  if (err.exit_code != 1) err.exit_code = 125;
  dv_write_error(2, &err);
  return err.exit_code;
}
