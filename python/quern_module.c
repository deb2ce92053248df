/* quern_module.c — the CPython extension `quern._quern`: libquern's jobs
 * for Python, numpy arrays in and out.
 *
 * This file is the thin C layer; quern/__init__.py gives the numpy and
 * scipy signatures (bins, ranges, density, result tuples) on top of it.
 * It uses only include/quern.h.
 *
 * Every job runs on a helper thread while the calling thread waits with
 * the GIL released, waking every 50 ms to take the GIL back for a moment
 * and run Python's signal handlers (PyErr_CheckSignals). When one raises
 * (Ctrl-C: KeyboardInterrupt) the job's context is cancelled, the scan
 * stops at its next morsel, the helper is joined and the exception goes
 * up. Other Python threads run all the while.
 *
 * Arrays: the caller's numpy arrays are read in place through
 * qn_source_open_arrays (dense ones without a copy, strided ones a block
 * at a time); the module holds a reference to each until the job is done.
 * Memory: the limit counts quern's own allocations only (limit_own_only):
 * the arrays the Python process already holds are not ours to budget.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>

#include <pthread.h>
#include <quern.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static PyObject *qn_py_memory_limit_error; /* quern.MemoryLimitError */
static PyObject *qn_py_format_error;       /* quern.FormatError */
static PyObject *qn_py_error;              /* quern.Error: the base of both */

/* ----- errors ----------------------------------------------------------- */

/* Raises the Python exception for a quern status, with quern's message. */
static PyObject *qn_py_raise(int status, const struct qn_error *err) {
  PyObject *type = qn_py_error;
  switch (status) {
    case QN_EINVAL:
    case QN_ESCHEMA:
      type = PyExc_ValueError;
      break;
    case QN_ELIMIT:
      type = qn_py_memory_limit_error;
      break;
    case QN_ENOMEM:
      type = PyExc_MemoryError;
      break;
    case QN_ENOTFOUND:
      type = PyExc_FileNotFoundError;
      break;
    case QN_EFORMAT:
    case QN_EUNSUPPORTED:
      type = qn_py_format_error;
      break;
    case QN_EIO:
      type = PyExc_OSError;
      break;
    default:
      break;
  }
  const char *msg = err && err->message[0] ? err->message : qn_status_str(status);
  PyErr_SetString(type, msg);
  return NULL;
}

/* ----- context from threads= and memory_limit= ------------------------- */

/* memory_limit: None (80% of physical memory), an int (bytes) or a size
 * string such as "256M". */
static int qn_py_context(PyObject *threads, PyObject *limit, struct qn_context **out) {
  struct qn_context_options co;
  qn_context_options_init(&co);
  co.progress = 0;
  co.quiet = 1;
  co.limit_own_only = 1;
  struct qn_error err;
  qn_error_init(&err);
  if (threads && threads != Py_None) {
    long t = PyLong_AsLong(threads);
    if (t == -1 && PyErr_Occurred()) return -1;
    if (t < 0 || t > 4096) {
      PyErr_Format(PyExc_ValueError, "threads must be between 0 (every core) and 4096, got %ld",
                   t);
      return -1;
    }
    co.threads = (int)t;
  }
  if (limit && limit != Py_None) {
    if (PyUnicode_Check(limit)) {
      const char *text = PyUnicode_AsUTF8(limit);
      if (!text) return -1;
      int st = qn_parse_size(text, &co.memory_limit, &err);
      if (st != QN_OK) {
        qn_py_raise(st, &err);
        return -1;
      }
    } else {
      long long v = PyLong_AsLongLong(limit);
      if (v == -1 && PyErr_Occurred()) return -1;
      co.memory_limit = v;
    }
    if (co.memory_limit <= 0) {
      PyErr_SetString(PyExc_ValueError, "memory_limit must be a positive number of bytes");
      return -1;
    }
  }
  int st = qn_context_new(&co, out, &err);
  if (st != QN_OK) {
    qn_py_raise(st, &err);
    return -1;
  }
  return 0;
}

/* ----- running a job off the calling thread ----------------------------- */

struct qn_py_job {
  int (*fn)(struct qn_py_job *job); /* runs on the helper thread */
  void *arg;
  struct qn_context *ctx;
  int status;
  struct qn_error err;
  int done;
  pthread_mutex_t lock;
  pthread_cond_t cond;
};

