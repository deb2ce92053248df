/* csv.c — the CSV reader: a header row of names, comma separated, RFC 4180
 * quoting (a field that starts with '"' runs to the matching '"'; inside,
 * '""' is one quote and commas and newlines are data), LF or CRLF line
 * ends, a last line with or without its newline, a UTF-8 byte-order mark
 * skipped. Empty lines are skipped (as numpy.loadtxt and Python's csv do).
 * An empty field (after trimming spaces and tabs; "" counts as empty) is a
 * null.
 *
 * Types, from every value of the file (never a sample), the first that
 * fits every non-null value of a column: int64 (an integer that fits),
 * float64 (a decimal float or nan / inf / infinity, any case), bool
 * (true / false, any case), date (YYYY-MM-DD), timestamp (YYYY-MM-DD
 * HH:MM:SS[.f][Z], unit from the most fraction digits, see
 * qn_csv_time_unit), else string. A column with no value at all is
 * float64. Numbers are converted exactly as strtoll / strtod (correctly
 * rounded); see qn_csv_parse_double for the fast path. Dates and
 * timestamps: proleptic Gregorian, UTC, exact integers (qn_csv_days).
 *
 * Open: one sequential pass (the "index pass", worker 0) finds where rows
 * end, tracking quotes, and records the byte offset and line number of
 * every QN_MORSEL_ROWS-th row; as soon as a morsel's byte range is known,
 * pool workers tokenise it and infer types (the "infer pass"), so the two
 * overlap. Errors of either pass name the file, line and byte offset; when
 * a file has several, the one with the lowest byte offset among those
 * found is reported, which does not depend on the thread count.
 *
 * Read: rows [row0, row0+n) of every column asked for are parsed at once
 * (read_cols), straight into the caller's buffers, from the indexed
 * offset of the morsel holding row0 with pread, on any worker
 * (parallel_read). String columns get their bytes in a buffer from the
 * budget that the caller frees.
 *
 * A file named .h5 / .parquet (and kin) that reached us lacks its format's
 * magic bytes: it is reported as broken rather than parsed as CSV.
 *
 * Invariants: moff[k] is the offset at which row k*QN_MORSEL_ROWS starts
 * (possibly after skipped empty lines), moff[nmorsels] the file size;
 * mline[k] the 1-based line number at moff[k]. Every morsel range holds
 * exactly its rows (the last one may be short) plus empty lines.
 *
 * Bounds: the index is 16 bytes per QN_MORSEL_ROWS rows; each parse holds
 * one read buffer (256 KiB, 16 KiB when the budget is short, grown only
 * for a longer row) and the bytes of the string columns it reads, from the
 * budget. No buffer ever holds the whole file.
 *
 * Thread rule: `read` and `read_cols` from any thread at once; open,
 * release, info and close from one thread with no read in flight. r->lock
 * guards the fd only.
 */
#include "qn_csv.h"
#include "qn_source.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <jansson.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define QN_CSV_BUF_BYTES ((size_t)256 << 10)
#define QN_CSV_BUF_MIN_BYTES ((size_t)16 << 10)
#define QN_CSV_MAX_COLUMNS 65536

/* ===== numbers ========================================================= */

static int qn_csv_space(char c) {
  return c == ' ' || c == '\t';
}

static void qn_csv_trim(const char **s, size_t *len) {
  const char *p = *s, *e = *s + *len;
  while (p < e && qn_csv_space(*p)) p++;
  while (e > p && qn_csv_space(e[-1])) e--;
  *s = p;
  *len = (size_t)(e - p);
}

static int qn_csv_lower_eq(const char *s, size_t len, const char *word) {
  size_t n = strlen(word);
  if (len != n) return 0;
  for (size_t i = 0; i < n; i++)
    if ((s[i] | 0x20) != word[i]) return 0;
  return 1;
}

/* Special values: 1 = nan, 2 = inf, 0 = neither. */
static int qn_csv_special(const char *s, size_t len) {
  if (len && (*s == '+' || *s == '-')) s++, len--;
  if (qn_csv_lower_eq(s, len, "nan")) return 1;
  if (qn_csv_lower_eq(s, len, "inf") || qn_csv_lower_eq(s, len, "infinity")) return 2;
  return 0;
}

int qn_csv_parse_int64(const char *s, size_t len, int64_t *out) {
  qn_csv_trim(&s, &len);
  const char *p = s, *e = s + len;
  int neg = 0;
  if (p < e && (*p == '+' || *p == '-')) neg = *p++ == '-';
  if (p == e) return -1;
  uint64_t v = 0;
  if (e - p <= 18) { /* 18 digits cannot overflow: no check per digit */
    for (; p < e; p++) {
      unsigned d = (unsigned)(*p - '0');
      if (d >= 10) return -1;
      v = v * 10 + d;
    }
  } else {
    /* |INT64_MIN| = 2^63: accumulate the magnitude, checking for wrap */
    const uint64_t limit = neg ? (uint64_t)1 << 63 : ((uint64_t)1 << 63) - 1;
    for (; p < e; p++) {
      unsigned d = (unsigned)(*p - '0');
      if (d >= 10 || __builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, d, &v))
        return -1;
    }
    if (v > limit) return -1;
  }
  *out = neg ? (int64_t)(0 - v) : (int64_t)v; /* 0 - 2^63 wraps to INT64_MIN */
  return 0;
}

/* End of the run of ASCII digits at p, eight bytes at a time. A byte b is
 * a digit iff (b & 0xf0) == 0x30 and ((b + 6) & 0xf0) == 0x30; the +6 can
 * carry only out of a non-digit byte, into bytes above the first non-digit,
 * so the lowest flagged byte is exact. */
static inline const char *qn_csv_digits(const char *p, const char *e) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  const uint64_t hi = 0xf0f0f0f0f0f0f0f0ull, zero = 0x3030303030303030ull;
  while (e - p >= 8) {
    uint64_t v;
    memcpy(&v, p, 8);
    uint64_t x = ((v & hi) ^ zero) | (((v + 0x0606060606060606ull) & hi) ^ zero);
    if (x) return p + (__builtin_ctzll(x) >> 3);
    p += 8;
  }
#endif
  while (p < e && (unsigned)(*p - '0') < 10) p++;
  return p;
}

/* One pass over the field: an integer, a decimal float, a special, or not
 * a number: [+-] (d+ [. d*] | . d+) ([eE] [+-] d+)?, or nan / inf / infinity. */
int qn_csv_classify(const char *s, size_t len) {
  qn_csv_trim(&s, &len);
  if (len == 0) return 0;
  const char *p = s, *e = s + len;
  if (*p == '+' || *p == '-') p++;
  const char *d0 = p;
  p = qn_csv_digits(p, e);
  if (p == e && p > d0) { /* all digits: an int64 unless it overflows */
    int64_t v;
    if (e - d0 <= 18 || qn_csv_parse_int64(s, len, &v) == 0)
      return QN_CSV_IS_INT | QN_CSV_IS_FLOAT;
    return QN_CSV_IS_FLOAT;
  }
  ptrdiff_t digits = p - d0;
  if (p < e && *p == '.') {
    const char *q = qn_csv_digits(++p, e);
    digits += q - p;
    p = q;
  }
  if (!digits) return qn_csv_special(s, len) ? QN_CSV_IS_FLOAT : 0;
  if (p < e && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < e && (*p == '+' || *p == '-')) p++;
    const char *q = qn_csv_digits(p, e);
    if (q == p) return 0;
    p = q;
  }
  return p == e ? QN_CSV_IS_FLOAT : 0;
}

