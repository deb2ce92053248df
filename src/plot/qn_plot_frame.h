/* qn_plot_frame.h — the parts every quern plot shares, internal to src/plot/.
 *
 * A frame is one cairo image surface with a plot area inside margins that
 * are measured from the text they hold (tick labels, axis labels, title).
 * Drawing order: qn_plot_frame_begin → qn_plot_frame_layout (fixes the data
 * range and the plot area, paints the background and grid) → the plot's own
 * marks, clipped to the plot area → qn_plot_frame_axes (frame, ticks, labels,
 * title on top) → qn_plot_frame_write (PNG through an atomic qn_outfile) →
 * qn_plot_frame_end. Memory: one W×H×4-byte surface. Thread rule: a frame
 * belongs to one thread; frames share nothing.
 */
#ifndef QN_PLOT_FRAME_H
#define QN_PLOT_FRAME_H

#include <cairo.h>
#include <stdint.h>

#include "plot/qn_plot.h"

#define QN_PLOT_MIN_SIZE 100
#define QN_PLOT_MAX_SIZE 10000
#define QN_PLOT_MAX_TICKS 32

/* Colours as 0xRRGGBB. Given to cairo as n/255 so that an 8-bit PNG holds
 * exactly these bytes (tests look for them). */
struct qn_plot_rgb {
  double r, g, b;
};
#define QN_PLOT_PEAK_RGB 0xd62728u       /* peak marker (tab10 red) */
#define QN_PLOT_HATCH_BG_RGB 0xeeeeeeu   /* "no value" hatch: background */
#define QN_PLOT_HATCH_LINE_RGB 0xbdbdbdu /* ... and its lines */
/* The series palette, matplotlib's "tab10" order. */
extern const struct qn_plot_rgb qn_plot_palette[8];
struct qn_plot_rgb qn_plot_hex(uint32_t rgb);

struct qn_plot_axis {
  double lo, hi;                   /* data range shown */
  double ticks[QN_PLOT_MAX_TICKS]; /* tick values inside [lo, hi] */
  int nticks;
  double step; /* tick spacing, decides label decimals */
};

struct qn_plot_frame {
  cairo_surface_t *surface;
  cairo_t *cr;
  int width, height;
  double font;        /* base font size in pixels */
  double left, right; /* plot area in device pixels, x grows right */
  double top, bottom; /* ... y grows down: top < bottom */
  double right_extra; /* pixels reserved right of the plot (colour bar) */
  struct qn_plot_axis x, y;
};

/* Checks the size and makes the surface. Errors: QN_EINVAL (size outside
 * [QN_PLOT_MIN_SIZE, QN_PLOT_MAX_SIZE]), QN_ENOMEM. */
int qn_plot_frame_begin(struct qn_plot_frame *f, int width, int height, struct qn_error *err);
void qn_plot_frame_end(struct qn_plot_frame *f);

/* Nice ticks (1, 2, 5 × 10^k) for [lo, hi] with about `target` of them.
 * With expand, lo and hi are widened to the enclosing ticks. lo < hi. */
void qn_plot_axis_make(struct qn_plot_axis *a, double lo, double hi, int target, int expand);
/* A tick label with as many decimals as the step needs ("0.25", "1e+06"). */
void qn_plot_tick_label(double v, double step, char *buf, size_t cap);

/* Measures the text, places the plot area, paints white, the grid lines.
 * Call after f->x and f->y are set. title may hold one '\n': the second line
 * is drawn smaller, as a subtitle. */
void qn_plot_frame_layout(struct qn_plot_frame *f, const char *title, const char *xlabel,
                          const char *ylabel);
/* Frame, ticks, tick labels, axis labels and title, drawn over the marks. */
void qn_plot_frame_axes(struct qn_plot_frame *f, const char *title, const char *xlabel,
                        const char *ylabel);
/* Data → device pixels. */
double qn_plot_frame_px(const struct qn_plot_frame *f, double x);
double qn_plot_frame_py(const struct qn_plot_frame *f, double y);
/* Clip to (or release) the plot area. */
void qn_plot_frame_clip(struct qn_plot_frame *f);
void qn_plot_frame_unclip(struct qn_plot_frame *f);

/* Light grey with diagonal grey lines: the mark of "no value here". */
void qn_plot_hatch(cairo_t *cr, double x, double y, double w, double h);

enum qn_plot_align { QN_ALIGN_START, QN_ALIGN_CENTER, QN_ALIGN_END };
/* Text at (x, y) aligned horizontally by ha and vertically by va (START =
 * top). Size in pixels; bold != 0 for bold. Returns the text width. */
double qn_plot_text(cairo_t *cr, const char *text, double x, double y, double size, int bold,
                    enum qn_plot_align ha, enum qn_plot_align va);
double qn_plot_text_width(cairo_t *cr, const char *text, double size, int bold);

/* Encodes the surface as PNG to `path` atomically. Errors: QN_EIO naming the
 * path, QN_EINTERNAL when cairo failed while drawing. */
int qn_plot_frame_write(struct qn_plot_frame *f, const char *path, struct qn_error *err);

#endif /* QN_PLOT_FRAME_H */
