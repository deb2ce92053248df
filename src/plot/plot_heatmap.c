/* plot_heatmap.c — qn_plot_heatmap: a 2-D grid of values as colour, with a
 * colour bar, used by `quern bin` for two axes.
 *
 * Design: the grid is rasterised per device pixel, not drawn as one
 * rectangle per cell: each pixel column finds its x bin and each pixel row
 * its y bin by binary search over the edges (irregular edges work; the last
 * bin is closed like numpy's), so the cost is O(W·H + (W+H)·log n) whatever
 * the number of bins, and there are no seams between cells. Colours come
 * from viridis (perceptually uniform, readable in grey and by colour-blind
 * readers) over the finite min..max of the values; cells without a finite
 * value leave the hatched background visible and get a legend swatch.
 * Memory: the surface, one plot-area ARGB raster and two int index arrays.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/qn_core.h"
#include "plot/qn_plot_frame.h"

/* Viridis (Nathaniel Smith and Stéfan van der Walt, CC0) at t = 0, 0.1, .., 1;
 * linear interpolation in sRGB between these stops stays within a few
 * levels of the full 256-entry table. */
static const unsigned char qn_viridis_stops[11][3] = {
    {0x44, 0x01, 0x54}, {0x48, 0x25, 0x76}, {0x41, 0x44, 0x87}, {0x35, 0x60, 0x8d},
    {0x2a, 0x78, 0x8e}, {0x21, 0x90, 0x8c}, {0x22, 0xa8, 0x84}, {0x43, 0xbf, 0x71},
    {0x7a, 0xd1, 0x51}, {0xbb, 0xdf, 0x27}, {0xfd, 0xe7, 0x25}};

void qn_plot_viridis(double t, double rgb[3]) {
  if (!(t >= 0)) t = 0; /* also catches NaN */
  if (t > 1) t = 1;
  double u = t * 10;
  int i = (int)u;
  if (i > 9) i = 9;
  double w = u - i;
  for (int c = 0; c < 3; c++)
    rgb[c] = ((1 - w) * qn_viridis_stops[i][c] + w * qn_viridis_stops[i + 1][c]) / 255.0;
}

static int qn_plot_edges_check(const char *path, const char *name, const double *e, size_t n,
                               struct qn_error *err) {
  if (!e || n == 0) return qn_error_set(err, QN_EINVAL, "plot %s: no %s bins", path, name);
  for (size_t i = 0; i <= n; i++)
    if (!isfinite(e[i]) || (i > 0 && e[i] < e[i - 1]))
      return qn_error_set(err, QN_EINVAL,
                          "plot %s: %s edges must be finite and non-decreasing "
                          "(edge %zu is %g)",
                          path, name, i, e[i]);
  if (!(e[n] > e[0]))
    return qn_error_set(err, QN_EINVAL, "plot %s: %s edges span no range", path, name);
  return QN_OK;
}

/* Index of the bin holding v: the last i with e[i] <= v, at most n-1. */
static size_t qn_plot_bin_of(const double *e, size_t n, double v) {
  size_t lo = 0, hi = n; /* invariant: e[lo] <= v (or lo == 0), answer < hi */
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (e[mid] <= v)
      lo = mid;
    else
      hi = mid;
  }
  return lo;
}

static void qn_plot_zrange(const double *values, size_t count, double *zlo, double *zhi,
                           int *any_nan) {
  *zlo = INFINITY;
  *zhi = -INFINITY;
  *any_nan = 0;
  for (size_t i = 0; i < count; i++) {
    if (!isfinite(values[i])) {
      *any_nan = 1;
      continue;
    }
    *zlo = fmin(*zlo, values[i]);
    *zhi = fmax(*zhi, values[i]);
  }
  if (*zlo > *zhi) { /* no finite value at all */
    *zlo = 0;
    *zhi = 1;
  } else if (*zlo == *zhi) {
    *zlo -= 0.5;
    *zhi += 0.5;
  }
}

struct qn_plot_grid {
  const double *xedges, *yedges, *values;
  size_t nx, ny;
  double zlo, zhi;
};