static void *qn_py_job_main(void *arg) {
  struct qn_py_job *job = arg;
  int st = job->fn(job);
  pthread_mutex_lock(&job->lock);
  job->status = st;
  job->done = 1;
  pthread_cond_signal(&job->cond);
  pthread_mutex_unlock(&job->lock);
  return NULL;
}

/* Runs job->fn on a helper thread; returns 0 when it finished with QN_OK,
 * -1 with a Python exception set otherwise: quern's error (job->status,
 * job->err), a signal handler's (the job was cancelled and has finished)
 * or a thread that could not start. Called with the GIL held. */
static int qn_py_job_run(struct qn_py_job *job) {
  qn_error_init(&job->err);
  job->done = 0;
  pthread_mutex_init(&job->lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&job->cond, &ca);
  pthread_condattr_destroy(&ca);
  pthread_t tid;
  int interrupted = 0;
  if (pthread_create(&tid, NULL, qn_py_job_main, job) != 0) {
    PyErr_SetString(PyExc_RuntimeError, "quern: cannot start a thread");
    interrupted = 1;
    goto done;
  }
  PyThreadState *ts = PyEval_SaveThread();
  pthread_mutex_lock(&job->lock);
  while (!job->done) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_nsec += 50 * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
      t.tv_sec++;
      t.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&job->cond, &job->lock, &t);
    if (job->done || interrupted) continue;
    pthread_mutex_unlock(&job->lock);
    PyEval_RestoreThread(ts);
    if (PyErr_CheckSignals() != 0) { /* the exception stays set */
      interrupted = 1;
      qn_context_cancel(job->ctx);
    }
    ts = PyEval_SaveThread();
    pthread_mutex_lock(&job->lock);
  }
  pthread_mutex_unlock(&job->lock);
  pthread_join(tid, NULL);
  PyEval_RestoreThread(ts);
done:
  pthread_cond_destroy(&job->cond);
  pthread_mutex_destroy(&job->lock);
  if (interrupted) return -1;
  if (job->status != QN_OK) {
    qn_py_raise(job->status, &job->err);
    return -1;
  }
  return 0;
}

/* ----- sources: paths or arrays ----------------------------------------- */

static int qn_py_type(PyArrayObject *a, enum qn_type *out) {
  switch (PyArray_TYPE(a)) {
    case NPY_BOOL:
    case NPY_UINT8:
      *out = QN_UINT8;
      return 0;
    case NPY_INT8:
      *out = QN_INT8;
      return 0;
    case NPY_INT16:
      *out = QN_INT16;
      return 0;
    case NPY_UINT16:
      *out = QN_UINT16;
      return 0;
    case NPY_INT32:
      *out = QN_INT32;
      return 0;
    case NPY_UINT32:
      *out = QN_UINT32;
      return 0;
    case NPY_INT64:
    case NPY_LONGLONG:
      *out = QN_INT64;
      return 0;
    case NPY_UINT64:
    case NPY_ULONGLONG:
      *out = QN_UINT64;
      return 0;
    case NPY_FLOAT32:
      *out = QN_FLOAT32;
      return 0;
    case NPY_FLOAT64:
      *out = QN_FLOAT64;
      return 0;
    default:
      return -1;
  }
}

/* The inputs of a job: file paths, or named 1-D arrays. */
struct qn_py_inputs {
  char **paths;
  int npaths;
  struct qn_array_column *cols;
  PyObject **held; /* a reference per array, dropped at the end */
  int ncols;
};

static void qn_py_inputs_reset(struct qn_py_inputs *in) {
  for (int i = 0; i < in->npaths; i++) free(in->paths[i]);
  free(in->paths);
  for (int i = 0; i < in->ncols; i++) {
    free((char *)in->cols[i].name);
    Py_XDECREF(in->held[i]);
  }
  free(in->cols);
  free(in->held);
  memset(in, 0, sizeof *in);
}

/* A str or os.PathLike, or a sequence of them: paths. A dict of name ->
 * 1-D array (int or float, native byte order, aligned): arrays. */
