/* The OCI "process" object: parsing it, and the last steps before execve in the container
 * (rlimits, user, capabilities, no_new_privs, cwd, fds, seccomp, PATH lookup). The order follows runc's
 * standard_init_linux.go / finalizeNamespace and crun's container.c. */
#include "dv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const struct {
  const char *name;
  int resource;
} rlimit_names[] = {
    {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_DATA", RLIMIT_DATA},       {"RLIMIT_STACK", RLIMIT_STACK},
    {"RLIMIT_CORE", RLIMIT_CORE},       {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},     {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},
};

static const char *rlimit_name(int resource) {
  for (size_t i = 0; i < sizeof(rlimit_names) / sizeof(rlimit_names[0]); i++) {
    if (rlimit_names[i].resource == resource) return rlimit_names[i].name;
  }
  return "RLIMIT_?";
}

/* ---- parsing ------------------------------------------------------------ */

static int bad_field(struct dv_error *err, const char *field, const char *what) {
  dv_fail(err, 0, NULL, NULL, "invalid OCI process: %s %s", field, what);
  err->errnum = EINVAL;
  return -1;
}

static int parse_u32(json_t *v, const char *field, uint32_t *out, struct dv_error *err) {
  if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > (json_int_t)UINT32_MAX)
    return bad_field(err, field, "must be an integer between 0 and 4294967295");
  *out = (uint32_t)json_integer_value(v);
  return 0;
}

/* An rlimit value: a non-negative integer; -1 or a number too big for an integer (JSON writers cannot
 * spell 2^64-1 exactly) means unlimited. */
static int parse_rlim(json_t *v, const char *field, uint64_t *out, struct dv_error *err) {
  if (json_is_integer(v)) {
    json_int_t n = json_integer_value(v);
    if (n == -1) {
      *out = RLIM_INFINITY;
      return 0;
    }
    if (n < 0) return bad_field(err, field, "must be a non-negative integer (or -1 for unlimited)");
    *out = (uint64_t)n;
    return 0;
  }
  if (json_is_real(v) && json_real_value(v) >= 9.2e18) {
    *out = RLIM_INFINITY;
    return 0;
  }
  return bad_field(err, field, "must be a non-negative integer (or -1 for unlimited)");
}

static char *dup_or_fail(const char *s, struct dv_error *err) {
  char *copy = strdup(s);
  if (copy == NULL) dv_fail(err, ENOMEM, NULL, NULL, "out of memory");
  return copy;
}

/* A JSON array of strings into a NULL-terminated strdup'ed vector. */
static int parse_strv(json_t *arr, const char *field, bool need_one, char ***out, struct dv_error *err) {
  if (arr == NULL || json_is_null(arr)) {
    if (need_one) return bad_field(err, field, "is required (a non-empty array of strings)");
    *out = calloc(1, sizeof(char *));
    return *out ? 0 : dv_fail(err, ENOMEM, NULL, NULL, "out of memory");
  }
  if (!json_is_array(arr)) return bad_field(err, field, "must be an array of strings");
  size_t n = json_array_size(arr);
  if (need_one && n == 0) return bad_field(err, field, "must not be empty");
  char **v = calloc(n + 1, sizeof(char *));
  if (v == NULL) return dv_fail(err, ENOMEM, NULL, NULL, "out of memory");
  for (size_t i = 0; i < n; i++) {
    json_t *s = json_array_get(arr, i);
    if (!json_is_string(s)) {
      char name[96];
      snprintf(name, sizeof(name), "%s[%zu]", field, i);
      return bad_field(err, name, "must be a string");
    }
    if ((v[i] = dup_or_fail(json_string_value(s), err)) == NULL) return -1;
  }
  *out = v;
  return 0;
}

static int parse_caps(json_t *caps, const char *set, uint64_t *mask, struct dv_error *err) {
  char field[96];
  snprintf(field, sizeof(field), "process.capabilities.%s", set);
  json_t *arr = json_object_get(caps, set);
  *mask = 0;
  if (arr == NULL || json_is_null(arr)) return 0;
  if (!json_is_array(arr)) return bad_field(err, field, "must be an array of CAP_* names");
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v) {
    const char *name = json_string_value(v);
    int cap = dv_cap_from_name(name);
    if (cap < 0) {
      char item[256];
      snprintf(item, sizeof(item), "%s[%zu] (%.64s)", field, i, name ? name : "not a string");
      return bad_field(err, item, "is not a known capability");
    }
    *mask |= 1ULL << cap;
  }
  return 0;
}