static int qn_plot_raster(struct qn_plot_frame *f, const struct qn_plot_grid *g,
                          struct qn_error *err) {
  int status = QN_OK;
  int w = (int)(f->right - f->left), h = (int)(f->bottom - f->top);
  size_t *col = malloc(sizeof *col * (size_t)w), *row = malloc(sizeof *row * (size_t)h);
  cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
  if (!col || !row || cairo_surface_status(img) != CAIRO_STATUS_SUCCESS) {
    status = qn_error_set(err, QN_ENOMEM, "out of memory drawing a %dx%d heatmap", w, h);
    goto done;
  }
  for (int c = 0; c < w; c++)
    col[c] = qn_plot_bin_of(g->xedges, g->nx, f->x.lo + (c + 0.5) / w * (f->x.hi - f->x.lo));
  for (int r = 0; r < h; r++)
    row[r] = qn_plot_bin_of(g->yedges, g->ny, f->y.hi - (r + 0.5) / h * (f->y.hi - f->y.lo));
  cairo_surface_flush(img);
  unsigned char *data = cairo_image_surface_get_data(img);
  int stride = cairo_image_surface_get_stride(img);
  for (int r = 0; r < h; r++) {
    uint32_t *px = (uint32_t *)(void *)(data + (size_t)r * stride);
    for (int c = 0; c < w; c++) {
      double v = g->values[col[c] * g->ny + row[r]], rgb[3];
      if (!isfinite(v)) {
        px[c] = 0; /* transparent: the hatch shows through */
        continue;
      }
      qn_plot_viridis((v - g->zlo) / (g->zhi - g->zlo), rgb);
      px[c] = 0xff000000u | (uint32_t)lround(rgb[0] * 255) << 16 |
              (uint32_t)lround(rgb[1] * 255) << 8 | (uint32_t)lround(rgb[2] * 255);
    }
  }
  cairo_surface_mark_dirty(img);
  cairo_set_source_surface(f->cr, img, f->left, f->top);
  cairo_paint(f->cr);
done:
  free(col);
  free(row);
  if (img) cairo_surface_destroy(img);
  return status;
}

/* Pixels right of the plot: gap, bar, ticks, the widest tick label, zlabel. */
static double qn_plot_cbar_extra(struct qn_plot_frame *f, const struct qn_plot_axis *z,
                                 const char *zlabel, int any_nan) {
  char buf[64];
  double s = f->font, wl = any_nan ? qn_plot_text_width(f->cr, "no value", 0.85 * s, 0) : 0;
  for (int i = 0; i < z->nticks; i++) {
    qn_plot_tick_label(z->ticks[i], z->step, buf, sizeof buf);
    wl = fmax(wl, qn_plot_text_width(f->cr, buf, 0.85 * s, 0));
  }
  return 1.2 * s + 1.2 * s + 0.7 * s + wl + (zlabel && *zlabel ? 1.8 * s : 0);
}

