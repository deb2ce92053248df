/* scan.c — the morsel scan and its fixed-order merge (qn_scan.h).
 *
 * Arithmetic unit: the morsel, QN_MORSEL_ROWS rows of one file (the last
 * morsel of a file may be shorter; no morsel straddles files). Morsel
 * boundaries depend only on the files' row counts.
 *
 * Share: the morsels to compute, as sorted ranges of global indices (all
 * of them by default). Blocks, lanes and commits walk the share only; a
 * file with no morsel in it is never read.
 *
 * I/O unit: the block, up to B consecutive morsels of one file within one
 * range of the share, read into one of K buffers. B and K come from the
 * memory budget and the thread count; they change how much is in flight,
 * never what is computed. The block list is built once (16 bytes a block).
 *
 * Threads: one reader thread takes free buffers in block order and reads
 * the columns that must be read serially (libhdf5 is only ever called from
 * it); workers take loaded blocks in block order, read the columns whose
 * reader allows parallel reads (pread paths) themselves, then process the
 * block's morsels in order. When no column is read serially, workers take
 * the next block and a free buffer themselves and the reader thread only
 * releases finished files; they start no new file while threads + 2 are
 * open, so the descriptors held stay bounded even when the reader thread
 * gets no CPU for a while.
 *
 * Ordering guarantees given to the kernel (see struct qn_scan_kernel):
 *  - lanes: morsel i waits until lane i mod L has processed morsel i - L;
 *  - commits: run serially in morsel order as soon as a prefix is done;
 *    morsel i is not started until morsel i - window has been committed.
 * Both waits always point to lower morsel indices, and blocks are taken in
 * order, so the lowest unfinished morsel can always run: no deadlock.
 *
 * Memory: K buffers of B * QN_MORSEL_ROWS rows of the selected columns
 * (plus a validity byte per row for nullable columns; offsets for string
 * columns, whose bytes the reader allocates per block), all from the budget.
 */
#include "qn_scan.h"

#include <stdlib.h>
#include <string.h>

#define QN_SCAN_MAX_BLOCK_MORSELS 4
/* Columns handed to one reader call. */
#define QN_SCAN_MAX_READ 64
/* Enough in flight to keep the cores busy; more only costs memory. */
#define QN_SCAN_TARGET_BYTES ((int64_t)40 << 20)
/* A block of plain_read columns is read into a buffer and computed while
 * it is still in the caches: blocks of about 1 MiB were the fastest
 * measured (1 to 4 float64 columns, 1e8 rows, 1 and 2 threads; 4-column
 * blocks of 8 MiB took 10-25% longer). Decoding readers (Parquet, CSV) keep
 * blocks of up to QN_SCAN_MAX_BLOCK_MORSELS: with 2 MiB blocks, stats on a
 * 20M-row Parquet file took 25% more CPU (pages cut at block ends).
 * Reading through a mapping of the page cache instead was tried and
 * dropped: on these VMs it cost 3-4x more than pread whenever the file
 * was cached in 4 KiB pages (as after writing it), and it won only on one
 * thread with 2 MiB pages (bench/RESULTS.md, "read path"). */
#define QN_SCAN_BLOCK_BYTES ((int64_t)1 << 20)
#define QN_ROUND64(n) (((n) + 63) & ~(size_t)63)

struct qn_scan_block {
  int file;
  int64_t row0; /* first row within the file */
  int64_t nrows;
  int64_t morsel0; /* global index of its first morsel */
};

/* The block list entry: blocks of one file are consecutive in the list. */
struct qn_scan_bref {
  int64_t morsel0; /* global index of the block's first morsel */
  int32_t file;
  int32_t nmorsels;
};

struct qn_scan_buffer {
  struct qn_scan_block block;
  struct qn_colbuf *cols; /* one per selected column, capacity B*M rows */
  uint8_t **valid_store;  /* validity storage per column (NULL if not nullable) */
  void **data_store;      /* value storage per column */
};

