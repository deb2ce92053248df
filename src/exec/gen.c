/* gen.c — `quern gen`: synthetic inputs for demos, tests and benchmarks.
 *
 * sim: columns x, y, z uniform in [0, 1) and v standard normal, float64.
 * Every value is a pure function of (seed, column, row): a counter-based
 * generator (a 64-bit mixing function of the counter, SplitMix64's
 * finaliser) gives uniforms, and v comes from Box-Muller on the uniforms of
 * row pair (2k, 2k+1). So the bytes are the same for any thread count, and
 * any row range can be generated independently.
 *
 * HDF5 output: 1-D datasets in chunks of 2^20 rows, written with direct
 * chunk writes (no conversion, no chunk cache) by the main thread while
 * workers fill the next chunk. Memory: two chunk sets (2 × 4 × 8 MiB).
 */
#include <hdf5.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "exec/qn_exec.h"

#define QN_GEN_CHUNK_ROWS ((int64_t)1 << 20)

void qn_gen_sim_fill(uint64_t seed, int64_t row0, int64_t n, double *x, double *y, double *z,
                     double *v) {
  for (int64_t i = 0; i < n; i++) {
    uint64_t r = (uint64_t)(row0 + i);
    x[i] = qn_gen_uniform(seed, 1, r);
    y[i] = qn_gen_uniform(seed, 2, r);
    z[i] = qn_gen_uniform(seed, 3, r);
  }
  /* Box-Muller on pairs: rows 2k and 2k+1 share u1, u2 of pair k. */
  int64_t i = 0;
  while (i < n) {
    uint64_t pair = (uint64_t)(row0 + i) / 2;
    double u1 = 1.0 - qn_gen_uniform(seed, 4, pair); /* (0, 1]: log is finite */
    double u2 = qn_gen_uniform(seed, 5, pair);
    double rad = sqrt(-2.0 * log(u1)), ang = 2.0 * M_PI * u2;
    if ((row0 + i) % 2 == 0) {
      v[i++] = rad * cos(ang);
      if (i < n) v[i++] = rad * sin(ang);
    } else {
      v[i++] = rad * sin(ang);
    }
  }
}

struct qn_gen_fill {
  uint64_t seed;
  int64_t row0, n;
  double *const *cols;
  int nworkers;
};

static void qn_gen_fill_worker(void *arg, int w) {
  struct qn_gen_fill *g = arg;
  /* even split points keep the Box-Muller pairs inside one worker */
  int64_t per = ((g->n / g->nworkers) + 1) & ~(int64_t)1;
  int64_t a = QN_MIN(g->n, per * w), b = QN_MIN(g->n, per * (w + 1));
  if (w == g->nworkers - 1) b = g->n;
  if (b > a)
    qn_gen_sim_fill(g->seed, g->row0 + a, b - a, g->cols[0] + a, g->cols[1] + a, g->cols[2] + a,
                    g->cols[3] + a);
}

int qn_gen_sim_fill_parallel(struct qn_context *ctx, uint64_t seed, int64_t row0, int64_t n,
                             double *const cols[4], struct qn_error *err) {
  struct qn_gen_fill g = {seed, row0, n, cols,
                          (int)QN_MIN((int64_t)qn_context_threads(ctx), QN_MAX(1, n / 65536))};
  return qn_pool_run(ctx, g.nworkers, qn_gen_fill_worker, &g, err);
}

