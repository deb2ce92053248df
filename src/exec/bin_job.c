/* bin_job.c — `quern bin`: source → (range pass) → scan with lanes → bin
 * kernel → fold → JSON / HDF5 / CSV (+ PNG).
 *
 * Determinism. With a value or a weight the job picks, from the grid size
 * alone, 16 lanes (small grids: the scan gives morsel i to lane i mod 16
 * and runs each lane's morsels in index order; lanes fold 0..15 at the
 * end) or one sliced grid (qn_bin_is_sliced: every worker bins its morsel,
 * then applies it slice by slice, each slice taking the morsels in index
 * order through qn_turns, so each cell adds its rows in input order: the
 * bits of one lane, with no ceiling on the workers). So the floating-point
 * order is a function of the input and the options only: output bytes do
 * not change with --threads or --memory-limit. Count-only jobs sum
 * integers: one grid per worker, no lane order needed
 * (qn_bin_worker_grids), the same bytes.
 *
 * Memory. Before any row is read the grids (L or threads ×
 * qn_bin_grid_bytes; sliced: one, plus one morsel's sorted rows per
 * thread) and one kernel workspace per thread are taken from the budget;
 * QN_ELIMIT names what they need. Large grids are cleared, finished and
 * read out by every thread (qn_bin_cells_run). Then the scan sizes its
 * buffers from what is left. After the scan the workspaces are freed
 * before the result arrays are allocated.
 *
 * Range pass (axes given as NAME:BINS): numpy's rules, except that NaN and
 * ±inf are ignored rather than an error (numpy raises on them): LO and HI
 * are the min and max of the finite values, LO == HI widens to ±0.5, an
 * empty table gives [0, 1], a non-empty one without a finite value is an
 * error. An axis whose range every file's metadata knows (the reader's
 * `minmax`: Parquet column chunk statistics) reads no value for it; the
 * others share one scan at reading speed (qn_bin_finite_minmax).
 *
 * Across MPI ranks (qn_comm.h): count-only jobs scan contiguous morsel
 * shares and sum their integer grids exactly into rank 0; with a value or
 * a weight, rank r owns the contiguous lanes [floor(rL/N), floor((r+1)L/N))
 * and scans their morsels; rank 0 receives the finished lanes one grid at
 * a time, in lane order, and folds 0..L-1 as one process does. The range
 * pass folds each rank's finite min/max on rank 0 (order-free; zeros are
 * +0.0) and broadcasts LO/HI. Ranks beyond L have no lane and read
 * nothing. Only rank 0's result is complete.
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/qn_scan.h"
#include "engine/qn_turns.h"
#include "exec/qn_comm.h"
#include "exec/qn_exec.h"
#include "io/qn_grid.h"
#include "kernels/qn_bin.h"
#include "plot/qn_plot.h"

/* ----- axis specs and statistics names ---------------------------------- */

static const char *const qn_bin_stat_names[QN_BIN_NSTATS] = {"count", "sum", "mean",
                                                             "std",   "min", "max"};

const char *qn_bin_stat_name(enum qn_bin_stat stat) {
  return (stat >= 0 && stat < QN_BIN_NSTATS) ? qn_bin_stat_names[stat] : "unknown";
}

int qn_bin_stats_parse(const char *text, enum qn_bin_stat *stats, int *nstats,
                       struct qn_error *err) {
  int n = 0;
  const char *p = text;
  while (*p) {
    size_t len = strcspn(p, ",");
    int found = -1;
    for (int s = 0; s < QN_BIN_NSTATS; s++)
      if (strlen(qn_bin_stat_names[s]) == len && strncmp(p, qn_bin_stat_names[s], len) == 0)
        found = s;
    if (found < 0)
      return qn_error_set(err, QN_EINVAL,
                          "unknown statistic '%.*s' (use count, sum, mean, std, min, max)",
                          (int)len, p);
    int dup = 0;
    for (int i = 0; i < n; i++) dup |= stats[i] == (enum qn_bin_stat)found;
    if (!dup) stats[n++] = (enum qn_bin_stat)found;
    p += len;
    if (*p == ',') p++;
  }
  if (n == 0) return qn_error_set(err, QN_EINVAL, "no statistic given");
  *nstats = n;
  return QN_OK;
}

void qn_bin_axis_spec_reset(struct qn_bin_axis_spec *spec) {
  if (!spec) return;
  free(spec->column);
  free(spec->edges);
  memset(spec, 0, sizeof *spec);
}

/* A whole-string double; rejects empty text and trailing junk. */
static int qn_bin_parse_double(const char *s, size_t len, double *out) {
  char buf[128];
  while (len > 0 && isspace((unsigned char)*s)) s++, len--;
  while (len > 0 && isspace((unsigned char)s[len - 1])) len--;
  if (len == 0 || len >= sizeof buf) return -1;
  memcpy(buf, s, len);
  buf[len] = 0;
  char *end;
  errno = 0;
  *out = strtod(buf, &end);
  return (*end || errno == ERANGE) ? -1 : 0;
}

static int qn_bin_push_edge(struct qn_bin_axis_spec *spec, int64_t *cap, double v,
                            struct qn_error *err) {
  if (spec->nedges == *cap) {
    int64_t ncap = *cap ? *cap * 2 : 16;
    double *e = realloc(spec->edges, (size_t)ncap * sizeof *e);
    if (!e) return qn_error_set(err, QN_ENOMEM, "out of memory reading edges");
    spec->edges = e;
    *cap = ncap;
  }
  spec->edges[spec->nedges++] = v;
  return QN_OK;
}

static int qn_bin_parse_edge_list(const char *text, const char *list,
                                  struct qn_bin_axis_spec *spec, struct qn_error *err) {
  int64_t cap = 0;
  const char *p = list;
  for (;;) {
    size_t len = strcspn(p, ",");
    double v;
    if (qn_bin_parse_double(p, len, &v) != 0)
      return qn_error_set(err, QN_EINVAL, "axis '%s': '%.*s' is not a number", text, (int)len,
                          p);
    QN_RETURN_IF_ERROR(qn_bin_push_edge(spec, &cap, v, err));
    if (!p[len]) break;
    p += len + 1;
  }
  return QN_OK;
}

static int qn_bin_parse_edge_file(const char *text, const char *path,
                                  struct qn_bin_axis_spec *spec, struct qn_error *err) {
  FILE *f = fopen(path, "r");
  if (!f)
    return qn_error_set(err, QN_EIO, "axis '%s': cannot read edge file %s: %s", text, path,
                        strerror(errno));
  int status = QN_OK;
  int64_t cap = 0, lineno = 0;
  char line[512];
  while (status == QN_OK && fgets(line, sizeof line, f)) {
    lineno++;
    line[strcspn(line, "#\r\n")] = 0;
    size_t len = strlen(line), sp = strspn(line, " \t");
    if (sp == len) continue;
    double v;
    if (qn_bin_parse_double(line, len, &v) != 0)
      status = qn_error_set(err, QN_EINVAL, "%s line %lld: '%s' is not a number", path,
                            (long long)lineno, line);
    else
      status = qn_bin_push_edge(spec, &cap, v, err);
  }
  if (status == QN_OK && ferror(f))
    status = qn_error_set(err, QN_EIO, "cannot read edge file %s", path);
  fclose(f);
  return status;
}

static int qn_bin_check_edges(const char *text, const struct qn_bin_axis_spec *spec,
                              struct qn_error *err) {
  if (spec->nedges < 2)
    return qn_error_set(err, QN_EINVAL, "axis '%s': needs at least 2 edges, got %lld", text,
                        (long long)spec->nedges);
  for (int64_t i = 0; i < spec->nedges; i++) {
    if (isnan(spec->edges[i]))
      return qn_error_set(err, QN_EINVAL, "axis '%s': edge %lld is NaN", text, (long long)i);
    if (i > 0 && spec->edges[i] < spec->edges[i - 1])
      return qn_error_set(err, QN_EINVAL,
                          "axis '%s': edges must be non-decreasing, but edge %lld (%.17g) < "
                          "edge %lld (%.17g)",
                          text, (long long)i, spec->edges[i], (long long)(i - 1),
                          spec->edges[i - 1]);
  }
  return QN_OK;
}