static locale_t qn_csv_c_locale;
static pthread_once_t qn_csv_locale_once = PTHREAD_ONCE_INIT;
static void qn_csv_locale_init(void) {
  qn_csv_c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* The slow path: strtod in the C locale on a NUL-terminated copy. */
static int qn_csv_strtod(const char *s, size_t len, double *out) {
  char small[128];
  char *buf = len < sizeof small ? small : malloc(len + 1);
  if (!buf) return -1;
  memcpy(buf, s, len);
  buf[len] = 0;
  pthread_once(&qn_csv_locale_once, qn_csv_locale_init);
  char *end = NULL;
  *out = qn_csv_c_locale ? strtod_l(buf, &end, qn_csv_c_locale) : strtod(buf, &end);
  int ok = end == buf + len;
  if (buf != small) free(buf);
  return ok ? 0 : -1;
}

#if defined(__x86_64__) && LDBL_MANT_DIG == 64
/* Exact fast path on the x87 80-bit format. A decimal with at most 19
 * significant digits has an integer mantissa m < 2^64, exact in long
 * double, and 10^k for k <= 27 is exact too (5^27 < 2^63). m * 10^k (or
 * m / 10^k) is then rounded once to 64 bits (value L, within half an ulp of
 * the true x), and L once more to 53 bits. The second rounding can differ
 * from rounding x directly only when L is exactly halfway between two
 * doubles (the low 11 of its 64 significand bits are 0x400): then x is
 * given to strtod. Results stay in [1e-27, 1.9e46], far from subnormals
 * and overflow. Tested against strtod on millions of strings. */
#define QN_CSV_FAST_EXP 27
static const long double qn_csv_pow10l[QN_CSV_FAST_EXP + 1] = {
    1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,  1e7L,  1e8L,  1e9L,
    1e10L, 1e11L, 1e12L, 1e13L, 1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L,
    1e20L, 1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L};

static int qn_csv_fast(uint64_t m, int k, double *out) {
  long double v = (long double)m;
  v = k >= 0 ? v * qn_csv_pow10l[k] : v / qn_csv_pow10l[-k];
  uint64_t sig;
  memcpy(&sig, &v, sizeof sig); /* x87: bytes 0..7 are the significand */
  if ((sig & 0x7ff) == 0x400) return -1;
  *out = (double)v;
  return 0;
}
#else
/* Clinger's fast path: m and 10^k both exact doubles, one rounding. */
#define QN_CSV_FAST_EXP 22
static int qn_csv_fast(uint64_t m, int k, double *out) {
  static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                               1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                               1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  if (m > ((uint64_t)1 << 53)) return -1;
  *out = k >= 0 ? (double)m * p10[k] : (double)m / p10[-k];
  return 0;
}
#endif

/* Value of eight ASCII digits loaded little-endian (first digit lowest):
 * pairs, then quads, then the eight, by multiply-and-shift. */
static inline uint64_t qn_csv_eight(const char *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  v -= 0x3030303030303030ull;
  v = v * 10 + (v >> 8); /* each even byte: two digits */
  v = ((v & 0x000000ff000000ffull) * (100 + (1000000ull << 32)) +
       ((v >> 16) & 0x000000ff000000ffull) * (1 + (10000ull << 32))) >>
      32;
  return v;
}

/* Adds the digits [p, end) to the mantissa *m while it holds fewer than 19
 * significant digits (so it stays below 10^19 < 2^64); returns how many it
 * took and sets *trunc when a nonzero digit had to be dropped. */
static inline int64_t qn_csv_take(const char *p, const char *end, uint64_t *m, int *nd,
                                  int *trunc) {
  const char *p0 = p;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  while (end - p >= 8 && *nd <= 11) {
    *m = *m * 100000000u + qn_csv_eight(p);
    *nd += 8;
    p += 8;
  }
#endif
  for (; p < end && *nd < 19; p++, ++*nd) *m = *m * 10 + (unsigned)(*p - '0');
  int64_t took = p - p0;
  for (; p < end; p++) *trunc |= *p != '0';
  return took;
}

int qn_csv_parse_double(const char *s, size_t len, double *out) {
  qn_csv_trim(&s, &len);
  const char *p = s, *e = s + len;
  if (p == e) return -1;
  int neg = 0;
  if (*p == '+' || *p == '-') neg = *p++ == '-';
  if (p < e && ((*p | 0x20) == 'n' || (*p | 0x20) == 'i')) {
    int sp = qn_csv_special(s, len);
    if (!sp) return -1;
    double v = sp == 1 ? NAN : INFINITY;
    *out = neg ? -v : v;
    return 0;
  }
  uint64_t m = 0;
  int nd = 0, trunc = 0; /* nd: significant digits in m (leading zeros skipped) */
  int64_t k = 0;         /* value = m * 10^k (before dropped digits) */
  const char *d = p;
  while (p < e && *p == '0') p++;
  const char *ie = qn_csv_digits(p, e);
  int64_t digits = ie - d;
  k += (ie - p) - qn_csv_take(p, ie, &m, &nd, &trunc); /* integer digits dropped */
  p = ie;
  if (p < e && *p == '.') {
    const char *f = ++p;
    if (m == 0)
      while (p < e && *p == '0') p++, k--;
    const char *fe = qn_csv_digits(p, e);
    digits += fe - f;
    k -= qn_csv_take(p, fe, &m, &nd, &trunc);
    p = fe;
  }
  if (!digits) return -1;
  if (p < e && (*p == 'e' || *p == 'E')) {
    p++;
    int eneg = 0;
    if (p < e && (*p == '+' || *p == '-')) eneg = *p++ == '-';
    if (p == e || (unsigned)(*p - '0') >= 10) return -1;
    int64_t x = 0;
    for (; p < e && (unsigned)(*p - '0') < 10; p++)
      if (x < 100000) x = x * 10 + (*p - '0'); /* beyond this it is 0 or inf anyway */
    k += eneg ? -x : x;
  }
  if (p != e) return -1;
  double v;
  if (m == 0) {
    v = 0.0;
  } else if (trunc || k < -QN_CSV_FAST_EXP || k > QN_CSV_FAST_EXP ||
             qn_csv_fast(m, (int)k, &v) != 0) {
    return qn_csv_strtod(s, len, out);
  }
  *out = neg ? -v : v;
  return 0;
}

int qn_csv_utf8_valid(const unsigned char *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    if (len - i >= 8) { /* eight ASCII bytes at a time */
      uint64_t v;
      memcpy(&v, s + i, 8);
      if (!(v & 0x8080808080808080ull)) {
        i += 8;
        continue;
      }
    }
    unsigned c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t n;
    unsigned min;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2;
      min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      min = 0x10000;
    } else
      return 0;
    if (len - i <= n) return 0;
    unsigned cp = c & (0x3fu >> n);
    for (size_t j = 1; j <= n; j++) {
      if ((s[i + j] & 0xc0) != 0x80) return 0;
      cp = (cp << 6) | (s[i + j] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    i += n + 1;
  }
  return 1;
}

/* ===== dates, timestamps, booleans ===================================== */

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian), exactly, in
 * integers: years are counted from March, so that a leap day ends its
 * year, and shifted by 400 years (146097 days, a whole cycle) so that they
 * stay non-negative for January and February of year 0. 719468 is the
 * day number of 1970-01-01 counted from 0000-03-01. */
static int64_t qn_csv_days(int64_t y, int m, int d) {
  y += 400 - (m <= 2);
  int64_t doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1; /* day of the year from March 1 */
  return 365 * y + y / 4 - y / 100 + y / 400 + doy - 719468 - 146097;
}

static int qn_csv_month_days(int64_t y, int m) {
  if (m == 2) return 28 + (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
  return 30 + ((m + (m >> 3)) & 1); /* 31: Jan Mar May Jul Aug Oct Dec */
}

/* The n ASCII digits at p as a number, or -1. */
static int qn_csv_fixed(const char *p, int n) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    unsigned d = (unsigned)(p[i] - '0');
    if (d >= 10) return -1;
    v = v * 10 + (int)d;
  }
  return v;
}

int qn_csv_parse_time(const char *s, size_t len, int64_t *secs, int32_t *nanos, int *digits) {
  qn_csv_trim(&s, &len);
  if (len < 10 || s[4] != '-' || s[7] != '-') return 0;
  int y = qn_csv_fixed(s, 4), m = qn_csv_fixed(s + 5, 2), d = qn_csv_fixed(s + 8, 2);
  if (y < 0 || m < 1 || m > 12 || d < 1 || d > qn_csv_month_days(y, m)) return 0;
  int64_t t = qn_csv_days(y, m, d) * 86400;
  *nanos = 0;
  *digits = 0;
  if (len == 10) {
    *secs = t;
    return QN_CSV_IS_DATE;
  }
  const char *p = s + 10, *e = s + len;
  if (e - p < 9 || (*p != ' ' && *p != 'T' && *p != 't') || p[3] != ':' || p[6] != ':')
    return 0;
  int hh = qn_csv_fixed(p + 1, 2), mm = qn_csv_fixed(p + 4, 2), ss = qn_csv_fixed(p + 7, 2);
  if (hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 59) return 0;
  p += 9;
  if (p < e && *p == '.') {
    const char *f = ++p;
    int32_t ns = 0;
    while (p < e && (unsigned)(*p - '0') < 10 && p - f < 9) ns = ns * 10 + (*p++ - '0');
    *digits = (int)(p - f);
    if (*digits == 0) return 0;
    for (int k = *digits; k < 9; k++) ns *= 10;
    *nanos = ns;
  }
  if (p < e && (*p == 'Z' || *p == 'z')) p++;
  if (p != e) return 0; /* ten fraction digits, an offset, anything else: text */
  *secs = t + hh * 3600 + mm * 60 + ss;
  return QN_CSV_IS_TIMESTAMP;
}

int qn_csv_parse_bool(const char *s, size_t len) {
  qn_csv_trim(&s, &len);
  if (qn_csv_lower_eq(s, len, "true")) return 1;
  if (qn_csv_lower_eq(s, len, "false")) return 0;
  return -1;
}

int64_t qn_csv_time_unit(int digits) {
  if (digits >= 1 && digits <= 3) return 1000;
  return digits >= 7 ? 1000000000 : 1000000;
}

/* secs and nanos in `unit` (units per second), or -1 when that does not
 * fit int64 (only nanoseconds can fail: outside 1677-09-21 .. 2262-04-11)
 * or the fraction is finer than the unit. */
static int qn_csv_time_in(int64_t secs, int32_t nanos, int64_t unit, int64_t *out) {
  int64_t per = 1000000000 / unit, f = nanos / per;
  if (nanos % per != 0) return -1;
  if (secs < 0 && f > 0) { /* the same instant, so that INT64_MIN itself fits */
    secs++;
    f -= unit;
  }
  if (__builtin_mul_overflow(secs, unit, out) || __builtin_add_overflow(*out, f, out))
    return -1;
  return 0;
}

/* ===== the reader ====================================================== */

/* The first value (line, byte offset; off -1: none yet) of a column that
 * rules a type out. */
enum {
  QN_CSV_NOT_INT,   /* not an int64 */
  QN_CSV_NOT_FLOAT, /* not a number */
  QN_CSV_NOT_BOOL,
  QN_CSV_NOT_DATE,
  QN_CSV_NOT_TIME, /* not a timestamp */
  QN_CSV_NS_RANGE, /* a timestamp that does not fit int64 nanoseconds */
  QN_CSV_NFIRST
};
struct qn_csv_first {
  int64_t line, off;
};

