#define _GNU_SOURCE
#include "pidfd.h"

#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

int dv_pidfd_open(int pid) {
  if (pid <= 0) {
    errno = EINVAL;
    return -1;
  }
  /* pidfds are close-on-exec from birth. */
  return (int)syscall(SYS_pidfd_open, (pid_t)pid, 0U);
}

int dv_pidfd_send_signal(int pidfd, int sig) {
  return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, (siginfo_t *)0, 0U);
}