struct qn_scan {
  struct qn_context *ctx;
  struct qn_source *src;
  const struct qn_scan_options *opt;
  const struct qn_scan_kernel *k;
  int ncols;
  int *filecol;                       /* [file * ncols + k]: column index within the file */
  int64_t *file_morsel0;              /* first global morsel of each file */
  int64_t *file_rows;                 /* rows of each file for the selected columns */
  int64_t *file_block0;               /* first block of each file in the list */
  int64_t *file_done;                 /* blocks of each file computed so far */
  struct qn_scan_bref *blocks;        /* the share's blocks, in morsel order */
  const struct qn_scan_range *ranges; /* the share, clipped (or the whole table) */
  int nranges;
  struct qn_scan_range whole;
  /* Files whose every block is computed, in the order they finished, not
   * necessarily file order: a worker held up on one file must not keep the
   * files others finished after it open (under load that was hundreds of
   * descriptors). [release_head, release_tail) are still to release. */
  int *release_queue;
  int release_head, release_tail;
  /* Files with a block taken and not yet released. Workers that take
   * blocks themselves (no serial columns) do not start a new file while
   * max_open are: the reader thread, which releases, may get no CPU for a
   * while, and under strace 150 small files had 35 to 114 open at once.
   * (The reader, when it loads blocks, releases before it loads.) */
  int open_files, max_open;
  int64_t nblocks;
  int64_t block_rows; /* B * M */
  int has_serial, has_parallel;
  int plain_read; /* every selected column of every file is plain_read */
  int workers;

  pthread_mutex_t lock;
  /* Two conditions, so that a worker finishing a morsel does not wake the
   * reader and a freed buffer does not wake every worker: */
  pthread_cond_t reader_cond; /* a buffer was freed or a file finished */
  pthread_cond_t work_cond;   /* a block is ready, a lane or commit moved */
  int work_waiting;           /* workers blocked on work_cond */
  int nbuf;
  struct qn_scan_buffer *bufs;
  void *arena;           /* every buffer's storage, one budgeted block (2 MiB pages) */
  int *free_list, nfree; /* buffers nobody holds */
  int64_t next_read;     /* next block the reader loads */
  int64_t next_take;     /* next block a worker takes */
  int *ready_slot;       /* ring of nbuf: buffer holding block b, or -1 */
  int64_t *lane_next;    /* next morsel of each lane in the share (-1: none) */
  int *done_ring;        /* window ring of processed-not-committed flags */
  int64_t next_commit;   /* next morsel of the share to commit (-1: none) */
  int commit_range;      /* the range of the share holding next_commit */
  int failed;
  struct qn_error err;
  struct qn_progress *progress;
};

static void qn_scan_fail(struct qn_scan *s, const struct qn_error *e) {
  pthread_mutex_lock(&s->lock);
  const int first = !s->failed;
  if (first) {
    s->failed = 1;
    s->err = *e;
    if (s->err.code == QN_OK) s->err.code = QN_EINTERNAL;
  }
  pthread_cond_broadcast(&s->reader_cond);
  pthread_cond_broadcast(&s->work_cond);
  pthread_mutex_unlock(&s->lock);
  /* Outside the scan's lock: the kernel's own waits take their own. */
  if (first && s->k->cancel) s->k->cancel(s->k->user);
}

static void qn_scan_block_of(const struct qn_scan *s, int64_t b, struct qn_scan_block *out) {
  const struct qn_scan_bref *r = &s->blocks[b];
  int f = r->file;
  int64_t local = r->morsel0 - s->file_morsel0[f];
  out->file = f;
  out->row0 = local * QN_MORSEL_ROWS;
  out->nrows = QN_MIN((int64_t)r->nmorsels * QN_MORSEL_ROWS, s->file_rows[f] - out->row0);
  out->morsel0 = r->morsel0;
}

/* The first morsel of the share at or after m, starting the search at
 * range *ri (updated); -1 past the end. */
static int64_t qn_scan_share_next(const struct qn_scan *s, int64_t m, int *ri) {
  while (*ri < s->nranges && s->ranges[*ri].end <= m) (*ri)++;
  if (*ri >= s->nranges) return -1;
  return QN_MAX(m, s->ranges[*ri].begin);
}

/* The next morsel of the share in the lane of m after m: the first one at
 * or after m + L congruent to m mod L. */
static int64_t qn_scan_lane_after(const struct qn_scan *s, int64_t m) {
  int64_t L = s->k->nlanes, c = m + L;
  for (int ri = 0; ri < s->nranges; ri++) {
    const struct qn_scan_range *r = &s->ranges[ri];
    if (r->end <= c) continue;
    if (c < r->begin) c += (r->begin - c + L - 1) / L * L;
    if (c < r->end) return c;
  }
  return -1;
}

