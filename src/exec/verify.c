/* verify.c — `quern verify`: is a group output what its manifest says?
 *
 * For every file the manifest lists: present, a plain file inside the
 * directory, its size and XXH3-128 as recorded; then its own framing: a
 * Parquet file's magic bytes and footer parse (every offset checked
 * against the size), its rows (output rows = the manifest's groups) and
 * its first list column's values (= the manifest's rows). Files in the
 * directory the manifest does not list are problems too. Then the sums:
 * files add up to their split, splits to the whole.
 *
 * Output: one line per problem (`FILE: what`), then a summary line; with
 * --json one object. Reads the manifest with jansson; files are hashed in
 * 1 MiB pieces (no file is held in memory).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec/qn_exec.h"
#include "io/parquet/qn_pq.h"

struct qn_verify {
  struct qn_context *ctx; /* for the footer reader's buffers */
  FILE *out;
  int json;
  json_t *problems;
  int64_t nproblems;
};

static void qn_verify_problem(struct qn_verify *v, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void qn_verify_problem(struct qn_verify *v, const char *file, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  v->nproblems++;
  if (v->json) {
    json_t *p = json_object();
    json_object_set_new(p, "file", json_string(file));
    json_object_set_new(p, "problem", json_string(msg));
    json_array_append_new(v->problems, p);
  } else {
    fprintf(v->out, "%s: %s\n", file, msg);
  }
}

/* The Parquet framing of one file: footer, rows, list values. */
static void qn_verify_parquet(struct qn_verify *v, const char *path, const char *name,
                              int64_t groups, int64_t rows) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return; /* reported by the size check */
  struct qn_pq_meta *m = NULL;
  struct qn_error e;
  qn_error_init(&e);
  if (qn_pq_meta_read(v->ctx, fd, path, &m, &e) != QN_OK) {
    qn_verify_problem(v, name, "not a readable Parquet file (%s)", e.message);
    close(fd);
    return;
  }
  close(fd);
  if (m->num_rows != groups)
    qn_verify_problem(v, name, "holds %lld rows (keys), the manifest says %lld",
                      (long long)m->num_rows, (long long)groups);
  int64_t rg_rows = 0;
  for (int g = 0; g < m->nrowgroups; g++) rg_rows += m->rowgroups[g].num_rows;
  if (rg_rows != m->num_rows)
    qn_verify_problem(v, name, "its row groups hold %lld rows, its footer says %lld",
                      (long long)rg_rows, (long long)m->num_rows);
  for (int l = 0; l < m->nleaves; l++) { /* the first list column: one value per input row */
    if (m->leaves[l].max_rep == 0) continue;
    int64_t values = 0;
    for (int g = 0; g < m->nrowgroups; g++) values += m->rowgroups[g].chunks[l].num_values;
    if (values != rows)
      qn_verify_problem(v, name,
                        "list column '%s' holds %lld values, the manifest says %lld rows",
                        m->leaves[l].name, (long long)values, (long long)rows);
    break;
  }
  qn_pq_meta_free(m);
}

static int64_t qn_verify_int(json_t *o, const char *key, int *ok) {
  json_t *x = json_object_get(o, key);
  if (!json_is_integer(x)) {
    *ok = 0;
    return 0;
  }
  return (int64_t)json_integer_value(x);
}

/* One listed file: where it is, its size and sum, its framing. */
static void qn_verify_file(struct qn_verify *v, const char *dir, json_t *f, int64_t *groups,
                           int64_t *rows, json_t *listed) {
  int ok = 1;
  const char *name = json_string_value(json_object_get(f, "path"));
  const char *hex = json_string_value(json_object_get(f, "xxh3_128"));
  int64_t g = qn_verify_int(f, "groups", &ok), r = qn_verify_int(f, "rows", &ok),
          bytes = qn_verify_int(f, "bytes", &ok);
  if (!name || !hex || !ok) {
    qn_verify_problem(v, name ? name : "manifest.json",
                      "a file entry lacks path, groups, rows, bytes or xxh3_128");
    return;
  }
  *groups += g;
  *rows += r;
  json_array_append_new(listed, json_string(name));
  if (strchr(name, '/') || !strcmp(name, "..") || !strcmp(name, ".")) {
    qn_verify_problem(v, name, "is not a file name inside the directory");
    return;
  }
  char path[4400];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
    qn_verify_problem(v, name, "is missing");
    return;
  }
  if (st.st_size != bytes) {
    qn_verify_problem(v, name, "has %lld bytes, the manifest says %lld (truncated or altered)",
                      (long long)st.st_size, (long long)bytes);
    return;
  }
  struct qn_checksum sum;
  struct qn_error e;
  qn_error_init(&e);
  if (qn_checksum_file(path, &sum, &e) != QN_OK) {
    qn_verify_problem(v, name, "cannot be read: %s", e.message);
    return;
  }
  char got[33];
  qn_checksum_hex(&sum, got);
  if (strcmp(got, hex) != 0)
    qn_verify_problem(v, name, "XXH3-128 is %s, the manifest says %s (altered)", got, hex);
  if (strstr(name, ".parquet")) qn_verify_parquet(v, path, name, g, r);
}