static int qn_py_inputs_parse(PyObject *obj, struct qn_py_inputs *in) {
  memset(in, 0, sizeof *in);
  if (PyDict_Check(obj)) {
    Py_ssize_t n = PyDict_Size(obj), pos = 0;
    in->cols = calloc((size_t)n + 1, sizeof *in->cols);
    in->held = calloc((size_t)n + 1, sizeof *in->held);
    if (!in->cols || !in->held) {
      PyErr_NoMemory();
      return -1;
    }
    PyObject *key, *val;
    while (PyDict_Next(obj, &pos, &key, &val)) {
      const char *name = PyUnicode_Check(key) ? PyUnicode_AsUTF8(key) : NULL;
      if (!name) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "column names must be str");
        return -1;
      }
      if (!PyArray_Check(val) || PyArray_NDIM((PyArrayObject *)val) != 1) {
        PyErr_Format(PyExc_ValueError, "column '%s' must be a 1-D numpy array", name);
        return -1;
      }
      PyArrayObject *a = (PyArrayObject *)val;
      struct qn_array_column *c = &in->cols[in->ncols];
      if (qn_py_type(a, &c->type) != 0 || !PyArray_ISNBO(PyArray_DESCR(a)->byteorder) ||
          !PyArray_ISALIGNED(a) || PyArray_STRIDE(a, 0) < 0 ||
          (PyArray_STRIDE(a, 0) == 0 && PyArray_DIM(a, 0) > 1)) {
        PyErr_Format(PyExc_TypeError,
                     "column '%s': quern reads integer and float arrays in native byte "
                     "order, aligned, with a positive stride",
                     name);
        return -1;
      }
      c->name = strdup(name);
      if (!c->name) {
        PyErr_NoMemory();
        return -1;
      }
      Py_INCREF(val);
      in->held[in->ncols++] = val;
      c->rows = (int64_t)PyArray_DIM(a, 0);
      c->data = PyArray_DATA(a);
      c->stride = PyArray_DIM(a, 0) > 1 ? (int64_t)PyArray_STRIDE(a, 0) : 0;
      if (c->stride == (int64_t)PyArray_ITEMSIZE(a)) c->stride = 0; /* dense */
    }
    return 0;
  }
  PyObject *seq = NULL;
  if (PyUnicode_Check(obj) || PyBytes_Check(obj) || PyObject_HasAttrString(obj, "__fspath__"))
    seq = PyTuple_Pack(1, obj);
  else
    seq = PySequence_Fast(obj, "paths must be a path or a sequence of paths");
  if (!seq) return -1;
  Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
  int status = -1;
  in->paths = calloc((size_t)n + 1, sizeof *in->paths);
  if (!in->paths) {
    PyErr_NoMemory();
    goto done;
  }
  for (Py_ssize_t i = 0; i < n; i++) {
    PyObject *b = NULL;
    if (!PyUnicode_FSConverter(PySequence_Fast_GET_ITEM(seq, i), &b)) goto done;
    in->paths[in->npaths] = strdup(PyBytes_AS_STRING(b));
    Py_DECREF(b);
    if (!in->paths[in->npaths++]) {
      PyErr_NoMemory();
      goto done;
    }
  }
  if (n == 0) {
    PyErr_SetString(PyExc_ValueError, "no input path given");
    goto done;
  }
  status = 0;
done:
  Py_DECREF(seq);
  return status;
}

/* Opens the source (on the helper thread: globbing and probing files can
 * take a while). */
static int qn_py_inputs_open(struct qn_context *ctx, const struct qn_py_inputs *in,
                             struct qn_source **src, struct qn_error *err) {
  if (in->ncols > 0) return qn_source_open_arrays(ctx, "arrays", in->cols, in->ncols, src, err);
  return qn_source_open(ctx, (const char *const *)in->paths, in->npaths, src, err);
}

/* ----- bin -------------------------------------------------------------- */

struct qn_py_bin {
  struct qn_py_inputs in;
  struct qn_bin_axis_spec axes[QN_BIN_MAX_AXES];
  int naxes;
  char *value, *weight;
  enum qn_bin_stat stats[QN_BIN_NSTATS];
  int nstats;
  struct qn_bin_result *res;
};

static int qn_py_bin_fn(struct qn_py_job *job) {
  struct qn_py_bin *b = job->arg;
  struct qn_source *src = NULL;
  int st = qn_py_inputs_open(job->ctx, &b->in, &src, &job->err);
  if (st == QN_OK) {
    struct qn_bin_options opt;
    qn_bin_options_init(&opt);
    opt.axes = b->axes;
    opt.naxes = b->naxes;
    opt.value = b->value;
    opt.weight = b->weight;
    opt.stats = b->stats;
    opt.nstats = b->nstats;
    st = qn_bin_run(job->ctx, src, &opt, &b->res, &job->err);
  }
  qn_source_close(src);
  return st;
}