static int qn_scan_read_cols(struct qn_scan *s, struct qn_scan_buffer *buf, int parallel,
                             struct qn_error *err) {
  const struct qn_scan_block *b = &buf->block;
  struct qn_reader *r = s->src->files[b->file];
  int fcols[QN_SCAN_MAX_READ], n = 0;
  struct qn_colbuf out[QN_SCAN_MAX_READ];
  int which[QN_SCAN_MAX_READ];
  for (int k = 0; k < s->ncols; k++) {
    int fc = s->filecol[b->file * s->ncols + k];
    if (r->cols[fc].parallel_read != parallel) continue;
    struct qn_colbuf *cb = &buf->cols[k];
    if (cb->type == QN_STRING) {
      cb->offsets = buf->data_store[k];
      cb->data = NULL; /* the reader allocates the bytes; freed after the block */
    } else {
      cb->data = buf->data_store[k];
    }
    /* the reader leaves valid NULL when this range has no nulls */
    cb->valid = r->cols[fc].nullable ? buf->valid_store[k] : NULL;
    cb->n = b->nrows;
    fcols[n] = fc;
    which[n] = k;
    out[n++] = *cb;
    if (n == QN_SCAN_MAX_READ || k == s->ncols - 1) {
      int st = qn_reader_read_cols(r, fcols, n, b->row0, b->nrows, out, err);
      for (int i = 0; i < n; i++) buf->cols[which[i]] = out[i];
      QN_RETURN_IF_ERROR(st);
      n = 0;
    }
  }
  if (n > 0) {
    int st = qn_reader_read_cols(r, fcols, n, b->row0, b->nrows, out, err);
    for (int i = 0; i < n; i++) buf->cols[which[i]] = out[i];
    QN_RETURN_IF_ERROR(st);
  }
  return QN_OK;
}

/* Gives back the string bytes the readers allocated for a block. */
static void qn_scan_drop_strings(struct qn_scan *s, struct qn_scan_buffer *buf) {
  for (int k = 0; k < s->ncols; k++) {
    struct qn_colbuf *cb = &buf->cols[k];
    if (cb->type != QN_STRING || !cb->data) continue;
    qn_mem_free(s->ctx, cb->data);
    cb->data = NULL;
  }
}

/* Files whose every block has been computed, not yet released: their
 * handles and caches are given back (by this thread, the only one that
 * calls a serial library such as libhdf5). Called with the lock held;
 * drops it around each release. */
static void qn_scan_release_done(struct qn_scan *s) {
  int released = 0;
  while (s->release_head < s->release_tail) {
    int f = s->release_queue[s->release_head++];
    struct qn_reader *r = s->src->files[f];
    if (r->ops->release) {
      pthread_mutex_unlock(&s->lock);
      r->ops->release(r);
      pthread_mutex_lock(&s->lock);
    }
    if (s->file_block0[f + 1] > s->file_block0[f]) { /* it had blocks: counted open */
      s->open_files--;
      released = 1;
    }
  }
  if (released && s->work_waiting) pthread_cond_broadcast(&s->work_cond);
}

/* The reader thread: loads blocks in order into free buffers, and releases
 * each file once the workers are done with it. It stays until every file is
 * released, so a table of many files never holds them all open. */
static void *qn_scan_reader(void *arg) {
  struct qn_scan *s = arg;
  struct qn_error err;
  qn_error_init(&err);
  for (;;) {
    pthread_mutex_lock(&s->lock);
    for (;;) {
      qn_scan_release_done(s);
      if (s->failed || (s->next_read >= s->nblocks && s->release_head == s->src->nfiles)) {
        pthread_mutex_unlock(&s->lock);
        return NULL;
      }
      if (s->has_serial && s->nfree > 0 && s->next_read < s->nblocks) break;
      pthread_cond_wait(&s->reader_cond, &s->lock);
    }
    int slot = s->free_list[--s->nfree];
    int64_t b = s->next_read++;
    struct qn_scan_buffer *buf = &s->bufs[slot];
    qn_scan_block_of(s, b, &buf->block);
    if (b == s->file_block0[buf->block.file]) s->open_files++;
    pthread_mutex_unlock(&s->lock);

    if (s->has_serial && qn_scan_read_cols(s, buf, 0, &err) != QN_OK) {
      qn_scan_drop_strings(s, buf);
      qn_scan_fail(s, &err);
      return NULL;
    }
    pthread_mutex_lock(&s->lock);
    s->ready_slot[b % s->nbuf] = slot;
    if (s->work_waiting) pthread_cond_broadcast(&s->work_cond);
    pthread_mutex_unlock(&s->lock);
  }
}

/* Waits on work_cond; called with the lock held. */
static void qn_scan_wait_work(struct qn_scan *s) {
  s->work_waiting++;
  pthread_cond_wait(&s->work_cond, &s->lock);
  s->work_waiting--;
}

