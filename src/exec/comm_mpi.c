/* comm_mpi.c — a comm of the ranks an MPI launcher started (Open MPI).
 *
 * Compiled only in a build with MPI (CMake option QN_MPI). MPI is started
 * with MPI_THREAD_FUNNELED: the thread that opened the comm makes every
 * call, between the phases of a job, never during a scan. Errors in MPI
 * itself end the job (MPI_ERRORS_ARE_FATAL, the default): every rank is
 * killed by the launcher and none is left waiting.
 *
 * Only byte moves, integer sums and an integer max-location are used; no
 * reduction of floating-point state goes through MPI (qn_comm.h).
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "exec/qn_comm.h"

/* MPI counts are ints: larger transfers go in pieces of this many bytes. */
#define QN_MPI_CHUNK ((size_t)1 << 30)

static MPI_Comm qn_mpi_world(const struct qn_comm *c) {
  (void)c;
  return MPI_COMM_WORLD;
}

static void qn_mpi_close(struct qn_comm *c) {
  int fin = 0;
  MPI_Finalized(&fin);
  if (c->world_owned && !fin) MPI_Finalize();
}

static void qn_mpi_abort(struct qn_comm *c, const struct qn_error *err) {
  fprintf(stderr, "quern: error: rank %d: %s\n", c->rank,
          err && err->code ? err->message : "internal error");
  MPI_Abort(qn_mpi_world(c), 1);
}

static int qn_mpi_barrier(struct qn_comm *c) {
  return MPI_Barrier(qn_mpi_world(c)) == MPI_SUCCESS ? 0 : -1;
}

static int qn_mpi_maxloc(struct qn_comm *c, const int in[2], int out[2]) {
  return MPI_Allreduce(in, out, 1, MPI_2INT, MPI_MAXLOC, qn_mpi_world(c)) == MPI_SUCCESS ? 0
                                                                                         : -1;
}

static int qn_mpi_bcast(struct qn_comm *c, void *buf, size_t len, int root) {
  for (size_t off = 0; off < len; off += QN_MPI_CHUNK)
    if (MPI_Bcast((char *)buf + off, (int)QN_MIN(QN_MPI_CHUNK, len - off), MPI_BYTE, root,
                  qn_mpi_world(c)) != MPI_SUCCESS)
      return -1;
  return 0;
}

static int qn_mpi_send(struct qn_comm *c, const void *buf, size_t len, int to) {
  for (size_t off = 0; off < len; off += QN_MPI_CHUNK)
    if (MPI_Send((const char *)buf + off, (int)QN_MIN(QN_MPI_CHUNK, len - off), MPI_BYTE, to, 0,
                 qn_mpi_world(c)) != MPI_SUCCESS)
      return -1;
  return 0;
}

static int qn_mpi_recv(struct qn_comm *c, void *buf, size_t len, int from) {
  for (size_t off = 0; off < len; off += QN_MPI_CHUNK)
    if (MPI_Recv((char *)buf + off, (int)QN_MIN(QN_MPI_CHUNK, len - off), MPI_BYTE, from, 0,
                 qn_mpi_world(c), MPI_STATUS_IGNORE) != MPI_SUCCESS)
      return -1;
  return 0;
}

static int qn_mpi_sum_i64(struct qn_comm *c, int64_t *v, size_t n) {
  const size_t chunk = QN_MPI_CHUNK / sizeof *v;
  for (size_t off = 0; off < n; off += chunk) {
    const int k = (int)QN_MIN(chunk, n - off);
    int rc =
        c->rank == 0
            ? MPI_Reduce(MPI_IN_PLACE, v + off, k, MPI_INT64_T, MPI_SUM, 0, qn_mpi_world(c))
            : MPI_Reduce(v + off, NULL, k, MPI_INT64_T, MPI_SUM, 0, qn_mpi_world(c));
    if (rc != MPI_SUCCESS) return -1;
  }
  return 0;
}

static int qn_mpi_alltoallv(struct qn_comm *c, const void *send, const int *scount,
                            const int *sdispl, void *recv, const int *rcount,
                            const int *rdispl) {
  return MPI_Alltoallv(send, scount, sdispl, MPI_BYTE, recv, rcount, rdispl, MPI_BYTE,
                       qn_mpi_world(c)) == MPI_SUCCESS
             ? 0
             : -1;
}

static int qn_mpi_alltoall_u64(struct qn_comm *c, const uint64_t *send, uint64_t *recv) {
  return MPI_Alltoall(send, 1, MPI_UINT64_T, recv, 1, MPI_UINT64_T, qn_mpi_world(c)) ==
                 MPI_SUCCESS
             ? 0
             : -1;
}

static const struct qn_comm_ops qn_mpi_ops = {
    .close = qn_mpi_close,
    .abort = qn_mpi_abort,
    .barrier = qn_mpi_barrier,
    .maxloc = qn_mpi_maxloc,
    .bcast = qn_mpi_bcast,
    .send = qn_mpi_send,
    .recv = qn_mpi_recv,
    .sum_i64 = qn_mpi_sum_i64,
    .alltoallv = qn_mpi_alltoallv,
    .alltoall_u64 = qn_mpi_alltoall_u64,
};

int qn_comm_mpi_open(struct qn_comm *c, int launcher_size, struct qn_error *err) {
  int inited = 0, provided = 0;
  MPI_Initialized(&inited);
  if (!inited) {
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
      return qn_error_set(err, QN_EIO, "MPI could not be started");
    c->world_owned = 1;
  } else {
    MPI_Query_thread(&provided);
  }
  c->ops = &qn_mpi_ops;
  MPI_Comm_rank(MPI_COMM_WORLD, &c->rank);
  MPI_Comm_size(MPI_COMM_WORLD, &c->size);
  MPI_Comm node;
  c->node_size = 1;
  if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) ==
      MPI_SUCCESS) {
    MPI_Comm_size(node, &c->node_size);
    MPI_Comm_free(&node);
  }
  int status = QN_OK;
  if (provided < MPI_THREAD_FUNNELED)
    status = qn_error_set(err, QN_EUNSUPPORTED,
                          "this MPI library gives no thread support (level %d); quern's "
                          "worker threads need MPI_THREAD_FUNNELED",
                          provided);
  else if (launcher_size > 1 && c->size == 1)
    status = qn_error_set(err, QN_EUNSUPPORTED,
                          "started as one of %d processes, but MPI sees one: quern is built "
                          "with Open MPI and was started by another MPI's launcher",
                          launcher_size);
  if (status != QN_OK) {
    qn_mpi_close(c);
    c->ops = NULL;
    c->rank = 0;
    c->size = c->node_size = 1;
  }
  return status;
}