static char *qn_py_strdup_opt(PyObject *o, const char *what, int *fail) {
  if (!o || o == Py_None) return NULL;
  const char *s = PyUnicode_Check(o) ? PyUnicode_AsUTF8(o) : NULL;
  if (!s) {
    if (!PyErr_Occurred()) PyErr_Format(PyExc_TypeError, "%s must be a str", what);
    *fail = 1;
    return NULL;
  }
  char *d = strdup(s);
  if (!d) {
    PyErr_NoMemory();
    *fail = 1;
  }
  return d;
}

/* An axis: a spec string ("x:100:0:1", "x:100", "x@0,1,2"), or a tuple
 * (column, bins, lo, hi) with lo and hi None for the data's range, or
 * (column, edges) with edges a sequence of floats. */
static int qn_py_axis_parse(PyObject *o, struct qn_bin_axis_spec *spec) {
  struct qn_error err;
  qn_error_init(&err);
  if (PyUnicode_Check(o)) {
    const char *text = PyUnicode_AsUTF8(o);
    if (!text) return -1;
    int st = qn_bin_axis_parse(text, spec, &err);
    if (st != QN_OK) {
      qn_py_raise(st, &err);
      return -1;
    }
    return 0;
  }
  if (!PyTuple_Check(o) || (PyTuple_GET_SIZE(o) != 2 && PyTuple_GET_SIZE(o) != 4)) {
    PyErr_SetString(PyExc_TypeError,
                    "an axis is a spec string, (column, bins, lo, hi) or (column, edges)");
    return -1;
  }
  int fail = 0;
  spec->column = qn_py_strdup_opt(PyTuple_GET_ITEM(o, 0), "an axis column", &fail);
  if (fail) return -1;
  if (!spec->column) {
    PyErr_SetString(PyExc_TypeError, "an axis needs a column name");
    return -1;
  }
  if (PyTuple_GET_SIZE(o) == 4) {
    long long bins = PyLong_AsLongLong(PyTuple_GET_ITEM(o, 1));
    if (bins == -1 && PyErr_Occurred()) return -1;
    if (bins < 1) {
      PyErr_Format(PyExc_ValueError,
                   "axis '%s': the number of bins must be at least 1, got %lld", spec->column,
                   bins);
      return -1;
    }
    spec->bins = bins;
    PyObject *lo = PyTuple_GET_ITEM(o, 2), *hi = PyTuple_GET_ITEM(o, 3);
    spec->auto_range = lo == Py_None || hi == Py_None;
    if (!spec->auto_range) {
      spec->lo = PyFloat_AsDouble(lo);
      spec->hi = PyFloat_AsDouble(hi);
      if (PyErr_Occurred()) return -1;
    }
    return 0;
  }
  PyArrayObject *e = (PyArrayObject *)PyArray_FROMANY(PyTuple_GET_ITEM(o, 1), NPY_FLOAT64, 1, 1,
                                                      NPY_ARRAY_CARRAY_RO);
  if (!e) return -1;
  npy_intp n = PyArray_DIM(e, 0);
  spec->edges = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
  if (!spec->edges) {
    Py_DECREF(e);
    PyErr_NoMemory();
    return -1;
  }
  memcpy(spec->edges, PyArray_DATA(e), sizeof(double) * (size_t)n);
  spec->nedges = n;
  Py_DECREF(e);
  return 0;
}

/* A new float64 array of the result's grid shape holding `v`. */
static PyObject *qn_py_grid(const struct qn_bin_result *res, const double *v) {
  int nd = qn_bin_result_naxes(res);
  npy_intp dims[QN_BIN_MAX_AXES];
  npy_intp cells = 1;
  for (int a = 0; a < nd; a++) {
    dims[a] = (npy_intp)qn_bin_result_nbins(res, a);
    cells *= dims[a];
  }
  PyObject *arr = PyArray_SimpleNew(nd, dims, NPY_FLOAT64);
  if (arr) memcpy(PyArray_DATA((PyArrayObject *)arr), v, sizeof(double) * (size_t)cells);
  return arr;
}

/* The result as a dict: each statistic asked for, "edges" (a list of
 * float64 arrays), "axes" (names), "rows", "out_of_range". */
