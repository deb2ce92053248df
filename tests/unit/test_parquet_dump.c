/* test_parquet_dump.c — a driver of the Parquet reader for oracle tests
 * (not a harness test: it registers no QN_TEST cases; the programs under
 * tests/helpers are not linked against libquern, so it lives here).
 * String values come back in budget memory (out->data from qn_mem_alloc).
 *
 *   test_parquet_dump stats FILE [-t THREADS] [-b BLOCK_ROWS]
 *     one JSON object per line per column: name, type, rows, count, null,
 *     nan, min, max, sum (exact for integers), mean, std (population);
 *     strings: count, null, bytes (sum of lengths), min, max (bytewise).
 *     Blocks of BLOCK_ROWS rows (default 65536) are read by THREADS threads
 *     (block i on thread i mod T) and folded in block order.
 *   test_parquet_dump random FILE [-t THREADS] [-n READS] [-s SEED]
 *     reads every column sequentially, then READS random ranges (from
 *     THREADS threads at once) and checks them byte for byte against it.
 *   test_parquet_dump values FILE COLUMN [ROW0 N]
 *     prints the values of one column, one per line ("null" for nulls).
 *   test_parquet_dump schema FILE
 *     one line per column: name, type name, nullable, rows.
 *   test_parquet_dump write FILE ROWS CODEC [ROW_GROUP_BYTES [PAGE_BYTES]]
 *     writes the table of test_parquet_gen.h with quern's writer.
 *   test_parquet_dump corrupt DIR
 *     writes hand-built damaged files into DIR: bad_dict_index.parquet,
 *     lying_children.parquet, deep_schema.parquet (and a good
 *     fallback.parquet with INT96 and a dictionary-to-PLAIN fallback).
 * Exit 0 on success, 1 with "error: MESSAGE" on stderr otherwise.
 */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/qn_source.h"
#include "test_parquet_build.h"
#include "test_parquet_gen.h"

struct part {
  int64_t count, null, nan;
  int has;       /* any value seen */
  __int128 isum; /* integers */
  int64_t imin, imax;
  uint64_t umin, umax;
  long double fsum, fsq; /* floats (fsq: around the block mean, folded by Chan) */
  double fmin, fmax;
  int64_t bytes; /* strings */
  char *smin, *smax;
};

static const char *g_file;
static struct qn_reader *g_r;
static struct qn_context *g_ctx;
static int64_t g_block = 65536;

static void die(const char *msg) {
  fprintf(stderr, "error: %s\n", msg);
  exit(1);
}

static int is_unsigned(enum qn_type t) {
  return t == QN_UINT8 || t == QN_UINT16 || t == QN_UINT32 || t == QN_UINT64;
}

static int64_t geti(const void *d, enum qn_type t, int64_t i) {
  switch (t) {
    case QN_INT8:
      return ((const int8_t *)d)[i];
    case QN_INT16:
      return ((const int16_t *)d)[i];
    case QN_INT32:
    case QN_DATE:
      return ((const int32_t *)d)[i];
    case QN_UINT8:
    case QN_BOOL:
      return ((const uint8_t *)d)[i];
    case QN_UINT16:
      return ((const uint16_t *)d)[i];
    case QN_UINT32:
      return ((const uint32_t *)d)[i];
    default:
      return ((const int64_t *)d)[i];
  }
}

static long double num(const void *d, enum qn_type t, int64_t i) {
  if (t == QN_FLOAT32) return ((const float *)d)[i];
  if (t == QN_FLOAT64) return ((const double *)d)[i];
  if (t == QN_UINT64) return (long double)((const uint64_t *)d)[i];
  return (long double)geti(d, t, i);
}

static void smin_max(struct part *p, const char *s, size_t n) {
  char *c = malloc(n + 1);
  memcpy(c, s, n);
  c[n] = 0;
  if (!p->smin || strcmp(c, p->smin) < 0) {
    free(p->smin);
    p->smin = strdup(c);
  }
  if (!p->smax || strcmp(c, p->smax) > 0) {
    free(p->smax);
    p->smax = strdup(c);
  }
  free(c);
}

