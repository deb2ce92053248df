/* test_comm.c — the processes of one job (src/exec/comm.c) without a
 * launcher: shares cover the morsels exactly once, in rank order, for any
 * count of ranks; a one-process comm hands gathers and exchanges back
 * unchanged; launchers quern cannot join are refused. (Several ranks are
 * tested under mpirun: tests/cli/mpi_*.sh.) */
#include <stdlib.h>
#include <string.h>

#include "exec/qn_comm.h"
#include "harness.h"

QN_TEST(shares_cover_every_morsel_once_in_rank_order) {
  const int64_t ns[] = {0, 1, 2, 7, 16, 65537, ((int64_t)1 << 40) + 3};
  for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
    for (int size = 1; size <= 17; size++) {
      int64_t next = 0, most = 0, least = INT64_MAX;
      for (int rank = 0; rank < size; rank++) {
        struct qn_comm c = {.rank = rank, .size = size, .node_size = 1, .fail_rank = -1};
        int64_t b, e;
        qn_comm_share(&c, ns[i], &b, &e);
        CHECK_EQ_U64((uint64_t)b, (uint64_t)next); /* contiguous, ascending */
        CHECK(e >= b);
        most = QN_MAX(most, e - b);
        least = QN_MIN(least, e - b);
        next = e;
      }
      CHECK_EQ_U64((uint64_t)next, (uint64_t)ns[i]);
      CHECK(most - least <= 1); /* balanced */
    }
}

static int take_copy(void *user, int rank, const void *buf, size_t len, struct qn_error *err) {
  char *dst = user; /* rank 0's bytes go in as they are; another rank's would be marked */
  if (rank != 0) strcat(dst, "?");
  memcpy(dst + strlen(dst), buf, len);
  return QN_OK;
}

QN_TEST(one_process_comm_gives_its_own_bytes_back) {
  struct qn_comm *c = NULL;
  struct qn_error err;
  qn_error_init(&err);
  CHECK_OK(qn_comm_open(&c, &err)); /* no launcher here: MPI is not started */
  CHECK_EQ_INT(qn_comm_size(c), 1);
  CHECK_EQ_INT(qn_comm_rank(c), 0);
  char got[64] = "";
  CHECK_OK(qn_comm_gather(c, "abcdef", 6, 2, NULL, 0, take_copy, got, &err));
  CHECK_EQ_STR(got, "abcdef");
  size_t sc = 3, sd = 1, rc = 0, rd = 9;
  void *recv = NULL;
  CHECK_OK(qn_comm_exchange(c, "xyzw", &sc, &sd, &recv, &rc, &rd, &err));
  CHECK(rc == 3 && rd == 0 && recv && memcmp(recv, "yzw", 3) == 0);
  free(recv);
  int64_t v[2] = {5, -7};
  CHECK_OK(qn_comm_sum_i64(c, v, 2, &err));
  CHECK(v[0] == 5 && v[1] == -7);
  /* agreement of one process: its own status and message, no rank prefix */
  qn_error_set(&err, QN_EIO, "disk on fire");
  CHECK_EQ_INT(qn_comm_agree(c, QN_EIO, &err), QN_EIO);
  CHECK_EQ_STR(err.message, "disk on fire");
  qn_comm_close(c);
}

QN_TEST(foreign_launchers_are_refused) {
  struct qn_comm *c = NULL;
  struct qn_error err;
  qn_error_init(&err);
  setenv("PMI_SIZE", "4", 1); /* MPICH's hydra: no PMIx, no Open MPI */
  CHECK_EQ_INT(qn_comm_open(&c, &err), QN_EUNSUPPORTED);
  CHECK(c == NULL);
  CHECK(strstr(err.message, "4 processes") != NULL);
  unsetenv("PMI_SIZE");
  setenv("PMI_SIZE", "1", 1); /* a launcher of one process: run alone */
  qn_error_init(&err);
  CHECK_OK(qn_comm_open(&c, &err));
  CHECK_EQ_INT(qn_comm_size(c), 1);
  qn_comm_close(c);
  unsetenv("PMI_SIZE");
}
