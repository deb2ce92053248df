// pq_read_matrix.mjs — "reads what others write": generates Parquet files
// with DuckDB (PARQUET_VERSION V1 and V2 x every codec x small and large row
// groups; every type quern reads, nulls, dictionary and plain columns) and
// with hyparquet-writer (an independent JS writer: PLAIN, RLE_DICTIONARY,
// DELTA_BINARY_PACKED, BYTE_STREAM_SPLIT, DELTA_LENGTH_BYTE_ARRAY,
// DELTA_BYTE_ARRAY, RLE booleans), then checks that quern's reader gives
// DuckDB's own count, min, max, sum, avg and stddev_pop of every column.
//
// With QUERN set in the environment, `quern stats` (the CLI) is checked the
// same way on every file.
//
// usage: node pq_read_matrix.mjs OUTDIR DUMP_EXE [--quick]
import { parquetWriteFile } from 'hyparquet-writer';
import { duck, rows, checkFile, quernStats } from './pq_common.mjs';
import { execFileSync } from 'node:child_process';

const [outdir, dump] = process.argv.slice(2);
const quick = process.argv.includes('--quick');
const quern = process.env.QUERN || null;
if (!outdir || !dump) {
  console.error('usage: node pq_read_matrix.mjs OUTDIR DUMP_EXE [--quick]');
  process.exit(2);
}
const N = 150000;
const con = await duck();
await con.run('SET threads = 2');

// Values from a hash of the row number: deterministic, spread, with nulls
// where h % 7 == 0 in most columns (a different stride per column).
await con.run(`CREATE TABLE src AS
  SELECT
    CASE WHEN h % 7 = 0 THEN NULL ELSE (h % 2000001)::INTEGER - 1000000 END AS i32,
    CASE WHEN h % 11 = 0 THEN NULL ELSE (h % 9007199254740993)::BIGINT * 512 - 2305843009213693952 END AS i64,
    i::BIGINT AS i64_seq,
    CASE WHEN h % 5 = 0 THEN NULL ELSE (h % 256)::INTEGER - 128 END::TINYINT AS i8,
    ((h >> 8) % 65536 - 32768)::SMALLINT AS i16,
    (h % 256)::UTINYINT AS u8,
    ((h >> 4) % 65536)::USMALLINT AS u16,
    ((h >> 3) % 4294967296)::UINTEGER AS u32,
    hu AS u64,
    CASE WHEN h % 13 = 0 THEN NULL ELSE ((h % 1000003)::DOUBLE / 997.0 - 500.0)::FLOAT END AS f32,
    CASE WHEN h % 3 = 0 THEN NULL ELSE (h % 100000007)::DOUBLE / 1e4 - 5000.0 END AS f64,
    ((h % 17)::DOUBLE * 0.25) AS f64_dict,
    1e6 + ((h % 1000)::DOUBLE - 500.0) / 100.0 AS f64_offset,
    CASE WHEN h % 9 = 0 THEN NULL ELSE h % 3 = 0 END AS b,
    DATE '1970-01-01' + ((h % 40000)::INTEGER - 10000) AS d,
    CASE WHEN h % 4 = 0 THEN NULL ELSE TIMESTAMP '2001-02-03 04:05:06' + to_microseconds((h % 1000000000000)::BIGINT) END AS ts,
    (TIMESTAMP '2020-01-01' + to_microseconds((h % 100000000000)::BIGINT * 1000))::TIMESTAMP_MS AS ts_ms,
    (TIMESTAMP '2020-01-01' + to_microseconds((h % 100000000000)::BIGINT))::TIMESTAMP_NS AS ts_ns,
    CASE WHEN h % 6 = 0 THEN NULL ELSE 'key' || (h % 37) END AS s_dict,
    'value-' || h::VARCHAR || repeat('x', (h % 20)::INTEGER) AS s_plain,
    ((h % 200000)::INTEGER - 100000)::DECIMAL(9,2) / 100 AS dec9,
    ((h % 2000000000)::BIGINT - 1000000000)::DECIMAL(18,3) / 1000 AS dec18,
    NULL::INTEGER AS all_null
  FROM (SELECT i, (hash(i) >> 1)::BIGINT AS h, hash(i) AS hu FROM range(${N}) t(i)) ORDER BY i`);

