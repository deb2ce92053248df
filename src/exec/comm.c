/* comm.c — the processes of one job: launcher detection, the one-process
 * comm, and the operations every job uses on top of the few an MPI build
 * provides (comm_mpi.c).
 *
 * Launchers: MPI is started only when the environment shows a launcher
 * started us (Open MPI's mpirun sets OMPI_COMM_WORLD_SIZE, PMIx launchers
 * such as srun --mpi=pmix set PMIX_RANK): starting MPI alone costs 0.1 to
 * 0.7 s. A launcher we cannot join (MPICH's hydra: PMI_SIZE without PMIx;
 * srun without --mpi=pmix: SLURM_STEP_NUM_TASKS; any launcher in a build
 * without MPI) that started more than one process is an error: each
 * process would otherwise run the whole job alone, N times.
 *
 * A one-process comm does no communication: gather hands the caller's own
 * bytes back, sums and broadcasts are no-ops, agreement returns the status.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "exec/qn_comm.h"
#include "io/qn_source.h"

#define QN_COMM_PIECE ((size_t)8 << 20)

static const struct qn_comm qn_comm_alone = {
    .rank = 0, .size = 1, .node_size = 1, .fail_rank = -1};

static int qn_env_int(const char *name) {
  const char *v = getenv(name);
  return v && *v ? atoi(v) : 0;
}

/* Processes the launcher started (0: no launcher), and whether it is one
 * we can join (Open MPI or PMIx). */
static int qn_comm_launcher(int *joinable) {
  *joinable = 1;
  int n = qn_env_int("OMPI_COMM_WORLD_SIZE");
  if (n > 0) return n;
  if (getenv("PMIX_RANK")) {
    n = qn_env_int("SLURM_STEP_NUM_TASKS");
    return n > 0 ? n : 1; /* PMIx gives the size after init */
  }
  *joinable = 0;
  n = qn_env_int("PMI_SIZE");
  if (n > 0) return n;
  if (getenv("SLURM_STEP_ID")) return qn_env_int("SLURM_STEP_NUM_TASKS");
  return 0;
}

int qn_comm_open(struct qn_comm **out, struct qn_error *err) {
  *out = NULL;
  struct qn_comm *c = malloc(sizeof *c);
  if (!c) return qn_error_set(err, QN_ENOMEM, "out of memory");
  *c = qn_comm_alone;
  int joinable = 0;
  const int n = qn_comm_launcher(&joinable);
  int status = QN_OK;
  if (n > 1 && !joinable) {
    status = qn_error_set(err, QN_EUNSUPPORTED,
                          "started as one of %d processes by a launcher without Open MPI or "
                          "PMIx (another MPI's mpiexec, or srun without PMIx): quern joins "
                          "Open MPI jobs only, and each process would run the whole job alone",
                          n);
  } else if (joinable && n > 0) {
#ifdef QN_HAVE_MPI
    status = qn_comm_mpi_open(c, n, err);
#else
    if (n > 1)
      status = qn_error_set(err, QN_EUNSUPPORTED,
                            "started as one of %d MPI processes, but this quern was built "
                            "without MPI: each process would run the whole job alone",
                            n);
#endif
  }
  if (status == QN_OK) {
    const char *f = getenv("QN_TEST_FAIL_RANK");
    if (f && *f) c->fail_rank = atoi(f);
    *out = c;
  } else {
    free(c);
  }
  return status;
}

void qn_comm_close(struct qn_comm *c) {
  if (!c) return;
  if (c->ops) c->ops->close(c);
  free(c);
}

int qn_comm_rank(const struct qn_comm *c) {
  return c ? c->rank : 0;
}
int qn_comm_size(const struct qn_comm *c) {
  return c ? c->size : 1;
}

struct qn_comm *qn_comm_of(struct qn_context *ctx) {
  /* the one-process comm is never written: no operation of size 1 does */
  return ctx->comm ? ctx->comm : (struct qn_comm *)&qn_comm_alone;
}

void qn_comm_share(const struct qn_comm *c, int64_t n, int64_t *begin, int64_t *end) {
  /* floor(r n / N) without overflow for any n below 2^62 */
  const int64_t q = n / c->size, m = n % c->size;
  *begin = q * c->rank + m * c->rank / c->size;
  *end = q * (c->rank + 1) + m * (c->rank + 1) / c->size;
}

