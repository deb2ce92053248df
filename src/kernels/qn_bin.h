/* qn_bin.h — the binning kernel: N-d bin indices and per-bin statistics
 * over in-memory column blocks. Pure computation, no I/O (see bin.c for the
 * numerics).
 *
 * Model: a plan describes up to QN_BIN_MAX_AXES axes, each with nbins >= 1
 * and nbins + 1 non-decreasing edges. A grid is one lane's partial state:
 * per cell a row count, optionally a weighted count and the value
 * accumulators. Cells are laid out row-major ([i0][i1]...[iD-1], the last
 * axis fastest), plus one extra "trash" cell at index plan->ncells that
 * receives every row that falls in no bin, so the accumulation loop has no
 * branch; its count is the out_of_range figure.
 *
 * Semantics (numpy.histogramdd): a row is in bin i of an axis when
 * edges[i] <= x < edges[i+1], except the last bin, which also takes
 * x == edges[nbins]. NaN or a value outside [edges[0], edges[nbins]] in any
 * axis puts the row in no bin.
 *
 * Thread rule: a plan is read-only after qn_bin_plan_init and may be shared;
 * a grid and a workspace belong to one thread at a time.
 */
#ifndef QN_BIN_H
#define QN_BIN_H

#include "../core/qn_core.h"

#ifndef QN_BIN_MAX_AXES
#define QN_BIN_MAX_AXES 8
#endif
/* Rows per kernel block: index pass, then accumulation pass. Large enough
 * that each column is read in long sequential runs (the hardware
 * prefetcher loses a stream at each switch between columns: 16384 rows
 * cut the 3-D 50^3 time by a fifth against 1024), small enough that the
 * block's indices (64 KiB) stay in L2. Does not affect results. */
#define QN_BIN_BLOCK 16384
#define QN_BIN_BLOCK_1COL 2048 /* a single column: its indices stay in L1 */
/* Irregular axes: a table over at most QN_BIN_LUT_CELLS equal cells of
 * [lo, hi]; a cell may hold at most QN_BIN_LUT_SPAN edges. */
#define QN_BIN_LUT_CELLS 2048
#define QN_BIN_LUT_SPAN 4
/* Count grids with at most this many cells keep QN_BIN_WAYS interleaved
 * copies of their 32-bit counters (row i counts in copy i mod WAYS), so a
 * run of rows in one hot bin does not wait on its own previous store. */
#define QN_BIN_WAYS 4
#define QN_BIN_WAYS_MAX_CELLS 4096

/* One axis. `edges` is owned by the caller and must outlive the plan. */
struct qn_bin_axis {
  int64_t nbins;       /* >= 1 */
  const double *edges; /* nbins + 1 values, non-decreasing, no NaN */
  int regular;         /* edges == numpy.linspace(lo, hi, nbins + 1) */
  double lo, hi;       /* edges[0], edges[nbins] */
  double scale;        /* regular: nbins / (hi - lo), the first guess */
  double step;         /* regular: (hi - lo) / nbins, linspace's step */
  /* Regular: the guess is provably within one bin of the truth (error
   * bound checked at setup), so one correction step needs no verification. */
  int guess_exact;
  /* Regular, guess_exact: when the fraction of t = (x - lo) * scale lies in
   * (frac_tol, 1 - frac_tol), floor(t) is provably the bin (frac_tol bounds
   * the rounding error of t plus that of the linspace edges, in bins, with
   * a factor 2 of margin); other rows take the corrected path. 0.5 = never. */
  double frac_tol;
  /* Irregular: a lookup table over lut_cells equal cells of [lo, hi]. A row
   * whose computed cell is j lies in a bin in [lut[j], lut[j] + lut_span]:
   * its bin is lut[j] plus the number of edges lut[j]+1 .. lut[j]+lut_span
   * that are <= x (all such indices are <= nbins). Used when lut_span <=
   * QN_BIN_LUT_SPAN (else binary search). */
  int lut_cells; /* 0 = no table */
  int lut_span;
  double lut_scale; /* lut_cells / (hi - lo) */
  uint32_t lut[QN_BIN_LUT_CELLS];
};

