// pq_common.mjs — shared helpers of the Parquet oracle scripts: a DuckDB
// connection, DuckDB's own statistics of a Parquet file's columns, and the
// comparison of those with what quern's reader reports.
import { DuckDBInstance } from '@duckdb/node-api';
import { execFileSync } from 'node:child_process';

export async function duck() {
  const db = await DuckDBInstance.create(':memory:');
  return db.connect();
}

export async function rows(con, sql) {
  const r = await con.runAndReadAll(sql);
  return r.getRowObjectsJS();
}

export const q = (s) => '"' + s.replaceAll('"', '""') + '"';

// Runs `test_parquet_dump stats FILE` and returns {name: stats}.
export function quernStats(dump, file, threads = 1) {
  const out = execFileSync(dump, ['stats', file, '-t', String(threads)], { encoding: 'utf8' });
  const res = {};
  for (const line of out.split('\n')) if (line.trim()) {
    const o = JSON.parse(line);
    res[o.name] = o;
  }
  return res;
}

// SQL of DuckDB's count/min/max/sum/avg/stddev_pop of one column, as text
// (exact), in the value domain quern produces for its type; aliases k_<n>.
function aggSql(name, qcol, k) {
  const c = q(name);
  const t = qcol.type;
  if (t === 'string')
    return `count(${c})::varchar AS count_${k}, min(${c}) AS min_${k}, max(${c}) AS max_${k},
      coalesce(sum(strlen(${c})), 0)::varchar AS bytes_${k}`;
  let e;
  if (t === 'bool') e = `${c}::int`;
  else if (t === 'date') e = `(${c} - DATE '1970-01-01')::bigint`;
  else if (t === 'timestamp') {
    const fn = { 1000: 'epoch_ms', 1000000: 'epoch_us', 1000000000: 'epoch_ns' }[qcol.time_unit];
    e = `${fn}(${c})`;
  } else if (qcol.type_name.startsWith('decimal')) e = `${c}::double`;
  else e = c;
  return `count(${e})::varchar AS count_${k}, min(${e})::varchar AS min_${k},
    max(${e})::varchar AS max_${k}, sum(${e})::varchar AS sum_${k}, avg(${e})::varchar AS mean_${k},
    stddev_pop(${e})::varchar AS std_${k}`;
}

// Runs `quern stats FILE` (the CLI) and returns {name: stats} in the shape
// of quernStats (numeric columns only; strings are not summarised). Large
// integers are kept exact by quoting them before JSON.parse.
export function quernCliStats(quern, file, threads = 2) {
  const out = execFileSync(quern, ['stats', file, '-t', String(threads), '--no-progress'], { encoding: 'utf8' });
  const d = JSON.parse(out.replace(/([:\[,]\s*)(-?\d{16,})(?=\s*[,}\]])/g, '$1"$2"'));
  const res = {};
  for (const [name, c] of Object.entries(d.columns)) {
    const unit = /^timestamp\[(ms|us|ns)\]$/.exec(c.type);
    const o = {
      name, rows: d.rows, count: c.count, null: c.null, nan: c.nan,
      type: unit ? 'timestamp' : c.type, type_name: c.type,
      time_unit: unit ? { ms: 1000, us: 1000000, ns: 1000000000 }[unit[1]] : 0,
      min: c.min, max: c.max, sum: c.sum, mean: c.mean, std: c.std,
    };
    for (const k of ['min', 'max', 'sum']) if (o[k] !== null && typeof o[k] !== 'number') o[k] = String(o[k]);
    if (['min', 'max', 'sum'].every((k) => o[k] !== null) && !['float32', 'float64'].includes(o.type))
      for (const k of ['min', 'max', 'sum']) o[k] = String(o[k]);
    res[name] = o;
  }
  return res;
}