/* What the infer pass learnt about one column (merged over workers, each
 * of which takes morsels in file order, so a first value is the first of
 * the file). Once every type but string is ruled out (`text`), values are
 * only checked for UTF-8: digits and NS_RANGE then mean nothing. */
struct qn_csv_infer {
  int64_t values, nulls;
  int digits; /* most fraction digits of a timestamp */
  int text;
  struct qn_csv_first first[QN_CSV_NFIRST];
};

struct qn_csv_reader {
  struct qn_reader base;
  pthread_mutex_t lock;
  int fd; /* under lock; -1 after release */
  int64_t size, rows, data_off;
  int bom, crlf_rows;
  int64_t nmorsels, cap_morsels;
  int64_t *moff, *mline;
  struct qn_csv_infer *inf;
};

static const struct qn_reader_ops qn_csv_ops;

static int qn_csv_get_fd(struct qn_csv_reader *r, int *fd, struct qn_error *err) {
  pthread_mutex_lock(&r->lock);
  if (r->fd < 0) r->fd = open(r->base.path, O_RDONLY | O_CLOEXEC);
  *fd = r->fd;
  int e = errno;
  pthread_mutex_unlock(&r->lock);
  if (*fd < 0) return qn_error_set(err, QN_EIO, "%s: %s", r->base.path, strerror(e));
  return QN_OK;
}

/* ----- the read buffer ----- */

/* Bytes [beg, end) of buf are file bytes [off + beg, off + end); the file
 * is read up to stop. */
struct qn_csv_cursor {
  struct qn_csv_reader *r;
  int fd;
  char *buf;
  size_t cap, beg, end;
  int64_t off, next, stop;
};

static int qn_csv_cursor_init(struct qn_csv_cursor *c, struct qn_csv_reader *r, int fd,
                              int64_t start, int64_t stop, struct qn_error *err) {
  memset(c, 0, sizeof *c);
  c->r = r;
  c->fd = fd;
  c->off = c->next = start;
  c->stop = stop;
  struct qn_error e2;
  qn_error_init(&e2);
  c->cap = QN_CSV_BUF_BYTES;
  c->buf = qn_mem_alloc(r->base.ctx, c->cap, "the CSV read buffer", &e2);
  if (!c->buf && e2.code == QN_ELIMIT) { /* a tight budget: smaller reads, same result */
    c->cap = QN_CSV_BUF_MIN_BYTES;
    c->buf = qn_mem_alloc(r->base.ctx, c->cap, "the CSV read buffer", err);
    return c->buf ? QN_OK : (err && err->code ? err->code : QN_ENOMEM);
  }
  if (!c->buf) return qn_error_set(err, e2.code, "%s", e2.message);
  return QN_OK;
}

static void qn_csv_cursor_free(struct qn_csv_cursor *c) {
  if (c->buf) qn_mem_free(c->r->base.ctx, c->buf);
  c->buf = NULL;
}

static int qn_csv_cursor_eof(const struct qn_csv_cursor *c) {
  return c->next >= c->stop;
}

/* Keeps [beg, end), reads more after it (growing the buffer when it is
 * full of one unfinished row). Sets *got to the bytes added. */
static int qn_csv_cursor_fill(struct qn_csv_cursor *c, size_t *got, struct qn_error *err) {
  *got = 0;
  if (qn_csv_cursor_eof(c)) return QN_OK;
  if (c->beg > 0) {
    memmove(c->buf, c->buf + c->beg, c->end - c->beg);
    c->off += (int64_t)c->beg;
    c->end -= c->beg;
    c->beg = 0;
  }
  if (c->end == c->cap) {
    size_t cap = c->cap * 2;
    char *nb = qn_mem_alloc(c->r->base.ctx, cap, "the CSV read buffer (a long row)", err);
    if (!nb) return err && err->code ? err->code : QN_ENOMEM;
    memcpy(nb, c->buf, c->end);
    qn_mem_free(c->r->base.ctx, c->buf);
    c->buf = nb;
    c->cap = cap;
  }
  size_t want = (size_t)QN_MIN((int64_t)(c->cap - c->end), c->stop - c->next);
  while (*got < want) {
    ssize_t n = pread(c->fd, c->buf + c->end, want - *got, (off_t)c->next);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return qn_error_set(
          err, n == 0 ? QN_EFORMAT : QN_EIO, "%s: cannot read at byte offset %lld: %s",
          c->r->base.path, (long long)c->next,
          n == 0 ? "the file is shorter than when it was opened" : strerror(errno));
    c->end += (size_t)n;
    c->next += n;
    *got += (size_t)n;
  }
  return QN_OK;
}

/* ----- tokeniser ----- */

struct qn_csv_field {
  size_t start, len; /* relative to the row start; the text inside quotes */
  int quoted, esc;   /* esc: holds "" pairs */
};

/* First ',' or '\n' in [p, e), or e: eight bytes at a time. The zero-byte
 * test (x - 0x01..) & ~x & 0x80.. may flag bytes above a true zero (borrow),
 * never below one, so its lowest flag is exact. */
static inline const char *qn_csv_scan_plain(const char *p, const char *e) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
  while (e - p >= 8) {
    uint64_t v;
    memcpy(&v, p, 8);
    uint64_t a = v ^ (ones * ','), b = v ^ (ones * '\n');
    uint64_t t = (((a - ones) & ~a) | ((b - ones) & ~b)) & highs;
    if (t) return p + (__builtin_ctzll(t) >> 3); /* little-endian: lowest byte first */
    p += 8;
  }
#endif
  while (p < e && *p != ',' && *p != '\n') p++;
  return p;
}

enum { QN_CSV_ROW_MORE = 0, QN_CSV_ROW_UNTERMINATED = -1, QN_CSV_ROW_AFTER_QUOTE = -2 };

/* Tokenises one row starting at s (s < e). Returns the bytes it spans with
 * its line end (> 0), QN_CSV_ROW_MORE when the buffer ends inside it and
 * more of the file follows, or an error (< 0) with *bad the offset from s
 * of the culprit. *nf counts every field; the first cap are stored.
 * *lines counts the newlines the row spans (quoted ones and its end). */
static ptrdiff_t qn_csv_row(const char *s, const char *e, int eof, struct qn_csv_field *f,
                            int cap, int *nf, int64_t *lines, size_t *bad) {
  const char *p = s;
  int n = 0;
  int64_t nl = 0;
  for (;;) {
    size_t start;
    size_t len;
    int quoted = 0, esc = 0;
    if (p < e && *p == '"') {
      const char *open = p++;
      quoted = 1;
      start = (size_t)(p - s);
      for (;;) {
        const char *q = memchr(p, '"', (size_t)(e - p));
        if (!q) {
          if (!eof) return QN_CSV_ROW_MORE;
          *bad = (size_t)(open - s);
          return QN_CSV_ROW_UNTERMINATED;
        }
        for (const char *t = memchr(p, '\n', (size_t)(q - p)); t;
             t = memchr(t + 1, '\n', (size_t)(q - t - 1)))
          nl++;
        if (q + 1 == e && !eof) return QN_CSV_ROW_MORE; /* "" split by the buffer? */
        if (q + 1 < e && q[1] == '"') {
          esc = 1;
          p = q + 2;
          continue;
        }
        len = (size_t)(q - s) - start;
        p = q + 1;
        break;
      }
      if (p < e && *p == '\r') {
        if (p + 1 < e ? p[1] == '\n' : eof)
          p++;
        else if (p + 1 == e)
          return QN_CSV_ROW_MORE;
      }
      if (p < e && *p != ',' && *p != '\n') {
        *bad = (size_t)(p - s);
        return QN_CSV_ROW_AFTER_QUOTE;
      }
    } else {
      start = (size_t)(p - s);
      p = qn_csv_scan_plain(p, e);
      len = (size_t)(p - s) - start;
      if (p == e && !eof) return QN_CSV_ROW_MORE;
      if (len && p[-1] == '\r' && (p == e || *p == '\n')) len--;
    }
    if (n < cap) f[n] = (struct qn_csv_field){start, len, quoted, esc};
    n++;
    if (p == e) break;
    if (*p++ == '\n') {
      nl++;
      break;
    }
  }
  *nf = n;
  *lines = nl;
  return p - s;
}

static int qn_csv_blank(int nf, const struct qn_csv_field *f) {
  return nf == 1 && !f[0].quoted && f[0].len == 0;
}

static int qn_csv_row_error(struct qn_csv_reader *r, ptrdiff_t rc, int64_t line, int64_t off,
                            struct qn_error *err) {
  if (rc == QN_CSV_ROW_UNTERMINATED)
    return qn_error_set(err, QN_EFORMAT,
                        "%s: line %lld (byte offset %lld): unterminated quoted field "
                        "(the quote opened here is never closed)",
                        r->base.path, (long long)line, (long long)off);
  return qn_error_set(err, QN_EFORMAT,
                      "%s: line %lld (byte offset %lld): unexpected character after a "
                      "closing quote (a quoted field must end at a comma or line end)",
                      r->base.path, (long long)line, (long long)off);
}

/* Line of byte `target` inside the buffer, counting from `line` at `from`. */
static int64_t qn_csv_line_at(const char *buf, size_t from, size_t target, int64_t line) {
  for (size_t i = from; i < target; i++) line += buf[i] == '\n';
  return line;
}

/* ----- the header ----- */