static int qn_scan_morsel(struct qn_scan *s, int worker, struct qn_scan_buffer *buf, int64_t m,
                          struct qn_colbuf *view, struct qn_error *err) {
  const struct qn_scan_kernel *k = s->k;
  const struct qn_scan_block *b = &buf->block;
  int64_t off = (m - b->morsel0) * QN_MORSEL_ROWS;
  int64_t n = QN_MIN((int64_t)QN_MORSEL_ROWS, b->nrows - off);
  int64_t lane = k->nlanes > 0 ? m % k->nlanes : 0;

  pthread_mutex_lock(&s->lock);
  while (!s->failed && ((k->nlanes > 0 && s->lane_next[lane] != m) ||
                        (k->commit && m >= s->next_commit + k->window))) {
    qn_scan_wait_work(s);
  }
  int failed = s->failed;
  pthread_mutex_unlock(&s->lock);
  if (failed) return QN_EINTERNAL;
  /* a cancelled job stops here, between morsels: at most one morsel per
   * worker runs after qn_context_cancel() */
  if (atomic_load_explicit(&s->ctx->cancel, memory_order_relaxed))
    return qn_error_set(err, QN_ECANCELED, "the job was cancelled");

  for (int c = 0; c < s->ncols; c++) {
    const struct qn_colbuf *src = &buf->cols[c];
    view[c] = *src;
    view[c].n = n;
    if (src->type == QN_STRING) /* offsets into the block's bytes */
      view[c].offsets = src->offsets + off;
    else
      view[c].data = (char *)src->data + (size_t)off * qn_type_size(src->type);
    view[c].valid = src->valid ? src->valid + off : NULL;
  }
  struct qn_batch batch = {b->file, b->row0 + off, m, n, s->ncols, view};
  QN_RETURN_IF_ERROR(k->process(k->user, worker, &batch, err));
  qn_progress_add(s->progress, n);

  pthread_mutex_lock(&s->lock);
  int status = QN_OK;
  if (k->nlanes > 0) s->lane_next[lane] = qn_scan_lane_after(s, m);
  if (k->commit) {
    s->done_ring[m % k->window] = b->file + 1;
    while (status == QN_OK && s->next_commit >= 0 && s->done_ring[s->next_commit % k->window]) {
      int64_t c = s->next_commit;
      int file = s->done_ring[c % k->window] - 1;
      s->done_ring[c % k->window] = 0;
      status = k->commit(k->user, c, file, err);
      s->next_commit = qn_scan_share_next(s, c + 1, &s->commit_range);
    }
  }
  if (s->work_waiting) pthread_cond_broadcast(&s->work_cond);
  pthread_mutex_unlock(&s->lock);
  return status;
}

/* The buffer holding the next block for a worker, taken in block order;
 * -1 when there is none left or the scan failed.
 *
 * Without serial columns there is nothing for the reader to load: the
 * worker takes the next block and a free buffer itself (there is one:
 * workers < buffers, each holds at most one), without a round trip through
 * the reader thread. A block that starts a file waits while max_open files
 * are open; those have all their blocks taken, by workers not waiting
 * here, so they finish and the reader releases them. */
static int qn_scan_take(struct qn_scan *s) {
  pthread_mutex_lock(&s->lock);
  if (!s->has_serial) {
    struct qn_scan_block blk;
    int starts_file;
    for (;;) {
      if (s->failed || s->next_read >= s->nblocks) {
        pthread_mutex_unlock(&s->lock);
        return -1;
      }
      qn_scan_block_of(s, s->next_read, &blk);
      starts_file = s->next_read == s->file_block0[blk.file];
      if (!starts_file || s->open_files < s->max_open) break;
      qn_scan_wait_work(s);
    }
    if (starts_file) s->open_files++;
    s->next_take = ++s->next_read;
    const int slot = s->free_list[--s->nfree];
    s->bufs[slot].block = blk;
    pthread_mutex_unlock(&s->lock);
    return slot;
  }
  while (!s->failed && s->next_take < s->nblocks && s->ready_slot[s->next_take % s->nbuf] < 0)
    qn_scan_wait_work(s);
  if (s->failed || s->next_take >= s->nblocks) {
    pthread_mutex_unlock(&s->lock);
    return -1;
  }
  const int64_t b = s->next_take++;
  const int slot = s->ready_slot[b % s->nbuf];
  s->ready_slot[b % s->nbuf] = -1;
  pthread_mutex_unlock(&s->lock);
  return slot;
}

