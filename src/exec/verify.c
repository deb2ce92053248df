/* verify.c — `quern verify`: is a group output what its manifest says?
 *
 * For every file the manifest lists: present, a plain file inside the
 * directory, its size and XXH3-128 as recorded; then its own framing: a
 * Parquet file's magic bytes and footer parse (every offset checked
 * against the size), its rows (output rows = the manifest's groups) and
 * its first list column's values (= the manifest's rows). A TFRecord
 * file: every record's length and data CRC-32C, each record a
 * tf.train.Example whose `n`s sum to the manifest's rows. An ArrayRecord
 * file: the signature, every block header's hash and its pointers to the
 * chunk it interrupts, every chunk header's hash, data hash and zero
 * padding, each simple chunk's record sizes, the postscript (3 equal
 * copies, the magic), the footer's metadata and its index against the
 * chunks walked, and the records as for TFRecord. A problem names the
 * file and the record or chunk and its byte offset. Files in the
 * directory the manifest does not list are problems too. Then the sums:
 * files add up to their split, splits to the whole.
 *
 * Output: one line per problem (`FILE: what`), then a summary line; with
 * --json one object. Reads the manifest with jansson; files are hashed in
 * 1 MiB pieces (no file is held in memory).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "exec/qn_exec.h"
#include "io/parquet/qn_pq.h"
#include "io/qn_records.h"

struct qn_verify {
  struct qn_context *ctx; /* for the footer reader's buffers */
  FILE *out;
  int json;
  json_t *problems;
  int64_t nproblems;
};

static void qn_verify_problem(struct qn_verify *v, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void qn_verify_problem(struct qn_verify *v, const char *file, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  v->nproblems++;
  if (v->json) {
    json_t *p = json_object();
    json_object_set_new(p, "file", json_string(file));
    json_object_set_new(p, "problem", json_string(msg));
    json_array_append_new(v->problems, p);
  } else {
    fprintf(v->out, "%s: %s\n", file, msg);
  }
}

/* The Parquet framing of one file: footer, rows, list values. */
static void qn_verify_parquet(struct qn_verify *v, const char *path, const char *name,
                              int64_t groups, int64_t rows) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return; /* reported by the size check */
  struct qn_pq_meta *m = NULL;
  struct qn_error e;
  qn_error_init(&e);
  if (qn_pq_meta_read(v->ctx, fd, path, &m, &e) != QN_OK) {
    qn_verify_problem(v, name, "not a readable Parquet file (%s)", e.message);
    close(fd);
    return;
  }
  close(fd);
  if (m->num_rows != groups)
    qn_verify_problem(v, name, "holds %lld rows (keys), the manifest says %lld",
                      (long long)m->num_rows, (long long)groups);
  int64_t rg_rows = 0;
  for (int g = 0; g < m->nrowgroups; g++) rg_rows += m->rowgroups[g].num_rows;
  if (rg_rows != m->num_rows)
    qn_verify_problem(v, name, "its row groups hold %lld rows, its footer says %lld",
                      (long long)rg_rows, (long long)m->num_rows);
  for (int l = 0; l < m->nleaves; l++) { /* the first list column: one value per input row */
    if (m->leaves[l].max_rep == 0) continue;
    int64_t values = 0;
    for (int g = 0; g < m->nrowgroups; g++) values += m->rowgroups[g].chunks[l].num_values;
    if (values != rows)
      qn_verify_problem(v, name,
                        "list column '%s' holds %lld values, the manifest says %lld rows",
                        m->leaves[l].name, (long long)values, (long long)rows);
    break;
  }
  qn_pq_meta_free(m);
}

/* ----- record formats ----- */

/* Problems listed a file before its walk stops. */
#define QN_VERIFY_FILE_PROBLEMS 10

/* A file read through a 1 MiB window at any offset. */
struct qn_vfile {
  int fd;
  uint64_t size;
  uint8_t *win;
  uint64_t off;
  size_t len;
  int problems;    /* listed for this file */
  int mute;        /* reading ahead: its problems are listed when walked */
  int64_t records; /* Examples read */
  int64_t rows;    /* their `n`s */
};

static int qn_vfile_open(struct qn_vfile *f, const char *path) {
  memset(f, 0, sizeof *f);
  struct stat st;
  f->fd = open(path, O_RDONLY | O_CLOEXEC);
  if (f->fd < 0 || fstat(f->fd, &st) != 0) return -1;
  f->size = (uint64_t)st.st_size;
  f->win = malloc((size_t)1 << 20);
  return f->win ? 0 : -1;
}

