/* The uncompressed byte stream of a layer, for libarchive and for its diff_id (docs/images.md, "Native
 * unpacker"). The blob is decompressed here in one pass: gzip with zlib (multi-member streams too), zstd with
 * libzstd's streaming API (concatenated and skippable frames too), plain tar as is; the bytes decide which, not the
 * label. Every uncompressed byte is hashed (SHA-256, OpenSSL EVP) as it is produced, by a thread of its own (so
 * hashing overlaps decompressing and unpacking; inline when no thread can be started), in order, and
 * dv_unpack_source_finish hashes what follows the end of the tar, so the digest covers the whole stream, as a
 * diff_id does. */
#include "unpack.h"

#include <archive.h>
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#define IN_SIZE (256u << 10)  /* compressed bytes per read() */
#define OUT_SIZE (1u << 20)   /* uncompressed bytes per block handed to libarchive */
#define N_OUT 2               /* output blocks: one libarchive reads while the hasher may still hash the other */

enum kind { KIND_NONE, KIND_GZIP, KIND_ZSTD };
static const char *const kind_names[] = {"none", "gzip", "zstd"};

struct dv_unpack_source {
  int fd, warn_fd;
  enum kind kind;
  unsigned char *in, *out; /* out: bufs[cur], the block being produced */
  unsigned char *bufs[N_OUT];
  unsigned cur;
  size_t in_pos, in_len;  /* unread input: in[in_pos, in_len) */
  bool in_eof;            /* read() returned 0 */
  bool done;              /* the whole uncompressed stream was produced */
  bool member_end;        /* gzip: a member ended; another may follow */
  bool z_ready;           /* z needs inflateEnd */
  z_stream z;
  ZSTD_DStream *zs;
  size_t zs_last;         /* the last ZSTD_decompressStream result: 0 at the end of a frame */
  bool zs_flushed;        /* the decoder holds no output: at the end of the input it needs more */
  EVP_MD_CTX *md;
  /* the hashing thread: blocks are posted (len[i] > 0) and hashed in order; len[i] == 0 when bufs[i] is free */
  bool sync_ready, threaded, hash_end, hash_failed;
  pthread_t hasher;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  size_t len[N_OUT];
  unsigned long long size;      /* uncompressed bytes produced */
  unsigned long long trailing;  /* bytes after the last gzip member, ignored */
  int errnum;                   /* the first failure: EIO/ENOMEM (the host) or EINVAL (corrupt input) */
  char errmsg[512];
};

static ssize_t fail(struct dv_unpack_source *s, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static ssize_t fail(struct dv_unpack_source *s, int errnum, const char *fmt, ...) {
  if (s->errnum == 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap);
    va_end(ap);
    s->errnum = errnum;
  }
  return -1;
}

