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
 * first series ("peak 203.4 MiB at 1.25 s": units are taken from the text in
 * parentheses at the end of xlabel and ylabel). x spans the data exactly; y
 * includes 0 when all values share a sign. Non-finite points break a line.
 * `title` may hold one '\n': the text after it is drawn as a smaller
 * subtitle (this holds for every plot here). QN_EINVAL when no series has a
 * finite point. */
int qn_plot_lines(const char *path, int width, int height, const char *title,
                  const char *xlabel, const char *ylabel, const struct qn_plot_series *series,
                  int nseries, int mark_peak, struct qn_error *err);

/* A histogram: nbins bars between edges[0..nbins] with heights values[i]
 * (NaN = empty bin, drawn distinctly). Bars stand on 0; a non-finite value
 * (NaN, ±inf) is a hatched light-grey column with a legend entry "no value".
 * Edges must be finite and non-decreasing with edges[nbins] > edges[0]
 * (else QN_EINVAL). */
int qn_plot_bars(const char *path, int width, int height, const char *title, const char *xlabel,
                 const char *ylabel, const double *edges, const double *values, size_t nbins,
                 struct qn_error *err);

/* A heatmap of values[ix * ny + iy] over x edges[0..nx] and y edges[0..ny],
 * with a colour bar labelled zlabel; NaN cells (empty bins) drawn distinctly.
 * Colours: viridis over the finite min..max of values (a constant grid uses
 * value ± 0.5). Non-finite cells show a light-grey hatch, explained under the
 * colour bar. Edges as for qn_plot_bars; cost O(width·height), independent
 * of nx·ny. */
int qn_plot_heatmap(const char *path, int width, int height, const char *title,
                    const char *xlabel, const char *ylabel, const char *zlabel,
                    const double *xedges, size_t nx, const double *yedges, size_t ny,
                    const double *values, struct qn_error *err);

/* The colour map of qn_plot_heatmap: viridis at t in [0, 1] (clamped; NaN
 * gives t = 0) as sRGB components in [0, 1]. */
void qn_plot_viridis(double t, double rgb[3]);

#endif /* QN_PLOT_H */
