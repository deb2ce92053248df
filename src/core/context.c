/* context.c — the context: options, the budgeted allocator and its peak.
 *
 * Budget: the limit covers the whole process. At creation we note the
 * resident size the process already has (code, libraries) and keep a fixed
 * overhead aside; qn_mem_alloc hands out the rest and fails with QN_ELIMIT,
 * naming the buffer and its size, past it. Each block carries a 64-byte
 * header holding its size so that free needs no size from the caller.
 *
 * Fault injection for tests: QN_TEST_FAIL_ALLOC=N in the environment makes
 * the Nth budgeted allocation of each context fail with QN_ENOMEM.
 */
#include "qn_core.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define QN_MEM_HEADER 64
/* Blocks from this size up are mapped directly and unmapped on free, so
 * their memory leaves the process at once: malloc's adaptive mmap threshold
 * would otherwise keep freed buffers in the heap and RSS above the limit. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define QN_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(QN_ASAN)
#define QN_MEM_MMAP_MIN INT64_MAX /* under ASan everything goes through malloc, */
#else                             /* so bounds and leaks are checked */
#define QN_MEM_MMAP_MIN ((int64_t)256 << 10)
#endif
#define QN_MEM_HUGE_MIN ((int64_t)2 << 20)

/* 80% of what this process can have: the smaller of physical memory and
 * its cgroup's limit (a container, a Slurm job, a systemd slice). */
static int64_t qn_default_memory_limit(void) {
  int64_t phys = qn_physical_memory(), cg = qn_cgroup_memory_limit("");
  int64_t have = phys > 0 && (cg <= 0 || phys < cg) ? phys : cg;
  return have > 0 ? have / 10 * 8 : (int64_t)4 << 30;
}

void qn_context_options_init(struct qn_context_options *opt) {
  memset(opt, 0, sizeof *opt);
  opt->progress = 1;
}

int qn_context_new(const struct qn_context_options *opt, struct qn_context **out,
                   struct qn_error *err) {
  struct qn_context_options def;
  if (!opt) {
    qn_context_options_init(&def);
    opt = &def;
  }
  if (opt->threads < 0 || opt->threads > 4096)
    return qn_error_set(err, QN_EINVAL,
                        "the thread count must be between 0 (every core) and 4096, got %d",
                        opt->threads);
  if (opt->memory_limit < 0)
    return qn_error_set(err, QN_EINVAL, "memory limit must be positive");
  struct qn_context *ctx = calloc(1, sizeof *ctx);
  if (!ctx) return qn_error_set(err, QN_ENOMEM, "out of memory creating the context");
  ctx->threads = opt->threads > 0 ? opt->threads : qn_cpus_allowed();
  /* ranks of one job on this machine share its memory */
  const int share = opt->comm && opt->comm->node_size > 1 ? opt->comm->node_size : 1;
  ctx->memory_limit =
      opt->memory_limit > 0 ? opt->memory_limit : qn_default_memory_limit() / share;
  ctx->comm = opt->comm;
  ctx->baseline_rss = opt->limit_own_only ? 0 : qn_self_rss();
  atomic_init(&ctx->cancel, 0);
  ctx->progress = opt->progress;
  ctx->quiet = opt->quiet;
  pthread_mutex_init(&ctx->mem_lock, NULL);
  const char *fail = getenv("QN_TEST_FAIL_ALLOC");
  ctx->fail_countdown = fail ? atol(fail) : 0;
  *out = ctx;
  return QN_OK;
}

static void qn_mem_cache_drop(struct qn_context *ctx);

void qn_context_free(struct qn_context *ctx) {
  if (!ctx) return;
  qn_mem_cache_drop(ctx);
  pthread_mutex_destroy(&ctx->mem_lock);
  free(ctx);
}

void qn_context_cancel(struct qn_context *ctx) {
  atomic_store(&ctx->cancel, 1);
}

void qn_context_uncancel(struct qn_context *ctx) {
  atomic_store(&ctx->cancel, 0);
}

int qn_context_threads(const struct qn_context *ctx) {
  return ctx->threads;
}
int64_t qn_context_memory_limit(const struct qn_context *ctx) {
  return ctx->memory_limit;
}

int64_t qn_context_peak_bytes(const struct qn_context *ctx) {
  struct qn_context *c = (struct qn_context *)ctx;
  pthread_mutex_lock(&c->mem_lock);
  int64_t v = c->mem_peak;
  pthread_mutex_unlock(&c->mem_lock);
  return v;
}