const versions = ['V1', 'V2'];
const codecs = quick ? ['snappy', 'zstd'] : ['uncompressed', 'snappy', 'gzip', 'zstd', 'brotli', 'lz4', 'lz4_raw'];
const rowGroups = [5000, 122880];
const bad = [];
let files = 0;

for (const v of versions) for (const codec of codecs) for (const rg of rowGroups) {
  const file = `${outdir}/duck_${v}_${codec}_${rg}.parquet`;
  // DuckDB's brotli runs at its slowest level (75 s for this table), so
  // its files hold the first 12000 rows only.
  const from = codec === 'brotli' ? '(SELECT * FROM src LIMIT 12000)' : 'src';
  await con.run(`COPY ${from} TO '${file}' (FORMAT parquet, COMPRESSION ${codec}, PARQUET_VERSION ${v}, ROW_GROUP_SIZE ${rg})`);
  bad.push(...await checkFile(con, dump, file, `duckdb ${v} ${codec} rg=${rg}`, rg === 5000 ? 3 : 1, quern));
  files++;
}

// Encodings DuckDB chose, to show the matrix covers them.
const seen = new Set();
for (const v of versions) {
  const r = await rows(con, `SELECT DISTINCT encodings FROM parquet_metadata('${outdir}/duck_${v}_snappy_122880.parquet')`);
  for (const { encodings } of r) seen.add(`${v}:${encodings}`);
}
console.log('duckdb encodings seen:', [...seen].sort().join(' '));

