/* plot_lines.c — qn_plot_lines: y over x for one or more series, used by
 * `quern monitor` for memory over time.
 *
 * Design: x spans exactly the data (a time axis starts at its first sample);
 * y includes zero when all values share a sign (memory plots must not
 * exaggerate a flat line) and leaves headroom above the highest value for
 * the peak label. Non-finite points break the line instead of being drawn.
 * A single series is filled lightly underneath. Work is O(total points);
 * no allocation beyond the frame's surface.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/qn_core.h"
#include "plot/qn_plot_frame.h"

static int qn_plot_lines_range(const struct qn_plot_series *series, int nseries, double *xlo,
                               double *xhi, double *ylo, double *yhi) {
  int any = 0;
  *xlo = *ylo = INFINITY;
  *xhi = *yhi = -INFINITY;
  for (int s = 0; s < nseries; s++) {
    for (size_t i = 0; i < series[s].n; i++) {
      double x = series[s].x[i], y = series[s].y[i];
      if (!isfinite(x) || !isfinite(y)) continue;
      any = 1;
      *xlo = fmin(*xlo, x);
      *xhi = fmax(*xhi, x);
      *ylo = fmin(*ylo, y);
      *yhi = fmax(*yhi, y);
    }
  }
  return any;
}

static void qn_plot_lines_axes(struct qn_plot_frame *f, double xlo, double xhi, double ylo,
                               double yhi) {
  if (xhi == xlo) {
    xlo -= 0.5;
    xhi += 0.5;
  }
  if (ylo >= 0)
    ylo = 0;
  else if (yhi <= 0)
    yhi = 0;
  if (yhi == ylo) yhi = ylo + 1;
  yhi += 0.08 * (yhi - ylo);
  int xt = QN_MAX(3, (int)(f->width / (7 * f->font)));
  int yt = QN_MAX(3, (int)(f->height / (4 * f->font)));
  qn_plot_axis_make(&f->y, ylo, yhi, QN_MIN(yt, 8), 1);
  qn_plot_axis_make(&f->x, xlo, xhi, QN_MIN(xt, 10), 0);
}

/* Traces one series, starting a new sub-path after each non-finite point. */
static void qn_plot_lines_path(struct qn_plot_frame *f, const struct qn_plot_series *s) {
  int pen = 0;
  for (size_t i = 0; i < s->n; i++) {
    if (!isfinite(s->x[i]) || !isfinite(s->y[i])) {
      pen = 0;
      continue;
    }
    double px = qn_plot_frame_px(f, s->x[i]), py = qn_plot_frame_py(f, s->y[i]);
    if (pen)
      cairo_line_to(f->cr, px, py);
    else
      cairo_move_to(f->cr, px, py);
    pen = 1;
  }
}

static void qn_plot_lines_fill(struct qn_plot_frame *f, const struct qn_plot_series *s,
                               struct qn_plot_rgb c) {
  double base = qn_plot_frame_py(f, f->y.lo < 0 && f->y.hi > 0 ? 0 : f->y.lo);
  for (size_t i = 0; i < s->n;) {
    while (i < s->n && !(isfinite(s->x[i]) && isfinite(s->y[i]))) i++;
    size_t j = i;
    while (j < s->n && isfinite(s->x[j]) && isfinite(s->y[j])) j++;
    if (j > i + 1) {
      cairo_move_to(f->cr, qn_plot_frame_px(f, s->x[i]), base);
      for (size_t k = i; k < j; k++)
        cairo_line_to(f->cr, qn_plot_frame_px(f, s->x[k]), qn_plot_frame_py(f, s->y[k]));
      cairo_line_to(f->cr, qn_plot_frame_px(f, s->x[j - 1]), base);
      cairo_close_path(f->cr);
    }
    i = j;
  }
  cairo_set_source_rgba(f->cr, c.r, c.g, c.b, 0.14);
  cairo_fill(f->cr);
}

/* "memory (MiB)" → "MiB"; empty when the label has no unit in parentheses. */
static void qn_plot_unit(const char *label, char *unit, size_t cap) {
  unit[0] = '\0';
  const char *open = label ? strrchr(label, '(') : NULL;
  const char *close = open ? strchr(open, ')') : NULL;
  if (open && close && close > open + 1)
    snprintf(unit, cap, "%.*s", (int)(close - open - 1), open + 1);
}

