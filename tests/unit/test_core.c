/* test_core.c — errors, sizes, the budgeted allocator, atomic output files,
 * the defaults taken from the machine (CPU affinity, cgroup memory limit). */
#include <errno.h>
#include <sched.h>
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
  /* 4 MiB to hand out whatever the process took meanwhile (under ASan, in
   * the harness's forked child, RSS grows between the two readings) */
  ctx->memory_limit = ctx->baseline_rss + QN_FIXED_OVERHEAD + (4 << 20);
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
  /* the advice: the limit that leaves 64 MiB available, rounded up to a MiB */
  int64_t need = qn_context_memory_limit(ctx) - qn_mem_available(ctx) + (64 << 20);
  char advice[64];
  snprintf(advice, sizeof advice, "a memory limit of %lldM or more",
           (long long)((need + (1 << 20) - 1) >> 20));
  CHECK_EQ_INT(qn_mem_require(ctx, 64 << 20, "the job", &err), QN_ELIMIT);
  CHECK(strstr(err.message, "the job") != NULL);
  CHECK(strstr(err.message, advice) != NULL);
  CHECK(strstr(err.message, "--") == NULL); /* the library names no command-line flag */
  qn_context_free(ctx);
}

/* Freed mapped blocks are kept and handed out again (no fresh page faults),
 * zeroed for calloc, never more than the budget: a reservation that needs
 * their room unmaps them first. (Under ASan every block goes through
 * malloc and nothing is kept.) */
