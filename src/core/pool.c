/* pool.c — run one function on N threads and join them.
 *
 * The scan is the only user: it starts its workers once per job and they
 * pull morsels from its bounded queue until the input is exhausted, so a
 * long-lived pool buys nothing over starting N threads per job (a job runs
 * for much longer than thread creation takes). The caller is worker 0. */
#include "qn_core.h"

#include <stdlib.h>
#include <string.h>

struct qn_pool_arg {
  qn_worker_fn fn;
  void *arg;
  int worker;
};

static void *qn_pool_main(void *p) {
  struct qn_pool_arg *a = p;
  a->fn(a->arg, a->worker);
  return NULL;
}

int qn_pool_run(struct qn_context *ctx, int nworkers, qn_worker_fn fn, void *arg,
                struct qn_error *err) {
  (void)ctx;
  if (nworkers < 1) nworkers = 1;
  pthread_t *tids = calloc((size_t)nworkers, sizeof *tids);
  struct qn_pool_arg *args = calloc((size_t)nworkers, sizeof *args);
  if (!tids || !args) {
    free(tids);
    free(args);
    return qn_error_set(err, QN_ENOMEM, "out of memory starting %d threads", nworkers);
  }
  int started = 1;
  for (int w = 1; w < nworkers; w++) {
    args[w] = (struct qn_pool_arg){fn, arg, w};
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 1 << 20);
    int rc = pthread_create(&tids[w], &attr, qn_pool_main, &args[w]);
    pthread_attr_destroy(&attr);
    if (rc != 0) break; /* run with the threads we have: results do not depend on it */
    started++;
  }
  fn(arg, 0);
  for (int w = 1; w < started; w++) pthread_join(tids[w], NULL);
  free(tids);
  free(args);
  return QN_OK;
}