/* Value accumulators of one cell (present when the plan has a value), 32
 * bytes so that two share a cache line: shift is the first value seen in
 * the cell by this lane, s1 = sum(v - shift), s2 = sum((v - shift)^2);
 * qn_bin_grid_finish turns them into the lane mean, kept as shift + s1
 * (s1 becomes the mean of v - shift), and M2 (in `s2`) for Chan's merge.
 * The cell's row count is in the grid's counters, min and max in a
 * separate array (touched only when asked for). */
struct qn_bin_vcell {
  double sum, s1, s2, shift;
};
struct qn_bin_mcell {
  double min, max;
};

struct qn_bin_plan {
  int naxes;
  struct qn_bin_axis axes[QN_BIN_MAX_AXES];
  int64_t strides[QN_BIN_MAX_AXES]; /* in cells */
  int64_t ncells;                   /* product of nbins; trash cell = ncells */
  int has_value, has_weight;
  /* Set by qn_bin_plan_init to 1; a caller that will not ask for
   * QN_BIN_K_MIN / QN_BIN_K_MAX may clear it to skip their work and their
   * memory (the other statistics do not change by a bit). Grids must be
   * sized and laid out with the same setting. */
  int need_minmax;
  /* Set by qn_bin_plan_init: bin indices fit 32 bits and every regular axis
   * has guess_exact, so the 32-bit index path is used (else the float64
   * index path; both give the same cells). Tests clear it to check the
   * other path. */
  int index32;
  /* Set by qn_bin_plan_init: 2 or 3 regular axes with the fast path, whose
   * indices are computed in one pass over the columns. */
  int fused;
  /* Set by qn_bin_plan_init: a count of one regular axis with the fast
   * path and QN_BIN_WAYS counter copies, on a CPU with AVX-512 (F, DQ, BW,
   * VL): indices and counts in one pass, the bins bit for bit those of the
   * other paths. Tests clear it to compare. */
  int simd1;
};

struct qn_bin_grid {
  /* ncells + 1 rows per cell, complete after qn_bin_grid_finish (while
   * accumulating, rows are counted in c32). */
  int64_t *count;
  /* `ways` interleaved copies of ncells + 1 32-bit counters (ways > 1 only
   * for small grids without a value), added into `count` before they can
   * overflow (`pending` bounds them) and by qn_bin_grid_finish. Small
   * counters keep a 50^3 count grid in a 1 MiB L2. */
  uint32_t *c32;
  int ways;
  int64_t pending;
  double *wcount;          /* ncells + 1 weight sums (has_weight) or NULL */
  struct qn_bin_vcell *v;  /* ncells + 1 (has_value) or NULL */
  struct qn_bin_mcell *mm; /* ncells + 1 (has_value and need_minmax) or NULL */
  int finished;            /* shifted sums already turned into mean/M2 */
};

/* Edges of `nbins` regular bins over [lo, hi], bit for bit those of
 * numpy.linspace(lo, hi, nbins + 1) (two roundings per edge, last = hi).
 * Preconditions: nbins >= 1, lo < hi, both finite, hi - lo finite. */
void qn_bin_linspace(double lo, double hi, int64_t nbins, double *edges);

/* Checks and fills an axis. Regular: edges must hold nbins + 1 doubles and
 * are written; lo < hi finite (the caller applies numpy's LO == HI widening).
 * Irregular: edges given, checked non-decreasing and free of NaN (±inf are
 * allowed, as numpy allows). `name` is for messages.
 * Errors: QN_EINVAL naming the axis and the offending value. */
int qn_bin_axis_regular(struct qn_bin_axis *ax, const char *name, int64_t nbins, double lo,
                        double hi, double *edges, struct qn_error *err);