/* Reads rows [row0, row0+n) of column c and folds them into p. */
static void fold_block(int c, int64_t row0, int64_t n, struct part *p) {
  const struct qn_reader_column *col = &g_r->cols[c];
  struct qn_colbuf b;
  memset(&b, 0, sizeof b);
  size_t w = qn_type_size(col->type);
  void *data = malloc(w ? (size_t)n * w : 1);
  uint8_t *valid = malloc((size_t)n);
  int64_t *offs = col->type == QN_STRING ? malloc(((size_t)n + 1) * sizeof *offs) : NULL;
  b.data = data;
  b.valid = valid;
  b.offsets = offs;
  struct qn_error err;
  qn_error_init(&err);
  if (g_r->ops->read(g_r, c, row0, n, &b, &err) != QN_OK) die(err.message);
  memset(p, 0, sizeof *p);
  /* block mean first, so the sum of squares is taken around it */
  long double mean = 0;
  if (col->type != QN_STRING) {
    long double s = 0;
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) {
      if (b.valid && !b.valid[i]) continue;
      long double v = num(data, col->type, i);
      if (isnan(v)) continue;
      s += v;
      k++;
    }
    mean = k ? s / k : 0;
  }
  for (int64_t i = 0; i < n; i++) {
    if (b.valid && !b.valid[i]) {
      p->null++;
      continue;
    }
    if (col->type == QN_STRING) {
      const char *s = (const char *)b.data + b.offsets[i];
      size_t len = (size_t)(b.offsets[i + 1] - b.offsets[i]);
      p->count++;
      p->bytes += (int64_t)len;
      smin_max(p, s, len);
    } else if (qn_type_is_float(col->type)) {
      double v = col->type == QN_FLOAT32 ? ((float *)data)[i] : ((double *)data)[i];
      if (isnan(v)) {
        p->nan++;
        continue;
      }
      if (!p->has || v < p->fmin) p->fmin = v;
      if (!p->has || v > p->fmax) p->fmax = v;
      p->has = 1;
      p->count++;
      p->fsum += v;
      p->fsq += (v - mean) * (v - mean);
    } else if (is_unsigned(col->type) && col->type == QN_UINT64) {
      uint64_t v = ((uint64_t *)data)[i];
      if (!p->has || v < p->umin) p->umin = v;
      if (!p->has || v > p->umax) p->umax = v;
      p->has = 1;
      p->count++;
      p->isum += v;
      p->fsum += (long double)v;
      p->fsq += ((long double)v - mean) * ((long double)v - mean);
    } else {
      int64_t v = geti(data, col->type, i);
      if (!p->has || v < p->imin) p->imin = v;
      if (!p->has || v > p->imax) p->imax = v;
      p->has = 1;
      p->count++;
      p->isum += v;
      p->fsum += (long double)v;
      p->fsq += ((long double)v - mean) * ((long double)v - mean);
    }
  }
  if (col->type == QN_STRING) qn_mem_free(g_ctx, b.data);
  free(data);
  free(valid);
  free(offs);
}

static void merge(struct part *a, const struct part *b, enum qn_type t) {
  if (t != QN_STRING && b->count) {
    /* Chan et al.: combine sums of squares around each part's mean */
    if (a->count) {
      long double na = a->count, nb = b->count;
      long double d = b->fsum / nb - a->fsum / na;
      a->fsq += b->fsq + d * d * na * nb / (na + nb);
    } else {
      a->fsq = b->fsq;
    }
  }
  if (b->has) {
    if (!a->has || b->fmin < a->fmin) a->fmin = b->fmin;
    if (!a->has || b->fmax > a->fmax) a->fmax = b->fmax;
    if (!a->has || b->imin < a->imin) a->imin = b->imin;
    if (!a->has || b->imax > a->imax) a->imax = b->imax;
    if (!a->has || b->umin < a->umin) a->umin = b->umin;
    if (!a->has || b->umax > a->umax) a->umax = b->umax;
    a->has = 1;
  }
  a->count += b->count;
  a->null += b->null;
  a->nan += b->nan;
  a->isum += b->isum;
  a->fsum += b->fsum;
  a->bytes += b->bytes;
  if (b->smin && (!a->smin || strcmp(b->smin, a->smin) < 0)) {
    free(a->smin);
    a->smin = strdup(b->smin);
  }
  if (b->smax && (!a->smax || strcmp(b->smax, a->smax) > 0)) {
    free(a->smax);
    a->smax = strdup(b->smax);
  }
}