static int qn_csv_header(struct qn_csv_reader *r, struct qn_csv_cursor *c, int64_t *line,
                         struct qn_error *err) {
  int status = QN_OK;
  int cap = 64, nf = 0;
  struct qn_csv_field *f = malloc((size_t)cap * sizeof *f);
  if (!f) return qn_error_set(err, QN_ENOMEM, "out of memory reading %s", r->base.path);
  size_t got;
  QN_CHECK(qn_csv_cursor_fill(c, &got, err));
  if (c->end >= 3 && memcmp(c->buf, "\xef\xbb\xbf", 3) == 0) {
    c->beg = 3;
    r->bom = 1;
  }
  for (;;) {
    if (c->beg == c->end) {
      QN_CHECK(qn_csv_cursor_fill(c, &got, err));
      if (got == 0) {
        status = qn_error_set(err, QN_EFORMAT, "%s: empty file: a CSV file needs a header row",
                              r->base.path);
        goto done;
      }
    }
    const char *s = c->buf + c->beg;
    void *nul = memchr(s, 0, c->end - c->beg);
    if (nul) {
      size_t at = (size_t)((char *)nul - c->buf);
      status = qn_error_set(err, QN_EFORMAT,
                            "%s: line %lld (byte offset %lld): NUL byte: this is not a text "
                            "CSV file",
                            r->base.path, (long long)qn_csv_line_at(c->buf, c->beg, at, *line),
                            (long long)(c->off + (int64_t)at));
      goto done;
    }
    int64_t nl = 0;
    size_t bad = 0;
    ptrdiff_t rc = qn_csv_row(s, c->buf + c->end, qn_csv_cursor_eof(c), f, cap, &nf, &nl, &bad);
    if (rc == QN_CSV_ROW_MORE) {
      QN_CHECK(qn_csv_cursor_fill(c, &got, err));
      continue;
    }
    if (rc < 0) {
      status = qn_csv_row_error(r, rc, qn_csv_line_at(s, 0, bad, *line),
                                c->off + (int64_t)c->beg + (int64_t)bad, err);
      goto done;
    }
    if (nf > cap) {
      if (nf > QN_CSV_MAX_COLUMNS) {
        status = qn_error_set(err, QN_EUNSUPPORTED, "%s: line %lld: %d columns (at most %d)",
                              r->base.path, (long long)*line, nf, QN_CSV_MAX_COLUMNS);
        goto done;
      }
      cap = nf;
      struct qn_csv_field *g = realloc(f, (size_t)cap * sizeof *f);
      if (!g) {
        status = qn_error_set(err, QN_ENOMEM, "out of memory reading %s", r->base.path);
        goto done;
      }
      f = g;
      continue; /* tokenise again with room for every field */
    }
    if (qn_csv_blank(nf, f)) { /* empty lines before the header */
      c->beg += (size_t)rc;
      *line += nl;
      continue;
    }
    QN_CHECK(qn_reader_alloc_columns(&r->base, nf, err));
    for (int i = 0; i < nf; i++) {
      const char *t = s + f[i].start;
      char *name = malloc(f[i].len + 1);
      if (!name) {
        status = qn_error_set(err, QN_ENOMEM, "out of memory reading %s", r->base.path);
        goto done;
      }
      size_t k = 0;
      for (size_t j = 0; j < f[i].len; j++) {
        name[k++] = t[j];
        if (f[i].esc && t[j] == '"') j++; /* "" is one quote */
      }
      name[k] = 0;
      r->base.cols[i].name = name;
      int64_t at = c->off + (int64_t)c->beg + (int64_t)f[i].start;
      if (!qn_csv_utf8_valid((const unsigned char *)name, k) || memchr(name, 0, k)) {
        status = qn_error_set(err, QN_EFORMAT,
                              "%s: line %lld (byte offset %lld): header column %d is not valid "
                              "UTF-8 text: this does not look like a CSV file",
                              r->base.path, (long long)*line, (long long)at, i + 1);
        goto done;
      }
      if (k == 0) {
        status = qn_error_set(err, QN_EFORMAT,
                              "%s: line %lld (byte offset %lld): header column %d has an empty "
                              "name (every column needs a unique name)",
                              r->base.path, (long long)*line, (long long)at, i + 1);
        goto done;
      }
      for (int j = 0; j < i; j++)
        if (strcmp(r->base.cols[j].name, name) == 0) {
          status = qn_error_set(err, QN_EFORMAT,
                                "%s: line %lld: duplicate column name '%s' (header columns %d "
                                "and %d)",
                                r->base.path, (long long)*line, name, j + 1, i + 1);
          goto done;
        }
    }
    c->beg += (size_t)rc;
    *line += nl;
    break;
  }
done:
  free(f);
  return status;
}

/* ----- open: the index pass and the infer pass ----- */

struct qn_csv_open_job {
  struct qn_csv_reader *r;
  struct qn_csv_cursor *cur; /* the index pass's, after the header */
  int64_t line;              /* line at cur's position */
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int64_t ready; /* morsels [0, ready) have a known byte range */
  int index_done;
  int rows_known;     /* the end sentinel is pushed: r->rows is final */
  int64_t next;       /* next morsel to infer */
  int64_t stop_after; /* morsels past this one need no inferring (an error is earlier) */
  /* the error with the lowest byte offset found so far */
  int failed;
  int64_t err_off;
  struct qn_error err;
  int hard; /* an error that is not about the file's bytes (memory, I/O): it wins */
  int nworkers;
  struct qn_csv_infer *winf; /* nworkers x ncols */
};

static void qn_csv_job_fail(struct qn_csv_open_job *j, int64_t morsel, int64_t off,
                            const struct qn_error *e, int hard) {
  pthread_mutex_lock(&j->lock);
  if (hard && !j->hard) {
    j->hard = 1;
    j->failed = 1;
    j->err = *e;
    j->stop_after = -1;
  } else if (!j->hard && (!j->failed || off < j->err_off)) {
    j->failed = 1;
    j->err_off = off;
    j->err = *e;
    if (morsel < j->stop_after) j->stop_after = morsel;
  }
  if (j->err.code == QN_OK) j->err.code = QN_EINTERNAL;
  pthread_cond_broadcast(&j->cond);
  pthread_mutex_unlock(&j->lock);
}

/* Appends a morsel start (or, with rows >= 0, the end sentinel). Returns
 * 0, 1 when the job has already failed (stop indexing), -1 on ENOMEM. */
static int qn_csv_push_morsel(struct qn_csv_open_job *j, int64_t off, int64_t line,
                              int64_t rows) {
  struct qn_csv_reader *r = j->r;
  int status = 0;
  pthread_mutex_lock(&j->lock);
  if (r->nmorsels + 1 >= r->cap_morsels) {
    int64_t cap = r->cap_morsels ? 2 * r->cap_morsels : 64;
    int64_t *a = realloc(r->moff, (size_t)cap * sizeof *a);
    if (a) r->moff = a;
    int64_t *b = a ? realloc(r->mline, (size_t)cap * sizeof *b) : NULL;
    if (b) r->mline = b;
    if (!a || !b)
      status = -1;
    else
      r->cap_morsels = cap;
  }
  if (status == 0) {
    r->moff[r->nmorsels] = off;
    r->mline[r->nmorsels] = line;
    if (rows >= 0) { /* the end: every morsel is known, the last may be short */
      r->rows = rows;
      j->ready = r->nmorsels;
      j->rows_known = 1;
    } else {
      r->nmorsels++;
      j->ready = r->nmorsels - 1; /* a morsel is known once the next one starts */
      if (j->failed) status = 1;
    }
    pthread_cond_broadcast(&j->cond);
  }
  pthread_mutex_unlock(&j->lock);
  return status;
}

/* Rows of a buffer stretch without any quote: row ends are plain newlines.
 * Takes whole rows (empty lines skipped, not counted) from *p up to `lim`
 * until `left` rows are counted; *p moves past the last line taken. */
static int64_t qn_csv_plain_rows(const char *buf, size_t *p, size_t lim, int64_t left,
                                 int64_t *lines, int *crlf) {
  size_t i = *p;
  int64_t rows = 0;
  while (rows < left && i < lim) {
    const char *nl = memchr(buf + i, '\n', lim - i);
    if (!nl) break;
    size_t end = (size_t)(nl - buf);
    size_t len = end - i;
    if (len && buf[end - 1] == '\r') {
      len--;
      *crlf = 1;
    }
    rows += len > 0;
    (*lines)++;
    i = end + 1;
  }
  *p = i;
  return rows;
}

static size_t qn_csv_next_quote(const struct qn_csv_cursor *c) {
  const char *q = memchr(c->buf + c->beg, '"', c->end - c->beg);
  return q ? (size_t)(q - c->buf) : c->end;
}

/* Reads more for the index pass, refusing NUL bytes (a binary file). */
static int qn_csv_index_fill(struct qn_csv_cursor *c, int64_t line, size_t *got,
                             struct qn_error *err) {
  QN_RETURN_IF_ERROR(qn_csv_cursor_fill(c, got, err));
  size_t from = c->end - *got;
  const char *nul = memchr(c->buf + from, 0, *got);
  if (!nul) return QN_OK;
  size_t at = (size_t)(nul - c->buf);
  return qn_error_set(err, QN_EFORMAT,
                      "%s: line %lld (byte offset %lld): NUL byte: this is not a text CSV file",
                      c->r->base.path, (long long)qn_csv_line_at(c->buf, c->beg, at, line),
                      (long long)(c->off + (int64_t)at));
}

/* The index pass: finds row ends (quotes tracked) and pushes the offset
 * and line of every QN_MORSEL_ROWS-th row. A morsel boundary is placed
 * right after the last row of the previous morsel, and pushed only once a
 * row follows it (so trailing empty lines never make an empty morsel). */