int64_t qn_context_used_bytes(const struct qn_context *ctx) {
  struct qn_context *c = (struct qn_context *)ctx;
  pthread_mutex_lock(&c->mem_lock);
  int64_t v = c->mem_used;
  pthread_mutex_unlock(&c->mem_lock);
  return v;
}

/* What the budget can hand out in total: the limit less what the process
 * held before we started and a fixed overhead. */
static int64_t qn_mem_capacity(const struct qn_context *ctx) {
  return ctx->memory_limit - ctx->baseline_rss - QN_FIXED_OVERHEAD;
}

int64_t qn_mem_available(const struct qn_context *ctx) {
  struct qn_context *c = (struct qn_context *)ctx;
  pthread_mutex_lock(&c->mem_lock);
  int64_t v = qn_mem_capacity(c) - c->mem_used;
  pthread_mutex_unlock(&c->mem_lock);
  return v > 0 ? v : 0;
}

/* The block cache. A mapped block (QN_MEM_MMAP_MIN and up) costs a page
 * fault per 4 KiB the first time it is written, about a tenth of the CPU
 * of a convert or group run here when every block of every morsel is a
 * fresh mapping. Freed blocks of at most a quarter of the cache are kept
 * (up to QN_MEM_CACHE_SLOTS of them, together at most an eighth of the
 * budget and 64 MiB) and handed out again for a request they fit within a
 * quarter. They leave mem_used when freed, so planners see the budget as
 * before; a reservation that would bring mem_used plus the cache over the
 * capacity unmaps cached blocks first, so the process never holds more
 * than the budget. Memory only: no output depends on it. */
static int64_t qn_mem_capacity(const struct qn_context *ctx);

static int64_t qn_mem_cache_cap(const struct qn_context *ctx) {
  return QN_MIN(qn_mem_capacity(ctx) / 8, (int64_t)64 << 20);
}

/* Takes cached blocks off (oldest first) until mem_used + bytes + cached
 * fits the capacity or none is left; they go into out[] for the caller to
 * unmap outside the lock. Lock held. */
static int qn_mem_cache_evict(struct qn_context *ctx, int64_t bytes, void **out, int64_t *len) {
  int n = 0;
  while (ctx->ncache > 0 && ctx->mem_used + bytes + ctx->cached > qn_mem_capacity(ctx)) {
    out[n] = ctx->cache_ptr[0];
    len[n] = ctx->cache_len[0];
    ctx->cached -= len[n++];
    ctx->ncache--;
    memmove(ctx->cache_ptr, ctx->cache_ptr + 1, (size_t)ctx->ncache * sizeof(void *));
    memmove(ctx->cache_len, ctx->cache_len + 1, (size_t)ctx->ncache * sizeof(int64_t));
  }
  return n;
}

static void qn_mem_cache_drop(struct qn_context *ctx) {
  for (int i = 0; i < ctx->ncache; i++) munmap(ctx->cache_ptr[i], (size_t)ctx->cache_len[i]);
  ctx->ncache = 0;
  ctx->cached = 0;
}

void qn_mem_trim(struct qn_context *ctx) {
  pthread_mutex_lock(&ctx->mem_lock);
  qn_mem_cache_drop(ctx);
  pthread_mutex_unlock(&ctx->mem_lock);
}

/* A cached block for a request of `total` bytes (at least total, at most a
 * quarter more), taken off the cache and counted in mem_used; else NULL
 * with nothing changed. Lock held, the reservation of `total` not made. */
static void *qn_mem_cache_take(struct qn_context *ctx, int64_t total, int64_t *len) {
  int best = -1;
  for (int i = 0; i < ctx->ncache; i++)
    if (ctx->cache_len[i] >= total && ctx->cache_len[i] - total <= total / 4 &&
        (best < 0 || ctx->cache_len[i] < ctx->cache_len[best]))
      best = i;
  if (best < 0) return NULL;
  void *p = ctx->cache_ptr[best];
  *len = ctx->cache_len[best];
  ctx->cached -= *len;
  ctx->ncache--;
  memmove(ctx->cache_ptr + best, ctx->cache_ptr + best + 1,
          (size_t)(ctx->ncache - best) * sizeof(void *));
  memmove(ctx->cache_len + best, ctx->cache_len + best + 1,
          (size_t)(ctx->ncache - best) * sizeof(int64_t));
  return p;
}