static void qn_plot_cbar(struct qn_plot_frame *f, const struct qn_plot_axis *z,
                         const char *zlabel, int any_nan) {
  cairo_t *cr = f->cr;
  double s = f->font, x = floor(f->right + 1.2 * s), bw = floor(1.2 * s);
  double top = f->top, bottom = f->bottom - (any_nan ? 2.4 * s : 0);
  cairo_pattern_t *grad = cairo_pattern_create_linear(0, bottom, 0, top);
  for (int i = 0; i <= 10; i++) {
    double rgb[3];
    qn_plot_viridis(i / 10.0, rgb);
    cairo_pattern_add_color_stop_rgb(grad, i / 10.0, rgb[0], rgb[1], rgb[2]);
  }
  cairo_rectangle(cr, x, top, bw, bottom - top);
  cairo_set_source(cr, grad);
  cairo_fill(cr);
  cairo_pattern_destroy(grad);
  cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
  cairo_set_line_width(cr, 1);
  cairo_rectangle(cr, x + 0.5, floor(top) + 0.5, bw - 1, floor(bottom - top));
  cairo_stroke(cr);
  char buf[64];
  double wl = 0;
  for (int i = 0; i < z->nticks; i++) {
    double py = bottom - (z->ticks[i] - z->lo) / (z->hi - z->lo) * (bottom - top);
    cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
    cairo_move_to(cr, x + bw, floor(py) + 0.5);
    cairo_line_to(cr, x + bw + 0.4 * s, floor(py) + 0.5);
    cairo_stroke(cr);
    qn_plot_tick_label(z->ticks[i], z->step, buf, sizeof buf);
    cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
    wl = fmax(wl, qn_plot_text(cr, buf, x + bw + 0.7 * s, py, 0.85 * s, 0, QN_ALIGN_START,
                               QN_ALIGN_CENTER));
  }
  if (any_nan) {
    qn_plot_hatch(cr, x, f->bottom - 1.4 * s, bw, 1.4 * s);
    cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
    qn_plot_text(cr, "no value", x + bw + 0.7 * s, f->bottom - 0.7 * s, 0.85 * s, 0,
                 QN_ALIGN_START, QN_ALIGN_CENTER);
  }
  if (any_nan) wl = fmax(wl, qn_plot_text_width(cr, "no value", 0.85 * s, 0));
  if (zlabel && *zlabel) {
    /* Rotated a quarter turn counter-clockwise, the text's top faces left:
     * START alignment puts it just right of the widest tick label. */
    cairo_save(cr);
    cairo_translate(cr, x + bw + 0.7 * s + wl + 0.5 * s, (top + bottom) / 2);
    cairo_rotate(cr, -M_PI / 2);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    qn_plot_text(cr, zlabel, 0, 0, s, 0, QN_ALIGN_CENTER, QN_ALIGN_START);
    cairo_restore(cr);
  }
}

int qn_plot_heatmap(const char *path, int width, int height, const char *title,
                    const char *xlabel, const char *ylabel, const char *zlabel,
                    const double *xedges, size_t nx, const double *yedges, size_t ny,
                    const double *values, struct qn_error *err) {
  int status = QN_OK, any_nan = 0;
  struct qn_plot_frame f;
  struct qn_plot_axis z;
  struct qn_plot_grid g = {xedges, yedges, values, nx, ny, 0, 0};
  memset(&f, 0, sizeof f);
  if (!path || !values) return qn_error_set(err, QN_EINVAL, "plot: no values to draw");
  QN_CHECK(qn_plot_edges_check(path, "x", xedges, nx, err));
  QN_CHECK(qn_plot_edges_check(path, "y", yedges, ny, err));
  QN_CHECK(qn_plot_frame_begin(&f, width, height, err));
  qn_plot_zrange(values, nx * ny, &g.zlo, &g.zhi, &any_nan);
  qn_plot_axis_make(&z, g.zlo, g.zhi, QN_MAX(3, QN_MIN(8, (int)(height / (4 * f.font)))), 0);
  int xt = QN_MAX(3, (int)(width / (7 * f.font)));
  qn_plot_axis_make(&f.x, xedges[0], xedges[nx], QN_MIN(xt, 10), 0);
  qn_plot_axis_make(&f.y, yedges[0], yedges[ny],
                    QN_MAX(3, QN_MIN(8, (int)(height / (4 * f.font)))), 0);
  f.right_extra = qn_plot_cbar_extra(&f, &z, zlabel, any_nan);
  qn_plot_frame_layout(&f, title, xlabel, ylabel);
  /* Whole pixels, so the raster lines up with the axes exactly. */
  f.left = floor(f.left);
  f.right = floor(f.right);
  f.top = floor(f.top);
  f.bottom = floor(f.bottom);
  qn_plot_hatch(f.cr, f.left, f.top, f.right - f.left, f.bottom - f.top);
  QN_CHECK(qn_plot_raster(&f, &g, err));
  qn_plot_frame_axes(&f, title, xlabel, ylabel);
  qn_plot_cbar(&f, &z, zlabel, any_nan);
  status = qn_plot_frame_write(&f, path, err);
done:
  qn_plot_frame_end(&f);
  return status;
}