static void print_i128(__int128 v) {
  char buf[64];
  int n = 0, neg = v < 0;
  unsigned __int128 u = neg ? -(unsigned __int128)v : (unsigned __int128)v;
  do {
    buf[n++] = (char)('0' + (int)(u % 10));
    u /= 10;
  } while (u);
  if (neg) putchar('-');
  while (n) putchar(buf[--n]);
}

static void json_str(const char *s) {
  putchar('"');
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\')
      printf("\\%c", ch);
    else if (ch < 0x20)
      printf("\\u%04x", ch);
    else
      putchar(ch);
  }
  putchar('"');
}

struct job {
  int col, nthreads, t;
  int64_t nblocks;
  struct part *parts;
};

static void *worker(void *arg) {
  struct job *j = arg;
  int64_t rows = g_r->cols[j->col].rows;
  for (int64_t b = j->t; b < j->nblocks; b += j->nthreads) {
    int64_t r0 = b * g_block;
    fold_block(j->col, r0, rows - r0 < g_block ? rows - r0 : g_block, &j->parts[b]);
  }
  return NULL;
}

static void cmd_stats(int threads) {
  for (int c = 0; c < g_r->ncols; c++) {
    const struct qn_reader_column *col = &g_r->cols[c];
    int64_t nb = (col->rows + g_block - 1) / g_block;
    struct part *parts = calloc((size_t)nb + 1, sizeof *parts);
    pthread_t th[64];
    struct job jobs[64];
    for (int t = 0; t < threads; t++) {
      jobs[t] = (struct job){c, threads, t, nb, parts};
      pthread_create(&th[t], NULL, worker, &jobs[t]);
    }
    for (int t = 0; t < threads; t++) pthread_join(th[t], NULL);
    struct part tot;
    memset(&tot, 0, sizeof tot);
    for (int64_t b = 0; b < nb; b++) {
      merge(&tot, &parts[b], col->type);
      free(parts[b].smin);
      free(parts[b].smax);
    }
    free(parts);
    printf("{\"name\": ");
    json_str(col->name);
    printf(", \"type\": \"%s\", \"type_name\": \"%s\", \"rows\": %" PRId64
           ", \"count\": %" PRId64 ", \"null\": %" PRId64,
           qn_type_name(col->type), col->type_name, col->rows, tot.count, tot.null);
    if (col->type == QN_STRING) {
      printf(", \"bytes\": %" PRId64, tot.bytes);
      if (tot.smin) {
        printf(", \"min\": ");
        json_str(tot.smin);
        printf(", \"max\": ");
        json_str(tot.smax);
      }
    } else if (qn_type_is_float(col->type)) {
      printf(", \"nan\": %" PRId64, tot.nan);
      if (tot.count) {
        printf(
            ", \"min\": %.17g, \"max\": %.17g, \"sum\": %.17Lg, \"mean\": %.17Lg, \"std\": "
            "%.17Lg",
            tot.fmin, tot.fmax, tot.fsum, tot.fsum / tot.count, sqrtl(tot.fsq / tot.count));
      }
    } else if (tot.count) {
      /* integers as strings: JSON numbers lose digits past 2^53 in JS */
      if (col->type == QN_UINT64)
        printf(", \"min\": \"%" PRIu64 "\", \"max\": \"%" PRIu64 "\"", tot.umin, tot.umax);
      else
        printf(", \"min\": \"%" PRId64 "\", \"max\": \"%" PRId64 "\"", tot.imin, tot.imax);
      printf(", \"sum\": \"");
      print_i128(tot.isum);
      long double mean = (long double)tot.isum / tot.count;
      printf("\", \"mean\": %.17Lg, \"std\": %.17Lg", mean, sqrtl(tot.fsq / tot.count));
    }
    if (col->time_unit) printf(", \"time_unit\": %" PRId64, col->time_unit);
    printf("}\n");
    free(tot.smin);
    free(tot.smax);
  }
}

/* ----- random access check ----- */

struct colcopy {
  uint8_t *data;
  uint8_t *valid;
  int64_t *offs;
  size_t w;
};

static struct colcopy *g_copy;
static int g_reads;
static uint64_t g_seed;

