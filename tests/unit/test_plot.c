/* test_plot.c — the cairo plots: each case draws a PNG, reads it back with
 * cairo and checks what a reader would see: the size, the peak marker where
 * the peak is, bar heights in proportion to the values, heatmap cells in
 * the right colour and place, empty bins hatched, and clean failures that
 * leave no file behind. */
#include <cairo.h>
#include <dlfcn.h>
#include <stdint.h>
#include <unistd.h>

#include "harness.h"
#include "plot/qn_plot.h"
#include "plot/qn_plot_frame.h"

static void font_cache_reset(void) {
  /* cairo and fontconfig keep font caches for the life of the process;
   * drop them so a leak checker sees only what the plots themselves leak.
   * FcFini is looked up at run time: the test does not link fontconfig
   * directly (cairo does). */
  cairo_debug_reset_static_data();
  void (*fc_fini)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "FcFini");
  if (fc_fini) fc_fini();
}

/* A path in the harness's temporary directory, removed when the test ends. */
static const char *tmp_path(const char *name) {
  static int registered;
  if (!registered) atexit(font_cache_reset);
  registered = 1;
  return qn_test_path(name);
}

struct image {
  cairo_surface_t *s;
  int w, h, stride;
  const unsigned char *data;
};

static int image_load(struct image *im, const char *path) {
  im->s = cairo_image_surface_create_from_png(path);
  if (cairo_surface_status(im->s) != CAIRO_STATUS_SUCCESS) return -1;
  im->w = cairo_image_surface_get_width(im->s);
  im->h = cairo_image_surface_get_height(im->s);
  im->stride = cairo_image_surface_get_stride(im->s);
  im->data = cairo_image_surface_get_data(im->s);
  return 0;
}

static uint32_t pixel(const struct image *im, int x, int y) {
  return ((const uint32_t *)(const void *)(im->data + (size_t)y * im->stride))[x] & 0xffffff;
}

static uint32_t rgb_of(double r, double g, double b) {
  return (uint32_t)lround(r * 255) << 16 | (uint32_t)lround(g * 255) << 8 |
         (uint32_t)lround(b * 255);
}

/* Count, mean x and mean y of the pixels of one exact colour. */
static long colour_stats(const struct image *im, uint32_t c, double *mx, double *my) {
  long n = 0;
  double sx = 0, sy = 0;
  for (int y = 0; y < im->h; y++)
    for (int x = 0; x < im->w; x++)
      if (pixel(im, x, y) == c) {
        n++;
        sx += x;
        sy += y;
      }
  *mx = n ? sx / n : -1;
  *my = n ? sy / n : -1;
  return n;
}

static const uint32_t BAR = 0x1f77b4; /* palette[0] */
static const uint32_t PEAK = QN_PLOT_PEAK_RGB;
static const uint32_t HATCH_BG = QN_PLOT_HATCH_BG_RGB, HATCH_LINE = QN_PLOT_HATCH_LINE_RGB;

QN_TEST(lines_png_has_stated_size) {
  double x[] = {0, 1, 2, 3}, y[] = {10, 30, 20, 25};
  struct qn_plot_series s = {x, y, 4, "rss"};
  const char *p = tmp_path("size.png");
  struct image im;
  CHECK_OK(qn_plot_lines(p, 640, 360, "t", "time (s)", "memory (MiB)", &s, 1, 1, NULL));
  CHECK_OK(image_load(&im, p));
  CHECK_EQ_INT(im.w, 640);
  CHECK_EQ_INT(im.h, 360);
  cairo_surface_destroy(im.s);
}

/* The red marker sits over the highest point: at 3/4 of the x range when
 * the peak is there, at 1/4 when it is there. */
