/* config.json -> struct dv_spec. Only the subset of the OCI runtime spec described in
 * docs/runtime-contract.md is read; unknown properties are ignored as the OCI spec requires. */
#include "spec.h"
#include "forward.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad(struct dv_error *err, const char *field, const char *what) {
  return dv_fail(err, EINVAL, NULL, NULL, "invalid config.json: %s %s", field, what);
}

/* Optional string: absent or null -> NULL. */
static int opt_string(json_t *obj, const char *key, const char *field, const char **out, struct dv_error *err) {
  json_t *v = json_object_get(obj, key);
  *out = NULL;
  if (v == NULL || json_is_null(v)) return 0;
  if (!json_is_string(v)) return bad(err, field, "must be a string");
  *out = json_string_value(v);
  return 0;
}

static int opt_bool(json_t *obj, const char *key, const char *field, bool *out, struct dv_error *err) {
  json_t *v = json_object_get(obj, key);
  if (v == NULL || json_is_null(v)) return 0;
  if (!json_is_boolean(v)) return bad(err, field, "must be a boolean");
  *out = json_is_true(v);
  return 0;
}

static int opt_object(json_t *obj, const char *key, const char *field, json_t **out, struct dv_error *err) {
  json_t *v = json_object_get(obj, key);
  *out = NULL;
  if (v == NULL || json_is_null(v)) return 0;
  if (!json_is_object(v)) return bad(err, field, "must be an object");
  *out = v;
  return 0;
}

/* Optional array of strings -> NULL-terminated vector of borrowed pointers. abs: each must start with '/'. */
static int opt_strv(json_t *obj, const char *key, const char *field, bool abs, const char ***out, size_t *n,
                    struct dv_error *err) {
  json_t *arr = json_object_get(obj, key);
  *n = 0;
  *out = calloc(1, sizeof(char *));
  if (*out == NULL) return dv_fail(err, ENOMEM, NULL, NULL, "out of memory");
  if (arr == NULL || json_is_null(arr)) return 0;
  if (!json_is_array(arr)) return bad(err, field, "must be an array of strings");
  size_t len = json_array_size(arr);
  const char **v = realloc(*out, (len + 1) * sizeof(char *));
  if (v == NULL) return dv_fail(err, ENOMEM, NULL, NULL, "out of memory");
  *out = v;
  for (size_t i = 0; i < len; i++) {
    json_t *s = json_array_get(arr, i);
    char item[128];
    snprintf(item, sizeof(item), "%s[%zu]", field, i);
    if (!json_is_string(s)) return bad(err, item, "must be a string");
    if (abs && json_string_value(s)[0] != '/') return bad(err, item, "must be an absolute path");
    v[i] = json_string_value(s);
  }
  v[len] = NULL;
  *n = len;
  return 0;
}

static int parse_idmaps(json_t *lx, const char *key, struct dv_idmap **out, size_t *n, struct dv_error *err) {
  char field[64];
  snprintf(field, sizeof(field), "linux.%s", key);
  json_t *arr = lx ? json_object_get(lx, key) : NULL;
  *out = NULL;
  *n = 0;
  if (arr == NULL || json_is_null(arr)) return 0;
  if (!json_is_array(arr)) return bad(err, field, "must be an array");
  size_t len = json_array_size(arr);
  if (len > 340) return bad(err, field, "has too many entries (at most 340)");
  *out = calloc(len ? len : 1, sizeof(struct dv_idmap));
  if (*out == NULL) return dv_fail(err, ENOMEM, NULL, NULL, "out of memory");
  for (size_t i = 0; i < len; i++) {
    json_t *o = json_array_get(arr, i);
    char item[96];
    snprintf(item, sizeof(item), "%s[%zu]", field, i);
    if (!json_is_object(o)) return bad(err, item, "must be an object");
    static const char *const keys[] = {"containerID", "hostID", "size"};
    uint32_t vals[3];
    for (int k = 0; k < 3; k++) {
      json_t *v = json_object_get(o, keys[k]);
      char sub[128];
      snprintf(sub, sizeof(sub), "%s.%s", item, keys[k]);
      if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > (json_int_t)UINT32_MAX)
        return bad(err, sub, "must be an integer between 0 and 4294967295");
      vals[k] = (uint32_t)json_integer_value(v);
    }
    if (vals[2] == 0) return bad(err, item, "has size 0");
    (*out)[i] = (struct dv_idmap){vals[0], vals[1], vals[2]};
  }
  *n = len;
  return 0;
}

