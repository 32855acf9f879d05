/* OCI linux.seccomp profiles. libseccomp compiles the profile into a BPF program when it is parsed (so a bad
 * profile fails before anything is started); the container's process only loads that program with one
 * seccomp(2) call. Compiling a Docker-style profile for x86_64+x86+x32 costs ~13 ms, so the program can be
 * cached in a file keyed by the profile's text (crun keeps such a cache in its state directory too). */
#include "dv.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

struct dv_seccomp {
  struct sock_filter *insns;
  uint32_t n_insns;
  uint32_t flags; /* SECCOMP_FILTER_FLAG_* */
};

struct cache_header {
  char magic[8]; /* "DVBPF01\0" */
  uint64_t key;
  uint32_t flags;
  uint32_t n_insns;
};

static int bad_field(struct dv_error *err, const char *field, const char *what) {
  dv_fail(err, 0, NULL, NULL, "invalid seccomp profile: %s %s", field, what);
  err->errnum = EINVAL;
  return -1;
}

/* errnoRet: a small non-negative integer; absent means EPERM (OCI). */
static int parse_errno_ret(json_t *v, const char *field, uint32_t fallback, uint32_t *out, struct dv_error *err) {
  if (v == NULL || json_is_null(v)) {
    *out = fallback;
    return 0;
  }
  if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 0xffff)
    return bad_field(err, field, "must be an integer between 0 and 65535");
  *out = (uint32_t)json_integer_value(v);
  return 0;
}

static int parse_action(json_t *name_v, json_t *errno_v, const char *field, uint32_t *out, struct dv_error *err) {
  const char *name = json_string_value(name_v);
  char errno_field[128];
  snprintf(errno_field, sizeof(errno_field), "%s errnoRet", field);
  uint32_t ret;
  if (name == NULL) return bad_field(err, field, "must be a SCMP_ACT_* string");
  if (strcmp(name, "SCMP_ACT_ALLOW") == 0) {
    *out = SCMP_ACT_ALLOW;
  } else if (strcmp(name, "SCMP_ACT_ERRNO") == 0) {
    if (parse_errno_ret(errno_v, errno_field, 1 /* EPERM */, &ret, err) < 0) return -1;
    *out = SCMP_ACT_ERRNO(ret);
  } else if (strcmp(name, "SCMP_ACT_KILL") == 0 || strcmp(name, "SCMP_ACT_KILL_THREAD") == 0) {
    *out = SCMP_ACT_KILL;
  } else if (strcmp(name, "SCMP_ACT_KILL_PROCESS") == 0) {
    *out = SCMP_ACT_KILL_PROCESS;
  } else if (strcmp(name, "SCMP_ACT_TRAP") == 0) {
    *out = SCMP_ACT_TRAP;
  } else if (strcmp(name, "SCMP_ACT_TRACE") == 0) {
    if (parse_errno_ret(errno_v, errno_field, 1 /* EPERM */, &ret, err) < 0) return -1;
    *out = SCMP_ACT_TRACE(ret);
  } else if (strcmp(name, "SCMP_ACT_LOG") == 0) {
    *out = SCMP_ACT_LOG;
  } else {
    char what[160];
    snprintf(what, sizeof(what), "(%s) is not a supported action", name);
    return bad_field(err, field, what);
  }
  return 0;
}