/* Make at least `want` unread input bytes available, unless the blob ends first. */
static int fill(struct dv_unpack_source *s, size_t want) {
  if (s->in_len - s->in_pos >= want || s->in_eof) return 0;
  if (s->in_pos > 0) {
    memmove(s->in, s->in + s->in_pos, s->in_len - s->in_pos);
    s->in_len -= s->in_pos;
    s->in_pos = 0;
  }
  while (s->in_len < want && !s->in_eof) {
    ssize_t n = read(s->fd, s->in + s->in_len, IN_SIZE - s->in_len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return (int)fail(s, errno == ENOMEM ? ENOMEM : EIO, "read the layer blob: %s", strerror(errno));
    if (n == 0) s->in_eof = true;
    s->in_len += (size_t)n;
  }
  return 0;
}

/* After the last gzip member: what follows is not a member. Skip (and count) it to the end of the blob. */
static int skip_trailing(struct dv_unpack_source *s) {
  for (;;) {
    s->trailing += s->in_len - s->in_pos;
    s->in_pos = s->in_len;
    if (s->in_eof) return 0;
    if (fill(s, 1) < 0) return -1;
  }
}

static ssize_t gzip_block(struct dv_unpack_source *s) {
  s->z.next_out = s->out;
  s->z.avail_out = OUT_SIZE;
  while (s->z.avail_out > 0 && !s->done) {
    if (s->member_end) { /* the end of the blob, another member, or bytes that are not gzip */
      if (fill(s, 2) < 0) return -1;
      const unsigned char *p = s->in + s->in_pos;
      size_t avail = s->in_len - s->in_pos;
      if (avail >= 2 && p[0] == 0x1f && p[1] == 0x8b) {
        if (inflateReset(&s->z) != Z_OK) return fail(s, EINVAL, "gzip: %s", s->z.msg ? s->z.msg : "inflateReset failed");
        s->member_end = false;
      } else {
        if (avail > 0 && skip_trailing(s) < 0) return -1;
        s->done = true;
        break;
      }
    }
    if (fill(s, 1) < 0) return -1;
    if (s->in_pos == s->in_len) return fail(s, EINVAL, "the gzip stream is truncated");
    s->z.next_in = s->in + s->in_pos;
    s->z.avail_in = (uInt)(s->in_len - s->in_pos);
    int r = inflate(&s->z, Z_NO_FLUSH);
    s->in_pos = s->in_len - s->z.avail_in;
    if (r == Z_STREAM_END) s->member_end = true;
    else if (r == Z_MEM_ERROR) return fail(s, ENOMEM, "gzip: out of memory");
    else if (r != Z_OK && r != Z_BUF_ERROR) /* Z_BUF_ERROR: all input used, more is read above */
      return fail(s, EINVAL, "gzip: %s", s->z.msg ? s->z.msg : "corrupt data");
  }
  return (ssize_t)(OUT_SIZE - s->z.avail_out);
}

static ssize_t zstd_block(struct dv_unpack_source *s) {
  ZSTD_outBuffer ob = {s->out, OUT_SIZE, 0};
  while (ob.pos < ob.size && !s->done) {
    if (fill(s, 1) < 0) return -1;
    size_t avail = s->in_len - s->in_pos;
    if (avail == 0 && s->zs_flushed) { /* the end of the blob, and the decoder holds nothing */
      if (s->zs_last != 0) return fail(s, EINVAL, "the zstd stream is truncated");
      s->done = true;
      break;
    }
    ZSTD_inBuffer ib = {s->in + s->in_pos, avail, 0};
    size_t r = ZSTD_decompressStream(s->zs, &ob, &ib);
    s->in_pos += ib.pos;
    if (ZSTD_isError(r))
      return fail(s, ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation ? ENOMEM : EINVAL, "zstd: %s",
                  ZSTD_getErrorName(r));
    s->zs_last = r;
    s->zs_flushed = r == 0 || ob.pos < ob.size;
  }
  return (ssize_t)ob.pos;
}

static ssize_t plain_block(struct dv_unpack_source *s) {
  if (s->in_pos < s->in_len) { /* what detection read */
    size_t n = s->in_len - s->in_pos;
    memcpy(s->out, s->in + s->in_pos, n);
    s->in_pos = s->in_len;
    return (ssize_t)n;
  }
  for (;;) {
    ssize_t n = read(s->fd, s->out, OUT_SIZE);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(s, errno == ENOMEM ? ENOMEM : EIO, "read the layer blob: %s", strerror(errno));
    if (n == 0) s->done = true;
    return n;
  }
}

static void *hash_main(void *arg) {
  struct dv_unpack_source *s = arg;
  unsigned j = 0;
  pthread_mutex_lock(&s->mu);
  for (;;) {
    while (s->len[j] == 0 && !s->hash_end) pthread_cond_wait(&s->cv, &s->mu);
    if (s->len[j] == 0) break; /* the end, and every posted block hashed (they are posted in this order) */
    size_t n = s->len[j];
    pthread_mutex_unlock(&s->mu);
    bool ok = EVP_DigestUpdate(s->md, s->bufs[j], n) == 1;
    pthread_mutex_lock(&s->mu);
    if (!ok) s->hash_failed = true;
    s->len[j] = 0;
    pthread_cond_broadcast(&s->cv);
    j = (j + 1) % N_OUT;
  }
  pthread_mutex_unlock(&s->mu);
  return NULL;
}

/* No more blocks: wait until the hasher has hashed the posted ones and is gone. */
static void hash_stop(struct dv_unpack_source *s) {
  if (!s->threaded) return;
  pthread_mutex_lock(&s->mu);
  s->hash_end = true;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
  pthread_join(s->hasher, NULL);
  s->threaded = false;
}

/* The next block of the uncompressed stream in s->out (hashed and counted): its size, 0 at the end, -1. Each call
 * produces into the other buffer: libarchive is done with a block when it asks for the next one. */
static ssize_t next_block(struct dv_unpack_source *s) {
  if (s->errnum) return -1;
  if (s->done) return 0;
  if (s->threaded) { /* wait until the hasher is done with this buffer */
    pthread_mutex_lock(&s->mu);
    while (s->len[s->cur] != 0) pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
  }
  s->out = s->bufs[s->cur];
  ssize_t n = s->kind == KIND_GZIP ? gzip_block(s) : s->kind == KIND_ZSTD ? zstd_block(s) : plain_block(s);
  if (n <= 0) return n;
  s->size += (unsigned long long)n;
  if (s->threaded) {
    pthread_mutex_lock(&s->mu);
    s->len[s->cur] = (size_t)n;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
  } else if (EVP_DigestUpdate(s->md, s->out, (size_t)n) != 1) {
    return fail(s, ENOMEM, "sha256 of the layer failed");
  }
  s->cur = (s->cur + 1) % N_OUT;
  return n;
}

static la_ssize_t read_cb(struct archive *a, void *data, const void **buf) {
  struct dv_unpack_source *s = data;
  ssize_t n = next_block(s);
  if (n < 0) {
    archive_set_error(a, s->errnum, "%s", s->errmsg);
    return -1;
  }
  *buf = s->out;
  return n;
}

int dv_unpack_source_open(int fd, const char *label, bool check_crc, int warn_fd, struct dv_unpack_source **out,
                          struct dv_error *err) {
  struct dv_unpack_source *s = calloc(1, sizeof(*s));
  *out = s;
  if (s == NULL) return dv_fail(err, ENOMEM, NULL, NULL, "out of memory");
  s->fd = fd;
  s->warn_fd = warn_fd;
  s->in = malloc(IN_SIZE);
  for (int i = 0; i < N_OUT; i++) s->bufs[i] = malloc(OUT_SIZE);
  s->out = s->bufs[0];
  s->md = EVP_MD_CTX_new();
  if (!s->in || !s->bufs[0] || !s->bufs[1] || !s->md || EVP_DigestInit_ex(s->md, EVP_sha256(), NULL) != 1)
    return dv_fail(err, ENOMEM, NULL, NULL, "out of memory");
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cv, NULL);
  s->sync_ready = true;
  s->threaded = pthread_create(&s->hasher, NULL, hash_main, s) == 0; /* else hashed inline */
  if (fill(s, 4) < 0) return dv_fail(err, s->errnum, "read", NULL, "read the layer blob");
  /* The bytes decide (as containerd does): a layer labelled gzip that is plain tar still unpacks, with a warning. */
  const unsigned char *p = s->in;
  if (s->in_len >= 2 && p[0] == 0x1f && p[1] == 0x8b) s->kind = KIND_GZIP;
  else if (s->in_len >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd) s->kind = KIND_ZSTD;
  else s->kind = KIND_NONE;
  if (strcmp(label, kind_names[s->kind]) != 0)
    dv_write_warning(warn_fd, "the layer was labelled %s but is %s; unpacking what it is", label, kind_names[s->kind]);
  if (s->kind == KIND_GZIP) {
    int r = inflateInit2(&s->z, 16 + MAX_WBITS); /* zlib parses the gzip header and trailer */
    if (r != Z_OK) return dv_fail(err, r == Z_MEM_ERROR ? ENOMEM : EINVAL, "inflateInit2", NULL, "start gzip");
    s->z_ready = true;
    /* The trailer's CRC-32 and length cost ~10% of the unpack; the sha256 of the same bytes, when checked, says more. */
    if (!check_crc && inflateValidate(&s->z, 0) != Z_OK) return dv_fail(err, EINVAL, "inflateValidate", NULL, "start gzip");
  } else if (s->kind == KIND_ZSTD) {
    s->zs = ZSTD_createDStream();
    if (s->zs == NULL || ZSTD_isError(ZSTD_initDStream(s->zs))) return dv_fail(err, ENOMEM, NULL, NULL, "start zstd");
    s->zs_flushed = true;
  }
  return 0;
}