// DuckDB's statistics of the given quern columns of `file`, one query.
export async function duckStats(con, file, qcols) {
  const parts = qcols.map((qc, k) => aggSql(qc.name, qc, k));
  const [r] = await rows(con, `SELECT ${parts.join(', ')} FROM read_parquet('${file}')`);
  return qcols.map((qc, k) => {
    const o = {};
    for (const key of ['count', 'min', 'max', 'sum', 'mean', 'std', 'bytes']) o[key] = r[`${key}_${k}`];
    return o;
  });
}

function relClose(a, b, rel) {
  if (a === b) return true;
  const d = Math.abs(a - b), s = Math.max(Math.abs(a), Math.abs(b));
  return d <= rel * s || d < 1e-300;
}

// Compares one column; returns a list of mismatch descriptions.
export function compare(qs, ds, label) {
  const bad = [];
  const isInt = !['float32', 'float64', 'string'].includes(qs.type);
  const isFloat = qs.type === 'float32' || qs.type === 'float64';
  const fail = (what, a, b) => bad.push(`${label} ${qs.name}: ${what}: quern ${a} != duckdb ${b}`);
  if (String(qs.count) !== ds.count) fail('count', qs.count, ds.count);
  if (qs.count + qs.null + (qs.nan || 0) !== qs.rows) fail('count+null', qs.count + qs.null, qs.rows);
  if (qs.count === 0) {
    if (ds.min !== null) fail('min of empty', undefined, ds.min);
    return bad;
  }
  if (qs.type === 'string') {
    if (qs.min !== ds.min) fail('min', qs.min, ds.min);
    if (qs.max !== ds.max) fail('max', qs.max, ds.max);
    if (String(qs.bytes) !== ds.bytes) fail('bytes', qs.bytes, ds.bytes);
    return bad;
  }
  if (isInt && !qs.type_name.startsWith('decimal')) {
    for (const k of ['min', 'max', 'sum'])
      if (BigInt(qs[k]) !== BigInt(ds[k])) fail(k, qs[k], ds[k]);
  } else if (isFloat) {
    // DuckDB prints a FLOAT in its shortest float form: round it to float32
    const conv = qs.type === 'float32' ? Math.fround : Number;
    for (const k of ['min', 'max'])
      if (qs[k] !== conv(Number(ds[k]))) fail(k, qs[k], ds[k]);
    if (!relClose(qs.sum, Number(ds.sum), 1e-9)) fail('sum', qs.sum, ds.sum);
  }
  if (!relClose(qs.mean, Number(ds.mean), 1e-9)) fail('avg', qs.mean, ds.mean);
  // DuckDB takes the variance of int64 values in doubles, so its error
  // grows with |mean| (1e-12 |mean| covers it); quern's is far smaller.
  const sd = Number(ds.std), tol = Math.max(1e-7 * Math.abs(sd), 1e-12 * Math.abs(qs.mean));
  if (!(Math.abs(qs.std - sd) <= tol)) fail('stddev_pop', qs.std, ds.std);
  return bad;
}

// Checks every column of `file`; returns mismatches (empty = all equal).
export async function checkFile(con, dump, file, label, threads = 1, quern = null) {
  const qstats = quernStats(dump, file, threads);
  const cols = await rows(con, `select name from parquet_schema('${file}') where num_children is null`);
  const bad = [];
  if (cols.length !== Object.keys(qstats).length)
    bad.push(`${label}: quern sees ${Object.keys(qstats).length} columns, duckdb ${cols.length}`);
  const qcols = [];
  for (const { name } of cols) {
    if (qstats[name]) qcols.push(qstats[name]);
    else bad.push(`${label}: column ${name} missing in quern`);
  }
  const ds = await duckStats(con, file, qcols);
  qcols.forEach((qs, k) => bad.push(...compare(qs, ds[k], label)));
  if (quern) {
    // the same check through the CLI: `quern stats` on the file
    const cli = quernCliStats(quern, file);
    qcols.forEach((qs, k) => {
      if (qs.type === 'string') return;
      const c = cli[qs.name];
      if (!c) bad.push(`${label} quern stats: column ${qs.name} missing`);
      else bad.push(...compare({ ...c, type_name: qs.type_name }, ds[k], `${label} (quern stats)`));
    });
  }
  return bad;
}
