/* harness.h — the unit-test harness: QN_TEST(name) defines a case, the
 * CMake scan registers each case as its own CTest test, and `test_x NAME`
 * runs one case (no argument runs all). Checks print the expression and both
 * values, then fail the case.
 *
 * Temporary files: qn_test_path(NAME) is a path in a directory made for
 * this run ($TMPDIR or /tmp, qn_test_PROGRAM_XXXXXX). The cases run in a
 * child process and the parent removes the directory when the child ends,
 * however it ends: passed, failed, crashed, aborted by a sanitizer.
 * QN_TEST_NOFORK=1 runs the cases in the process itself (for a debugger);
 * the directory is then removed at exit. */
#ifndef QN_HARNESS_H
#define QN_HARNESS_H

#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* QN_TEST_ASAN is 1 in an AddressSanitizer build, with gcc (which defines
 * __SANITIZE_ADDRESS__) or clang (which has only __has_feature). */
#if defined(__SANITIZE_ADDRESS__)
#define QN_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define QN_TEST_ASAN 1
#endif
#endif
#ifndef QN_TEST_ASAN
#define QN_TEST_ASAN 0
#endif

typedef void (*qn_test_fn)(void);
struct qn_test_case {
  const char *name;
  qn_test_fn fn;
};
static struct qn_test_case qn_test_cases[256];
static int qn_test_ncases;
static int qn_test_failed;

#define QN_TEST(id)                                                 \
  static void qn_test_##id(void);                                   \
  __attribute__((constructor)) static void qn_test_reg_##id(void) { \
    qn_test_cases[qn_test_ncases].name = #id;                       \
    qn_test_cases[qn_test_ncases++].fn = qn_test_##id;              \
  }                                                                 \
  static void qn_test_##id(void)

#define QN_FAIL_AT(...)                             \
  do {                                              \
    fprintf(stderr, "%s:%d: ", __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__);                   \
    fputc('\n', stderr);                            \
    qn_test_failed = 1;                             \
    return;                                         \
  } while (0)

#define CHECK(cond)                                     \
  do {                                                  \
    if (!(cond)) QN_FAIL_AT("CHECK(%s) failed", #cond); \
  } while (0)
#define CHECK_EQ_INT(a, b)                                              \
  do {                                                                  \
    long long qa = (long long)(a), qb = (long long)(b);                 \
    if (qa != qb) QN_FAIL_AT("%s == %s: %lld != %lld", #a, #b, qa, qb); \
  } while (0)
#define CHECK_EQ_U64(a, b)                                              \
  do {                                                                  \
    unsigned long long qa = (a), qb = (b);                              \
    if (qa != qb) QN_FAIL_AT("%s == %s: %llu != %llu", #a, #b, qa, qb); \
  } while (0)
#define CHECK_EQ_STR(a, b)                                                 \
  do {                                                                     \
    const char *qa = (a), *qb = (b);                                       \
    if (!qa || !qb || strcmp(qa, qb) != 0)                                 \
      QN_FAIL_AT("%s == %s: \"%s\" != \"%s\"", #a, #b, qa ? qa : "(null)", \
                 qb ? qb : "(null)");                                      \
  } while (0)
/* Doubles equal bit for bit, except both NaN counts as equal. */
#define CHECK_EQ_DBL(a, b)                                    \
  do {                                                        \
    double qa = (a), qb = (b);                                \
    if (!(qa == qb || (isnan(qa) && isnan(qb))))              \
      QN_FAIL_AT("%s == %s: %.17g != %.17g", #a, #b, qa, qb); \
  } while (0)
#define CHECK_NEAR_REL(a, b, rel)                                              \
  do {                                                                         \
    double qa = (a), qb = (b);                                                 \
    double qd = fabs(qa - qb), qs = fmax(fabs(qa), fabs(qb));                  \
    if (!(qa == qb || qd <= (rel)*qs))                                         \
      QN_FAIL_AT("%s ~= %s: %.17g vs %.17g (rel %.3g > %.3g)", #a, #b, qa, qb, \
                 qs > 0 ? qd / qs : qd, (double)(rel));                        \
  } while (0)
#define CHECK_OK(expr)                                      \
  do {                                                      \
    int qst = (expr);                                       \
    if (qst != 0) QN_FAIL_AT("%s returned %d", #expr, qst); \
  } while (0)

static char qn_test_dir[4096];

/* A path named `name` in this run's temporary directory. The result lives
 * in one of 16 rotating buffers: copy it to keep it longer. */
__attribute__((unused)) static char *qn_test_path(const char *name) {
  static char buf[16][8192];
  static int k;
  char *p = buf[k++ % 16];
  snprintf(p, sizeof buf[0], "%s/%s", qn_test_dir, name);
  return p;
}

static int qn_test_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f) {
  (void)st, (void)flag, (void)f;
  if (remove(path) != 0)
    fprintf(stderr, "harness: cannot remove %s: %s\n", path, strerror(errno));
  return 0;
}

static void qn_test_remove_dir(void) {
  if (qn_test_dir[0]) nftw(qn_test_dir, qn_test_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int qn_test_make_dir(const char *argv0) {
  const char *tmp = getenv("TMPDIR"), *base = strrchr(argv0, '/');
  snprintf(qn_test_dir, sizeof qn_test_dir, "%s/qn_%s_XXXXXX", tmp && *tmp ? tmp : "/tmp",
           base ? base + 1 : argv0);
  if (mkdtemp(qn_test_dir)) return 0;
  fprintf(stderr, "harness: cannot make %s: %s\n", qn_test_dir, strerror(errno));
  qn_test_dir[0] = '\0';
  return -1;
}

static int qn_test_run_cases(int argc, char **argv) {
  int ran = 0;
  for (int i = 0; i < qn_test_ncases; i++) {
    if (argc > 1 && strcmp(argv[1], qn_test_cases[i].name) != 0) continue;
    qn_test_failed = 0;
    qn_test_cases[i].fn();
    ran++;
    printf("%s %s\n", qn_test_failed ? "FAIL" : "ok  ", qn_test_cases[i].name);
    if (qn_test_failed) return 1;
  }
  if (ran == 0) {
    fprintf(stderr, "no test case named %s\n", argc > 1 ? argv[1] : "(any)");
    return 1;
  }
  return 0;
}

static volatile sig_atomic_t qn_test_stop;
static void qn_test_on_signal(int sig) {
  qn_test_stop = sig;
}

int main(int argc, char **argv) {
  if (qn_test_make_dir(argv[0]) != 0) return 1;
  const char *nofork = getenv("QN_TEST_NOFORK");
  if (nofork && *nofork && strcmp(nofork, "0") != 0) {
    atexit(qn_test_remove_dir);
    return qn_test_run_cases(argc, argv);
  }
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    perror("harness: fork");
    qn_test_remove_dir();
    return 1;
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);    /* never outlive a killed parent */
    exit(qn_test_run_cases(argc, argv)); /* exit: atexit handlers, LSan */
  }
  /* A timeout's SIGTERM (or a Ctrl-C) ends the case, then the directory
   * goes: no SA_RESTART, so waitpid returns EINTR. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = qn_test_on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    if (qn_test_stop) kill(pid, SIGKILL);
  qn_test_remove_dir();
  if (qn_test_stop) {
    signal((int)qn_test_stop, SIG_DFL);
    raise((int)qn_test_stop);
  }
  if (WIFSIGNALED(st)) {
    fprintf(stderr, "harness: the test died from signal %d\n", WTERMSIG(st));
    return 128 + WTERMSIG(st);
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

#endif /* QN_HARNESS_H */