int dv_unpack_source_attach(struct dv_unpack_source *s, struct archive *a) {
  return archive_read_open(a, s, NULL, read_cb, NULL);
}

int dv_unpack_source_finish(struct dv_unpack_source *s, struct dv_unpack_result *res, struct dv_error *err) {
  ssize_t n;
  while ((n = next_block(s)) > 0) {
  }
  hash_stop(s);
  if (n == 0 && s->hash_failed) n = fail(s, ENOMEM, "sha256 of the layer failed");
  if (n < 0) {
    if (s->errnum == EIO || s->errnum == ENOMEM)
      return dv_fail(err, s->errnum, "read", NULL, "read the layer: %s", s->errmsg);
    return dv_unpack_bad(err, EINVAL, NULL, "the layer is corrupt or truncated after the end of its tar: %s", s->errmsg);
  }
  if (s->trailing)
    dv_write_warning(s->warn_fd, "ignored %llu byte(s) after the end of the layer's gzip stream", s->trailing);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(s->md, md, &len) != 1 || len != 32)
    return dv_fail(err, ENOMEM, NULL, NULL, "sha256 of the layer failed");
  char *o = res->diff_id + snprintf(res->diff_id, sizeof(res->diff_id), "sha256:");
  for (unsigned int i = 0; i < len; i++) o += snprintf(o, 3, "%02x", md[i]);
  res->size = s->size;
  return 0;
}

void dv_unpack_source_free(struct dv_unpack_source *s) {
  if (s == NULL) return;
  hash_stop(s);
  if (s->z_ready) inflateEnd(&s->z);
  ZSTD_freeDStream(s->zs);
  EVP_MD_CTX_free(s->md);
  free(s->in);
  for (int i = 0; i < N_OUT; i++) free(s->bufs[i]);
  if (s->sync_ready) {
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
  }
  free(s);
}