static int parse_namespaces(json_t *lx, struct dv_spec *s, struct dv_error *err) {
  static const char *const names[DV_NS_COUNT] = {"user", "mount", "pid", "uts", "ipc", "network", "cgroup"};
  json_t *arr = lx ? json_object_get(lx, "namespaces") : NULL;
  if (arr == NULL || json_is_null(arr)) return 0;
  if (!json_is_array(arr)) return bad(err, "linux.namespaces", "must be an array");
  size_t i;
  json_t *o;
  json_array_foreach(arr, i, o) {
    char item[64];
    snprintf(item, sizeof(item), "linux.namespaces[%zu]", i);
    if (!json_is_object(o)) return bad(err, item, "must be an object");
    const char *type = json_string_value(json_object_get(o, "type"));
    int kind = -1;
    for (int k = 0; type && k < DV_NS_COUNT; k++)
      if (strcmp(type, names[k]) == 0) kind = k;
    if (kind < 0) {
      char what[128];
      snprintf(what, sizeof(what), "type (%s) is not one of user, mount, pid, uts, ipc, network, cgroup",
               type ? type : "not a string");
      return bad(err, item, what);
    }
    s->ns[kind] = true;
    char sub[96];
    snprintf(sub, sizeof(sub), "%s.path", item);
    if (opt_string(o, "path", sub, &s->ns_path[kind], err) < 0) return -1;
    if (s->ns_path[kind] && (kind == DV_NS_USER || kind == DV_NS_PID || kind == DV_NS_MOUNT))
      return bad(err, sub, "is not supported for user, pid and mount namespaces");
  }
  return 0;
}

static int parse_mounts(json_t *root, struct dv_spec *s, struct dv_error *err) {
  json_t *arr = json_object_get(root, "mounts");
  if (arr == NULL || json_is_null(arr)) return 0;
  if (!json_is_array(arr)) return bad(err, "mounts", "must be an array");
  size_t len = json_array_size(arr);
  s->mounts = calloc(len ? len : 1, sizeof(struct dv_mount));
  if (s->mounts == NULL) return dv_fail(err, ENOMEM, NULL, NULL, "out of memory");
  for (size_t i = 0; i < len; i++) {
    json_t *o = json_array_get(arr, i);
    struct dv_mount *m = &s->mounts[i];
    char item[64], sub[96];
    snprintf(item, sizeof(item), "mounts[%zu]", i);
    if (!json_is_object(o)) return bad(err, item, "must be an object");
    snprintf(sub, sizeof(sub), "%s.destination", item);
    if (opt_string(o, "destination", sub, &m->destination, err) < 0) return -1;
    if (m->destination == NULL || m->destination[0] != '/') return bad(err, sub, "must be an absolute path");
    snprintf(sub, sizeof(sub), "%s.type", item);
    if (opt_string(o, "type", sub, &m->type, err) < 0) return -1;
    snprintf(sub, sizeof(sub), "%s.source", item);
    if (opt_string(o, "source", sub, &m->source, err) < 0) return -1;
    snprintf(sub, sizeof(sub), "%s.options", item);
    if (opt_strv(o, "options", sub, false, &m->options, &m->n_options, err) < 0) return -1;
    bool bind = false;
    for (size_t k = 0; k < m->n_options; k++)
      if (strcmp(m->options[k], "bind") == 0 || strcmp(m->options[k], "rbind") == 0) bind = true;
    if (bind) m->type = "bind";
    if (m->type == NULL) {
      snprintf(sub, sizeof(sub), "%s.type", item);
      return bad(err, sub, "is required unless the options say bind or rbind");
    }
    if (strcmp(m->type, "bind") == 0 && (m->source == NULL || m->source[0] != '/')) {
      snprintf(sub, sizeof(sub), "%s.source", item);
      return bad(err, sub, "must be an absolute path for a bind mount");
    }
    s->n_mounts++;
  }
  return 0;
}