static uint64_t rng(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static void read_range(int c, int64_t r0, int64_t n, struct qn_colbuf *b) {
  const struct qn_reader_column *col = &g_r->cols[c];
  size_t w = qn_type_size(col->type);
  memset(b, 0, sizeof *b);
  b->data = col->type == QN_STRING ? NULL : malloc(w * (size_t)n + 1);
  b->valid = malloc((size_t)n + 1);
  b->offsets = col->type == QN_STRING ? malloc(((size_t)n + 1) * 8) : NULL;
  uint8_t *valid_store = b->valid;
  struct qn_error err;
  qn_error_init(&err);
  if (g_r->ops->read(g_r, c, r0, n, b, &err) != QN_OK) die(err.message);
  if (!b->valid) {
    memset(valid_store, 1, (size_t)n);
    b->valid = valid_store;
  }
}

static void *random_worker(void *arg) {
  uint64_t s = g_seed + (uint64_t)(uintptr_t)arg * 7919 + 1;
  for (int i = 0; i < g_reads; i++) {
    int c = (int)(rng(&s) % (uint64_t)g_r->ncols);
    int64_t rows = g_r->cols[c].rows;
    if (rows == 0) continue;
    int64_t r0 = (int64_t)(rng(&s) % (uint64_t)rows);
    int64_t n = 1 + (int64_t)(rng(&s) % (uint64_t)(rng(&s) % 4 == 0 ? 200000 : 3000));
    if (n > rows - r0) n = rows - r0;
    struct qn_colbuf b;
    read_range(c, r0, n, &b);
    struct colcopy *cc = &g_copy[c];
    for (int64_t k = 0; k < n; k++) {
      int v = b.valid[k];
      if (v != cc->valid[r0 + k]) die("random read: validity differs");
      if (!v) continue;
      if (b.offsets) {
        int64_t l1 = b.offsets[k + 1] - b.offsets[k];
        int64_t l2 = cc->offs[r0 + k + 1] - cc->offs[r0 + k];
        if (l1 != l2 ||
            memcmp((char *)b.data + b.offsets[k], cc->data + cc->offs[r0 + k], (size_t)l1))
          die("random read: string differs");
      } else if (memcmp((char *)b.data + k * cc->w, cc->data + (r0 + k) * cc->w, cc->w)) {
        fprintf(stderr, "column %s row %" PRId64 " (range %" PRId64 "+%" PRId64 ")\n",
                g_r->cols[c].name, r0 + k, r0, n);
        die("random read: value differs");
      }
    }
    if (b.offsets)
      qn_mem_free(g_ctx, b.data);
    else
      free(b.data);
    free(b.valid);
    free(b.offsets);
  }
  return NULL;
}

static void cmd_random(int threads) {
  g_copy = calloc((size_t)g_r->ncols + 1, sizeof *g_copy);
  for (int c = 0; c < g_r->ncols; c++) {
    struct qn_colbuf b;
    read_range(c, 0, g_r->cols[c].rows, &b);
    g_copy[c].data = b.data;
    g_copy[c].valid = b.valid;
    g_copy[c].offs = b.offsets;
    g_copy[c].w = qn_type_size(g_r->cols[c].type);
  }
  pthread_t th[64];
  for (int t = 0; t < threads; t++)
    pthread_create(&th[t], NULL, random_worker, (void *)(uintptr_t)t);
  for (int t = 0; t < threads; t++) pthread_join(th[t], NULL);
  printf("random ok: %d reads on %d threads\n", g_reads * threads, threads);
}

static void cmd_values(const char *name, int64_t r0, int64_t n) {
  int c = -1;
  for (int i = 0; i < g_r->ncols; i++)
    if (strcmp(g_r->cols[i].name, name) == 0) c = i;
  if (c < 0) die("no such column");
  if (n < 0) n = g_r->cols[c].rows - r0;
  struct qn_colbuf b;
  read_range(c, r0, n, &b);
  enum qn_type t = g_r->cols[c].type;
  for (int64_t k = 0; k < n; k++) {
    if (!b.valid[k])
      printf("null\n");
    else if (t == QN_STRING)
      printf("%.*s\n", (int)(b.offsets[k + 1] - b.offsets[k]), (char *)b.data + b.offsets[k]);
    else if (t == QN_FLOAT32)
      printf("%.9g\n", ((float *)b.data)[k]);
    else if (t == QN_FLOAT64)
      printf("%.17g\n", ((double *)b.data)[k]);
    else if (t == QN_UINT64)
      printf("%" PRIu64 "\n", ((uint64_t *)b.data)[k]);
    else
      printf("%" PRId64 "\n", geti(b.data, t, k));
  }
  if (b.offsets)
    qn_mem_free(g_ctx, b.data);
  else
    free(b.data);
  free(b.valid);
  free(b.offsets);
}

int main(int argc, char **argv) {
  if (argc < 3) die("usage: test_parquet_dump stats|random|values|schema|write FILE [options]");
  if (strcmp(argv[1], "corrupt") == 0) {
    char p[4096];
    snprintf(p, sizeof p, "%s/bad_dict_index.parquet", argv[2]);
    build_fallback_file(p, 1, 0);
    snprintf(p, sizeof p, "%s/lying_children.parquet", argv[2]);
    build_fallback_file(p, 0, 5);
    snprintf(p, sizeof p, "%s/deep_schema.parquet", argv[2]);
    build_deep_schema_file(p, 101);
    snprintf(p, sizeof p, "%s/fallback.parquet", argv[2]);
    build_fallback_file(p, 0, 0);
    return 0;
  }
  if (strcmp(argv[1], "write") == 0) {
    struct qn_context *wctx;
    struct qn_error werr;
    struct qn_pq_writer_options opt;
    qn_error_init(&werr);
    qn_pq_writer_options_init(&opt);
    if (argc < 5) die("write needs FILE ROWS CODEC");
    if (qn_pq_codec_parse(argv[4], &opt.codec, &werr)) die(werr.message);
    if (argc > 5) opt.row_group_bytes = atoll(argv[5]);
    if (argc > 6) opt.page_bytes = atoll(argv[6]);
    if (qn_context_new(NULL, &wctx, &werr) != QN_OK) die(werr.message);
    if (pqg_write(wctx, argv[2], atoll(argv[3]), &opt, &werr) != QN_OK) die(werr.message);
    if (qn_context_used_bytes(wctx) != 0) die("budgeted memory leaked");
    qn_context_free(wctx);
    return 0;
  }
  const char *cmd = argv[1];
  g_file = argv[2];
  int threads = 1;
  g_reads = 200;
  g_seed = 42;
  int argi = 3;
  const char *colname = NULL;
  int64_t r0 = 0, n = -1;
  if (strcmp(cmd, "values") == 0) {
    if (argc < 4) die("values needs a column");
    colname = argv[3];
    if (argc >= 6) {
      r0 = atoll(argv[4]);
      n = atoll(argv[5]);
    }
    argi = argc;
  }
  for (; argi + 1 < argc; argi += 2) {
    if (!strcmp(argv[argi], "-t"))
      threads = atoi(argv[argi + 1]);
    else if (!strcmp(argv[argi], "-b"))
      g_block = atoll(argv[argi + 1]);
    else if (!strcmp(argv[argi], "-n"))
      g_reads = atoi(argv[argi + 1]);
    else if (!strcmp(argv[argi], "-s"))
      g_seed = strtoull(argv[argi + 1], NULL, 10);
    else
      die("unknown option");
  }
  if (threads < 1 || threads > 64 || g_block < 1) die("bad option value");
  struct qn_context *ctx;
  struct qn_error err;
  qn_error_init(&err);
  if (qn_context_new(NULL, &ctx, &err) != QN_OK) die(err.message);
  g_ctx = ctx;
  if (qn_pq_open(ctx, g_file, &g_r, &err) != QN_OK) die(err.message);
  if (!strcmp(cmd, "stats"))
    cmd_stats(threads);
  else if (!strcmp(cmd, "random"))
    cmd_random(threads);
  else if (!strcmp(cmd, "values"))
    cmd_values(colname, r0, n);
  else if (!strcmp(cmd, "schema")) {
    for (int i = 0; i < g_r->ncols; i++)
      printf("%s\t%s\t%d\t%" PRId64 "\n", g_r->cols[i].name, g_r->cols[i].type_name,
             g_r->cols[i].nullable, g_r->cols[i].rows);
  } else
    die("unknown command");
  if (g_copy)
    for (int c = 0; c < g_r->ncols; c++) {
      if (g_copy[c].offs)
        qn_mem_free(ctx, g_copy[c].data);
      else
        free(g_copy[c].data);
      free(g_copy[c].valid);
      free(g_copy[c].offs);
    }
  free(g_copy);
  g_r->ops->close(g_r);
  if (qn_context_used_bytes(ctx) != 0) die("budgeted memory leaked");
  qn_context_free(ctx);
  return 0;
}
