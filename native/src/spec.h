/* The parsed bundle (config.json) and the internal interfaces between the files that implement
 * `devenv-runtime run` and `remove-tree`: monitor.c, container.c, mounts.c, init.c, idmap.c, cgroup.c, log.c,
 * remove-tree.c. Nothing here is used by the addon. */
#ifndef DV_SPEC_H
#define DV_SPEC_H

#include "dv.h"
#include "network.h"

#include <sys/types.h>

/* ---- config.json (spec.c) --------------------------------------------- */

struct dv_mount {
  const char *destination; /* absolute path inside the container */
  const char *type;        /* "bind", "proc", "tmpfs", ... ("bind" when the options say bind/rbind) */
  const char *source;      /* may be NULL */
  const char **options;    /* NULL-terminated */
  size_t n_options;
};

struct dv_idmap {
  uint32_t container_id, host_id, size;
};

struct dv_ports_spec;

enum dv_ns_kind { DV_NS_USER, DV_NS_MOUNT, DV_NS_PID, DV_NS_UTS, DV_NS_IPC, DV_NS_NET, DV_NS_CGROUP, DV_NS_COUNT };

struct dv_spec {
  json_t *json;       /* owns every const char * below */
  const char *bundle; /* absolute path of the bundle directory */

  struct dv_process process;
  struct dv_seccomp *seccomp;

  const char *root_path;
  bool root_readonly;
  const char *hostname; /* NULL: leave it */

  struct dv_mount *mounts;
  size_t n_mounts;

  bool ns[DV_NS_COUNT];             /* namespace listed */
  const char *ns_path[DV_NS_COUNT]; /* join this one instead of creating it (uts, ipc, network, cgroup) */

  struct dv_idmap *uid_maps, *gid_maps;
  size_t n_uid_maps, n_gid_maps;

  const char **masked_paths;
  size_t n_masked_paths;
  const char **readonly_paths;
  size_t n_readonly_paths;

  /* the "devenv" extension object */
  const char *rootfs_driver; /* "overlay", "fuse-overlayfs", "bind"; NULL: root.path is the rootfs itself */
  const char **lowerdirs;    /* top-most first, NULL-terminated */
  size_t n_lowerdirs;
  const char *upperdir, *workdir; /* NULL for a read-only overlay */
  const char **cgroups;
  size_t n_cgroups;
  int cgroup_version;
  bool rootless;
  const char *newuidmap, *newgidmap;
  const char *fuse_overlayfs; /* NULL: no fallback */
  bool stdin_open;
  const char *log_path;
  bool auto_remove;
  const char *seccomp_cache; /* devenv.seccompCache: where the compiled filter is kept (may be NULL) */
  struct dv_ports_spec *ports; /* devenv.ports (forward.h); NULL when absent */
  struct dv_net_spec net;      /* devenv.network (network.h): the egress helper of a private network */
};

/* Load DIR/config.json. with_process false: only what remove-tree needs (mappings and tools), so a bundle
 * with a broken process object can still be removed. Returns 0 or -1 with *err naming the bad field. */
int dv_spec_load(const char *bundle, bool with_process, struct dv_spec *out, struct dv_error *err);
void dv_spec_free(struct dv_spec *s);

/* ---- id maps (idmap.c) ------------------------------------------------- */
/* Give the process pid (just created in a new user namespace) the spec's uid/gid maps: newuidmap/newgidmap
 * when rootless, /proc/PID/{uid,gid}_map otherwise. */
int dv_idmap_apply(pid_t pid, const struct dv_spec *s, struct dv_error *err);

/* ---- cgroups (cgroup.c) ------------------------------------------------ */
int dv_cgroup_join(const struct dv_spec *s, pid_t pid, struct dv_error *err);
/* true when any of the cgroup dirs counted an OOM kill */
bool dv_cgroup_oom_killed(const struct dv_spec *s);
/* rmdir every cgroup dir, retrying for up to about two seconds while tasks drain. */
void dv_cgroup_remove(const struct dv_spec *s);

/* ---- log (log.c) ------------------------------------------------------- */
/* Append CRI log lines `<RFC3339Nano> <stream> <F|P> <text>\n` for buf to fd. */
void dv_log_write(int fd, const char *stream, const char *buf, size_t len);
/* "2006-01-02T15:04:05.000Z" (UTC, milliseconds), for state.json and exit.json. */
void dv_iso_now(char *out, size_t len);

/* ---- remove-tree (remove-tree.c) --------------------------------------- */
/* Remove paths (each inside s->bundle, or the bundle itself), through a user namespace with the bundle's
 * mappings when rootless. Returns 0 or -1 with *err. */
