/* qn_plot.h — PNG plots drawn with cairo, shared by `quern monitor` (lines)
 * and `quern bin` (bars, heatmap). Internal to libquern.
 *
 * Every function writes the PNG atomically (temporary name, renamed when
 * complete; see qn_outfile), so a failed plot leaves nothing behind and
 * never damages an existing file. Errors: QN_EIO (cannot write, the message
 * names the path), QN_EINVAL (no data, bad sizes). Thread rule: any thread,
 * no shared state. */
#ifndef QN_PLOT_H
#define QN_PLOT_H

#include <stddef.h>

#include "quern.h"

struct qn_plot_series {
  const double *x;
  const double *y;
  size_t n;
  const char *label; /* legend text; NULL = no legend entry */
};

/* Lines of y over x. mark_peak != 0 marks and labels the highest y of the
 * first series. */
int qn_plot_lines(const char *path, int width, int height, const char *title,
                  const char *xlabel, const char *ylabel,
                  const struct qn_plot_series *series, int nseries, int mark_peak,
                  struct qn_error *err);

/* A histogram: nbins bars between edges[0..nbins] with heights values[i]
 * (NaN = empty bin, drawn distinctly). */
int qn_plot_bars(const char *path, int width, int height, const char *title,
                 const char *xlabel, const char *ylabel, const double *edges,
                 const double *values, size_t nbins, struct qn_error *err);

/* A heatmap of values[ix * ny + iy] over x edges[0..nx] and y edges[0..ny],
 * with a colour bar labelled zlabel; NaN cells (empty bins) drawn distinctly. */
int qn_plot_heatmap(const char *path, int width, int height, const char *title,
                    const char *xlabel, const char *ylabel, const char *zlabel,
                    const double *xedges, size_t nx, const double *yedges, size_t ny,
                    const double *values, struct qn_error *err);

#endif /* QN_PLOT_H */
