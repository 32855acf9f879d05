/* lgetxattr(2)/llistxattr(2) for the addon, in plain C so it is testable without Node. */
#ifndef DV_XATTR_H
#define DV_XATTR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Read extended attribute `name` of `path` without following a symlink into a malloc'ed buffer (*out, *len;
 * free it). Returns 1 when read, 0 when the file has no such attribute (ENODATA) or the file system keeps none
 * (ENOTSUP), -1 with errno set on any other failure. */
int dv_get_xattr(const char *path, const char *name, char **out, size_t *len);

/* The names of `path`'s extended attributes (not following a symlink): a malloc'ed list of NUL-terminated names
 * (*out, *len bytes; free it). Returns 0 (an empty list when ENOTSUP), -1 with errno set on failure. */
int dv_list_xattrs(const char *path, char **out, size_t *len);

#ifdef __cplusplus
}
#endif

#endif