static int qn_comm_fail(struct qn_comm *c, const char *what) {
  (void)c;
  (void)what;
  return QN_EINTERNAL;
}

int qn_comm_agree(struct qn_comm *c, int status, struct qn_error *err) {
  if (!c || c->size == 1) return status;
  int in[2] = {status != QN_OK, c->rank}, out[2];
  if (c->ops->maxloc(c, in, out) != 0) return qn_comm_fail(c, "agree");
  if (!out[0]) return QN_OK;
  struct {
    int code;
    char message[QN_ERROR_SIZE];
  } e;
  memset(&e, 0, sizeof e);
  if (c->rank == out[1]) {
    e.code = status;
    if (err && err->code != QN_OK)
      memcpy(e.message, err->message, sizeof e.message);
    else
      snprintf(e.message, sizeof e.message, "%s", qn_status_str(status));
  }
  if (c->ops->bcast(c, &e, sizeof e, out[1]) != 0) return qn_comm_fail(c, "agree");
  e.message[sizeof e.message - 1] = 0;
  if (err) { /* an error agreed before keeps its "rank R: " */
    int r = -1, n = 0;
    err->code = e.code;
    if (sscanf(e.message, "rank %d: %n", &r, &n) == 1 && n > 0)
      snprintf(err->message, sizeof err->message, "%s", e.message);
    else
      snprintf(err->message, sizeof err->message, "rank %d: %s", out[1], e.message);
  }
  return e.code;
}

int qn_comm_agree_scan(struct qn_comm *c, int status, struct qn_error *err) {
  if (status == QN_OK && c->rank == c->fail_rank)
    status = qn_error_set(err, QN_EIO, "failure injected after the scan (QN_TEST_FAIL_RANK=%d)",
                          c->fail_rank);
  return qn_comm_agree(c, status, err);
}

int qn_comm_bcast(struct qn_comm *c, void *buf, size_t len, int root, struct qn_error *err) {
  if (c->size == 1 || len == 0) return QN_OK;
  if (c->ops->bcast(c, buf, len, root) != 0)
    return qn_error_set(err, QN_EINTERNAL, "MPI broadcast of %zu bytes failed", len);
  return QN_OK;
}

int qn_comm_check_plan(struct qn_comm *c, uint64_t digest, const char *what,
                       struct qn_error *err) {
  if (c->size == 1) return QN_OK;
  uint64_t root = digest;
  int status = qn_comm_bcast(c, &root, sizeof root, 0, err);
  if (status == QN_OK && root != digest)
    status = qn_error_set(err, QN_ESCHEMA,
                          "this rank sees other %s than rank 0 (files, rows or columns "
                          "differ between machines?)",
                          what);
  return qn_comm_agree(c, status, err);
}

int qn_comm_gather(struct qn_comm *c, const void *mine, size_t len, size_t unit, void *rbuf,
                   size_t rcap, qn_comm_take_fn take, void *user, struct qn_error *err) {
  int status = QN_OK;
  if (c->rank == 0) status = len ? take(user, 0, mine, len, err) : QN_OK;
  if (c->size == 1) return status;
  /* the same piece size on every rank: a message is a piece */
  const size_t cap = rcap ? rcap : QN_COMM_PIECE;
  const size_t piece = unit && unit < cap ? cap / unit * unit : unit;
  if (c->rank != 0) {
    uint64_t n = len;
    if (c->ops->send(c, &n, sizeof n, 0) != 0) return qn_comm_fail(c, "gather");
    for (size_t off = 0; off < len; off += piece)
      if (c->ops->send(c, (const char *)mine + off, QN_MIN(piece, len - off), 0) != 0)
        return qn_comm_fail(c, "gather");
    return QN_OK;
  }
  assert(!rbuf || piece <= rcap);
  char *buf = rbuf ? rbuf : malloc(piece ? piece : 1);
  if (!buf && status == QN_OK) status = qn_error_set(err, QN_ENOMEM, "out of memory");
  for (int r = 1; r < c->size; r++) {
    uint64_t n = 0;
    if (c->ops->recv(c, &n, sizeof n, r) != 0) return qn_comm_fail(c, "gather");
    for (size_t off = 0; off < n; off += piece) {
      const size_t k = QN_MIN(piece, (size_t)n - off);
      char drain[4096];
      /* without a buffer, drain in small pieces: the sender must finish */
      for (size_t d = 0; !buf && d < k; d += sizeof drain)
        if (c->ops->recv(c, drain, QN_MIN(sizeof drain, k - d), r) != 0)
          return qn_comm_fail(c, "gather");
      if (buf && c->ops->recv(c, buf, k, r) != 0) return qn_comm_fail(c, "gather");
      if (buf && status == QN_OK) status = take(user, r, buf, k, err);
    }
  }
  if (buf != rbuf) free(buf);
  return status;
}

