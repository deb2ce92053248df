/* test_scan.c — the engine's scan on its own: in-memory tables of several
 * "files" (ragged, empty, one-row) with int64, float64, nullable int32 and
 * string columns; random shares of morsels, thread counts, memory limits,
 * lane counts and commit windows. Every run must
 *   - hand each morsel of its share to `process` exactly once, with the
 *     right rows of every column (values, nulls, string bytes);
 *   - process the morsels of a lane one at a time, in index order;
 *   - never run a morsel `window` or more ahead of the oldest uncommitted;
 *   - commit exactly the share's morsels, in increasing order, with their
 *     file: the same sequence whatever the threads, limit or lanes;
 * and two complementary shares together give the whole table's sequence. */
#include <stdatomic.h>
#include <unistd.h>

#include "engine/qn_scan.h"
#include "harness.h"

#define NFILES 7
#define MAX_MORSELS 64

static const int64_t file_rows[NFILES] = {200000, 0, 1, 65536, 65537, 131071, 3};

struct table {
  int64_t *id[NFILES];
  double *x[NFILES];
  int32_t *q[NFILES];
  uint8_t *qvalid[NFILES];
  char *s[NFILES];
  int64_t *soff[NFILES];
  int64_t row0[NFILES]; /* global row of each file's first row */
};

/* The morsel plan worked out by hand from file_rows. */
static int64_t first_morsel(int f) {
  int64_t m = 0;
  for (int i = 0; i < f; i++) m += (file_rows[i] + QN_MORSEL_ROWS - 1) / QN_MORSEL_ROWS;
  return m;
}
static int file_of_morsel(int64_t m) {
  for (int f = 0; f < NFILES; f++)
    if (m < first_morsel(f + 1) && m >= first_morsel(f)) return f;
  return -1;
}

static double xval(int64_t g) {
  return (double)g * 0.5 - 3.25;
}
static int qnull(int64_t g) {
  return g % 7 == 3;
}

static void table_init(struct table *t) {
  int64_t g = 0;
  for (int f = 0; f < NFILES; f++) {
    int64_t n = file_rows[f];
    t->row0[f] = g;
    t->id[f] = malloc((size_t)(n + 1) * 8);
    t->x[f] = malloc((size_t)(n + 1) * 8);
    t->q[f] = malloc((size_t)(n + 1) * 4);
    t->qvalid[f] = malloc((size_t)(n + 1));
    t->soff[f] = malloc((size_t)(n + 1) * 8);
    t->s[f] = malloc((size_t)(n + 1) * 12);
    int64_t off = 0;
    for (int64_t i = 0; i < n; i++, g++) {
      t->id[f][i] = g;
      t->x[f][i] = xval(g);
      t->q[f][i] = (int32_t)(g * 3);
      t->qvalid[f][i] = !qnull(g);
      t->soff[f][i] = off;
      off += sprintf(t->s[f] + off, "%lld", (long long)g);
    }
    t->soff[f][n] = off;
  }
}

static void table_free(struct table *t) {
  for (int f = 0; f < NFILES; f++) {
    free(t->id[f]);
    free(t->x[f]);
    free(t->q[f]);
    free(t->qvalid[f]);
    free(t->s[f]);
    free(t->soff[f]);
  }
}

static int open_table(struct qn_context *ctx, struct table *t, struct qn_source **src,
                      struct qn_error *err) {
  struct qn_reader *readers[NFILES];
  int n = 0, st = QN_OK;
  for (int f = 0; f < NFILES && st == QN_OK; f++) {
    struct qn_mem_column cols[4] = {
        {"id", QN_INT64, file_rows[f], t->id[f], 0, NULL, NULL, 0},
        {"x", QN_FLOAT64, file_rows[f], t->x[f], 0, NULL, NULL, 0},
        {"q", QN_INT32, file_rows[f], t->q[f], 0, t->qvalid[f], NULL, 0},
        {"s", QN_STRING, file_rows[f], t->s[f], 0, NULL, t->soff[f], 0}};
    char name[32];
    snprintf(name, sizeof name, "mem%d", f);
    st = qn_mem_reader_new(ctx, name, cols, 4, &readers[n], err);
    if (st == QN_OK) n++;
  }
  if (st != QN_OK) {
    for (int i = 0; i < n; i++) qn_reader_close(readers[i]);
    return st;
  }
  return qn_source_from_readers(ctx, readers, n, src, err);
}

