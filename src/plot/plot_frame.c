/* plot_frame.c — what every plot shares: the surface, nice ticks, margins
 * measured from the text they hold, grid, axes, title, the NaN hatch and the
 * atomic PNG write.
 *
 * Layout is computed, not fixed: the left margin is as wide as the widest
 * y tick label plus the rotated y label, so labels never collide or clip at
 * any size between QN_PLOT_MIN_SIZE and QN_PLOT_MAX_SIZE. Font sizes scale
 * with the image height. Text uses cairo's toy API with DejaVu Sans (the
 * font Debian installs with fontconfig); any sans face will do.
 */
#include "plot/qn_plot_frame.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/qn_core.h"

#define QN_PLOT_FONT "DejaVu Sans"

#define QN_HEX(v) \
  { ((v) >> 16 & 255) / 255.0, ((v) >> 8 & 255) / 255.0, ((v)&255) / 255.0 }
const struct qn_plot_rgb qn_plot_palette[8] = {
    QN_HEX(0x1f77b4), QN_HEX(0xff7f0e), QN_HEX(0x2ca02c), QN_HEX(0xd62728),
    QN_HEX(0x9467bd), QN_HEX(0x8c564b), QN_HEX(0xe377c2), QN_HEX(0x7f7f7f)};

struct qn_plot_rgb qn_plot_hex(uint32_t rgb) {
  struct qn_plot_rgb c = QN_HEX(rgb);
  return c;
}

int qn_plot_frame_begin(struct qn_plot_frame *f, int width, int height, struct qn_error *err) {
  memset(f, 0, sizeof *f);
  if (width < QN_PLOT_MIN_SIZE || width > QN_PLOT_MAX_SIZE || height < QN_PLOT_MIN_SIZE ||
      height > QN_PLOT_MAX_SIZE)
    return qn_error_set(err, QN_EINVAL, "plot size %dx%d is outside %dx%d .. %dx%d", width,
                        height, QN_PLOT_MIN_SIZE, QN_PLOT_MIN_SIZE, QN_PLOT_MAX_SIZE,
                        QN_PLOT_MAX_SIZE);
  f->surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
  f->cr = cairo_create(f->surface);
  if (cairo_status(f->cr) != CAIRO_STATUS_SUCCESS) {
    qn_plot_frame_end(f);
    return qn_error_set(err, QN_ENOMEM, "cannot make a %dx%d plot surface", width, height);
  }
  f->width = width;
  f->height = height;
  /* Text scales with the image; clamps keep tiny and huge images legible. */
  f->font = fmin(fmax(fmin(height / 42.0, width / 62.0), 9.0), 40.0);
  return QN_OK;
}

void qn_plot_frame_end(struct qn_plot_frame *f) {
  if (f->cr) cairo_destroy(f->cr);
  if (f->surface) cairo_surface_destroy(f->surface);
  f->cr = NULL;
  f->surface = NULL;
}

void qn_plot_axis_make(struct qn_plot_axis *a, double lo, double hi, int target, int expand) {
  double raw = (hi - lo) / (target > 1 ? target : 1);
  double mag = pow(10.0, floor(log10(raw)));
  double norm = raw / mag;
  double step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  /* A relative slack absorbs the rounding of lo/step so that a tick that
   * sits on the end of the range in exact arithmetic is not dropped. */
  double eps = step * 1e-9;
  if (expand) {
    lo = floor(lo / step + 1e-9) * step;
    hi = ceil(hi / step - 1e-9) * step;
  }
  a->lo = lo;
  a->hi = hi;
  a->step = step;
  a->nticks = 0;
  for (double k = ceil(lo / step - 1e-9); a->nticks < QN_PLOT_MAX_TICKS; k += 1) {
    double v = k * step;
    if (v > hi + eps) break;
    if (fabs(v) < eps) v = 0; /* never print "-0" */
    a->ticks[a->nticks++] = v;
  }
}