QN_TEST(block_cache_reuse_within_the_budget) {
  const int kept = !QN_TEST_ASAN;
  struct qn_context_options o;
  qn_context_options_init(&o);
  o.memory_limit = qn_self_rss() + QN_FIXED_OVERHEAD + (64 << 20);
  struct qn_context *ctx;
  CHECK_OK(qn_context_new(&o, &ctx, NULL));
  ctx->memory_limit = ctx->baseline_rss + QN_FIXED_OVERHEAD + (64 << 20); /* as above */
  const size_t mib = 1 << 20;
  unsigned char *a = qn_mem_alloc(ctx, mib, "A", NULL);
  CHECK(a != NULL);
  memset(a, 0xab, mib);
  qn_mem_free(ctx, a);
  CHECK_EQ_INT(qn_context_used_bytes(ctx), 0);
  CHECK_EQ_INT(ctx->ncache, kept);
  unsigned char *b = qn_mem_calloc(ctx, mib - 4096, "B", NULL); /* fits A's block */
  CHECK(b != NULL);
  if (kept) CHECK(b == a);
  CHECK_EQ_INT(ctx->ncache, 0);
  size_t nonzero = 0;
  for (size_t i = 0; i < mib - 4096; i++) nonzero += b[i] != 0;
  CHECK_EQ_INT(nonzero, 0);
  CHECK(qn_context_used_bytes(ctx) >= (int64_t)(mib - 4096));
  qn_mem_free(ctx, b);
  /* a block too large for the cache (a quarter of an eighth of the budget)
   * is unmapped at once */
  void *big = qn_mem_alloc(ctx, 4 * mib, "big", NULL);
  CHECK(big != NULL);
  qn_mem_free(ctx, big);
  CHECK_EQ_INT(ctx->ncache, kept);
  /* a reservation that needs the cached room takes it back */
  const int64_t room = qn_mem_available(ctx);
  void *all = qn_mem_alloc(ctx, (size_t)room - 4096, "all", NULL);
  CHECK(all != NULL);
  CHECK_EQ_INT(ctx->ncache, 0);
  CHECK_EQ_INT(ctx->cached, 0);
  qn_mem_free(ctx, all);
  void *c = qn_mem_alloc(ctx, mib, "C", NULL);
  qn_mem_free(ctx, c);
  CHECK_EQ_INT(ctx->ncache, kept);
  qn_mem_trim(ctx);
  CHECK_EQ_INT(ctx->ncache, 0);
  CHECK_EQ_INT(qn_context_used_bytes(ctx), 0);
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

/* ----- defaults that fit the machine ----- */

/* Writes `text` to ROOT/REL, making the directories on the way. */
static int put_file(const char *root, const char *rel, const char *text) {
  char path[8192];
  snprintf(path, sizeof path, "%s/%s", root, rel);
  for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')) != NULL; p++) {
    *p = '\0';
    if (mkdir(path, 0700) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  fputs(text, f);
  return fclose(f);
}

/* A fake root: /proc/self/mountinfo and /proc/self/cgroup, plus files. */
static const char *fake_root(const char *name, const char *mountinfo, const char *cgroup) {
  static char root[4200];
  snprintf(root, sizeof root, "%s", qn_test_path(name));
  if (mkdir(root, 0700) != 0 || put_file(root, "proc/self/mountinfo", mountinfo) != 0 ||
      put_file(root, "proc/self/cgroup", cgroup) != 0)
    return NULL;
  return root;
}

#define MI_V2 "30 24 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n"
#define MI_EXT4 "24 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"

QN_TEST(cgroup_v2_limit_of_an_ancestor) {
  /* systemd: the unit says "max", its slice has 3 GiB: the slice binds. */
  const char *r = fake_root("v2", MI_EXT4 MI_V2, "0::/user.slice/job.scope\n");
  CHECK(r != NULL);
  CHECK_OK(put_file(r, "sys/fs/cgroup/user.slice/job.scope/memory.max", "max\n"));
  CHECK_OK(put_file(r, "sys/fs/cgroup/user.slice/memory.max", "3221225472\n"));
  CHECK_OK(put_file(r, "sys/fs/cgroup/memory.max", "max\n"));
  CHECK_EQ_INT(qn_cgroup_memory_limit(r), 3LL << 30);
  /* a tighter limit on the unit itself wins */
  CHECK_OK(put_file(r, "sys/fs/cgroup/user.slice/job.scope/memory.max", "1073741824\n"));
  CHECK_EQ_INT(qn_cgroup_memory_limit(r), 1LL << 30);
}

QN_TEST(cgroup_v2_max_is_no_limit) {
  const char *r = fake_root("v2max", MI_V2, "0::/a\n");
  CHECK(r != NULL);
  CHECK_OK(put_file(r, "sys/fs/cgroup/a/memory.max", "max\n"));
  CHECK_EQ_INT(qn_cgroup_memory_limit(r), 0);
}

QN_TEST(cgroup_v2_container_sees_its_own_top) {
  /* Docker without a cgroup namespace: /proc/self/cgroup names the full
   * path, the mount shows that cgroup as /sys/fs/cgroup (its root field). */
  const char *r = fake_root("docker",
                            "40 30 0:26 /docker/abc123 /sys/fs/cgroup ro,nosuid - cgroup2 "
                            "cgroup rw\n",
                            "0::/docker/abc123\n");
  CHECK(r != NULL);
  CHECK_OK(put_file(r, "sys/fs/cgroup/memory.max", "2147483648\n"));
  CHECK_EQ_INT(qn_cgroup_memory_limit(r), 2LL << 30);
}

QN_TEST(cgroup_v1_hybrid) {
  /* v1 memory controller next to an empty v2 hierarchy (this shape is what
   * Debian 10-era hosts and many CI runners have); v1 says "no limit" with
   * a huge page-rounded number in the parent. */
  const char *r = fake_root("v1",
                            MI_EXT4
                            "31 24 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
                            "35 24 0:31 / /sys/fs/cgroup/memory rw shared:9 - cgroup cgroup "
                            "rw,memory\n"
                            "36 24 0:32 / /sys/fs/cgroup/cpu\\040x rw - cgroup cgroup rw,cpu\n",
                            "9:name=systemd:/\n4:memory:/batch/job7\n1:cpu:/\n0::/\n");
  CHECK(r != NULL);
  CHECK_OK(put_file(r, "sys/fs/cgroup/memory/batch/job7/memory.limit_in_bytes", "536870912\n"));
  CHECK_OK(
      put_file(r, "sys/fs/cgroup/memory/batch/memory.limit_in_bytes", "9223372036854771712\n"));
  CHECK_OK(put_file(r, "sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n"));
  CHECK_EQ_INT(qn_cgroup_memory_limit(r), 512LL << 20);
}

QN_TEST(cgroup_v1_and_v2_smaller_wins) {
  const char *r = fake_root("both",
                            MI_V2
                            "35 24 0:31 / /sys/fs/cgroup/memory rw - cgroup cgroup "
                            "rw,memory\n",
                            "4:memory:/x\n0::/y\n");
  CHECK(r != NULL);
  CHECK_OK(put_file(r, "sys/fs/cgroup/memory/x/memory.limit_in_bytes", "4294967296\n"));
  CHECK_OK(put_file(r, "sys/fs/cgroup/y/memory.max", "2147483648\n"));
  CHECK_EQ_INT(qn_cgroup_memory_limit(r), 2LL << 30);
}

QN_TEST(cgroup_mount_point_escapes) {
  /* mountinfo writes a space in a path as \040 */
  const char *r =
      fake_root("escape", "50 24 0:40 / /srv/cg\\040root rw - cgroup2 none rw\n", "0::/q\n");
  CHECK(r != NULL);
  CHECK_OK(put_file(r, "srv/cg root/q/memory.max", "1048576\n"));
  CHECK_EQ_INT(qn_cgroup_memory_limit(r), 1LL << 20);
}

QN_TEST(cgroup_missing_or_garbage_is_no_limit) {
  const char *r = fake_root("none", MI_EXT4, "0::/\n");
  CHECK(r != NULL);
  CHECK_EQ_INT(qn_cgroup_memory_limit(r), 0); /* no cgroup mount at all */
  r = fake_root("garbage", MI_V2, "0::/g\n");
  CHECK(r != NULL);
  CHECK_OK(put_file(r, "sys/fs/cgroup/g/memory.max", "lots\n"));
  CHECK_EQ_INT(qn_cgroup_memory_limit(r), 0);
  CHECK_EQ_INT(qn_cgroup_memory_limit(qn_test_path("no-such-root")), 0);
}

/* The default thread count is the CPUs this process may run on: bound to
 * one CPU (taskset, an MPI launcher's binding) it is 1, not the online
 * count. The CLI side is tests/cli/defaults.sh. */
QN_TEST(default_threads_follow_affinity) {
  cpu_set_t all, one;
  CHECK_OK(sched_getaffinity(0, sizeof all, &all));
  int first = 0;
  while (!CPU_ISSET(first, &all)) first++;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  CHECK_OK(sched_setaffinity(0, sizeof one, &one));
  struct qn_context *ctx = NULL;
  int st = qn_context_new(NULL, &ctx, NULL);
  int threads = st == QN_OK ? qn_context_threads(ctx) : -1;
  qn_context_free(ctx);
  sched_setaffinity(0, sizeof all, &all);
  CHECK_EQ_INT(threads, 1);
  CHECK_OK(qn_context_new(NULL, &ctx, NULL));
  CHECK_EQ_INT(qn_context_threads(ctx), CPU_COUNT(&all));
  qn_context_free(ctx);
}