static int qn_bin_parse_regular(const char *text, const char *rest,
                                struct qn_bin_axis_spec *spec, struct qn_error *err) {
  /* rest = "BINS" or "BINS:LO:HI" */
  const char *c1 = strchr(rest, ':');
  size_t blen = c1 ? (size_t)(c1 - rest) : strlen(rest);
  char bbuf[32];
  if (blen == 0 || blen >= sizeof bbuf)
    return qn_error_set(err, QN_EINVAL, "axis '%s': BINS must be a positive integer", text);
  memcpy(bbuf, rest, blen);
  bbuf[blen] = 0;
  char *end;
  errno = 0;
  long long bins = strtoll(bbuf, &end, 10);
  if (*end || errno)
    return qn_error_set(err, QN_EINVAL, "axis '%s': BINS '%s' is not an integer", text, bbuf);
  if (bins < 1)
    return qn_error_set(err, QN_EINVAL,
                        "axis '%s': the number of bins must be at least 1, got %lld", text,
                        bins);
  spec->bins = bins;
  if (!c1) {
    spec->auto_range = 1;
    return QN_OK;
  }
  const char *c2 = strchr(c1 + 1, ':');
  if (!c2 || strchr(c2 + 1, ':'))
    return qn_error_set(err, QN_EINVAL, "axis '%s': expected NAME:BINS:LO:HI or NAME:BINS",
                        text);
  if (qn_bin_parse_double(c1 + 1, (size_t)(c2 - c1 - 1), &spec->lo) != 0 ||
      qn_bin_parse_double(c2 + 1, strlen(c2 + 1), &spec->hi) != 0)
    return qn_error_set(err, QN_EINVAL, "axis '%s': LO and HI must be numbers", text);
  if (!isfinite(spec->lo) || !isfinite(spec->hi))
    return qn_error_set(err, QN_EINVAL, "axis '%s': LO and HI must be finite", text);
  if (spec->lo > spec->hi)
    return qn_error_set(err, QN_EINVAL, "axis '%s': LO (%.17g) is greater than HI (%.17g)",
                        text, spec->lo, spec->hi);
  if (!isfinite(spec->hi - spec->lo))
    return qn_error_set(err, QN_EINVAL, "axis '%s': HI - LO overflows", text);
  return QN_OK;
}

int qn_bin_axis_parse(const char *text, struct qn_bin_axis_spec *spec, struct qn_error *err) {
  int status = QN_OK;
  memset(spec, 0, sizeof *spec);
  const char *at = strchr(text, '@');
  /* NAME:... splits at the first ':' after which only the numeric part
   * follows; column names may hold ':' only in the @ forms. */
  const char *colon = at ? NULL : strchr(text, ':');
  const char *sep = at ? at : colon;
  if (!sep || sep == text) {
    status = qn_error_set(err, QN_EINVAL,
                          "axis '%s': expected NAME:BINS:LO:HI, NAME:BINS, NAME@E0,E1,... "
                          "or NAME@FILE",
                          text);
    goto done;
  }
  spec->column = strndup(text, (size_t)(sep - text));
  if (!spec->column) {
    status = qn_error_set(err, QN_ENOMEM, "out of memory");
    goto done;
  }
  if (at) {
    const char *rest = at + 1;
    if (!strchr(rest, ',') && access(rest, F_OK) == 0)
      QN_CHECK(qn_bin_parse_edge_file(text, rest, spec, err));
    else if (!strchr(rest, ',') && *rest && !isdigit((unsigned char)*rest) && *rest != '-' &&
             *rest != '+' && *rest != '.')
      QN_CHECK(qn_error_set(err, QN_EIO, "axis '%s': cannot read edge file %s: %s", text, rest,
                            strerror(ENOENT)));
    else
      QN_CHECK(qn_bin_parse_edge_list(text, rest, spec, err));
    QN_CHECK(qn_bin_check_edges(text, spec, err));
  } else {
    QN_CHECK(qn_bin_parse_regular(text, colon + 1, spec, err));
  }
done:
  if (status != QN_OK) qn_bin_axis_spec_reset(spec);
  return status;
}

/* ----- the result ------------------------------------------------------- */

struct qn_bin_result {
  struct qn_context *ctx;
  int naxes;
  char *names[QN_BIN_MAX_AXES];
  int64_t nbins[QN_BIN_MAX_AXES];
  double *edges[QN_BIN_MAX_AXES]; /* malloc'd, nbins + 1 */
  char *value, *weight;
  int nstats;
  enum qn_bin_stat stats[QN_BIN_NSTATS];
  double *values[QN_BIN_NSTATS]; /* budgeted, ncells each, or NULL */
  int64_t ncells, rows, out_of_range;
  int lanes;
  int64_t grid_bytes;
  int ninputs;
  char **inputs;
};

void qn_bin_result_free(struct qn_bin_result *r) {
  if (!r) return;
  for (int k = 0; k < QN_BIN_MAX_AXES; k++) {
    free(r->names[k]);
    free(r->edges[k]);
  }
  for (int s = 0; s < QN_BIN_NSTATS; s++) qn_mem_free(r->ctx, r->values[s]);
  for (int i = 0; i < r->ninputs; i++) free(r->inputs[i]);
  free(r->inputs);
  free(r->value);
  free(r->weight);
  free(r);
}

int qn_bin_result_naxes(const struct qn_bin_result *r) {
  return r->naxes;
}
const char *qn_bin_result_axis_name(const struct qn_bin_result *r, int k) {
  return (k >= 0 && k < r->naxes) ? r->names[k] : NULL;
}
int64_t qn_bin_result_nbins(const struct qn_bin_result *r, int k) {
  return (k >= 0 && k < r->naxes) ? r->nbins[k] : 0;
}
const double *qn_bin_result_edges(const struct qn_bin_result *r, int k) {
  return (k >= 0 && k < r->naxes) ? r->edges[k] : NULL;
}
int64_t qn_bin_result_rows(const struct qn_bin_result *r) {
  return r->rows;
}
int64_t qn_bin_result_out_of_range(const struct qn_bin_result *r) {
  return r->out_of_range;
}
const double *qn_bin_result_stat(const struct qn_bin_result *r, enum qn_bin_stat s) {
  return (s >= 0 && s < QN_BIN_NSTATS) ? r->values[s] : NULL;
}
int qn_bin_result_lanes(const struct qn_bin_result *r) {
  return r->lanes;
}
int64_t qn_bin_result_grid_bytes(const struct qn_bin_result *r) {
  return r->grid_bytes;
}

/* ----- the job ---------------------------------------------------------- */

/* Lanes from the grid size alone (never threads or memory): many small
 * grids so every core has a lane, fewer as grids grow (at most ~64 MiB of
 * lanes unless one grid is larger), one for grids above 1 GiB. The size
 * is the nominal (cells + 1) x (8 + 8 with a weight + 48 with a value)
 * bytes of the first grid layout, kept as the rule so that the lane count,
 * hence every floating-point sum, is the same as in earlier releases. */
static int qn_bin_lanes_for(const struct qn_bin_plan *plan) {
  const int64_t cells = plan->ncells + 1;
  int64_t bytes = (cells * 8 + 63) & ~(int64_t)63;
  if (plan->has_weight) bytes += (cells * 8 + 63) & ~(int64_t)63;
  if (plan->has_value) bytes += (cells * 48 + 63) & ~(int64_t)63;
  if (bytes > ((int64_t)1 << 30)) return 1;
  int64_t l = ((int64_t)64 << 20) / QN_MAX(bytes, 1);
  return (int)QN_MAX(2, QN_MIN(16, l));
}