static void qn_vfile_close(struct qn_vfile *f) {
  if (f->fd >= 0) close(f->fd);
  free(f->win);
}

/* n bytes at off into dst; -1 past the end or on a read error. */
static int qn_vfile_read(struct qn_vfile *f, uint64_t off, void *dst, size_t n) {
  if (off > f->size || n > f->size - off) return -1;
  uint8_t *d = dst;
  while (n > 0) {
    if (off < f->off || off >= f->off + f->len) {
      f->off = off;
      ssize_t got = pread(f->fd, f->win, (size_t)1 << 20, (off_t)off);
      if (got <= 0) return -1;
      f->len = (size_t)got;
    }
    size_t k = QN_MIN(n, (size_t)(f->off + f->len - off));
    memcpy(d, f->win + (off - f->off), k);
    d += k;
    off += k;
    n -= k;
  }
  return 0;
}

static void qn_vfile_problem(struct qn_verify *v, struct qn_vfile *f, const char *name,
                             const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void qn_vfile_problem(struct qn_verify *v, struct qn_vfile *f, const char *name,
                             const char *fmt, ...) {
  char msg[900];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (f->mute) return;
  if (++f->problems <= QN_VERIFY_FILE_PROBLEMS) qn_verify_problem(v, name, "%s", msg);
}

/* One serialized Example: its `n` added up. */
static void qn_verify_example(struct qn_verify *v, struct qn_vfile *f, const char *name,
                              const uint8_t *p, size_t n, const char *where) {
  int64_t k = 0;
  int st = qn_example_find_int64(p, n, "n", &k);
  if (st < 0)
    qn_vfile_problem(v, f, name, "%s: not a tf.train.Example", where);
  else if (st == 0)
    qn_vfile_problem(v, f, name, "%s: its Example has no int64 feature 'n'", where);
  else
    f->rows += k;
  f->records++;
}

/* The counts of a file against its manifest entry. */
static void qn_verify_counts(struct qn_verify *v, struct qn_vfile *f, const char *name,
                             int64_t groups, int64_t rows) {
  if (f->problems > QN_VERIFY_FILE_PROBLEMS)
    qn_verify_problem(v, name, "%d more problems not listed",
                      f->problems - QN_VERIFY_FILE_PROBLEMS);
  if (f->problems) return; /* the counts of a damaged file say nothing more */
  if (f->records != groups)
    qn_verify_problem(v, name, "holds %lld records (keys), the manifest says %lld",
                      (long long)f->records, (long long)groups);
  if (f->rows != rows)
    qn_verify_problem(v, name, "its records' n add up to %lld, the manifest says %lld rows",
                      (long long)f->rows, (long long)rows);
}

/* TFRecord: length | masked CRC-32C of it | data | masked CRC-32C of data. */
static void qn_verify_tfrecord(struct qn_verify *v, const char *path, const char *name,
                               int64_t groups, int64_t rows) {
  struct qn_vfile f;
  uint8_t *data = NULL;
  size_t cap = 0;
  if (qn_vfile_open(&f, path) != 0) {
    qn_verify_problem(v, name, "cannot be read: %s", strerror(errno));
    qn_vfile_close(&f);
    return;
  }
  uint64_t off = 0;
  for (int64_t i = 0; off < f.size && f.problems <= QN_VERIFY_FILE_PROBLEMS; i++) {
    uint8_t h[12], t[4];
    char where[96];
    snprintf(where, sizeof where, "record %lld at byte %llu", (long long)i,
             (unsigned long long)off);
    if (qn_vfile_read(&f, off, h, 12) != 0) {
      qn_vfile_problem(v, &f, name,
                       "%s: %llu bytes left, less than a record header (truncated)", where,
                       (unsigned long long)(f.size - off));
      break;
    }
    uint64_t len = qn_le64_get(h);
    if (qn_crc32c_mask(qn_crc32c(h, 8)) != qn_le32_get(h + 8)) {
      qn_vfile_problem(v, &f, name,
                       "%s: the CRC-32C of its length does not match (corrupt length; the "
                       "records after it are not checked)",
                       where);
      break;
    }
    if (len > f.size - off - 12 || f.size - off - 12 - len < 4) {
      qn_vfile_problem(v, &f, name,
                       "%s: its %llu bytes run past the end of the file (truncated)", where,
                       (unsigned long long)len);
      break;
    }
    if (len > cap) {
      free(data);
      cap = (size_t)len;
      data = malloc(cap);
      if (!data) {
        qn_vfile_problem(v, &f, name, "%s: out of memory reading %llu bytes", where,
                         (unsigned long long)len);
        break;
      }
    }
    if (qn_vfile_read(&f, off + 12, data, (size_t)len) != 0 ||
        qn_vfile_read(&f, off + 12 + len, t, 4) != 0) {
      qn_vfile_problem(v, &f, name, "%s: cannot be read", where);
      break;
    }
    if (qn_crc32c_mask(qn_crc32c(data, (size_t)len)) != qn_le32_get(t))
      qn_vfile_problem(v, &f, name,
                       "%s: the CRC-32C of its %llu bytes of data does not match "
                       "(corrupt data)",
                       where, (unsigned long long)len);
    else
      qn_verify_example(v, &f, name, data, (size_t)len, where);
    off += 16 + len;
  }
  qn_verify_counts(v, &f, name, groups, rows);
  free(data);
  qn_vfile_close(&f);
}

/* ArrayRecord: a chunk read at `begin` (header, data, padding, and the
 * block headers inside it, all checked). */
struct qn_vchunk {
  uint64_t begin, end, data_size, num_records, decoded;
  uint8_t type;
  uint8_t *data; /* malloc'd, data_size bytes */
  int data_ok;
};

/* n bytes of the chunk from logical position *lpos (block headers
 * skipped); returns -1 past the end. */
static int qn_vchunk_read(struct qn_vfile *f, uint64_t *pos, uint8_t *dst, uint64_t n) {
  while (n > 0) {
    if (*pos % QN_RIEGELI_BLOCK == 0) *pos += QN_RIEGELI_BLOCK_HEADER;
    uint64_t k = QN_MIN(n, qn_riegeli_remaining(*pos));
    if (dst) {
      if (qn_vfile_read(f, *pos, dst, (size_t)k) != 0) return -1;
      dst += k;
    } else if (*pos + k > f->size) {
      return -1;
    }
    *pos += k;
    n -= k;
  }
  return 0;
}

/* What a chunk is, for the walk's messages. */
struct qn_vwhere {
  int64_t k;       /* its index in the file */
  uint64_t record; /* the number of its first record */
  uint64_t footer; /* where the footer chunk begins (UINT64_MAX: unknown) */
  uint64_t last;   /* where the postscript chunk begins */
};

/* Reads and checks the chunk at c->begin. Returns 0 when the walk can go
 * on to c->end, -1 when it cannot (problem listed). Names the chunk in
 * `what` ("chunk 5 at byte 300 (record 4)", "... (the footer)"). */
static int qn_vchunk_load(struct qn_verify *v, struct qn_vfile *f, const char *name,
                          struct qn_vchunk *c, const struct qn_vwhere *at, char *what,
                          size_t cap) {
  uint8_t h[QN_RIEGELI_CHUNK_HEADER];
  uint64_t pos = c->begin;
  c->data = NULL;
  c->data_ok = 0;
  int wl = snprintf(what, cap, "chunk %lld at byte %llu", (long long)at->k,
                    (unsigned long long)c->begin);
  if (qn_vchunk_read(f, &pos, h, sizeof h) != 0) {
    qn_vfile_problem(v, f, name, "%s: its header runs past the end of the file (truncated)",
                     what);
    return -1;
  }
  if (qn_riegeli_hash(h + 8, 32) != qn_le64_get(h)) {
    qn_vfile_problem(v, f, name,
                     "%s: the chunk header's hash does not match (corrupt header; the chunks "
                     "after it are not checked)",
                     what);
    return -1;
  }
  c->data_size = qn_le64_get(h + 8);
  c->type = h[24];
  c->num_records = qn_le64_get(h + 24) >> 8;
  c->decoded = qn_le64_get(h + 32);
  c->end = qn_riegeli_chunk_end(c->begin, c->data_size, c->num_records);
  const char *kind = c->type == 'p'           ? " (padding)"
                     : c->begin == at->footer ? " (the footer)"
                     : c->begin == at->last   ? " (the postscript)"
                     : c->type == 's'         ? " (the signature)"
                                              : "";
  if (c->type == 'r' && !*kind && at->footer != UINT64_MAX && c->num_records == 1)
    snprintf(what + wl, cap - (size_t)wl, " (record %llu)", (unsigned long long)at->record);
  else if (c->type == 'r' && !*kind && at->footer != UINT64_MAX && c->num_records > 1)
    snprintf(what + wl, cap - (size_t)wl, " (records %llu to %llu)",
             (unsigned long long)at->record,
             (unsigned long long)(at->record + c->num_records - 1));
  else
    snprintf(what + wl, cap - (size_t)wl, "%s", kind);
  if (c->data_size > f->size || c->end > f->size) {
    qn_vfile_problem(v, f, name, "%s: its %llu bytes run past the end of the file (truncated)",
                     what, (unsigned long long)c->data_size);
    return -1;
  }
  c->data = malloc((size_t)c->data_size + 1);
  if (!c->data || qn_vchunk_read(f, &pos, c->data, c->data_size) != 0) {
    qn_vfile_problem(v, f, name, "%s: cannot be read", what);
    return -1;
  }
  c->data_ok = qn_riegeli_hash(c->data, (size_t)c->data_size) == qn_le64_get(h + 16);
  if (!c->data_ok)
    qn_vfile_problem(v, f, name, "%s: the data hash does not match (corrupt data)", what);
  /* the padding is zeros */
  while (pos < c->end) {
    if (pos % QN_RIEGELI_BLOCK == 0) pos += QN_RIEGELI_BLOCK_HEADER;
    uint64_t k = QN_MIN(c->end - pos, qn_riegeli_remaining(pos));
    uint8_t z[4096];
    for (uint64_t done = 0; done < k;) {
      size_t m = (size_t)QN_MIN(k - done, (uint64_t)sizeof z);
      if (qn_vfile_read(f, pos + done, z, m) != 0) return -1;
      for (size_t i = 0; i < m; i++)
        if (z[i]) {
          qn_vfile_problem(v, f, name, "%s: its padding at byte %llu is not zero", what,
                           (unsigned long long)(pos + done + i));
          done = k;
          break;
        }
      done += m;
    }
    pos += k;
  }
  /* every block header inside it: its hash, and its pointers to this chunk */
  for (uint64_t b = (c->begin + QN_RIEGELI_BLOCK - 1) / QN_RIEGELI_BLOCK * QN_RIEGELI_BLOCK;
       b < c->end; b += QN_RIEGELI_BLOCK) {
    uint8_t bh[QN_RIEGELI_BLOCK_HEADER];
    if (qn_vfile_read(f, b, bh, sizeof bh) != 0) return -1;
    if (qn_riegeli_hash(bh + 8, 16) != qn_le64_get(bh))
      qn_vfile_problem(v, f, name, "block header at byte %llu (in %s): its hash does not match",
                       (unsigned long long)b, what);
    else if (qn_le64_get(bh + 8) != b - c->begin || qn_le64_get(bh + 16) != c->end - b)
      qn_vfile_problem(v, f, name,
                       "block header at byte %llu (in %s): it points to a chunk at %llu to "
                       "%llu, not %llu to %llu",
                       (unsigned long long)b, what,
                       (unsigned long long)(b - qn_le64_get(bh + 8)),
                       (unsigned long long)(b + qn_le64_get(bh + 16)),
                       (unsigned long long)c->begin, (unsigned long long)c->end);
  }
  return 0;
}

/* A simple chunk's records: sizes[] and values (decompressed when zstd).
 * Returns 0 and fills *sizes (malloc'd) and *values (malloc'd or into
 * c->data) when the data decodes as the header says. */
static int qn_vchunk_records(struct qn_vchunk *c, uint64_t **sizes, const uint8_t **values,
                             uint8_t **owned) {
  const uint8_t *p = c->data, *end = c->data + c->data_size;
  uint64_t ss, n = c->num_records;
  *sizes = NULL;
  *owned = NULL;
  if (c->data_size < 1 || (p[0] != 0 && p[0] != 'z') || n > c->data_size * 8 + 8 ||
      c->decoded > ((uint64_t)1 << 34))
    return -1;
  int zstd = *p++ == 'z';
  if (!qn_varint_get(&p, end, &ss) || ss > (uint64_t)(end - p)) return -1;
  const uint8_t *sp = p, *se = p + ss;
  uint8_t *sbuf = NULL, *vbuf = NULL;
  const uint8_t *vp = se, *ve = end;
  if (zstd) {
    uint64_t raw;
    if (!qn_varint_get(&sp, se, &raw) || raw > n * 10 + 10 || !(sbuf = malloc((size_t)raw + 1)))
      return -1;
    if (ZSTD_decompress(sbuf, (size_t)raw, sp, (size_t)(se - sp)) != raw) {
      free(sbuf);
      return -1;
    }
    sp = sbuf;
    se = sbuf + raw;
    if (!qn_varint_get(&vp, ve, &raw) || raw != c->decoded ||
        !(vbuf = malloc((size_t)raw + 1)) ||
        ZSTD_decompress(vbuf, (size_t)raw, vp, (size_t)(ve - vp)) != raw) {
      free(sbuf);
      free(vbuf);
      return -1;
    }
    vp = vbuf;
    ve = vbuf + raw;
  }
  uint64_t *sz = malloc((size_t)n * sizeof *sz + 8), sum = 0;
  int ok = sz != NULL;
  for (uint64_t i = 0; ok && i < n; i++)
    ok = qn_varint_get(&sp, se, &sz[i]) && (sum += sz[i]) <= c->decoded;
  ok = ok && sp == se && sum == c->decoded && (uint64_t)(ve - vp) == c->decoded;
  free(sbuf);
  if (!ok) {
    free(sz);
    free(vbuf);
    return -1;
  }
  *sizes = sz;
  *values = vp;
  *owned = vbuf;
  return 0;
}

struct qn_vindex {
  uint64_t offset, decoded, count;
};

/* Up to 3 varint fields 1..3 of a message in [p, e) into x[]; field 4 (a
 * length) is skipped. 0 when malformed. */
static int qn_vfields(const uint8_t *p, const uint8_t *e, uint64_t x[3]) {
  x[0] = x[1] = x[2] = 0;
  uint64_t tag, val;
  while (p < e) {
    if (!qn_varint_get(&p, e, &tag)) return 0;
    if ((tag & 7) == 0 && tag >> 3 >= 1 && tag >> 3 <= 3) {
      if (!qn_varint_get(&p, e, &x[(tag >> 3) - 1])) return 0;
    } else if ((tag & 7) == 2) {
      if (!qn_varint_get(&p, e, &val) || val > (uint64_t)(e - p)) return 0;
      p += val;
    } else {
      return 0;
    }
  }
  return 1;
}

/* The footer chunk: metadata (version 1, chunks, records) and one index
 * entry a data chunk, against the chunks walked. */
static void qn_verify_footer(struct qn_verify *v, struct qn_vfile *f, const char *name,
                             struct qn_vchunk *c, const struct qn_vindex *idx, int64_t nidx,
                             uint64_t records, const char *chunk) {
  char what[200];
  snprintf(what, sizeof what, "footer (%s)", chunk);
  uint64_t *sz = NULL;
  const uint8_t *vals = NULL;
  uint8_t *owned = NULL;
  if (!c->data_ok) return; /* listed */
  if (c->type != 'r' || qn_vchunk_records(c, &sz, &vals, &owned) != 0 || c->num_records < 1) {
    qn_vfile_problem(v, f, name, "%s: its records do not decode", what);
    goto done;
  }
  /* RiegeliFooterMetadata { array_record_metadata (1) { version, num_chunks, num_records } } */
  const uint8_t *p = vals, *e = vals + sz[0], *inner = NULL;
  uint64_t tag, len = 0, meta[3];
  if (qn_varint_get(&p, e, &tag) && tag == 0x0a && qn_varint_get(&p, e, &len) &&
      len == (uint64_t)(e - p))
    inner = p;
  if (!inner || !qn_vfields(inner, e, meta) || meta[0] != 1) {
    qn_vfile_problem(v, f, name, "%s: no ArrayRecord metadata of version 1", what);
    goto done;
  }
  if (meta[1] != (uint64_t)nidx || meta[2] != records || c->num_records != meta[1] + 1)
    qn_vfile_problem(v, f, name,
                     "%s: it says %llu chunks of %llu records (%llu index entries); the file "
                     "holds %lld chunks of %llu records",
                     what, (unsigned long long)meta[1], (unsigned long long)meta[2],
                     (unsigned long long)(c->num_records - 1), (long long)nidx,
                     (unsigned long long)records);
  vals += sz[0];
  for (uint64_t i = 1; i < c->num_records; i++) {
    uint64_t x[3];
    int64_t j = (int64_t)i - 1;
    if (!qn_vfields(vals, vals + sz[i], x) || j >= nidx || x[0] != idx[j].offset ||
        x[1] != idx[j].decoded || x[2] != idx[j].count) {
      qn_vfile_problem(
          v, f, name,
          "%s: index entry %lld (chunk at %llu, %llu bytes, %llu records) does not "
          "match the chunk walked",
          what, (long long)j, (unsigned long long)x[0], (unsigned long long)x[1],
          (unsigned long long)x[2]);
      break;
    }
    vals += sz[i];
  }
done:
  free(sz);
  free(owned);
}

static void qn_verify_arrayrecord(struct qn_verify *v, const char *path, const char *name,
                                  int64_t groups, int64_t rows) {
  struct qn_vfile f;
  struct qn_vindex *idx = NULL;
  int64_t nidx = 0, capidx = 0;
  char what[160];
  if (qn_vfile_open(&f, path) != 0) {
    qn_verify_problem(v, name, "cannot be read: %s", strerror(errno));
    qn_vfile_close(&f);
    return;
  }
  static const uint8_t sig[24] = {0x83, 0xaf, 0x70, 0xd1, 0x0d, 0x88, 0x4a, 0x3f,
                                  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                  0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  uint8_t head[64];
  if (f.size < QN_RIEGELI_BLOCK || f.size % QN_RIEGELI_BLOCK != 0 ||
      qn_vfile_read(&f, 0, head, 64) != 0) {
    qn_vfile_problem(v, &f, name,
                     "%llu bytes: an ArrayRecord file is whole 64 KiB blocks "
                     "(truncated?)",
                     (unsigned long long)f.size);
    goto done;
  }
  if (memcmp(head, sig, 24) != 0 || head[48] != 's')
    qn_vfile_problem(v, &f, name, "no Riegeli/records signature in its first 64 bytes");
  /* the postscript: the chunk at the last block */
  uint64_t footer = UINT64_MAX;
  struct qn_vchunk ps = {.begin = f.size - QN_RIEGELI_BLOCK};
  struct qn_vwhere at = {-1, 0, UINT64_MAX, ps.begin};
  f.mute = 1; /* the walk below lists what is wrong with it */
  if (qn_vchunk_load(v, &f, name, &ps, &at, what, sizeof what) == 0 && ps.data_ok) {
    uint64_t *sz = NULL;
    const uint8_t *vals = NULL;
    uint8_t *owned = NULL;
    int ok = ps.type == 'r' && ps.num_records == 3 &&
             qn_vchunk_records(&ps, &sz, &vals, &owned) == 0;
    for (int i = 0; ok && i < 3; i++) {
      const uint8_t *p = vals, *e = vals + sz[i];
      uint64_t tag, off = 0, magic = 0;
      while (ok && p < e) {
        ok = qn_varint_get(&p, e, &tag) && (tag == 0x08 || tag == 0x10);
        if (ok) ok = qn_varint_get(&p, e, tag == 0x08 ? &off : &magic);
      }
      if (ok && (magic != QN_ARRAYRECORD_MAGIC || (i > 0 && off != footer))) ok = 0;
      footer = off;
      vals += sz[i];
    }
    f.mute = 0;
    if (!ok) {
      qn_vfile_problem(v, &f, name,
                       "the postscript (the chunk at byte %llu) is not 3 equal "
                       "RiegeliPostscripts with ArrayRecord's magic",
                       (unsigned long long)ps.begin);
      footer = UINT64_MAX;
    }
    free(sz);
    free(owned);
  }
  f.mute = 0;
  free(ps.data);
  /* the chunks, from the signature on; records are read only once the
   * footer is known (the postscript says where data chunks end) */
  uint64_t pos = 0, record = 0;
  int64_t k = 0;
  int seen_footer = 0;
  for (; pos < f.size && f.problems <= QN_VERIFY_FILE_PROBLEMS; k++) {
    struct qn_vchunk c = {.begin = pos};
    at = (struct qn_vwhere){k, record, footer, f.size - QN_RIEGELI_BLOCK};
    if (qn_vchunk_load(v, &f, name, &c, &at, what, sizeof what) != 0) {
      free(c.data);
      break;
    }
    pos = c.end;
    if (k == 0) {
      if (c.type != 's' || c.begin != 0)
        qn_vfile_problem(v, &f, name, "%s: not the signature", what);
    } else if (c.type == 'p') {
      if (c.num_records || c.decoded)
        qn_vfile_problem(v, &f, name, "%s: a padding chunk with records", what);
    } else if (c.type != 'r') {
      qn_vfile_problem(v, &f, name, "%s: chunk type 0x%02x is not one quern writes", what,
                       c.type);
    } else if (c.begin < footer && footer != UINT64_MAX) { /* a data chunk: its records */
      if (nidx == capidx) {
        capidx = capidx ? 2 * capidx : 1024;
        struct qn_vindex *x = realloc(idx, (size_t)capidx * sizeof *x);
        if (!x) {
          free(c.data);
          break;
        }
        idx = x;
      }
      idx[nidx++] = (struct qn_vindex){c.begin, c.decoded, c.num_records};
      uint64_t *sz = NULL;
      const uint8_t *vals = NULL;
      uint8_t *owned = NULL;
      if (c.data_ok && qn_vchunk_records(&c, &sz, &vals, &owned) != 0)
        qn_vfile_problem(v, &f, name, "%s: its records do not decode as its header says", what);
      for (uint64_t i = 0; sz && i < c.num_records; i++) {
        char rw[220];
        snprintf(rw, sizeof rw, "record %llu (chunk %lld at byte %llu)",
                 (unsigned long long)(record + i), (long long)k, (unsigned long long)c.begin);
        qn_verify_example(v, &f, name, vals, (size_t)sz[i], rw);
        vals += sz[i];
      }
      if (!c.data_ok) f.records += (int64_t)c.num_records;
      record += c.num_records;
      free(sz);
      free(owned);
    } else if (c.begin == footer) {
      seen_footer = 1;
      qn_verify_footer(v, &f, name, &c, idx, nidx, record, what);
    }
    free(c.data);
  }
  if (f.problems == 0 && footer != UINT64_MAX && !seen_footer)
    qn_vfile_problem(v, &f, name, "the postscript's footer offset %llu is no chunk's start",
                     (unsigned long long)footer);
done:
  qn_verify_counts(v, &f, name, groups, rows);
  free(idx);
  qn_vfile_close(&f);
}

static int64_t qn_verify_int(json_t *o, const char *key, int *ok) {
  json_t *x = json_object_get(o, key);
  if (!json_is_integer(x)) {
    *ok = 0;
    return 0;
  }
  return (int64_t)json_integer_value(x);
}

/* One listed file: where it is, its size and sum, its framing. */
static void qn_verify_file(struct qn_verify *v, const char *dir, json_t *f, int64_t *groups,
                           int64_t *rows, json_t *listed) {
  int ok = 1;
  const char *name = json_string_value(json_object_get(f, "path"));
  const char *hex = json_string_value(json_object_get(f, "xxh3_128"));
  int64_t g = qn_verify_int(f, "groups", &ok), r = qn_verify_int(f, "rows", &ok),
          bytes = qn_verify_int(f, "bytes", &ok);
  if (!name || !hex || !ok) {
    qn_verify_problem(v, name ? name : "manifest.json",
                      "a file entry lacks path, groups, rows, bytes or xxh3_128");
    return;
  }
  *groups += g;
  *rows += r;
  json_array_append_new(listed, json_string(name));
  if (strchr(name, '/') || !strcmp(name, "..") || !strcmp(name, ".")) {
    qn_verify_problem(v, name, "is not a file name inside the directory");
    return;
  }
  char path[4400];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
    qn_verify_problem(v, name, "is missing");
    return;
  }
  if (st.st_size != bytes) {
    qn_verify_problem(v, name, "has %lld bytes, the manifest says %lld (truncated or altered)",
                      (long long)st.st_size, (long long)bytes);
    return;
  }
  struct qn_checksum sum;
  struct qn_error e;
  qn_error_init(&e);
  if (qn_checksum_file(path, &sum, &e) != QN_OK) {
    qn_verify_problem(v, name, "cannot be read: %s", e.message);
    return;
  }
  char got[33];
  qn_checksum_hex(&sum, got);
  if (strcmp(got, hex) != 0)
    qn_verify_problem(v, name, "XXH3-128 is %s, the manifest says %s (altered)", got, hex);
  if (qn_str_has_suffix(name, ".parquet")) qn_verify_parquet(v, path, name, g, r);
  if (qn_str_has_suffix(name, ".tfrecord")) qn_verify_tfrecord(v, path, name, g, r);
  if (qn_str_has_suffix(name, ".array_record")) qn_verify_arrayrecord(v, path, name, g, r);
}

int qn_verify_run(const char *path, int as_json, FILE *out, int64_t *problems,
                  struct qn_error *err) {
  char dir[4096], mpath[4200];
  struct stat st;
  if (!path || stat(path, &st) != 0)
    return qn_error_set(err, QN_ENOTFOUND, "%s: %s", path ? path : "(none)",
                        path ? strerror(errno) : "no path");
  if (S_ISDIR(st.st_mode)) {
    snprintf(dir, sizeof dir, "%s", path);
    snprintf(mpath, sizeof mpath, "%s/manifest.json", path);
  } else {
    snprintf(mpath, sizeof mpath, "%s", path);
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
      *slash = 0;
    else
      snprintf(dir, sizeof dir, ".");
  }
  json_error_t je;
  json_t *m = json_load_file(mpath, 0, &je);
  if (!m) {
    if (access(mpath, F_OK) != 0)
      return qn_error_set(err, QN_ENOTFOUND, "%s: no manifest.json (not a quern group output?)",
                          path);
    return qn_error_set(err, QN_EFORMAT, "%s: line %d: %s", mpath, je.line, je.text);
  }
  struct qn_verify v = {NULL, out, as_json, json_array(), 0};
  struct qn_context_options co;
  qn_context_options_init(&co);
  co.threads = 1;
  co.progress = 0;
  if (qn_context_new(&co, &v.ctx, err) != QN_OK) {
    json_decref(v.problems);
    json_decref(m);
    return err ? err->code : QN_ENOMEM;
  }
  json_t *listed = json_array();
  int ok = 1;
  int64_t groups = qn_verify_int(m, "groups", &ok), rows = qn_verify_int(m, "rows", &ok),
          nulls = qn_verify_int(m, "null_key_rows", &ok);
  json_t *splits = json_object_get(m, "splits");
  if (!ok || !json_is_array(splits))
    qn_verify_problem(&v, "manifest.json", "lacks groups, rows, null_key_rows or splits");
  int64_t sg = 0, sr = 0, nfiles = 0;
  size_t i;
  json_t *s;
  json_array_foreach(splits, i, s) {
    int sok = 1;
    const char *sname = json_string_value(json_object_get(s, "name"));
    int64_t g = qn_verify_int(s, "groups", &sok), r = qn_verify_int(s, "rows", &sok);
    json_t *files = json_object_get(s, "files");
    if (!sname || !sok || !json_is_array(files)) {
      qn_verify_problem(&v, "manifest.json", "split %zu lacks name, groups, rows or files", i);
      continue;
    }
    int64_t fg = 0, fr = 0;
    size_t k;
    json_t *f;
    json_array_foreach(files, k, f) {
      qn_verify_file(&v, dir, f, &fg, &fr, listed);
      nfiles++;
    }
    if (fg != g || fr != r)
      qn_verify_problem(
          &v, "manifest.json",
          "split '%s': its files hold %lld keys and %lld rows, it says %lld and %lld", sname,
          (long long)fg, (long long)fr, (long long)g, (long long)r);
    sg += g;
    sr += r;
  }
  if (ok && (sg != groups || sr + nulls != rows))
    qn_verify_problem(&v, "manifest.json",
                      "splits hold %lld keys and %lld rows (+ %lld null keys), the totals say "
                      "%lld and %lld",
                      (long long)sg, (long long)sr, (long long)nulls, (long long)groups,
                      (long long)rows);
  /* files present but not listed */
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.' || !strcmp(e->d_name, "manifest.json")) continue;
    int found = 0;
    size_t k;
    json_t *x;
    json_array_foreach(listed, k, x) found |= !strcmp(json_string_value(x), e->d_name);
    if (!found) qn_verify_problem(&v, e->d_name, "is in the directory but not in the manifest");
  }
  if (d) closedir(d);
  if (as_json) {
    json_t *o = json_object();
    json_object_set_new(o, "manifest", json_string(mpath));
    json_object_set_new(o, "files", json_integer(nfiles));
    json_object_set_new(o, "ok", json_boolean(v.nproblems == 0));
    json_object_set_new(o, "problems", v.problems);
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text) fprintf(out, "%s\n", text);
    free(text);
    json_decref(o);
  } else {
    json_decref(v.problems);
    fprintf(out, "%s: %lld file%s checked, %lld problem%s%s\n", dir, (long long)nfiles,
            nfiles == 1 ? "" : "s", (long long)v.nproblems, v.nproblems == 1 ? "" : "s",
            v.nproblems ? "" : ": all holds");
  }
  json_decref(listed);
  json_decref(m);
  qn_context_free(v.ctx);
  *problems = v.nproblems;
  return QN_OK;
}
