/* qn_stats.h — the column-statistics kernel: pure computation on in-memory
 * columns, no I/O.
 *
 * Numerics: a morsel is summarised by count, NaN and null counts, min, max
 * and its moments. Float columns: the sum n*mean + Σ(x - mean) (refined by
 * the second pass) and M2 = Σ(x - mean)² from a two-pass computation on
 * values shifted by the morsel mean; morsels merge with Chan's formula and
 * their sums with Neumaier compensation, so the merge order is the
 * caller's (in morsel order it is deterministic). Integer columns: Σx and
 * Σx² as exact integers (128 and 192 bits), merged by exact addition, so
 * any order gives the same result; the variance is rounded once, at the
 * end, from the exact numerator n·Σx² - (Σx)². */
#ifndef QN_STATS_H
#define QN_STATS_H

#include "core/qn_core.h"

struct qn_stats_acc {
  int64_t count, nan, null;
  double min, max;      /* float columns (and all columns' float view) */
  __int128 imin, imax;  /* integer columns, exact */
  __int128 isum;        /* integer columns: Σx, exact */
  uint64_t isq[3];      /* integer columns: Σx², exact, 192 bits, low limb first */
  double sum, sum_comp; /* float columns: Neumaier-compensated sum */
  long double mean;     /* float columns: mean of the merged values */
  double m2;            /* float columns: Σ (x - mean)² */
};

void qn_stats_acc_init(struct qn_stats_acc *a);
/* Summarises one column of a morsel into `out` (initialised here). */
void qn_stats_morsel(const struct qn_colbuf *col, struct qn_stats_acc *out);
/* Folds b into a (a then holds the statistics of both, a's values first). */
void qn_stats_merge(struct qn_stats_acc *a, const struct qn_stats_acc *b, int is_integer);
/* Fills the public result from an accumulator. */
void qn_stats_finish(const struct qn_stats_acc *a, enum qn_type type,
                     struct qn_column_stats *out);

#endif /* QN_STATS_H */