int dv_remove_paths(const struct dv_spec *s, const char *const *paths, size_t n, struct dv_error *err);
/* Remove the entry name of the directory fd parent, recursively, never following a symlink (ENOENT is not an
 * error). shown names it in messages. Used by the unpacker for entries a later one replaces. */
int dv_remove_at(int parent, const char *name, const char *shown, struct dv_error *err);

/* In a forked child: unshare a user namespace, tell the parent (write 'r' on ready_w) so it writes the id maps,
 * wait for its 'g' on go_r, then become root there. `purpose` completes "… to <purpose>" in errors.
 * Returns 0, or -1 with *err. (idmap.c; used by remove-tree and unpack.) */
int dv_userns_child_enter(int ready_w, int go_r, const char *purpose, struct dv_error *err);
/* The parent's half: wait for the child's 'r' on ready_r, write its id maps, answer 'g' on go_w; closes both fds.
 * Returns 0, or -1 with *err. */
int dv_userns_parent_map(pid_t pid, const struct dv_spec *s, int ready_r, int go_w, const char *what, struct dv_error *err);

/* ---- monitor <-> container protocol (container.c, monitor.c, init.c) ---
 * One message per SOCK_SEQPACKET record. Fds travel as a separate record sent with dv_send_fd right after
 * the message announcing them. */
enum dv_msg_type {
  DV_MSG_GO = 1,      /* monitor -> child: id maps written, cgroups joined; continue */
  DV_MSG_WARNING,     /* child -> monitor: text in err.message */
  DV_MSG_ERROR,       /* child -> monitor: err; the child exits */
  DV_MSG_FUSE,        /* child -> monitor: serve my FUSE rootfs (user namespace and /dev/fuse fds follow) */
  DV_MSG_FUSE_DONE,   /* monitor -> child: value 0, or -1 with err */
  DV_MSG_PTY,         /* child -> monitor: the pty master follows */
  DV_MSG_STARTED,     /* child -> monitor: the command's execve succeeded */
  DV_MSG_STATUS,      /* init -> monitor: value is the command's wait status; init exits next */
};

struct dv_msg {
  uint32_t type;
  int32_t value;
  struct dv_error err;
};

int dv_msg_send(int sock, uint32_t type, int32_t value, const struct dv_error *err);
/* Returns 1 with *m, 0 on EOF, -1 on error. */
int dv_msg_recv(int sock, struct dv_msg *m);
void dv_msg_warn(int sock, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- container side (container.c, mounts.c, init.c) --------------------- */
/* fd numbers in the clone child */
#define DV_CHILD_SOCK_FD 3
#define DV_CHILD_EXE_FD 4
#define DV_CHILD_ROOTFS_FD 5

/* The clone child: waits for GO, then sets the container up and becomes its init. Never returns.
 * premade_rootfs: see dv_mounts_setup. */
void dv_container_child(struct dv_spec *s, int premade_rootfs) __attribute__((noreturn));
/* `devenv-runtime _setup BUNDLE`: the same, re-executed inside the user namespace (rootless), after GO. */
int dv_cmd_setup(int argc, char **argv);

/* mounts.c: a detached mount of the rootfs (overlay, bind, or root.path itself), made by the monitor as root
 * (so overlayfs acts with the host's credentials) or by the container when rootless. Returns the mount fd, or
 * -1 with *err; *want_fuse tells that fuse-overlayfs should be tried instead. */
int dv_rootfs_create(const struct dv_spec *s, bool *want_fuse, struct dv_error *err);
/* mounts.c: everything from the rootfs mount to root.readonly. premade_rootfs: a dv_rootfs_create fd, -1 to
 * create it here, -2 to go straight to fuse-overlayfs. sock: for warnings and the fuse request. */
int dv_mounts_setup(const struct dv_spec *s, int premade_rootfs, int sock, struct dv_error *err);

/* init.c: PID 1 after the command child was forked. Never returns. */
void dv_init_run(pid_t child, int err_pipe, int sock) __attribute__((noreturn));

/* monitor.c: serve the container's FUSE rootfs mount (fuse_fd: its /dev/fuse fd) with fuse-overlayfs run in
 * the container's user namespace (userns_fd). */
int dv_fuse_mount(const struct dv_spec *s, int userns_fd, int fuse_fd, struct dv_error *err);

/* ---- helpers ------------------------------------------------------------ */
/* Run argv (absolute path) and wait; collects its stderr into msg. Returns the wait status or -1. */
int dv_run_helper(char *const argv[], char *msg, size_t msg_len, struct dv_error *err);
/* field 22 of /proc/PID/stat, "" when unreadable */
void dv_proc_start_time(pid_t pid, char *out, size_t len);

#endif