/* Grids with a value or a weight above 128 MiB (nominal, as for the
 * lanes) are sliced: one grid, filled by every worker at once, each slice
 * of cells by one worker at a time in morsel order (owner computes), so
 * each cell adds its rows in input order: the bits of one lane, with no
 * ceiling on the workers. Smaller grids keep their lanes (16 down to 2):
 * there a lane stays in one core's caches, while a slice moves between
 * the cores that apply consecutive morsels (measured on 2 cores: sliced
 * 1000 x 1000 and 300 x 300 mean grids took 1.3 times as long at -t 2 as
 * 2 and 12 lanes; 200 x 200 x 100 the same; bench/RESULTS.md). From the
 * grid size alone, like the lanes. */
#define QN_BIN_SLICED_BYTES ((int64_t)128 << 20)
#define QN_BIN_MAX_SLICES 256
static int qn_bin_is_sliced(const struct qn_bin_plan *plan) {
  const int64_t cells = plan->ncells + 1;
  if (!plan->has_value && !plan->has_weight) return 0;
  const int64_t per = 8 + (plan->has_weight ? 8 : 0) + (plan->has_value ? 48 : 0);
  return cells > QN_BIN_SLICED_BYTES / per;
}

/* Count-only jobs (no value, no weight) sum integers, whose result does
 * not depend on the order: they skip lanes and give each worker thread one
 * grid that stays in its core's cache (folded in worker order, exactly),
 * unless that would take more memory than the lanes and over 64 MiB (many
 * threads, large grids). Either choice gives the same bytes. */
static int qn_bin_worker_grids(const struct qn_bin_plan *plan, int threads) {
  if (plan->has_value || plan->has_weight) return 0;
  const int64_t gb = qn_bin_grid_bytes(plan);
  return threads <= qn_bin_lanes_for(plan) || gb <= (((int64_t)64 << 20) / threads);
}

struct qn_bin_job {
  const struct qn_bin_plan *plan;
  int lanes; /* grids: lanes, or one per worker (per_worker) */
  int per_worker;
  struct qn_bin_grid *grids;
  void **ws; /* one workspace per worker */
  /* Sliced (one grid, owner computes; qn_bin_rows_fill/apply): each worker
   * bins its morsel into rows[worker], then applies it slice by slice,
   * each slice's turns taken in morsel order. */
  int sliced;
  int shift, nslices;
  struct qn_bin_rows *rows;
  int64_t *pending; /* per slice */
  struct qn_turns turns;
  const struct qn_scan_range *ranges; /* the scan's share (NULL: every morsel) */
  int nranges;
  int axis_pos[QN_BIN_MAX_AXES], value_pos, weight_pos; /* in the scan's columns */
  /* range pass */
  int nauto;
  int auto_pos[QN_BIN_MAX_AXES];
  double *mn, *mx; /* [worker * nauto + a] */
  int64_t *seen;
};

/* The ticket of morsel m: its position in the scan's share, so that the
 * first morsel of any share starts the turns. */
static int64_t qn_bin_ticket(const struct qn_bin_job *j, int64_t m) {
  int64_t before = 0;
  for (int i = 0; i < j->nranges; i++) {
    if (m < j->ranges[i].end) return before + (m - j->ranges[i].begin);
    before += j->ranges[i].end - j->ranges[i].begin;
  }
  return m;
}

/* Owner computes: the morsel's rows are binned once, then each slice of
 * the grid takes them when its turn for this morsel comes (its ticket:
 * the scan runs every morsel of its share in order). A worker
 * goes through the slices in order, so one that starts a morsel while
 * another still applies the previous one follows it slice by slice. */
static int qn_bin_process_sliced(struct qn_bin_job *j, int worker, const struct qn_batch *b,
                                 const struct qn_colbuf *const *axes,
                                 const struct qn_colbuf *value, const struct qn_colbuf *weight,
                                 struct qn_error *err) {
  struct qn_bin_rows *rows = &j->rows[worker];
  qn_bin_rows_fill(j->plan, j->ws[worker], rows, j->shift, axes, value, weight, 0, b->nrows);
  const int64_t ticket = qn_bin_ticket(j, b->morsel);
  for (int s = 0; s < j->nslices; s++) {
    QN_RETURN_IF_ERROR(qn_turns_wait(&j->turns, s, ticket, err));
    qn_bin_rows_apply(j->plan, &j->grids[0], rows, j->shift, s, &j->pending[s]);
    qn_turns_pass(&j->turns, s, ticket);
  }
  return QN_OK;
}

static int qn_bin_process(void *user, int worker, const struct qn_batch *b,
                          struct qn_error *err) {
  struct qn_bin_job *j = user;
  const struct qn_colbuf *axes[QN_BIN_MAX_AXES];
  for (int k = 0; k < j->plan->naxes; k++) axes[k] = &b->cols[j->axis_pos[k]];
  const struct qn_colbuf *value = j->value_pos >= 0 ? &b->cols[j->value_pos] : NULL;
  const struct qn_colbuf *weight = j->weight_pos >= 0 ? &b->cols[j->weight_pos] : NULL;
  if (j->sliced) return qn_bin_process_sliced(j, worker, b, axes, value, weight, err);
  struct qn_bin_grid *g = j->per_worker ? &j->grids[worker] : &j->grids[b->morsel % j->lanes];
  qn_bin_accumulate(j->plan, g, j->ws[worker], axes, value, weight, 0, b->nrows);
  return QN_OK;
}

static void qn_bin_cancel(void *user) {
  struct qn_bin_job *j = user;
  if (j->sliced) qn_turns_cancel(&j->turns);
}

static int qn_bin_range_process(void *user, int worker, const struct qn_batch *b,
                                struct qn_error *err) {
  struct qn_bin_job *j = user;
  for (int a = 0; a < j->nauto; a++) {
    int64_t i = (int64_t)worker * j->nauto + a;
    j->seen[i] +=
        qn_bin_finite_minmax(&b->cols[j->auto_pos[a]], 0, b->nrows, &j->mn[i], &j->mx[i]);
  }
  return QN_OK;
}

/* Index of `name` in cols[0..*ncols), appended when new. */
static int qn_bin_col_slot(int *cols, int *ncols, int c) {
  for (int i = 0; i < *ncols; i++)
    if (cols[i] == c) return i;
  cols[*ncols] = c;
  return (*ncols)++;
}

static int qn_bin_find_numeric(struct qn_source *src, const char *name, const char *role,
                               int *out, struct qn_error *err) {
  int c = qn_source_find_column(src, name);
  if (c < 0) {
    char list[512] = "";
    size_t len = 0;
    for (int i = 0; i < src->ncols && len + 64 < sizeof list; i++)
      len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "",
                              src->cols[i].name);
    return qn_error_set(err, QN_ENOTFOUND, "%s column '%s' not found in %s (columns: %s)", role,
                        name, src->files[0]->path, list);
  }
  if (!qn_type_is_numeric(src->cols[c].type))
    return qn_error_set(err, QN_ESCHEMA, "%s column '%s' in %s is not numeric (%s)", role, name,
                        src->files[0]->path, src->cols[c].type_name);
  *out = c;
  return QN_OK;
}

void qn_bin_options_init(struct qn_bin_options *opt) {
  memset(opt, 0, sizeof *opt);
}

