/* fuzz_csv.c — libFuzzer harness over quern's CSV reader (src/io/csv.c).
 *
 * The first input byte picks the target, the rest is its input:
 *   0-5  a whole file, opened twice: with 1 thread and a roomy budget, and
 *        with 3 threads (byte & 1: also a budget too tight for the 256 KiB
 *        read buffer, so the 16 KiB fallback and its buffer-boundary paths
 *        run). Both opens must agree: the same status and message (the
 *        first error by byte offset wins for any thread count), or the
 *        same columns, types and row counts and, for every numeric column,
 *        the same values read whole and in sub-ranges (as its own type and
 *        as float64; strings with an offsets buffer, and refused without
 *        one), and a read past the last row refused. The fuzz
 *        library is built with 64-row morsels (tests/fuzz/CMakeLists.txt),
 *        so small inputs span many morsels of the index and infer passes.
 *   6-7  one field: qn_csv_classify, qn_csv_parse_int64 and
 *        qn_csv_parse_double must agree with each other and with strtoll
 *        and strtod in the C locale on what they accept (qn_csv.h).
 * Crashes, leaks, reads out of bounds (ASan), undefined behaviour (UBSan),
 * a leaked budget and any disagreement (abort) are findings.
 */
#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "io/qn_csv.h"
#include "io/qn_source.h"

#define QN_FUZZ_MAX_ROWS (1 << 16)

static struct qn_context *qn_fuzz_ctx(int threads, int tight) {
  static struct qn_context *ctx[3];
  int k = tight ? 2 : threads > 1;
  if (!ctx[k]) {
    struct qn_context_options o;
    qn_context_options_init(&o);
    o.threads = threads;
    /* the budget is the limit less the process's size when the context is
     * made: "tight" leaves 160 KiB, less than one 256 KiB read buffer */
    o.memory_limit =
        tight ? qn_self_rss() + QN_FIXED_OVERHEAD + (160 << 10) : (int64_t)256 << 20;
    o.progress = 0;
    if (qn_context_new(&o, &ctx[k], NULL) != QN_OK) abort();
  }
  return ctx[k];
}

static void qn_fuzz_fail(const char *what, const char *detail) {
  fprintf(stderr, "fuzz_csv: %s: %s\n", what, detail ? detail : "");
  abort();
}

/* Reads rows [row0, row0 + n) of column c as `as`; returns the status and
 * fills data (8 bytes a value) and valid (1 byte a value, all 1 when the
 * reader reports no nulls). */
static int qn_fuzz_read(struct qn_reader *r, int c, enum qn_type as, int64_t row0, int64_t n,
                        void *data, uint8_t *valid, struct qn_error *err) {
  struct qn_colbuf b = {as, n, data, valid, NULL};
  qn_error_init(err);
  int st = r->ops->read(r, c, row0, n, &b, err);
  if (st == QN_OK && !b.valid) memset(valid, 1, (size_t)n);
  return st;
}

/* The values of column c read from a and from b agree, whole and in a few
 * sub-ranges of b (reads of b may fail only for lack of budget). */
static void qn_fuzz_compare_column(struct qn_reader *a, struct qn_reader *b, int c) {
  const int64_t rows = a->cols[c].rows;
  const enum qn_type types[2] = {a->cols[c].type, QN_FLOAT64};
  size_t bytes = (size_t)(rows > 0 ? rows : 1) * 8;
  char *va = malloc(bytes), *vb = malloc(bytes);
  uint8_t *na = malloc(bytes / 8), *nb = malloc(bytes / 8);
  struct qn_error ea, eb;
  for (int t = 0; t < 2; t++) {
    if (t == 1 && types[0] == QN_FLOAT64) break;
    int sa = qn_fuzz_read(a, c, types[t], 0, rows, va, na, &ea);
    if (sa != QN_OK) qn_fuzz_fail("a numeric column cannot be read", ea.message);
    /* sub-ranges of b: the whole, two halves, single rows at both ends */
    const int64_t ranges[5][2] = {{0, rows},
                                  {0, rows / 2},
                                  {rows / 2, rows - rows / 2},
                                  {0, rows > 0},
                                  {rows > 0 ? rows - 1 : 0, rows > 0}};
    for (int k = 0; k < 5; k++) {
      int64_t r0 = ranges[k][0], n = ranges[k][1];
      if (n <= 0) continue;
      int sb = qn_fuzz_read(b, c, types[t], r0, n, vb, nb, &eb);
      if (sb == QN_ELIMIT) continue;
      if (sb != QN_OK) qn_fuzz_fail("a range cannot be read", eb.message);
      for (int64_t i = 0; i < n; i++) {
        if (na[r0 + i] != nb[i]) qn_fuzz_fail("null flags differ", a->cols[c].name);
        if (nb[i] && memcmp(va + (r0 + i) * 8, vb + i * 8, 8) != 0)
          qn_fuzz_fail("values differ", a->cols[c].name);
      }
    }
  }
  free(va);
  free(vb);
  free(na);
  free(nb);
}

