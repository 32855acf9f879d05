/* Re-execute the runtime from a sealed memfd copy of itself, so that no process in a container can ever write
 * the runtime's binary through /proc/<pid>/exe (CVE-2019-5736). The copy is sealed against every write and
 * resize, so the check "am I already sealed?" is simply F_GET_SEALS on our own executable. */
#include "dv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

#define WANTED_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

int dv_ensure_sealed_self(int argc, char **argv, char **envp, struct dv_error *err) {
  (void)argc;
  int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (self < 0) return dv_fail(err, errno, "open", "/proc/self/exe", "open the runtime's own executable");
  int seals = fcntl(self, F_GET_SEALS);
  if (seals >= 0 && (seals & WANTED_SEALS) == WANTED_SEALS) {
    close(self);
    return 0;
  }
  struct stat st;
  if (fstat(self, &st) < 0) {
    int e = errno;
    close(self);
    return dv_fail(err, e, "fstat", "/proc/self/exe", "stat the runtime's own executable");
  }
  int mfd = memfd_create("devenv-runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (mfd < 0 && errno == EINVAL) mfd = memfd_create("devenv-runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (mfd < 0) {
    int e = errno;
    close(self);
    return dv_fail(err, e, "memfd_create", NULL, "create a memfd for the runtime's sealed copy");
  }
  off_t left = st.st_size;
  while (left > 0) {
    ssize_t n = sendfile(mfd, self, NULL, (size_t)left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = n < 0 ? errno : EIO;
      close(self);
      close(mfd);
      return dv_fail(err, e, "sendfile", "/proc/self/exe", "copy the runtime into a memfd");
    }
    left -= n;
  }
  close(self);
  if (fcntl(mfd, F_ADD_SEALS, WANTED_SEALS) < 0) {
    int e = errno;
    close(mfd);
    return dv_fail(err, e, "fcntl", NULL, "seal the runtime's memfd copy");
  }
  syscall(SYS_execveat, mfd, "", argv, envp, AT_EMPTY_PATH);
  int e = errno;
  close(mfd);
  return dv_fail(err, e, "execveat", NULL, "re-execute the runtime from its sealed memfd copy");
}
