// pq_write_check.mjs — "writes what others read": files written by quern's
// Parquet writer (the table of tests/unit/test_parquet_gen.h, every type,
// nulls, NaN and ±inf) for each codec are read by DuckDB, and every value
// must equal the same formula evaluated by DuckDB in SQL; the column types
// DuckDB infers and the chunk statistics (null counts, integer and string
// min/max) must be right too.
//
// usage: node pq_write_check.mjs OUTDIR DUMP_EXE
import { execFileSync } from 'node:child_process';
import { duck, rows } from './pq_common.mjs';

const [outdir, dump] = process.argv.slice(2);
if (!outdir || !dump) {
  console.error('usage: node pq_write_check.mjs OUTDIR DUMP_EXE');
  process.exit(2);
}
const con = await duck();

// Keep in sync with pqg_fill() in tests/unit/test_parquet_gen.h.
const expect = {
  i8: ['TINYINT', '((i*37) % 256 - 128)::TINYINT'],
  i16: ['SMALLINT', '((i*7919) % 65536 - 32768)::SMALLINT'],
  i32: ['INTEGER', 'CASE WHEN i % 7 = 3 THEN NULL ELSE ((i*2654435761) % 4294967296 - 2147483648)::INTEGER END'],
  i64: ['BIGINT', 'i*1000000007000 - 4000000000000000000'],
  u8: ['UTINYINT', '(i % 256)::UTINYINT'],
  u16: ['USMALLINT', '((i*31) % 65536)::USMALLINT'],
  u32: ['UINTEGER', '((i*2654435761) % 4294967296)::UINTEGER'],
  u64: ['UBIGINT', '((i::HUGEINT * 11400714819323198485) % 18446744073709551616)::UBIGINT'],
  f32: ['FLOAT', '((i % 10000)::DOUBLE * 0.25 - 1000.0)::FLOAT'],
  f64: ['DOUBLE', `CASE WHEN i % 5 = 1 THEN NULL WHEN i % 101 = 0 THEN 'nan'::DOUBLE
        WHEN i % 103 = 0 THEN 'inf'::DOUBLE WHEN i % 107 = 0 THEN '-inf'::DOUBLE
        ELSE i::DOUBLE * 0.001 - 17.5 END`],
  b: ['BOOLEAN', 'CASE WHEN i % 4 = 2 THEN NULL ELSE i % 3 = 0 END'],
  d: ['DATE', "DATE '1970-01-01' + (i % 30000 - 10000)::INTEGER"],
  ts: ['TIMESTAMP', 'make_timestamp(i*1000003 - 500000000000)'],
  ts_ns: ['TIMESTAMP_NS', 'CASE WHEN i % 13 = 0 THEN NULL ELSE make_timestamp_ns(i*999999937) END'],
  s: ['VARCHAR', "'k' || (i % 1000)"],
  s2: ['VARCHAR', "CASE WHEN i % 11 = 0 THEN NULL ELSE 'row-' || i || repeat('x', (i % 5)::INTEGER) END"],
};

const bad = [];
const cases = [
  ['snappy', 300000, 1 << 20, 65536],
  ['zstd', 300000, 4 << 20, 1 << 20],
  ['gzip', 100000, 1 << 20, 100000],
  ['none', 100000, 64 << 20, 1 << 20],
  ['lz4', 100000, 2 << 20, 300000],
  ['brotli', 50000, 1 << 20, 65536],
  ['snappy', 0, 1 << 20, 65536],
  ['zstd', 1, 1 << 20, 65536],
];
for (const [codec, n, rgBytes, pageBytes] of cases) {
  const file = `${outdir}/quern_${codec}_${n}.parquet`;
  const label = `quern ${codec} rows=${n}`;
  execFileSync(dump, ['write', file, String(n), codec, String(rgBytes), String(pageBytes)]);
  const src = `read_parquet('${file}', file_row_number = true)`;
  const types = await rows(con, `DESCRIBE SELECT * EXCLUDE (file_row_number) FROM ${src}`);
  const got = Object.fromEntries(types.map((t) => [t.column_name, t.column_type]));
  for (const [name, [type]] of Object.entries(expect))
    if (got[name] !== type) bad.push(`${label}: ${name} is ${got[name]} in DuckDB, expected ${type}`);
  const parts = Object.entries(expect).map(([name, [, e]]) =>
    `count(*) FILTER (WHERE ${name} IS DISTINCT FROM (${e}))::varchar AS "${name}"`);
  const [diff] = await rows(con, `SELECT count(*)::varchar AS n, ${parts.join(', ')}
    FROM (SELECT *, file_row_number::BIGINT AS i FROM ${src})`);
  if (diff.n !== String(n)) bad.push(`${label}: DuckDB reads ${diff.n} rows`);
  for (const name of Object.keys(expect))
    if (diff[name] !== '0') bad.push(`${label}: ${diff[name]} value(s) of ${name} differ from the source`);
  // Statistics: per chunk null counts, and min/max of integer and string
  // columns as DuckDB reads them from the footer, against the data.
  const meta = await rows(con, `SELECT row_group_id, path_in_schema AS name, stats_null_count::varchar AS nulls,
    stats_min_value AS mn, stats_max_value AS mx, compression FROM parquet_metadata('${file}')`);
  const rgRows = await rows(con, `SELECT row_group_id, row_group_num_rows::BIGINT AS r FROM parquet_metadata('${file}')
    GROUP BY ALL ORDER BY 1`);
  let start = 0n;
  const rgStart = {};
  for (const { row_group_id, r } of rgRows) {
    rgStart[row_group_id] = [start, start + BigInt(r)];
    start += BigInt(r);
  }
  for (const m of meta) {
    if (!expect[m.name]) continue;
    const [lo, hi] = rgStart[m.row_group_id];
    const where = `file_row_number >= ${lo} AND file_row_number < ${hi}`;
    const intLike = ['i8', 'i16', 'i32', 'i64', 'u8', 'u16', 'u32', 'u64', 's', 's2'].includes(m.name);
    const [t] = await rows(con, `SELECT (count(*) - count("${m.name}"))::varchar AS nulls,
      min("${m.name}")::varchar AS mn, max("${m.name}")::varchar AS mx FROM ${src} WHERE ${where}`);
    if (t.nulls !== m.nulls) bad.push(`${label}: rg ${m.row_group_id} ${m.name}: null_count ${m.nulls} != ${t.nulls}`);
    if (intLike && (t.mn !== m.mn || t.mx !== m.mx))
      bad.push(`${label}: rg ${m.row_group_id} ${m.name}: stats [${m.mn}, ${m.mx}] != data [${t.mn}, ${t.mx}]`);
  }
  const codecs = new Set(meta.map((m) => m.compression));
  const [{ created_by }] = await rows(con, `SELECT created_by FROM parquet_file_metadata('${file}')`);
  if (!String(created_by).startsWith('quern version ')) bad.push(`${label}: created_by is ${created_by}`);
  console.log(`${label}: ${rgRows.length} row group(s), codec ${[...codecs].join(',')}`);
}

if (bad.length) {
  console.log(bad.slice(0, 60).join('\n'));
  console.log(`FAIL: ${bad.length} problem(s)`);
  process.exit(1);
}
console.log('ok: DuckDB reads every value of every file quern wrote');