static int parse_rlimits(json_t *arr, struct dv_process *out, struct dv_error *err) {
  if (arr == NULL || json_is_null(arr)) return 0;
  if (!json_is_array(arr)) return bad_field(err, "process.rlimits", "must be an array");
  size_t n = json_array_size(arr);
  if (n == 0) return 0;
  out->rlimits = calloc(n, sizeof(*out->rlimits));
  if (out->rlimits == NULL) return dv_fail(err, ENOMEM, NULL, NULL, "out of memory");
  for (size_t i = 0; i < n; i++) {
    json_t *o = json_array_get(arr, i);
    char field[96];
    snprintf(field, sizeof(field), "process.rlimits[%zu]", i);
    if (!json_is_object(o)) return bad_field(err, field, "must be an object");
    const char *type = json_string_value(json_object_get(o, "type"));
    struct dv_rlimit *rl = &out->rlimits[i];
    rl->resource = -1;
    for (size_t k = 0; type && k < sizeof(rlimit_names) / sizeof(rlimit_names[0]); k++) {
      if (strcmp(type, rlimit_names[k].name) == 0) rl->resource = rlimit_names[k].resource;
    }
    if (rl->resource < 0) {
      char item[160];
      snprintf(item, sizeof(item), "%s.type (%s)", field, type ? type : "not a string");
      return bad_field(err, item, "is not a known RLIMIT_* name");
    }
    char sub[128];
    snprintf(sub, sizeof(sub), "%s.soft", field);
    if (parse_rlim(json_object_get(o, "soft"), sub, &rl->soft, err) < 0) return -1;
    snprintf(sub, sizeof(sub), "%s.hard", field);
    if (parse_rlim(json_object_get(o, "hard"), sub, &rl->hard, err) < 0) return -1;
    out->n_rlimits++;
  }
  return 0;
}

int dv_process_from_json(json_t *obj, struct dv_process *out, struct dv_error *err) {
  memset(out, 0, sizeof(*out));
  if (!json_is_object(obj)) return bad_field(err, "process", "must be an object");

  json_t *v = json_object_get(obj, "terminal");
  if (v != NULL && !json_is_null(v)) {
    if (!json_is_boolean(v)) return bad_field(err, "process.terminal", "must be a boolean");
    out->terminal = json_is_true(v);
  }

  json_t *user = json_object_get(obj, "user");
  if (user != NULL && !json_is_null(user)) {
    if (!json_is_object(user)) return bad_field(err, "process.user", "must be an object");
    if ((v = json_object_get(user, "uid")) && parse_u32(v, "process.user.uid", &out->uid, err) < 0) return -1;
    if ((v = json_object_get(user, "gid")) && parse_u32(v, "process.user.gid", &out->gid, err) < 0) return -1;
    json_t *groups = json_object_get(user, "additionalGids");
    if (groups != NULL && !json_is_null(groups)) {
      if (!json_is_array(groups)) return bad_field(err, "process.user.additionalGids", "must be an array");
      size_t n = json_array_size(groups);
      out->additional_gids = calloc(n ? n : 1, sizeof(uint32_t));
      if (out->additional_gids == NULL) return dv_fail(err, ENOMEM, NULL, NULL, "out of memory");
      for (size_t i = 0; i < n; i++) {
        char field[64];
        snprintf(field, sizeof(field), "process.user.additionalGids[%zu]", i);
        if (parse_u32(json_array_get(groups, i), field, &out->additional_gids[i], err) < 0) return -1;
      }
      out->n_additional_gids = n;
    }
  }

  if (parse_strv(json_object_get(obj, "args"), "process.args", true, &out->args, err) < 0) return -1;
  if (out->args[0][0] == '\0') return bad_field(err, "process.args[0]", "must not be empty");
  if (parse_strv(json_object_get(obj, "env"), "process.env", false, &out->env, err) < 0) return -1;

  v = json_object_get(obj, "cwd");
  if (v == NULL || json_is_null(v)) {
    if ((out->cwd = dup_or_fail("/", err)) == NULL) return -1;
  } else {
    if (!json_is_string(v) || json_string_value(v)[0] != '/')
      return bad_field(err, "process.cwd", "must be an absolute path");
    if ((out->cwd = dup_or_fail(json_string_value(v), err)) == NULL) return -1;
  }

  /* No capabilities object means no capabilities at all (as crun does), never "keep the runtime's". */
  json_t *caps = json_object_get(obj, "capabilities");
  if (caps != NULL && !json_is_null(caps)) {
    if (!json_is_object(caps)) return bad_field(err, "process.capabilities", "must be an object");
    if (parse_caps(caps, "bounding", &out->cap_bounding, err) < 0 ||
        parse_caps(caps, "effective", &out->cap_effective, err) < 0 ||
        parse_caps(caps, "inheritable", &out->cap_inheritable, err) < 0 ||
        parse_caps(caps, "permitted", &out->cap_permitted, err) < 0 ||
        parse_caps(caps, "ambient", &out->cap_ambient, err) < 0)
      return -1;
  }

  v = json_object_get(obj, "noNewPrivileges");
  if (v != NULL && !json_is_null(v)) {
    if (!json_is_boolean(v)) return bad_field(err, "process.noNewPrivileges", "must be a boolean");
    out->no_new_privileges = json_is_true(v);
  }

  if (parse_rlimits(json_object_get(obj, "rlimits"), out, err) < 0) return -1;

  json_t *size = json_object_get(obj, "consoleSize");
  if (size != NULL && !json_is_null(size)) {
    uint32_t h = 0, w = 0;
    if (!json_is_object(size)) return bad_field(err, "process.consoleSize", "must be an object");
    if ((v = json_object_get(size, "height")) && parse_u32(v, "process.consoleSize.height", &h, err) < 0) return -1;
    if ((v = json_object_get(size, "width")) && parse_u32(v, "process.consoleSize.width", &w, err) < 0) return -1;
    if (h > 0xffff || w > 0xffff) return bad_field(err, "process.consoleSize", "is too large");
    out->rows = (unsigned short)h;
    out->cols = (unsigned short)w;
  }
  return 0;
}