static int qn_csv_index_pass(struct qn_csv_open_job *j, struct qn_error *err) {
  struct qn_csv_reader *r = j->r;
  struct qn_csv_cursor *c = j->cur;
  int status = QN_OK;
  int64_t rows = 0, line = j->line;
  int64_t bound_off = c->off + (int64_t)c->beg, bound_line = line;
  size_t quote = qn_csv_next_quote(c), got;
  struct qn_csv_field f1[1];
  for (;;) {
    if (c->beg == c->end) {
      QN_CHECK(qn_csv_index_fill(c, line, &got, err));
      if (got == 0) break;
      quote = qn_csv_next_quote(c);
    }
    int due = rows % QN_MORSEL_ROWS == 0 && r->nmorsels == rows / QN_MORSEL_ROWS;
    int64_t due_off = bound_off, due_line = bound_line;
    int64_t taken = 0;
    size_t p = c->beg;
    int64_t n =
        qn_csv_plain_rows(c->buf, &p, quote, due ? 1 : QN_MORSEL_ROWS - rows % QN_MORSEL_ROWS,
                          &line, &r->crlf_rows);
    if (p != c->beg) {
      taken = n;
      c->beg = p;
    } else { /* a row with a quote in it, or one whose end is not in the buffer */
      int nf = 0;
      int64_t nl = 0;
      size_t bad = 0;
      const char *s = c->buf + c->beg;
      ptrdiff_t rc =
          qn_csv_row(s, c->buf + c->end, qn_csv_cursor_eof(c), f1, 1, &nf, &nl, &bad);
      if (rc == QN_CSV_ROW_MORE) {
        QN_CHECK(qn_csv_index_fill(c, line, &got, err));
        quote = qn_csv_next_quote(c);
        continue;
      }
      if (rc < 0) {
        status = qn_csv_row_error(r, rc, qn_csv_line_at(s, 0, bad, line),
                                  c->off + (int64_t)c->beg + (int64_t)bad, err);
        goto done;
      }
      c->beg += (size_t)rc;
      line += nl;
      taken = !qn_csv_blank(nf, f1);
      if (quote < c->beg) quote = qn_csv_next_quote(c);
    }
    if (taken) {
      if (due) {
        int st = qn_csv_push_morsel(j, due_off, due_line, -1);
        if (st < 0) {
          status = qn_error_set(err, QN_ENOMEM, "out of memory indexing %s", r->base.path);
          goto done;
        }
        if (st > 0) goto done; /* the infer pass failed earlier in the file */
      }
      rows += taken;
      bound_off = c->off + (int64_t)c->beg;
      bound_line = line;
    }
  }
  if (qn_csv_push_morsel(j, r->size, line, rows) < 0)
    status = qn_error_set(err, QN_ENOMEM, "out of memory indexing %s", r->base.path);
done:
  return status;
}

/* ----- parsing a range (the infer pass and read) ----- */

/* How the fields of one column being read become values: the column's
 * type in the file, or an int64 column read as float64. */
enum qn_csv_kind {
  QN_CSV_SKIP = 0, /* not read */
  QN_CSV_INT64,
  QN_CSV_INT_AS_FLOAT, /* rounds as strtod of the same digits does */
  QN_CSV_FLOAT64,
  QN_CSV_BOOL, /* uint8 0 or 1 */
  QN_CSV_DATE, /* int32 days */
  QN_CSV_TIME, /* int64 in the column's unit */
  QN_CSV_STRING
};

/* One column being read, into the caller's buffers: n values (of the
 * type's width) and, when the column is nullable, n validity bytes. A string
 * column's offsets are the caller's (n + 1 entries); its bytes grow in a
 * budgeted buffer handed over to the caller (who frees it with
 * qn_mem_free), as the Parquet reader does. */
struct qn_csv_dest {
  enum qn_csv_kind kind;
  void *data;
  uint8_t *valid; /* NULL: the column has no nulls in the file */
  int64_t nulls;
  int64_t unit; /* timestamps: units per second */
  int64_t *offsets;
  char *bytes;
  int64_t len, cap;
};

/* What to do with the fields of each row. */
struct qn_csv_sink {
  struct qn_csv_infer *inf; /* infer: per column; NULL when reading */
  struct qn_csv_dest *dest; /* read: per column (kind QN_CSV_SKIP: not read) */
};

/* Appends field text (outer quotes already stripped; "" pairs undone) as
 * row i of a string column; an empty unquoted field is a null. */
static int qn_csv_string_field(struct qn_csv_reader *r, struct qn_csv_dest *d, int64_t i,
                               const char *t, size_t len, int quoted, int esc,
                               struct qn_error *err) {
  if (d->len + (int64_t)len > d->cap) {
    int64_t cap = QN_MAX(d->cap * 2, d->len + (int64_t)len + 4096);
    char *b = qn_mem_alloc(r->base.ctx, (size_t)cap, "CSV string values", err);
    if (!b) return err ? err->code : QN_ELIMIT;
    if (d->len) memcpy(b, d->bytes, (size_t)d->len);
    qn_mem_free(r->base.ctx, d->bytes);
    d->bytes = b;
    d->cap = cap;
  }
  int present = len > 0 || quoted;
  if (d->valid) d->valid[i] = (uint8_t)present;
  d->nulls += !present;
  for (size_t j = 0; j < len; j++) {
    d->bytes[d->len++] = t[j];
    if (esc && t[j] == '"') j++; /* "" is one quote */
  }
  d->offsets[i + 1] = d->len;
  return QN_OK;
}

static void qn_csv_note(struct qn_csv_infer *in, int what, int64_t line, int64_t off) {
  if (in->first[what].off < 0) in->first[what] = (struct qn_csv_first){line, off};
}

/* A value that is not a number: is it a boolean, a date, a timestamp?
 * Returns 0 when it is none of them (text). */
static int qn_csv_infer_other(struct qn_csv_infer *in, const char *t, size_t len, int esc,
                              int64_t line, int64_t off) {
  int64_t secs = 0, ns;
  int32_t nanos = 0;
  int digits = 0, b = -1, k = 0;
  if (!esc) { /* an escaped field holds a quote: text */
    if (in->first[QN_CSV_NOT_BOOL].off < 0) b = qn_csv_parse_bool(t, len);
    if (b < 0) k = qn_csv_parse_time(t, len, &secs, &nanos, &digits);
  }
  if (b < 0) qn_csv_note(in, QN_CSV_NOT_BOOL, line, off);
  if (k != QN_CSV_IS_DATE) qn_csv_note(in, QN_CSV_NOT_DATE, line, off);
  if (k != QN_CSV_IS_TIMESTAMP) {
    qn_csv_note(in, QN_CSV_NOT_TIME, line, off);
  } else {
    in->digits = QN_MAX(in->digits, digits);
    if (qn_csv_time_in(secs, nanos, 1000000000, &ns) != 0)
      qn_csv_note(in, QN_CSV_NS_RANGE, line, off);
  }
  return b >= 0 || k != 0;
}

static void qn_csv_infer_field(struct qn_csv_infer *in, const char *t, size_t len, int esc,
                               int64_t line, int64_t off, int *bad_utf8) {
  /* an escaped field holds a quote, so it is text and not empty; once a
   * column holds a non-number, a number only rules out what a failed
   * parse as boolean, date or timestamp rules out too */
  int cls =
      esc || in->text || in->first[QN_CSV_NOT_FLOAT].off >= 0 ? 0 : qn_csv_classify(t, len);
  if (cls == 0 && !esc) {
    const char *u = t;
    size_t ul = len;
    qn_csv_trim(&u, &ul);
    if (ul == 0) {
      in->nulls++;
      return;
    }
  }
  in->values++;
  if (in->text) { /* only its UTF-8 is left to check */
    if (!qn_csv_utf8_valid((const unsigned char *)t, len)) *bad_utf8 = 1;
    return;
  }
  int typed = 1;
  if (!(cls & QN_CSV_IS_INT)) qn_csv_note(in, QN_CSV_NOT_INT, line, off);
  if (cls) { /* a number is nothing else */
    qn_csv_note(in, QN_CSV_NOT_BOOL, line, off);
    qn_csv_note(in, QN_CSV_NOT_DATE, line, off);
    qn_csv_note(in, QN_CSV_NOT_TIME, line, off);
  } else {
    qn_csv_note(in, QN_CSV_NOT_FLOAT, line, off);
    typed = qn_csv_infer_other(in, t, len, esc, line, off);
  }
  in->text = in->first[QN_CSV_NOT_FLOAT].off >= 0 && in->first[QN_CSV_NOT_BOOL].off >= 0 &&
             in->first[QN_CSV_NOT_DATE].off >= 0 && in->first[QN_CSV_NOT_TIME].off >= 0;
  if (!typed && !qn_csv_utf8_valid((const unsigned char *)t, len)) *bad_utf8 = 1;
}

/* A null (an empty field) as row i of a column that is not text. */
static int qn_csv_null_field(struct qn_csv_reader *r, struct qn_csv_dest *d, int c, int64_t i,
                             int64_t line, int64_t off, struct qn_error *err) {
  if (!d->valid)
    return qn_error_set(err, QN_EFORMAT,
                        "%s: line %lld (byte offset %lld): column '%s' has an empty field, "
                        "but had none when the file was opened (the file changed?)",
                        r->base.path, (long long)line, (long long)off, r->base.cols[c].name);
  if (d->kind == QN_CSV_FLOAT64 || d->kind == QN_CSV_INT_AS_FLOAT)
    ((double *)d->data)[i] = NAN; /* readers that skip `valid` see NaN */
  else if (d->kind == QN_CSV_BOOL)
    ((uint8_t *)d->data)[i] = 0;
  else if (d->kind == QN_CSV_DATE)
    ((int32_t *)d->data)[i] = 0;
  else
    ((int64_t *)d->data)[i] = 0;
  d->valid[i] = 0;
  d->nulls++;
  return QN_OK;
}

