/* qn_spill.h — spill runs: blocks of rows written compressed to a
 * scratch directory and read back, for jobs whose state outgrows the
 * memory budget (`quern group` pass 1).
 *
 * A block is a contiguous byte image (the caller's serialisation of some
 * rows); the run compresses it with LZ4 and appends it to the file of the
 * worker that wrote it, with a header holding its sizes and an XXH3-64
 * checksum of the compressed bytes, checked when it is read back. One
 * file per worker: writers never share a file, so no lock is needed
 * there; any thread may read any block (pread).
 *
 * The scratch directory is `.quern-spill-PID-XXXXXX` in the directory the
 * caller names, locked (flock) while in use and removed on every exit path
 * by qn_spill_close. A run killed with SIGKILL leaves it behind: the next
 * qn_spill_open in the same place removes every such directory whose lock
 * it can take (its owner is gone).
 */
#ifndef QN_SPILL_H
#define QN_SPILL_H

#include "core/qn_core.h"

struct qn_spill;

/* Where a block went. */
struct qn_spill_ref {
  int32_t file;
  int64_t offset;     /* of the compressed bytes */
  int64_t compressed; /* their size */
  int64_t size;       /* the block image's size */
  uint64_t hash;      /* XXH3-64 of the compressed bytes */
};

/* Creates the scratch directory under `dir` for `nfiles` writers (files
 * are created on first use), after removing stale ones. Errors: QN_EIO
 * (the directory cannot be made or written, named in the message). */
int qn_spill_open(struct qn_context *ctx, const char *dir, int nfiles, struct qn_spill **out,
                  struct qn_error *err);
/* Compresses and appends a block image to writer `file`'s run. The
 * compression buffer comes from the budget. */
int qn_spill_write(struct qn_spill *sp, int file, const void *image, int64_t size,
                   struct qn_spill_ref *ref, struct qn_error *err);
/* Reads a block back into dst (ref->size bytes, the caller's). */
int qn_spill_read(struct qn_spill *sp, const struct qn_spill_ref *ref, void *dst,
                  struct qn_error *err);
/* Bytes written so far (compressed), for the manifest and messages. */
int64_t qn_spill_bytes(const struct qn_spill *sp);
/* Removes the directory and its files; NULL is a no-op. */
void qn_spill_close(struct qn_spill *sp);

/* Removes stale scratch or temporary directories in `dir` (hidden names
 * holding `mark`) whose lock file (`.lock` inside) can be locked: their
 * owner is gone. */
void qn_spill_sweep(const char *dir, const char *mark);
/* rm -rf of a directory holding only files (a spill or temporary output
 * directory of ours); errors are ignored. */
void qn_spill_rmdir(const char *dir);

#endif /* QN_SPILL_H */