/* ---- exec ---------------------------------------------------------------- */

static void format_rlim(char *buf, size_t n, uint64_t v) {
  if (v == RLIM_INFINITY)
    snprintf(buf, n, "unlimited");
  else
    snprintf(buf, n, "%" PRIu64, v);
}

static int apply_rlimits(const struct dv_process *p, int err_fd, struct dv_error *err) {
  for (size_t i = 0; i < p->n_rlimits; i++) {
    const struct dv_rlimit *r = &p->rlimits[i];
    struct rlimit want = {.rlim_cur = r->soft, .rlim_max = r->hard};
    if (setrlimit(r->resource, &want) == 0) continue;
    if (errno != EPERM) {
      return dv_fail(err, errno, "setrlimit", NULL, "set %s", rlimit_name(r->resource));
    }
    /* Raising the hard limit needs CAP_SYS_RESOURCE in the initial user namespace: clamp to what we have. */
    struct rlimit cur;
    if (getrlimit(r->resource, &cur) < 0) return dv_fail(err, errno, "getrlimit", NULL, "get %s", rlimit_name(r->resource));
    struct rlimit clamped = {
        .rlim_cur = r->soft < cur.rlim_max ? r->soft : cur.rlim_max,
        .rlim_max = r->hard < cur.rlim_max ? r->hard : cur.rlim_max,
    };
    if (setrlimit(r->resource, &clamped) < 0) {
      return dv_fail(err, errno, "setrlimit", NULL, "set %s", rlimit_name(r->resource));
    }
    char ws[32], wh[32], cs[32], ch[32];
    format_rlim(ws, sizeof(ws), r->soft);
    format_rlim(wh, sizeof(wh), r->hard);
    format_rlim(cs, sizeof(cs), clamped.rlim_cur);
    format_rlim(ch, sizeof(ch), clamped.rlim_max);
    dv_write_warning(err_fd, "%s: raising the limit to %s/%s was refused (EPERM); clamped to %s/%s",
                     rlimit_name(r->resource), ws, wh, cs, ch);
  }
  return 0;
}