static int qn_bin_check_options(const struct qn_bin_options *opt, struct qn_error *err) {
  if (!opt || opt->naxes < 1) return qn_error_set(err, QN_EINVAL, "no axis given");
  if (opt->naxes > QN_BIN_MAX_AXES)
    return qn_error_set(err, QN_EINVAL, "at most %d axes are supported, got %d",
                        QN_BIN_MAX_AXES, opt->naxes);
  if (opt->nstats < 0 || opt->nstats > QN_BIN_NSTATS || (opt->nstats > 0 && !opt->stats))
    return qn_error_set(err, QN_EINVAL, "%d statistics given; 0 to %d with a list of them",
                        opt->nstats, QN_BIN_NSTATS);
  for (int i = 0; i < opt->nstats; i++) {
    if (opt->stats[i] < 0 || opt->stats[i] >= QN_BIN_NSTATS)
      return qn_error_set(err, QN_EINVAL, "unknown statistic %d", (int)opt->stats[i]);
    if (opt->stats[i] != QN_BIN_COUNT && !opt->value)
      return qn_error_set(err, QN_EINVAL,
                          "statistic %s needs a value column (the column to summarise)",
                          qn_bin_stat_name(opt->stats[i]));
  }
  for (int k = 0; k < opt->naxes; k++) {
    const struct qn_bin_axis_spec *a = &opt->axes[k];
    if (!a->column || (a->bins < 1 && a->nedges < 2))
      return qn_error_set(err, QN_EINVAL, "axis %d is not set up", k + 1);
    for (int i = 0; i < k; i++)
      if (!strcmp(opt->axes[i].column, a->column))
        return qn_error_set(err, QN_EINVAL, "column '%s' is given as an axis twice", a->column);
  }
  return QN_OK;
}

static int qn_bin_result_new(struct qn_context *ctx, struct qn_source *src,
                             const struct qn_bin_options *opt, struct qn_bin_result **out,
                             struct qn_error *err) {
  struct qn_bin_result *r = calloc(1, sizeof *r);
  if (!r) return qn_error_set(err, QN_ENOMEM, "out of memory");
  r->ctx = ctx;
  r->naxes = opt->naxes;
  int ok = 1;
  for (int k = 0; k < opt->naxes; k++) {
    r->names[k] = qn_strdup(opt->axes[k].column);
    ok &= r->names[k] != NULL;
  }
  if (opt->value) ok &= (r->value = qn_strdup(opt->value)) != NULL;
  if (opt->weight) ok &= (r->weight = qn_strdup(opt->weight)) != NULL;
  if (opt->nstats > 0) {
    r->nstats = opt->nstats;
    memcpy(r->stats, opt->stats, (size_t)opt->nstats * sizeof *opt->stats);
  } else {
    r->nstats = 1;
    r->stats[0] = QN_BIN_COUNT;
  }
  r->ninputs = qn_source_nfiles(src);
  r->inputs = calloc((size_t)r->ninputs + 1, sizeof *r->inputs);
  ok &= r->inputs != NULL;
  for (int f = 0; ok && f < r->ninputs; f++)
    ok &= (r->inputs[f] = qn_strdup(qn_source_file_path(src, f))) != NULL;
  if (!ok) {
    qn_bin_result_free(r);
    return qn_error_set(err, QN_ENOMEM, "out of memory");
  }
  *out = r;
  return QN_OK;
}

/* The range of table column c from the files' metadata (Parquet column
 * chunk statistics) when every file with rows knows it and it is finite;
 * *found = 0 otherwise (an infinite bound hides the finite one). */
static int qn_bin_range_from_meta(struct qn_source *src, int c, double *lo, double *hi,
                                  int *found, struct qn_error *err) {
  double mn, mx;
  int known = 0;
  *found = 0;
  QN_RETURN_IF_ERROR(qn_source_minmax(src, c, &mn, &mx, &known, err));
  if (known && isfinite(mn) && isfinite(mx)) {
    *lo = mn;
    *hi = mx;
    *found = 1;
  }
  return QN_OK;
}

/* One rank's finite min/max and count per auto-range axis. */
struct qn_bin_minmax {
  double mn[QN_BIN_MAX_AXES], mx[QN_BIN_MAX_AXES];
  int64_t seen[QN_BIN_MAX_AXES];
};

static int qn_bin_minmax_take(void *user, int rank, const void *buf, size_t len,
                              struct qn_error *err) {
  struct qn_bin_minmax *t = user, m;
  for (size_t off = 0; off + sizeof m <= len; off += sizeof m) {
    memcpy(&m, (const char *)buf + off, sizeof m);
    for (int a = 0; a < QN_BIN_MAX_AXES; a++) {
      t->mn[a] = QN_MIN(t->mn[a], m.mn[a]);
      t->mx[a] = QN_MAX(t->mx[a], m.mx[a]);
      t->seen[a] += m.seen[a];
    }
  }
  return QN_OK;
}

/* The range of the auto-range axes; fills lo/hi. From the metadata where
 * it has them, else one scan over the remaining axes' columns. A zero
 * bound is +0.0, whichever zero the data or the statistics hold (Parquet
 * writers store a zero min as -0.0 and a zero max as +0.0), so that the
 * edges do not depend on the order of the values or on the path. With
 * ranks, each scans its share and rank 0 folds and broadcasts the bounds;
 * every rank with an auto-range axis takes part (the comm's calls). */
static int qn_bin_range_pass(struct qn_context *ctx, struct qn_source *src,
                             const struct qn_bin_options *opt, const int *axis_cols,
                             int64_t rows, double *lo, double *hi, struct qn_error *err) {
  int status = QN_OK, any_auto = 0;
  struct qn_comm *comm = qn_comm_of(ctx);
  struct qn_bin_job j;
  memset(&j, 0, sizeof j);
  int cols[QN_BIN_MAX_AXES], ncols = 0, which[QN_BIN_MAX_AXES];
  for (int k = 0; status == QN_OK && k < opt->naxes; k++) {
    int found = 0;
    if (!opt->axes[k].auto_range) continue;
    any_auto = 1;
    status = qn_bin_range_from_meta(src, axis_cols[k], &lo[k], &hi[k], &found, err);
    if (status != QN_OK) break;
    if (found) {
      lo[k] = lo[k] == 0 ? 0.0 : lo[k];
      hi[k] = hi[k] == 0 ? 0.0 : hi[k];
      continue;
    }
    which[j.nauto] = k;
    j.auto_pos[j.nauto++] = qn_bin_col_slot(cols, &ncols, axis_cols[k]);
  }
  if (!any_auto || (j.nauto == 0 && comm->size == 1)) return status;
  const int nw = qn_context_threads(ctx);
  const size_t n = (size_t)nw * (size_t)QN_MAX(j.nauto, 1);
  if (status == QN_OK) {
    j.mn = qn_mem_alloc(ctx, n * sizeof(double), "range pass accumulators", err);
    j.mx = qn_mem_alloc(ctx, n * sizeof(double), "range pass accumulators", err);
    j.seen = qn_mem_calloc(ctx, n * sizeof(int64_t), "range pass accumulators", err);
    if (!j.mn || !j.mx || !j.seen) status = err ? err->code : QN_ELIMIT;
  }
  for (size_t i = 0; status == QN_OK && i < n; i++) {
    j.mn[i] = INFINITY;
    j.mx[i] = -INFINITY;
  }
  struct qn_scan_kernel k = {.user = &j, .process = qn_bin_range_process};
  struct qn_scan_options so = {.cols = cols, .ncols = ncols, .label = "bin: range"};
  struct qn_scan_range share = {0, 0};
  if (j.nauto > 0)
    qn_comm_share(comm, qn_scan_morsels(src, cols, ncols), &share.begin, &share.end);
  if (comm->size > 1) {
    so.ranges = &share;
    so.nranges = 1;
  }
  if (status == QN_OK && j.nauto > 0 && (comm->size == 1 || share.end > share.begin))
    status = qn_scan_run(ctx, src, &so, &k, err);
  QN_CHECK(qn_comm_agree(comm, status, err));
  struct qn_bin_minmax m;
  for (int a = 0; a < QN_BIN_MAX_AXES; a++) {
    m.mn[a] = INFINITY;
    m.mx[a] = -INFINITY;
    m.seen[a] = 0;
  }
  for (int a = 0; a < j.nauto; a++)
    for (int w = 0; w < nw; w++) { /* min/max: order does not matter */
      m.mn[a] = QN_MIN(m.mn[a], j.mn[w * j.nauto + a]);
      m.mx[a] = QN_MAX(m.mx[a], j.mx[w * j.nauto + a]);
      m.seen[a] += j.seen[w * j.nauto + a];
    }
  if (comm->size > 1) {
    struct qn_bin_minmax all = m;
    if (comm->rank == 0) {
      status = qn_comm_gather(comm, NULL, 0, sizeof m, NULL, 0, qn_bin_minmax_take, &all, err);
    } else {
      status =
          qn_comm_gather(comm, &m, sizeof m, sizeof m, NULL, 0, qn_bin_minmax_take, &all, err);
    }
    QN_CHECK(qn_comm_agree(comm, status, err));
    m = all;
    QN_CHECK(qn_comm_bcast(comm, &m, sizeof m, 0, err));
  }
  for (int a = 0; a < j.nauto; a++) {
    double mn = m.mn[a], mx = m.mx[a];
    const int64_t seen = m.seen[a];
    const int k2 = which[a];
    if (seen == 0 && rows > 0) {
      status = qn_error_set(err, QN_EINVAL,
                            "axis %s: no finite value to take the range from; give "
                            "%s:%lld:LO:HI",
                            opt->axes[k2].column, opt->axes[k2].column,
                            (long long)opt->axes[k2].bins);
      goto done;
    }
    if (seen == 0) { /* numpy: an empty array bins over [0, 1] */
      mn = 0.0;
      mx = 1.0;
    }
    lo[k2] = mn == 0 ? 0.0 : mn;
    hi[k2] = mx == 0 ? 0.0 : mx;
  }
done:
  qn_mem_free(ctx, j.mn);
  qn_mem_free(ctx, j.mx);
  qn_mem_free(ctx, j.seen);
  return status;
}