static void qn_scan_worker(void *arg, int worker) {
  struct qn_scan *s = arg;
  struct qn_error err;
  qn_error_init(&err);
  struct qn_colbuf *view = calloc((size_t)s->ncols + 1, sizeof *view);
  if (!view) {
    qn_error_set(&err, QN_ENOMEM, "out of memory in scan worker");
    qn_scan_fail(s, &err);
    return;
  }
  for (;;) {
    const int slot = qn_scan_take(s);
    if (slot < 0) break;
    struct qn_scan_buffer *buf = &s->bufs[slot];
    int st = QN_OK;
    if (s->has_parallel) st = qn_scan_read_cols(s, buf, 1, &err);
    int64_t nm = (buf->block.nrows + QN_MORSEL_ROWS - 1) / QN_MORSEL_ROWS;
    for (int64_t i = 0; i < nm && st == QN_OK; i++)
      st = qn_scan_morsel(s, worker, buf, buf->block.morsel0 + i, view, &err);
    qn_scan_drop_strings(s, buf);
    if (st != QN_OK) {
      qn_scan_fail(s, &err);
      break;
    }
    pthread_mutex_lock(&s->lock);
    int f = buf->block.file; /* the reader thread releases finished files */
    int finished = ++s->file_done[f] == s->file_block0[f + 1] - s->file_block0[f];
    if (finished) s->release_queue[s->release_tail++] = f;
    s->free_list[s->nfree++] = slot;
    /* the reader is its only waiter; without serial columns it waits only
     * for finished files (a wake-up per block cost 8% of a 1-D count) */
    if (s->has_serial || finished) pthread_cond_signal(&s->reader_cond);
    pthread_mutex_unlock(&s->lock);
  }
  free(view);
}

static int64_t qn_scan_row_bytes(struct qn_source *src, const int *cols, int ncols) {
  int64_t bytes = 0;
  for (int k = 0; k < ncols; k++) {
    const struct qn_column_info *ci = &src->cols[cols[k]];
    /* strings: their offsets (the bytes come from the reader's share) */
    size_t w = ci->type == QN_STRING ? sizeof(int64_t) : qn_type_size(ci->type);
    bytes += (int64_t)w + (ci->nullable ? 1 : 0);
  }
  return bytes > 0 ? bytes : 1;
}

/* Working memory the readers of the selected columns may hold per worker
 * (the largest over files, summed over columns). */
static int64_t qn_scan_reader_bytes(struct qn_source *src, const int *cols, int ncols) {
  int64_t total = 0;
  for (int k = 0; k < ncols; k++) {
    int64_t most = 0;
    for (int f = 0; f < src->nfiles; f++) {
      const struct qn_reader *r = src->files[f];
      most = QN_MAX(most, r->cols[qn_source_file_column(src, f, cols[k])].work_bytes);
    }
    total += most;
  }
  return total;
}

static int64_t qn_scan_morsel_bytes(struct qn_source *src, const int *cols, int ncols) {
  return qn_scan_row_bytes(src, cols, ncols) * QN_MORSEL_ROWS + 64 * (ncols + 1);
}

int64_t qn_scan_min_bytes(struct qn_source *src, const int *cols, int ncols) {
  /* two one-morsel buffers (one being read, one computed) and one worker's
   * reader memory */
  return 2 * qn_scan_morsel_bytes(src, cols, ncols) + qn_scan_reader_bytes(src, cols, ncols);
}

/* Chooses buffers (K) and morsels per block (B) from budget and threads.
 * The minimum is two one-morsel buffers plus one worker's reader memory;
 * beyond it, readers get their share for every worker first. */
static int qn_scan_plan(struct qn_scan *s, int *nbuf, int64_t *block_morsels,
                        struct qn_error *err) {
  int64_t morsel_bytes = qn_scan_morsel_bytes(s->src, s->opt->cols, s->opt->ncols);
  int64_t per_worker =
      qn_scan_reader_bytes(s->src, s->opt->cols, s->opt->ncols) + s->opt->kernel_worker_bytes;
  int64_t avail = qn_mem_available(s->ctx) - s->opt->kernel_bytes;
  int64_t need =
      qn_scan_min_bytes(s->src, s->opt->cols, s->opt->ncols) + s->opt->kernel_worker_bytes;
  if (avail < need)
    return qn_mem_require(s->ctx, need + s->opt->kernel_bytes, "reading the columns", err);
  /* Half of what the readers leave, at most: kernels and readers take
   * their working memory from the same budget. */
  int64_t left = avail - per_worker * QN_MAX(1, s->ctx->threads);
  int64_t budget = QN_MIN(QN_MAX(left / 2, 2 * morsel_bytes), QN_SCAN_TARGET_BYTES);
  int k = s->ctx->threads + 2;
  int64_t bm = QN_SCAN_MAX_BLOCK_MORSELS;
  if (s->opt->max_block_morsels > 0) bm = QN_MIN(bm, (int64_t)s->opt->max_block_morsels);
  while (s->plain_read && bm > 1 && bm * morsel_bytes > QN_SCAN_BLOCK_BYTES) bm /= 2;
  while (bm > 1 && (int64_t)k * bm * morsel_bytes > budget) bm /= 2;
  while (k > 2 && (int64_t)k * bm * morsel_bytes > budget) k--;
  /* no more workers (k - 1) than whose reader and kernel memory fits */
  int64_t fit = 1 + (avail - need) / QN_MAX(per_worker + bm * morsel_bytes, (int64_t)1);
  if (k > fit + 1) k = (int)QN_MAX((int64_t)2, fit + 1);
  *nbuf = k;
  *block_morsels = bm;
  return QN_OK;
}

