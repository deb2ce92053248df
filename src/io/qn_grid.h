/* qn_grid.h — the grid writer (grid_writer.c): a binning job's N-d
 * result as JSON, CSV or HDF5. */
#ifndef QN_GRID_H
#define QN_GRID_H

#include <stdio.h>

#include "core/qn_core.h"

#define QN_GRID_MAX_AXES 32
#define QN_GRID_MAX_STATS 16

/* What a grid file holds; every pointer is borrowed. */
struct qn_grid {
  int naxes;
  const char *const *names;   /* naxes axis (column) names */
  const int64_t *nbins;       /* naxes */
  const double *const *edges; /* naxes arrays of nbins + 1 */
  int nstats;
  const char *const *stat_names; /* nstats */
  const double *const *values;   /* nstats arrays of ncells, C order */
  const int *as_int;             /* nstats: 1 = written as integers */
  int64_t ncells;
  const char *version;       /* quern_version */
  const char *const *inputs; /* ninputs paths */
  int ninputs;
  const char *value, *weight; /* may be NULL */
  int64_t rows, out_of_range;
};

/* JSON: quern_version, inputs, rows, out_of_range, value, weight, axes
 * (name, edges), stats (nested arrays); to f (path names it in errors,
 * NULL = standard output). */
int qn_grid_write_json(const struct qn_grid *r, FILE *f, const char *path,
                       struct qn_error *err);
/* CSV: one row per cell, NAME_lo,NAME_hi per axis then the statistics. */
int qn_grid_write_csv(struct qn_context *ctx, const struct qn_grid *r, FILE *f,
                      const char *path, struct qn_error *err);
/* HDF5 at `tmp` (the caller renames it to `path`): a dataset per
 * statistic shaped by the axes, edges/NAME, attributes for the rest. */
int qn_grid_write_h5(const struct qn_grid *r, const char *tmp, const char *path,
                     struct qn_error *err);

#endif /* QN_GRID_H */
