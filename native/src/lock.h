/* flock(2) for the addon, in plain C so it is testable without Node. */
#ifndef DV_LOCK_H
#define DV_LOCK_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Lock (exclusive or shared) the file open on fd, retrying on EINTR.
 * Returns 1 when locked, 0 when non_blocking and someone else holds a conflicting lock,
 * -1 with errno set on failure. */
int dv_flock(int fd, bool exclusive, bool non_blocking);

#ifdef __cplusplus
}
#endif

#endif