static void qn_scan_free(struct qn_scan *s) {
  if (s->bufs) {
    for (int i = 0; i < s->nbuf; i++) {
      if (!s->bufs[i].cols) continue;
      qn_scan_drop_strings(s, &s->bufs[i]); /* a block loaded, never taken */
      free(s->bufs[i].cols);
      free(s->bufs[i].valid_store);
      free(s->bufs[i].data_store);
    }
  }
  qn_mem_free(s->ctx, s->arena);
  free(s->bufs);
  free(s->free_list);
  free(s->ready_slot);
  free(s->lane_next);
  free(s->done_ring);
  free(s->filecol);
  free(s->file_morsel0);
  free(s->file_block0);
  free(s->file_rows);
  free(s->blocks);
  free(s->file_done);
  free(s->release_queue);
  pthread_mutex_destroy(&s->lock);
  pthread_cond_destroy(&s->reader_cond);
  pthread_cond_destroy(&s->work_cond);
}

/* Morsels of file f for the selected columns. */
static int64_t qn_scan_file_morsels(const struct qn_source *src, int f, const int *cols,
                                    int ncols) {
  return (qn_source_file_rows(src, f, cols, ncols) + QN_MORSEL_ROWS - 1) / QN_MORSEL_ROWS;
}

int64_t qn_scan_morsels(const struct qn_source *src, const int *cols, int ncols) {
  int64_t m = 0;
  for (int f = 0; f < src->nfiles; f++) m += qn_scan_file_morsels(src, f, cols, ncols);
  return m;
}

int qn_scan_morsel_rows(const struct qn_source *src, const int *cols, int ncols, int64_t m,
                        int64_t *file_row0, int64_t *nrows) {
  for (int f = 0; f < src->nfiles && m >= 0; f++) {
    int64_t fm = qn_scan_file_morsels(src, f, cols, ncols);
    if (m < fm) {
      int64_t rows = qn_source_file_rows(src, f, cols, ncols);
      *file_row0 = m * QN_MORSEL_ROWS;
      *nrows = QN_MIN((int64_t)QN_MORSEL_ROWS, rows - *file_row0);
      return f;
    }
    m -= fm;
  }
  return -1;
}

/* The morsel plan and the share's block list: for each file, its morsels
 * inside each range, cut into blocks of at most bm morsels. Checks that
 * the ranges are sorted and disjoint; clips them to the table. */