static PyObject *qn_py_bin_dict(const struct qn_bin_result *res, const struct qn_py_bin *b) {
  PyObject *d = PyDict_New(), *edges = NULL, *names = NULL;
  if (!d) return NULL;
  int nd = qn_bin_result_naxes(res);
  if (!(edges = PyList_New(nd)) || !(names = PyList_New(nd))) goto fail;
  for (int a = 0; a < nd; a++) {
    npy_intp n = (npy_intp)qn_bin_result_nbins(res, a) + 1;
    PyObject *e = PyArray_SimpleNew(1, &n, NPY_FLOAT64);
    if (!e) goto fail;
    memcpy(PyArray_DATA((PyArrayObject *)e), qn_bin_result_edges(res, a),
           sizeof(double) * (size_t)n);
    PyList_SET_ITEM(edges, a, e);
    PyObject *nm = PyUnicode_FromString(qn_bin_result_axis_name(res, a));
    if (!nm) goto fail;
    PyList_SET_ITEM(names, a, nm);
  }
  if (PyDict_SetItemString(d, "edges", edges) || PyDict_SetItemString(d, "axes", names))
    goto fail;
  Py_CLEAR(edges);
  Py_CLEAR(names);
  for (int i = 0; i < b->nstats; i++) {
    const double *v = qn_bin_result_stat(res, b->stats[i]);
    if (!v) continue;
    PyObject *g = qn_py_grid(res, v);
    if (!g) goto fail;
    int bad = PyDict_SetItemString(d, qn_bin_stat_name(b->stats[i]), g);
    Py_DECREF(g);
    if (bad) goto fail;
  }
  PyObject *rows = PyLong_FromLongLong(qn_bin_result_rows(res));
  PyObject *oor = PyLong_FromLongLong(qn_bin_result_out_of_range(res));
  int bad = !rows || !oor || PyDict_SetItemString(d, "rows", rows) ||
            PyDict_SetItemString(d, "out_of_range", oor);
  Py_XDECREF(rows);
  Py_XDECREF(oor);
  if (bad) goto fail;
  return d;
fail:
  Py_XDECREF(edges);
  Py_XDECREF(names);
  Py_DECREF(d);
  return NULL;
}

static PyObject *qn_py_run_bin(PyObject *self, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"inputs", "axes",    "value",        "weight",
                           "stats",  "threads", "memory_limit", NULL};
  PyObject *inputs, *axes, *value = Py_None, *weight = Py_None, *stats = Py_None;
  PyObject *threads = Py_None, *limit = Py_None, *out = NULL;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|OOOOO", kwlist, &inputs, &axes, &value,
                                   &weight, &stats, &threads, &limit))
    return NULL;
  struct qn_py_bin b;
  memset(&b, 0, sizeof b);
  struct qn_py_job job;
  memset(&job, 0, sizeof job);
  int fail = 0;
  if (qn_py_inputs_parse(inputs, &b.in) != 0) goto done;
  PyObject *ax = PySequence_Fast(axes, "axes must be a sequence");
  if (!ax) goto done;
  Py_ssize_t na = PySequence_Fast_GET_SIZE(ax);
  if (na < 1 || na > QN_BIN_MAX_AXES) {
    Py_DECREF(ax);
    PyErr_Format(PyExc_ValueError, "between 1 and %d axes are needed, got %zd", QN_BIN_MAX_AXES,
                 na);
    goto done;
  }
  for (Py_ssize_t i = 0; i < na; i++) {
    b.naxes++;
    if (qn_py_axis_parse(PySequence_Fast_GET_ITEM(ax, i), &b.axes[i]) != 0) {
      Py_DECREF(ax);
      goto done;
    }
  }
  Py_DECREF(ax);
  b.value = qn_py_strdup_opt(value, "value", &fail);
  if (!fail) b.weight = qn_py_strdup_opt(weight, "weight", &fail);
  if (fail) goto done;
  if (stats != Py_None) {
    const char *text = PyUnicode_Check(stats) ? PyUnicode_AsUTF8(stats) : NULL;
    if (!text) {
      if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "stats must be a str");
      goto done;
    }
    struct qn_error err;
    qn_error_init(&err);
    int st = qn_bin_stats_parse(text, b.stats, &b.nstats, &err);
    if (st != QN_OK) {
      qn_py_raise(st, &err);
      goto done;
    }
  } else {
    b.stats[0] = QN_BIN_COUNT;
    b.nstats = 1;
  }
  if (qn_py_context(threads, limit, &job.ctx) != 0) goto done;
  job.fn = qn_py_bin_fn;
  job.arg = &b;
  if (qn_py_job_run(&job) != 0) goto done;
  out = qn_py_bin_dict(b.res, &b);