static int parse_devenv(json_t *root, struct dv_spec *s, struct dv_error *err) {
  json_t *d, *rootfs;
  s->newuidmap = "/usr/bin/newuidmap";
  s->newgidmap = "/usr/bin/newgidmap";
  if (opt_object(root, "devenv", "devenv", &d, err) < 0) return -1;
  if (d == NULL) return 0; /* a plain OCI bundle: root.path already holds the rootfs */
  if (opt_object(d, "rootfs", "devenv.rootfs", &rootfs, err) < 0) return -1;
  if (rootfs) {
    if (opt_string(rootfs, "driver", "devenv.rootfs.driver", &s->rootfs_driver, err) < 0) return -1;
    const char *drv = s->rootfs_driver;
    if (drv == NULL || (strcmp(drv, "overlay") != 0 && strcmp(drv, "fuse-overlayfs") != 0 && strcmp(drv, "bind") != 0))
      return bad(err, "devenv.rootfs.driver", "must be one of overlay, fuse-overlayfs, bind");
    if (opt_strv(rootfs, "lowerdirs", "devenv.rootfs.lowerdirs", true, &s->lowerdirs, &s->n_lowerdirs, err) < 0)
      return -1;
    if (s->n_lowerdirs == 0) return bad(err, "devenv.rootfs.lowerdirs", "must not be empty");
    if (opt_string(rootfs, "upperdir", "devenv.rootfs.upperdir", &s->upperdir, err) < 0) return -1;
    if (opt_string(rootfs, "workdir", "devenv.rootfs.workdir", &s->workdir, err) < 0) return -1;
    if (s->upperdir && s->upperdir[0] == '\0') s->upperdir = NULL;
    if (s->workdir && s->workdir[0] == '\0') s->workdir = NULL;
    if ((s->upperdir == NULL) != (s->workdir == NULL))
      return bad(err, "devenv.rootfs", "needs both upperdir and workdir, or neither");
    if (s->upperdir && (s->upperdir[0] != '/' || s->workdir[0] != '/'))
      return bad(err, "devenv.rootfs.upperdir/workdir", "must be absolute paths");
    if (strcmp(drv, "bind") != 0 && s->upperdir == NULL && s->n_lowerdirs < 2)
      return bad(err, "devenv.rootfs", "needs an upperdir or at least two lowerdirs for an overlay");
  }
  if (opt_strv(d, "cgroups", "devenv.cgroups", true, &s->cgroups, &s->n_cgroups, err) < 0) return -1;
  json_t *v = json_object_get(d, "cgroupVersion");
  if (v != NULL && !json_is_null(v)) {
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 2)
      return bad(err, "devenv.cgroupVersion", "must be 0, 1 or 2");
    s->cgroup_version = (int)json_integer_value(v);
  }
  if (opt_bool(d, "rootless", "devenv.rootless", &s->rootless, err) < 0) return -1;
  const char *p;
  if (opt_string(d, "newuidmap", "devenv.newuidmap", &p, err) < 0) return -1;
  if (p && *p) s->newuidmap = p;
  if (opt_string(d, "newgidmap", "devenv.newgidmap", &p, err) < 0) return -1;
  if (p && *p) s->newgidmap = p;
  if (opt_string(d, "fuseOverlayfs", "devenv.fuseOverlayfs", &s->fuse_overlayfs, err) < 0) return -1;
  if (s->fuse_overlayfs && s->fuse_overlayfs[0] == '\0') s->fuse_overlayfs = NULL;
  if (s->rootfs_driver && strcmp(s->rootfs_driver, "fuse-overlayfs") == 0 && s->fuse_overlayfs == NULL)
    return bad(err, "devenv.fuseOverlayfs", "is required with the fuse-overlayfs driver");
  if (opt_bool(d, "stdin", "devenv.stdin", &s->stdin_open, err) < 0) return -1;
  if (opt_string(d, "logPath", "devenv.logPath", &s->log_path, err) < 0) return -1;
  if (s->log_path && s->log_path[0] != '/') return bad(err, "devenv.logPath", "must be an absolute path");
  if (opt_bool(d, "autoRemove", "devenv.autoRemove", &s->auto_remove, err) < 0) return -1;
  if (opt_string(d, "seccompCache", "devenv.seccompCache", &s->seccomp_cache, err) < 0) return -1;
  if (s->seccomp_cache && s->seccomp_cache[0] != '/') return bad(err, "devenv.seccompCache", "must be an absolute path");
  if (dv_net_parse(json_object_get(d, "network"), &s->net, err) < 0) return -1;
  if (s->net.mode == DV_NET_PRIVATE && (!s->ns[DV_NS_NET] || s->ns_path[DV_NS_NET]))
    return bad(err, "devenv.network.mode", "private needs a new network namespace in linux.namespaces");
  return 0;
}

