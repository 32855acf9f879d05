/* The container's PID 1 once the command runs: forwards signals to it, reaps every zombie, reports the
 * command's wait status to the monitor and exits with it. The runtime execs this from a sealed memfd after
 * setup, so an idle container costs one ~20 kB static process here instead of a copy of the whole runtime
 * (libc, libjansson, libseccomp). Built with musl (`musl-gcc -static -Os`); argv[1] is the command's pid.
 * The runtime has already dropped every capability but CAP_KILL and blocked the signals handled here. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init-protocol.h"

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

static void report(int status) {
  static unsigned char msg[DV_INIT_MSG_SIZE];
  unsigned int type = DV_INIT_MSG_STATUS;
  int value = status;
  memcpy(msg, &type, sizeof(type));
  memcpy(msg + sizeof(type), &value, sizeof(value));
  while (send(DV_INIT_SOCK_FD, msg, sizeof(msg), MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
}

int main(int argc, char **argv) {
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (argc < 2) _exit(125);
  pid_t child = (pid_t)atoi(argv[1]);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++) sigaddset(&set, forwarded[i]);
  sigprocmask(SIG_BLOCK, &set, NULL);

  int status = 0;
  int done = 0;
  /* The command may have ended before we got here: reap first, then wait for signals. */
  for (;;) {
    for (;;) {
      int st;
      pid_t w = waitpid(-1, &st, WNOHANG);
      if (w <= 0) break;
      if (w == child) {
        status = st;
        done = 1;
      }
    }
    if (done) break;
    siginfo_t si;
    int sig = sigwaitinfo(&set, &si);
    if (sig > 0 && sig != SIGCHLD) kill(child, sig);
  }
  report(status);
  /* A pid namespace's init cannot kill itself with a signal: 128+signal is how its status says "killed". */
  _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}
