/* progress.c — a one-line progress bar on stderr: percent, rate and ETA,
 * redrawn at most ten times a second, only when stderr is a terminal and
 * the user did not ask for quiet. Cleared when the work ends. */
#include "qn_core.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct qn_progress {
  const char *label;
  int64_t total;
  _Atomic int64_t done;
  double start;
  _Atomic int64_t next_draw_us;
  pthread_mutex_t lock;
};

struct qn_progress *qn_progress_start(struct qn_context *ctx, const char *label,
                                      int64_t total) {
  if (!ctx->progress || ctx->quiet || !isatty(2) || total <= 0) return NULL;
  struct qn_progress *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->label = label ? label : "";
  p->total = total;
  p->start = qn_now();
  pthread_mutex_init(&p->lock, NULL);
  return p;
}

static void qn_progress_draw(struct qn_progress *p, int64_t done) {
  double t = qn_now() - p->start;
  double frac = (double)done / (double)p->total;
  if (frac > 1) frac = 1;
  char bar[31];
  int fill = (int)(frac * 30);
  for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
  bar[30] = 0;
  double eta = frac > 0 ? t / frac - t : 0;
  fprintf(stderr, "\r%s [%s] %5.1f%%  %.0f Mrows/s  ETA %.0fs   ", p->label, bar, 100 * frac,
          t > 0 ? (double)done / t / 1e6 : 0.0, eta);
}

void qn_progress_add(struct qn_progress *p, int64_t n) {
  if (!p) return;
  int64_t done = atomic_fetch_add(&p->done, n) + n;
  int64_t now_us = (int64_t)((qn_now() - p->start) * 1e6);
  int64_t next = atomic_load(&p->next_draw_us);
  if (now_us < next) return;
  if (!atomic_compare_exchange_strong(&p->next_draw_us, &next, now_us + 100000)) return;
  pthread_mutex_lock(&p->lock);
  qn_progress_draw(p, done);
  pthread_mutex_unlock(&p->lock);
}

void qn_progress_finish(struct qn_progress *p) {
  if (!p) return;
  fprintf(stderr, "\r%*s\r", 80, "");
  pthread_mutex_destroy(&p->lock);
  free(p);
}
