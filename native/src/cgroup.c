/* The cgroup directories Node created for the container (devenv.cgroups): join, OOM count, removal.
 * Nothing outside those directories is ever written or removed. */
#include "spec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int dv_cgroup_join(const struct dv_spec *s, pid_t pid, struct dv_error *err) {
  char path[4200], text[24];
  int len = snprintf(text, sizeof(text), "%d\n", (int)pid);
  for (size_t i = 0; i < s->n_cgroups; i++) {
    snprintf(path, sizeof(path), "%s/cgroup.procs", s->cgroups[i]);
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return dv_fail(err, errno, "open", path, "join the cgroup %s", s->cgroups[i]);
    ssize_t n = write(fd, text, (size_t)len);
    int e = errno;
    close(fd);
    if (n != len) return dv_fail(err, n < 0 ? e : EIO, "write", path, "join the cgroup %s", s->cgroups[i]);
  }
  return 0;
}

/* The value of "key N" in a flat-keyed cgroup file, or 0. */
static long long read_key(const char *path, const char *key) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[2048];
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  size_t klen = strlen(key);
  for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
    if (strncmp(line, key, klen) == 0 && line[klen] == ' ') return atoll(line + klen + 1);
  }
  return 0;
}

bool dv_cgroup_oom_killed(const struct dv_spec *s) {
  char path[4200];
  for (size_t i = 0; i < s->n_cgroups; i++) {
    /* v1: memory.oom_control of the memory controller's dir; v2: memory.events. Whichever exists. */
    snprintf(path, sizeof(path), "%s/memory.oom_control", s->cgroups[i]);
    if (read_key(path, "oom_kill") > 0) return true;
    snprintf(path, sizeof(path), "%s/memory.events", s->cgroups[i]);
    if (read_key(path, "oom_kill") > 0) return true;
  }
  return false;
}

void dv_cgroup_remove(const struct dv_spec *s) {
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (size_t i = 0; i < s->n_cgroups; i++) {
    for (;;) {
      if (rmdir(s->cgroups[i]) == 0 || errno == ENOENT) break;
      if (errno != EBUSY && errno != EAGAIN && errno != EINTR) break;
      clock_gettime(CLOCK_MONOTONIC, &now);
      long ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
      if (ms > 2000) break;
      struct timespec d = {0, 5 * 1000 * 1000};
      nanosleep(&d, NULL);
    }
  }
}