/* What one run saw. */
struct run {
  const struct table *t;
  int nlanes, window;
  int64_t nmorsels;
  uint8_t in_share[MAX_MORSELS];
  atomic_int seen[MAX_MORSELS];
  atomic_int lane_busy[16];
  atomic_llong lane_last[16];
  atomic_llong committed; /* last committed morsel, -1 before */
  int64_t commits[MAX_MORSELS], commit_file[MAX_MORSELS];
  int ncommits;
  atomic_int bad;
  char why[256];
};

static void run_bad(struct run *r, const char *what, int64_t m) {
  if (atomic_fetch_add(&r->bad, 1) == 0)
    snprintf(r->why, sizeof r->why, "morsel %lld: %s", (long long)m, what);
}

/* The last share morsel <= m, or -1. */
static int64_t share_at_or_before(const struct run *r, int64_t m) {
  for (; m >= 0; m--)
    if (r->in_share[m]) return m;
  return -1;
}

static int check_rows(struct run *r, const struct qn_batch *b) {
  const struct table *t = r->t;
  int f = b->file;
  int64_t g0 = t->row0[f] + b->file_row0;
  const int64_t *id = b->cols[0].data;
  const double *x = b->cols[1].data;
  const int32_t *q = b->cols[2].data;
  const uint8_t *qv = b->cols[2].valid;
  const struct qn_colbuf *s = &b->cols[3];
  if (f != file_of_morsel(b->morsel) || b->nrows <= 0) return 0;
  if (b->file_row0 != (b->morsel - first_morsel(f)) * QN_MORSEL_ROWS) return 0;
  for (int64_t i = 0; i < b->nrows; i++) {
    int64_t g = g0 + i;
    if (id[i] != g || x[i] != xval(g)) return 0;
    int valid = qv ? qv[i] : 1;
    if (valid != !qnull(g) || (valid && q[i] != (int32_t)(g * 3))) return 0;
    char want[24];
    int len = sprintf(want, "%lld", (long long)g);
    int64_t a = s->offsets[i], e = s->offsets[i + 1];
    if (e - a != len || memcmp((const char *)s->data + a, want, (size_t)len) != 0) return 0;
  }
  return 1;
}

static int proc(void *user, int worker, const struct qn_batch *b, struct qn_error *err) {
  struct run *r = user;
  int64_t m = b->morsel;
  if (m < 0 || m >= r->nmorsels || !r->in_share[m]) {
    run_bad(r, "processed but not in the share", m);
    return QN_OK;
  }
  if (atomic_fetch_add(&r->seen[m], 1) != 0) run_bad(r, "processed twice", m);
  if (r->window > 0) {
    int64_t must = share_at_or_before(r, m - r->window);
    if (must >= 0 && atomic_load(&r->committed) < must)
      run_bad(r, "started a window or more ahead of the oldest uncommitted", m);
  }
  int lane = r->nlanes > 0 ? (int)(m % r->nlanes) : 0;
  if (r->nlanes > 0) {
    if (atomic_exchange(&r->lane_busy[lane], 1) != 0) run_bad(r, "lane busy twice", m);
    if (atomic_load(&r->lane_last[lane]) >= m) run_bad(r, "lane out of order", m);
    /* every earlier share morsel of this lane was processed already */
    for (int64_t j = m - r->nlanes; j >= 0; j -= r->nlanes)
      if (r->in_share[j] && atomic_load(&r->seen[j]) == 0) run_bad(r, "lane skipped ahead", m);
  }
  if (!check_rows(r, b)) run_bad(r, "wrong rows", m);
  if (r->nlanes > 0) {
    atomic_store(&r->lane_last[lane], m);
    atomic_store(&r->lane_busy[lane], 0);
  }
  return QN_OK;
}