done:
  qn_bin_result_free(b.res);
  for (int i = 0; i < b.naxes; i++) qn_bin_axis_spec_reset(&b.axes[i]);
  free(b.value);
  free(b.weight);
  qn_py_inputs_reset(&b.in);
  qn_context_free(job.ctx);
  return out;
}

/* ----- stats ------------------------------------------------------------ */

struct qn_py_stats {
  struct qn_py_inputs in;
  char **columns;
  int ncolumns;
  int per_file;
  char *json_path;
};

static int qn_py_stats_fn(struct qn_py_job *job) {
  struct qn_py_stats *s = job->arg;
  struct qn_source *src = NULL;
  struct qn_stats_result *res = NULL;
  int st = qn_py_inputs_open(job->ctx, &s->in, &src, &job->err);
  if (st == QN_OK) {
    struct qn_stats_options opt;
    qn_stats_options_init(&opt);
    opt.columns = (const char *const *)s->columns;
    opt.ncolumns = s->ncolumns;
    opt.per_file = s->per_file;
    st = qn_stats_run(job->ctx, src, &opt, &res, &job->err);
  }
  if (st == QN_OK) st = qn_stats_write_json(res, s->json_path, &job->err);
  qn_stats_result_free(res);
  qn_source_close(src);
  return st;
}

/* Frees a NULL-terminated list of strings. */
static void qn_py_strv_free(char **v) {
  for (char **p = v; p && *p; p++) free(*p);
  free(v);
}

/* None, or a sequence of str, into a NULL-terminated list. */
static int qn_py_strv(PyObject *o, const char *what, char ***out, int *n) {
  *out = NULL;
  *n = 0;
  if (!o || o == Py_None) return 0;
  if (PyUnicode_Check(o)) {
    PyErr_Format(PyExc_TypeError, "%s must be a list of str, not a str", what);
    return -1;
  }
  PyObject *seq = PySequence_Fast(o, "expected a sequence of str");
  if (!seq) return -1;
  Py_ssize_t len = PySequence_Fast_GET_SIZE(seq);
  char **v = calloc((size_t)len + 1, sizeof *v);
  if (!v) {
    Py_DECREF(seq);
    PyErr_NoMemory();
    return -1;
  }
  for (Py_ssize_t i = 0; i < len; i++) {
    int fail = 0;
    v[i] = qn_py_strdup_opt(PySequence_Fast_GET_ITEM(seq, i), what, &fail);
    if (fail || !v[i]) {
      if (!fail) PyErr_Format(PyExc_TypeError, "%s must be str", what);
      qn_py_strv_free(v);
      Py_DECREF(seq);
      return -1;
    }
  }
  Py_DECREF(seq);
  *out = v;
  *n = (int)len;
  return 0;
}

/* Writes the stats JSON of the CLI to json_path (the Python side reads it
 * back into a dict, so both are the same document). */
static PyObject *qn_py_run_stats(PyObject *self, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"inputs",  "json_path",    "columns", "per_file",
                           "threads", "memory_limit", NULL};
  PyObject *inputs, *path, *columns = Py_None, *threads = Py_None, *limit = Py_None;
  int per_file = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "OO&|OpOO", kwlist, &inputs, PyUnicode_FSConverter,
                                   &path, &columns, &per_file, &threads, &limit))
    return NULL;
  struct qn_py_stats s;
  memset(&s, 0, sizeof s);
  struct qn_py_job job;
  memset(&job, 0, sizeof job);
  PyObject *out = NULL;
  s.per_file = per_file;
  s.json_path = strdup(PyBytes_AS_STRING(path));
  Py_DECREF(path);
  if (!s.json_path) {
    PyErr_NoMemory();
    goto done;
  }
  if (qn_py_inputs_parse(inputs, &s.in) != 0) goto done;
  if (qn_py_strv(columns, "columns", &s.columns, &s.ncolumns) != 0) goto done;
  if (qn_py_context(threads, limit, &job.ctx) != 0) goto done;
  job.fn = qn_py_stats_fn;
  job.arg = &s;
  if (qn_py_job_run(&job) != 0) goto done;
  out = Py_NewRef(Py_None);
done:
  free(s.json_path);
  qn_py_strv_free(s.columns);
  qn_py_inputs_reset(&s.in);
  qn_context_free(job.ctx);
  return out;
}

