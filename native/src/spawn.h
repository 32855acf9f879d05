/* Start a helper process without Node's child_process (used on devenv's hot paths). Plain C, no Node. */
#ifndef DV_SPAWN_H
#define DV_SPAWN_H

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Start `file` with NULL-terminated argv. The child gets stdio 0-2 as ours (inherit) or /dev/null, and the
 * write end of a new pipe as fd 3; *sync_fd receives the close-on-exec read end. Returns the pid, or -1
 * with errno set. */
pid_t dv_spawn_with_sync(const char *file, char *const argv[], int inherit_stdio, int *sync_fd);

/* waitpid(pid) retrying EINTR; returns 0 and *code (exit code, or 128+signal), or -1 with errno. */
int dv_wait_exit(pid_t pid, int *code);

#ifdef __cplusplus
}
#endif
#endif