/* Trimmed, non-empty text [u, u+ul) as row i of a column that is not
 * text; -1 when it does not parse as the column's type. */
static int qn_csv_value(struct qn_csv_dest *d, int64_t i, const char *u, size_t ul) {
  int64_t v, secs;
  int32_t nanos;
  int digits, b;
  switch (d->kind) {
    case QN_CSV_FLOAT64:
      return qn_csv_parse_double(u, ul, (double *)d->data + i);
    case QN_CSV_INT64:
      return qn_csv_parse_int64(u, ul, (int64_t *)d->data + i);
    case QN_CSV_INT_AS_FLOAT:
      if (qn_csv_parse_int64(u, ul, &v) != 0) return -1;
      ((double *)d->data)[i] = (double)v;
      return 0;
    case QN_CSV_BOOL:
      if ((b = qn_csv_parse_bool(u, ul)) < 0) return -1;
      ((uint8_t *)d->data)[i] = (uint8_t)b;
      return 0;
    case QN_CSV_DATE:
      if (qn_csv_parse_time(u, ul, &secs, &nanos, &digits) != QN_CSV_IS_DATE) return -1;
      ((int32_t *)d->data)[i] = (int32_t)(secs / 86400); /* 0000..9999: fits */
      return 0;
    case QN_CSV_TIME:
      if (qn_csv_parse_time(u, ul, &secs, &nanos, &digits) != QN_CSV_IS_TIMESTAMP) return -1;
      return qn_csv_time_in(secs, nanos, d->unit, (int64_t *)d->data + i);
    default:
      return -1;
  }
}

/* Field text [t, t+len) as row i of column c. */
static int qn_csv_read_field(struct qn_csv_reader *r, struct qn_csv_dest *d, int c, int64_t i,
                             const char *t, const struct qn_csv_field *f, int64_t line,
                             int64_t off, struct qn_error *err) {
  if (d->kind == QN_CSV_STRING)
    return qn_csv_string_field(r, d, i, t, f->len, f->quoted, f->esc, err);
  const char *u = t;
  size_t ul = f->len;
  qn_csv_trim(&u, &ul);
  if (ul == 0) return qn_csv_null_field(r, d, c, i, line, off, err);
  /* a field holding a quote is text */
  if (f->esc || qn_csv_value(d, i, u, ul) != 0)
    return qn_error_set(err, QN_EFORMAT,
                        "%s: line %lld (byte offset %lld): column '%s': '%.*s' is not %s "
                        "(the file changed since it was opened?)",
                        r->base.path, (long long)line, (long long)off, r->base.cols[c].name,
                        (int)QN_MIN(f->len, (size_t)40), t, r->base.cols[c].type_name);
  if (d->valid) d->valid[i] = 1;
  return QN_OK;
}

/* Parses rows [skip, skip + nrows) of the byte range [start, stop), which
 * begins at line `line`, into the sink. On a format error *err_off is its
 * byte offset. */
static int qn_csv_parse_range(struct qn_csv_reader *r, int64_t start, int64_t stop,
                              int64_t line, int64_t skip, int64_t nrows,
                              const struct qn_csv_sink *k, int64_t *err_off,
                              struct qn_error *err) {
  int status = QN_OK;
  int ncols = r->base.ncols, fd;
  struct qn_csv_cursor c = {0};
  struct qn_csv_field *f = malloc((size_t)(ncols + 1) * sizeof *f);
  if (!f) return qn_error_set(err, QN_ENOMEM, "out of memory reading %s", r->base.path);
  QN_CHECK(qn_csv_get_fd(r, &fd, err));
  QN_CHECK(qn_csv_cursor_init(&c, r, fd, start, stop, err));
  int64_t row = 0, end = skip + nrows;
  *err_off = -1;
  while (row < end) {
    if (c.beg == c.end) {
      size_t got;
      QN_CHECK(qn_csv_cursor_fill(&c, &got, err));
      if (got == 0) break;
    }
    const char *s = c.buf + c.beg;
    int nf = 0;
    int64_t nl = 0;
    size_t bad = 0;
    ptrdiff_t rc =
        qn_csv_row(s, c.buf + c.end, qn_csv_cursor_eof(&c), f, ncols + 1, &nf, &nl, &bad);
    int64_t roff = c.off + (int64_t)c.beg;
    if (rc == QN_CSV_ROW_MORE) {
      size_t got;
      QN_CHECK(qn_csv_cursor_fill(&c, &got, err));
      continue;
    }
    if (rc < 0) {
      *err_off = roff + (int64_t)bad;
      status = qn_csv_row_error(r, rc, qn_csv_line_at(s, 0, bad, line), *err_off, err);
      goto done;
    }
    if (!qn_csv_blank(nf, f)) {
      if (nf != ncols) {
        *err_off = roff;
        status = qn_error_set(err, QN_EFORMAT,
                              "%s: line %lld (byte offset %lld): %d field%s, but the header "
                              "has %d column%s",
                              r->base.path, (long long)line, (long long)roff, nf,
                              nf == 1 ? "" : "s", ncols, ncols == 1 ? "" : "s");
        goto done;
      }
      if (row >= skip) {
        int64_t i = row - skip;
        for (int col = 0; col < ncols; col++) {
          const struct qn_csv_field *fi = &f[col];
          int64_t foff = roff + (int64_t)fi->start;
          if (k->inf) {
            int bad_utf8 = 0;
            qn_csv_infer_field(&k->inf[col], s + fi->start, fi->len, fi->esc, line, foff,
                               &bad_utf8);
            if (bad_utf8) {
              *err_off = foff;
              status = qn_error_set(err, QN_EFORMAT,
                                    "%s: line %lld (byte offset %lld): column '%s' holds text "
                                    "that is not valid UTF-8",
                                    r->base.path, (long long)line, (long long)foff,
                                    r->base.cols[col].name);
              goto done;
            }
          } else if (k->dest[col].kind != QN_CSV_SKIP) {
            QN_CHECK(qn_csv_read_field(r, &k->dest[col], col, i, s + fi->start, fi, line, foff,
                                       err));
          }
        }
      }
      row++;
    }
    c.beg += (size_t)rc;
    line += nl;
  }
  if (row < end)
    status = qn_error_set(
        err, QN_EFORMAT,
        "%s: rows %lld..%lld expected before byte offset %lld, found %lld (the "
        "file changed since it was opened?)",
        r->base.path, (long long)skip, (long long)end, (long long)stop, (long long)row);
done:
  qn_csv_cursor_free(&c);
  free(f);
  return status;
}

static void qn_csv_infer_init(struct qn_csv_infer *in, int n) {
  for (int i = 0; i < n; i++) {
    memset(&in[i], 0, sizeof in[i]);
    for (int k = 0; k < QN_CSV_NFIRST; k++) in[i].first[k] = (struct qn_csv_first){-1, -1};
  }
}

static void qn_csv_infer_merge(struct qn_csv_infer *a, const struct qn_csv_infer *b) {
  a->values += b->values;
  a->nulls += b->nulls;
  a->digits = QN_MAX(a->digits, b->digits);
  a->text |= b->text;
  for (int k = 0; k < QN_CSV_NFIRST; k++)
    if (b->first[k].off >= 0 && (a->first[k].off < 0 || b->first[k].off < a->first[k].off))
      a->first[k] = b->first[k];
}

/* The infer pass on one worker: takes known morsels in order. */
static void qn_csv_infer_worker(struct qn_csv_open_job *j, int worker) {
  struct qn_csv_reader *r = j->r;
  struct qn_csv_infer *inf = j->winf + (size_t)worker * (size_t)r->base.ncols;
  struct qn_csv_sink sink = {inf, NULL};
  struct qn_error err;
  qn_error_init(&err);
  pthread_mutex_lock(&j->lock);
  for (;;) {
    if (j->hard || (j->index_done && j->next >= j->ready)) break;
    if (j->next >= j->ready || j->next > j->stop_after) {
      if (j->index_done) break;
      pthread_cond_wait(&j->cond, &j->lock);
      continue;
    }
    int64_t m = j->next++;
    int64_t start = r->moff[m], stop = r->moff[m + 1], line = r->mline[m];
    int64_t n = QN_MORSEL_ROWS, err_off = -1;
    if (j->rows_known && m == j->ready - 1 && r->rows % QN_MORSEL_ROWS)
      n = r->rows % QN_MORSEL_ROWS;
    pthread_mutex_unlock(&j->lock);
    qn_error_init(&err);
    int st = qn_csv_parse_range(r, start, stop, line, 0, n, &sink, &err_off, &err);
    if (st != QN_OK) qn_csv_job_fail(j, m, err_off, &err, err_off < 0);
    pthread_mutex_lock(&j->lock);
  }
  pthread_mutex_unlock(&j->lock);
}

static void qn_csv_open_worker(void *arg, int worker) {
  struct qn_csv_open_job *j = arg;
  if (worker == 0) {
    struct qn_error err;
    qn_error_init(&err);
    int st = qn_csv_index_pass(j, &err);
    pthread_mutex_lock(&j->lock);
    j->index_done = 1;
    pthread_cond_broadcast(&j->cond);
    pthread_mutex_unlock(&j->lock);
    /* an index error is about the bytes at its offset, a memory or I/O
     * error is not: either way it is the latest possible, so earlier infer
     * errors still win */
    if (st != QN_OK)
      qn_csv_job_fail(j, INT64_MAX, st == QN_EFORMAT ? INT64_MAX - 1 : 0, &err,
                      st != QN_EFORMAT);
  }
  qn_csv_infer_worker(j, worker);
}