/* Builds the kernel axes (edges owned by r). */
static int qn_bin_build_axes(const struct qn_bin_options *opt, const double *lo,
                             const double *hi, struct qn_bin_result *r,
                             struct qn_bin_axis *axes, struct qn_error *err) {
  for (int k = 0; k < opt->naxes; k++) {
    const struct qn_bin_axis_spec *a = &opt->axes[k];
    if (a->nedges >= 2 && a->bins == 0) {
      r->edges[k] = malloc((size_t)a->nedges * sizeof(double));
      if (!r->edges[k]) return qn_error_set(err, QN_ENOMEM, "out of memory");
      memcpy(r->edges[k], a->edges, (size_t)a->nedges * sizeof(double));
      QN_RETURN_IF_ERROR(
          qn_bin_axis_irregular(&axes[k], a->column, r->edges[k], a->nedges, err));
    } else {
      double l = lo[k], h = hi[k];
      if (l == h) { /* numpy widens an empty range */
        l -= 0.5;
        h += 0.5;
      }
      r->edges[k] = malloc((size_t)(a->bins + 1) * sizeof(double));
      if (!r->edges[k])
        return qn_error_set(err, QN_ENOMEM, "out of memory for %lld edges", (long long)a->bins);
      QN_RETURN_IF_ERROR(
          qn_bin_axis_regular(&axes[k], a->column, a->bins, l, h, r->edges[k], err));
    }
    r->nbins[k] = axes[k].nbins;
  }
  return QN_OK;
}

/* The lanes' memory in *mem; *zeroed when it is known to be zero (a fresh
 * mapping: the grids then need no clearing but their min/max). */
static int qn_bin_alloc_lanes(struct qn_context *ctx, const struct qn_bin_plan *plan, int lanes,
                              int per_worker, void **mem, int *zeroed, void **ws, int nws,
                              struct qn_error *err) {
  int64_t gb = qn_bin_grid_bytes(plan);
  char what[160], a[32];
  if (qn_bin_is_sliced(plan))
    snprintf(what, sizeof what, "the bin grid (%lld cells, %s)", (long long)plan->ncells,
             qn_format_size(gb, a, sizeof a));
  else
    snprintf(what, sizeof what, "the bin grids (%d %s%s of %lld cells, %s each)", lanes,
             per_worker ? "worker grid" : "lane", lanes == 1 ? "" : "s",
             (long long)plan->ncells, qn_format_size(gb, a, sizeof a));
  if (gb > INT64_MAX / lanes - 64)
    return qn_error_set(err, QN_ELIMIT, "%s do not fit in memory", what);
  *mem = qn_mem_alloc_zeroed(ctx, (size_t)(gb * lanes), what, err, zeroed);
  if (!*mem) return err ? err->code : QN_ELIMIT;
  for (int w = 0; w < nws; w++) {
    ws[w] =
        qn_mem_alloc(ctx, (size_t)qn_bin_workspace_size(plan), "bin kernel workspaces", err);
    if (!ws[w]) return err ? err->code : QN_ELIMIT;
  }
  return QN_OK;
}

/* The sliced job's per-worker sorted rows and per-slice state, from the
 * budget before any row is read (the slice count from the grid alone). */
static int qn_bin_alloc_sliced(struct qn_context *ctx, const struct qn_bin_plan *plan,
                               struct qn_bin_job *j, int nw, void **mem, struct qn_error *err) {
  j->shift = qn_bin_slice_shift(plan, QN_BIN_MAX_SLICES);
  j->nslices = qn_bin_slices(plan, j->shift);
  const int64_t rb = qn_bin_rows_bytes(plan, j->nslices, QN_MORSEL_ROWS);
  *mem = qn_mem_alloc(ctx, (size_t)(rb * nw), "bin rows of the morsels in flight", err);
  j->rows = calloc((size_t)nw, sizeof *j->rows);
  j->pending = calloc((size_t)j->nslices, sizeof *j->pending);
  if (!*mem) return err ? err->code : QN_ELIMIT;
  if (!j->rows || !j->pending) return qn_error_set(err, QN_ENOMEM, "out of memory");
  for (int w = 0; w < nw; w++)
    qn_bin_rows_init(plan, &j->rows[w], (char *)*mem + (size_t)(rb * w), j->nslices,
                     QN_MORSEL_ROWS);
  return QN_OK;
}

/* Per-cell work over a large grid (first touch, finish, statistics) on
 * every thread, each a contiguous range of cells: every cell's result is
 * its own, so the split changes no bit. */
enum qn_bin_cells_op {
  QN_BIN_OP_CLEAR,
  QN_BIN_OP_CLEAR_ZEROED, /* memory known to be zero: only min/max */
  QN_BIN_OP_FINISH,
  QN_BIN_OP_STAT
};
struct qn_bin_cells {
  const struct qn_bin_plan *plan;
  struct qn_bin_grid *grid;
  enum qn_bin_cells_op op;
  enum qn_bin_kstat stat;
  double *out;
  int parts;
};

static void qn_bin_cells_worker(void *arg, int w) {
  const struct qn_bin_cells *a = arg;
  const int64_t cells = a->plan->ncells + 1;
  const int64_t per = ((cells + a->parts - 1) / a->parts + 63) & ~(int64_t)63;
  const int64_t c0 = QN_MIN(cells, per * w), c1 = QN_MIN(cells, c0 + per);
  if (a->op == QN_BIN_OP_CLEAR || a->op == QN_BIN_OP_CLEAR_ZEROED)
    qn_bin_grid_clear(a->plan, a->grid, c0, c1, a->op == QN_BIN_OP_CLEAR_ZEROED);
  else if (a->op == QN_BIN_OP_FINISH)
    qn_bin_grid_finish_cells(a->plan, a->grid, c0, c1);
  else
    qn_bin_grid_stat_cells(a->plan, a->grid, a->stat, a->out, c0, c1);
}

