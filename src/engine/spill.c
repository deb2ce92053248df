/* spill.c — spill runs (qn_spill.h). */
#include "qn_spill.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lz4.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define QN_SPILL_PREFIX ".quern-spill-"

struct qn_spill {
  struct qn_context *ctx;
  char *dir;   /* the scratch directory */
  int lock_fd; /* flock'd .lock inside it */
  int nfiles;
  int *fds;     /* one per writer, -1 until first use */
  int64_t *end; /* bytes in each file */
  char **buf;   /* each writer's compression buffer, kept (budgeted) */
  size_t *cap;
  _Atomic int64_t written;
};

void qn_spill_rmdir(const char *dir) {
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      char path[4096];
      snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
      unlink(path);
    }
    closedir(d);
  }
  rmdir(dir);
}

void qn_spill_sweep(const char *dir, const char *prefix) { /* prefix: the mark */
  DIR *d = opendir(dir && *dir ? dir : ".");
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] != '.' || !strstr(e->d_name, prefix)) continue;
    char path[4096], lock[4200];
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : ".", e->d_name);
    snprintf(lock, sizeof lock, "%s/.lock", path);
    int fd = open(lock, O_RDWR | O_CLOEXEC);
    if (fd < 0) continue; /* not ours, or being made right now */
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) qn_spill_rmdir(path); /* its owner is gone */
    close(fd);
  }
  closedir(d);
}

int qn_spill_open(struct qn_context *ctx, const char *dir, int nfiles, struct qn_spill **out,
                  struct qn_error *err) {
  const char *base = dir && *dir ? dir : ".";
  struct stat st;
  if (stat(base, &st) != 0 || !S_ISDIR(st.st_mode))
    return qn_error_set(err, QN_EIO, "spill directory %s: %s", base,
                        errno ? strerror(errno) : "not a directory");
  qn_spill_sweep(base, QN_SPILL_PREFIX);
  struct qn_spill *sp = calloc(1, sizeof *sp);
  size_t n = strlen(base) + 64;
  if (!sp || !(sp->dir = malloc(n)) || !(sp->fds = malloc((size_t)nfiles * sizeof *sp->fds)) ||
      !(sp->end = calloc((size_t)nfiles, sizeof *sp->end)) ||
      !(sp->buf = calloc((size_t)nfiles, sizeof *sp->buf)) ||
      !(sp->cap = calloc((size_t)nfiles, sizeof *sp->cap))) {
    if (sp) {
      free(sp->dir);
      free(sp->fds);
      free(sp->end);
      free(sp->buf);
    }
    free(sp);
    return qn_error_set(err, QN_ENOMEM, "out of memory");
  }
  sp->ctx = ctx;
  sp->lock_fd = -1;
  sp->nfiles = nfiles;
  for (int i = 0; i < nfiles; i++) sp->fds[i] = -1;
  snprintf(sp->dir, n, "%s/%s%d-XXXXXX", base, QN_SPILL_PREFIX, (int)getpid());
  if (!mkdtemp(sp->dir)) {
    int e = errno;
    free(sp->dir);
    free(sp->fds);
    free(sp->end);
    free(sp->buf);
    free(sp->cap);
    free(sp);
    return qn_error_set(err, QN_EIO, "cannot create a spill directory in %s: %s", base,
                        strerror(e));
  }
  char lock[4200];
  snprintf(lock, sizeof lock, "%s/.lock", sp->dir);
  sp->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (sp->lock_fd < 0 || flock(sp->lock_fd, LOCK_EX) != 0) {
    int e = errno;
    qn_spill_close(sp);
    return qn_error_set(err, QN_EIO, "cannot lock the spill directory in %s: %s", base,
                        strerror(e));
  }
  *out = sp;
  return QN_OK;
}

/* Header of a block in a run: magic, sizes, checksum. */
struct qn_spill_head {
  uint32_t magic, pad;
  int64_t size, compressed;
  uint64_t hash;
};
#define QN_SPILL_MAGIC 0x4c505351u /* "QSPL" */

