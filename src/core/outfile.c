/* outfile.c — atomic output files: write to ".NAME.tmp-XXXXXX" in the same
 * directory, fsync-free rename into place on commit. A failed or aborted
 * run leaves no partial file and never touches an existing one.
 *
 * Checksums: bytes written through qn_outfile_write are hashed as they
 * go (XXH3-128, libxxhash's streaming state). When a file was written
 * otherwise (a library writing the temporary path itself, as libhdf5 does,
 * or stdio calls on the stream), qn_outfile_commit_sum reads it back once
 * and hashes that: the sum is always of the bytes on disk.
 */
#include "qn_core.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

struct qn_outfile {
  char *path;
  char *temp;
  FILE *stream;
  XXH3_state_t *hash; /* bytes of qn_outfile_write, in order */
  int64_t hashed;     /* how many */
};

int qn_outfile_open(const char *path, struct qn_outfile **out, struct qn_error *err) {
  struct qn_outfile *f = calloc(1, sizeof *f);
  size_t n = strlen(path);
  char *tmp = malloc(n + 32);
  if (!f || !tmp) {
    free(f);
    free(tmp);
    return qn_error_set(err, QN_ENOMEM, "out of memory opening %s", path);
  }
  const char *slash = strrchr(path, '/');
  size_t dirlen = slash ? (size_t)(slash - path + 1) : 0;
  struct stat st;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
    free(f);
    free(tmp);
    return qn_error_set(err, QN_EIO, "cannot write %s: it is a directory", path);
  }
  snprintf(tmp, n + 32, "%.*s.%s.tmp-XXXXXX", (int)dirlen, path, path + dirlen);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    int e = errno;
    free(f);
    free(tmp);
    return qn_error_set(err, QN_EIO, "cannot create output %s: %s", path, strerror(e));
  }
  fchmod(fd, 0644);
  f->stream = fdopen(fd, "wb");
  f->path = qn_strdup(path);
  f->temp = tmp;
  if (!f->stream || !f->path) {
    if (f->stream)
      fclose(f->stream);
    else
      close(fd);
    unlink(tmp);
    free(f->path);
    free(tmp);
    free(f);
    return qn_error_set(err, QN_ENOMEM, "out of memory opening %s", path);
  }
  *out = f;
  return QN_OK;
}

FILE *qn_outfile_stream(struct qn_outfile *f) {
  return f->stream;
}
const char *qn_outfile_temp_path(const struct qn_outfile *f) {
  return f->temp;
}

static void qn_outfile_free(struct qn_outfile *f) {
  if (f->hash) XXH3_freeState(f->hash);
  free(f->path);
  free(f->temp);
  free(f);
}

int qn_outfile_write(struct qn_outfile *f, const void *p, size_t n, struct qn_error *err) {
  if (n == 0) return QN_OK;
  if (!f->hash && f->hashed == 0) {
    f->hash = XXH3_createState();
    if (!f->hash) return qn_error_set(err, QN_ENOMEM, "out of memory writing %s", f->path);
    XXH3_128bits_reset(f->hash);
  }
  if (!f->stream || fwrite(p, 1, n, f->stream) != n) {
    int e = errno;
    return qn_error_set(err, QN_EIO, "cannot write %s at byte %lld: %s", f->path,
                        (long long)f->hashed, f->stream ? strerror(e) : "stream closed");
  }
  if (f->hash) XXH3_128bits_update(f->hash, p, n);
  f->hashed += (int64_t)n;
  return QN_OK;
}

void qn_checksum_hex(const struct qn_checksum *s, char out[33]) {
  snprintf(out, 33, "%016llx%016llx", (unsigned long long)s->hi, (unsigned long long)s->lo);
}

/* XXH3-128 of a whole file, read in 1 MiB pieces. */
int qn_checksum_file(const char *path, struct qn_checksum *sum, struct qn_error *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    return qn_error_set(err, e == ENOENT ? QN_ENOTFOUND : QN_EIO, "%s: %s", path, strerror(e));
  }
  int status = QN_OK;
  size_t cap = (size_t)1 << 20;
  char *buf = malloc(cap);
  XXH3_state_t *st = XXH3_createState();
  if (!buf || !st) {
    status = qn_error_set(err, QN_ENOMEM, "out of memory reading %s", path);
    goto done;
  }
  XXH3_128bits_reset(st);
  sum->bytes = 0;
  for (;;) {
    ssize_t got = read(fd, buf, cap);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      int e = errno;
      status = qn_error_set(err, QN_EIO, "%s: read failed at byte %lld: %s", path,
                            (long long)sum->bytes, strerror(e));
      goto done;
    }
    if (got == 0) break;
    XXH3_128bits_update(st, buf, (size_t)got);
    sum->bytes += got;
  }
  XXH128_hash_t h = XXH3_128bits_digest(st);
  sum->lo = h.low64;
  sum->hi = h.high64;
done:
  if (st) XXH3_freeState(st);
  free(buf);
  close(fd);
  return status;
}

int qn_outfile_close_stream(struct qn_outfile *f, struct qn_error *err) {
  if (!f->stream) return QN_OK;
  int bad = ferror(f->stream);
  int rc = fclose(f->stream);
  f->stream = NULL;
  if (rc != 0 || bad) {
    int e = errno;
    return qn_error_set(err, QN_EIO, "cannot write %s: %s", f->path,
                        bad ? "write error" : strerror(e));
  }
  return QN_OK;
}

int qn_outfile_commit(struct qn_outfile *f, struct qn_error *err) {
  return qn_outfile_commit_sum(f, NULL, err);
}

int qn_outfile_commit_sum(struct qn_outfile *f, struct qn_checksum *sum, struct qn_error *err) {
  int status = qn_outfile_close_stream(f, err);
  if (status == QN_OK && sum) {
    struct stat st;
    if (f->hash && stat(f->temp, &st) == 0 && st.st_size == f->hashed) {
      XXH128_hash_t h = XXH3_128bits_digest(f->hash);
      sum->lo = h.low64;
      sum->hi = h.high64;
      sum->bytes = f->hashed;
    } else { /* written otherwise, at least in part: hash what is on disk */
      status = qn_checksum_file(f->temp, sum, err);
    }
  }
  if (status == QN_OK && rename(f->temp, f->path) != 0) {
    int e = errno;
    status =
        qn_error_set(err, QN_EIO, "cannot rename %s to %s: %s", f->temp, f->path, strerror(e));
  }
  if (status != QN_OK) unlink(f->temp);
  qn_outfile_free(f);
  return status;
}

void qn_outfile_abort(struct qn_outfile *f) {
  if (!f) return;
  if (f->stream) fclose(f->stream);
  unlink(f->temp);
  qn_outfile_free(f);
}