int qn_mem_reserve(struct qn_context *ctx, int64_t bytes, const char *what,
                   struct qn_error *err) {
  int status = QN_OK;
  void *drop[QN_MEM_CACHE_SLOTS];
  int64_t drop_len[QN_MEM_CACHE_SLOTS];
  pthread_mutex_lock(&ctx->mem_lock);
  const int ndrop = qn_mem_cache_evict(ctx, bytes, drop, drop_len);
  if (ctx->fail_countdown > 0 && --ctx->fail_countdown == 0) {
    status = QN_ENOMEM;
  } else if (ctx->mem_used + bytes > qn_mem_capacity(ctx)) {
    status = QN_ELIMIT;
  } else {
    ctx->mem_used += bytes;
    if (ctx->mem_used > ctx->mem_peak) ctx->mem_peak = ctx->mem_used;
  }
  int64_t used = ctx->mem_used, cap = qn_mem_capacity(ctx);
  pthread_mutex_unlock(&ctx->mem_lock);
  for (int i = 0; i < ndrop; i++) munmap(drop[i], (size_t)drop_len[i]);
  if (status == QN_ENOMEM)
    return qn_error_set(err, QN_ENOMEM, "out of memory allocating %s (injected fault)", what);
  if (status == QN_ELIMIT) {
    char a[32], b[32], c[32], d[32], e[32];
    int64_t left = cap - used > 0 ? cap - used : 0;
    return qn_error_set(err, QN_ELIMIT,
                        "memory limit %s is too small: %s needs %s, only %s is left "
                        "(%s in use, %s taken by the process itself)",
                        qn_format_size(ctx->memory_limit, a, sizeof a), what,
                        qn_format_size(bytes, b, sizeof b), qn_format_size(left, c, sizeof c),
                        qn_format_size(used, d, sizeof d),
                        qn_format_size(ctx->baseline_rss + QN_FIXED_OVERHEAD, e, sizeof e));
  }
  return QN_OK;
}

int qn_mem_require(struct qn_context *ctx, int64_t bytes, const char *what,
                   struct qn_error *err) {
  int64_t avail = qn_mem_available(ctx);
  if (bytes <= avail) return QN_OK;
  /* round the advice up to a whole MiB */
  int64_t need = ctx->memory_limit - avail + bytes;
  need = (need + (1 << 20) - 1) & ~(int64_t)((1 << 20) - 1);
  char a[32], b[32], c[32];
  return qn_error_set(err, QN_ELIMIT,
                      "memory limit %s is too small: %s needs at least %s (the process itself "
                      "takes %s); a memory limit of %lldM or more is needed",
                      qn_format_size(ctx->memory_limit, a, sizeof a), what,
                      qn_format_size(bytes, b, sizeof b),
                      qn_format_size(ctx->baseline_rss + QN_FIXED_OVERHEAD, c, sizeof c),
                      (long long)(need >> 20));
}

void qn_mem_release(struct qn_context *ctx, int64_t bytes) {
  pthread_mutex_lock(&ctx->mem_lock);
  ctx->mem_used -= bytes;
  pthread_mutex_unlock(&ctx->mem_lock);
}

/* A fresh zeroed mapping of `total` bytes, or NULL. From QN_MEM_HUGE_MIN
 * up it starts on a 2 MiB boundary and asks for transparent huge pages
 * (the kernel aligns only mappings whose length is a multiple of 2 MiB):
 * on these VMs a 4 KiB page fault costs about 10 us, and a 2-D grid of
 * 10^4 cells and 4 lanes took 2000 of them (20 ms) before the first row.
 * The 2 MiB pages cover only whole 2 MiB of the block, so the resident
 * set never exceeds what was allocated. */
static void *qn_mem_map(int64_t total) {
  const int prot = PROT_READ | PROT_WRITE, flags = MAP_PRIVATE | MAP_ANONYMOUS;
  if (total < QN_MEM_HUGE_MIN) {
    void *p = mmap(NULL, (size_t)total, prot, flags, -1, 0);
    return p == MAP_FAILED ? NULL : p;
  }
  const size_t page = 4096, align = (size_t)QN_MEM_HUGE_MIN;
  const size_t len = ((size_t)total + page - 1) & ~(page - 1); /* munmap takes whole pages */
  char *raw = mmap(NULL, len + align, prot, flags, -1, 0);
  if (raw == MAP_FAILED) return NULL;
  char *p = (char *)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
  if (p > raw) munmap(raw, (size_t)(p - raw));
  munmap(p + len, (size_t)(raw + align - p)); /* the tail: never empty */
#ifdef MADV_HUGEPAGE
  madvise(p, len, MADV_HUGEPAGE);
#endif
  return p;
}