/* Drop from the bounding set every capability not in keep; returns the highest capability the kernel knows. */
static int drop_bounding(uint64_t keep, int *last_cap, struct dv_error *err) {
  int cap;
  for (cap = 0; cap < 64; cap++) {
    int has = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (has < 0) break; /* EINVAL: past the last capability this kernel knows */
    if (has == 1 && !(keep & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
      return dv_fail(err, errno, "prctl", NULL, "drop capability %d from the bounding set", cap);
    }
  }
  *last_cap = cap - 1;
  return 0;
}

static int set_user(const struct dv_process *p, struct dv_error *err) {
  gid_t groups[p->n_additional_gids + 1];
  for (size_t i = 0; i < p->n_additional_gids; i++) groups[i] = p->additional_gids[i];
  if (setgroups(p->n_additional_gids, groups) < 0) {
    /* A user namespace with setgroups "deny" cannot clear the list; that is fine when none are wanted. */
    if (!(errno == EPERM && p->n_additional_gids == 0))
      return dv_fail(err, errno, "setgroups", NULL, "set additional groups of the process");
  }
  if (setresgid(p->gid, p->gid, p->gid) < 0) {
    return dv_fail(err, errno, "setresgid", NULL, "set gid %u (is it mapped in the container's user namespace?)",
                   p->gid);
  }
  if (setresuid(p->uid, p->uid, p->uid) < 0) {
    return dv_fail(err, errno, "setresuid", NULL, "set uid %u (is it mapped in the container's user namespace?)",
                   p->uid);
  }
  return 0;
}

static int set_caps(const struct dv_process *p, int last_cap, struct dv_error *err) {
  uint64_t known = last_cap >= 63 ? ~0ULL : ((1ULL << (last_cap + 1)) - 1);
  uint64_t eff = p->cap_effective & known, perm = p->cap_permitted & known, inh = p->cap_inheritable & known;
  struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2] = {
      {.effective = (uint32_t)eff, .permitted = (uint32_t)perm, .inheritable = (uint32_t)inh},
      {.effective = (uint32_t)(eff >> 32), .permitted = (uint32_t)(perm >> 32), .inheritable = (uint32_t)(inh >> 32)},
  };
  if (syscall(SYS_capset, &hdr, data) < 0) {
    return dv_fail(err, errno, "capset", NULL,
                   "set capabilities (effective %#" PRIx64 ", permitted %#" PRIx64 ", inheritable %#" PRIx64 ")", eff,
                   perm, inh);
  }
  uint64_t amb = p->cap_ambient & known;
  /* Kernels without ambient capabilities reject this; that only matters when some are wanted. */
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && amb != 0) {
    return dv_fail(err, errno, "prctl", NULL, "clear the ambient capabilities");
  }
  for (int cap = 0; cap <= last_cap && cap < 64; cap++) {
    if ((amb & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) {
      return dv_fail(err, errno, "prctl", NULL,
                     "raise ambient capability %d (it must be in the permitted and inheritable sets)", cap);
    }
  }
  return 0;
}

