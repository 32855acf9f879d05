/* posix_spawn-based start of the runtime with a sync pipe on fd 3 (see spawn.h). */
#define _GNU_SOURCE
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

pid_t dv_spawn_with_sync(const char *file, char *const argv[], int inherit_stdio, int *sync_fd) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return -1;
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  /* The child starts with default signal dispositions and an empty mask, whatever Node set up. */
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  if (inherit_stdio) {
    /* Node marks its own stdio close-on-exec; dup2(fd, fd) in a file action clears the flag (glibc >= 2.29). */
    for (int fd = 0; fd <= 2; fd++) posix_spawn_file_actions_adddup2(&fa, fd, fd);
  } else {
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  }
  /* dup2 clears close-on-exec on fd 3 in the child only. */
  posix_spawn_file_actions_adddup2(&fa, p[1], 3);
  pid_t pid;
  int rc = posix_spawn(&pid, file, &fa, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(p[1]);
  if (rc != 0) {
    close(p[0]);
    errno = rc;
    return -1;
  }
  *sync_fd = p[0];
  return pid;
}

int dv_wait_exit(pid_t pid, int *code) {
  int status;
  for (;;) {
    if (waitpid(pid, &status, 0) >= 0) break;
    if (errno != EINTR) return -1;
  }
  *code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return 0;
}