static int parse_op(const char *name, enum scmp_compare *out) {
  static const struct {
    const char *name;
    enum scmp_compare op;
  } ops[] = {
      {"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT}, {"SCMP_CMP_LE", SCMP_CMP_LE},
      {"SCMP_CMP_EQ", SCMP_CMP_EQ}, {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
  };
  for (size_t i = 0; name && i < sizeof(ops) / sizeof(ops[0]); i++) {
    if (strcmp(name, ops[i].name) == 0) {
      *out = ops[i].op;
      return 0;
    }
  }
  return -1;
}

static int parse_u64(json_t *v, const char *field, scmp_datum_t *out, struct dv_error *err) {
  if (v == NULL || json_is_null(v)) {
    *out = 0;
    return 0;
  }
  if (!json_is_integer(v)) return bad_field(err, field, "must be an integer");
  *out = (scmp_datum_t)json_integer_value(v);
  return 0;
}

/* "SCMP_ARCH_X86_64" -> libseccomp's "x86_64"; 0 when libseccomp does not know it. */
static uint32_t resolve_arch(const char *name) {
  char lower[64];
  if (name == NULL || strncmp(name, "SCMP_ARCH_", 10) != 0) return 0;
  size_t i;
  for (i = 0; name[10 + i] && i < sizeof(lower) - 1; i++) lower[i] = (char)tolower((unsigned char)name[10 + i]);
  lower[i] = '\0';
  return seccomp_arch_resolve_name(lower);
}

static int add_rules(scmp_filter_ctx ctx, json_t *rule, size_t index, uint32_t default_action,
                     struct dv_error *err) {
  char field[96];
  snprintf(field, sizeof(field), "syscalls[%zu]", index);
  if (!json_is_object(rule)) return bad_field(err, field, "must be an object");

  uint32_t action;
  char action_field[128];
  snprintf(action_field, sizeof(action_field), "%s.action", field);
  if (parse_action(json_object_get(rule, "action"), json_object_get(rule, "errnoRet"), action_field, &action, err) < 0)
    return -1;

  json_t *args = json_object_get(rule, "args");
  size_t n_args = 0;
  if (args != NULL && !json_is_null(args)) {
    if (!json_is_array(args)) return bad_field(err, field, "args must be an array");
    n_args = json_array_size(args);
  }
  struct scmp_arg_cmp cmps[n_args ? n_args : 1];
  bool repeated_index = false;
  unsigned seen = 0;
  for (size_t i = 0; i < n_args; i++) {
    json_t *a = json_array_get(args, i);
    char arg_field[160];
    snprintf(arg_field, sizeof(arg_field), "%s.args[%zu]", field, i);
    if (!json_is_object(a)) return bad_field(err, arg_field, "must be an object");
    json_t *idx = json_object_get(a, "index");
    if (!json_is_integer(idx) || json_integer_value(idx) < 0 || json_integer_value(idx) > 5)
      return bad_field(err, arg_field, "index must be an integer between 0 and 5");
    enum scmp_compare op;
    if (parse_op(json_string_value(json_object_get(a, "op")), &op) < 0)
      return bad_field(err, arg_field, "op must be one of SCMP_CMP_NE/LT/LE/EQ/GE/GT/MASKED_EQ");
    scmp_datum_t value = 0, value_two = 0;
    if (parse_u64(json_object_get(a, "value"), arg_field, &value, err) < 0 ||
        parse_u64(json_object_get(a, "valueTwo"), arg_field, &value_two, err) < 0)
      return -1;
    unsigned arg = (unsigned)json_integer_value(idx);
    if (seen & (1U << arg)) repeated_index = true;
    seen |= 1U << arg;
    cmps[i] = (struct scmp_arg_cmp){.arg = arg, .op = op, .datum_a = value, .datum_b = value_two};
  }

  /* libseccomp refuses a rule with the default action; such a rule changes nothing anyway. */
  if (action == default_action) return 0;

  json_t *names = json_object_get(rule, "names");
  json_t *single = json_object_get(rule, "name");
  size_t n_names = json_is_array(names) ? json_array_size(names) : 0;
  if (n_names == 0 && !json_is_string(single)) return bad_field(err, field, "names must be a non-empty array");
  for (size_t k = 0; k < (n_names ? n_names : 1); k++) {
    const char *name = n_names ? json_string_value(json_array_get(names, k)) : json_string_value(single);
    if (name == NULL) return bad_field(err, field, "names must hold strings");
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue; /* not a syscall on this kernel/arch: nothing to filter */
    int rc;
    if (!repeated_index) {
      rc = seccomp_rule_add_array(ctx, action, nr, (unsigned)n_args, cmps);
    } else {
      /* libseccomp cannot AND two conditions on one argument: as runc does, one rule per condition. */
      rc = 0;
      for (size_t i = 0; i < n_args && rc == 0; i++) rc = seccomp_rule_add_array(ctx, action, nr, 1, &cmps[i]);
    }
    if (rc < 0) {
      dv_fail(err, -rc, "seccomp_rule_add", NULL, "invalid seccomp profile: %s: rule for %s", field, name);
      return -1;
    }
  }
  return 0;
}

static uint32_t parse_flags(json_t *flags) {
  uint32_t out = 0;
  size_t i;
  json_t *f;
  json_array_foreach(flags, i, f) {
    const char *name = json_string_value(f);
    if (name == NULL) continue;
    if (strcmp(name, "SECCOMP_FILTER_FLAG_LOG") == 0)
      out |= SECCOMP_FILTER_FLAG_LOG;
    else if (strcmp(name, "SECCOMP_FILTER_FLAG_SPEC_ALLOW") == 0)
      out |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    else if (strcmp(name, "SECCOMP_FILTER_FLAG_TSYNC") == 0)
      out |= SECCOMP_FILTER_FLAG_TSYNC;
  }
  return out;
}

/* The compiled program, through a memfd (libseccomp 2.5 only exports to an fd). */
static int export_program(scmp_filter_ctx ctx, struct dv_seccomp *sc, struct dv_error *err) {
  int fd = memfd_create("dv-seccomp", MFD_CLOEXEC);
  if (fd < 0) return dv_fail(err, errno, "memfd_create", NULL, "compile the seccomp profile");
  int rc = seccomp_export_bpf(ctx, fd);
  if (rc < 0) {
    close(fd);
    return dv_fail(err, -rc, "seccomp_export_bpf", NULL, "compile the seccomp profile");
  }
  off_t size = lseek(fd, 0, SEEK_CUR);
  if (size <= 0 || size % (off_t)sizeof(struct sock_filter) != 0 ||
      size > (off_t)(BPF_MAXINSNS * sizeof(struct sock_filter))) {
    close(fd);
    dv_fail(err, 0, "seccomp_export_bpf", NULL,
            "the seccomp profile compiles to more than the kernel's %d instructions", BPF_MAXINSNS);
    err->errnum = E2BIG;
    return -1;
  }
  sc->insns = malloc((size_t)size);
  if (sc->insns == NULL || pread(fd, sc->insns, (size_t)size, 0) != size) {
    close(fd);
    return dv_fail(err, sc->insns ? errno : ENOMEM, "pread", NULL, "read the compiled seccomp profile");
  }
  close(fd);
  sc->n_insns = (uint32_t)(size / (off_t)sizeof(struct sock_filter));
  return 0;
}

int dv_seccomp_from_json(json_t *obj, struct dv_seccomp **out, struct dv_error *err) {
  *out = NULL;
  if (obj == NULL || json_is_null(obj)) return 0;
  if (!json_is_object(obj)) return bad_field(err, "linux.seccomp", "must be an object");

  uint32_t default_errno, default_action;
  if (parse_errno_ret(json_object_get(obj, "defaultErrnoRet"), "defaultErrnoRet", 1 /* EPERM */, &default_errno,
                      err) < 0)
    return -1;
  const char *def = json_string_value(json_object_get(obj, "defaultAction"));
  if (def != NULL && strcmp(def, "SCMP_ACT_ERRNO") == 0) {
    default_action = SCMP_ACT_ERRNO(default_errno);
  } else if (def != NULL && strcmp(def, "SCMP_ACT_TRACE") == 0) {
    default_action = SCMP_ACT_TRACE(default_errno);
  } else if (parse_action(json_object_get(obj, "defaultAction"), NULL, "defaultAction", &default_action, err) < 0) {
    return -1;
  }

  struct dv_seccomp *sc = calloc(1, sizeof(*sc));
  if (sc == NULL) return dv_fail(err, ENOMEM, NULL, NULL, "out of memory");
  scmp_filter_ctx ctx = seccomp_init(default_action);
  if (ctx == NULL) {
    free(sc);
    return dv_fail(err, EINVAL, "seccomp_init", NULL, "create the seccomp filter");
  }

  json_t *arches = json_object_get(obj, "architectures");
  size_t i;
  json_t *v;
  json_array_foreach(arches, i, v) {
    uint32_t arch = resolve_arch(json_string_value(v));
    if (arch == 0) continue; /* unknown to libseccomp: it cannot run here either */
    int rc = seccomp_arch_add(ctx, arch);
    if (rc < 0 && rc != -EEXIST) {
      dv_fail(err, -rc, "seccomp_arch_add", NULL, "invalid seccomp profile: architectures[%zu] (%s)", i,
              json_string_value(v));
      goto fail;
    }
  }
  json_t *flags = json_object_get(obj, "flags");
  if (json_is_array(flags)) sc->flags = parse_flags(flags);

  json_t *syscalls = json_object_get(obj, "syscalls");
  if (syscalls != NULL && !json_is_null(syscalls) && !json_is_array(syscalls)) {
    bad_field(err, "syscalls", "must be an array");
    goto fail;
  }
  json_array_foreach(syscalls, i, v) {
    if (add_rules(ctx, v, i, default_action, err) < 0) goto fail;
  }
  if (export_program(ctx, sc, err) < 0) goto fail;
  seccomp_release(ctx);
  *out = sc;
  return 0;

fail:
  seccomp_release(ctx);
  free(sc->insns);
  free(sc);
  return -1;
}

/* FNV-1a over the profile's canonical text and the libseccomp version that compiles it. */
static uint64_t profile_key(json_t *obj) {
  char *text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
  const struct scmp_version *ver = seccomp_version();
  char version[64];
  snprintf(version, sizeof(version), "libseccomp %u.%u.%u arch %u", ver->major, ver->minor, ver->micro,
           seccomp_arch_native());
  uint64_t h = 1469598103934665603ULL;
  for (const char *parts[] = {version, text ? text : "", NULL}, **p = parts; *p; p++) {
    for (const unsigned char *c = (const unsigned char *)*p; *c; c++) {
      h ^= *c;
      h *= 1099511628211ULL;
    }
  }
  free(text);
  return h;
}

static struct dv_seccomp *read_cache(const char *path, uint64_t key) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return NULL;
  struct cache_header h;
  struct stat st;
  struct dv_seccomp *sc = NULL;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || read(fd, &h, sizeof(h)) != (ssize_t)sizeof(h) ||
      memcmp(h.magic, "DVBPF01", 8) != 0 || h.key != key || h.n_insns == 0 || h.n_insns > BPF_MAXINSNS ||
      st.st_size != (off_t)(sizeof(h) + (size_t)h.n_insns * sizeof(struct sock_filter)))
    goto out;
  sc = calloc(1, sizeof(*sc));
  if (sc == NULL) goto out;
  size_t len = (size_t)h.n_insns * sizeof(struct sock_filter);
  sc->insns = malloc(len);
  if (sc->insns == NULL || read(fd, sc->insns, len) != (ssize_t)len) {
    free(sc->insns);
    free(sc);
    sc = NULL;
    goto out;
  }
  sc->n_insns = h.n_insns;
  sc->flags = h.flags;
out:
  close(fd);
  return sc;
}