QN_TEST(lines_peak_marker_follows_peak) {
  double x[101], y1[101], y2[101];
  for (int i = 0; i <= 100; i++) {
    x[i] = i;
    y1[i] = 100 - fabs(i - 75.0);
    y2[i] = 100 - fabs(i - 25.0);
  }
  double mx1, my1, mx2, my2, bx, by;
  struct image a, b;
  struct qn_plot_series s1 = {x, y1, 101, NULL}, s2 = {x, y2, 101, NULL};
  CHECK_OK(qn_plot_lines(tmp_path("p1.png"), 1000, 500, "peak", "t (s)", "m (MiB)", &s1, 1, 1,
                         NULL));
  CHECK_OK(image_load(&a, tmp_path("p1.png")));
  CHECK_OK(qn_plot_lines(tmp_path("p2.png"), 1000, 500, "peak", "t (s)", "m (MiB)", &s2, 1, 1,
                         NULL));
  CHECK_OK(image_load(&b, tmp_path("p2.png")));
  CHECK(colour_stats(&a, PEAK, &mx1, &my1) > 15);
  CHECK(colour_stats(&b, PEAK, &mx2, &my2) > 15);
  CHECK(colour_stats(&a, BAR, &bx, &by) > 200); /* the line itself */
  /* Plot area spans most of the width: 3/4 of it lands in (0.6, 0.85). */
  CHECK(mx1 > 0.6 * 1000 && mx1 < 0.85 * 1000);
  CHECK(mx2 > 0.15 * 1000 && mx2 < 0.4 * 1000);
  CHECK(mx1 - mx2 > 400 && mx1 - mx2 < 500); /* half of a ~900 px plot area */
  CHECK(fabs(my1 - my2) < 2);                /* same height: both peaks are 100 */
  CHECK(my1 < 0.35 * 500);                   /* near the top, under the headroom */
  cairo_surface_destroy(a.s);
  cairo_surface_destroy(b.s);
}

QN_TEST(lines_without_mark_has_no_marker) {
  double x[] = {0, 1, 2}, y[] = {1, 3, 2}, mx, my;
  struct qn_plot_series s = {x, y, 3, NULL};
  struct image im;
  CHECK_OK(qn_plot_lines(tmp_path("nomark.png"), 400, 300, NULL, NULL, NULL, &s, 1, 0, NULL));
  CHECK_OK(image_load(&im, tmp_path("nomark.png")));
  CHECK_EQ_INT(colour_stats(&im, PEAK, &mx, &my), 0);
  cairo_surface_destroy(im.s);
}

QN_TEST(lines_errors_leave_no_file) {
  double x[] = {0, 1}, y[] = {NAN, NAN};
  struct qn_plot_series s = {x, y, 2, NULL};
  struct qn_error err;
  const char *p = tmp_path("err.png");
  FILE *f = fopen(p, "w");
  fputs("old", f);
  fclose(f);
  qn_error_init(&err);
  CHECK_EQ_INT(qn_plot_lines(p, 400, 300, "t", "x", "y", &s, 1, 1, &err), QN_EINVAL);
  CHECK(strstr(err.message, "no finite point") != NULL);
  qn_error_init(&err);
  y[0] = y[1] = 1;
  CHECK_EQ_INT(qn_plot_lines(p, 50, 300, "t", "x", "y", &s, 1, 1, &err), QN_EINVAL);
  qn_error_init(&err);
  CHECK_EQ_INT(qn_plot_lines("/nonexistent-dir/x.png", 400, 300, "t", "x", "y", &s, 1, 1, &err),
               QN_EIO);
  CHECK(strstr(err.message, "/nonexistent-dir/x.png") != NULL);
  char buf[8] = {0};
  f = fopen(p, "r");
  CHECK(fread(buf, 1, sizeof buf - 1, f) == 3);
  fclose(f);
  CHECK_EQ_STR(buf, "old"); /* a failed plot never touches an existing file */
}

/* Height of bar-coloured pixels in column x. */
static int bar_height(const struct image *im, int x) {
  int n = 0;
  for (int y = 0; y < im->h; y++) n += pixel(im, x, y) == BAR;
  return n;
}

/* Leftmost and rightmost columns holding bar colour. */
static void bar_extent(const struct image *im, int *l, int *r) {
  *l = im->w;
  *r = -1;
  for (int x = 0; x < im->w; x++)
    if (bar_height(im, x) > 0) {
      if (x < *l) *l = x;
      *r = x;
    }
}

