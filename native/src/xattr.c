#include "xattr.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/xattr.h>

/* Size, allocate, read; retried when the attribute grows between the two calls (ERANGE). */
int dv_get_xattr(const char *path, const char *name, char **out, size_t *len) {
  *out = NULL;
  *len = 0;
  for (int attempt = 0; attempt < 8; attempt++) {
    ssize_t size = lgetxattr(path, name, NULL, 0);
    if (size < 0) return errno == ENODATA || errno == ENOTSUP ? 0 : -1;
    char *buf = malloc(size > 0 ? (size_t)size : 1);
    if (buf == NULL) return -1;
    ssize_t got = lgetxattr(path, name, buf, (size_t)size);
    if (got >= 0) {
      *out = buf;
      *len = (size_t)got;
      return 1;
    }
    int e = errno;
    free(buf);
    if (e == ENODATA || e == ENOTSUP) return 0;
    if (e != ERANGE) {
      errno = e;
      return -1;
    }
  }
  errno = ERANGE;
  return -1;
}

int dv_list_xattrs(const char *path, char **out, size_t *len) {
  *out = NULL;
  *len = 0;
  for (int attempt = 0; attempt < 8; attempt++) {
    ssize_t size = llistxattr(path, NULL, 0);
    if (size < 0) return errno == ENOTSUP ? 0 : -1;
    if (size == 0) return 0;
    char *buf = malloc((size_t)size);
    if (buf == NULL) return -1;
    ssize_t got = llistxattr(path, buf, (size_t)size);
    if (got >= 0) {
      *out = buf;
      *len = (size_t)got;
      return 0;
    }
    int e = errno;
    free(buf);
    if (e == ENOTSUP) return 0;
    if (e != ERANGE) {
      errno = e;
      return -1;
    }
  }
  errno = ERANGE;
  return -1;
}
