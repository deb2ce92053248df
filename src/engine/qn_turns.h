/* qn_turns.h — ordered turns: N independent queues of tickets, each served
 * strictly in ticket order.
 *
 * A kernel that splits its state into N parts which many workers update
 * ("owner computes": bin grids cut into cell slices) gives each part a
 * queue. A worker holding ticket t (the morsel's position in the share)
 * waits for its turn on part i, updates part i, and passes the turn to
 * t + 1. So part i sees the morsels' updates in ticket order whatever the
 * number of workers or their scheduling, and two workers never touch one
 * part at once (the pass publishes the updates: release/acquire).
 *
 * Deadlock freedom rests on the caller: every ticket 0, 1, ... must be
 * taken, on every part, in order by the worker holding it (the scan hands
 * out morsels in order, and a worker finishes one before it takes the
 * next). When some ticket will never come (the scan failed), cancel ends
 * every wait.
 *
 * Waits spin briefly, then sleep on a condition variable: a turn usually
 * comes within microseconds, but on an oversubscribed machine a waiter
 * must not burn the CPU its predecessor needs.
 *
 * Thread rule: init/reset on one thread; wait/pass/cancel from any.
 * Memory: 64 bytes per part (malloc, small: parts are at most a few
 * hundred).
 */
#ifndef QN_TURNS_H
#define QN_TURNS_H

#include "core/qn_core.h"

struct qn_turns {
  int nparts;
  struct qn_turn_slot *next; /* per part: the ticket whose turn it is */
  atomic_int cancelled;
  atomic_int sleepers;
  pthread_mutex_t lock;
  pthread_cond_t cond;
};

/* Every part starts at ticket 0. Errors: QN_ENOMEM. */
int qn_turns_init(struct qn_turns *t, int nparts, struct qn_error *err);
void qn_turns_reset(struct qn_turns *t);
/* Returns QN_OK when it is `ticket`'s turn on `part`, QN_EINTERNAL (with
 * a message) when the turns were cancelled. */
int qn_turns_wait(struct qn_turns *t, int part, int64_t ticket, struct qn_error *err);
/* The holder of `ticket` is done with `part`: ticket + 1's turn. */
void qn_turns_pass(struct qn_turns *t, int part, int64_t ticket);
void qn_turns_cancel(struct qn_turns *t);

#endif /* QN_TURNS_H */