/* A value read off an axis: one decimal more than its tick labels, none
 * for large values on an integer axis. */
static void qn_plot_number(double v, double step, char *buf, size_t cap) {
  int dec = (step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9)) + 1;
  if (step >= 1 && fabs(v) >= 1000) dec = 0;
  if (fabs(v) >= 1e12 || (v != 0 && fabs(v) < 1e-4))
    snprintf(buf, cap, "%.4g", v);
  else
    snprintf(buf, cap, "%.*f", dec, v);
}

static void qn_plot_peak_label(struct qn_plot_frame *f, const char *text, double px,
                               double py) {
  cairo_t *cr = f->cr;
  double s = f->font, size = 0.9 * s, w = qn_plot_text_width(cr, text, size, 1);
  double gap = 0.6 * s, h = 1.35 * size;
  /* Right of the marker when it fits, else left; above unless too high. */
  double x = px + gap;
  if (x + w + 0.3 * s > f->right) x = px - gap - w;
  if (x < f->left + 0.3 * s) x = f->left + 0.3 * s;
  double y = py - gap - h;
  if (y < f->top + 0.2 * s) y = py + gap;
  cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
  cairo_rectangle(cr, x - 0.25 * s, y, w + 0.5 * s, h);
  cairo_fill(cr);
  cairo_set_source_rgb(cr, 0.70, 0.10, 0.10);
  qn_plot_text(cr, text, x, y + h / 2, size, 1, QN_ALIGN_START, QN_ALIGN_CENTER);
}

static void qn_plot_mark_peak(struct qn_plot_frame *f, const struct qn_plot_series *s,
                              const char *xlabel, const char *ylabel) {
  size_t best = s->n;
  for (size_t i = 0; i < s->n; i++)
    if (isfinite(s->x[i]) && isfinite(s->y[i]) && (best == s->n || s->y[i] > s->y[best]))
      best = i;
  if (best == s->n) return;
  cairo_t *cr = f->cr;
  double px = qn_plot_frame_px(f, s->x[best]), py = qn_plot_frame_py(f, s->y[best]);
  double dash[] = {4, 3};
  struct qn_plot_rgb red = qn_plot_hex(QN_PLOT_PEAK_RGB);
  cairo_set_source_rgba(cr, red.r, red.g, red.b, 0.6);
  cairo_set_line_width(cr, 1);
  cairo_set_dash(cr, dash, 2, 0);
  cairo_move_to(cr, f->left, floor(py) + 0.5);
  cairo_line_to(cr, px, floor(py) + 0.5);
  cairo_stroke(cr);
  cairo_set_dash(cr, NULL, 0, 0);
  cairo_arc(cr, px, py, 0.42 * f->font, 0, 2 * M_PI);
  cairo_set_source_rgb(cr, red.r, red.g, red.b);
  cairo_fill_preserve(cr);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_set_line_width(cr, 1.5);
  cairo_stroke(cr);
  char xu[32], yu[32], xv[32], yv[32], text[160];
  qn_plot_unit(xlabel, xu, sizeof xu);
  qn_plot_unit(ylabel, yu, sizeof yu);
  qn_plot_number(s->x[best], f->x.step, xv, sizeof xv);
  qn_plot_number(s->y[best], f->y.step, yv, sizeof yv);
  snprintf(text, sizeof text, "peak %s%s%s at %s%s%s", yv, yu[0] ? " " : "", yu,
           xu[0] ? "" : "x = ", xv, xu[0] ? " " : "");
  if (xu[0]) strncat(text, xu, sizeof text - strlen(text) - 1);
  qn_plot_peak_label(f, text, px, py);
}

