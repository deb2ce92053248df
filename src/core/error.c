/* error.c — status names, the first-error-wins message buffer, and the map
 * from status to the CLI's exit codes. */
#include "qn_core.h"

#include <stdarg.h>
#include <string.h>

const char *qn_version(void) {
  return QN_VERSION_STRING;
}

const char *qn_status_str(int status) {
  switch (status) {
    case QN_OK:
      return "ok";
    case QN_EINVAL:
      return "invalid argument";
    case QN_ENOMEM:
      return "out of memory";
    case QN_ELIMIT:
      return "memory limit";
    case QN_EIO:
      return "I/O error";
    case QN_EFORMAT:
      return "bad format";
    case QN_EUNSUPPORTED:
      return "unsupported";
    case QN_ENOTFOUND:
      return "not found";
    case QN_ESCHEMA:
      return "schema mismatch";
    case QN_ECHILD:
      return "cannot start command";
    case QN_EINTERNAL:
      return "internal error";
    case QN_ECANCELED:
      return "cancelled";
    default:
      return "unknown status";
  }
}

void qn_error_init(struct qn_error *err) {
  if (!err) return;
  err->code = QN_OK;
  err->message[0] = '\0';
}

int qn_error_set(struct qn_error *err, int code, const char *fmt, ...) {
  if (!err || err->code != QN_OK) return code;
  err->code = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof err->message, fmt, ap);
  va_end(ap);
  return code;
}

int qn_status_exit_code(int status) {
  switch (status) {
    case QN_OK:
      return 0;
    case QN_EINVAL:
    case QN_ENOTFOUND:
    case QN_ESCHEMA:
      return 2;
    case QN_ELIMIT:
      return 3;
    default:
      return 1;
  }
}

static const struct {
  const char *name;
  size_t size;
} qn_types[QN_TYPE_COUNT] = {
    [QN_TYPE_INVALID] = {"invalid", 0}, [QN_INT8] = {"int8", 1},
    [QN_INT16] = {"int16", 2},          [QN_INT32] = {"int32", 4},
    [QN_INT64] = {"int64", 8},          [QN_UINT8] = {"uint8", 1},
    [QN_UINT16] = {"uint16", 2},        [QN_UINT32] = {"uint32", 4},
    [QN_UINT64] = {"uint64", 8},        [QN_FLOAT32] = {"float32", 4},
    [QN_FLOAT64] = {"float64", 8},      [QN_BOOL] = {"bool", 1},
    [QN_TIMESTAMP] = {"timestamp", 8},  [QN_DATE] = {"date", 4},
    [QN_STRING] = {"string", 0},
};

const char *qn_type_name(enum qn_type t) {
  return (t > QN_TYPE_INVALID && t < QN_TYPE_COUNT) ? qn_types[t].name : "invalid";
}
size_t qn_type_size(enum qn_type t) {
  return (t > QN_TYPE_INVALID && t < QN_TYPE_COUNT) ? qn_types[t].size : 0;
}
int qn_type_is_float(enum qn_type t) {
  return t == QN_FLOAT32 || t == QN_FLOAT64;
}
int qn_type_is_integer(enum qn_type t) {
  return (t >= QN_INT8 && t <= QN_UINT64) || t == QN_BOOL || t == QN_TIMESTAMP || t == QN_DATE;
}
int qn_type_is_numeric(enum qn_type t) {
  return qn_type_is_float(t) || qn_type_is_integer(t);
}