/* ----- info ------------------------------------------------------------- */

struct qn_py_info {
  const char *path;
  char *text;
  size_t len;
};

static int qn_py_info_fn(struct qn_py_job *job) {
  struct qn_py_info *i = job->arg;
  FILE *f = open_memstream(&i->text, &i->len);
  if (!f) return qn_error_set(&job->err, QN_ENOMEM, "out of memory");
  int st = qn_info_print(job->ctx, i->path, 1, f, &job->err);
  fclose(f);
  return st;
}

/* The JSON text `quern info --json` prints. */
static PyObject *qn_py_run_info(PyObject *self, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"path", "threads", "memory_limit", NULL};
  PyObject *path, *threads = Py_None, *limit = Py_None, *out = NULL;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|OO", kwlist, PyUnicode_FSConverter, &path,
                                   &threads, &limit))
    return NULL;
  struct qn_py_info i = {PyBytes_AS_STRING(path), NULL, 0};
  struct qn_py_job job;
  memset(&job, 0, sizeof job);
  if (qn_py_context(threads, limit, &job.ctx) != 0) goto done;
  job.fn = qn_py_info_fn;
  job.arg = &i;
  if (qn_py_job_run(&job) != 0) goto done;
  out = PyUnicode_FromStringAndSize(i.text ? i.text : "", (Py_ssize_t)i.len);
done:
  free(i.text);
  Py_DECREF(path);
  qn_context_free(job.ctx);
  return out;
}

/* ----- group ------------------------------------------------------------ */

struct qn_py_group {
  struct qn_py_inputs in;
  struct qn_group_options opt;
};

static int qn_py_group_fn(struct qn_py_job *job) {
  struct qn_py_group *g = job->arg;
  struct qn_source *src = NULL;
  int st = qn_py_inputs_open(job->ctx, &g->in, &src, &job->err);
  if (st == QN_OK) st = qn_group_run(job->ctx, src, &g->opt, &job->err);
  qn_source_close(src);
  return st;
}

/* Runs `quern group`; splits is a sequence of (name, fraction). */
static PyObject *qn_py_run_group(PyObject *self, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"inputs", "key",     "output",       "order",  "columns",
                           "splits", "seed",    "shards",       "format", "codec",
                           "force",  "threads", "memory_limit", NULL};
  PyObject *inputs, *key, *output, *order = Py_None, *columns = Py_None, *splits = Py_None;
  PyObject *format = Py_None, *codec = Py_None, *threads = Py_None, *limit = Py_None;
  unsigned long long seed = 0;
  int shards = 1, force = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "OOO|OOOKiOOpOO", kwlist, &inputs, &key, &output,
                                   &order, &columns, &splits, &seed, &shards, &format, &codec,
                                   &force, &threads, &limit))
    return NULL;
  struct qn_py_group g;
  memset(&g, 0, sizeof g);
  qn_group_options_init(&g.opt);
  struct qn_py_job job;
  memset(&job, 0, sizeof job);
  PyObject *out = NULL, *seq = NULL;
  char *skey = NULL, *sorder = NULL, *soutput = NULL, *sformat = NULL, *scodec = NULL;
  char **cols = NULL, *names[16] = {0};
  struct qn_group_split sp[16];
  int ncols = 0, fail = 0, nsplits = 0;
  if (qn_py_inputs_parse(inputs, &g.in) != 0) goto done;
  skey = qn_py_strdup_opt(key, "key", &fail);
  if (!fail) sorder = qn_py_strdup_opt(order, "order", &fail);
  if (!fail) sformat = qn_py_strdup_opt(format, "format", &fail);
  if (!fail) scodec = qn_py_strdup_opt(codec, "codec", &fail);
  if (!fail) {
    PyObject *b = NULL;
    if (!PyUnicode_FSConverter(output, &b)) goto done;
    soutput = strdup(PyBytes_AS_STRING(b));
    Py_DECREF(b);
  }
  if (fail || !skey || !soutput) {
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "key and out are required");
    goto done;
  }
  if (qn_py_strv(columns, "columns", &cols, &ncols) != 0) goto done;
  if (splits != Py_None) {
    seq = PySequence_Fast(splits, "splits must be a sequence of (name, fraction)");
    if (!seq) goto done;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    if (n < 1 || n > 16) {
      PyErr_Format(PyExc_ValueError, "between 1 and 16 splits are allowed, got %zd", n);
      goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
      const char *nm = NULL;
      double f = 0;
      if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "sd", &nm, &f)) goto done;
      if (!(names[i] = strdup(nm))) {
        PyErr_NoMemory();
        goto done;
      }
      sp[i] = (struct qn_group_split){names[i], f};
      nsplits++;
    }
    g.opt.splits = sp;
    g.opt.nsplits = nsplits;
  }
  g.opt.key = skey;
  g.opt.order = sorder;
  g.opt.columns = (const char *const *)cols;
  g.opt.ncolumns = ncols;
  g.opt.output = soutput;
  g.opt.seed = seed;
  g.opt.shards = shards;
  if (sformat) g.opt.format = sformat;
  if (scodec) g.opt.codec = scodec;
  g.opt.force = force;
  if (qn_py_context(threads, limit, &job.ctx) != 0) goto done;
  job.fn = qn_py_group_fn;
  job.arg = &g;
  if (qn_py_job_run(&job) != 0) goto done;
  out = Py_NewRef(Py_None);