/* Mark every fd >= 3 close-on-exec: nothing the runtime holds may reach the container's process. */
static int cloexec_fds(struct dv_error *err) {
  if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return 0;
  DIR *dir = opendir("/proc/self/fd");
  if (dir == NULL) return dv_fail(err, errno, "opendir", "/proc/self/fd", "list open file descriptors");
  int self = dirfd(dir);
  struct dirent *de;
  while ((de = readdir(dir)) != NULL) {
    if (de->d_name[0] < '0' || de->d_name[0] > '9') continue;
    int fd = atoi(de->d_name);
    if (fd >= 3 && fd != self) fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  closedir(dir);
  return 0;
}

static const char *env_value(char *const *env, const char *key) {
  size_t klen = strlen(key);
  for (char *const *e = env; e && *e; e++) {
    if (strncmp(*e, key, klen) == 0 && (*e)[klen] == '=') return *e + klen + 1;
  }
  return NULL;
}

/* Find args[0] the way execvp does, but through the container's PATH (p->env), not the runtime's. */
static int resolve_command(const struct dv_process *p, char *out, size_t out_len, struct dv_error *err) {
  const char *cmd = p->args[0];
  if (strchr(cmd, '/') != NULL) {
    if (strlen(cmd) >= out_len) return dv_fail(err, ENAMETOOLONG, "execve", cmd, "exec %s", cmd);
    strcpy(out, cmd);
    return 0;
  }
  const char *path = env_value(p->env, "PATH");
  if (path == NULL) path = DEFAULT_PATH;
  bool denied = false;
  const char *dir = path;
  for (;;) {
    const char *end = strchrnul(dir, ':');
    size_t dlen = (size_t)(end - dir);
    int n = dlen == 0 ? snprintf(out, out_len, "%s", cmd) : snprintf(out, out_len, "%.*s/%s", (int)dlen, dir, cmd);
    if (n > 0 && (size_t)n < out_len) {
      struct stat st;
      if (stat(out, &st) == 0) {
        if (S_ISREG(st.st_mode) && (st.st_mode & 0111)) return 0;
        denied = true;
      } else if (errno == EACCES) {
        denied = true;
      }
    }
    if (*end == '\0') break;
    dir = end + 1;
  }
  if (denied) {
    dv_fail(err, 0, "execve", cmd, "exec %s: found in $PATH but not executable", cmd);
    err->errnum = EACCES;
    err->exit_code = 126;
    return -1;
  }
  dv_fail(err, 0, "execve", cmd, "exec %s: executable file not found in $PATH", cmd);
  err->errnum = ENOENT;
  err->exit_code = 127;
  return -1;
}

/* Capabilities the process may still hold: its bounding set. A privileged container, or an added capability,
 * can only have what devenv itself has (this sandbox's root lacks CAP_SYS_RESOURCE, for one), as in Podman. */
static uint64_t current_bounding(void) {
  uint64_t set = 0;
  for (int cap = 0; cap < 64; cap++) {
    int has = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (has < 0) break;
    if (has == 1) set |= 1ULL << cap;
  }
  return set;
}

/* Close every fd but stdio and keep: nothing of the runtime's may serve as a working directory or a way out. */
static void close_other_fds(int keep) {
  if (keep > 3) syscall(SYS_close_range, 3U, (unsigned)keep - 1, 0);
  syscall(SYS_close_range, (unsigned)(keep < 3 ? 3 : keep + 1), ~0U, 0);
}

void dv_process_exec(const struct dv_process *p, const struct dv_seccomp *sc, int err_fd) {
  struct dv_error err;
  int last_cap = 40;
  char path[PATH_MAX];

  close_other_fds(err_fd);
  uint64_t available = current_bounding();
  uint64_t wanted = p->cap_bounding | p->cap_effective | p->cap_permitted;
  if (wanted & ~available) {
    char names[512] = "";
    size_t used = 0;
    for (int cap = 0; cap < 64 && used < sizeof(names) - 8; cap++) {
      if ((wanted & ~available) & (1ULL << cap)) used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%d", used ? "," : "", cap);
    }
    /* A privileged container asks for every capability: only warn when some were named explicitly. */
    if (p->cap_bounding != ~0ULL && (p->cap_bounding & ~available) != (((1ULL << 41) - 1) & ~available))
      dv_write_warning(err_fd, "capabilities devenv itself does not have were left out (numbers %s)", names);
  }
  struct dv_process masked = *p;
  masked.cap_bounding &= available;
  masked.cap_effective &= available;
  masked.cap_permitted &= available;
  masked.cap_inheritable &= available;
  masked.cap_ambient &= available;
  p = &masked;

  if (apply_rlimits(p, err_fd, &err) < 0) goto fail;
  /* Without no_new_privs, loading a filter needs CAP_SYS_ADMIN, so it must happen before the capabilities
   * go (runc does the same); the calls below must then be allowed by the profile, as Docker's allows them. */
  if (sc != NULL && !p->no_new_privileges && dv_seccomp_apply(sc, &err) < 0) goto fail;
  /* The bounding set is dropped while we still hold CAP_SETPCAP, i.e. before switching user. */
  if (drop_bounding(p->cap_bounding, &last_cap, &err) < 0) goto fail;
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) {
    dv_fail(&err, errno, "prctl", NULL, "set PR_SET_KEEPCAPS");
    goto fail;
  }
  if (set_user(p, &err) < 0) goto fail;
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) {
    dv_fail(&err, errno, "prctl", NULL, "clear PR_SET_KEEPCAPS");
    goto fail;
  }
  if (set_caps(p, last_cap, &err) < 0) goto fail;
  if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
    dv_fail(&err, errno, "prctl", NULL, "set no_new_privs");
    goto fail;
  }
  if (chdir(p->cwd) < 0) {
    dv_fail(&err, errno, "chdir", p->cwd, "change to the working directory %s", p->cwd);
    goto fail;
  }
  {
    /* The directory must be inside the container's root (getcwd fails or says "(unreachable)" otherwise). */
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof(cwd)) == NULL || cwd[0] != '/') {
      dv_fail(&err, EPERM, "getcwd", p->cwd, "the working directory %s is outside the container", p->cwd);
      goto fail;
    }
  }
  if (resolve_command(p, path, sizeof(path), &err) < 0) goto fail;
  if (cloexec_fds(&err) < 0) goto fail;
  if (sc != NULL && p->no_new_privileges && dv_seccomp_apply(sc, &err) < 0) goto fail;

  execve(path, p->args, p->env);

  int e = errno;
  dv_fail(&err, e, "execve", path, "exec %s", path);
  if (e == ENOENT)
    err.exit_code = 127;
  else if (e == EACCES || e == ENOEXEC || e == EISDIR)
    err.exit_code = 126;
fail:
  dv_write_error(err_fd, &err);
  _exit(err.exit_code);
}