/* Strings of column c: rows [r0, r0 + n) into *data (budgeted, the
 * caller frees), offs (n + 1) and valid (all 1 when no nulls). */
static int qn_fuzz_read_strings(struct qn_reader *r, int c, int64_t r0, int64_t n, char **data,
                                int64_t *offs, uint8_t *valid, struct qn_error *err) {
  struct qn_colbuf b = {QN_STRING, n, NULL, valid, offs};
  qn_error_init(err);
  int st = r->ops->read(r, c, r0, n, &b, err);
  if (st == QN_OK && !b.valid) memset(valid, 1, (size_t)n);
  *data = b.data;
  return st;
}

static void qn_fuzz_compare_strings(struct qn_reader *a, struct qn_reader *b, int c) {
  const int64_t rows = a->cols[c].rows;
  int64_t *oa = malloc((size_t)(rows + 1) * sizeof *oa),
          *ob = malloc((size_t)(rows + 1) * sizeof *ob);
  uint8_t *na = malloc((size_t)rows + 1), *nb = malloc((size_t)rows + 1);
  char *da = NULL, *db = NULL, v[8];
  struct qn_error ea, eb;
  /* without an offsets buffer a string column is refused, not misread */
  if (qn_fuzz_read(a, c, QN_FLOAT64, 0, 1, v, na, &ea) == QN_OK)
    qn_fuzz_fail("a string column was read as numbers", a->cols[c].name);
  if (qn_fuzz_read_strings(a, c, 0, rows, &da, oa, na, &ea) != QN_OK)
    qn_fuzz_fail("a string column cannot be read", ea.message);
  const int64_t ranges[3][2] = {{0, rows}, {rows / 2, rows - rows / 2}, {rows - 1, 1}};
  for (int k = 0; k < 3; k++) {
    int64_t r0 = ranges[k][0], n = ranges[k][1];
    int sb = qn_fuzz_read_strings(b, c, r0, n, &db, ob, nb, &eb);
    if (sb == QN_OK) {
      if (ob[0] != 0) qn_fuzz_fail("offsets do not start at 0", a->cols[c].name);
      for (int64_t i = 0; i < n; i++) {
        int64_t la = oa[r0 + i + 1] - oa[r0 + i], lb = ob[i + 1] - ob[i];
        if (na[r0 + i] != nb[i]) qn_fuzz_fail("string null flags differ", a->cols[c].name);
        if (nb[i] && (la != lb || memcmp(da + oa[r0 + i], db + ob[i], (size_t)la) != 0))
          qn_fuzz_fail("strings differ", a->cols[c].name);
      }
    } else if (sb != QN_ELIMIT) {
      qn_fuzz_fail("a range of strings cannot be read", eb.message);
    }
    qn_mem_free(b->ctx, db);
    db = NULL;
  }
  qn_mem_free(a->ctx, da);
  free(oa);
  free(ob);
  free(na);
  free(nb);
}

static void qn_fuzz_compare(struct qn_reader *a, struct qn_reader *b) {
  if (a->ncols != b->ncols) qn_fuzz_fail("column counts differ", NULL);
  for (int c = 0; c < a->ncols; c++) {
    const struct qn_reader_column *x = &a->cols[c], *y = &b->cols[c];
    if (strcmp(x->name, y->name) || x->type != y->type || x->rows != y->rows ||
        x->nullable != y->nullable || strcmp(x->type_name, y->type_name))
      qn_fuzz_fail("schemas differ", x->name);
    if (x->rows < 0 || x->rows > QN_FUZZ_MAX_ROWS)
      qn_fuzz_fail("impossible row count", x->name);
    if (x->rows == 0) continue;
    if (x->type == QN_STRING)
      qn_fuzz_compare_strings(a, b, c);
    else
      qn_fuzz_compare_column(a, b, c);
    /* a range past the end is refused */
    char v[16];
    uint8_t ok[2];
    struct qn_error err;
    if (qn_fuzz_read(a, c, x->type, x->rows - 1, 2, v, ok, &err) != QN_EINVAL)
      qn_fuzz_fail("a read past the last row was not refused", x->name);
  }
}