/* Grids from this size on are worth the threads (a 1000 x 1000 mean grid,
 * 60 MB, takes about 25 ms to clear on one). */
#define QN_BIN_PAR_CELLS_BYTES ((int64_t)8 << 20)

static int qn_bin_cells_run(struct qn_context *ctx, const struct qn_bin_plan *plan,
                            struct qn_bin_grid *grid, enum qn_bin_cells_op op,
                            enum qn_bin_kstat stat, double *out, struct qn_error *err) {
  struct qn_bin_cells a = {plan, grid, op, stat, out, qn_context_threads(ctx)};
  if (qn_bin_grid_bytes(plan) < QN_BIN_PAR_CELLS_BYTES) a.parts = 1;
  if (a.parts == 1) {
    qn_bin_cells_worker(&a, 0);
    return QN_OK;
  }
  return qn_pool_run(ctx, a.parts, qn_bin_cells_worker, &a, err);
}

static int qn_bin_collect(struct qn_context *ctx, struct qn_bin_result *r,
                          const struct qn_bin_plan *plan, struct qn_bin_grid *grids, int lanes,
                          struct qn_error *err) {
  for (int l = 0; l < lanes; l++) {
    if (grids[l].finished) continue;
    QN_RETURN_IF_ERROR(
        qn_bin_cells_run(ctx, plan, &grids[l], QN_BIN_OP_FINISH, QN_BIN_K_COUNT, NULL, err));
    grids[l].finished = 1;
  }
  for (int l = 1; l < lanes; l++) qn_bin_grid_fold(plan, &grids[0], &grids[l]);
  r->out_of_range = grids[0].count[plan->ncells];
  return QN_OK;
}

/* With ranks: what rank 0 folds the other ranks' lanes into. */
struct qn_bin_fold {
  const struct qn_bin_plan *plan;
  struct qn_bin_grid *dst, recv; /* recv lies over the receive buffer */
  int have;                      /* dst holds lane 0 (rank 0 may own no lane) */
  int64_t gb;
};

static int qn_bin_fold_take(void *user, int rank, const void *buf, size_t len,
                            struct qn_error *err) {
  struct qn_bin_fold *f = user;
  for (size_t off = 0; off + (size_t)f->gb <= len; off += (size_t)f->gb) {
    assert(buf == (const void *)f->recv.count && off == 0); /* one grid a piece */
    f->recv.finished = 1;
    if (f->have) {
      qn_bin_grid_fold(f->plan, f->dst, &f->recv);
    } else { /* lane 0 itself, not folded into zeros (a -0.0 would turn +0.0) */
      memcpy(f->dst->count, buf, (size_t)f->gb);
      f->dst->finished = 1;
      f->have = 1;
    }
  }
  return QN_OK;
}

/* Folds the lanes of all ranks into rank 0's grids[0], as qn_bin_collect
 * does in one process: integer grids by an exact sum, lanes in order. */
static int qn_bin_collect_ranks(struct qn_context *ctx, struct qn_bin_result *r,
                                const struct qn_bin_plan *plan, struct qn_bin_grid *grids,
                                int lanes, int count_only, int l0, int l1,
                                struct qn_error *err) {
  struct qn_comm *comm = qn_comm_of(ctx);
  int status = QN_OK;
  if (count_only) { /* integers: any split gives the same sums */
    status = qn_bin_collect(ctx, r, plan, grids, lanes, err);
    QN_RETURN_IF_ERROR(qn_comm_agree(comm, status, err));
    QN_RETURN_IF_ERROR(qn_comm_sum_i64(comm, grids[0].count, (size_t)plan->ncells + 1, err));
    r->out_of_range = grids[0].count[plan->ncells];
    return QN_OK;
  }
  for (int l = l0; l < l1 && status == QN_OK; l++) {
    if (grids[l].finished) continue;
    status =
        qn_bin_cells_run(ctx, plan, &grids[l], QN_BIN_OP_FINISH, QN_BIN_K_COUNT, NULL, err);
    grids[l].finished = status == QN_OK;
  }
  struct qn_bin_fold f = {
      .plan = plan, .dst = &grids[0], .have = l1 > l0, .gb = qn_bin_grid_bytes(plan)};
  void *rmem = NULL;
  /* rank 0 owns the first ceil(L/N) lanes (qn_bin_share): every lane when
   * L <= that, as a sliced grid's one lane, and then no grid travels */
  const int others = (lanes + comm->size - 1) / comm->size < lanes;
  if (comm->rank == 0 && status == QN_OK) {
    for (int l = 1; l < l1; l++) qn_bin_grid_fold(plan, &grids[0], &grids[l]);
    if (others)
      rmem = qn_mem_alloc(ctx, (size_t)f.gb, "a bin grid received from another rank", err);
    if (others && !rmem)
      status = err ? err->code : QN_ELIMIT;
    else if (others)
      qn_bin_grid_init(plan, &f.recv, rmem);
  }
  QN_CHECK(qn_comm_agree(comm, status, err));
  if (others) {
    const char *mine =
        comm->rank ? (const char *)grids[0].count + (size_t)l0 * (size_t)f.gb : NULL;
    status = qn_comm_gather(comm, mine, comm->rank ? (size_t)(l1 - l0) * (size_t)f.gb : 0,
                            (size_t)f.gb, rmem, (size_t)f.gb, qn_bin_fold_take, &f, err);
    QN_CHECK(qn_comm_agree(comm, status, err));
  }
  if (comm->rank == 0) {
    if (!f.have) qn_bin_grid_finish(plan, &grids[0]); /* no rank had a lane: no row */
    r->out_of_range = grids[0].count[plan->ncells];
  }
done:
  qn_mem_free(ctx, rmem);
  return status;
}

/* Rank r's share of the bin scan, into *ranges (malloc'd; *n 0 when the
 * rank reads nothing): count-only, contiguous morsels; with lanes, every
 * morsel of the lanes [*l0, *l1) it owns. */
static int qn_bin_share(struct qn_comm *comm, int64_t morsels, int lanes, int count_only,
                        struct qn_scan_range **ranges, int *n, int *l0, int *l1,
                        struct qn_error *err) {
  int64_t a = 0, b = 0;
  *n = 0;
  if (count_only) {
    qn_comm_share(comm, morsels, &a, &b);
    *l0 = 0;
    *l1 = lanes;
    if (b <= a) return QN_OK;
    if (!(*ranges = malloc(sizeof **ranges)))
      return qn_error_set(err, QN_ENOMEM, "out of memory");
    (*ranges)[0] = (struct qn_scan_range){a, b};
    *n = 1;
    return QN_OK;
  }
  /* lanes [ceil(rL/N), ceil((r+1)L/N)): rank 0 holds lane 0, which the
   * others fold into, and a job of one lane (a sliced grid) stays there */
  a = ((int64_t)comm->rank * lanes + comm->size - 1) / comm->size;
  b = ((int64_t)(comm->rank + 1) * lanes + comm->size - 1) / comm->size;
  *l0 = (int)a;
  *l1 = (int)b;
  const int64_t blocks = (morsels + lanes - 1) / lanes;
  if (b <= a || blocks == 0) return QN_OK;
  if (blocks > INT32_MAX) return qn_error_set(err, QN_ELIMIT, "too many morsels for the lanes");
  if (!(*ranges = malloc((size_t)blocks * sizeof **ranges)))
    return qn_error_set(err, QN_ENOMEM, "out of memory");
  for (int64_t i = 0; i < blocks; i++) {
    const int64_t lo = i * lanes + a, hi = QN_MIN(i * lanes + b, morsels);
    if (lo < hi) (*ranges)[(*n)++] = (struct qn_scan_range){lo, hi};
  }
  return QN_OK;
}