done:
  Py_XDECREF(seq);
  for (int i = 0; i < 16; i++) free(names[i]);
  free(skey);
  free(sorder);
  free(soutput);
  free(sformat);
  free(scodec);
  qn_py_strv_free(cols);
  qn_py_inputs_reset(&g.in);
  qn_context_free(job.ctx);
  return out;
}

/* ----- module ----------------------------------------------------------- */

static PyMethodDef qn_py_methods[] = {
    {"run_bin", (PyCFunction)(void (*)(void))qn_py_run_bin, METH_VARARGS | METH_KEYWORDS,
     "run_bin(inputs, axes, value=None, weight=None, stats=None, threads=None, "
     "memory_limit=None) -> dict\n\nThe bin job over files (a path or a list) or arrays (a "
     "dict name -> 1-D array). Low level: use quern.bin or the numpy/scipy drop-ins."},
    {"run_stats", (PyCFunction)(void (*)(void))qn_py_run_stats, METH_VARARGS | METH_KEYWORDS,
     "run_stats(inputs, json_path, columns=None, per_file=False, threads=None, "
     "memory_limit=None)\n\nThe stats job; writes the JSON document to json_path. Low "
     "level: use quern.stats."},
    {"run_info", (PyCFunction)(void (*)(void))qn_py_run_info, METH_VARARGS | METH_KEYWORDS,
     "run_info(path, threads=None, memory_limit=None) -> str\n\nThe JSON text of `quern "
     "info --json`. Low level: use quern.info."},
    {"run_group", (PyCFunction)(void (*)(void))qn_py_run_group, METH_VARARGS | METH_KEYWORDS,
     "run_group(inputs, key, output, order=None, columns=None, splits=None, seed=0, "
     "shards=1, format=None, codec=None, force=False, threads=None, memory_limit=None)\n\n"
     "The group job. Low level: use quern.group."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef qn_py_module = {PyModuleDef_HEAD_INIT, "_quern",
                                          "libquern's jobs (the C layer of the quern module).",
                                          -1, qn_py_methods};

PyMODINIT_FUNC PyInit__quern(void) {
  import_array();
  PyObject *m = PyModule_Create(&qn_py_module);
  if (!m) return NULL;
  qn_py_error = PyErr_NewExceptionWithDoc("quern.Error", "A failure reported by libquern.",
                                          PyExc_RuntimeError, NULL);
  qn_py_memory_limit_error = PyErr_NewExceptionWithDoc(
      "quern.MemoryLimitError",
      "The memory limit cannot hold what the job needs (the message says how much).",
      qn_py_error, NULL);
  qn_py_format_error = PyErr_NewExceptionWithDoc(
      "quern.FormatError", "A corrupt, truncated, unrecognised or unsupported input.",
      qn_py_error, NULL);
  if (!qn_py_error || !qn_py_memory_limit_error || !qn_py_format_error ||
      PyModule_AddObjectRef(m, "Error", qn_py_error) < 0 ||
      PyModule_AddObjectRef(m, "MemoryLimitError", qn_py_memory_limit_error) < 0 ||
      PyModule_AddObjectRef(m, "FormatError", qn_py_format_error) < 0 ||
      PyModule_AddStringConstant(m, "libquern_version", qn_version()) < 0) {
    Py_DECREF(m);
    return NULL;
  }
  return m;
}