static void qn_fuzz_file(const uint8_t *data, size_t size, int tight) {
  int fd = memfd_create("fuzz.csv", 0);
  if (fd < 0) return;
  if (write(fd, data, size) != (ssize_t)size) {
    close(fd);
    return;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  struct qn_context *ca = qn_fuzz_ctx(1, 0), *cb = qn_fuzz_ctx(3, tight);
  struct qn_reader *a = NULL, *b = NULL;
  struct qn_error ea, eb;
  qn_error_init(&ea);
  qn_error_init(&eb);
  int sa = qn_csv_open(ca, path, &a, &ea);
  int sb = qn_csv_open(cb, path, &b, &eb);
  if (sa == QN_ELIMIT || sa == QN_ENOMEM) qn_fuzz_fail("the roomy open ran out", ea.message);
  if ((sa == QN_OK) != (a != NULL) || (sb == QN_OK) != (b != NULL))
    qn_fuzz_fail("an open's status and its reader disagree", NULL);
  if (sb != QN_ELIMIT) {
    if (sa != sb)
      qn_fuzz_fail("1 and 3 threads disagree on the status", sa ? ea.message : eb.message);
    if (sa != QN_OK && strcmp(ea.message, eb.message) != 0)
      qn_fuzz_fail("1 and 3 threads report different errors", eb.message);
  }
  if (sa == QN_OK && sb == QN_OK) qn_fuzz_compare(a, b);
  if (a) {
    if (a->ops->release) a->ops->release(a);
    qn_reader_close(a);
  }
  if (b) qn_reader_close(b);
  close(fd);
  if (qn_context_used_bytes(ca) != 0 || qn_context_used_bytes(cb) != 0)
    qn_fuzz_fail("budgeted bytes were not given back", NULL);
}

/* [s, s+len) trimmed of spaces and tabs, NUL-terminated in buf. */
static const char *qn_fuzz_trim(const char *s, size_t len, char *buf, size_t cap) {
  while (len && (*s == ' ' || *s == '\t')) s++, len--;
  while (len && (s[len - 1] == ' ' || s[len - 1] == '\t')) len--;
  if (len >= cap || memchr(s, 0, len)) return NULL;
  memcpy(buf, s, len);
  buf[len] = 0;
  return buf;
}

static void qn_fuzz_field(const char *s, size_t len) {
  static locale_t c_locale;
  if (!c_locale) c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
  char buf[512];
  const char *t = qn_fuzz_trim(s, len, buf, sizeof buf);
  int cls = qn_csv_classify(s, len);
  int64_t i;
  double d;
  int ri = qn_csv_parse_int64(s, len, &i), rd = qn_csv_parse_double(s, len, &d);
  if (((cls & QN_CSV_IS_INT) != 0) != (ri == 0))
    qn_fuzz_fail("classify and parse_int64 disagree", t);
  if (((cls & QN_CSV_IS_FLOAT) != 0) != (rd == 0))
    qn_fuzz_fail("classify and parse_double disagree", t);
  if (!t) return; /* too long or holding a NUL: no C-string reference */
  if (ri == 0) {
    char *end;
    errno = 0;
    long long v = strtoll(t, &end, 10);
    if (*end || errno || v != i) qn_fuzz_fail("parse_int64 differs from strtoll", t);
  }
  if (rd == 0) {
    char *end;
    double v = strtod_l(t, &end, c_locale);
    if (*end || !(v == d ? memcmp(&v, &d, sizeof d) == 0 : (v != v && d != d)))
      qn_fuzz_fail("parse_double differs from strtod", t);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  if (data[0] % 8 >= 6)
    qn_fuzz_field((const char *)data + 1, size - 1);
  else
    qn_fuzz_file(data + 1, size - 1, data[0] & 1);
  return 0;
}
