/* What the tiny init (tiny-init.c, built with musl) and the runtime agree on. Plain C, no other headers. */
#ifndef DV_INIT_PROTOCOL_H
#define DV_INIT_PROTOCOL_H

/* The init reports the command's wait status to the monitor as one SOCK_SEQPACKET record of this size: a
 * struct dv_msg (spec.h) with type DV_MSG_STATUS and value = the status, the rest zero. */
#define DV_INIT_MSG_SIZE 5168
#define DV_INIT_MSG_STATUS 8
/* fd of the monitor's socket in the tiny init */
#define DV_INIT_SOCK_FD 3

#endif
