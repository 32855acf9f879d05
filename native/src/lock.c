#include "lock.h"

#include <errno.h>
#include <sys/file.h>

int dv_flock(int fd, bool exclusive, bool non_blocking) {
  int op = (exclusive ? LOCK_EX : LOCK_SH) | (non_blocking ? LOCK_NB : 0);
  for (;;) {
    if (flock(fd, op) == 0) return 1;
    if (errno == EINTR) continue;
    if (non_blocking && errno == EWOULDBLOCK) return 0;
    return -1;
  }
}