int qn_bin_axis_irregular(struct qn_bin_axis *ax, const char *name, const double *edges,
                          int64_t nedges, struct qn_error *err);

/* Bin of one value on one axis (slow, exact reference path): -1 when NaN or
 * outside the edges. */
int64_t qn_bin_axis_find(const struct qn_bin_axis *ax, double x);

/* Strides and cell count. Errors: QN_EINVAL (naxes outside 1..8), QN_ELIMIT
 * (the cell count overflows). */
int qn_bin_plan_init(struct qn_bin_plan *plan, const struct qn_bin_axis *axes, int naxes,
                     int has_value, int has_weight, struct qn_error *err);

/* Bytes of one grid (all arrays, 64-byte aligned pieces), and of the
 * scratch one worker needs (qn_bin_accumulate's `ws`). Saturate at
 * INT64_MAX instead of overflowing. */
int64_t qn_bin_grid_bytes(const struct qn_bin_plan *plan);
int64_t qn_bin_workspace_size(const struct qn_bin_plan *plan);

/* Lays a zeroed grid out in `mem` (qn_bin_grid_bytes bytes, 64-aligned). */
void qn_bin_grid_init(const struct qn_bin_plan *plan, struct qn_bin_grid *grid, void *mem);
/* The same in two steps, so that threads can share a large grid's first
 * touch: the layout (touches no cell), then cells [c0, c1) emptied
 * (disjoint ranges may be cleared at once, every cell up to ncells once).
 * `zeroed`: the memory is known to be all zero bits (a fresh mapping), so
 * only what starts non-zero (min/max) is written. */
void qn_bin_grid_layout(const struct qn_bin_plan *plan, struct qn_bin_grid *grid, void *mem);
void qn_bin_grid_clear(const struct qn_bin_plan *plan, struct qn_bin_grid *grid, int64_t c0,
                       int64_t c1, int zeroed);

/* Folds rows [row0, row0 + n) of the columns into the grid, in row order.
 * axes[k] is the column of axis k; value/weight may be NULL when the plan
 * has none. Any numeric column type; values are compared as float64 (as
 * numpy promotes against float64 edges). A null (valid[r] == 0) in any used
 * column sends the row to the trash cell. `ws` holds
 * qn_bin_workspace_size() bytes, 64-aligned. No allocation, no error. */
void qn_bin_accumulate(const struct qn_bin_plan *plan, struct qn_bin_grid *grid, void *ws,
                       const struct qn_colbuf *const *axes, const struct qn_colbuf *value,
                       const struct qn_colbuf *weight, int64_t row0, int64_t n);

/* Sliced accumulation ("owner computes"): one grid that many workers fill
 * at once. Its cells are cut into slices of 2^shift consecutive cells
 * (the trash cell in the last). A worker bins a morsel's rows once and
 * sorts them stably by slice (qn_bin_rows_fill); then slice by slice, each
 * applied by one worker at a time and morsels in input order (the caller
 * orders them, e.g. with qn_turns), it adds them to the grid
 * (qn_bin_rows_apply). Every cell then takes its rows in input order: the
 * grid's bits are those of one lane fed every morsel in order, whatever
 * the number of slices or workers. Needs plan->index32; no allocation. */
struct qn_bin_rows {
  int nslices;
  int64_t cap;   /* rows it can hold */
  uint32_t *tmp; /* cell of each row, input order */
  uint32_t *ix;  /* the same, sorted stably by slice */
  double *v, *w; /* value and weight of each sorted row (or NULL) */
  int64_t *off;  /* slice s holds sorted rows [off[s], off[s + 1]) */
  int64_t *cur;  /* scratch */
};
/* The smallest shift giving at most max_slices slices, and their number. */
int qn_bin_slice_shift(const struct qn_bin_plan *plan, int max_slices);
int qn_bin_slices(const struct qn_bin_plan *plan, int shift);
/* Bytes of a qn_bin_rows for `rows` rows (64-aligned pieces). */
int64_t qn_bin_rows_bytes(const struct qn_bin_plan *plan, int nslices, int64_t rows);
void qn_bin_rows_init(const struct qn_bin_plan *plan, struct qn_bin_rows *rows, void *mem,
                      int nslices, int64_t cap);
