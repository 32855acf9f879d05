/* Errno-shaped errors and the JSON lines the runtime reports on its sync fd. */
#include "dv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int dv_write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

int dv_fail(struct dv_error *err, int errnum, const char *syscall, const char *path, const char *fmt, ...) {
  memset(err, 0, sizeof(*err));
  err->errnum = errnum;
  err->exit_code = 125;
  if (syscall) snprintf(err->syscall, sizeof(err->syscall), "%s", syscall);
  if (path) snprintf(err->path, sizeof(err->path), "%s", path);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof(err->message), fmt, ap);
  va_end(ap);
  if (errnum != 0) {
    size_t used = strlen(err->message);
    snprintf(err->message + used, sizeof(err->message) - used, ": %s", strerror(errnum));
  }
  return -1;
}

static void write_json_line(int fd, json_t *obj) {
  char *text = json_dumps(obj, JSON_COMPACT);
  if (text) {
    dv_write_all(fd, text, strlen(text));
    dv_write_all(fd, "\n", 1);
    free(text);
  }
}

void dv_write_error(int fd, const struct dv_error *err) {
  if (fd < 0) {
    fprintf(stderr, "devenv-runtime: %s\n", err->message);
    return;
  }
  json_t *obj = json_object();
  json_object_set_new(obj, "type", json_string("error"));
  json_object_set_new(obj, "code", json_string(err->errnum ? dv_errno_name(err->errnum) : "EINVAL"));
  json_object_set_new(obj, "errno", json_integer(err->errnum));
  if (err->syscall[0]) json_object_set_new(obj, "syscall", json_string(err->syscall));
  if (err->path[0]) json_object_set_new(obj, "path", json_string(err->path));
  json_object_set_new(obj, "message", json_string(err->message));
  json_object_set_new(obj, "exitCode", json_integer(err->exit_code));
  write_json_line(fd, obj);
  json_decref(obj);
}

void dv_write_warning(int fd, const char *fmt, ...) {
  char message[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof(message), fmt, ap);
  va_end(ap);
  if (fd < 0) {
    fprintf(stderr, "devenv-runtime: warning: %s\n", message);
    return;
  }
  json_t *obj = json_object();
  json_object_set_new(obj, "type", json_string("warning"));
  json_object_set_new(obj, "message", json_string(message));
  write_json_line(fd, obj);
  json_decref(obj);
}

const char *dv_errno_name(int errnum) {
  switch (errnum) {
#define E(x) case x: return #x;
    E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(E2BIG) E(ENOEXEC) E(EBADF) E(ECHILD)
    E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT) E(EBUSY) E(EEXIST) E(EXDEV) E(ENODEV) E(ENOTDIR)
    E(EISDIR) E(EINVAL) E(ENFILE) E(EMFILE) E(ENOTTY) E(ETXTBSY) E(EFBIG) E(ENOSPC) E(ESPIPE)
    E(EROFS) E(EMLINK) E(EPIPE) E(ERANGE) E(ENAMETOOLONG) E(ENOSYS) E(ENOTEMPTY) E(ELOOP)
    E(EOVERFLOW) E(EOPNOTSUPP) E(ECONNREFUSED) E(EADDRINUSE) E(ETIMEDOUT)
#undef E
    default: {
      static char buf[24];
      snprintf(buf, sizeof(buf), "E%d", errnum);
      return buf;
    }
  }
}
