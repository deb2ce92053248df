/* qn_csv.h — internals of the CSV reader (csv.c) that its unit tests use.
 *
 * Not API. The source opens CSV files through the format table (formats.c).
 */
#ifndef QN_CSV_H
#define QN_CSV_H

#include <stddef.h>
#include <stdint.h>

/* What a field's text can be read as (bit set). A field is trimmed of
 * spaces and tabs first; an empty result is a null, not a number. */
#define QN_CSV_IS_INT 1   /* [+-]digits that fit int64 */
#define QN_CSV_IS_FLOAT 2 /* decimal float, or nan / inf / infinity (any case) */
int qn_csv_classify(const char *s, size_t len);

/* Parses the field text [s, s+len) as strtoll would (base 10, the whole
 * field, spaces and tabs trimmed). Returns 0, or -1 when it is not an
 * integer or does not fit int64. */
int qn_csv_parse_int64(const char *s, size_t len, int64_t *out);

/* Parses [s, s+len) as strtod would in the C locale, correctly rounded,
 * accepting only decimal syntax and nan / inf / infinity (any case, with a
 * sign); hex floats, "nan(...)", thousands separators are refused (-1).
 * Most values take an exact fast path; the rest go through strtod_l. */
int qn_csv_parse_double(const char *s, size_t len, double *out);

/* Parses [s, s+len) (spaces and tabs trimmed) as a date or a timestamp
 * of the proleptic Gregorian calendar in UTC, years 0000 to 9999:
 *   YYYY-MM-DD                          -> QN_CSV_IS_DATE
 *   YYYY-MM-DD HH:MM:SS[.f][Z]          -> QN_CSV_IS_TIMESTAMP
 * with 'T' (or 't') allowed for the space, f 1 to 9 digits, 'Z' (or 'z')
 * optional. *secs gets the seconds since 1970-01-01 00:00:00 (negative
 * before; a date's midnight), *nanos the fraction in nanoseconds and
 * *digits its digits. Returns 0 for anything else: a day the month lacks
 * (2025-02-30), hour 24, second 60, a UTC offset, ten fraction digits.
 * Exact integer arithmetic: no locale, no time zone, no timegm. */
#define QN_CSV_IS_DATE 4
#define QN_CSV_IS_TIMESTAMP 8
int qn_csv_parse_time(const char *s, size_t len, int64_t *secs, int32_t *nanos, int *digits);

/* 1 for true, 0 for false (any case, spaces and tabs trimmed), else -1. */
int qn_csv_parse_bool(const char *s, size_t len);

/* Units per second of a timestamp column whose values have at most
 * `digits` fraction digits: 1-3 -> ms (1000), 4-6 -> us, 7-9 -> ns, none
 * -> us. What the CSV writer writes (3, 6 or 9 digits) reads back in its
 * unit. */
int64_t qn_csv_time_unit(int digits);

/* 1 when [s, s+len) is well-formed UTF-8 (no overlongs, no surrogates). */
int qn_csv_utf8_valid(const unsigned char *s, size_t len);

struct qn_context;
struct qn_reader;
struct qn_error;
/* Opens a CSV file as a reader. */
int qn_csv_open(struct qn_context *ctx, const char *path, struct qn_reader **out,
                struct qn_error *err);

#endif /* QN_CSV_H */