// hyparquet-writer: an independent implementation, with explicit encodings.
const M = 30000;
const hv = (i) => {
  let x = BigInt(i) * 0x9E3779B97F4A7C15n & 0xFFFFFFFFFFFFFFFFn;
  x ^= x >> 29n;
  return x;
};
const col = (f) => Array.from({ length: M }, (_, i) => f(i, hv(i)));
const hcols = [
  { name: 'i32_plain', type: 'INT32', encoding: 'PLAIN', data: col((i, h) => (h % 7n === 0n ? null : Number(h % 2000001n) - 1000000)) },
  { name: 'i32_delta', type: 'INT32', encoding: 'DELTA_BINARY_PACKED', data: col((i, h) => (h % 5n === 0n ? null : Number(h % 100001n) - 50000)) },
  { name: 'i64_delta', type: 'INT64', encoding: 'DELTA_BINARY_PACKED', data: col((i, h) => BigInt(i) * 1000003n - (h % 1000n) - 4611686018427387904n) },
  { name: 'f32_bss', type: 'FLOAT', encoding: 'BYTE_STREAM_SPLIT', data: col((i, h) => Math.fround(Number(h % 100000n) / 64 - 700)) },
  { name: 'f64_bss', type: 'DOUBLE', encoding: 'BYTE_STREAM_SPLIT', data: col((i, h) => (h % 4n === 0n ? null : Number(h % 1000000007n) / 1e3)) },
  { name: 'f64_dict', type: 'DOUBLE', encoding: 'RLE_DICTIONARY', data: col((i, h) => Number(h % 11n) / 8) },
  { name: 'b_rle', type: 'BOOLEAN', encoding: 'RLE', data: col((i, h) => (h % 10n === 0n ? null : (i % 100) < 60)) },
  { name: 'b_plain', type: 'BOOLEAN', encoding: 'PLAIN', data: col((i, h) => h % 2n === 0n) },
  { name: 's_plain', type: 'STRING', encoding: 'PLAIN', data: col((i, h) => (h % 8n === 0n ? null : `p${h % 100000n}`)) },
  { name: 's_dict', type: 'STRING', encoding: 'RLE_DICTIONARY', data: col((i, h) => `d${h % 23n}`) },
  { name: 's_dlba', type: 'STRING', encoding: 'DELTA_LENGTH_BYTE_ARRAY', data: col((i, h) => (h % 9n === 0n ? null : 'L'.repeat(Number(h % 13n)) + i)) },
  { name: 's_dba', type: 'STRING', encoding: 'DELTA_BYTE_ARRAY', data: col((i, h) => `prefix/common/${String(i).padStart(7, '0')}/${h % 5n}`) },
  { name: 'ts_ms', type: 'TIMESTAMP', data: col((i, h) => new Date(1600000000000 + Number(h % 100000000000n))) },
];
for (const codec of ['UNCOMPRESSED', 'SNAPPY']) for (const rgs of [4000, 100000]) {
  const file = `${outdir}/hyparquet_${codec}_${rgs}.parquet`;
  parquetWriteFile({ filename: file, columnData: hcols, codec, rowGroupSize: rgs, pageSize: 16384 });
  bad.push(...await checkFile(con, dump, file, `hyparquet ${codec} rg=${rgs}`, 2, quern));
  files++;
}
// INT32/INT64 BYTE_STREAM_SPLIT (format 2.11) is beyond DuckDB's reader, so
// these columns are checked against the values written, computed here.
const bssCols = [
  { name: 'i32_bss', type: 'INT32', encoding: 'BYTE_STREAM_SPLIT', data: col((i, h) => Number(h % 65536n) - 30000) },
  { name: 'i64_bss', type: 'INT64', encoding: 'BYTE_STREAM_SPLIT', data: col((i, h) => (h % 3n === 0n ? null : BigInt.asIntN(64, h))) },
];
{
  const file = `${outdir}/hyparquet_int_bss.parquet`;
  parquetWriteFile({ filename: file, columnData: bssCols, codec: 'SNAPPY', rowGroupSize: 7000, pageSize: 8192 });
  const qs = quernStats(dump, file, 2);
  for (const c of bssCols) {
    const vals = c.data.filter((x) => x !== null).map((x) => BigInt(x));
    const sum = vals.reduce((a, b) => a + b, 0n);
    const min = vals.reduce((a, b) => (b < a ? b : a)), max = vals.reduce((a, b) => (b > a ? b : a));
    const got = qs[c.name];
    if (!got || got.count !== vals.length || BigInt(got.min) !== min || BigInt(got.max) !== max || BigInt(got.sum) !== sum)
      bad.push(`hyparquet int BSS ${c.name}: quern ${JSON.stringify(got)} != count ${vals.length} min ${min} max ${max} sum ${sum}`);
  }
  files++;
}
{
  const r = await rows(con, `SELECT DISTINCT path_in_schema, encodings FROM parquet_metadata('${outdir}/hyparquet_SNAPPY_100000.parquet') ORDER BY 1`);
  console.log('hyparquet encodings:', r.map((x) => `${x.path_in_schema}:${x.encodings}`).join(' '));
}

// Random ranges from several threads equal one sequential read.
for (const f of ['duck_V1_snappy_5000', 'duck_V2_zstd_5000', 'hyparquet_SNAPPY_4000']) {
  try {
    execFileSync(dump, ['random', `${outdir}/${f}.parquet`, '-t', '4', '-n', '150'], { encoding: 'utf8' });
  } catch (e) {
    bad.push(`random access on ${f}: ${e.stderr || e.message}`);
  }
}

if (bad.length) {
  console.log(bad.slice(0, 60).join('\n'));
  console.log(`FAIL: ${bad.length} mismatch(es) over ${files} files`);
  process.exit(1);
}
console.log(`ok: ${files} files, every column equals DuckDB's statistics`);