int qn_bin_run(struct qn_context *ctx, struct qn_source *src, const struct qn_bin_options *opt,
               struct qn_bin_result **out, struct qn_error *err) {
  int status = QN_OK;
  struct qn_bin_result *r = NULL;
  void *lane_mem = NULL, **ws = NULL, *rows_mem = NULL;
  int turns = 0, lanes_zeroed = 0;
  struct qn_bin_grid *grids = NULL;
  const int nw = qn_context_threads(ctx);
  struct qn_bin_axis axes[QN_BIN_MAX_AXES];
  struct qn_bin_plan plan;
  int axis_cols[QN_BIN_MAX_AXES], value_col = -1, weight_col = -1;
  int cols[QN_BIN_MAX_AXES + 2], ncols = 0;
  double lo[QN_BIN_MAX_AXES], hi[QN_BIN_MAX_AXES];
  struct qn_bin_job j;
  memset(axes, 0, sizeof axes);
  struct qn_comm *comm = qn_comm_of(ctx);
  struct qn_scan_range *share = NULL;
  int nshare = 0, l0 = 0, l1 = 0, agreed = 0; /* ranks agree before the range pass */
  memset(&j, 0, sizeof j);
  j.value_pos = j.weight_pos = -1;

  QN_CHECK(qn_bin_check_options(opt, err));
  for (int k = 0; k < opt->naxes; k++)
    QN_CHECK(qn_bin_find_numeric(src, opt->axes[k].column, "axis", &axis_cols[k], err));
  if (opt->value) QN_CHECK(qn_bin_find_numeric(src, opt->value, "value", &value_col, err));
  if (opt->weight) QN_CHECK(qn_bin_find_numeric(src, opt->weight, "weight", &weight_col, err));
  QN_CHECK(qn_bin_result_new(ctx, src, opt, &r, err));
  for (int k = 0; k < opt->naxes; k++)
    j.axis_pos[k] = qn_bin_col_slot(cols, &ncols, axis_cols[k]);
  if (value_col >= 0) j.value_pos = qn_bin_col_slot(cols, &ncols, value_col);
  if (weight_col >= 0) j.weight_pos = qn_bin_col_slot(cols, &ncols, weight_col);
  QN_CHECK(qn_source_rows(src, cols, ncols, &r->rows, err));

  /* Size and reserve the grids first: their size depends on bin counts
   * only, so a grid too large fails before any row is read. */
  for (int k = 0; k < opt->naxes; k++)
    axes[k].nbins = opt->axes[k].bins > 0 ? opt->axes[k].bins : opt->axes[k].nedges - 1;
  QN_CHECK(qn_bin_plan_init(&plan, axes, opt->naxes, value_col >= 0, weight_col >= 0, err));
  plan.need_minmax = 0; /* min/max are the only statistics one can skip */
  for (int i = 0; i < r->nstats; i++)
    plan.need_minmax |= r->stats[i] == QN_BIN_MIN || r->stats[i] == QN_BIN_MAX;
  const int need_minmax = plan.need_minmax;
  j.per_worker = qn_bin_worker_grids(&plan, nw);
  j.sliced = qn_bin_is_sliced(&plan);
  r->lanes = j.per_worker ? nw : j.sliced ? 1 : qn_bin_lanes_for(&plan);
  r->grid_bytes = qn_bin_grid_bytes(&plan) * r->lanes;
  r->ncells = plan.ncells;
  ws = calloc((size_t)nw, sizeof *ws);
  grids = calloc((size_t)r->lanes, sizeof *grids);
  if (!ws || !grids) {
    status = qn_error_set(err, QN_ENOMEM, "out of memory");
    goto done;
  }
  QN_CHECK(qn_bin_alloc_lanes(ctx, &plan, r->lanes, j.per_worker, &lane_mem, &lanes_zeroed, ws,
                              nw, err));
  if (j.sliced) QN_CHECK(qn_bin_alloc_sliced(ctx, &plan, &j, nw, &rows_mem, err));
  agreed = 1;
  QN_CHECK(qn_comm_agree(comm, QN_OK, err));

  for (int k = 0; k < opt->naxes; k++) {
    lo[k] = opt->axes[k].lo;
    hi[k] = opt->axes[k].hi;
  }
  QN_CHECK(qn_bin_range_pass(ctx, src, opt, axis_cols, r->rows, lo, hi, err));
  status = qn_bin_build_axes(opt, lo, hi, r, axes, err);
  if (status == QN_OK)
    status = qn_bin_plan_init(&plan, axes, opt->naxes, value_col >= 0, weight_col >= 0, err);
  const int count_only = value_col < 0 && weight_col < 0;
  if (status == QN_OK && comm->size > 1)
    status = qn_bin_share(comm, qn_scan_morsels(src, cols, ncols), r->lanes, count_only, &share,
                          &nshare, &l0, &l1, err);
  QN_CHECK(qn_comm_agree(comm, status, err));
  if (comm->size > 1) { /* the same files, columns, edges and lanes everywhere */
    int64_t plan_bytes[2 + QN_BIN_MAX_AXES] = {count_only ? 0 : r->lanes, opt->naxes};
    uint64_t d = 0;
    for (int k = 0; k < opt->naxes; k++) {
      plan_bytes[2 + k] = r->nbins[k];
      d ^= qn_comm_plan_digest(src, cols, ncols, r->edges[k],
                               (size_t)(r->nbins[k] + 1) * sizeof(double)) +
           (uint64_t)k;
    }
    d ^= qn_comm_plan_digest(src, cols, ncols, plan_bytes, sizeof plan_bytes);
    QN_CHECK(qn_comm_check_plan(comm, d, "input files, columns or bin edges", err));
  }
  plan.need_minmax = need_minmax; /* as the grids were sized */
  for (int l = 0; l < r->lanes; l++) {
    qn_bin_grid_layout(&plan, &grids[l],
                       (char *)lane_mem + (size_t)l * qn_bin_grid_bytes(&plan));
    QN_CHECK(qn_bin_cells_run(ctx, &plan, &grids[l],
                              lanes_zeroed ? QN_BIN_OP_CLEAR_ZEROED : QN_BIN_OP_CLEAR,
                              QN_BIN_K_COUNT, NULL, err));
  }

  j.plan = &plan;
  j.lanes = r->lanes;
  j.grids = grids;
  j.ws = ws;
  /* The float64 index path (pathological edges, 2^31 cells or more) has
   * no sliced form: one lane then, whose bits are the sliced ones. */
  if (j.sliced && !plan.index32) j.sliced = 0;
  if (j.sliced) {
    QN_CHECK(qn_turns_init(&j.turns, j.nslices, err));
    turns = 1;
  }
  struct qn_scan_kernel k = {.user = &j,
                             .nlanes = j.per_worker || j.sliced ? 0 : r->lanes,
                             .process = qn_bin_process,
                             .cancel = qn_bin_cancel};
  struct qn_scan_options so = {
      .cols = cols, .ncols = ncols, .label = "bin", .max_block_morsels = j.sliced ? 1 : 0};
  if (comm->size == 1) {
    QN_CHECK(qn_scan_run(ctx, src, &so, &k, err));
    QN_CHECK(qn_bin_collect(ctx, r, &plan, grids, r->lanes, err));
  } else {
    /* A sliced grid is one lane: rank 0 reads every morsel and keeps the
     * grid; the other ranks wait for its status (docs/scale-out.md). */
    so.ranges = share;
    so.nranges = nshare;
    j.ranges = so.ranges;
    j.nranges = so.nranges;
    if (nshare > 0) status = qn_scan_run(ctx, src, &so, &k, err);
    QN_CHECK(qn_comm_agree_scan(comm, status, err));
    QN_CHECK(qn_bin_collect_ranks(ctx, r, &plan, grids, r->lanes, count_only, l0, l1, err));
  }

  /* Give the workspaces back before the outputs. */
  for (int w = 0; w < nw; w++) {
    qn_mem_free(ctx, ws[w]);
    ws[w] = NULL;
  }
  qn_mem_free(ctx, rows_mem);
  rows_mem = NULL;
  int need[QN_BIN_NSTATS] = {0};
  for (int i = 0; i < r->nstats; i++) need[r->stats[i]] = 1;
  for (int s = 0; s < QN_BIN_NSTATS; s++) {
    if (!need[s] || comm->rank != 0) continue; /* only rank 0 holds the whole grid */
    r->values[s] = qn_mem_alloc(ctx, (size_t)plan.ncells * sizeof(double), "bin results", err);
    if (!r->values[s]) {
      status = err ? err->code : QN_ELIMIT;
      goto done;
    }
    static const enum qn_bin_kstat map[QN_BIN_NSTATS] = {
        QN_BIN_K_COUNT, QN_BIN_K_SUM, QN_BIN_K_MEAN, QN_BIN_K_STD, QN_BIN_K_MIN, QN_BIN_K_MAX};
    QN_CHECK(
        qn_bin_cells_run(ctx, &plan, &grids[0], QN_BIN_OP_STAT, map[s], r->values[s], err));
  }
  *out = r;
  r = NULL;
done:
  if (!agreed) status = qn_comm_agree(comm, status, err); /* failed before the first one */
  free(share);
  if (ws)
    for (int w = 0; w < nw; w++) qn_mem_free(ctx, ws[w]);
  free(ws);
  qn_mem_free(ctx, lane_mem);
  qn_mem_free(ctx, rows_mem);
  if (turns) qn_turns_reset(&j.turns);
  free(j.rows);
  free(j.pending);
  free(grids);
  qn_bin_result_free(r);
  return status;
}