static int commit(void *user, int64_t m, int file, struct qn_error *err) {
  struct run *r = user;
  if (r->ncommits >= MAX_MORSELS) return qn_error_set(err, QN_EINTERNAL, "too many commits");
  r->commits[r->ncommits] = m;
  r->commit_file[r->ncommits++] = file;
  if (atomic_load(&r->seen[m]) != 1) run_bad(r, "committed before it was processed", m);
  atomic_store(&r->committed, m);
  return QN_OK;
}

static uint64_t rng_state = 0x1234567887654321ULL;
static uint64_t rng(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

/* Runs one scan; fills r (commits); returns the status. */
static int scan_once(struct table *t, int threads, int64_t limit, int nlanes, int window,
                     const struct qn_scan_range *ranges, int nranges, struct run *r,
                     struct qn_error *err) {
  struct qn_context_options o;
  qn_context_options_init(&o);
  o.threads = threads;
  o.memory_limit = limit;
  o.progress = 0;
  struct qn_context *ctx = NULL;
  struct qn_source *src = NULL;
  int st = qn_context_new(&o, &ctx, err);
  if (st == QN_OK) st = open_table(ctx, t, &src, err);
  int cols[4] = {0, 1, 2, 3};
  if (st == QN_OK) {
    memset(r, 0, sizeof *r);
    r->t = t;
    r->nlanes = nlanes;
    r->window = window;
    r->nmorsels = qn_scan_morsels(src, cols, 4);
    atomic_store(&r->committed, -1);
    for (int l = 0; l < 16; l++) atomic_store(&r->lane_last[l], -1);
    for (int64_t m = 0; m < r->nmorsels; m++) r->in_share[m] = ranges == NULL;
    for (int i = 0; i < nranges; i++)
      for (int64_t m = ranges[i].begin; m < ranges[i].end && m < r->nmorsels; m++)
        r->in_share[m] = 1;
    struct qn_scan_kernel k = {.user = r, .nlanes = nlanes, .window = window};
    k.process = proc;
    k.commit = commit;
    struct qn_scan_options so = {
        .cols = cols, .ncols = 4, .label = "test", .ranges = ranges, .nranges = nranges};
    st = qn_scan_run(ctx, src, &so, &k, err);
  }
  qn_source_close(src);
  if (ctx && qn_context_used_bytes(ctx) != 0 && st == QN_OK)
    st = qn_error_set(err, QN_EINTERNAL, "%lld budgeted bytes not freed",
                      (long long)qn_context_used_bytes(ctx));
  qn_context_free(ctx);
  return st;
}

QN_TEST(morsel_plan_is_fixed_by_rows) {
  struct table t;
  table_init(&t);
  struct qn_context *ctx = NULL;
  struct qn_source *src = NULL;
  struct qn_error err;
  qn_error_init(&err);
  CHECK_OK(qn_context_new(NULL, &ctx, &err));
  CHECK_OK(open_table(ctx, &t, &src, &err));
  int cols[4] = {0, 1, 2, 3};
  /* 200000 -> 4, 0 -> 0, 1 -> 1, 65536 -> 1, 65537 -> 2, 131071 -> 2, 3 -> 1 */
  CHECK_EQ_INT(qn_scan_morsels(src, cols, 4), 11);
  int64_t row0 = -1, n = -1;
  CHECK_EQ_INT(qn_scan_morsel_rows(src, cols, 4, 3, &row0, &n), 0);
  CHECK_EQ_INT(row0, 3 * 65536);
  CHECK_EQ_INT(n, 200000 - 3 * 65536);
  CHECK_EQ_INT(qn_scan_morsel_rows(src, cols, 4, 4, &row0, &n), 2); /* file 1 is empty */
  CHECK_EQ_INT(n, 1);
  CHECK_EQ_INT(qn_scan_morsel_rows(src, cols, 4, 7, &row0, &n), 4);
  CHECK_EQ_INT(row0, 65536);
  CHECK_EQ_INT(n, 1);
  CHECK_EQ_INT(qn_scan_morsel_rows(src, cols, 4, 11, &row0, &n), -1);
  qn_source_close(src);
  qn_context_free(ctx);
  table_free(&t);
}

QN_TEST(random_shares_threads_and_limits_commit_the_same_sequence) {
  struct table t;
  table_init(&t);
  struct qn_error err;
  static struct run r;
  const int threads[] = {1, 2, 3, 7};
  const int lanes[] = {0, 1, 3, 16};
  const int windows[] = {1, 2, 5, 64};
  for (int iter = 0; iter < 48; iter++) {
    qn_error_init(&err);
    struct qn_scan_range ranges[8];
    int nranges = 0;
    int64_t m = (int64_t)(rng() % 3);
    while (nranges < 8 && m < 11) {
      int64_t len = 1 + (int64_t)(rng() % 4);
      ranges[nranges++] = (struct qn_scan_range){m, QN_MIN(m + len, 11)};
      m += len + (int64_t)(rng() % 3);
    }
    int whole = iter % 6 == 0;
    int th = threads[rng() % 4], nl = lanes[rng() % 4], win = windows[rng() % 4];
    int64_t limit = (iter % 3 == 0) ? 0 : qn_self_rss() + ((int64_t)(12 + rng() % 40) << 20);
    int st =
        scan_once(&t, th, limit, nl, win, whole ? NULL : ranges, whole ? 0 : nranges, &r, &err);
    if (st != QN_OK)
      QN_FAIL_AT("iter %d (threads %d, lanes %d, window %d): %s", iter, th, nl, win,
                 err.message);
    if (atomic_load(&r.bad)) QN_FAIL_AT("iter %d: %s", iter, r.why);
    /* the commit sequence is the share in order, each with its file */
    int k = 0;
    for (int64_t mm = 0; mm < r.nmorsels; mm++) {
      if (!r.in_share[mm]) continue;
      if (k >= r.ncommits || r.commits[k] != mm)
        QN_FAIL_AT("iter %d: commit %d is %lld, expected %lld", iter, k,
                   (long long)(k < r.ncommits ? r.commits[k] : -1), (long long)mm);
      CHECK_EQ_INT(r.commit_file[k], file_of_morsel(mm));
      if (atomic_load(&r.seen[mm]) != 1)
        QN_FAIL_AT("iter %d: morsel %lld", iter, (long long)mm);
      k++;
    }
    CHECK_EQ_INT(k, r.ncommits);
  }
  table_free(&t);
}

QN_TEST(two_complementary_shares_make_the_whole) {
  struct table t;
  table_init(&t);
  struct qn_error err;
  qn_error_init(&err);
  static struct run a, b, w;
  struct qn_scan_range ra[2] = {{0, 3}, {6, 8}}, rb[2] = {{3, 6}, {8, 100}};
  CHECK_OK(scan_once(&t, 2, 0, 3, 4, ra, 2, &a, &err));
  CHECK_OK(scan_once(&t, 7, 0, 3, 4, rb, 2, &b, &err));
  CHECK_OK(scan_once(&t, 1, 0, 3, 4, NULL, 0, &w, &err));
  CHECK(!atomic_load(&a.bad) && !atomic_load(&b.bad) && !atomic_load(&w.bad));
  CHECK_EQ_INT(a.ncommits + b.ncommits, w.ncommits);
  CHECK_EQ_INT(w.ncommits, 11);
  int ia = 0, ib = 0;
  for (int k = 0; k < w.ncommits; k++) {
    int64_t m = w.commits[k];
    if (ia < a.ncommits && a.commits[ia] == m) {
      CHECK_EQ_INT(a.commit_file[ia], w.commit_file[k]);
      ia++;
    } else if (ib < b.ncommits && b.commits[ib] == m) {
      CHECK_EQ_INT(b.commit_file[ib], w.commit_file[k]);
      ib++;
    } else {
      QN_FAIL_AT("morsel %lld is in neither half", (long long)m);
    }
  }
  table_free(&t);
}

QN_TEST(bad_share_is_refused) {
  struct table t;
  table_init(&t);
  struct qn_error err;
  qn_error_init(&err);
  static struct run r;
  struct qn_scan_range bad[2] = {{4, 6}, {2, 3}};
  CHECK_EQ_INT(scan_once(&t, 2, 0, 0, 1, bad, 2, &r, &err), QN_EINTERNAL);
  CHECK(strstr(err.message, "sorted") != NULL);
  table_free(&t);
}