QN_TEST(bars_heights_proportional) {
  double edges[] = {0, 1, 2, 3}, values[] = {100, 200, 400};
  struct image im;
  int l, r;
  CHECK_OK(
      qn_plot_bars(tmp_path("bars.png"), 900, 600, "h", "x", "count", edges, values, 3, NULL));
  CHECK_OK(image_load(&im, tmp_path("bars.png")));
  bar_extent(&im, &l, &r);
  CHECK(r - l > 600); /* three bars fill the plot width */
  int h[3];
  for (int i = 0; i < 3; i++) h[i] = bar_height(&im, l + (int)((r - l) * (i + 0.5) / 3));
  CHECK(h[0] > 40);
  /* Differences cancel the pixel or two the outline takes from each bar:
   * (400 - 100) = 3 × (200 - 100). */
  CHECK(abs((h[2] - h[0]) - 3 * (h[1] - h[0])) <= 3);
  CHECK(h[2] > 3 * h[0]);
  cairo_surface_destroy(im.s);
}

QN_TEST(bars_nan_bin_hatched) {
  double edges[] = {0, 1, 2, 3}, values[] = {5, NAN, 5};
  struct image im;
  int l, r;
  CHECK_OK(
      qn_plot_bars(tmp_path("nan.png"), 900, 600, "h", "x", "mean", edges, values, 3, NULL));
  CHECK_OK(image_load(&im, tmp_path("nan.png")));
  bar_extent(&im, &l, &r);
  int mid = l + (r - l) / 2, bg = 0, line = 0;
  CHECK_EQ_INT(bar_height(&im, mid), 0);
  for (int y = 0; y < im.h; y++) {
    uint32_t p = pixel(&im, mid, y);
    bg += p == HATCH_BG;
    /* the antialiased 45° lines: greys between line and background */
    line += (p >> 16) == (p & 255) && p < HATCH_BG && p >= HATCH_LINE;
  }
  CHECK(bg > 100); /* hatched over the plot height */
  CHECK(line > 5);
  CHECK(bar_height(&im, l + (r - l) / 6) > 100);
  cairo_surface_destroy(im.s);
}

QN_TEST(bars_bad_edges) {
  double edges[] = {0, 2, 1}, values[] = {1, 2};
  struct qn_error err;
  qn_error_init(&err);
  CHECK_EQ_INT(
      qn_plot_bars(tmp_path("bad.png"), 400, 300, "h", "x", "y", edges, values, 2, &err),
      QN_EINVAL);
  CHECK(strstr(err.message, "non-decreasing") != NULL);
  CHECK(access(tmp_path("bad.png"), F_OK) != 0);
  qn_error_init(&err);
  CHECK_EQ_INT(
      qn_plot_bars(tmp_path("bad.png"), 400, 300, "h", "x", "y", edges, values, 0, &err),
      QN_EINVAL);
}

/* 2×2 grid: (x0,y0)=0 (x0,y1)=1 (x1,y0)=2 (x1,y1)=NaN. The range is 0..2,
 * so the cells show viridis(0), viridis(0.5), viridis(1) and the hatch, each
 * in its own quadrant (y grows upwards). */
QN_TEST(heatmap_cells_colour_and_place) {
  double xe[] = {0, 1, 2}, ye[] = {10, 20, 30}, v[] = {0, 1, 2, NAN}, c[3];
  struct image im;
  CHECK_OK(qn_plot_heatmap(tmp_path("heat.png"), 800, 600, "mean", "x", "y", "v", xe, 2, ye, 2,
                           v, NULL));
  CHECK_OK(image_load(&im, tmp_path("heat.png")));
  double ax, ay, bx, by, cx, cy, hx, hy;
  qn_plot_viridis(0, c);
  long na = colour_stats(&im, rgb_of(c[0], c[1], c[2]), &ax, &ay);
  qn_plot_viridis(0.5, c);
  long nb = colour_stats(&im, rgb_of(c[0], c[1], c[2]), &bx, &by);
  qn_plot_viridis(1, c);
  long nc = colour_stats(&im, rgb_of(c[0], c[1], c[2]), &cx, &cy);
  long nh = colour_stats(&im, HATCH_BG, &hx, &hy);
  CHECK(na > 20000);
  CHECK(labs(na - nb) < na / 20); /* equal cells, a sliver of colour bar aside */
  CHECK(labs(na - nc) < na / 20);
  CHECK(nh > na / 3);                    /* the NaN cell is hatched */
  CHECK(ax < cx - 100);                  /* x0 left of x1 */
  CHECK(fabs(ax - bx) < 10);             /* both in column x0 */
  CHECK(ay > by + 100);                  /* y0 below y1 */
  CHECK(fabs(ay - cy) < 10);             /* both in row y0 */
  CHECK(hx > ax + 100 && hy < ay - 100); /* NaN at top right */
  cairo_surface_destroy(im.s);
}