/* The type of a column from what the infer pass saw, and for timestamps
 * the unit (units per second). */
static enum qn_type qn_csv_infer_type(const struct qn_csv_infer *in, int64_t *unit) {
  const struct qn_csv_first *f = in->first;
  *unit = 0;
  if (in->values == 0) return QN_FLOAT64;
  if (f[QN_CSV_NOT_INT].off < 0) return QN_INT64;
  if (f[QN_CSV_NOT_FLOAT].off < 0) return QN_FLOAT64;
  if (f[QN_CSV_NOT_BOOL].off < 0) return QN_BOOL;
  if (f[QN_CSV_NOT_DATE].off < 0) return QN_DATE;
  if (f[QN_CSV_NOT_TIME].off < 0) {
    *unit = qn_csv_time_unit(in->digits);
    if (*unit == 1000000000 && f[QN_CSV_NS_RANGE].off >= 0) return QN_STRING;
    return QN_TIMESTAMP;
  }
  return QN_STRING;
}

static const char *qn_csv_unit_name(int64_t unit) {
  return unit == 1000 ? "timestamp[ms]" : unit == 1000000 ? "timestamp[us]" : "timestamp[ns]";
}

static const char *qn_csv_type_reason(const struct qn_csv_infer *in, char *buf, size_t cap) {
  const struct qn_csv_first *f = in->first;
  int64_t unit;
  enum qn_type t = qn_csv_infer_type(in, &unit);
  if (in->values == 0)
    snprintf(buf, cap, "no values: float64 by default");
  else if (t == QN_INT64)
    snprintf(buf, cap, "every value is an int64");
  else if (t == QN_FLOAT64)
    snprintf(buf, cap, "float64: first non-integer at line %lld",
             (long long)f[QN_CSV_NOT_INT].line);
  else if (t == QN_BOOL)
    snprintf(buf, cap, "every value is true or false");
  else if (t == QN_DATE)
    snprintf(buf, cap, "every value is a date");
  else if (t == QN_TIMESTAMP && in->digits == 0)
    snprintf(buf, cap, "every value is a timestamp, none with a fraction: %s",
             qn_csv_unit_name(unit));
  else if (t == QN_TIMESTAMP)
    snprintf(buf, cap, "every value is a timestamp, at most %d fraction digits: %s", in->digits,
             qn_csv_unit_name(unit));
  else if (f[QN_CSV_NOT_TIME].off < 0) /* timestamps beyond nanoseconds' range */
    snprintf(buf, cap,
             "string: timestamps with %d fraction digits, and the one at line %lld does not "
             "fit timestamp[ns] (1677-09-21 to 2262-04-11)",
             in->digits, (long long)f[QN_CSV_NS_RANGE].line);
  else { /* the first value that is not a number, then any type ruled out later */
    static const char *const what[] = {"", "", "boolean", "date", "timestamp"};
    int n = snprintf(buf, cap, "string: first non-number at line %lld",
                     (long long)f[QN_CSV_NOT_FLOAT].line);
    for (int k = QN_CSV_NOT_BOOL; k <= QN_CSV_NOT_TIME && n > 0 && (size_t)n < cap; k++)
      if (f[k].off > f[QN_CSV_NOT_FLOAT].off)
        n += snprintf(buf + n, cap - (size_t)n, ", first non-%s at line %lld", what[k],
                      (long long)f[k].line);
  }
  return buf;
}

static int qn_csv_set_types(struct qn_csv_reader *r, struct qn_error *err) {
  for (int i = 0; i < r->base.ncols; i++) {
    struct qn_reader_column *rc = &r->base.cols[i];
    int64_t unit;
    rc->type = qn_csv_infer_type(&r->inf[i], &unit);
    rc->time_unit = unit;
    rc->type_name =
        qn_strdup(rc->type == QN_TIMESTAMP ? qn_csv_unit_name(unit) : qn_type_name(rc->type));
    if (!rc->type_name)
      return qn_error_set(err, QN_ENOMEM, "out of memory reading %s", r->base.path);
    rc->nullable = r->inf[i].nulls > 0;
    rc->rows = r->rows;
    rc->parallel_read = 1;
  }
  return QN_OK;
}

static int qn_csv_build(struct qn_csv_reader *r, struct qn_error *err) {
  int status = QN_OK;
  struct qn_csv_cursor c = {0};
  struct qn_csv_open_job j;
  memset(&j, 0, sizeof j);
  pthread_mutex_init(&j.lock, NULL);
  pthread_cond_init(&j.cond, NULL);
  int fd;
  QN_CHECK(qn_csv_get_fd(r, &fd, err));
  QN_CHECK(qn_csv_cursor_init(&c, r, fd, 0, r->size, err));
  int64_t line = 1;
  QN_CHECK(qn_csv_header(r, &c, &line, err));
  int ncols = r->base.ncols;
  r->data_off = c.off + (int64_t)c.beg;
  j.r = r;
  j.cur = &c;
  j.line = line;
  j.stop_after = INT64_MAX;
  j.nworkers = QN_MAX(1, r->base.ctx->threads);
  j.winf = malloc((size_t)j.nworkers * (size_t)ncols * sizeof *j.winf);
  r->inf = malloc((size_t)ncols * sizeof *r->inf);
  if (!j.winf || !r->inf) {
    status = qn_error_set(err, QN_ENOMEM, "out of memory reading %s", r->base.path);
    goto done;
  }
  qn_csv_infer_init(j.winf, j.nworkers * ncols);
  qn_csv_infer_init(r->inf, ncols);
  QN_CHECK(qn_pool_run(r->base.ctx, j.nworkers, qn_csv_open_worker, &j, err));
  if (j.failed) {
    status = j.err.code;
    if (err && err->code == QN_OK) *err = j.err;
    goto done;
  }
  for (int w = 0; w < j.nworkers; w++)
    for (int i = 0; i < ncols; i++)
      qn_csv_infer_merge(&r->inf[i], &j.winf[(size_t)w * ncols + i]);
  QN_CHECK(qn_csv_set_types(r, err));
done:
  qn_csv_cursor_free(&c);
  free(j.winf);
  pthread_mutex_destroy(&j.lock);
  pthread_cond_destroy(&j.cond);
  return status;
}

/* ----- read ----- */

/* Byte range and starting line of rows [row0, row0 + n). */
static void qn_csv_range(const struct qn_csv_reader *r, int64_t row0, int64_t n, int64_t *start,
                         int64_t *stop, int64_t *line, int64_t *skip) {
  int64_t k0 = row0 / QN_MORSEL_ROWS;
  int64_t k1 = (row0 + n + QN_MORSEL_ROWS - 1) / QN_MORSEL_ROWS;
  if (k1 > r->nmorsels) k1 = r->nmorsels;
  *start = r->moff[k0];
  *stop = r->moff[k1];
  *line = r->mline[k0];
  *skip = row0 - k0 * QN_MORSEL_ROWS;
}

/* A timestamp column is read in its unit, which the source may have
 * raised above the one inferred to match other files: every value must
 * fit it. */
static int qn_csv_unit_check(struct qn_csv_reader *r, int col, struct qn_error *err) {
  const struct qn_reader_column *rc = &r->base.cols[col];
  const struct qn_csv_infer *in = &r->inf[col];
  if (rc->time_unit < qn_csv_time_unit(in->digits) || rc->time_unit % 1000 != 0)
    return qn_error_set(err, QN_EINTERNAL, "%s: column '%s' has %d fraction digits: not %s",
                        r->base.path, rc->name, in->digits, rc->type_name);
  if (rc->time_unit == 1000000000 && in->first[QN_CSV_NS_RANGE].off >= 0)
    return qn_error_set(err, QN_EFORMAT,
                        "%s: line %lld (byte offset %lld): column '%s': a timestamp outside "
                        "timestamp[ns] (1677-09-21 to 2262-04-11), the unit this column has "
                        "in other files of the table",
                        r->base.path, (long long)in->first[QN_CSV_NS_RANGE].line,
                        (long long)in->first[QN_CSV_NS_RANGE].off, rc->name);
  return QN_OK;
}

/* How column col is read into out: its type in the file, or an int64
 * column as float64 (the source unifies those across files). */
static int qn_csv_dest_init(struct qn_csv_reader *r, int col, struct qn_colbuf *out,
                            struct qn_csv_dest *d, struct qn_error *err) {
  const struct qn_reader_column *rc = &r->base.cols[col];
  enum qn_type want = out->type == QN_TYPE_INVALID ? rc->type : out->type;
  memset(d, 0, sizeof *d);
  if (rc->type == QN_STRING && !out->offsets)
    return qn_error_set(err, QN_EUNSUPPORTED, "%s: column '%s' is a string column, not numeric",
                        r->base.path, rc->name);
  static const enum qn_csv_kind kinds[QN_TYPE_COUNT] = {
      [QN_INT64] = QN_CSV_INT64, [QN_FLOAT64] = QN_CSV_FLOAT64, [QN_BOOL] = QN_CSV_BOOL,
      [QN_DATE] = QN_CSV_DATE,   [QN_TIMESTAMP] = QN_CSV_TIME,  [QN_STRING] = QN_CSV_STRING};
  if (want == rc->type && rc->type > 0 && rc->type < QN_TYPE_COUNT && kinds[rc->type])
    d->kind = kinds[rc->type];
  else if (want == QN_FLOAT64 && rc->type == QN_INT64)
    d->kind = QN_CSV_INT_AS_FLOAT;
  else
    return qn_error_set(err, QN_EINTERNAL, "%s: column '%s' (%s) cannot be read as %s",
                        r->base.path, rc->name, rc->type_name, qn_type_name(want));
  if (rc->nullable && !out->valid)
    return qn_error_set(err, QN_EINTERNAL, "%s: column '%s' has nulls but no validity buffer",
                        r->base.path, rc->name);
  d->data = out->data;
  d->valid = rc->nullable ? out->valid : NULL;
  d->unit = rc->time_unit;
  if (rc->type == QN_TIMESTAMP) QN_RETURN_IF_ERROR(qn_csv_unit_check(r, col, err));
  d->offsets = out->offsets;
  if (d->offsets) d->offsets[0] = 0;
  return QN_OK;
}

