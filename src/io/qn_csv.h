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

/* 1 when [s, s+len) is well-formed UTF-8 (no overlongs, no surrogates). */
int qn_csv_utf8_valid(const unsigned char *s, size_t len);

struct qn_context;
struct qn_reader;
struct qn_error;
/* Opens a CSV file as a reader. */
int qn_csv_open(struct qn_context *ctx, const char *path, struct qn_reader **out,
                struct qn_error *err);

#endif /* QN_CSV_H */
