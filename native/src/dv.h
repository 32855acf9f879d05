/* Shared declarations of the devenv-runtime executable (see docs/runtime-contract.md). */
#ifndef DV_H
#define DV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* ---- errors (errors.c) -------------------------------------------------
 * An errno-shaped error: the failing syscall, the path it acted on, and the
 * exit code the runtime should use (125 runtime failure, 126 cannot execute,
 * 127 command not found). */
struct dv_error {
  int errnum;            /* errno value, 0 when not an errno failure */
  int exit_code;         /* 125, 126 or 127 */
  char syscall[32];
  char path[4096];
  char message[1024];
};

/* Fill *err (errno from errnum, syscall, path may be NULL, printf-style message). Returns -1. */
int dv_fail(struct dv_error *err, int errnum, const char *syscall, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Write {"type":"error",...} as one JSON line to fd (ignores fd < 0). */
void dv_write_error(int fd, const struct dv_error *err);
/* Write {"type":"warning","message":...} as one JSON line to fd (and to stderr when fd < 0). */
void dv_write_warning(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Write a whole buffer, retrying on EINTR/short writes. */
int dv_write_all(int fd, const void *buf, size_t len);
/* errno number -> "EPERM"-style name ("E<number>" when unknown). */
const char *dv_errno_name(int errnum);

/* ---- re-exec from a sealed memfd (memfd-exec.c) ------------------------ */
/* If not already running from a sealed memfd copy, copy /proc/self/exe into one and fexecve it
 * with the same argv/envp. Returns only on failure (-1, with *err filled) or when already sealed (0). */
int dv_ensure_sealed_self(int argc, char **argv, char **envp, struct dv_error *err);

/* ---- process (process.c, caps.c, seccomp.c) --------------------------- */
struct dv_rlimit { int resource; uint64_t soft, hard; };

struct dv_process {
  bool terminal;
  uint32_t uid, gid;
  uint32_t *additional_gids; size_t n_additional_gids;
  char **args;               /* NULL-terminated */
  char **env;                /* NULL-terminated, "K=V" */
  char *cwd;
  uint64_t cap_bounding, cap_effective, cap_inheritable, cap_permitted, cap_ambient; /* bit masks of CAP_* numbers */
  bool no_new_privileges;
  struct dv_rlimit *rlimits; size_t n_rlimits;
  unsigned short rows, cols; /* consoleSize, 0 when absent */
};

struct dv_seccomp; /* opaque: a parsed OCI seccomp profile */

/* Parse an OCI "process" object. Returns 0 or -1 with *err. */
int dv_process_from_json(json_t *obj, struct dv_process *out, struct dv_error *err);
/* Parse an OCI "linux.seccomp" object (NULL obj -> *out = NULL, no filter). */
int dv_seccomp_from_json(json_t *obj, struct dv_seccomp **out, struct dv_error *err);
/* Parse a "CAP_SYS_ADMIN"-style name into its number; -1 when unknown. */
int dv_cap_from_name(const char *name);

/* Final steps in the container, in the calling process (already in all namespaces, after pivot_root):
 * rlimits (clamped with a warning on err_fd when raising is refused), setgroups/setgid/setuid keeping
 * capabilities, capabilities (bounding, then the sets, then ambient), no_new_privs, cwd, close/cloexec every
 * fd >= 3, seccomp, then execve of args[0] looked up through the PATH in p->env.
 * err_fd is a CLOEXEC pipe to the supervisor. Never returns: on failure it writes the error to err_fd and
 * _exit()s with err.exit_code. */
void dv_process_exec(const struct dv_process *p, const struct dv_seccomp *sc, int err_fd)
    __attribute__((noreturn));

/* ---- seccomp loading (seccomp.c; added with process.c) ----------------
 * Load a profile parsed by dv_seccomp_from_json into the calling process (NULL sc: nothing to do). Loading
 * never sets no_new_privs by itself: without it the caller needs CAP_SYS_ADMIN in its user namespace.
 * Returns 0 or -1 with *err. */
int dv_seccomp_apply(const struct dv_seccomp *sc, struct dv_error *err);
/* As dv_seccomp_from_json, but reuse the compiled program kept in cache_path when it was compiled from the
 * same profile text (and write it there otherwise, best effort). Compiling a Docker-style profile takes
 * ~13 ms; exec passes "<bundle>/seccomp.bpf". */
int dv_seccomp_from_json_cached(json_t *obj, const char *cache_path, struct dv_seccomp **out,
                                struct dv_error *err);
/* Free a parsed profile (NULL is fine). */
void dv_seccomp_free(struct dv_seccomp *sc);

/* ---- pty (pty.c) ------------------------------------------------------- */
/* Open a new pty pair from the /dev/ptmx visible in the current mount namespace (the container's devpts once
 * inside it). Both fds are O_CLOEXEC. Returns 0 or -1 with *err. */
int dv_pty_open(int *master, int *slave, struct dv_error *err);
/* Put a terminal fd in raw mode, saving the old settings. Returns 0 or -1 (not a tty). */
int dv_tty_make_raw(int fd, void *saved_termios /* struct termios* */);
void dv_tty_restore(int fd, const void *saved_termios);
/* Copy the window size of from_fd to to_fd (TIOCGWINSZ/TIOCSWINSZ). */
void dv_tty_copy_winsize(int from_fd, int to_fd);
/* Send / receive one fd over a unix socket (SCM_RIGHTS). */
int dv_send_fd(int sock, int fd);
int dv_recv_fd(int sock);

/* ---- idle processes (idle-memory.c) ----------------------------------- */
/* Return freed heap and the setup's stack pages to the kernel before a process idles (monitor, init). */
void dv_release_idle_memory(void);

/* ---- commands ---------------------------------------------------------- */
int dv_cmd_run(int argc, char **argv);         /* monitor.c */
int dv_cmd_exec(int argc, char **argv);        /* exec.c */
int dv_cmd_remove_tree(int argc, char **argv); /* remove-tree.c */

#endif