/* Bins rows [row0, row0 + n) (n <= cap) as qn_bin_accumulate does (`ws`:
 * qn_bin_workspace_size bytes) and sorts them by slice. */
void qn_bin_rows_fill(const struct qn_bin_plan *plan, void *ws, struct qn_bin_rows *rows,
                      int shift, const struct qn_colbuf *const *axes,
                      const struct qn_colbuf *value, const struct qn_colbuf *weight,
                      int64_t row0, int64_t n);
/* Adds the rows of `slice` to the grid, in their order. Touches only that
 * slice's cells, so different slices may be applied by different threads
 * at once. `pending` is the slice's own counter of rows since its 32-bit
 * counters were last flushed (start at 0). */
void qn_bin_rows_apply(const struct qn_bin_plan *plan, struct qn_bin_grid *grid,
                       const struct qn_bin_rows *rows, int shift, int slice, int64_t *pending);

/* Flushes the lane's counters into `count` and turns its shifted sums
 * into (mean, M2). Idempotent; after it the grid takes no more rows. */
void qn_bin_grid_finish(const struct qn_bin_plan *plan, struct qn_bin_grid *grid);
/* Its work on cells [c0, c1) only (disjoint ranges at once on different
 * threads; every cell up to ncells once); then the caller sets
 * grid->finished. Each cell's result is the one qn_bin_grid_finish gives. */
void qn_bin_grid_finish_cells(const struct qn_bin_plan *plan, struct qn_bin_grid *grid,
                              int64_t c0, int64_t c1);
/* dst += src (both finished): counts and sums added, mean/M2 by Chan's
 * formula, min/max NaN-propagating. The order of folds fixes the bits. */
void qn_bin_grid_fold(const struct qn_bin_plan *plan, struct qn_bin_grid *dst,
                      const struct qn_bin_grid *src);

/* Statistics of a finished grid, ncells values each (NaN = empty bin for
 * mean, std, min, max; see docs/bin.md). */
enum qn_bin_kstat {
  QN_BIN_K_COUNT, /* rows, or the weight sum when the plan has a weight */
  QN_BIN_K_SUM,
  QN_BIN_K_MEAN,
  QN_BIN_K_STD, /* population (ddof 0) */
  QN_BIN_K_MIN,
  QN_BIN_K_MAX
};
void qn_bin_grid_stat(const struct qn_bin_plan *plan, const struct qn_bin_grid *grid,
                      enum qn_bin_kstat stat, double *out);
/* The same for cells [c0, min(c1, ncells)) only (out indexed by cell). */
void qn_bin_grid_stat_cells(const struct qn_bin_plan *plan, const struct qn_bin_grid *grid,
                            enum qn_bin_kstat stat, double *out, int64_t c0, int64_t c1);

/* Min and max of the finite values of rows [row0, row0 + n) of a numeric
 * column (nulls skipped), folded into *mn / *mx (start at +inf / -inf).
 * Returns how many finite values were seen. */
int64_t qn_bin_finite_minmax(const struct qn_colbuf *col, int64_t row0, int64_t n, double *mn,
                             double *mx);
/* Its float64 loop over x[0..n): `simd` 1 uses AVX2 or AVX-512 when the
 * CPU has them, 0 forces the portable loop (tests compare the two). Which
 * of -0.0 and +0.0 a zero bound is may differ between them. */
int64_t qn_bin_minmax_f64(const double *x, int64_t n, double *mn, double *mx, int simd);

#endif /* QN_BIN_H */