int qn_verify_run(const char *path, int as_json, FILE *out, int64_t *problems,
                  struct qn_error *err) {
  char dir[4096], mpath[4200];
  struct stat st;
  if (!path || stat(path, &st) != 0)
    return qn_error_set(err, QN_ENOTFOUND, "%s: %s", path ? path : "(none)",
                        path ? strerror(errno) : "no path");
  if (S_ISDIR(st.st_mode)) {
    snprintf(dir, sizeof dir, "%s", path);
    snprintf(mpath, sizeof mpath, "%s/manifest.json", path);
  } else {
    snprintf(mpath, sizeof mpath, "%s", path);
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
      *slash = 0;
    else
      snprintf(dir, sizeof dir, ".");
  }
  json_error_t je;
  json_t *m = json_load_file(mpath, 0, &je);
  if (!m) {
    if (access(mpath, F_OK) != 0)
      return qn_error_set(err, QN_ENOTFOUND, "%s: no manifest.json (not a quern group output?)",
                          path);
    return qn_error_set(err, QN_EFORMAT, "%s: line %d: %s", mpath, je.line, je.text);
  }
  struct qn_verify v = {NULL, out, as_json, json_array(), 0};
  struct qn_context_options co;
  qn_context_options_init(&co);
  co.threads = 1;
  co.progress = 0;
  if (qn_context_new(&co, &v.ctx, err) != QN_OK) {
    json_decref(v.problems);
    json_decref(m);
    return err ? err->code : QN_ENOMEM;
  }
  json_t *listed = json_array();
  int ok = 1;
  int64_t groups = qn_verify_int(m, "groups", &ok), rows = qn_verify_int(m, "rows", &ok),
          nulls = qn_verify_int(m, "null_key_rows", &ok);
  json_t *splits = json_object_get(m, "splits");
  if (!ok || !json_is_array(splits))
    qn_verify_problem(&v, "manifest.json", "lacks groups, rows, null_key_rows or splits");
  int64_t sg = 0, sr = 0, nfiles = 0;
  size_t i;
  json_t *s;
  json_array_foreach(splits, i, s) {
    int sok = 1;
    const char *sname = json_string_value(json_object_get(s, "name"));
    int64_t g = qn_verify_int(s, "groups", &sok), r = qn_verify_int(s, "rows", &sok);
    json_t *files = json_object_get(s, "files");
    if (!sname || !sok || !json_is_array(files)) {
      qn_verify_problem(&v, "manifest.json", "split %zu lacks name, groups, rows or files", i);
      continue;
    }
    int64_t fg = 0, fr = 0;
    size_t k;
    json_t *f;
    json_array_foreach(files, k, f) {
      qn_verify_file(&v, dir, f, &fg, &fr, listed);
      nfiles++;
    }
    if (fg != g || fr != r)
      qn_verify_problem(
          &v, "manifest.json",
          "split '%s': its files hold %lld keys and %lld rows, it says %lld and %lld", sname,
          (long long)fg, (long long)fr, (long long)g, (long long)r);
    sg += g;
    sr += r;
  }
  if (ok && (sg != groups || sr + nulls != rows))
    qn_verify_problem(&v, "manifest.json",
                      "splits hold %lld keys and %lld rows (+ %lld null keys), the totals say "
                      "%lld and %lld",
                      (long long)sg, (long long)sr, (long long)nulls, (long long)groups,
                      (long long)rows);
  /* files present but not listed */
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.' || !strcmp(e->d_name, "manifest.json")) continue;
    int found = 0;
    size_t k;
    json_t *x;
    json_array_foreach(listed, k, x) found |= !strcmp(json_string_value(x), e->d_name);
    if (!found) qn_verify_problem(&v, e->d_name, "is in the directory but not in the manifest");
  }
  if (d) closedir(d);
  if (as_json) {
    json_t *o = json_object();
    json_object_set_new(o, "manifest", json_string(mpath));
    json_object_set_new(o, "files", json_integer(nfiles));
    json_object_set_new(o, "ok", json_boolean(v.nproblems == 0));
    json_object_set_new(o, "problems", v.problems);
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text) fprintf(out, "%s\n", text);
    free(text);
    json_decref(o);
  } else {
    json_decref(v.problems);
    fprintf(out, "%s: %lld file%s checked, %lld problem%s%s\n", dir, (long long)nfiles,
            nfiles == 1 ? "" : "s", (long long)v.nproblems, v.nproblems == 1 ? "" : "s",
            v.nproblems ? "" : ": all holds");
  }
  json_decref(listed);
  json_decref(m);
  qn_context_free(v.ctx);
  *problems = v.nproblems;
  return QN_OK;
}
