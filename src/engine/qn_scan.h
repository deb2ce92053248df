/* qn_scan.h — the engine: the morsel plan, the scan, ordered commits, lanes.
 *
 * The engine sits above the readers (src/io) and the kernels
 * (src/kernels) and below the jobs (src/exec). It never names a format:
 * it sees a source (struct qn_source, many readers as one table) and a
 * kernel (struct qn_scan_kernel, callbacks a job plugs in).
 *
 * Morsel plan: the logical table is cut into morsels of QN_MORSEL_ROWS
 * rows, none straddling a file; morsel i of the whole table has the same
 * rows whatever the thread count, memory limit or share. A share is a set
 * of ranges of global morsel indices: a scan over a share computes only
 * those morsels (files with no morsel in it are never read), with the
 * same indices, lanes and commit order as the whole scan restricted to
 * them, so shares computed apart (threads, processes, MPI ranks) fold to
 * the bytes one scan gives.
 *
 * Every column type travels: fixed-width values dense in colbuf.data,
 * validity bytes for nullable columns, strings as offsets into bytes the
 * reader allocates from the budget (freed by the scan after the block).
 */
#ifndef QN_SCAN_H
#define QN_SCAN_H

#include "io/qn_source.h"

/* Global morsel indices [begin, end). */
struct qn_scan_range {
  int64_t begin, end;
};

/* What a job plugs into the scan. All callbacks may run on any worker
 * thread; the scan guarantees the ordering stated for each. */
struct qn_scan_kernel {
  void *user;
  /* Lanes: when > 0, morsel i belongs to lane i mod nlanes and the scan
   * calls `process` for the morsels of one lane strictly in index order,
   * never two of the same lane at once. When 0, no lane ordering. */
  int nlanes;
  /* Window for ordered commits: when `commit` is set, at most `window`
   * morsels are processed ahead of the oldest uncommitted one, so a kernel
   * may keep per-morsel partials in `window` slots (slot = i mod window:
   * two morsels in flight never share a slot, gaps in a share or not). */
  int window;
  /* Compute morsel `batch->morsel` (batch covers exactly one morsel). */
  int (*process)(void *user, int worker, const struct qn_batch *batch, struct qn_error *err);
  /* Called once per morsel of the share, in strictly increasing morsel
   * order, serialised. */
  int (*commit)(void *user, int64_t morsel, int file, struct qn_error *err);
  /* Optional: called once, on any thread, when the scan fails (its first
   * error), so that a kernel whose `process` waits for other morsels
   * (qn_turns.h) stops waiting for a morsel that will never come. */
  void (*cancel)(void *user);
};

struct qn_scan_options {
  const int *cols; /* source column indices to read */
  int ncols;
  const char *label; /* progress bar label */
  /* The share: sorted, disjoint ranges of global morsel indices, clipped
   * to the table; NULL (or nranges 0 with ranges NULL) = every morsel. */
  const struct qn_scan_range *ranges;
  int nranges;
  /* Bytes the kernel will allocate from the budget while the scan runs
   * (its partial states, encoded parts): the scan leaves them out when it
   * sizes its own buffers. */
  int64_t kernel_bytes;
  /* ... and bytes each worker's `process` may hold (scratch): the scan
   * runs no more workers than have room. */
  int64_t kernel_worker_bytes;
  /* At most this many morsels per block when > 0. A kernel whose workers
   * hand state to each other morsel by morsel (qn_turns) asks for 1: a
   * worker computes its block's morsels one after the other, and the next
   * block's worker would wait for all of them. Changes no result. */
  int max_block_morsels;
};

/* Morsels of the table for these columns (the plan every share cuts). */
int64_t qn_scan_morsels(const struct qn_source *src, const int *cols, int ncols);
/* The file holding global morsel m, and that morsel's first row within it
 * and row count. -1 when m is out of range. */
int qn_scan_morsel_rows(const struct qn_source *src, const int *cols, int ncols, int64_t m,
                        int64_t *file_row0, int64_t *nrows);

/* Reads the selected columns of the share morsel by morsel and feeds them
 * to the kernel; returns the first error of any worker. Memory for I/O
 * buffers comes from the budget; QN_ELIMIT names the minimum. */
int qn_scan_run(struct qn_context *ctx, struct qn_source *src,
                const struct qn_scan_options *opt, const struct qn_scan_kernel *k,
                struct qn_error *err);

/* Bytes the scan needs at least for these columns (one morsel in flight
 * per worker, plus one being read). */
int64_t qn_scan_min_bytes(struct qn_source *src, const int *cols, int ncols);

#endif /* QN_SCAN_H */
