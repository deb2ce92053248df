/* turns.c — ordered turns (qn_turns.h).
 *
 * Sleep protocol without lost wake-ups: a waiter announces itself
 * (sleepers++) under the lock, then re-reads the part's ticket before it
 * sleeps; a passer stores the ticket, then reads sleepers (both
 * sequentially consistent, so at least one of the two sees the other's
 * write) and, when someone may sleep, broadcasts under the lock.
 */
#include "qn_turns.h"

#include <sched.h>
#include <stdlib.h>

/* One part per cache line: parts are passed by different workers. */
struct qn_turn_slot {
  _Alignas(64) atomic_llong ticket;
};

/* Spins before sleeping; a turn usually comes within a few microseconds. */
#define QN_TURNS_SPIN 2000

int qn_turns_init(struct qn_turns *t, int nparts, struct qn_error *err) {
  t->nparts = nparts;
  t->next = aligned_alloc(64, (size_t)QN_MAX(nparts, 1) * sizeof *t->next);
  if (!t->next) return qn_error_set(err, QN_ENOMEM, "out of memory for %d turns", nparts);
  for (int i = 0; i < nparts; i++) atomic_init(&t->next[i].ticket, 0);
  atomic_init(&t->cancelled, 0);
  atomic_init(&t->sleepers, 0);
  pthread_mutex_init(&t->lock, NULL);
  pthread_cond_init(&t->cond, NULL);
  return QN_OK;
}

void qn_turns_reset(struct qn_turns *t) {
  if (!t->next) return;
  free(t->next);
  t->next = NULL;
  pthread_mutex_destroy(&t->lock);
  pthread_cond_destroy(&t->cond);
}

static int qn_turns_ready(struct qn_turns *t, int part, int64_t ticket) {
  return atomic_load(&t->next[part].ticket) == ticket || atomic_load(&t->cancelled);
}

int qn_turns_wait(struct qn_turns *t, int part, int64_t ticket, struct qn_error *err) {
  for (int i = 0; i < QN_TURNS_SPIN && !qn_turns_ready(t, part, ticket); i++)
    if (i >= 64) sched_yield();
  if (!qn_turns_ready(t, part, ticket)) {
    pthread_mutex_lock(&t->lock);
    atomic_fetch_add(&t->sleepers, 1);
    while (!qn_turns_ready(t, part, ticket)) pthread_cond_wait(&t->cond, &t->lock);
    atomic_fetch_sub(&t->sleepers, 1);
    pthread_mutex_unlock(&t->lock);
  }
  if (atomic_load(&t->cancelled))
    return qn_error_set(err, QN_EINTERNAL, "cancelled: another worker failed");
  return QN_OK;
}

void qn_turns_pass(struct qn_turns *t, int part, int64_t ticket) {
  atomic_store(&t->next[part].ticket, ticket + 1);
  if (atomic_load(&t->sleepers) > 0) {
    pthread_mutex_lock(&t->lock);
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->lock);
  }
}

void qn_turns_cancel(struct qn_turns *t) {
  atomic_store(&t->cancelled, 1);
  pthread_mutex_lock(&t->lock);
  pthread_cond_broadcast(&t->cond);
  pthread_mutex_unlock(&t->lock);
}
