/* qn_json.h — the JSON writer (json_writer.c): JSON documents quern
 * writes, built with jansson. */
#ifndef QN_JSON_H
#define QN_JSON_H

#include <jansson.h>

#include "core/qn_core.h"

/* A double as JSON: NaN -> null, ±inf -> "inf" / "-inf", else a real. */
json_t *qn_json_double(double v);
/* An exact integer of up to 128 bits (digits beyond int64 are kept). */
json_t *qn_json_int128(__int128 v);
/* Writes root (reference stolen) to `path` atomically, or to stdout for
 * NULL or "-"; sum (may be NULL) receives the file's checksum. */
int qn_json_write(json_t *root, const char *path, struct qn_checksum *sum,
                  struct qn_error *err);
/* qn_json_write without a checksum. */
static inline int qn_json_dump_file(json_t *root, const char *path, struct qn_error *err) {
  return qn_json_write(root, path, NULL, err);
}

#endif /* QN_JSON_H */
