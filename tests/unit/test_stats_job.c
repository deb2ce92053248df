/* test_stats_job.c — the stats job end to end through the library: gen sim
 * → source → scan → stats, with determinism across threads and memory
 * limits, and fault injection (every budgeted allocation failing in turn
 * gives a clean QN_ENOMEM, no crash and, under ASan, no leak). */
#include <unistd.h>

#include "core/qn_core.h"
#include "harness.h"

static const char *sample(void) {
  static char path[4200];
  if (!path[0]) {
    snprintf(path, sizeof path, "%s", qn_test_path("stats_job.h5"));
    struct qn_context *ctx;
    qn_context_new(NULL, &ctx, NULL);
    struct qn_gen_options g;
    qn_gen_options_init(&g);
    g.kind = "sim";
    g.rows = 300001; /* several morsels and a ragged end */
    g.output = path;
    qn_gen_run(ctx, &g, NULL);
    qn_context_free(ctx);
  }
  return path;
}

static int run_stats(int threads, int64_t limit, long fail_at, struct qn_column_stats *out,
                     struct qn_error *err) {
  struct qn_context_options o;
  qn_context_options_init(&o);
  o.threads = threads;
  o.memory_limit = limit;
  o.progress = 0;
  struct qn_context *ctx = NULL;
  int st = qn_context_new(&o, &ctx, err);
  if (st != QN_OK) return st;
  ctx->fail_countdown = fail_at;
  struct qn_source *src = NULL;
  struct qn_stats_result *res = NULL;
  const char *in[] = {sample()};
  st = qn_source_open(ctx, in, 1, &src, err);
  if (st == QN_OK) st = qn_stats_run(ctx, src, NULL, &res, err);
  if (st == QN_OK && out)
    for (int c = 0; c < qn_stats_result_ncolumns(res); c++)
      out[c] = *qn_stats_result_get(res, -1, c);
  qn_stats_result_free(res);
  qn_source_close(src);
  int64_t left = qn_context_used_bytes(ctx);
  qn_context_free(ctx);
  if (left != 0)
    return qn_error_set(err, QN_EINTERNAL, "%lld budgeted bytes not freed", (long long)left);
  return st;
}

QN_TEST(same_bits_for_any_threads_and_limit) {
  struct qn_column_stats a[4], b[4], c[4];
  CHECK_OK(run_stats(1, 0, 0, a, NULL));
  CHECK_OK(run_stats(3, 0, 0, b, NULL));
  CHECK_OK(run_stats(2, qn_self_rss() + (20 << 20), 0, c,
                     NULL)); /* a tight limit: 1-morsel blocks */
  for (int k = 0; k < 4; k++) {
    CHECK_EQ_INT(a[k].count, 300001);
    CHECK(memcmp(&a[k], &b[k], sizeof a[k]) == 0);
    CHECK(memcmp(&a[k], &c[k], sizeof a[k]) == 0);
  }
  /* columns in the order written (x, y, z, v): v is standard normal, x
   * uniform in [0, 1) */
  CHECK(fabs(a[3].mean) < 0.01 && fabs(a[3].std - 1) < 0.01);
  CHECK(a[0].min >= 0 && a[0].max < 1);
}

QN_TEST(every_allocation_failure_is_clean) {
  int failures = 0;
  for (long n = 1; n <= 40; n++) {
    struct qn_error err;
    qn_error_init(&err);
    int st = run_stats(2, 0, n, NULL, &err);
    if (st == QN_OK) break; /* past the last budgeted allocation */
    CHECK_EQ_INT(st, QN_ENOMEM);
    CHECK(strstr(err.message, "out of memory") != NULL);
    failures++;
  }
  CHECK(failures >= 3); /* accumulators, scan buffers, ... were all exercised */
}

QN_TEST(limit_too_small_names_minimum) {
  struct qn_error err;
  qn_error_init(&err);
  CHECK_EQ_INT(run_stats(2, qn_self_rss() + (8 << 20), 0, NULL, &err), QN_ELIMIT);
  CHECK(strstr(err.message, "a memory limit of ") != NULL);
  CHECK(strstr(err.message, "M or more") != NULL);
  CHECK(strstr(err.message, "--") == NULL); /* the library names no command-line flag */
  unlink(sample());
}
