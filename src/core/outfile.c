/* outfile.c — atomic output files: write to ".NAME.tmp-XXXXXX" in the same
 * directory, fsync-free rename into place on commit. A failed or aborted
 * run leaves no partial file and never touches an existing one. */
#include "qn_core.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct qn_outfile {
  char *path;
  char *temp;
  FILE *stream;
};

int qn_outfile_open(const char *path, struct qn_outfile **out, struct qn_error *err) {
  struct qn_outfile *f = calloc(1, sizeof *f);
  size_t n = strlen(path);
  char *tmp = malloc(n + 32);
  if (!f || !tmp) {
    free(f);
    free(tmp);
    return qn_error_set(err, QN_ENOMEM, "out of memory opening %s", path);
  }
  const char *slash = strrchr(path, '/');
  size_t dirlen = slash ? (size_t)(slash - path + 1) : 0;
  struct stat st;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
    free(f);
    free(tmp);
    return qn_error_set(err, QN_EIO, "cannot write %s: it is a directory", path);
  }
  snprintf(tmp, n + 32, "%.*s.%s.tmp-XXXXXX", (int)dirlen, path, path + dirlen);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    int e = errno;
    free(f);
    free(tmp);
    return qn_error_set(err, QN_EIO, "cannot create output %s: %s", path, strerror(e));
  }
  fchmod(fd, 0644);
  f->stream = fdopen(fd, "wb");
  f->path = qn_strdup(path);
  f->temp = tmp;
  if (!f->stream || !f->path) {
    if (f->stream)
      fclose(f->stream);
    else
      close(fd);
    unlink(tmp);
    free(f->path);
    free(tmp);
    free(f);
    return qn_error_set(err, QN_ENOMEM, "out of memory opening %s", path);
  }
  *out = f;
  return QN_OK;
}

FILE *qn_outfile_stream(struct qn_outfile *f) {
  return f->stream;
}
const char *qn_outfile_temp_path(const struct qn_outfile *f) {
  return f->temp;
}

static void qn_outfile_free(struct qn_outfile *f) {
  free(f->path);
  free(f->temp);
  free(f);
}

int qn_outfile_close_stream(struct qn_outfile *f, struct qn_error *err) {
  if (!f->stream) return QN_OK;
  int bad = ferror(f->stream);
  int rc = fclose(f->stream);
  f->stream = NULL;
  if (rc != 0 || bad) {
    int e = errno;
    return qn_error_set(err, QN_EIO, "cannot write %s: %s", f->path,
                        bad ? "write error" : strerror(e));
  }
  return QN_OK;
}

int qn_outfile_commit(struct qn_outfile *f, struct qn_error *err) {
  int status = qn_outfile_close_stream(f, err);
  if (status == QN_OK && rename(f->temp, f->path) != 0) {
    int e = errno;
    status =
        qn_error_set(err, QN_EIO, "cannot rename %s to %s: %s", f->temp, f->path, strerror(e));
  }
  if (status != QN_OK) unlink(f->temp);
  qn_outfile_free(f);
  return status;
}

void qn_outfile_abort(struct qn_outfile *f) {
  if (!f) return;
  if (f->stream) fclose(f->stream);
  unlink(f->temp);
  qn_outfile_free(f);
}