/* Hands a parsed column to the caller: no nulls in the range says so with
 * valid = NULL; a string column's bytes become out->data. */
static void qn_csv_dest_finish(struct qn_csv_dest *d, int64_t n, struct qn_colbuf *out) {
  if (d->nulls == 0) out->valid = NULL;
  if (d->kind == QN_CSV_STRING) {
    out->data = d->bytes;
    d->bytes = NULL;
  }
  out->n = n;
}

/* Reads rows [row0, row0 + n) of the columns cols[0..ncols) (distinct)
 * by parsing the range once. On failure no string bytes are left to the
 * caller. */
static int qn_csv_read_distinct(struct qn_csv_reader *r, const int *cols, int ncols,
                                int64_t row0, int64_t n, struct qn_colbuf *out,
                                struct qn_error *err) {
  int status = QN_OK;
  struct qn_csv_dest *dest = calloc((size_t)r->base.ncols + 1, sizeof *dest);
  if (!dest) return qn_error_set(err, QN_ENOMEM, "out of memory reading %s", r->base.path);
  for (int i = 0; i < ncols; i++)
    QN_CHECK(qn_csv_dest_init(r, cols[i], &out[i], &dest[cols[i]], err));
  struct qn_csv_sink sink = {NULL, dest};
  int64_t start, stop, line, skip, off;
  qn_csv_range(r, row0, n, &start, &stop, &line, &skip);
  QN_CHECK(qn_csv_parse_range(r, start, stop, line, skip, n, &sink, &off, err));
  for (int i = 0; i < ncols; i++) { /* every string column hands over a buffer */
    struct qn_csv_dest *d = &dest[cols[i]];
    if (d->kind == QN_CSV_STRING && !d->bytes &&
        !(d->bytes = qn_mem_alloc(r->base.ctx, 1, "CSV string values", err))) {
      status = err && err->code ? err->code : QN_ELIMIT;
      goto done;
    }
  }
  for (int i = 0; i < ncols; i++) qn_csv_dest_finish(&dest[cols[i]], n, &out[i]);
done:
  for (int i = 0; i < ncols; i++) qn_mem_free(r->base.ctx, dest[cols[i]].bytes);
  free(dest);
  return status;
}

static int qn_csv_read_cols(struct qn_reader *base, const int *cols, int ncols, int64_t row0,
                            int64_t n, struct qn_colbuf *out, struct qn_error *err) {
  struct qn_csv_reader *r = (struct qn_csv_reader *)base;
  for (int i = 0; i < ncols; i++)
    if (cols[i] < 0 || cols[i] >= base->ncols || row0 < 0 || n < 0 || row0 + n > r->rows)
      return qn_error_set(err, QN_EINVAL,
                          "%s: read of rows %lld..%lld of column %d is out of range",
                          base->path, (long long)row0, (long long)(row0 + n), cols[i]);
  if (n == 0) {
    for (int i = 0; i < ncols; i++) out[i].valid = NULL;
    return QN_OK;
  }
  /* a column asked for twice gets its own parse (rare: jobs ask once) */
  for (int i = 1; i < ncols; i++)
    for (int j = 0; j < i; j++)
      if (cols[i] == cols[j]) {
        for (int k = 0; k < ncols; k++)
          QN_RETURN_IF_ERROR(qn_csv_read_distinct(r, &cols[k], 1, row0, n, &out[k], err));
        return QN_OK;
      }
  return qn_csv_read_distinct(r, cols, ncols, row0, n, out, err);
}

static int qn_csv_read(struct qn_reader *base, int col, int64_t row0, int64_t n,
                       struct qn_colbuf *out, struct qn_error *err) {
  return qn_csv_read_cols(base, &col, 1, row0, n, out, err);
}

/* ----- release, close, info, open ----- */

static void qn_csv_release(struct qn_reader *base) {
  struct qn_csv_reader *r = (struct qn_csv_reader *)base;
  pthread_mutex_lock(&r->lock);
  if (r->fd >= 0) close(r->fd);
  r->fd = -1;
  pthread_mutex_unlock(&r->lock);
}

static void qn_csv_close(struct qn_reader *base) {
  struct qn_csv_reader *r = (struct qn_csv_reader *)base;
  qn_csv_release(base);
  qn_reader_free_columns(base);
  free(r->moff);
  free(r->mline);
  free(r->inf);
  pthread_mutex_destroy(&r->lock);
  free(base->path);
  free(r);
}

static int qn_csv_info(struct qn_reader *base, void *info, struct qn_error *err) {
  struct qn_csv_reader *r = (struct qn_csv_reader *)base;
  json_t *o = info;
  json_object_set_new(o, "delimiter", json_string(","));
  json_object_set_new(o, "header", json_true());
  json_object_set_new(o, "bytes", json_integer((json_int_t)r->size));
  json_object_set_new(o, "line_ends", json_string(r->crlf_rows ? "crlf" : "lf"));
  json_object_set_new(o, "utf8_bom", json_boolean(r->bom));
  json_object_set_new(o, "index_entries", json_integer((json_int_t)r->nmorsels));
  json_t *cols = json_object_get(o, "columns");
  for (int i = 0; i < base->ncols; i++) {
    json_t *c = json_array_get(cols, (size_t)i);
    if (!c) break;
    char why[256];
    json_object_set_new(c, "nulls", json_integer((json_int_t)r->inf[i].nulls));
    json_object_set_new(c, "inferred",
                        json_string(qn_csv_type_reason(&r->inf[i], why, sizeof why)));
  }
  (void)err;
  return QN_OK;
}

/* A file named like HDF5 or Parquet that lacks the format's magic bytes is
 * far more often a broken file than a CSV one: say so, instead of a CSV
 * error about its first line. */
static int qn_csv_misnamed(const char *path, struct qn_error *err) {
  static const char *const h5[] = {".h5", ".hdf5", ".he5", ".hdf"};
  static const char *const pq[] = {".parquet", ".pq"};
  for (size_t i = 0; i < sizeof h5 / sizeof *h5; i++)
    if (qn_str_has_suffix(path, h5[i]))
      return qn_error_set(err, QN_EFORMAT,
                          "%s: named like an HDF5 file but has no HDF5 signature at byte 0 "
                          "(truncated, corrupt or not HDF5); rename it to read it as CSV",
                          path);
  for (size_t i = 0; i < sizeof pq / sizeof *pq; i++)
    if (qn_str_has_suffix(path, pq[i]))
      return qn_error_set(err, QN_EFORMAT,
                          "%s: named like a Parquet file but does not start with PAR1 "
                          "(truncated, corrupt or not Parquet); rename it to read it as CSV",
                          path);
  return QN_OK;
}

int qn_csv_open(struct qn_context *ctx, const char *path, struct qn_reader **out,
                struct qn_error *err) {
  int status = QN_OK;
  QN_RETURN_IF_ERROR(qn_csv_misnamed(path, err));
  struct qn_csv_reader *r = calloc(1, sizeof *r);
  if (!r) return qn_error_set(err, QN_ENOMEM, "out of memory opening %s", path);
  r->base.ops = &qn_csv_ops;
  r->base.ctx = ctx;
  r->base.path = qn_strdup(path);
  r->fd = -1;
  pthread_mutex_init(&r->lock, NULL);
  if (!r->base.path) {
    status = qn_error_set(err, QN_ENOMEM, "out of memory opening %s", path);
    goto done;
  }
  int fd;
  QN_CHECK(qn_csv_get_fd(r, &fd, err));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    status = qn_error_set(err, QN_EIO, "%s: %s", path, strerror(errno));
    goto done;
  }
  r->size = (int64_t)st.st_size;
  if (r->size == 0) {
    status =
        qn_error_set(err, QN_EFORMAT, "%s: empty file: a CSV file needs a header row", path);
    goto done;
  }
  QN_CHECK(qn_csv_build(r, err));
  qn_csv_release(&r->base);
  *out = &r->base;
  r = NULL;
done:
  if (r) qn_csv_close(&r->base);
  return status;
}

static const struct qn_reader_ops qn_csv_ops = {.format = "csv",
                                                .read = qn_csv_read,
                                                .read_cols = qn_csv_read_cols,
                                                .close = qn_csv_close,
                                                .info = qn_csv_info,
                                                .release = qn_csv_release};

static int qn_csv_open_any(struct qn_context *ctx, const char *path, const char *sub,
                           struct qn_reader **out, struct qn_error *err) {
  (void)sub;
  return qn_csv_open(ctx, path, out, err);
}

/* No probe: CSV takes every file no other format claims. */
const struct qn_format qn_format_csv = {"csv", NULL, 0, qn_csv_open_any};
