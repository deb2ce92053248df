/* info.c — `quern info`: columns, types, rows and the layout that matters
 * for speed, from the reader of the file's format, as JSON or text. */
#include <jansson.h>
#include <string.h>

#include "exec/qn_exec.h"
#include "io/qn_source.h"

static json_t *qn_info_json(struct qn_reader *r) {
  json_t *o = json_object();
  json_object_set_new(o, "path", json_string(r->path));
  json_object_set_new(o, "format", json_string(r->ops->format));
  json_t *cols = json_array();
  for (int i = 0; i < r->ncols; i++) {
    const struct qn_reader_column *c = &r->cols[i];
    json_t *co = json_object();
    json_object_set_new(co, "name", json_string(c->name));
    json_object_set_new(co, "type", json_string(c->type_name));
    json_object_set_new(co, "rows", json_integer(c->rows));
    json_object_set_new(co, "nullable", json_boolean(c->nullable));
    json_array_append_new(cols, co);
  }
  json_object_set_new(o, "columns", cols);
  return o;
}

/* The layout keys of a column object as one short phrase, HDF5 style:
 * "chunked 1048576, gzip, 80.0 MiB, fast path". Returns 1 if any. */
static int qn_info_layout(json_t *c, char *buf, size_t cap) {
  json_t *layout = json_object_get(c, "layout");
  if (!json_is_string(layout)) return 0;
  size_t u = (size_t)snprintf(buf, cap, "%s", json_string_value(layout));
  json_t *chunk = json_object_get(c, "chunk");
  size_t k;
  json_t *d;
  json_array_foreach(chunk, k, d) {
    if (u < cap)
      u += (size_t)snprintf(buf + u, cap - u, "%s%lld", k ? "x" : " ",
                            (long long)json_integer_value(d));
  }
  const char *f = json_string_value(json_object_get(c, "filters"));
  if (u < cap) u += (size_t)snprintf(buf + u, cap - u, ", %s", f && *f ? f : "no filters");
  char sz[32];
  json_t *bytes = json_object_get(c, "storage_bytes");
  if (json_is_integer(bytes) && u < cap)
    u += (size_t)snprintf(buf + u, cap - u, ", %s stored",
                          qn_format_size((int64_t)json_integer_value(bytes), sz, sizeof sz));
  if (json_is_true(json_object_get(c, "fast_path")) && u < cap)
    snprintf(buf + u, cap - u, ", fast path");
  return 1;
}

static int qn_info_known(const char *key) {
  static const char *known[] = {"name",  "type",    "rows",          "nullable",  "layout",
                                "chunk", "filters", "storage_bytes", "fast_path", "dataset"};
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (!strcmp(key, known[i])) return 1;
  return 0;
}

/* Text: a header line, one line per column (with its layout phrase and any
 * other per-column keys), then the other keys of the object. */
static void qn_info_text(json_t *o, FILE *out) {
  json_t *cols = json_object_get(o, "columns");
  fprintf(out, "%s: %s, %zu column(s)\n", json_string_value(json_object_get(o, "path")),
          json_string_value(json_object_get(o, "format")), json_array_size(cols));
  size_t i;
  json_t *c;
  json_array_foreach(cols, i, c) {
    fprintf(out, "  %-20s %-10s %12lld rows", json_string_value(json_object_get(c, "name")),
            json_string_value(json_object_get(c, "type")),
            (long long)json_integer_value(json_object_get(c, "rows")));
    if (json_is_true(json_object_get(c, "nullable"))) fputs("  nullable", out);
    char lay[256];
    if (qn_info_layout(c, lay, sizeof lay)) fprintf(out, "  %s", lay);
    const char *key;
    json_t *v;
    json_object_foreach(c, key, v) {
      if (qn_info_known(key)) continue;
      char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
      fprintf(out, "  %s=%s", key, t ? t : "?");
      free(t);
    }
    fputc('\n', out);
  }
  const char *key;
  json_t *v;
  json_object_foreach(o, key, v) {
    if (!strcmp(key, "path") || !strcmp(key, "format") || !strcmp(key, "columns")) continue;
    char *t = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
    fprintf(out, "%s: %s\n", key, t ? t : "?");
    free(t);
  }
}

int qn_info_print(struct qn_context *ctx, const char *path, int as_json, FILE *out,
                  struct qn_error *err) {
  struct qn_reader *r = NULL;
  char *p = qn_strdup(path);
  if (!p) return qn_error_set(err, QN_ENOMEM, "out of memory");
  const char *sub = NULL;
  char *colon = strstr(p, ":/");
  FILE *probe = fopen(p, "rb");
  if (probe)
    fclose(probe);
  else if (colon) {
    *colon = 0;
    sub = colon + 1;
  }
  int status = qn_reader_open(ctx, p, sub, &r, err);
  json_t *o = NULL;
  if (status == QN_OK) {
    o = qn_info_json(r);
    if (r->ops->info) status = r->ops->info(r, o, err);
  }
  if (status == QN_OK) {
    if (as_json) {
      json_dumpf(o, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
      fputc('\n', out);
    } else {
      qn_info_text(o, out);
    }
    if (fflush(out) != 0) status = qn_error_set(err, QN_EIO, "cannot write the description");
  }
  json_decref(o);
  qn_reader_close(r);
  free(p);
  return status;
}