/* Best effort: a cache that cannot be written only costs time. Written aside, then renamed into place. */
static void write_cache(const char *path, uint64_t key, const struct dv_seccomp *sc) {
  char tmp[4200];
  if (snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid()) >= (int)sizeof(tmp)) return;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return;
  struct cache_header h = {.magic = "DVBPF01", .key = key, .flags = sc->flags, .n_insns = sc->n_insns};
  bool ok = dv_write_all(fd, &h, sizeof(h)) == 0 &&
            dv_write_all(fd, sc->insns, (size_t)sc->n_insns * sizeof(struct sock_filter)) == 0;
  ok = close(fd) == 0 && ok;
  if (!ok || rename(tmp, path) < 0) unlink(tmp);
}

int dv_seccomp_from_json_cached(json_t *obj, const char *cache_path, struct dv_seccomp **out,
                                struct dv_error *err) {
  *out = NULL;
  if (obj == NULL || json_is_null(obj)) return 0;
  if (cache_path == NULL || !json_is_object(obj)) return dv_seccomp_from_json(obj, out, err);
  uint64_t key = profile_key(obj);
  if ((*out = read_cache(cache_path, key)) != NULL) return 0;
  if (dv_seccomp_from_json(obj, out, err) < 0) return -1;
  write_cache(cache_path, key, *out);
  return 0;
}

int dv_seccomp_apply(const struct dv_seccomp *sc, struct dv_error *err) {
  if (sc == NULL) return 0;
  struct sock_fprog prog = {.len = (unsigned short)sc->n_insns, .filter = sc->insns};
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, sc->flags, &prog) < 0)
    return dv_fail(err, errno, "seccomp", NULL, "load the seccomp filter");
  return 0;
}

void dv_seccomp_free(struct dv_seccomp *sc) {
  if (sc == NULL) return;
  free(sc->insns);
  free(sc);
}
