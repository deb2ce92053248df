/* qn_group.h — the group kernel: pure computation for `quern group` on
 * rows in memory, no I/O.
 *
 * Keys are integers (any width, timestamps, dates) or strings. Each key has
 *  - canonical bytes (int64 little-endian for every integer type, the raw
 *    bytes for a string): what the split and shard hashes read;
 *  - an order-preserving 64-bit prefix (integers: the value with its sign
 *    bit flipped; strings: the first 8 bytes big-endian, zero padded): what
 *    the range partitions of pass 1 cut, so partitions taken in order give
 *    the keys in ascending order.
 * Order values map to a 64-bit key that sorts as the values do (integers
 * and timestamps: sign bit flipped; floats: IEEE total order), with NaN
 * and null marked missing: they sort after every value.
 *
 * qn_group_partition_sort orders the rows of one partition by (key, missing,
 * order key, row index): rows of a key are contiguous, keys ascend, and
 * ties keep the order the rows came in (their input position).
 */
#ifndef QN_GROUP_H
#define QN_GROUP_H

#include "core/qn_core.h"

/* Fixed by the format, never by threads or memory: the partitions of pass
 * 1 (range partitions of the key prefix). */
#define QN_GROUP_PARTITIONS 256
/* The seeds of the shard hash (the split hash takes the user's seed). */
#define QN_GROUP_SHARD_SEED 0x71756572UL /* "quer" */

static inline uint64_t qn_group_prefix_int(int64_t v) {
  return (uint64_t)v ^ ((uint64_t)1 << 63);
}
uint64_t qn_group_prefix_str(const uint8_t *s, size_t n);
/* The order key of a value: a sortable uint64 (missing values get 0 and
 * are marked by the caller). */
static inline uint64_t qn_group_order_int(int64_t v) {
  return (uint64_t)v ^ ((uint64_t)1 << 63);
}
uint64_t qn_group_order_double(double v);

/* Hash of a key's canonical bytes with a seed (XXH3-64). */
uint64_t qn_group_hash_int(int64_t v, uint64_t seed);
uint64_t qn_group_hash_str(const uint8_t *s, size_t n, uint64_t seed);

/* Which split a hash falls in: thresholds[i] is the cumulative fraction of
 * splits 0..i as floor(frac * 2^64) (the last is UINT64_MAX). */
int qn_group_split_of(uint64_t h, const uint64_t *thresholds, int nsplits);

/* The range partition of a prefix within [lo, hi] (lo <= prefix <= hi):
 * equal-width slices of the range, QN_GROUP_PARTITIONS of them. */
int qn_group_partition_of(uint64_t prefix, uint64_t lo, uint64_t hi);

/* Keys of a partition: integers (ikeys) or strings (bytes + offsets). */
struct qn_group_keys {
  int is_string;
  const int64_t *ikeys;
  const uint8_t *bytes;
  const int64_t *offsets; /* n + 1 */
};

/* Working memory of qn_group_partition_sort, kept by the caller between
 * partitions (grown as needed from the budget, freed with
 * qn_group_ws_reset): reusing it spares the page faults of fresh memory. */
struct qn_group_ws {
  int64_t *a, *b, *c;
  size_t cap_a, cap_b, cap_c; /* bytes */
};
void qn_group_ws_reset(struct qn_context *ctx, struct qn_group_ws *ws);

/* Sorts the n rows of one partition: perm (n entries, caller's) receives
 * row indices ordered by (key, missing, order, index); group_start (n + 1
 * entries, caller's) receives where each key's rows start in perm, and
 * *ngroups the number of keys. ord / missing may be NULL (no order
 * column: rows of a key stay in index order). Integer keys whose range in
 * the partition is at most four times its rows are counted straight into
 * place; other keys get ids from a hash table and only the distinct keys
 * are sorted. Errors: QN_ELIMIT, QN_ENOMEM (growing ws). */
int qn_group_partition_sort(struct qn_context *ctx, struct qn_group_ws *ws,
                            const struct qn_group_keys *keys, const uint64_t *ord,
                            const uint8_t *missing, int64_t n, int64_t *perm,
                            int64_t *group_start, int64_t *ngroups, struct qn_error *err);

#endif /* QN_GROUP_H */
