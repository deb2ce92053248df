/* plot_bars.c — qn_plot_bars: a histogram of nbins bars over their edges,
 * used by `quern bin` for one axis.
 *
 * Design: bars stand on zero (down for negative values, e.g. a mean);
 * the y range always includes zero and gets 5% headroom. A bin whose value
 * is not finite (NaN: an empty bin's mean or std) is a hatched column over
 * the whole height, with a legend entry, so "no value" is never confused
 * with 0. Separating lines between bars are drawn only when bars are at
 * least 4 px wide. Work O(nbins); no allocation beyond the surface.
 */
#include <math.h>
#include <string.h>

#include "core/qn_core.h"
#include "plot/qn_plot_frame.h"

static int qn_plot_bars_check(const char *path, const double *edges, const double *values,
                              size_t nbins, int *any_nan, double *vlo, double *vhi,
                              struct qn_error *err) {
  if (!path || !edges || !values || nbins == 0)
    return qn_error_set(err, QN_EINVAL, "plot %s: no bins to draw", path ? path : "");
  *any_nan = 0;
  *vlo = 0;
  *vhi = 0;
  for (size_t i = 0; i <= nbins; i++) {
    if (!isfinite(edges[i]) || (i > 0 && edges[i] < edges[i - 1]))
      return qn_error_set(err, QN_EINVAL,
                          "plot %s: bin edges must be finite and non-decreasing "
                          "(edge %zu is %g)",
                          path, i, edges[i]);
  }
  if (!(edges[nbins] > edges[0]))
    return qn_error_set(err, QN_EINVAL, "plot %s: bin edges span no range (%g .. %g)", path,
                        edges[0], edges[nbins]);
  for (size_t i = 0; i < nbins; i++) {
    if (!isfinite(values[i])) {
      *any_nan = 1;
      continue;
    }
    *vlo = fmin(*vlo, values[i]);
    *vhi = fmax(*vhi, values[i]);
  }
  return QN_OK;
}

static void qn_plot_bars_draw(struct qn_plot_frame *f, const double *edges,
                              const double *values, size_t nbins) {
  cairo_t *cr = f->cr;
  struct qn_plot_rgb c = qn_plot_palette[0];
  double zero = qn_plot_frame_py(f, 0);
  double px_per_bin = (f->right - f->left) / (double)nbins;
  qn_plot_frame_clip(f);
  for (size_t i = 0; i < nbins; i++) {
    double x0 = qn_plot_frame_px(f, edges[i]), x1 = qn_plot_frame_px(f, edges[i + 1]);
    if (!isfinite(values[i])) {
      qn_plot_hatch(cr, x0, f->top, x1 - x0, f->bottom - f->top);
      continue;
    }
    double y = qn_plot_frame_py(f, values[i]);
    cairo_rectangle(cr, x0, fmin(y, zero), x1 - x0, fabs(zero - y));
    cairo_set_source_rgb(cr, c.r, c.g, c.b);
    cairo_fill_preserve(cr);
    if (px_per_bin >= 4) {
      cairo_set_source_rgb(cr, 0.08, 0.32, 0.50);
      cairo_set_line_width(cr, 1);
      cairo_stroke(cr);
    } else {
      cairo_new_path(cr);
    }
  }
  if (f->y.lo < 0) {
    cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
    cairo_move_to(cr, f->left, floor(zero) + 0.5);
    cairo_line_to(cr, f->right, floor(zero) + 0.5);
    cairo_stroke(cr);
  }
  qn_plot_frame_unclip(f);
}

static void qn_plot_bars_legend(struct qn_plot_frame *f) {
  cairo_t *cr = f->cr;
  double s = f->font, size = 0.85 * s;
  const char *text = "no value (empty bin)";
  double w = qn_plot_text_width(cr, text, size, 0), sw = 1.4 * s;
  double x = f->right - w - sw - 1.4 * s, y = f->top + 0.6 * s, h = 1.6 * s;
  cairo_set_source_rgba(cr, 1, 1, 1, 0.92);
  cairo_rectangle(cr, x, y, w + sw + 1.0 * s, h);
  cairo_fill_preserve(cr);
  cairo_set_source_rgb(cr, 0.8, 0.8, 0.8);
  cairo_set_line_width(cr, 1);
  cairo_stroke(cr);
  qn_plot_hatch(cr, x + 0.3 * s, y + 0.3 * s, sw, h - 0.6 * s);
  cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
  qn_plot_text(cr, text, x + sw + 0.6 * s, y + h / 2, size, 0, QN_ALIGN_START, QN_ALIGN_CENTER);
}

int qn_plot_bars(const char *path, int width, int height, const char *title, const char *xlabel,
                 const char *ylabel, const double *edges, const double *values, size_t nbins,
                 struct qn_error *err) {
  int status = QN_OK, any_nan = 0;
  double vlo, vhi;
  struct qn_plot_frame f;
  memset(&f, 0, sizeof f);
  QN_CHECK(qn_plot_bars_check(path, edges, values, nbins, &any_nan, &vlo, &vhi, err));
  QN_CHECK(qn_plot_frame_begin(&f, width, height, err));
  if (vhi == vlo) vhi = 1; /* every bin 0 (or no value) */
  double head = 0.05 * (vhi - vlo);
  int xt = QN_MAX(3, (int)(f.width / (7 * f.font)));
  qn_plot_axis_make(&f.y, vlo < 0 ? vlo - head : 0, vhi > 0 ? vhi + head : 0, 6, 1);
  qn_plot_axis_make(&f.x, edges[0], edges[nbins], QN_MIN(xt, 10), 0);
  qn_plot_frame_layout(&f, title, xlabel, ylabel);
  qn_plot_bars_draw(&f, edges, values, nbins);
  qn_plot_frame_axes(&f, title, xlabel, ylabel);
  if (any_nan) qn_plot_bars_legend(&f);
  status = qn_plot_frame_write(&f, path, err);
done:
  qn_plot_frame_end(&f);
  return status;
}