void qn_plot_tick_label(double v, double step, char *buf, size_t cap) {
  double av = fabs(v);
  if (v != 0 && (av >= 1e7 || av < 1e-4 || step < 1e-5)) {
    snprintf(buf, cap, "%.3g", v);
    return;
  }
  int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
  /* A step of 2.5 or 0.25 never occurs (steps are 1, 2, 5 × 10^k), so
   * decimals from the step's magnitude show every tick exactly. */
  snprintf(buf, cap, "%.*f", dec, v);
}

static void qn_plot_font(cairo_t *cr, double size, int bold) {
  cairo_select_font_face(cr, QN_PLOT_FONT, CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
}

double qn_plot_text_width(cairo_t *cr, const char *text, double size, int bold) {
  cairo_text_extents_t te;
  qn_plot_font(cr, size, bold);
  cairo_text_extents(cr, text, &te);
  return te.x_advance;
}

double qn_plot_text(cairo_t *cr, const char *text, double x, double y, double size, int bold,
                    enum qn_plot_align ha, enum qn_plot_align va) {
  cairo_font_extents_t fe;
  cairo_text_extents_t te;
  qn_plot_font(cr, size, bold);
  cairo_font_extents(cr, &fe);
  cairo_text_extents(cr, text, &te);
  double w = te.x_advance;
  double bx = ha == QN_ALIGN_START ? x : ha == QN_ALIGN_CENTER ? x - w / 2 : x - w;
  /* Vertical placement from the font's ascent and descent, not the ink of
   * this string, so labels of one row share a baseline. */
  double by = va == QN_ALIGN_START    ? y + fe.ascent
              : va == QN_ALIGN_CENTER ? y + (fe.ascent - fe.descent) / 2
                                      : y - fe.descent;
  cairo_move_to(cr, bx, by);
  cairo_show_text(cr, text);
  return w;
}

/* Splits "title\nsubtitle" into two bounded copies. */
static void qn_plot_split_title(const char *title, char *line1, char *line2, size_t cap) {
  line1[0] = line2[0] = '\0';
  if (!title) return;
  const char *nl = strchr(title, '\n');
  size_t n1 = nl ? (size_t)(nl - title) : strlen(title);
  snprintf(line1, cap, "%.*s", (int)QN_MIN(n1, cap - 1), title);
  if (nl) snprintf(line2, cap, "%s", nl + 1);
}

static double qn_plot_ytick_width(struct qn_plot_frame *f) {
  double w = 0;
  char buf[64];
  for (int i = 0; i < f->y.nticks; i++) {
    qn_plot_tick_label(f->y.ticks[i], f->y.step, buf, sizeof buf);
    w = fmax(w, qn_plot_text_width(f->cr, buf, 0.85 * f->font, 0));
  }
  return w;
}

void qn_plot_frame_layout(struct qn_plot_frame *f, const char *title, const char *xlabel,
                          const char *ylabel) {
  char t1[512], t2[512], buf[64];
  double s = f->font, pad = 0.9 * s, tick = 0.4 * s;
  qn_plot_split_title(title, t1, t2, sizeof t1);
  f->top = pad + (t1[0] ? 1.6 * s : 0) + (t2[0] ? 1.3 * s : 0) + (t1[0] ? 0.7 * s : 0);
  f->left = pad + (ylabel && *ylabel ? 1.6 * s : 0) + qn_plot_ytick_width(f) + tick + 0.4 * s;
  f->bottom = f->height - (pad + tick + 0.4 * s + 1.1 * s + (xlabel && *xlabel ? 1.5 * s : 0));
  qn_plot_tick_label(f->x.ticks[f->x.nticks > 0 ? f->x.nticks - 1 : 0], f->x.step, buf,
                     sizeof buf);
  f->right = f->width - pad - f->right_extra -
             (f->right_extra > 0 ? 0 : 0.5 * qn_plot_text_width(f->cr, buf, 0.85 * s, 0));
  cairo_t *cr = f->cr;
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_set_line_width(cr, 1);
  cairo_set_source_rgb(cr, 0.90, 0.90, 0.90);
  for (int i = 0; i < f->x.nticks; i++) {
    double px = floor(qn_plot_frame_px(f, f->x.ticks[i])) + 0.5;
    cairo_move_to(cr, px, f->top);
    cairo_line_to(cr, px, f->bottom);
  }
  for (int i = 0; i < f->y.nticks; i++) {
    double py = floor(qn_plot_frame_py(f, f->y.ticks[i])) + 0.5;
    cairo_move_to(cr, f->left, py);
    cairo_line_to(cr, f->right, py);
  }
  cairo_stroke(cr);
}

double qn_plot_frame_px(const struct qn_plot_frame *f, double x) {
  return f->left + (x - f->x.lo) / (f->x.hi - f->x.lo) * (f->right - f->left);
}

double qn_plot_frame_py(const struct qn_plot_frame *f, double y) {
  return f->bottom - (y - f->y.lo) / (f->y.hi - f->y.lo) * (f->bottom - f->top);
}

void qn_plot_frame_clip(struct qn_plot_frame *f) {
  cairo_save(f->cr);
  cairo_rectangle(f->cr, f->left, f->top, f->right - f->left, f->bottom - f->top);
  cairo_clip(f->cr);
}

void qn_plot_frame_unclip(struct qn_plot_frame *f) {
  cairo_restore(f->cr);
}

static void qn_plot_frame_ticks(struct qn_plot_frame *f) {
  cairo_t *cr = f->cr;
  double s = f->font, tick = 0.4 * s;
  char buf[64];
  cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
  cairo_set_line_width(cr, 1);
  for (int i = 0; i < f->x.nticks; i++) {
    double px = floor(qn_plot_frame_px(f, f->x.ticks[i])) + 0.5;
    cairo_move_to(cr, px, f->bottom);
    cairo_line_to(cr, px, f->bottom + tick);
  }
  for (int i = 0; i < f->y.nticks; i++) {
    double py = floor(qn_plot_frame_py(f, f->y.ticks[i])) + 0.5;
    cairo_move_to(cr, f->left, py);
    cairo_line_to(cr, f->left - tick, py);
  }
  cairo_stroke(cr);
  cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
  for (int i = 0; i < f->x.nticks; i++) {
    qn_plot_tick_label(f->x.ticks[i], f->x.step, buf, sizeof buf);
    qn_plot_text(cr, buf, qn_plot_frame_px(f, f->x.ticks[i]), f->bottom + tick + 0.3 * s,
                 0.85 * s, 0, QN_ALIGN_CENTER, QN_ALIGN_START);
  }
  for (int i = 0; i < f->y.nticks; i++) {
    qn_plot_tick_label(f->y.ticks[i], f->y.step, buf, sizeof buf);
    qn_plot_text(cr, buf, f->left - tick - 0.3 * s, qn_plot_frame_py(f, f->y.ticks[i]),
                 0.85 * s, 0, QN_ALIGN_END, QN_ALIGN_CENTER);
  }
}

void qn_plot_frame_axes(struct qn_plot_frame *f, const char *title, const char *xlabel,
                        const char *ylabel) {
  cairo_t *cr = f->cr;
  double s = f->font, pad = 0.9 * s;
  char t1[512], t2[512];
  /* Spines on the left and bottom, a lighter box on the other two sides. */
  double l = floor(f->left) + 0.5, r = floor(f->right) + 0.5;
  double t = floor(f->top) + 0.5, b = floor(f->bottom) + 0.5;
  cairo_set_line_width(cr, 1);
  cairo_set_source_rgb(cr, 0.75, 0.75, 0.75);
  cairo_move_to(cr, l, t);
  cairo_line_to(cr, r, t);
  cairo_line_to(cr, r, b);
  cairo_stroke(cr);
  cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
  cairo_move_to(cr, l, t);
  cairo_line_to(cr, l, b);
  cairo_line_to(cr, r, b);
  cairo_stroke(cr);
  qn_plot_frame_ticks(f);
  cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
  if (xlabel && *xlabel)
    qn_plot_text(cr, xlabel, (f->left + f->right) / 2, f->height - pad, s, 0, QN_ALIGN_CENTER,
                 QN_ALIGN_END);
  if (ylabel && *ylabel) {
    cairo_save(cr);
    cairo_translate(cr, pad, (f->top + f->bottom) / 2);
    cairo_rotate(cr, -M_PI / 2);
    qn_plot_text(cr, ylabel, 0, 0, s, 0, QN_ALIGN_CENTER, QN_ALIGN_START);
    cairo_restore(cr);
  }
  qn_plot_split_title(title, t1, t2, sizeof t1);
  double cx = (f->left + f->right) / 2;
  if (t1[0]) qn_plot_text(cr, t1, cx, pad, 1.25 * s, 1, QN_ALIGN_CENTER, QN_ALIGN_START);
  cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
  if (t2[0])
    qn_plot_text(cr, t2, cx, pad + 1.6 * s, 0.9 * s, 0, QN_ALIGN_CENTER, QN_ALIGN_START);
}

void qn_plot_hatch(cairo_t *cr, double x, double y, double w, double h) {
  cairo_save(cr);
  cairo_rectangle(cr, x, y, w, h);
  cairo_clip_preserve(cr);
  struct qn_plot_rgb bg = qn_plot_hex(QN_PLOT_HATCH_BG_RGB),
                     fg = qn_plot_hex(QN_PLOT_HATCH_LINE_RGB);
  cairo_set_source_rgb(cr, bg.r, bg.g, bg.b);
  cairo_fill(cr);
  cairo_set_source_rgb(cr, fg.r, fg.g, fg.b);
  cairo_set_line_width(cr, 1);
  /* Lines at 45°, 6 px apart, anchored to device pixels so neighbouring
   * hatched cells join into one continuous pattern. */
  double spacing = 6;
  double k0 = floor((x + y) / spacing) * spacing;
  for (double k = k0; k <= x + w + y + h + spacing; k += spacing) {
    cairo_move_to(cr, k - y, y);
    cairo_line_to(cr, k - (y + h), y + h);
  }
  cairo_stroke(cr);
  cairo_restore(cr);
}

static cairo_status_t qn_plot_png_write(void *closure, const unsigned char *data,
                                        unsigned int length) {
  FILE *out = closure;
  return fwrite(data, 1, length, out) == length ? CAIRO_STATUS_SUCCESS
                                                : CAIRO_STATUS_WRITE_ERROR;
}

int qn_plot_frame_write(struct qn_plot_frame *f, const char *path, struct qn_error *err) {
  int status = QN_OK;
  struct qn_outfile *out = NULL;
  cairo_status_t cs = cairo_status(f->cr);
  if (cs != CAIRO_STATUS_SUCCESS) {
    status = qn_error_set(err, QN_EINTERNAL, "drawing %s failed: %s", path,
                          cairo_status_to_string(cs));
    goto done;
  }
  cairo_surface_flush(f->surface);
  QN_CHECK(qn_outfile_open(path, &out, err));
  cs = cairo_surface_write_to_png_stream(f->surface, qn_plot_png_write, qn_outfile_stream(out));
  if (cs != CAIRO_STATUS_SUCCESS) {
    status = qn_error_set(err, QN_EIO, "cannot write %s: %s", path, cairo_status_to_string(cs));
    goto done;
  }
  status = qn_outfile_commit(out, err);
  out = NULL;
done:
  qn_outfile_abort(out);
  return status;
}
