/* ctr.log in the CRI log format (`<RFC3339Nano> <stdout|stderr> <F|P> <text>\n`, P = the line continues in
 * the next entry) and the timestamps of state.json / exit.json. */
#include "spec.h"

#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static void rfc3339nano(char *out, size_t len) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + n, len - n, ".%09ldZ", ts.tv_nsec);
}

void dv_iso_now(char *out, size_t len) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

void dv_log_write(int fd, const char *stream, const char *buf, size_t len) {
  if (fd < 0 || len == 0) return;
  char ts[48];
  rfc3339nano(ts, sizeof(ts));
  /* One writev per batch of lines: prefix, text, newline for each. */
  enum { BATCH = 64 };
  struct iovec iov[BATCH * 3];
  int used = 0;
  char prefix_f[96], prefix_p[96];
  int lf = snprintf(prefix_f, sizeof(prefix_f), "%s %s F ", ts, stream);
  int lp = snprintf(prefix_p, sizeof(prefix_p), "%s %s P ", ts, stream);
  static char nl = '\n';
  size_t pos = 0;
  while (pos < len) {
    const char *start = buf + pos;
    const char *end = memchr(start, '\n', len - pos);
    size_t text_len = end ? (size_t)(end - start) : len - pos;
    iov[used++] = (struct iovec){end ? prefix_f : prefix_p, (size_t)(end ? lf : lp)};
    iov[used++] = (struct iovec){(void *)start, text_len};
    iov[used++] = (struct iovec){&nl, 1};
    pos += text_len + (end ? 1 : 0);
    if (used == BATCH * 3 || pos >= len) {
      /* Retry short writes by flattening what is left of this batch. */
      size_t total = 0;
      for (int i = 0; i < used; i++) total += iov[i].iov_len;
      ssize_t w = writev(fd, iov, used);
      if (w >= 0 && (size_t)w < total) {
        size_t skip = (size_t)w;
        for (int i = 0; i < used; i++) {
          if (skip >= iov[i].iov_len) {
            skip -= iov[i].iov_len;
            continue;
          }
          dv_write_all(fd, (const char *)iov[i].iov_base + skip, iov[i].iov_len - skip);
          skip = 0;
        }
      }
      used = 0;
    }
  }
}
