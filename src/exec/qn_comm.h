/* qn_comm.h — the processes of one job, as the jobs see them (internal).
 *
 * A comm is this process alone (rank 0 of 1) or the ranks an MPI launcher
 * started (src/exec/comm_mpi.c, compiled only in a build with MPI). Only
 * src/exec includes mpi.h: core, io, kernels and engine know nothing of
 * ranks; a job asks its context for the comm and, with more than one
 * rank, scans its share of the morsels and sends partial results to
 * rank 0 as bytes, which folds them in the order one process uses.
 *
 * Rules every caller keeps (no rank may wait forever):
 * - every rank calls the same collectives in the same order; the main
 *   thread makes every call (MPI_THREAD_FUNNELED), never a scan worker;
 * - each phase that talks starts with qn_comm_agree on the status so far,
 *   so an error on one rank ends the phase on all of them;
 * - qn_comm_gather's root keeps receiving after its own callback failed.
 * No reduction of floating-point state ever goes through MPI: the MPI
 * standard leaves the grouping of a reduction open (docs/scale-out.md).
 */
#ifndef QN_COMM_H
#define QN_COMM_H

#include "core/qn_core.h"

/* struct qn_comm itself is in core/qn_core.h: the context keeps one. */

/* The implementation behind a comm of more than one process. */
struct qn_comm_ops {
  void (*close)(struct qn_comm *c);
  /* ends every rank of the job at once (MPI_Abort), printing err first:
   * only where no agreement is possible any more */
  void (*abort)(struct qn_comm *c, const struct qn_error *err);
  int (*barrier)(struct qn_comm *c);
  /* out[0] = max over ranks of in[0], out[1] = the lowest rank holding it */
  int (*maxloc)(struct qn_comm *c, const int in[2], int out[2]);
  int (*bcast)(struct qn_comm *c, void *buf, size_t len, int root);
  int (*send)(struct qn_comm *c, const void *buf, size_t len, int to);
  int (*recv)(struct qn_comm *c, void *buf, size_t len, int from);
  /* exact int64 sums of n values into rank 0's v (in place) */
  int (*sum_i64)(struct qn_comm *c, int64_t *v, size_t n);
  /* every rank sends scount[r] bytes at send + sdispl[r] to rank r, and
   * receives rcount[r] bytes from rank r at recv + rdispl[r]; counts and
   * displacements < 2^31 */
  int (*alltoallv)(struct qn_comm *c, const void *send, const int *scount, const int *sdispl,
                   void *recv, const int *rcount, const int *rdispl);
  int (*alltoall_u64)(struct qn_comm *c, const uint64_t *send, uint64_t *recv);
};

/* Build with MPI: joins the launcher's job (MPI_Init_thread, FUNNELED)
 * and fills c (rank, size, node_size, ops). Defined in comm_mpi.c. */
int qn_comm_mpi_open(struct qn_comm *c, int launcher_size, struct qn_error *err);

/* The comm of a context: never NULL (one process when none was given). */
struct qn_comm *qn_comm_of(struct qn_context *ctx);

/* Rank r's contiguous share [*begin, *end) of n units: floor(r n / N) to
 * floor((r + 1) n / N), from n and the ranks alone. */
void qn_comm_share(const struct qn_comm *c, int64_t n, int64_t *begin, int64_t *end);

/* Broadcasts len bytes from root. Every rank calls it. */
int qn_comm_bcast(struct qn_comm *c, void *buf, size_t len, int root, struct qn_error *err);

/* The test hook after a scan (a rank listed in QN_TEST_FAIL_RANK fails
 * with QN_EIO), then qn_comm_agree. */
int qn_comm_agree_scan(struct qn_comm *c, int status, struct qn_error *err);

/* Checks that every rank derived the same plan: rank 0's 64-bit digest
 * goes to all, and a rank holding another fails the agreement
 * (QN_ESCHEMA naming it). `what` names the plan in the message. */
int qn_comm_check_plan(struct qn_comm *c, uint64_t digest, const char *what,
                       struct qn_error *err);

/* A digest of what a job's plan depends on: the files in order with their
 * rows, the columns' names and types, and `extra` (edges, options). */
struct qn_source;
uint64_t qn_comm_plan_digest(const struct qn_source *src, const int *cols, int ncols,
                             const void *extra, size_t extra_len);

/* Receives rank r's bytes on rank 0 and hands them to `take` in rank
 * order (rank 0's own first), in pieces of whole `unit`s of at most
 * 8 MiB (or of at most rcap bytes, when rcap > 0: every rank passes the
 * same rcap; the root receives into rbuf when given), so the root holds
 * one piece at a time. Other ranks send `mine`.
 * After `take` fails the root still drains every rank (none is left
 * waiting) and returns the error; an agreement should follow. */
typedef int (*qn_comm_take_fn)(void *user, int rank, const void *buf, size_t len,
                               struct qn_error *err);
int qn_comm_gather(struct qn_comm *c, const void *mine, size_t len, size_t unit, void *rbuf,
                   size_t rcap, qn_comm_take_fn take, void *user, struct qn_error *err);

/* Exact sums of n int64 values over all ranks, into rank 0's v. */
int qn_comm_sum_i64(struct qn_comm *c, int64_t *v, size_t n, struct qn_error *err);

/* One round of an all-to-all exchange: rank r's bytes for rank d are
 * send + sdispl[d], scount[d] bytes (each at most QN_COMM_ROUND_MAX). On
 * return *recv (malloc'd, the caller frees; NULL when nothing came) holds
 * what rank s sent at rdispl[s], rcount[s] bytes. */
#define QN_COMM_ROUND_MAX ((size_t)64 << 20)
int qn_comm_exchange(struct qn_comm *c, const void *send, const size_t *scount,
                     const size_t *sdispl, void **recv, size_t *rcount, size_t *rdispl,
                     struct qn_error *err);

#endif /* QN_COMM_H */