QN_TEST(heatmap_constant_and_all_nan) {
  double xe[] = {0, 1}, ye[] = {0, 1}, v1[] = {7}, v2[] = {NAN};
  CHECK_OK(qn_plot_heatmap(tmp_path("c.png"), 300, 200, NULL, NULL, NULL, NULL, xe, 1, ye, 1,
                           v1, NULL));
  CHECK_OK(qn_plot_heatmap(tmp_path("n.png"), 300, 200, "all empty", "x", "y", "count", xe, 1,
                           ye, 1, v2, NULL));
  struct image im;
  double mx, my;
  CHECK_OK(image_load(&im, tmp_path("n.png")));
  CHECK(colour_stats(&im, HATCH_BG, &mx, &my) > 1000);
  cairo_surface_destroy(im.s);
}

/* Irregular edges and more bins than pixels: cost stays O(pixels). */
QN_TEST(heatmap_many_irregular_bins) {
  enum { NX = 3000, NY = 2000 };
  double *xe = malloc((NX + 1) * sizeof *xe), *ye = malloc((NY + 1) * sizeof *ye);
  double *v = malloc((size_t)NX * NY * sizeof *v);
  for (int i = 0; i <= NX; i++) xe[i] = pow(i / (double)NX, 2);
  for (int j = 0; j <= NY; j++) ye[j] = j;
  for (size_t k = 0; k < (size_t)NX * NY; k++) v[k] = (double)(k % 977);
  CHECK_OK(qn_plot_heatmap(tmp_path("big.png"), 600, 400, "big", "x", "y", "v", xe, NX, ye, NY,
                           v, NULL));
  free(xe);
  free(ye);
  free(v);
}

QN_TEST(viridis_ends_and_lightness) {
  double c[3], prev = -1;
  qn_plot_viridis(0, c);
  CHECK_EQ_INT(lround(c[0] * 255), 0x44);
  CHECK_EQ_INT(lround(c[1] * 255), 0x01);
  CHECK_EQ_INT(lround(c[2] * 255), 0x54);
  qn_plot_viridis(1, c);
  CHECK_EQ_INT(lround(c[0] * 255), 0xfd);
  CHECK_EQ_INT(lround(c[1] * 255), 0xe7);
  CHECK_EQ_INT(lround(c[2] * 255), 0x25);
  qn_plot_viridis(NAN, c);
  CHECK_EQ_INT(lround(c[0] * 255), 0x44);
  /* Perceptual order: luma rises strictly from dark to light. */
  for (int i = 0; i <= 100; i++) {
    qn_plot_viridis(i / 100.0, c);
    double luma = 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
    CHECK(luma > prev);
    prev = luma;
  }
}

QN_TEST(ticks_nice_and_labelled) {
  struct qn_plot_axis a;
  char buf[64];
  qn_plot_axis_make(&a, 0, 97.3, 5, 1);
  CHECK_EQ_DBL(a.step, 20);
  CHECK_EQ_DBL(a.lo, 0);
  CHECK_EQ_DBL(a.hi, 100);
  CHECK_EQ_INT(a.nticks, 6);
  qn_plot_axis_make(&a, -0.3, 0.7, 10, 0);
  CHECK_EQ_DBL(a.step, 0.1);
  CHECK_EQ_INT(a.nticks, 11);
  qn_plot_tick_label(a.ticks[3], a.step, buf, sizeof buf);
  CHECK_EQ_STR(buf, "0.0"); /* never "-0.0" */
  qn_plot_tick_label(a.ticks[6], a.step, buf, sizeof buf);
  CHECK_EQ_STR(buf, "0.3");
  qn_plot_tick_label(2e9, 1e9, buf, sizeof buf);
  CHECK_EQ_STR(buf, "2e+09");
}