static int qn_spill_pwrite(int fd, const void *p, size_t n, off_t off) {
  const char *c = p;
  while (n > 0) {
    ssize_t w = pwrite(fd, c, n, off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    c += w;
    n -= (size_t)w;
    off += w;
  }
  return 0;
}

int qn_spill_write(struct qn_spill *sp, int file, const void *image, int64_t size,
                   struct qn_spill_ref *ref, struct qn_error *err) {
  if (file < 0 || file >= sp->nfiles || size < 0 || size > LZ4_MAX_INPUT_SIZE)
    return qn_error_set(err, QN_EINTERNAL, "spill: bad block (writer %d, %lld bytes)", file,
                        (long long)size);
  if (sp->fds[file] < 0) {
    char path[4200];
    snprintf(path, sizeof path, "%s/w%03d.run", sp->dir, file);
    sp->fds[file] = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (sp->fds[file] < 0)
      return qn_error_set(err, QN_EIO, "cannot create spill file %s: %s", path,
                          strerror(errno));
  }
  int bound = LZ4_compressBound((int)size);
  size_t need = (size_t)bound + sizeof(struct qn_spill_head);
  if (sp->cap[file] < need) { /* grown, then kept: fresh memory faults every 4 KiB */
    qn_mem_free(sp->ctx, sp->buf[file]);
    sp->cap[file] = 0;
    sp->buf[file] =
        qn_mem_alloc(sp->ctx, need + need / 4, "a spill block's compression buffer", err);
    if (!sp->buf[file]) return err && err->code ? err->code : QN_ELIMIT;
    sp->cap[file] = need + need / 4;
  }
  char *buf = sp->buf[file];
  /* acceleration 4: about twice LZ4's default speed for a little less
   * compression; spill blocks are written once and read once */
  int c = LZ4_compress_fast(image, buf + sizeof(struct qn_spill_head), (int)size, bound, 4);
  int status = QN_OK;
  if (c <= 0) {
    status = qn_error_set(err, QN_EINTERNAL, "spill: LZ4 could not compress a block");
  } else {
    struct qn_spill_head h = {QN_SPILL_MAGIC, 0, size, c,
                              XXH3_64bits(buf + sizeof(struct qn_spill_head), (size_t)c)};
    memcpy(buf, &h, sizeof h);
    off_t off = (off_t)sp->end[file];
    if (qn_spill_pwrite(sp->fds[file], buf, sizeof h + (size_t)c, off) != 0) {
      status = qn_error_set(err, QN_EIO, "cannot write the spill file in %s: %s (disk full?)",
                            sp->dir, strerror(errno));
    } else {
      *ref = (struct qn_spill_ref){file, (int64_t)off + (int64_t)sizeof h, c, size, h.hash};
      sp->end[file] += (int64_t)sizeof h + c;
      sp->written += (int64_t)sizeof h + c;
    }
  }
  return status;
}

int qn_spill_read(struct qn_spill *sp, const struct qn_spill_ref *ref, void *dst,
                  struct qn_error *err) {
  char *buf =
      qn_mem_alloc(sp->ctx, (size_t)ref->compressed + 1, "a spill block read back", err);
  if (!buf) return err && err->code ? err->code : QN_ELIMIT;
  int status = QN_OK;
  int64_t got = 0;
  while (got < ref->compressed) {
    ssize_t r = pread(sp->fds[ref->file], buf + got, (size_t)(ref->compressed - got),
                      (off_t)(ref->offset + got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      status = qn_error_set(
          err, QN_EIO, "spill file w%03d.run in %s: cannot read %lld bytes at %lld", ref->file,
          sp->dir, (long long)ref->compressed, (long long)ref->offset);
      goto done;
    }
    got += r;
  }
  if (XXH3_64bits(buf, (size_t)ref->compressed) != ref->hash) {
    status = qn_error_set(
        err, QN_EIO, "spill file w%03d.run in %s: the block at byte %lld was damaged on disk",
        ref->file, sp->dir, (long long)ref->offset);
    goto done;
  }
  int d = LZ4_decompress_safe(buf, dst, (int)ref->compressed, (int)ref->size);
  if (d != ref->size)
    status =
        qn_error_set(err, QN_EIO, "spill file w%03d.run in %s: a block does not decompress",
                     ref->file, sp->dir);
done:
  qn_mem_free(sp->ctx, buf);
  return status;
}

int64_t qn_spill_bytes(const struct qn_spill *sp) {
  return sp ? sp->written : 0;
}

void qn_spill_close(struct qn_spill *sp) {
  if (!sp) return;
  for (int i = 0; i < sp->nfiles; i++) {
    if (sp->fds[i] >= 0) close(sp->fds[i]);
    qn_mem_free(sp->ctx, sp->buf[i]);
  }
  free(sp->buf);
  free(sp->cap);
  if (sp->dir) qn_spill_rmdir(sp->dir);
  if (sp->lock_fd >= 0) close(sp->lock_fd);
  free(sp->dir);
  free(sp->fds);
  free(sp->end);
  free(sp);
}
