/* qn_stats.h — the column-statistics kernel: pure computation on in-memory
 * columns, no I/O.
 *
 * Numerics: a morsel is summarised by count, NaN and null counts, min, max,
 * its sum (exact 128-bit for integer types; for floats n*mean + Σ(x - mean),
 * i.e. refined by the second pass) and M2 = Σ(x - mean)² from a two-pass
 * computation on values shifted by the morsel mean (or, for 64-bit integers,
 * by the morsel's first value, so deviations are exact). Morsels merge with
 * Chan's formula; float sums of morsels merge with Neumaier compensation.
 * The merge order is the caller's: in morsel order it is deterministic. */
#ifndef QN_STATS_H
#define QN_STATS_H

#include "core/qn_core.h"

struct qn_stats_acc {
  int64_t count, nan, null;
  double min, max;      /* float columns (and all columns' float view) */
  __int128 imin, imax;  /* integer columns, exact */
  __int128 isum;        /* integer columns, exact */
  double sum, sum_comp; /* float columns: Neumaier-compensated sum */
  long double mean;     /* mean of the merged values */
  double m2;            /* Σ (x - mean)² */
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