/* ----- outputs ---------------------------------------------------------- */

static int qn_bin_count_is_int(const struct qn_bin_result *r) {
  return r->weight == NULL;
}

/* The result as the grid writer (src/io/grid_writer.c) takes it: the
 * statistics in the order asked for, counts as integers when unweighted. */
struct qn_bin_gridview {
  struct qn_grid g;
  const char *names[QN_BIN_MAX_AXES], *stat_names[QN_BIN_NSTATS];
  const double *edges[QN_BIN_MAX_AXES], *values[QN_BIN_NSTATS];
  int as_int[QN_BIN_NSTATS];
};

static void qn_bin_gridview(const struct qn_bin_result *r, struct qn_bin_gridview *v) {
  memset(v, 0, sizeof *v);
  for (int k = 0; k < r->naxes; k++) {
    v->names[k] = r->names[k];
    v->edges[k] = r->edges[k];
  }
  for (int i = 0; i < r->nstats; i++) {
    v->stat_names[i] = qn_bin_stat_name(r->stats[i]);
    v->values[i] = r->values[r->stats[i]];
    v->as_int[i] = r->stats[i] == QN_BIN_COUNT && qn_bin_count_is_int(r);
  }
  v->g = (struct qn_grid){.naxes = r->naxes,
                          .names = v->names,
                          .nbins = r->nbins,
                          .edges = v->edges,
                          .nstats = r->nstats,
                          .stat_names = v->stat_names,
                          .values = v->values,
                          .as_int = v->as_int,
                          .ncells = r->ncells,
                          .version = qn_version(),
                          .inputs = (const char *const *)r->inputs,
                          .ninputs = r->ninputs,
                          .value = r->value,
                          .weight = r->weight,
                          .rows = r->rows,
                          .out_of_range = r->out_of_range};
}

static int qn_bin_plot(const struct qn_bin_result *r, const char *path, struct qn_error *err) {
  const int s = r->stats[0];
  char title[512], zlabel[256];
  const char *sname = qn_bin_stat_name(s);
  if (s == QN_BIN_COUNT)
    snprintf(zlabel, sizeof zlabel, "%s%s", r->weight ? "sum of " : "count",
             r->weight ? r->weight : "");
  else
    snprintf(zlabel, sizeof zlabel, "%s of %s", sname, r->value);
  if (r->naxes == 1) {
    snprintf(title, sizeof title, "%s per %s bin (%lld rows, %lld out of range)", zlabel,
             r->names[0], (long long)r->rows, (long long)r->out_of_range);
    return qn_plot_bars(path, 1000, 640, title, r->names[0], zlabel, r->edges[0], r->values[s],
                        (size_t)r->nbins[0], err);
  }
  snprintf(title, sizeof title, "%s per (%s, %s) bin (%lld rows, %lld out of range)", zlabel,
           r->names[0], r->names[1], (long long)r->rows, (long long)r->out_of_range);
  return qn_plot_heatmap(path, 1000, 800, title, r->names[0], r->names[1], zlabel, r->edges[0],
                         (size_t)r->nbins[0], r->edges[1], (size_t)r->nbins[1], r->values[s],
                         err);
}

enum qn_bin_format { QN_BIN_FMT_JSON, QN_BIN_FMT_H5, QN_BIN_FMT_CSV };

/* The output format by the extension of `path`; -1 when unknown. */
static int qn_bin_format_of(const char *path) {
  if (!path || !strcmp(path, "-") || qn_str_has_suffix(path, ".json")) return QN_BIN_FMT_JSON;
  if (qn_str_has_suffix(path, ".h5") || qn_str_has_suffix(path, ".hdf5")) return QN_BIN_FMT_H5;
  if (qn_str_has_suffix(path, ".csv")) return QN_BIN_FMT_CSV;
  return -1;
}

int qn_bin_output_check(const char *path, const char *plot, int naxes, struct qn_error *err) {
  if (qn_bin_format_of(path) < 0)
    return qn_error_set(err, QN_EINVAL, "%s: unknown output type (use .json, .h5 or .csv)",
                        path);
  if (plot && !qn_str_has_suffix(plot, ".png"))
    return qn_error_set(err, QN_EINVAL, "%s: the plot is a PNG file (NAME.png)", plot);
  if (plot && naxes > 2)
    return qn_error_set(err, QN_EINVAL,
                        "%s: a plot draws 1-D and 2-D results; this one has %d axes", plot,
                        naxes);
  return QN_OK;
}

int qn_bin_save(const struct qn_bin_result *r, const char *path, const char *plot,
                struct qn_error *err) {
  int status = QN_OK;
  struct qn_outfile *out = NULL;
  const int to_stdout = !path || !strcmp(path, "-");
  QN_RETURN_IF_ERROR(qn_bin_output_check(path, plot, r->naxes, err));
  const int fmt = qn_bin_format_of(path);
  struct qn_bin_gridview view;
  qn_bin_gridview(r, &view);
  if (!to_stdout) {
    QN_CHECK(qn_outfile_open(path, &out, err));
    if (fmt == QN_BIN_FMT_H5) {
      QN_CHECK(qn_outfile_close_stream(out, err));
      QN_CHECK(qn_grid_write_h5(&view.g, qn_outfile_temp_path(out), path, err));
    } else if (fmt == QN_BIN_FMT_CSV) {
      QN_CHECK(qn_grid_write_csv(r->ctx, &view.g, qn_outfile_stream(out), path, err));
    } else {
      QN_CHECK(qn_grid_write_json(&view.g, qn_outfile_stream(out), path, err));
    }
  }
  /* The plot is written (atomically) before the output is renamed into
   * place, so a failed plot leaves neither file. */
  if (plot) QN_CHECK(qn_bin_plot(r, plot, err));
  if (out) {
    status = qn_outfile_commit(out, err);
    out = NULL;
    if (status != QN_OK && plot) unlink(plot);
  } else {
    QN_CHECK(qn_grid_write_json(&view.g, stdout, NULL, err));
    if (fflush(stdout) != 0) status = qn_error_set(err, QN_EIO, "cannot write standard output");
  }
done:
  qn_outfile_abort(out);
  return status;
}
