/* group.c — the group kernel (qn_group.h).
 *
 * Sorting one partition is "hashing is sorting": a hash table gives each
 * distinct key an id in order of first appearance; only the distinct keys
 * are sorted (a partition holds a few thousand); a stable counting sort by
 * key rank lays the rows of each key out contiguously in index order; then
 * each key's rows are ordered by (missing, order key, index) — insertion
 * sort for the usual short groups, qsort_r for long ones, nothing when
 * they are already in order (measurements often arrive sorted by time).
 * O(n) plus small sorts; no global sort of (key, order, position).
 */
#include "qn_group.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

uint64_t qn_group_prefix_str(const uint8_t *s, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; i++) v = (v << 8) | (i < n ? s[i] : 0);
  return v;
}

uint64_t qn_group_order_double(double v) {
  uint64_t u;
  memcpy(&u, &v, sizeof u);
  /* IEEE total order: negatives reversed, positives after them */
  return (u >> 63) ? ~u : u | ((uint64_t)1 << 63);
}

uint64_t qn_group_hash_int(int64_t v, uint64_t seed) {
  uint8_t b[8];
  for (int i = 0; i < 8; i++) b[i] = (uint8_t)((uint64_t)v >> (8 * i)); /* little-endian */
  return XXH3_64bits_withSeed(b, 8, seed);
}

uint64_t qn_group_hash_str(const uint8_t *s, size_t n, uint64_t seed) {
  return XXH3_64bits_withSeed(s, n, seed);
}

int qn_group_split_of(uint64_t h, const uint64_t *thresholds, int nsplits) {
  for (int i = 0; i < nsplits - 1; i++)
    if (h < thresholds[i]) return i;
  return nsplits - 1;
}

int qn_group_partition_of(uint64_t prefix, uint64_t lo, uint64_t hi) {
  /* width = ceil((hi - lo + 1) / P) without overflowing at the full range */
  uint64_t span = hi - lo; /* + 1 may wrap */
  uint64_t width = span / QN_GROUP_PARTITIONS + 1;
  if (prefix < lo) return 0; /* bounds from metadata may be narrower than the data */
  uint64_t p = (prefix - lo) / width;
  return (int)(p < QN_GROUP_PARTITIONS ? p : QN_GROUP_PARTITIONS - 1);
}

/* ----- sorting one partition ----- */

struct qn_gsort {
  const struct qn_group_keys *keys;
  const uint64_t *ord;
  const uint8_t *missing;
};

static int qn_key_cmp(const struct qn_group_keys *k, int64_t a, int64_t b) {
  if (!k->is_string) return (k->ikeys[a] > k->ikeys[b]) - (k->ikeys[a] < k->ikeys[b]);
  int64_t la = k->offsets[a + 1] - k->offsets[a], lb = k->offsets[b + 1] - k->offsets[b];
  int c = memcmp(k->bytes + k->offsets[a], k->bytes + k->offsets[b], (size_t)QN_MIN(la, lb));
  if (c) return c;
  return (la > lb) - (la < lb);
}

static uint64_t qn_key_hash(const struct qn_group_keys *k, int64_t r) {
  if (!k->is_string) return XXH3_64bits(&k->ikeys[r], 8);
  return XXH3_64bits(k->bytes + k->offsets[r], (size_t)(k->offsets[r + 1] - k->offsets[r]));
}

/* Distinct keys sorted by value: their first rows, compared. */
static int qn_first_cmp(const void *a, const void *b, void *arg) {
  return qn_key_cmp(arg, *(const int64_t *)a, *(const int64_t *)b);
}

/* Rows of one key: (missing, order, index). */
static inline int qn_row_less(const struct qn_gsort *g, int64_t a, int64_t b) {
  uint8_t ma = g->missing ? g->missing[a] : 0, mb = g->missing ? g->missing[b] : 0;
  if (ma != mb) return ma < mb;
  if (!ma && g->ord[a] != g->ord[b]) return g->ord[a] < g->ord[b];
  return a < b;
}

static int qn_row_cmp(const void *a, const void *b, void *arg) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return qn_row_less(arg, x, y) ? -1 : qn_row_less(arg, y, x) ? 1 : 0;
}

static void qn_sort_group(const struct qn_gsort *g, int64_t *p, int64_t n) {
  int64_t i = 1;
  while (i < n && !qn_row_less(g, p[i], p[i - 1])) i++;
  if (i == n) return; /* already in order */
  if (n > 48) {
    qsort_r(p, (size_t)n, sizeof *p, qn_row_cmp, (void *)g);
    return;
  }
  for (; i < n; i++) {
    int64_t v = p[i], j = i;
    while (j > 0 && qn_row_less(g, v, p[j - 1])) {
      p[j] = p[j - 1];
      j--;
    }
    p[j] = v;
  }
}

void qn_group_ws_reset(struct qn_context *ctx, struct qn_group_ws *ws) {
  qn_mem_free(ctx, ws->a);
  qn_mem_free(ctx, ws->b);
  qn_mem_free(ctx, ws->c);
  memset(ws, 0, sizeof *ws);
}

/* *p with room for `bytes`, grown (contents dropped) from the budget. */
static int qn_ws_grow(struct qn_context *ctx, int64_t **p, size_t *cap, size_t bytes,
                      struct qn_error *err) {
  if (*cap >= bytes) return QN_OK;
  qn_mem_free(ctx, *p);
  *cap = 0;
  size_t want = bytes + bytes / 4;
  *p = qn_mem_alloc(ctx, want, "group sort workspace", err);
  if (!*p) return err && err->code ? err->code : QN_ELIMIT;
  *cap = want;
  return QN_OK;
}

