/* devenv-runtime: the single-threaded native runtime (docs/runtime-contract.md). */
#include "spec.h"
#include "unpack.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int sync_fd_of(int argc, char **argv) {
  for (int i = 1; i + 1 < argc; i++)
    if (strcmp(argv[i], "--sync-fd") == 0) return atoi(argv[i + 1]);
  return -1;
}

int main(int argc, char **argv, char **envp) {
  if (argc < 2) {
    fprintf(stderr, "usage: devenv-runtime run|exec|remove-tree|unpack ...\n");
    return 125;
  }
  /* A closed 0/1/2 would be reused by the first fds we open (a log, a pipe) and mix them up with stdio. */
  for (int fd = 0; fd < 3; fd++)
    if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd) return 125;
  struct dv_error err;
  if (dv_ensure_sealed_self(argc, argv, envp, &err) < 0) {
    int fd = sync_fd_of(argc, argv);
    bool json_stderr = strcmp(argv[1], "remove-tree") == 0 || strcmp(argv[1], "unpack") == 0;
    dv_write_error(fd >= 0 ? fd : (json_stderr ? 2 : -1), &err);
    return strcmp(argv[1], "remove-tree") == 0 ? 1 : 125;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "run") == 0) return dv_cmd_run(argc - 1, argv + 1);
  if (strcmp(cmd, "exec") == 0) return dv_cmd_exec(argc - 1, argv + 1);
  if (strcmp(cmd, "remove-tree") == 0) return dv_cmd_remove_tree(argc - 1, argv + 1);
  if (strcmp(cmd, "unpack") == 0) return dv_cmd_unpack(argc - 1, argv + 1);
  if (strcmp(cmd, "_setup") == 0) return dv_cmd_setup(argc, argv);
  fprintf(stderr, "devenv-runtime: unknown command %s (run, exec, remove-tree, unpack)\n", cmd);
  return 125;
}