/* qn_mem_alloc; *fresh (may be NULL) says whether the block is a fresh
 * mapping (zero) rather than a reused one. */
static void *qn_mem_alloc_fresh(struct qn_context *ctx, size_t size, const char *what,
                                struct qn_error *err, int *fresh) {
  if (size > (size_t)INT64_MAX - QN_MEM_HEADER) {
    qn_error_set(err, QN_ELIMIT, "cannot allocate %s: size overflows", what);
    return NULL;
  }
  int64_t total = (int64_t)size + QN_MEM_HEADER;
  if (fresh) *fresh = 1;
  if (total >= QN_MEM_MMAP_MIN) {
    pthread_mutex_lock(&ctx->mem_lock);
    int64_t len = 0;
    void *p = ctx->fail_countdown > 0 ? NULL : qn_mem_cache_take(ctx, total, &len);
    if (p) {
      ctx->mem_used += len;
      if (ctx->mem_used > ctx->mem_peak) ctx->mem_peak = ctx->mem_used;
    }
    pthread_mutex_unlock(&ctx->mem_lock);
    if (p) {
      if (fresh) *fresh = 0;
      memcpy(p, &len, sizeof len);
      return (char *)p + QN_MEM_HEADER;
    }
  }
  if (qn_mem_reserve(ctx, total, what, err) != QN_OK) return NULL;
  void *p = NULL;
  if (total >= QN_MEM_MMAP_MIN) {
    p = qn_mem_map(total);
  } else if (posix_memalign(&p, 64, (size_t)total) != 0) {
    p = NULL;
  }
  if (!p) {
    qn_mem_release(ctx, total);
    char a[32];
    qn_error_set(err, QN_ENOMEM, "out of memory allocating %s (%s)", what,
                 qn_format_size((int64_t)size, a, sizeof a));
    return NULL;
  }
  memcpy(p, &total, sizeof total);
  return (char *)p + QN_MEM_HEADER;
}

void *qn_mem_alloc(struct qn_context *ctx, size_t size, const char *what,
                   struct qn_error *err) {
  return qn_mem_alloc_fresh(ctx, size, what, err, NULL);
}

void *qn_mem_alloc_zeroed(struct qn_context *ctx, size_t size, const char *what,
                          struct qn_error *err, int *zeroed) {
  int fresh = 0;
  void *p = qn_mem_alloc_fresh(ctx, size, what, err, &fresh);
  /* fresh anonymous mappings are already zero */
  *zeroed = p && fresh && (int64_t)size + QN_MEM_HEADER >= QN_MEM_MMAP_MIN;
  return p;
}

void *qn_mem_calloc(struct qn_context *ctx, size_t size, const char *what,
                    struct qn_error *err) {
  int zeroed = 0;
  void *p = qn_mem_alloc_zeroed(ctx, size, what, err, &zeroed);
  if (p && !zeroed) memset(p, 0, size);
  return p;
}

void qn_mem_free(struct qn_context *ctx, void *ptr) {
  if (!ptr) return;
  char *base = (char *)ptr - QN_MEM_HEADER;
  int64_t total;
  memcpy(&total, base, sizeof total);
  if (total >= QN_MEM_MMAP_MIN) {
    pthread_mutex_lock(&ctx->mem_lock);
    ctx->mem_used -= total;
    const int64_t cap = qn_mem_cache_cap(ctx);
    const int keep = ctx->ncache < QN_MEM_CACHE_SLOTS && total <= cap / 4 &&
                     ctx->cached + total <= cap &&
                     ctx->mem_used + ctx->cached + total <= qn_mem_capacity(ctx);
    if (keep) {
      ctx->cache_ptr[ctx->ncache] = base;
      ctx->cache_len[ctx->ncache++] = total;
      ctx->cached += total;
    }
    pthread_mutex_unlock(&ctx->mem_lock);
    if (!keep) munmap(base, (size_t)total);
  } else {
    qn_mem_release(ctx, total);
    free(base);
  }
}