static int qn_gen_sim_h5(struct qn_context *ctx, const struct qn_gen_options *opt,
                         struct qn_error *err) {
  static const char *names[4] = {"x", "y", "z", "v"};
  int status = QN_OK;
  struct qn_outfile *out = NULL;
  hid_t file = -1, dsets[4] = {-1, -1, -1, -1};
  double *buf = NULL;
  struct qn_progress *prog = NULL;
  int64_t chunk = QN_MIN(QN_GEN_CHUNK_ROWS, QN_MAX(opt->rows, 1));
  QN_CHECK(qn_outfile_open(opt->output, &out, err));
  QN_CHECK(qn_outfile_close_stream(out, err));
  buf = qn_mem_alloc(ctx, (size_t)chunk * 4 * sizeof(double), "generator chunk buffers", err);
  if (!buf) {
    status = err ? err->code : QN_ELIMIT;
    goto done;
  }
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  file = H5Fcreate(qn_outfile_temp_path(out), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (file < 0) {
    status = qn_error_set(err, QN_EIO, "%s: cannot create HDF5 file", opt->output);
    goto done;
  }
  hsize_t dims[1] = {(hsize_t)opt->rows}, cdims[1] = {(hsize_t)chunk};
  hid_t space = H5Screate_simple(1, dims, NULL);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  if (opt->rows > 0) H5Pset_chunk(dcpl, 1, cdims);
  H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
  H5Pset_obj_track_times(dcpl, 0); /* no timestamps: same seed, same bytes */
  H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_INCR);
  for (int c = 0; c < 4; c++) {
    dsets[c] =
        H5Dcreate2(file, names[c], H5T_IEEE_F64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (dsets[c] < 0)
      status = qn_error_set(err, QN_EIO, "%s: cannot create dataset %s", opt->output, names[c]);
  }
  H5Pclose(dcpl);
  H5Sclose(space);
  if (status != QN_OK) goto done;
  prog = qn_progress_start(ctx, "gen", opt->rows);
  double *const cols[4] = {buf, buf + chunk, buf + 2 * chunk, buf + 3 * chunk};
  for (int64_t row0 = 0; row0 < opt->rows; row0 += chunk) {
    int64_t n = QN_MIN(chunk, opt->rows - row0);
    qn_progress_add(prog, n);
    if (n < chunk) memset(buf, 0, (size_t)chunk * 4 * sizeof(double)); /* pad the edge chunk */
    QN_CHECK(qn_gen_sim_fill_parallel(ctx, opt->seed, row0, n, cols, err));
    hsize_t off[1] = {(hsize_t)row0};
    for (int c = 0; c < 4; c++) {
      if (H5Dwrite_chunk(dsets[c], H5P_DEFAULT, 0, off, (size_t)chunk * sizeof(double),
                         buf + c * chunk) < 0) {
        status = qn_error_set(err, QN_EIO, "%s: cannot write rows %lld.. of %s (disk full?)",
                              opt->output, (long long)row0, names[c]);
        goto done;
      }
    }
  }
  for (int c = 0; c < 4; c++) {
    H5Dclose(dsets[c]);
    dsets[c] = -1;
  }
  if (H5Fclose(file) < 0) {
    file = -1;
    status = qn_error_set(err, QN_EIO, "%s: cannot finish the HDF5 file", opt->output);
    goto done;
  }
  file = -1;
  status = qn_outfile_commit(out, err);
  out = NULL;
done:
  qn_progress_finish(prog);
  for (int c = 0; c < 4; c++)
    if (dsets[c] >= 0) H5Dclose(dsets[c]);
  if (file >= 0) H5Fclose(file);
  qn_outfile_abort(out);
  qn_mem_free(ctx, buf);
  return status;
}

/* gen_parquet.c */
int qn_gen_sim_parquet(struct qn_context *ctx, const struct qn_gen_options *opt,
                       struct qn_error *err);
int qn_gen_measurements(struct qn_context *ctx, const struct qn_gen_options *opt,
                        struct qn_error *err);

void qn_gen_options_init(struct qn_gen_options *opt) {
  memset(opt, 0, sizeof *opt);
  opt->seed = 42;
  opt->keys = 0;
}

int qn_gen_run(struct qn_context *ctx, const struct qn_gen_options *opt, struct qn_error *err) {
  if (!opt || !opt->kind)
    return qn_error_set(err, QN_EINVAL, "gen: which data? 'sim' or 'measurements'");
  if (opt->rows < 0)
    return qn_error_set(err, QN_EINVAL, "gen: the number of rows must be >= 0, got %lld",
                        (long long)opt->rows);
  if (!opt->output) return qn_error_set(err, QN_EINVAL, "gen: no output file given");
  int parquet =
      qn_str_has_suffix(opt->output, ".parquet") || qn_str_has_suffix(opt->output, ".pq");
  int hdf5 = qn_str_has_suffix(opt->output, ".h5") || qn_str_has_suffix(opt->output, ".hdf5");
  if (strcmp(opt->kind, "sim") == 0) {
    if (hdf5) return qn_gen_sim_h5(ctx, opt, err);
    if (parquet) return qn_gen_sim_parquet(ctx, opt, err);
    return qn_error_set(err, QN_EINVAL, "%s: output must end in .h5, .hdf5 or .parquet",
                        opt->output);
  }
  if (strcmp(opt->kind, "measurements") == 0) {
    if (!parquet)
      return qn_error_set(err, QN_EINVAL, "%s: measurements are written as .parquet",
                          opt->output);
    return qn_gen_measurements(ctx, opt, err);
  }
  return qn_error_set(err, QN_EINVAL, "gen: unknown kind '%s' (expected sim or measurements)",
                      opt->kind);
}
