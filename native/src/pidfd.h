/* pidfd_open(2) and pidfd_send_signal(2) for the addon, in plain C so they are testable without Node. */
#ifndef DV_PIDFD_H
#define DV_PIDFD_H

#ifdef __cplusplus
extern "C" {
#endif

/* A close-on-exec pidfd for pid, or -1 with errno set. */
int dv_pidfd_open(int pid);
/* Send sig to the process behind pidfd (0 only checks that it is alive). 0, or -1 with errno set. */
int dv_pidfd_send_signal(int pidfd, int sig);

#ifdef __cplusplus
}
#endif

#endif
