/* test_core.c — errors, sizes, the budgeted allocator, atomic output files. */
#include <sys/stat.h>
#include <unistd.h>

#include "core/qn_core.h"
#include "harness.h"

QN_TEST(error_first_wins) {
  struct qn_error err;
  qn_error_init(&err);
  CHECK_EQ_INT(qn_error_set(&err, QN_EIO, "first %d", 1), QN_EIO);
  CHECK_EQ_INT(qn_error_set(&err, QN_EFORMAT, "second"), QN_EFORMAT);
  CHECK_EQ_INT(err.code, QN_EIO);
  CHECK_EQ_STR(err.message, "first 1");
  CHECK_EQ_INT(qn_error_set(NULL, QN_EINVAL, "ignored"), QN_EINVAL);
}

QN_TEST(status_names_and_exit_codes) {
  for (int s = -3; s < 40; s++) CHECK(qn_status_str(s) != NULL);
  CHECK_EQ_INT(qn_status_exit_code(QN_OK), 0);
  CHECK_EQ_INT(qn_status_exit_code(QN_EIO), 1);
  CHECK_EQ_INT(qn_status_exit_code(QN_EFORMAT), 1);
  CHECK_EQ_INT(qn_status_exit_code(QN_EINVAL), 2);
  CHECK_EQ_INT(qn_status_exit_code(QN_ENOTFOUND), 2);
  CHECK_EQ_INT(qn_status_exit_code(QN_ELIMIT), 3);
}

QN_TEST(parse_size) {
  int64_t b = 0;
  CHECK_OK(qn_parse_size("256M", &b, NULL));
  CHECK_EQ_INT(b, 256LL << 20);
  CHECK_OK(qn_parse_size("1.5G", &b, NULL));
  CHECK_EQ_INT(b, 3LL << 29);
  CHECK_OK(qn_parse_size("4096", &b, NULL));
  CHECK_EQ_INT(b, 4096);
  CHECK_OK(qn_parse_size("2GiB", &b, NULL));
  CHECK_EQ_INT(b, 2LL << 30);
  struct qn_error err;
  const char *bad[] = {"", "lots", "-1G", "12X", "1.5GG", "0", "nan", "1e30G"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    qn_error_init(&err);
    CHECK_EQ_INT(qn_parse_size(bad[i], &b, &err), QN_EINVAL);
    CHECK(err.message[0] != 0);
  }
}

QN_TEST(types) {
  CHECK_EQ_STR(qn_type_name(QN_UINT16), "uint16");
  CHECK_EQ_INT(qn_type_size(QN_FLOAT32), 4);
  CHECK_EQ_INT(qn_type_size(QN_STRING), 0);
  CHECK(qn_type_is_integer(QN_TIMESTAMP));
  CHECK(!qn_type_is_numeric(QN_STRING));
  CHECK_EQ_STR(qn_type_name((enum qn_type)99), "invalid");
}

QN_TEST(budget_limit_and_peak) {
  struct qn_context_options o;
  qn_context_options_init(&o);
  o.memory_limit = qn_self_rss() + QN_FIXED_OVERHEAD + (4 << 20);
  struct qn_context *ctx;
  CHECK_OK(qn_context_new(&o, &ctx, NULL));
  struct qn_error err;
  qn_error_init(&err);
  void *a = qn_mem_alloc(ctx, 3 << 20, "buffer A", &err);
  CHECK(a != NULL);
  CHECK(qn_context_used_bytes(ctx) >= 3 << 20);
  void *b = qn_mem_alloc(ctx, 2 << 20, "buffer B", &err);
  CHECK(b == NULL);
  CHECK_EQ_INT(err.code, QN_ELIMIT);
  CHECK(strstr(err.message, "buffer B") != NULL);
  qn_mem_free(ctx, a);
  CHECK_EQ_INT(qn_context_used_bytes(ctx), 0);
  CHECK(qn_context_peak_bytes(ctx) >= 3 << 20);
  void *c = qn_mem_alloc(ctx, 2 << 20, "buffer C", NULL);
  CHECK(c != NULL);
  qn_mem_free(ctx, c);
  qn_mem_free(ctx, NULL);
  qn_error_init(&err);
  CHECK_EQ_INT(qn_mem_require(ctx, 64 << 20, "the job", &err), QN_ELIMIT);
  CHECK(strstr(err.message, "--memory-limit") != NULL);
  qn_context_free(ctx);
}

QN_TEST(context_rejects_bad_options) {
  struct qn_context_options o;
  qn_context_options_init(&o);
  o.threads = -1;
  struct qn_context *ctx = NULL;
  struct qn_error err;
  qn_error_init(&err);
  CHECK_EQ_INT(qn_context_new(&o, &ctx, &err), QN_EINVAL);
  CHECK(ctx == NULL);
  qn_context_options_init(&o);
  CHECK_OK(qn_context_new(&o, &ctx, NULL));
  CHECK(qn_context_threads(ctx) >= 1);
  CHECK(qn_context_memory_limit(ctx) > 0);
  qn_context_free(ctx);
}

static char *slurp(const char *path) {
  static char buf[256];
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = 0;
  fclose(f);
  return buf;
}

QN_TEST(outfile_commit_and_abort) {
  char dir[4200];
  snprintf(dir, sizeof dir, "%s", qn_test_path("outfile"));
  CHECK_OK(mkdir(dir, 0700));
  char path[4300];
  snprintf(path, sizeof path, "%s/out.txt", dir);
  FILE *f = fopen(path, "w");
  fputs("old", f);
  fclose(f);
  struct qn_outfile *o;
  CHECK_OK(qn_outfile_open(path, &o, NULL));
  fputs("partial", qn_outfile_stream(o));
  qn_outfile_abort(o);
  CHECK_EQ_STR(slurp(path), "old");
  CHECK_OK(qn_outfile_open(path, &o, NULL));
  fputs("new", qn_outfile_stream(o));
  CHECK_EQ_STR(slurp(path), "old"); /* not visible before commit */
  CHECK_OK(qn_outfile_commit(o, NULL));
  CHECK_EQ_STR(slurp(path), "new");
  char bad[4300];
  snprintf(bad, sizeof bad, "%s/missing/out.txt", dir);
  struct qn_error err;
  qn_error_init(&err);
  CHECK_EQ_INT(qn_outfile_open(bad, &o, &err), QN_EIO);
  CHECK(strstr(err.message, "missing/out.txt") != NULL);
  unlink(path);
  CHECK_OK(rmdir(dir)); /* no temporary left behind */
}

struct counter {
  pthread_mutex_t lock;
  int seen[8];
};
static void count_worker(void *arg, int w) {
  struct counter *c = arg;
  pthread_mutex_lock(&c->lock);
  c->seen[w]++;
  pthread_mutex_unlock(&c->lock);
}

QN_TEST(pool_runs_each_worker_once) {
  struct counter c = {PTHREAD_MUTEX_INITIALIZER, {0}};
  CHECK_OK(qn_pool_run(NULL, 7, count_worker, &c, NULL));
  for (int w = 0; w < 7; w++) CHECK_EQ_INT(c.seen[w], 1);
  CHECK_EQ_INT(c.seen[7], 0);
}