int dv_spec_load(const char *bundle, bool with_process, struct dv_spec *s, struct dv_error *err) {
  memset(s, 0, sizeof(*s));
  char real[PATH_MAX];
  if (realpath(bundle, real) == NULL) return dv_fail(err, errno, "realpath", bundle, "open the bundle %s", bundle);
  char path[PATH_MAX + 16];
  snprintf(path, sizeof(path), "%s/config.json", real);
  json_error_t jerr;
  s->json = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
  if (s->json == NULL) {
    int e = errno;
    FILE *f = fopen(path, "r");
    if (f == NULL) return dv_fail(err, errno ? errno : e, "open", path, "read %s", path);
    fclose(f);
    return dv_fail(err, EINVAL, NULL, path, "invalid config.json: line %d column %d: %s", jerr.line, jerr.column,
                   jerr.text);
  }
  if (!json_is_object(s->json)) return bad(err, "(document)", "must be an object");
  /* Keep the bundle path inside the JSON document so it lives as long as every other string. */
  json_object_set_new(s->json, "\x01bundle", json_string(real));
  s->bundle = json_string_value(json_object_get(s->json, "\x01bundle"));

  json_t *lx;
  if (opt_object(s->json, "linux", "linux", &lx, err) < 0) return -1;
  if (parse_idmaps(lx, "uidMappings", &s->uid_maps, &s->n_uid_maps, err) < 0) return -1;
  if (parse_idmaps(lx, "gidMappings", &s->gid_maps, &s->n_gid_maps, err) < 0) return -1;
  if (parse_namespaces(lx, s, err) < 0) return -1;
  if (parse_devenv(s->json, s, err) < 0) return -1;
  if (!with_process) return 0;

  if (dv_process_from_json(json_object_get(s->json, "process"), &s->process, err) < 0) return -1;
  if (dv_ports_parse(json_object_get(json_object_get(s->json, "devenv"), "ports"), &s->ports, err) < 0) return -1;
  json_t *root;
  if (opt_object(s->json, "root", "root", &root, err) < 0) return -1;
  if (root == NULL) return bad(err, "root", "is required");
  const char *rp;
  if (opt_string(root, "path", "root.path", &rp, err) < 0) return -1;
  if (rp == NULL || rp[0] == '\0') return bad(err, "root.path", "is required");
  if (rp[0] != '/') {
    char abs[PATH_MAX * 2];
    snprintf(abs, sizeof(abs), "%s/%s", s->bundle, rp);
    json_object_set_new(s->json, "\x01root", json_string(abs));
    rp = json_string_value(json_object_get(s->json, "\x01root"));
  }
  s->root_path = rp;
  if (opt_bool(root, "readonly", "root.readonly", &s->root_readonly, err) < 0) return -1;
  if (opt_string(s->json, "hostname", "hostname", &s->hostname, err) < 0) return -1;
  if (parse_mounts(s->json, s, err) < 0) return -1;
  if (opt_strv(lx, "maskedPaths", "linux.maskedPaths", true, &s->masked_paths, &s->n_masked_paths, err) < 0)
    return -1;
  if (opt_strv(lx, "readonlyPaths", "linux.readonlyPaths", true, &s->readonly_paths, &s->n_readonly_paths,
               err) < 0)
    return -1;
  if (dv_seccomp_from_json_cached(lx ? json_object_get(lx, "seccomp") : NULL, s->seccomp_cache, &s->seccomp, err) < 0)
    return -1;
  /* Compiled: the profile's JSON (hundreds of strings) is no longer needed by a process that may idle for days. */
  if (lx) json_object_del(lx, "seccomp");

  if (s->ns[DV_NS_USER] && (s->n_uid_maps == 0 || s->n_gid_maps == 0))
    return bad(err, "linux.uidMappings/gidMappings", "are required with a user namespace");
  if (s->rootless && !s->ns[DV_NS_USER]) return bad(err, "devenv.rootless", "needs a user namespace");
  if (!s->ns[DV_NS_MOUNT]) return bad(err, "linux.namespaces", "must include a mount namespace");
  if (s->hostname && s->hostname[0] && !s->ns[DV_NS_UTS])
    return bad(err, "hostname", "needs a uts namespace");
  return 0;
}

void dv_spec_free(struct dv_spec *s) {
  if (s->json) json_decref(s->json);
  s->json = NULL;
}
