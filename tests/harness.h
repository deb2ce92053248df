/* harness.h — the unit-test harness: QN_TEST(name) defines a case, the
 * CMake scan registers each case as its own CTest test, and `test_x NAME`
 * runs one case (no argument runs all). Checks print the expression and both
 * values, then fail the case. */
#ifndef QN_HARNESS_H
#define QN_HARNESS_H

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int main(int argc, char **argv) {
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

#endif /* QN_HARNESS_H */