int qn_comm_sum_i64(struct qn_comm *c, int64_t *v, size_t n, struct qn_error *err) {
  if (c->size == 1 || n == 0) return QN_OK;
  if (c->ops->sum_i64(c, v, n) != 0)
    return qn_error_set(err, QN_EINTERNAL, "MPI sum of %zu counts failed", n);
  return QN_OK;
}

int qn_comm_exchange(struct qn_comm *c, const void *send, const size_t *scount,
                     const size_t *sdispl, void **recv, size_t *rcount, size_t *rdispl,
                     struct qn_error *err) {
  *recv = NULL;
  if (c->size == 1) {
    rdispl[0] = 0;
    rcount[0] = scount[0];
    if (!scount[0]) return QN_OK;
    if (!(*recv = malloc(scount[0]))) return qn_error_set(err, QN_ENOMEM, "out of memory");
    memcpy(*recv, (const char *)send + sdispl[0], scount[0]);
    return QN_OK;
  }
  const int n = c->size;
  uint64_t *s64 = calloc((size_t)n * 2, sizeof *s64);
  int *iv = calloc((size_t)n * 4, sizeof *iv);
  int status = QN_OK;
  if (!s64 || !iv) {
    status = qn_error_set(err, QN_ENOMEM, "out of memory");
    goto done;
  }
  for (int r = 0; r < n; r++) {
    assert(scount[r] <= QN_COMM_ROUND_MAX && sdispl[r] + scount[r] < ((size_t)1 << 31));
    s64[r] = scount[r];
    iv[r] = (int)scount[r];
    iv[n + r] = (int)sdispl[r];
  }
  if (c->ops->alltoall_u64(c, s64, s64 + n) != 0) {
    status = qn_comm_fail(c, "exchange");
    goto done;
  }
  size_t total = 0;
  for (int r = 0; r < n; r++) {
    rcount[r] = (size_t)s64[n + r];
    rdispl[r] = total;
    iv[2 * n + r] = (int)rcount[r];
    iv[3 * n + r] = (int)total;
    total += rcount[r];
  }
  assert(total < ((size_t)1 << 31));
  *recv = malloc(total ? total : 1);
  if (!*recv) {
    /* the others are already in the collective: no agreement can end it
     * any more, so the job ends here (docs/scale-out.md) */
    status = qn_error_set(err, QN_ENOMEM, "out of memory receiving %zu bytes", total);
    c->ops->abort(c, err);
    goto done;
  }
  if (c->ops->alltoallv(c, send, iv, iv + n, *recv, iv + 2 * n, iv + 3 * n) != 0)
    status = qn_comm_fail(c, "exchange");
done:
  free(s64);
  free(iv);
  return status;
}

uint64_t qn_comm_plan_digest(const struct qn_source *src, const int *cols, int ncols,
                             const void *extra, size_t extra_len) {
  XXH3_state_t *h = XXH3_createState();
  if (!h) return 0; /* every rank then reports another plan than rank 0's */
  XXH3_64bits_reset(h);
  for (int f = 0; f < src->nfiles; f++) {
    const char *path = src->files[f]->path;
    int64_t rows = qn_source_file_rows(src, f, cols, ncols);
    XXH3_64bits_update(h, path, strlen(path) + 1);
    XXH3_64bits_update(h, &rows, sizeof rows);
  }
  for (int i = 0; i < ncols; i++) {
    const struct qn_column_info *col = &src->cols[cols[i]];
    int type = col->type;
    XXH3_64bits_update(h, col->name, strlen(col->name) + 1);
    XXH3_64bits_update(h, col->type_name, strlen(col->type_name) + 1);
    XXH3_64bits_update(h, &type, sizeof type);
  }
  if (extra_len) XXH3_64bits_update(h, extra, extra_len);
  uint64_t d = XXH3_64bits_digest(h);
  XXH3_freeState(h);
  return d;
}