static void qn_sort_groups(const struct qn_group_keys *keys, const uint64_t *ord,
                           const uint8_t *missing, int64_t *perm, const int64_t *gs,
                           int64_t ng) {
  if (!ord) return;
  struct qn_gsort g = {keys, ord, missing};
  for (int64_t k = 0; k < ng; k++) qn_sort_group(&g, perm + gs[k], gs[k + 1] - gs[k]);
}

/* Dense integer keys: a counting sort by key - min, stable. */
static int qn_dense_sort(struct qn_context *ctx, struct qn_group_ws *ws,
                         const struct qn_group_keys *keys, int64_t kmin, int64_t span,
                         int64_t n, int64_t *perm, int64_t *gs, int64_t *ngroups,
                         struct qn_error *err) {
  QN_RETURN_IF_ERROR(qn_ws_grow(ctx, &ws->a, &ws->cap_a, (size_t)(span + 1) * 8, err));
  int64_t *cnt = ws->a;
  memset(cnt, 0, (size_t)(span + 1) * 8);
  for (int64_t r = 0; r < n; r++) cnt[keys->ikeys[r] - kmin + 1]++;
  int64_t ng = 0;
  gs[0] = 0;
  for (int64_t v = 0; v < span; v++) /* starts of the present keys; cnt becomes positions */
    if (cnt[v + 1]) {
      gs[ng + 1] = gs[ng] + cnt[v + 1];
      cnt[v + 1] = gs[ng];
      ng++;
    }
  for (int64_t r = 0; r < n; r++) perm[cnt[keys->ikeys[r] - kmin + 1]++] = r;
  *ngroups = ng;
  return QN_OK;
}

int qn_group_partition_sort(struct qn_context *ctx, struct qn_group_ws *ws,
                            const struct qn_group_keys *keys, const uint64_t *ord,
                            const uint8_t *missing, int64_t n, int64_t *perm,
                            int64_t *group_start, int64_t *ngroups, struct qn_error *err) {
  *ngroups = 0;
  group_start[0] = 0;
  if (n == 0) return QN_OK;
  if (!keys->is_string) {
    int64_t lo = keys->ikeys[0], hi = lo;
    for (int64_t r = 1; r < n; r++) {
      lo = QN_MIN(lo, keys->ikeys[r]);
      hi = QN_MAX(hi, keys->ikeys[r]);
    }
    /* hi - lo computed unsigned: no overflow across the whole int64 range */
    uint64_t span = (uint64_t)hi - (uint64_t)lo + 1;
    if (span != 0 && span <= (uint64_t)(4 * n + 64)) {
      QN_RETURN_IF_ERROR(
          qn_dense_sort(ctx, ws, keys, lo, (int64_t)span, n, perm, group_start, ngroups, err));
      qn_sort_groups(keys, ord, missing, perm, group_start, *ngroups);
      return QN_OK;
    }
  }
  /* hash ids; the table grows from a guess of the distinct keys */
  int64_t cap = 1024;
  while (cap < n / 4) cap *= 2;
  QN_RETURN_IF_ERROR(qn_ws_grow(ctx, &ws->b, &ws->cap_b, (size_t)n * 16 + 16, err));
  int64_t *gid = ws->b, *first = ws->b + n; /* first[ng]: the key's first row */
  int64_t ng = 0;
  for (int attempt = 0;; attempt++) {
    QN_RETURN_IF_ERROR(qn_ws_grow(ctx, &ws->a, &ws->cap_a, (size_t)cap * 8, err));
    int64_t *table = ws->a, mask = cap - 1;
    memset(table, 0xff, (size_t)cap * 8);
    ng = 0;
    int64_t r = 0;
    for (; r < n && 2 * ng < cap; r++) {
      int64_t h = (int64_t)(qn_key_hash(keys, r) & (uint64_t)mask);
      for (;;) {
        int64_t f = table[h];
        if (f < 0) {
          table[h] = r;
          gid[r] = ng;
          first[ng++] = r;
          break;
        }
        if (qn_key_cmp(keys, f, r) == 0) {
          gid[r] = gid[f];
          break;
        }
        h = (h + 1) & mask;
      }
    }
    if (r == n) break;
    cap *= 4; /* over half full: again, larger */
  }
  QN_RETURN_IF_ERROR(qn_ws_grow(ctx, &ws->c, &ws->cap_c, (size_t)(ng + 1) * 8, err));
  int64_t *rank = ws->c;
  qsort_r(first, (size_t)ng, sizeof *first, qn_first_cmp, (void *)keys);
  for (int64_t k = 0; k < ng; k++) rank[gid[first[k]]] = k;
  memset(group_start, 0, (size_t)(ng + 1) * sizeof *group_start);
  for (int64_t r = 0; r < n; r++) group_start[rank[gid[r]] + 1]++;
  for (int64_t k = 0; k < ng; k++) group_start[k + 1] += group_start[k];
  int64_t *next = ws->a; /* the table is done with: ng <= cap / 2 entries */
  memcpy(next, group_start, (size_t)ng * sizeof *next);
  for (int64_t r = 0; r < n; r++) perm[next[rank[gid[r]]]++] = r;
  qn_sort_groups(keys, ord, missing, perm, group_start, ng);
  *ngroups = ng;
  return QN_OK;
}
