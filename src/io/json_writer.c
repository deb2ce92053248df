/* json_writer.c — the JSON writer of the output layer: documents built
 * with jansson (stats, bin, group's manifest, info), written with two-space
 * indentation, keys in insertion order and doubles with 17 significant
 * digits, atomically (or to stdout) with the file's checksum.
 *
 * JSON has no infinity or NaN: ±inf become the strings "inf" / "-inf",
 * NaN null. Integers beyond int64 (exact 128-bit sums) travel through
 * jansson as marked strings and are written as bare digits.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "qn_json.h"

/* JSON has no infinity: ±inf become the strings "inf"/"-inf", NaN null. */
json_t *qn_json_double(double v) {
  if (isnan(v)) return json_null();
  if (isinf(v)) return json_string(v > 0 ? "inf" : "-inf");
  return json_real(v);
}

/* Integers beyond int64 are emitted by a marker string that
 * qn_json_dump_file replaces with the bare digits (jansson's integers are
 * 64-bit). */
#define QN_JSON_BIGINT "\x01qn-int:"

json_t *qn_json_int128(__int128 v) {
  if (v >= INT64_MIN && v <= INT64_MAX) return json_integer((json_int_t)v);
  char digits[48];
  int neg = v < 0;
  unsigned __int128 u = neg ? (unsigned __int128)(-(v + 1)) + 1 : (unsigned __int128)v;
  int n = 0;
  char rev[48];
  do {
    rev[n++] = (char)('0' + (int)(u % 10));
    u /= 10;
  } while (u);
  int k = 0;
  if (neg) digits[k++] = '-';
  while (n) digits[k++] = rev[--n];
  digits[k] = 0;
  char buf[64];
  snprintf(buf, sizeof buf, "%s%s", QN_JSON_BIGINT, digits);
  return json_string(buf);
}

/* Writes `root` (stolen) to path atomically, or stdout, replacing big-int
 * markers with digits. */
int qn_json_write(json_t *root, const char *path, struct qn_checksum *sum,
                  struct qn_error *err) {
  int status = QN_OK;
  char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
  json_decref(root);
  if (!text) return qn_error_set(err, QN_ENOMEM, "out of memory writing JSON");
  /* "\u0001qn-int:123" → 123 */
  const char *marker = "\"\\u0001qn-int:";
  size_t ml = strlen(marker);
  char *w = text;
  for (const char *p = text; *p;) {
    if (strncmp(p, marker, ml) == 0) {
      p += ml;
      while (*p && *p != '"') *w++ = *p++;
      if (*p == '"') p++;
    } else {
      *w++ = *p++;
    }
  }
  *w = 0;
  size_t len = strlen(text);
  if (!path || strcmp(path, "-") == 0) {
    if (fwrite(text, 1, len, stdout) != len || fputc('\n', stdout) == EOF ||
        fflush(stdout) != 0)
      status = qn_error_set(err, QN_EIO, "cannot write JSON to stdout");
  } else {
    struct qn_outfile *f = NULL;
    status = qn_outfile_open(path, &f, err);
    if (status == QN_OK) status = qn_outfile_write(f, text, len, err);
    if (status == QN_OK) status = qn_outfile_write(f, "\n", 1, err);
    if (status == QN_OK)
      status = qn_outfile_commit_sum(f, sum, err);
    else
      qn_outfile_abort(f);
  }
  free(text);
  return status;
}