static int qn_scan_blocks(struct qn_scan *s, int64_t bm, int64_t *rows_total,
                          struct qn_error *err) {
  const struct qn_source *src = s->src;
  const struct qn_scan_options *opt = s->opt;
  int nf = src->nfiles;
  int64_t morsels = 0;
  for (int f = 0; f < nf; f++) {
    s->file_rows[f] = qn_source_file_rows(src, f, opt->cols, opt->ncols);
    s->file_morsel0[f] = morsels;
    morsels += (s->file_rows[f] + QN_MORSEL_ROWS - 1) / QN_MORSEL_ROWS;
  }
  s->file_morsel0[nf] = morsels;
  s->whole = (struct qn_scan_range){0, morsels};
  s->ranges = &s->whole;
  s->nranges = 1;
  if (opt->ranges) {
    for (int i = 0; i < opt->nranges; i++) {
      const struct qn_scan_range *r = &opt->ranges[i];
      if (r->begin < 0 || r->end < r->begin || (i > 0 && r->begin < opt->ranges[i - 1].end))
        return qn_error_set(err, QN_EINTERNAL,
                            "scan: share range %d [%lld, %lld) is not sorted and disjoint", i,
                            (long long)r->begin, (long long)r->end);
    }
    s->ranges = opt->ranges;
    s->nranges = opt->nranges;
  }
  /* count, then fill */
  for (int pass = 0; pass < 2; pass++) {
    int64_t nb = 0;
    for (int f = 0; f < nf; f++) {
      int64_t f0 = s->file_morsel0[f], f1 = s->file_morsel0[f + 1];
      s->file_block0[f] = nb;
      for (int i = 0; i < s->nranges; i++) {
        int64_t a = QN_MAX(f0, s->ranges[i].begin), b = QN_MIN(f1, s->ranges[i].end);
        for (int64_t m = a; m < b; m += bm, nb++) {
          if (pass == 0) {
            int64_t row0 = (m - f0) * QN_MORSEL_ROWS;
            *rows_total += QN_MIN(QN_MIN(bm, b - m) * QN_MORSEL_ROWS, s->file_rows[f] - row0);
            continue;
          }
          s->blocks[nb] = (struct qn_scan_bref){m, f, (int32_t)QN_MIN(bm, b - m)};
        }
      }
      if (pass == 0 && nb == s->file_block0[f])
        s->release_queue[s->release_tail++] = f; /* nothing to read here */
    }
    s->file_block0[nf] = nb;
    s->nblocks = nb;
    if (pass == 0) {
      s->blocks = calloc((size_t)nb + 1, sizeof *s->blocks);
      if (!s->blocks) return qn_error_set(err, QN_ENOMEM, "out of memory planning the scan");
    }
  }
  return QN_OK;
}

/* Bytes of one buffer's storage for a column: values, or a string
 * column's offsets. */
static size_t qn_scan_col_store(const struct qn_column_info *ci, int64_t rows) {
  if (ci->type == QN_STRING) return QN_ROUND64((size_t)(rows + 1) * sizeof(int64_t));
  return QN_ROUND64((size_t)rows * qn_type_size(ci->type));
}