static void qn_plot_legend(struct qn_plot_frame *f, const struct qn_plot_series *series,
                           int nseries) {
  cairo_t *cr = f->cr;
  double s = f->font, size = 0.85 * s, row = 1.4 * size, w = 0;
  int rows = 0;
  for (int i = 0; i < nseries; i++)
    if (series[i].label) {
      w = fmax(w, qn_plot_text_width(cr, series[i].label, size, 0));
      rows++;
    }
  if (rows == 0) return;
  double x = f->left + 0.6 * s, y = f->top + 0.6 * s, sw = 1.8 * s;
  cairo_set_source_rgba(cr, 1, 1, 1, 0.9);
  cairo_rectangle(cr, x, y, w + sw + 1.2 * s, rows * row + 0.6 * s);
  cairo_fill_preserve(cr);
  cairo_set_source_rgb(cr, 0.8, 0.8, 0.8);
  cairo_set_line_width(cr, 1);
  cairo_stroke(cr);
  double cy = y + 0.3 * s + row / 2;
  for (int i = 0; i < nseries; i++) {
    if (!series[i].label) continue;
    struct qn_plot_rgb c = qn_plot_palette[i % 8];
    cairo_set_source_rgb(cr, c.r, c.g, c.b);
    cairo_set_line_width(cr, 2);
    cairo_move_to(cr, x + 0.4 * s, cy);
    cairo_line_to(cr, x + 0.4 * s + sw - 0.4 * s, cy);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    qn_plot_text(cr, series[i].label, x + sw + 0.4 * s, cy, size, 0, QN_ALIGN_START,
                 QN_ALIGN_CENTER);
    cy += row;
  }
}

static void qn_plot_lines_draw(struct qn_plot_frame *f, const struct qn_plot_series *series,
                               int nseries) {
  cairo_t *cr = f->cr;
  qn_plot_frame_clip(f);
  if (nseries == 1) qn_plot_lines_fill(f, &series[0], qn_plot_palette[0]);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
  for (int s = 0; s < nseries; s++) {
    struct qn_plot_rgb c = qn_plot_palette[s % 8];
    cairo_set_source_rgb(cr, c.r, c.g, c.b);
    qn_plot_lines_path(f, &series[s]);
    /* Dense series (more points than pixel pairs) read better thin. */
    int dense = (double)series[s].n > (f->right - f->left) / 2;
    cairo_set_line_width(cr, dense ? 1.1 : fmax(1.5, f->font / 7));
    cairo_stroke(cr);
    if (series[s].n == 1 && isfinite(series[s].x[0]) && isfinite(series[s].y[0])) {
      cairo_arc(cr, qn_plot_frame_px(f, series[s].x[0]), qn_plot_frame_py(f, series[s].y[0]),
                0.25 * f->font, 0, 2 * M_PI);
      cairo_fill(cr);
    }
  }
  qn_plot_frame_unclip(f);
}

int qn_plot_lines(const char *path, int width, int height, const char *title,
                  const char *xlabel, const char *ylabel, const struct qn_plot_series *series,
                  int nseries, int mark_peak, struct qn_error *err) {
  int status = QN_OK;
  struct qn_plot_frame f;
  double xlo, xhi, ylo, yhi;
  memset(&f, 0, sizeof f);
  if (!path || !series || nseries < 1)
    return qn_error_set(err, QN_EINVAL, "plot %s: no series to draw", path ? path : "");
  for (int s = 0; s < nseries; s++)
    if (series[s].n > 0 && (!series[s].x || !series[s].y))
      return qn_error_set(err, QN_EINVAL, "plot %s: series %d has no x or y array", path, s);
  if (!qn_plot_lines_range(series, nseries, &xlo, &xhi, &ylo, &yhi))
    return qn_error_set(err, QN_EINVAL, "plot %s: no finite point to draw", path);
  QN_CHECK(qn_plot_frame_begin(&f, width, height, err));
  qn_plot_lines_axes(&f, xlo, xhi, ylo, yhi);
  qn_plot_frame_layout(&f, title, xlabel, ylabel);
  qn_plot_lines_draw(&f, series, nseries);
  qn_plot_frame_axes(&f, title, xlabel, ylabel);
  if (mark_peak) qn_plot_mark_peak(&f, &series[0], xlabel, ylabel);
  qn_plot_legend(&f, series, nseries);
  status = qn_plot_frame_write(&f, path, err);
done:
  qn_plot_frame_end(&f);
  return status;
}