static int qn_scan_setup(struct qn_scan *s, struct qn_error *err) {
  struct qn_source *src = s->src;
  const struct qn_scan_options *opt = s->opt;
  int nf = src->nfiles;
  s->filecol = calloc((size_t)nf * (size_t)s->ncols + 1, sizeof *s->filecol);
  s->file_morsel0 = calloc((size_t)nf + 1, sizeof *s->file_morsel0);
  s->file_block0 = calloc((size_t)nf + 1, sizeof *s->file_block0);
  s->file_rows = calloc((size_t)nf + 1, sizeof *s->file_rows);
  s->file_done = calloc((size_t)nf + 1, sizeof *s->file_done);
  s->release_queue = calloc((size_t)nf + 1, sizeof *s->release_queue);
  if (!s->filecol || !s->file_morsel0 || !s->file_block0 || !s->file_rows || !s->file_done ||
      !s->release_queue)
    return qn_error_set(err, QN_ENOMEM, "out of memory planning the scan");
  s->plain_read = 1;
  for (int f = 0; f < nf; f++) {
    for (int k = 0; k < s->ncols; k++) {
      int fc = qn_source_file_column(src, f, opt->cols[k]);
      s->filecol[f * s->ncols + k] = fc;
      s->plain_read &= src->files[f]->cols[fc].plain_read;
      if (src->files[f]->cols[fc].parallel_read)
        s->has_parallel = 1;
      else
        s->has_serial = 1;
    }
  }
  int nbuf = 2;
  int64_t bm = 1;
  QN_RETURN_IF_ERROR(qn_scan_plan(s, &nbuf, &bm, err));
  s->block_rows = bm * QN_MORSEL_ROWS;
  int64_t rows_total = 0;
  QN_RETURN_IF_ERROR(qn_scan_blocks(s, bm, &rows_total, err));
  s->nbuf = nbuf;
  s->bufs = calloc((size_t)nbuf, sizeof *s->bufs);
  s->free_list = calloc((size_t)nbuf, sizeof *s->free_list);
  s->ready_slot = calloc((size_t)nbuf, sizeof *s->ready_slot);
  if (!s->bufs || !s->free_list || !s->ready_slot)
    return qn_error_set(err, QN_ENOMEM, "out of memory planning the scan");
  /* One block for all buffers: large enough for 2 MiB pages, so filling
   * them costs a few faults instead of one per 4 KiB (see qn_mem_alloc). */
  size_t per_buf = 0;
  for (int k = 0; k < s->ncols; k++) {
    per_buf += qn_scan_col_store(&src->cols[opt->cols[k]], s->block_rows);
    if (src->cols[opt->cols[k]].nullable) per_buf += QN_ROUND64((size_t)s->block_rows);
  }
  s->arena = qn_mem_alloc(s->ctx, per_buf * (size_t)nbuf, "scan buffers", err);
  if (!s->arena) return err ? err->code : QN_ELIMIT;
  char *next = s->arena;
  for (int i = 0; i < nbuf; i++) {
    s->ready_slot[i] = -1;
    s->free_list[s->nfree++] = nbuf - 1 - i;
    s->bufs[i].cols = calloc((size_t)s->ncols + 1, sizeof *s->bufs[i].cols);
    s->bufs[i].valid_store = calloc((size_t)s->ncols + 1, sizeof *s->bufs[i].valid_store);
    s->bufs[i].data_store = calloc((size_t)s->ncols + 1, sizeof *s->bufs[i].data_store);
    if (!s->bufs[i].cols || !s->bufs[i].valid_store || !s->bufs[i].data_store)
      return qn_error_set(err, QN_ENOMEM, "out of memory planning the scan");
    for (int k = 0; k < s->ncols; k++) {
      const struct qn_column_info *ci = &src->cols[opt->cols[k]];
      struct qn_colbuf *cb = &s->bufs[i].cols[k];
      cb->type = ci->type;
      s->bufs[i].data_store[k] = next;
      next += qn_scan_col_store(ci, s->block_rows);
      if (ci->nullable) {
        s->bufs[i].valid_store[k] = (uint8_t *)next;
        next += QN_ROUND64((size_t)s->block_rows);
      }
    }
  }
  s->workers = (int)QN_MIN((int64_t)s->ctx->threads, QN_MAX(1, nbuf - 1));
  s->workers = (int)QN_MAX(1, QN_MIN((int64_t)s->workers, s->nblocks));
  s->max_open = s->workers + 2;
  const struct qn_scan_kernel *k = s->k;
  if (k->nlanes > 0) {
    s->lane_next = calloc((size_t)k->nlanes, sizeof *s->lane_next);
    if (!s->lane_next) return qn_error_set(err, QN_ENOMEM, "out of memory planning the scan");
    /* the first morsel of each lane in the share */
    for (int l = 0; l < k->nlanes; l++) s->lane_next[l] = -1;
    int ri = 0, set = 0;
    for (int64_t m = qn_scan_share_next(s, 0, &ri); m >= 0 && set < k->nlanes;
         m = qn_scan_share_next(s, m + 1, &ri))
      if (s->lane_next[m % k->nlanes] < 0) {
        s->lane_next[m % k->nlanes] = m;
        set++;
      }
  }
  if (k->commit) {
    if (k->window < 1)
      return qn_error_set(err, QN_EINTERNAL, "scan: commit window must be >= 1");
    s->done_ring = calloc((size_t)k->window, sizeof *s->done_ring);
    if (!s->done_ring) return qn_error_set(err, QN_ENOMEM, "out of memory planning the scan");
    s->next_commit = qn_scan_share_next(s, 0, &s->commit_range);
  }
  s->progress = qn_progress_start(s->ctx, opt->label, rows_total);
  return QN_OK;
}

int qn_scan_run(struct qn_context *ctx, struct qn_source *src,
                const struct qn_scan_options *opt, const struct qn_scan_kernel *k,
                struct qn_error *err) {
  struct qn_scan s;
  memset(&s, 0, sizeof s);
  s.ctx = ctx;
  s.src = src;
  s.opt = opt;
  s.k = k;
  s.ncols = opt->ncols;
  qn_error_init(&s.err);
  pthread_mutex_init(&s.lock, NULL);
  pthread_cond_init(&s.reader_cond, NULL);
  pthread_cond_init(&s.work_cond, NULL);
  int status = qn_scan_setup(&s, err);
  if (status == QN_OK && s.nblocks > 0) {
    pthread_t reader;
    if (pthread_create(&reader, NULL, qn_scan_reader, &s) != 0) {
      status = qn_error_set(err, QN_ENOMEM, "cannot start the reader thread");
    } else {
      status = qn_pool_run(ctx, s.workers, qn_scan_worker, &s, err);
      pthread_join(reader, NULL);
      if (status == QN_OK && s.failed) {
        status = s.err.code;
        if (err && err->code == QN_OK) *err = s.err;
      }
    }
  }
  qn_progress_finish(s.progress);
  qn_scan_free(&s);
  qn_mem_trim(ctx); /* the blocks kept for reuse go back at the end of a scan */
  return status;
}
